// SPDX-License-Identifier: LGPL-2.1-or-later
//! The writer: one entry per line, `name = value`, libvirt's quoting rules.

use crate::{Entry, Value};

pub(crate) fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Long(l) => out.push_str(&l.to_string()),
        Value::ULong(u) => out.push_str(&u.to_string()),
        Value::String(s) => {
            // Pick the first quoting that can hold the text on one line;
            // triple quotes for anything else.
            if s.contains('\n') || (s.contains('"') && s.contains('\'')) {
                out.push_str("\"\"\"");
                out.push_str(s);
                out.push_str("\"\"\"");
            } else if !s.contains('"') {
                out.push('"');
                out.push_str(s);
                out.push('"');
            } else {
                out.push('\'');
                out.push_str(s);
                out.push('\'');
            }
        }
        Value::List(items) => {
            out.push_str("[ ");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push_str(" ]");
        }
    }
}

pub(crate) fn write_entries(entries: &[Entry]) -> String {
    let mut out = String::new();
    for entry in entries {
        match (&entry.name, &entry.value) {
            (Some(name), Some(value)) => {
                out.push_str(name);
                out.push_str(" = ");
                write_value(&mut out, value);
                if let Some(c) = &entry.comment {
                    out.push_str(" #");
                    out.push_str(c);
                }
            }
            _ => {
                if let Some(c) = &entry.comment {
                    out.push('#');
                    out.push_str(c);
                }
            }
        }
        out.push('\n');
    }
    out
}
