// SPDX-License-Identifier: LGPL-2.1-or-later
//! The daemon runtime: command line, configuration, paths, logging, pid
//! file, sockets (traditional or systemd-activated, TLS credentials in
//! `tls`), signals, idle timeout.
//! Each daemon binary is a profile name plus the drivers it hosts.
//!
//! Depends on everything below it (rpc, dispatch, driver, daemon-support,
//! host) and on no concrete driver: binaries pass their drivers in.
//!
//! Invariants: the process forks (for `-d`) before any thread exists; the
//! activation variables are read before that too; every listener runs on
//! one async runtime; the admin program is served on its own server
//! (named `admin`) beside the main one (named after the daemon), as in
//! libvirt. No `unsafe`: adopting the descriptors systemd passes and
//! reading the effective uid are `host` calls
//! ([`host::fd::adopt_unix_listener`], [`host::process::geteuid`]).

#![forbid(unsafe_code)]

pub mod admin;
mod auth;
pub mod identity;
mod sockets;
pub mod tls;

/// The support library (logging macros, config, paths) for binaries.
pub use daemon_support as support;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use daemon_support::log::{self as dlog, Priority};
use daemon_support::{
    parse_args, usage, version_string, CliAction, DaemonConfig, DaemonErr, Env, Paths, PidFile,
    Profile,
};
use dispatch::RemoteHandler;
use driver::Registry;
use rpc::{Handler, Limits, Server};

use admin::{AdminHandler, DaemonControl, ServerControl};

pub use daemon_support::DriverDirs;

/// What drivers get to know about the daemon hosting them.
#[derive(Clone)]
pub struct DaemonContext {
    pub profile: Profile,
    pub privileged: bool,
    pub paths: Paths,
    /// The config's `host_uuid`, if set.
    pub host_uuid: Option<String>,
}

impl DaemonContext {
    /// Config and state directories for driver `name` ("lxc", "libxl").
    pub fn driver_dirs(&self, name: &str) -> DriverDirs {
        self.paths.driver_dirs(name)
    }

    /// Makes `registry` look up the daemon's default URI (environment,
    /// then libvirt.conf in the daemon's config directory) before probing
    /// its drivers, as libvirt does for a client opening the empty URI.
    pub fn use_default_uri(&self, registry: &mut Registry) {
        let dir = self.paths.config_dir.clone();
        registry.set_default_uri(move || daemon_support::config::default_uri(&dir));
    }
}

fn log(p: Priority, msg: std::fmt::Arguments<'_>) {
    dlog::log(p, "daemon", msg);
}

fn fail(argv0: &str, daemon: bool, err: DaemonErr, msg: &str) -> ExitCode {
    eprintln!("{argv0}: error: {msg}");
    log(Priority::Error, format_args!("{msg}"));
    if daemon {
        daemon_support::ready_fail(err);
    }
    ExitCode::from(err.exit_code() as u8)
}

/// Run the daemon `name` serving the remote program (a per-driver
/// hypervisor daemon relaying its secondary drivers' calls to their daemons,
/// see [`dispatch::Secondary`]); `drivers` builds the
/// driver registry once the paths are known. Returns the process exit
/// status.
pub fn run(name: &str, drivers: impl FnOnce(&DaemonContext) -> Registry) -> ExitCode {
    run_with(name, |ctx| {
        let mut registry = drivers(ctx);
        ctx.use_default_uri(&mut registry);
        // A per-driver daemon's secondary drivers live in their own
        // daemons, beside this one's sockets.
        let secondary = dispatch::Secondary {
            sock_dir: ctx
                .paths
                .sock
                .parent()
                .map(|p| p.to_path_buf())
                .unwrap_or_else(|| ctx.paths.run_dir.clone()),
            privileged: ctx.privileged,
            families: dispatch::families_of_daemon(ctx.profile.name),
        };
        let handler = RemoteHandler::new(registry.clone()).with_secondary(secondary);
        (Arc::new(handler), registry)
    })
}

