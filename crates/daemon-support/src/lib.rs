// SPDX-License-Identifier: LGPL-2.1-or-later
//! What every daemon binary needs around its RPC server: the configuration
//! file and its defaults ([`config`]), the per-daemon [`profile`], path
//! resolution for root and users ([`paths`]), command-line parsing
//! ([`cli`]), the pid file ([`pidfile`]), systemd socket activation
//! ([`activation`]), logging with libvirt's filter/output strings ([`log`])
//! and `-d` ([`daemonize`](mod@daemonize)).
//!
//! Must not depend on: the RPC, protocol or driver crates (it sits below
//! them); only `host`, `virconf` and `thiserror`.
//!
//! Invariants: nothing here reads /etc or /run unless asked to through a
//! [`paths::Paths`] or an explicit path; tests redirect every system path
//! with `LIBVIRT_RS_ROOT_PREFIX`. No `unsafe`: the raw calls behind the pid
//! file lock, daemonize, socket activation and logging are `host`'s
//! ([`host::fs::lock_file`], [`host::process::detach`],
//! [`host::fd::set_cloexec`], [`host::process::gettid`]), and so is the
//! crash-safe file write.

#![forbid(unsafe_code)]

pub mod activation;
pub mod cli;
pub mod config;
pub mod daemonize;
pub mod log;
pub mod paths;
pub mod pidfile;
pub mod profile;

/// The libvirt version these daemons implement and report.
pub const LIBVIRT_VERSION: &str = "9.6.0";

/// [`LIBVIRT_VERSION`] as libvirt's number: major * 1,000,000 + minor *
/// 1,000 + micro (what virConnectGetLibVersion returns).
pub const LIBVIRT_VERSION_NUMBER: u64 = 9_006_000;

pub use activation::{activation_from_env, parse_activation, Activation, ActivationError};
pub use cli::{parse_args, usage, version_string, CliAction, CliError, CliOptions};
pub use config::{AuthScheme, ConfigError, DaemonConfig};
pub use daemonize::{daemonize, ready_fail, ready_notify, DaemonErr};
/// The crash-safe file replacement ([`host::fs::write_atomic`]), under the
/// name this crate has always exported.
pub use host::fs::write_atomic as atomic_write;
pub use paths::{DriverDirs, Env, Paths, PathsError, ROOT_PREFIX_ENV};
pub use pidfile::{PidFile, PidFileError};
pub use profile::Profile;
