// SPDX-License-Identifier: LGPL-2.1-or-later
/// Every procedure, one row each: number, family (which trait of the
/// program's typed interface carries it), name, method name, argument type,
/// reply type, priority, stream, access (`ro`: allowed on a read-only
/// connection), public API name, ACL. See `define_program!` in `procs.rs`.
macro_rules! lxc_procedures {
    ($m:ident $($a:tt)*) => { $m! { $($a)*;
        1 lxc DomainOpenNamespace domain_open_namespace DomainOpenNamespaceArgs () low none rw "virDomainLxcOpenNamespace" "domain:open_namespace";
    } };
}