/// Like [`run`] with a handler of the caller's choosing for the main
/// server (virtproxyd's forwarding handler). `build` returns the handler
/// and the registry whose drivers are started, reloaded on SIGHUP, shut
/// down at exit and counted for the idle timeout.
pub fn run_with<H: Handler>(
    name: &str,
    build: impl FnOnce(&DaemonContext) -> (Arc<H>, Registry),
) -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let argv0 = args
        .first()
        .and_then(|a| {
            Path::new(a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| name.to_string());
    let Some(profile) = Profile::by_name(name) else {
        eprintln!("{argv0}: unknown daemon profile {name}");
        return ExitCode::FAILURE;
    };
    let privileged = host::process::geteuid() == 0;
    let opts = match parse_args(&profile, &argv0, args.get(1..).unwrap_or(&[])) {
        Ok(CliAction::Run(o)) => o,
        Ok(CliAction::Help) => {
            eprint!("{}", usage(&profile, &argv0, privileged));
            return ExitCode::SUCCESS;
        }
        Ok(CliAction::Version) => {
            println!("{}", version_string(&argv0));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{argv0}: {}", e.message);
            if e.show_usage {
                eprint!("{}", usage(&profile, &argv0, privileged));
            }
            return ExitCode::FAILURE;
        }
    };
    if profile.requires_root && !privileged {
        eprintln!(
            "{argv0}: error: {} must be run as root (it manages host resources)",
            profile.name
        );
        return ExitCode::FAILURE;
    }
    // Read (and clear) the systemd variables while the process is still
    // single-threaded and before `-d` changes the pid.
    let activation = match daemon_support::activation_from_env() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{argv0}: error: {e}");
            return ExitCode::FAILURE;
        }
    };

    let env = Env::from_process();
    let mut paths = match Paths::resolve(&profile, privileged, &env) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{argv0}: error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (config_path, allow_missing) = match &opts.config_file {
        Some(p) => (p.clone(), false),
        None => (paths.config_file.clone(), true),
    };
    let config =
        match DaemonConfig::load_for_user(&profile, &config_path, allow_missing, privileged) {
            Ok(c) => c,
            Err(e) => {
                eprintln!(
                    "{argv0}: error: Can't load config file: {e}: {}",
                    config_path.display()
                );
                return ExitCode::FAILURE;
            }
        };
    if let Some(dir) = &config.unix_sock_dir {
        paths.apply_unix_sock_dir(Path::new(dir));
    }

    let default_log_file = paths.default_log_file(&profile);
    let setup = dlog::LogSetup {
        daemon_name: profile.name,
        log_level: config.log_level,
        log_filters: config.log_filters.as_deref(),
        log_outputs: config.log_outputs.as_deref(),
        verbose: opts.verbose,
        daemon: opts.daemon,
        default_log_file: &default_log_file,
        journald: dlog::journald_available(),
        stdin_is_tty: dlog::stdin_is_tty(),
    };
    if let Err(e) = dlog::setup(&setup, &env) {
        eprintln!("{argv0}: error: {e}");
        return ExitCode::FAILURE;
    }

    if opts.daemon {
        if let Err(e) = daemon_support::daemonize(&argv0) {
            eprintln!("{argv0}: error: Failed to fork as daemon: {e}");
            return ExitCode::FAILURE;
        }
    }

    let pid_path: PathBuf = opts
        .pid_file
        .clone()
        .unwrap_or_else(|| paths.pid_file.clone());
    if let Some(parent) = pid_path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let pidfile = match PidFile::acquire(&pid_path, std::process::id()) {
        Ok(p) => p,
        Err(e) => return fail(&argv0, opts.daemon, DaemonErr::PidFile, &e.to_string()),
    };
    if let Err(e) = std::fs::create_dir_all(&paths.run_dir) {
        return fail(
            &argv0,
            opts.daemon,
            DaemonErr::RunDir,
            &format!("Unable to create rundir {}: {e}", paths.run_dir.display()),
        );
    }

    if let Err(e) = identity::init(&paths.run_dir) {
        log(
            Priority::Error,
            format_args!(
                "Unable to set up the system token in {}: {e}",
                identity::token_path(&paths.run_dir).display()
            ),
        );
    }

    let ctx = DaemonContext {
        profile,
        privileged,
        paths: paths.clone(),
        host_uuid: config.host_uuid.clone(),
    };
    let (handler, registry) = build(&ctx);
    for d in registry.drivers() {
        if let Err(e) = d.startup() {
            log(
                Priority::Warning,
                format_args!("driver {} start-up: {e}", d.name()),
            );
        }
    }

    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(64)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return fail(
                &argv0,
                opts.daemon,
                DaemonErr::Init,
                &format!("cannot start the runtime: {e}"),
            )
        }
    };
    let code = rt.block_on(serve(
        &argv0,
        &ctx,
        &config,
        &config_path,
        &opts,
        Served {
            handler,
            registry: registry.clone(),
            activation,
        },
    ));
    for d in registry.drivers() {
        d.shutdown();
    }
    drop(pidfile);
    code
}

