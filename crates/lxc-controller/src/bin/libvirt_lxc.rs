// SPDX-License-Identifier: LGPL-2.1-or-later
//! `libvirt_lxc`: the per-container controller process (thin main).
#![forbid(unsafe_code)]

fn main() {
    std::process::exit(lxc_controller::controller::main_entry());
}
