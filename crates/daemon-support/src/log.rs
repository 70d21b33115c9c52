// SPDX-License-Identifier: LGPL-2.1-or-later
//! The daemon's logger, configured with libvirt's strings.
//!
//! - level: 1 debug, 2 info, 3 warning (default), 4 error;
//! - filters: space-separated `LEVEL:MATCH`, e.g. `1:rpc 3:remote 4:event`;
//!   MATCH is a glob matched anywhere in the module name (`rpc` matches
//!   `rpc.server`); a leading `+` is accepted and dropped; the first filter
//!   that matches decides a module's level, else the default level does;
//! - outputs: space-separated `LEVEL:stderr`, `LEVEL:journald`,
//!   `LEVEL:syslog:IDENT`, `LEVEL:file:PATH`; a repeated destination
//!   replaces the earlier one.
//!
//! Filters and outputs can be replaced while running ([`set_filters`],
//! [`set_outputs`], used on virt-admin's dmn-log-define) and read back in
//! libvirt's form ([`filters_string`], [`outputs_string`], for
//! dmn-log-info). Lines in files and on stderr look like libvirt's:
//! `2026-01-01 10:00:00.000+0000: 1234: warning : rpc.server : text`
//! (the number is the OS thread id, as in libvirt).

use std::fmt;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::paths::Env;

/// libvirt's VIR_ERR_INVALID_ARG, the code of every parse error here.
pub const ERR_INVALID_ARG: i32 = 8;

const JOURNALD_SOCKET: &str = "/run/systemd/journal/socket";
const SYSLOG_SOCKET: &str = "/dev/log";

/// A message priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// 1
    Debug = 1,
    /// 2
    Info = 2,
    /// 3 (the default level)
    Warning = 3,
    /// 4
    Error = 4,
}

impl Priority {
    /// From libvirt's number (1..=4).
    pub fn from_number(n: u32) -> Option<Priority> {
        match n {
            1 => Some(Priority::Debug),
            2 => Some(Priority::Info),
            3 => Some(Priority::Warning),
            4 => Some(Priority::Error),
            _ => None,
        }
    }

    /// libvirt's number.
    pub fn number(self) -> u32 {
        self as u32
    }

    /// The word used in log lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Debug => "debug",
            Priority::Info => "info",
            Priority::Warning => "warning",
            Priority::Error => "error",
        }
    }

    fn syslog_severity(self) -> u8 {
        match self {
            Priority::Debug => 7,
            Priority::Info => 6,
            Priority::Warning => 4,
            Priority::Error => 3,
        }
    }
}

/// A bad level, filter or output string, or an output that cannot open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid argument: {message}")]
pub struct LogError {
    /// libvirt's message without the "invalid argument: " prefix.
    pub message: String,
}

impl LogError {
    fn new(message: String) -> LogError {
        LogError { message }
    }

    /// libvirt's error code.
    pub fn code(&self) -> i32 {
        ERR_INVALID_ARG
    }
}

/// One filter: modules matching `pattern` log at `priority` and above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Minimum priority for matching modules.
    pub priority: Priority,
    /// The glob as stored: the given match wrapped in `*...*`.
    pub pattern: String,
}

/// Where an output writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Standard error.
    Stderr,
    /// syslog with this identifier.
    Syslog(String),
    /// A file (absolute, normalised path).
    File(PathBuf),
    /// The systemd journal.
    Journald,
}

/// One output definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Minimum priority written to this output.
    pub priority: Priority,
    /// Destination.
    pub dest: Destination,
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.priority.number();
        match &self.dest {
            Destination::Stderr => write!(f, "{p}:stderr"),
            Destination::Journald => write!(f, "{p}:journald"),
            Destination::Syslog(id) => write!(f, "{p}:syslog:{id}"),
            Destination::File(path) => write!(f, "{p}:file:{}", path.display()),
        }
    }
}

