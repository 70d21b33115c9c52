// SPDX-License-Identifier: LGPL-2.1-or-later
//! What libvirt's test driver makes up about a guest's inside: its
//! hostname, its clock (kept per domain object, starting at C's fixed
//! value) and the sizes of its disks.

use driver::error::{ErrorCode, ErrorDomain};
use driver::{DomainRef, Error, Result};

use crate::errors;
use crate::state::Shared;

/// VIR_DOMAIN_TIME_SYNC.
const TIME_SYNC: u32 = 1;

/// virDomainGetHostname: "<name>host" for a running domain.
pub(crate) fn domain_get_hostname(sh: &Shared, r: &DomainRef, flags: u32) -> Result<String> {
    Error::check_flags(flags, 0, "testDomainGetHostname")?;
    sh.with_dom(r, |d| {
        if !d.is_active() {
            return Err(errors::not_running());
        }
        Ok(format!("{}host", r.name))
    })
}

/// virDomainGetTime: the clock last set (running domains only).
pub(crate) fn domain_get_time(sh: &Shared, r: &DomainRef, flags: u32) -> Result<(i64, u32)> {
    Error::check_flags(flags, 0, "testDomainGetTime")?;
    sh.with_dom(r, |d| {
        if d.state != driver::consts::state::RUNNING {
            return Err(errors::op_invalid("domain is not running"));
        }
        Ok(d.guest_time)
    })
}

/// virDomainSetTime.
pub(crate) fn domain_set_time(
    sh: &Shared,
    r: &DomainRef,
    seconds: i64,
    nseconds: u32,
    flags: u32,
) -> Result<()> {
    Error::check_flags(flags, TIME_SYNC, "testDomainSetTime")?;
    sh.change_dom(r, |_, d, _| {
        if !d.is_active() {
            return Err(errors::not_running());
        }
        d.guest_time = (seconds, nseconds);
        Ok(())
    })
}

/// virDomainGetBlockInfo: (capacity, allocation, physical) of a disk named
/// by target or source, the same made-up sizes for every disk.
pub(crate) fn domain_get_block_info(
    sh: &Shared,
    r: &DomainRef,
    path: &str,
    flags: u32,
) -> Result<(u64, u64, u64)> {
    Error::check_flags(flags, 0, "testDomainGetBlockInfo")?;
    sh.with_dom(r, |d| {
        let disks = d.def.disks();
        let disk = disks
            .iter()
            .find(|x| x.target_dev == path)
            .or_else(|| disks.iter().find(|x| x.source.as_deref() == Some(path)))
            .ok_or_else(|| {
                errors::test(
                    ErrorCode::InvalidArg,
                    format!("invalid path {path} not assigned to domain"),
                )
            })?;
        if disk.source.as_deref().is_none_or(str::is_empty) {
            return Err(Error::invalid_arg(
                ErrorDomain::Test,
                format!("disk '{path}' does not currently have a source assigned"),
            ));
        }
        Ok((1_099_506_450_432, 1_099_511_627_776, 1_099_511_627_776))
    })
}
