// SPDX-License-Identifier: LGPL-2.1-or-later
//! `libvirt_lxc`: the per-container controller process.
#![forbid(unsafe_code)]
fn main() {}
