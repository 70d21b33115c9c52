// SPDX-License-Identifier: LGPL-2.1-or-later
//! libvirt's XML object models: domains, domain capabilities, networks, storage pools and
//! volumes, secrets, node devices, host interfaces, domain backups, and host capabilities.
//!
//! Role: turn client-supplied XML into typed definitions and format them
//! back byte for byte as libvirt 9.6 does. Each model goes through the same
//! stages: parse (structure only) → post-parse (defaults, implicit
//! devices) → validate → format.
//!
//! Must not depend on: the RPC layer, drivers, or the host (no syscalls,
//! no I/O besides the caller's strings).
//!
//! Invariants: parsing never panics on any input; errors carry libvirt's
//! `virErrorNumber` and its detail wording; formatting a parsed
//! definition and parsing the result again yields the same output.
#![forbid(unsafe_code)]

pub mod backup;
pub mod capabilities;
pub mod checkpoint;
pub mod domain;
pub mod domcaps;
pub mod error;
pub mod interface;
pub mod moment;
pub mod network;
pub mod nodedev;
pub mod rare;
pub mod schema;
pub mod secret;
pub mod snapshot;
pub mod storage;
pub mod storage_cmd;
pub(crate) mod util;
pub mod uuid;
pub mod xml;

pub use domain::{DomainDef, FormatFlags, ParseFlags};
pub use error::ConfError;
pub use network::NetworkDef;
pub use storage::{PoolDef, VolDef};
pub use util::{format_bitmap, parse_bitmap};
pub use uuid::Uuid;
