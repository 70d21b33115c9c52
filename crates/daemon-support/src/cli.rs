// SPDX-License-Identifier: LGPL-2.1-or-later
//! Command-line parsing with GNU getopt_long's conventions (as the C
//! daemons use): clustered short options (`-dv`), attached or separate
//! arguments (`-fFILE`, `-f FILE`, `--config=FILE`, `--config FILE`),
//! unambiguous long-option prefixes (`--verb`), `--` ending the options.
//!
//! Options: `-h/--help`, `-v/--verbose`, `-d/--daemon`, `-l/--listen`
//! (profiles with `has_listen` only), `-t/--timeout SECS`,
//! `-f/--config FILE`, `-V/--version`, `-p/--pid-file FILE`.

use std::path::PathBuf;

use crate::profile::Profile;
use crate::LIBVIRT_VERSION;

/// Parsed options for a daemon run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CliOptions {
    /// `-v`: log at least at info level.
    pub verbose: bool,
    /// `-d`: fork into the background and write the pid file.
    pub daemon: bool,
    /// `-l`: listen on TCP/IP (libvirtd); always false for other profiles.
    pub listen: bool,
    /// `-f FILE`: explicit config file (a missing one is then an error).
    pub config_file: Option<PathBuf>,
    /// `-p FILE`: explicit pid file.
    pub pid_file: Option<PathBuf>,
    /// `-t SECS`: exit after this many idle seconds; 0 = never.
    pub timeout: u32,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliAction {
    /// Run the daemon.
    Run(CliOptions),
    /// `-h`: print [`usage`] to stderr, exit 0.
    Help,
    /// `-V`: print [`version_string`] to stdout, exit 0.
    Version,
}

/// A bad command line. Print `message` to stderr, then the usage text if
/// `show_usage`, and exit with status 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    /// The diagnostic, already prefixed with the program name.
    pub message: String,
    /// Whether the usage text should follow.
    pub show_usage: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Opt {
    Verbose,
    Daemon,
    Listen,
    Config,
    Timeout,
    PidFile,
    Version,
    Help,
}

impl Opt {
    fn takes_arg(self) -> bool {
        matches!(self, Opt::Config | Opt::Timeout | Opt::PidFile)
    }
}

fn options(profile: &Profile) -> Vec<(&'static str, char, Opt)> {
    let mut v = vec![("verbose", 'v', Opt::Verbose), ("daemon", 'd', Opt::Daemon)];
    if profile.has_listen {
        v.push(("listen", 'l', Opt::Listen));
    }
    v.extend([
        ("config", 'f', Opt::Config),
        ("timeout", 't', Opt::Timeout),
        ("pid-file", 'p', Opt::PidFile),
        ("version", 'V', Opt::Version),
        ("help", 'h', Opt::Help),
    ]);
    v
}

/// The `--version` line: `ARGV0 (libvirt) 9.6.0`. libvirt prints argv[0]
/// as invoked; pass the profile name for the bare form.
pub fn version_string(argv0: &str) -> String {
    format!("{argv0} (libvirt) {LIBVIRT_VERSION}")
}

/// Parses the timeout the way libvirt does: leading digits (with optional
/// blanks and sign) are taken, trailing text ignored; the value must be
/// 0..=INT_MAX/1000.
fn parse_timeout(arg: &str) -> Option<u32> {
    let s = arg.trim_start();
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let digits: &str = &rest[..rest.bytes().take_while(u8::is_ascii_digit).count()];
    if digits.is_empty() {
        return None;
    }
    let v: i64 = digits.parse().ok()?;
    let v = if neg { -v } else { v };
    let max = i64::from(i32::MAX / 1000);
    if !(0..=max).contains(&v) {
        return None;
    }
    u32::try_from(v).ok()
}