/// libvirt's unsigned parse for priorities: optional blanks and `+`, then
/// only digits.
fn parse_prio_number(s: &str) -> Option<Priority> {
    let t = s.trim_start();
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<u32>().ok().and_then(Priority::from_number)
}

/// Parses a level given as a number or a word (`LIBVIRT_DEBUG` style):
/// `1`/`debug`, `2`/`info`, `3`/`warning`, `4`/`error`.
pub fn parse_priority(s: &str) -> Result<Priority, LogError> {
    match s {
        "1" | "debug" => Ok(Priority::Debug),
        "2" | "info" => Ok(Priority::Info),
        "3" | "warning" => Ok(Priority::Warning),
        "4" | "error" => Ok(Priority::Error),
        _ => Err(LogError::new(format!(
            "Failed to set logging priority, argument '{s}' is invalid"
        ))),
    }
}

/// Parses one `LEVEL:MATCH` filter.
pub fn parse_filter(src: &str) -> Result<Filter, LogError> {
    let mut tokens = src.split(':');
    let (Some(prio), Some(matched)) = (tokens.next(), tokens.next()) else {
        return Err(LogError::new(format!(
            "Malformed format for filter '{src}'"
        )));
    };
    let Some(priority) = parse_prio_number(prio) else {
        return Err(LogError::new(format!(
            "Invalid priority '{prio}' for filter '{src}'"
        )));
    };
    let bare = matched.strip_prefix('+').unwrap_or(matched);
    if bare.is_empty() {
        return Err(LogError::new(format!("Invalid match string '{matched}'")));
    }
    Ok(Filter {
        priority,
        pattern: format!("*{bare}*"),
    })
}

/// Parses a space-separated filter list (empty string: no filters).
pub fn parse_filters(src: &str) -> Result<Vec<Filter>, LogError> {
    src.split(' ')
        .filter(|s| !s.is_empty())
        .map(parse_filter)
        .collect()
}

/// Makes a path absolute against the working directory and removes `.`
/// and `..` components, without touching the file system.
fn canonicalize_lexically(path: &str) -> PathBuf {
    let p = Path::new(path);
    let joined = if p.is_absolute() {
        p.to_owned()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(p)
    };
    let mut out = PathBuf::from("/");
    for c in joined.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// Parses one output definition.
pub fn parse_output(src: &str) -> Result<Output, LogError> {
    let tokens: Vec<&str> = src.split(':').collect();
    if tokens.len() < 2 {
        return Err(LogError::new(format!(
            "Malformed format for log output '{src}'"
        )));
    }
    let Some(priority) = parse_prio_number(tokens[0]) else {
        return Err(LogError::new(format!(
            "Invalid log priority '{}' for log output '{src}'",
            tokens[0]
        )));
    };
    let (dest_name, wanted) = match tokens[1] {
        "stderr" => ("stderr", 2),
        "journald" => ("journald", 2),
        "syslog" => ("syslog", 3),
        "file" => ("file", 3),
        other => {
            return Err(LogError::new(format!(
                "Invalid log destination '{other}' for log output '{src}'"
            )))
        }
    };
    if tokens.len() != wanted {
        return Err(LogError::new(format!(
            "Log output '{src}' does not meet the format requirements for destination type '{dest_name}'"
        )));
    }
    let dest = match dest_name {
        "stderr" => Destination::Stderr,
        "journald" => Destination::Journald,
        "syslog" => Destination::Syslog(tokens[2].to_owned()),
        _ => Destination::File(canonicalize_lexically(tokens[2])),
    };
    Ok(Output { priority, dest })
}

/// Parses a space-separated output list; a later definition of the same
/// destination replaces an earlier one (and takes the later position).
pub fn parse_outputs(src: &str) -> Result<Vec<Output>, LogError> {
    let mut list: Vec<Output> = Vec::new();
    for item in src.split(' ').filter(|s| !s.is_empty()) {
        let out = parse_output(item)?;
        list.retain(|o| o.dest != out.dest);
        list.push(out);
    }
    Ok(list)
}

/// Glob match with `*` and `?` (GLib's g_pattern_match_simple).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        // A `*` in the pattern is always a wildcard, even where the text
        // has a literal `*`.
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

enum Sink {
    Stderr,
    File(File),
    Syslog(Option<UnixDatagram>, String),
    Journald(Option<UnixDatagram>),
}

struct ActiveOutput {
    def: Output,
    sink: Sink,
    banner_done: bool,
}

struct State {
    default_priority: Priority,
    filters: Vec<Filter>,
    outputs: Vec<ActiveOutput>,
    default_output: Option<String>,
    stderr_banner_done: bool,
}

fn state() -> MutexGuard<'static, State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    let m = STATE.get_or_init(|| {
        Mutex::new(State {
            default_priority: Priority::Warning,
            filters: Vec::new(),
            outputs: Vec::new(),
            default_output: None,
            stderr_banner_done: false,
        })
    });
    // A panic while logging must not disable logging for good.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn open_sink(def: &Output) -> Result<Sink, LogError> {
    Ok(match &def.dest {
        Destination::Stderr => Sink::Stderr,
        Destination::File(path) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| {
                    let reason = virterror::os_error_text(&e);
                    LogError::new(format!("failed to open {}: {reason}", path.display()))
                })?;
            Sink::File(f)
        }
        Destination::Syslog(ident) => Sink::Syslog(UnixDatagram::unbound().ok(), ident.clone()),
        Destination::Journald => Sink::Journald(UnixDatagram::unbound().ok()),
    })
}