/// What the main loop serves.
struct Served<H: Handler> {
    handler: Arc<H>,
    registry: Registry,
    activation: Option<daemon_support::Activation>,
}

fn admin_limits_of(c: &DaemonConfig) -> Limits {
    Limits {
        max_clients: c.admin_max_clients as usize,
        // The admin socket takes no anonymous clients (libvirt passes 0).
        max_anonymous_clients: 0,
        min_workers: c.admin_min_workers as usize,
        max_workers: c.admin_max_workers as usize,
        prio_workers: 0,
        max_client_requests: c.admin_max_client_requests as usize,
        keepalive_interval: c.admin_keepalive_interval,
        keepalive_count: c.admin_keepalive_count,
    }
}

fn limits_of(c: &DaemonConfig) -> Limits {
    Limits {
        max_clients: c.max_clients as usize,
        max_anonymous_clients: c.max_anonymous_clients as usize,
        min_workers: c.min_workers as usize,
        max_workers: c.max_workers as usize,
        prio_workers: c.prio_workers as usize,
        max_client_requests: c.max_client_requests as usize,
        keepalive_interval: c.keepalive_interval,
        keepalive_count: c.keepalive_count,
    }
}

async fn serve<H: Handler>(
    argv0: &str,
    ctx: &DaemonContext,
    config: &DaemonConfig,
    config_path: &Path,
    opts: &daemon_support::CliOptions,
    served: Served<H>,
) -> ExitCode {
    let Served {
        handler,
        registry,
        activation,
    } = served;
    let server = Server::new(ctx.profile.name, handler, limits_of(config));
    let control = Arc::new(DaemonControl::default());
    control.timeout.store(opts.timeout, Ordering::Relaxed);
    let admin_handler = Arc::new(AdminHandler::new(control.clone()));
    let admin_server = Server::new("admin", admin_handler.clone(), admin_limits_of(config));
    let main_ctl: Arc<dyn ServerControl> = server.clone();
    let admin_ctl: Arc<dyn ServerControl> = admin_server.clone();
    admin_handler.set_servers(vec![Arc::downgrade(&main_ctl), Arc::downgrade(&admin_ctl)]);

    // Handlers first: whoever finds a socket (or the -d parent's exit, or
    // READY=1) may signal the daemon at once and must not kill it before
    // it removes its pid file and sockets.
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => return fail(argv0, opts.daemon, DaemonErr::Signal, &e.to_string()),
    };
    let mut int = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) {
        Ok(s) => s,
        Err(e) => return fail(argv0, opts.daemon, DaemonErr::Signal, &e.to_string()),
    };
    let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => return fail(argv0, opts.daemon, DaemonErr::Signal, &e.to_string()),
    };

    let listeners = match sockets::open(ctx, config, opts.listen, activation) {
        Ok(l) => l,
        Err(e) => return fail(argv0, opts.daemon, DaemonErr::Network, &e),
    };
    let in_use = auth::InUse {
        unix_rw: listeners.unix.iter().any(|(_, ro)| !ro),
        unix_ro: listeners.unix.iter().any(|(_, ro)| *ro),
        tcp: !listeners.tcp.is_empty(),
        tls: !listeners.tls.is_empty(),
    };
    match auth::setup(config, &in_use) {
        Ok(a) => server.set_auth_config(a),
        Err(e) => {
            sockets::cleanup(&listeners.paths);
            return fail(argv0, opts.daemon, DaemonErr::Config, &e);
        }
    }
    rpc::set_warn_logger(|args| log(Priority::Warning, args));
    for (l, readonly) in listeners.unix {
        let scheme = auth::scheme(if readonly {
            config.auth_unix_ro
        } else {
            config.auth_unix_rw
        });
        tokio::spawn(server.clone().serve_unix(l, readonly, scheme));
    }
    for l in listeners.tcp {
        tokio::spawn(
            server
                .clone()
                .serve_tcp(l, false, auth::scheme(config.auth_tcp)),
        );
    }
    if let Some(tls) = listeners.tls_setup {
        let tls = Arc::new(tls);
        admin_handler.set_tls(ctx.profile.name, tls.clone());
        for l in listeners.tls {
            tokio::spawn(server.clone().serve_tls(
                l,
                tls.acceptor.clone(),
                false,
                tls.on_peer.clone(),
                auth::scheme(config.auth_tls),
            ));
        }
    }
    if let Some(l) = listeners.admin {
        tokio::spawn(
            admin_server
                .clone()
                .serve_unix(l, false, rpc::AuthScheme::None),
        );
    }

    log(
        Priority::Info,
        format_args!(
            "{} started, serving {}",
            ctx.profile.name,
            ctx.paths.sock.display()
        ),
    );
    if opts.daemon {
        daemon_support::ready_notify();
    }
    sd_notify("READY=1");

    let mut idle_since = Instant::now();
    loop {
        tokio::select! {
            _ = term.recv() => {
                log(Priority::Info, format_args!("shutting down on SIGTERM"));
                break;
            }
            _ = int.recv() => {
                log(Priority::Info, format_args!("shutting down on SIGINT"));
                break;
            }
            _ = hup.recv() => reload(ctx, config_path, opts, &registry),
            _ = tokio::time::sleep(Duration::from_millis(250)) => {
                let secs = control.timeout.load(Ordering::Relaxed);
                // Any client of any server (admin included, as in
                // libvirt) or any running guest keeps the daemon alive.
                let busy = server.client_count() > 0
                    || admin_server.client_count() > 0
                    || registry.active_guests() > 0;
                if busy || secs == 0 {
                    idle_since = Instant::now();
                } else if idle_since.elapsed() >= Duration::from_secs(u64::from(secs)) {
                    log(Priority::Info, format_args!("idle timeout, shutting down"));
                    break;
                }
            }
        }
    }
    sd_notify("STOPPING=1");
    sockets::cleanup(&listeners.paths);
    ExitCode::SUCCESS
}

