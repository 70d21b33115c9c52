// SPDX-License-Identifier: LGPL-2.1-or-later
//! Host interfaces of the test driver, kept as the XML they were defined
//! with: listing, lookup by name or MAC, define, start and stop, and
//! transactions (a copy of them to roll back to).

use driver::error::{ErrorCode, ErrorDomain};
use driver::{Error, InterfaceRef, Result};

use crate::conn::pair_ok;
use crate::errors;
use crate::load;
use crate::state::Shared;

pub(crate) fn list_all_interfaces(sh: &Shared, flags: u32) -> Result<Vec<InterfaceRef>> {
    Error::check_flags(flags, 0x3, "testConnectListAllInterfaces")?;
    let s = sh.lock();
    Ok(s.ifaces
        .values()
        .filter(|i| pair_ok(flags, 0x2, 0x1, i.active))
        .map(|i| InterfaceRef {
            name: i.name.clone(),
            mac: i.mac.clone(),
        })
        .collect())
}

pub(crate) fn interface_lookup_by_name(sh: &Shared, name: &str) -> Result<InterfaceRef> {
    let s = sh.lock();
    s.ifaces
        .get(name)
        .map(|i| InterfaceRef {
            name: i.name.clone(),
            mac: i.mac.clone(),
        })
        .ok_or_else(|| errors::no_iface_name(name))
}

pub(crate) fn interface_lookup_by_mac(sh: &Shared, mac: &str) -> Result<InterfaceRef> {
    let s = sh.lock();
    let found: Vec<_> = s
        .ifaces
        .values()
        .filter(|i| i.mac.eq_ignore_ascii_case(mac))
        .take(2)
        .collect();
    match found.as_slice() {
        [] => Err(errors::test(
            ErrorCode::NoInterface,
            format!("no interface with matching mac '{mac}'"),
        )),
        [i] => Ok(InterfaceRef {
            name: i.name.clone(),
            mac: mac.to_string(),
        }),
        _ => Err(Error::bare(
            ErrorCode::MultipleInterfaces,
            ErrorDomain::Test,
        )),
    }
}

pub(crate) fn interface_get_xml_desc(
    sh: &Shared,
    iface: &InterfaceRef,
    flags: u32,
) -> Result<String> {
    Error::check_flags(flags, 0, "testInterfaceGetXMLDesc")?;
    let s = sh.lock();
    let i = s
        .ifaces
        .get(&iface.name)
        .ok_or_else(|| errors::no_iface_name(&iface.name))?;
    Ok(i.xml.to_libvirt_string(0))
}

pub(crate) fn interface_define_xml(sh: &Shared, xml: &str, flags: u32) -> Result<InterfaceRef> {
    Error::check_flags(flags, 1, "testInterfaceDefineXML")?;
    let el = conf::xml::parse_document(xml, "(interface_definition)", "interface")
        .map_err(|e| errors::conf(e, ErrorDomain::Interface))?;
    let mut iface = load::parse_iface(el)?;
    let mut s = sh.lock();
    if let Some(old) = s.ifaces.get(&iface.name) {
        iface.active = old.active;
    }
    let r = InterfaceRef {
        name: iface.name.clone(),
        mac: iface.mac.clone(),
    };
    s.ifaces.insert(iface.name.clone(), iface);
    Ok(r)
}

pub(crate) fn interface_undefine(sh: &Shared, iface: &InterfaceRef) -> Result<()> {
    let mut s = sh.lock();
    s.ifaces
        .remove(&iface.name)
        .map(|_| ())
        .ok_or_else(|| errors::no_iface_name(&iface.name))
}

pub(crate) fn interface_create(sh: &Shared, iface: &InterfaceRef, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testInterfaceCreate")?;
    let mut s = sh.lock();
    let i = s
        .ifaces
        .get_mut(&iface.name)
        .ok_or_else(|| errors::no_iface_name(&iface.name))?;
    if i.active {
        return Err(Error::bare(ErrorCode::OperationInvalid, ErrorDomain::Test));
    }
    i.active = true;
    Ok(())
}

pub(crate) fn interface_destroy(sh: &Shared, iface: &InterfaceRef, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testInterfaceDestroy")?;
    let mut s = sh.lock();
    let i = s
        .ifaces
        .get_mut(&iface.name)
        .ok_or_else(|| errors::no_iface_name(&iface.name))?;
    if !i.active {
        return Err(Error::bare(ErrorCode::OperationInvalid, ErrorDomain::Test));
    }
    i.active = false;
    Ok(())
}

pub(crate) fn interface_is_active(sh: &Shared, iface: &InterfaceRef) -> Result<bool> {
    let s = sh.lock();
    s.ifaces
        .get(&iface.name)
        .map(|i| i.active)
        .ok_or_else(|| errors::no_iface_name(&iface.name))
}

/// virInterfaceChangeBegin: one transaction at a time.
pub(crate) fn interface_change_begin(sh: &Shared, flags: u32) -> Result<()> {
    Error::check_flags(flags, 0, "testInterfaceChangeBegin")?;
    let mut s = sh.lock();
    if s.iface_backup.is_some() {
        return Err(errors::op_invalid("there is another transaction running."));
    }
    // libvirt's copy keeps the definitions, not whether they run: after a
    // rollback every interface is inactive.
    let mut backup = s.ifaces.clone();
    for i in backup.values_mut() {
        i.active = false;
    }
    s.iface_backup = Some(backup);
    Ok(())
}

/// virInterfaceChangeCommit (`rollback` false) and
/// virInterfaceChangeRollback.
pub(crate) fn interface_change_end(sh: &Shared, rollback: bool, flags: u32) -> Result<()> {
    let func = if rollback {
        "testInterfaceChangeRollback"
    } else {
        "testInterfaceChangeCommit"
    };
    Error::check_flags(flags, 0, func)?;
    let mut s = sh.lock();
    let Some(backup) = s.iface_backup.take() else {
        return Err(errors::op_invalid(if rollback {
            "no transaction running, nothing to rollback."
        } else {
            "no transaction running, nothing to be committed."
        }));
    };
    if rollback {
        s.ifaces = backup;
    }
    Ok(())
}
