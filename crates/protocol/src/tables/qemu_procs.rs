// SPDX-License-Identifier: LGPL-2.1-or-later
/// The QEMU-specific program's procedures served here, one row each (see
/// `lxc_procs.rs` for the columns).
macro_rules! qemu_procedures {
    ($m:ident $($a:tt)*) => { $m! { $($a)*;
        3 qemu DomainAgentCommand domain_agent_command DomainAgentCommandArgs DomainAgentCommandRet low none rw "virDomainQemuAgentCommand" "domain:write";
    } };
}