/// Tells the service manager about a state change (`Type=notify` units):
/// one datagram to `$NOTIFY_SOCKET` (a path, or `@name` for an abstract
/// socket). Does nothing outside systemd.
fn sd_notify(state: &str) {
    use std::os::linux::net::SocketAddrExt;
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let target = target.to_string_lossy().into_owned();
    let addr = match target.strip_prefix('@') {
        Some(name) => std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()),
        None => std::os::unix::net::SocketAddr::from_pathname(&target),
    };
    let (Ok(addr), Ok(sock)) = (addr, std::os::unix::net::UnixDatagram::unbound()) else {
        return;
    };
    let _ = sock.send_to_addr(state.as_bytes(), &addr);
}

/// SIGHUP: re-read the configuration file's logging settings (level,
/// filters, outputs; the environment and `-v` keep their precedence) and
/// let the drivers reload their state. Clients stay connected; socket and
/// limit settings need a restart, as in libvirt.
fn reload(
    ctx: &DaemonContext,
    config_path: &Path,
    opts: &daemon_support::CliOptions,
    registry: &Registry,
) {
    log(
        Priority::Info,
        format_args!("reloading configuration on SIGHUP"),
    );
    let allow_missing = opts.config_file.is_none();
    match DaemonConfig::load_for_user(&ctx.profile, config_path, allow_missing, ctx.privileged) {
        Ok(c) => {
            let env = Env::from_process();
            let mut level = if c.log_level > 0 { c.log_level } else { 3 };
            if let Some(p) = env
                .get("LIBVIRT_DEBUG")
                .and_then(|l| dlog::parse_priority(l).ok())
            {
                level = p.number();
            }
            if opts.verbose && level > Priority::Info.number() {
                level = Priority::Info.number();
            }
            let _ = dlog::set_default_priority(level);
            let filters = env
                .get("LIBVIRT_LOG_FILTERS")
                .map(str::to_owned)
                .or(c.log_filters.clone())
                .unwrap_or_default();
            if let Err(e) = dlog::set_filters(&filters) {
                log(Priority::Error, format_args!("{e}"));
            }
            let outputs = env
                .get("LIBVIRT_LOG_OUTPUTS")
                .map(str::to_owned)
                .or(c.log_outputs.clone())
                .unwrap_or_default();
            if let Err(e) = dlog::set_outputs(&outputs) {
                log(Priority::Error, format_args!("{e}"));
            }
        }
        Err(e) => log(
            Priority::Error,
            format_args!("reload of {} failed: {e}", config_path.display()),
        ),
    }
    for d in registry.drivers() {
        if let Err(e) = d.reload() {
            log(
                Priority::Error,
                format_args!("driver {} reload failed: {e}", d.name()),
            );
        }
    }
}

