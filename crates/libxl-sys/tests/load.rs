// SPDX-License-Identifier: LGPL-2.1-or-later
//! libxenlight loaded at run time: where Debian's library is installed,
//! every declared function resolves, and a context on a host that is not a
//! Xen dom0 fails with libxl's error instead of crashing.

use std::path::Path;

fn installed() -> bool {
    ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"]
        .iter()
        .any(|d| Path::new(d).join(libxl_sys::LIBXENLIGHT).exists())
}

#[test]
fn library_loads_with_every_symbol_where_installed() {
    if !installed() {
        eprintln!(
            "skipped: {} is not installed (Debian: libxenmisc4.17)",
            libxl_sys::LIBXENLIGHT
        );
        let e = libxl_sys::library().err().unwrap_or_default();
        assert!(e.contains(libxl_sys::LIBXENLIGHT), "{e}");
        return;
    }
    if let Err(e) = libxl_sys::library() {
        panic!("{e}");
    }
    assert!(libxl_sys::available());
}

#[test]
fn context_outside_dom0_is_an_error() {
    if !installed() || Path::new("/proc/xen/capabilities").exists() {
        eprintln!("skipped: needs libxenlight on a host that is not a Xen dom0");
        return;
    }
    match libxl_sys::Ctx::new() {
        Ok(_) => panic!("a libxl context outside a Xen dom0"),
        Err(e) => assert_eq!(e.call, "libxl_ctx_alloc", "{e}"),
    }
}
