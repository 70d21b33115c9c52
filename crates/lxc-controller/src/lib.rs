// SPDX-License-Identifier: LGPL-2.1-or-later
//! LXC controller (placeholder while the crate is written).
#![forbid(unsafe_code)]
