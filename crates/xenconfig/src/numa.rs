// SPDX-License-Identifier: LGPL-2.1-or-later
//! A guest NUMA cell (`<cpu><numa><cell>`) as both Xen outputs read it:
//! its memory and its distances to the other cells.

use conf::xml::Element;

/// The cell's memory in KiB, whatever unit it is given in.
pub(crate) fn cell_kib(cell: &Element) -> u64 {
    let v: u64 = cell
        .attr("memory")
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let mult: u64 = match cell.attr("unit").unwrap_or("KiB") {
        "b" | "bytes" => return v / 1024,
        "KB" => return v.saturating_mul(1000) / 1024,
        "MB" => return v.saturating_mul(1_000_000) / 1024,
        "GB" => return v.saturating_mul(1_000_000_000) / 1024,
        "M" | "MiB" => 1024,
        "G" | "GiB" => 1024 * 1024,
        "T" | "TiB" => 1024 * 1024 * 1024,
        _ => 1,
    };
    v.saturating_mul(mult)
}

/// The distance from cell `i` to cell `j`: the `<sibling>` of `i` naming
/// `j`, else that of `j` naming `i`, else 10 to itself and 20 to others.
pub(crate) fn distance(cells: &[&Element], i: usize, j: usize) -> u64 {
    let explicit = |i: usize, j: usize| -> Option<u64> {
        cells
            .get(i)?
            .child("distances")?
            .children_named("sibling")
            .find_map(|s| {
                (s.attr("id")?.parse::<usize>().ok()? == j)
                    .then(|| s.attr("value")?.parse::<u64>().ok())
                    .flatten()
            })
    };
    explicit(i, j)
        .or_else(|| explicit(j, i))
        .unwrap_or(if i == j { 10 } else { 20 })
}