/// Resets level, filters and outputs to the start-up state.
pub fn reset() {
    let mut s = state();
    s.default_priority = Priority::Warning;
    s.filters.clear();
    s.outputs.clear();
}

/// Sets the default level (libvirt number 1..=4).
pub fn set_default_priority(level: u32) -> Result<(), LogError> {
    let p = Priority::from_number(level).ok_or_else(|| {
        LogError::new(format!(
            "Failed to set logging priority, argument '{level}' is invalid"
        ))
    })?;
    state().default_priority = p;
    Ok(())
}

/// The default level.
pub fn default_priority() -> Priority {
    state().default_priority
}

/// Replaces all filters (an empty string removes them). On error the old
/// filters stay.
pub fn set_filters(src: &str) -> Result<(), LogError> {
    let filters = parse_filters(src)?;
    state().filters = filters;
    Ok(())
}

/// Replaces all outputs. An empty string selects the default output (see
/// [`set_default_output`]); if none is known yet nothing changes. On error
/// the old outputs stay.
pub fn set_outputs(src: &str) -> Result<(), LogError> {
    let text = if src.is_empty() {
        match state().default_output.clone() {
            Some(d) => d,
            None => return Ok(()),
        }
    } else {
        src.to_owned()
    };
    let defs = parse_outputs(&text)?;
    let mut active = Vec::with_capacity(defs.len());
    for def in defs {
        let sink = open_sink(&def)?;
        active.push(ActiveOutput {
            def,
            sink,
            banner_done: false,
        });
    }
    state().outputs = active;
    Ok(())
}

/// Records the output used when outputs are set to the empty string.
pub fn set_default_output(src: &str) {
    state().default_output = Some(src.to_owned());
}

/// The default output chosen at start-up, if any.
pub fn default_output() -> Option<String> {
    state().default_output.clone()
}

/// The filters in libvirt's dmn-log-info form: each `LEVEL:*MATCH*`
/// followed by a space.
pub fn filters_string() -> String {
    state()
        .filters
        .iter()
        .map(|f| format!("{}:{} ", f.priority.number(), f.pattern))
        .collect()
}