/// The polkit check for UNIX sockets whose scheme is "polkit": the
/// connecting process (peer credentials of the socket, its start time
/// from /proc) asks for `org.libvirt.unix.manage` on the read-write
/// socket and `org.libvirt.unix.monitor` on the read-only one. A polkit
/// that cannot be reached refuses.
// The wire error is what the client is told, as is.
#[allow(clippy::result_large_err)]
fn polkit_check() -> Result<rpc::PolkitCheck, String> {
    Ok(Arc::new(|info: &rpc::ClientInfo| {
        let failed = || {
            protocol::RemoteError::new(
                protocol::ErrorCode::AuthFailed,
                protocol::ErrorDomain::Rpc,
                Some("authentication failed"),
            )
        };
        let (Some(pid), Some(uid)) = (info.peer_pid, info.peer_uid) else {
            log(
                Priority::Warning,
                format_args!("polkit auth needs the peer credentials of a UNIX socket"),
            );
            return Err(failed());
        };
        let start_time = polkit::process_start_time(pid).unwrap_or(0);
        if start_time == 0 {
            log(
                Priority::Warning,
                format_args!("Failing polkit auth due to missing client (pid={pid}) start time"),
            );
            return Err(failed());
        }
        let subject = polkit::Subject {
            pid,
            start_time,
            uid,
        };
        let action = polkit::action_for(info.readonly);
        log(
            Priority::Info,
            format_args!("Checking PID {pid} running as {uid}"),
        );
        match polkit::check_auth(action, &subject, true) {
            Ok(()) => {
                log(
                    Priority::Info,
                    format_args!("Policy allowed action {action} from pid {pid}, uid {uid}"),
                );
                Ok(())
            }
            Err(e) => {
                log(
                    Priority::Warning,
                    format_args!("Policy refused action {action} from pid {pid}, uid {uid}: {e}"),
                );
                Err(e.into())
            }
        }
    }))
}
