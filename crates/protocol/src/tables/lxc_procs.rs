// SPDX-License-Identifier: LGPL-2.1-or-later
/// Every procedure: number, name, argument type, reply type, priority, ACL.
macro_rules! lxc_procedures {
    ($m:ident, $e:ident, $mod:ident) => { $m! { $e, $mod;
        1 DomainOpenNamespace DomainOpenNamespaceArgs () low none ro "" "domain:open_namespace";
    } };
}