/// The outputs in libvirt's form, space-separated.
pub fn outputs_string() -> String {
    state()
        .outputs
        .iter()
        .map(|o| o.def.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Number of outputs defined.
pub fn output_count() -> usize {
    state().outputs.len()
}

fn module_priority(s: &State, module: &str) -> Priority {
    s.filters
        .iter()
        .find(|f| glob_match(&f.pattern, module))
        .map(|f| f.priority)
        .unwrap_or(s.default_priority)
}

/// Whether a message of `priority` from `module` would be logged.
pub fn enabled(priority: Priority, module: &str) -> bool {
    let s = state();
    priority >= module_priority(&s, module)
}

fn thread_id() -> i64 {
    i64::from(host::process::gettid())
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// A UTC timestamp in libvirt's log format: `YYYY-MM-DD HH:MM:SS.mmm+0000`.
pub fn timestamp_of(since_epoch: std::time::Duration) -> String {
    let secs = i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX);
    let ms = since_epoch.subsec_millis();
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}.{ms:03}+0000",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

fn now_timestamp() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    timestamp_of(d)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn write_line(sink: &mut Sink, priority: Priority, module: &str, ts: &str, line: &str, msg: &str) {
    match sink {
        Sink::Stderr => {
            let _ = std::io::stderr().write_all(format!("{ts}: {line}").as_bytes());
        }
        Sink::File(f) => {
            let _ = f.write_all(format!("{ts}: {line}").as_bytes());
        }
        Sink::Syslog(sock, ident) => {
            if let Some(sock) = sock {
                // LOG_DAEMON facility (3).
                let pri = 3 * 8 + priority.syslog_severity();
                let datagram = format!("<{pri}>{ident}[{}]: {line}", std::process::id());
                let _ = sock.send_to(datagram.as_bytes(), SYSLOG_SOCKET);
            }
        }
        Sink::Journald(sock) => {
            if let Some(sock) = sock {
                let mut d = Vec::new();
                d.extend_from_slice(b"MESSAGE\n");
                d.extend_from_slice(&(msg.len() as u64).to_le_bytes());
                d.extend_from_slice(msg.as_bytes());
                d.push(b'\n');
                d.extend_from_slice(
                    format!("PRIORITY={}\n", priority.syslog_severity()).as_bytes(),
                );
                d.extend_from_slice(format!("LIBVIRT_SOURCE={module}\n").as_bytes());
                let _ = sock.send_to(&d, JOURNALD_SOCKET);
            }
        }
    }
}

/// Logs `args` from `module` at `priority` if the filters allow it.
pub fn log(priority: Priority, module: &str, args: fmt::Arguments<'_>) {
    let mut s = state();
    if priority < module_priority(&s, module) {
        return;
    }
    let msg = args.to_string();
    let ts = now_timestamp();
    let tid = thread_id();
    let line = format!("{tid}: {} : {module} : {msg}\n", priority.as_str());
    let banner = [
        format!("libvirt version: {}", crate::LIBVIRT_VERSION),
        format!("hostname: {}", hostname()),
    ];
    if s.outputs.is_empty() {
        if !s.stderr_banner_done {
            s.stderr_banner_done = true;
            for b in &banner {
                let l = format!("{tid}: info : {b}\n");
                write_line(&mut Sink::Stderr, Priority::Info, "", &ts, &l, b);
            }
        }
        write_line(&mut Sink::Stderr, priority, module, &ts, &line, &msg);
        return;
    }
    for out in s.outputs.iter_mut() {
        if priority < out.def.priority {
            continue;
        }
        if !out.banner_done {
            out.banner_done = true;
            for b in &banner {
                let l = format!("{tid}: info : {b}\n");
                write_line(&mut out.sink, Priority::Info, "", &ts, &l, b);
            }
        }
        write_line(&mut out.sink, priority, module, &ts, &line, &msg);
    }
}

/// Logs at debug level: `log_debug!("rpc.server", "client {} gone", id)`.
#[macro_export]
macro_rules! log_debug {
    ($module:expr, $($arg:tt)+) => {
        $crate::log::log($crate::log::Priority::Debug, $module, format_args!($($arg)+))
    };
}

/// Logs at info level.
#[macro_export]
macro_rules! log_info {
    ($module:expr, $($arg:tt)+) => {
        $crate::log::log($crate::log::Priority::Info, $module, format_args!($($arg)+))
    };
}

/// Logs at warning level.
#[macro_export]
macro_rules! log_warn {
    ($module:expr, $($arg:tt)+) => {
        $crate::log::log($crate::log::Priority::Warning, $module, format_args!($($arg)+))
    };
}

/// Logs at error level.
#[macro_export]
macro_rules! log_error {
    ($module:expr, $($arg:tt)+) => {
        $crate::log::log($crate::log::Priority::Error, $module, format_args!($($arg)+))
    };
}

/// Inputs of the start-up logging decision.
#[derive(Debug, Clone)]
pub struct LogSetup<'a> {
    /// Daemon name (the default log file is NAME.log).
    pub daemon_name: &'a str,
    /// `log_level` from the config (0 = unset).
    pub log_level: u32,
    /// `log_filters` from the config.
    pub log_filters: Option<&'a str>,
    /// `log_outputs` from the config.
    pub log_outputs: Option<&'a str>,
    /// `-v` given.
    pub verbose: bool,
    /// `-d` given.
    pub daemon: bool,
    /// Where a default `file` output goes (see `Paths::default_log_file`).
    pub default_log_file: &'a Path,
    /// Whether the journal socket is writable (see [`journald_available`]).
    pub journald: bool,
    /// Whether standard input is a terminal.
    pub stdin_is_tty: bool,
}

/// Whether the systemd journal can be written to.
pub fn journald_available() -> bool {
    host::fs::is_writable(Path::new(JOURNALD_SOCKET))
}

/// Whether standard input is a terminal.
pub fn stdin_is_tty() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal()
}