/// Parses `args` (without argv[0]) for `profile`; `argv0` prefixes
/// diagnostics.
pub fn parse_args(profile: &Profile, argv0: &str, args: &[String]) -> Result<CliAction, CliError> {
    let opts = options(profile);
    let mut out = CliOptions::default();
    let mut operands = Vec::new();
    let err = |message: String| CliError {
        message,
        show_usage: true,
    };
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            operands.extend(args[i..].iter().cloned());
            break;
        }
        let mut found: Vec<(Opt, Option<String>)> = Vec::new();
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            let exact = opts.iter().find(|(l, _, _)| *l == name);
            let matches: Vec<_> = opts
                .iter()
                .filter(|(l, _, _)| l.starts_with(name))
                .collect();
            let opt = match (exact, matches.as_slice()) {
                (Some(o), _) => o,
                (None, [o]) => *o,
                (None, []) => return Err(err(format!("{argv0}: unrecognized option '{arg}'"))),
                (None, _) => return Err(err(format!("{argv0}: option '{arg}' is ambiguous"))),
            };
            let value = if opt.2.takes_arg() {
                match inline {
                    Some(v) => Some(v),
                    None => match args.get(i) {
                        Some(v) => {
                            i += 1;
                            Some(v.clone())
                        }
                        None => {
                            return Err(err(format!(
                                "{argv0}: option '--{}' requires an argument",
                                opt.0
                            )))
                        }
                    },
                }
            } else {
                if inline.is_some() {
                    return Err(err(format!(
                        "{argv0}: option '--{}' doesn't allow an argument",
                        opt.0
                    )));
                }
                None
            };
            found.push((opt.2, value));
        } else if arg.len() > 1 && arg.starts_with('-') {
            let chars: Vec<char> = arg[1..].chars().collect();
            let mut j = 0;
            while j < chars.len() {
                let c = chars[j];
                j += 1;
                let Some(opt) = opts.iter().find(|(_, s, _)| *s == c) else {
                    return Err(err(format!("{argv0}: invalid option -- '{c}'")));
                };
                if opt.2.takes_arg() {
                    let rest: String = chars[j..].iter().collect();
                    let value = if !rest.is_empty() {
                        rest
                    } else if let Some(v) = args.get(i) {
                        i += 1;
                        v.clone()
                    } else {
                        return Err(err(format!(
                            "{argv0}: option requires an argument -- '{c}'"
                        )));
                    };
                    found.push((opt.2, Some(value)));
                    break;
                }
                found.push((opt.2, None));
            }
        } else {
            // GNU getopt moves operands to the end; any operand is an error.
            operands.push(arg.clone());
            continue;
        }
        for (opt, value) in found {
            let value = value.unwrap_or_default();
            match opt {
                Opt::Verbose => out.verbose = true,
                Opt::Daemon => out.daemon = true,
                Opt::Listen => out.listen = true,
                Opt::Config => out.config_file = Some(PathBuf::from(value)),
                Opt::PidFile => out.pid_file = Some(PathBuf::from(value)),
                Opt::Timeout => match parse_timeout(&value) {
                    Some(t) => out.timeout = t,
                    None => {
                        return Err(CliError {
                            message: "Invalid value for timeout".to_owned(),
                            show_usage: false,
                        })
                    }
                },
                // Like getopt's loop, the first of -V / -h acts at once.
                Opt::Version => return Ok(CliAction::Version),
                Opt::Help => return Ok(CliAction::Help),
            }
        }
    }
    if !operands.is_empty() {
        return Err(CliError {
            message: format!("{argv0}: unexpected, non-option, command line arguments"),
            show_usage: false,
        });
    }
    Ok(CliAction::Run(out))
}

/// The usage text (printed to stderr for `-h` and bad options).
pub fn usage(profile: &Profile, argv0: &str, privileged: bool) -> String {
    let mut lines: Vec<(&str, &str)> = vec![
        ("-h | --help", "Show this help and exit"),
        ("-v | --verbose", "Log informational messages too"),
        (
            "-d | --daemon",
            "Detach into the background and write a PID file",
        ),
    ];
    if profile.has_listen {
        lines.push(("-l | --listen", "Accept TCP/IP connections as configured"));
    }
    lines.extend([
        ("-t | --timeout <secs>", "Exit after this many idle seconds"),
        ("-f | --config <file>", "Read this configuration file"),
        ("-V | --version", "Show the version and exit"),
        ("-p | --pid-file <file>", "Write the PID to this file"),
    ]);
    let mut s = String::new();
    s.push_str(&format!("\nUsage:\n  {argv0} [options]\n\nOptions:\n"));
    for (opt, help) in lines {
        s.push_str(&format!("  {opt:<22} {help}\n"));
    }
    let (conf, run, pidrun) = if privileged {
        ("/etc", "/run", "/run")
    } else {
        (
            "$XDG_CONFIG_HOME",
            "$XDG_RUNTIME_DIR",
            "$XDG_RUNTIME_DIR/libvirt",
        )
    };
    s.push_str(&format!(
        "\n{}:\n\n  Default paths:\n\n",
        profile.description
    ));
    s.push_str(&format!(
        "    Configuration file (unless overridden by -f):\n      {conf}/libvirt/{}.conf\n\n",
        profile.name
    ));
    s.push_str(&format!(
        "    Sockets:\n      {run}/libvirt/{}-sock\n",
        profile.sock_prefix
    ));
    if privileged {
        s.push_str(&format!(
            "      {run}/libvirt/{}-sock-ro\n",
            profile.sock_prefix
        ));
    }
    s.push('\n');
    if profile.with_ip {
        let (ca, cert, key) = if privileged {
            (
                "/etc/pki/CA/cacert.pem",
                "/etc/pki/libvirt/servercert.pem",
                "/etc/pki/libvirt/private/serverkey.pem",
            )
        } else {
            (
                "$HOME/.pki/libvirt/cacert.pem",
                "$HOME/.pki/libvirt/servercert.pem",
                "$HOME/.pki/libvirt/serverkey.pem",
            )
        };
        s.push_str(&format!(
            "    TLS:\n      CA certificate: {ca}\n      Server certificate: {cert}\n      Server private key: {key}\n\n"
        ));
    }
    s.push_str(&format!(
        "    PID file (unless overridden by -p):\n      {pidrun}/{}.pid\n\n",
        profile.name
    ));
    s
}
