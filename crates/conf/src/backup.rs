// SPDX-License-Identifier: LGPL-2.1-or-later
//! Domain backup job XML (`<domainbackup>`).

use crate::error::ConfError;

/// A disk of the domain the backup is aligned against.
#[derive(Debug, Clone)]
pub struct BackupDomainDisk {
    /// Target name (`vda`).
    pub dst: String,
    /// Source path.
    pub path: String,
    /// Image format.
    pub format: String,
}

/// One `<disk>` of a backup.
#[derive(Debug, Clone, Default)]
pub struct BackupDiskDef {
    /// Domain disk target name.
    pub name: String,
}

/// A backup job definition.
#[derive(Debug, Clone, Default)]
pub struct BackupDef {
    /// Disks.
    pub disks: Vec<BackupDiskDef>,
}

impl BackupDef {
    /// Parses `<domainbackup>`.
    pub fn parse_str(_xml: &str, _internal: bool) -> Result<BackupDef, ConfError> {
        Err(ConfError::internal("not implemented"))
    }
    /// Aligns with the domain's disks.
    pub fn align_disks(
        &mut self,
        _disks: &[BackupDomainDisk],
        _suffix: &str,
    ) -> Result<(), ConfError> {
        Ok(())
    }
    /// Formats.
    pub fn to_xml(&self, _internal: bool) -> String {
        String::new()
    }
}