/// The default output libvirt would pick: journald when daemonized (or
/// when stdin is not a terminal) and the journal is there, else a file
/// when daemonized, else stderr. Debug is lowered to info for journald.
pub fn choose_default_output(setup: &LogSetup<'_>, level: Priority) -> String {
    let journald = || {
        let p = if level == Priority::Debug {
            Priority::Info
        } else {
            level
        };
        format!("{}:journald", p.number())
    };
    if setup.daemon {
        if setup.journald {
            journald()
        } else {
            format!(
                "{}:file:{}",
                level.number(),
                setup.default_log_file.display()
            )
        }
    } else if !setup.stdin_is_tty && setup.journald {
        journald()
    } else {
        format!("{}:stderr", level.number())
    }
}

/// Configures the global logger at start-up with libvirt's precedence:
/// command line over environment (LIBVIRT_DEBUG, LIBVIRT_LOG_FILTERS,
/// LIBVIRT_LOG_OUTPUTS) over config file; if nothing defines an output,
/// the default output is used.
pub fn setup(setup: &LogSetup<'_>, env: &Env) -> Result<(), LogError> {
    reset();
    if setup.log_level != 0 {
        set_default_priority(setup.log_level)?;
    }
    set_filters(setup.log_filters.unwrap_or(""))?;
    if let Some(o) = setup.log_outputs.filter(|o| !o.is_empty()) {
        set_outputs(o)?;
    }
    if let Some(level) = env.get("LIBVIRT_DEBUG") {
        let p = parse_priority(level)?;
        set_default_priority(p.number())?;
    }
    if let Some(f) = env.get("LIBVIRT_LOG_FILTERS") {
        set_filters(f)?;
    }
    if let Some(o) = env.get("LIBVIRT_LOG_OUTPUTS") {
        set_outputs(o)?;
    }
    if setup.verbose && default_priority() > Priority::Info {
        set_default_priority(Priority::Info.number())?;
    }
    let default = choose_default_output(setup, default_priority());
    if default.contains(":file:") {
        if let Some(dir) = setup.default_log_file.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
    }
    set_default_output(&default);
    if output_count() == 0 {
        set_outputs(&default)?;
    }
    Ok(())
}
