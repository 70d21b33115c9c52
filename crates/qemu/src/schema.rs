// SPDX-License-Identifier: LGPL-2.1-or-later
//! Queries into QEMU's QAPI schema (`query-qmp-schema`), in the path
//! language libvirt's capability probe uses:
//! `command_or_event/arg-type|ret-type/member/+variant/*optional/...`,
//! ending optionally in a boolean test: `^enumvalue`, `!jsontype` or
//! `$feature` (`^value/$feature` tests a feature of an enum value). Arrays
//! are looked through; alternates are tried member by member.

use serde_json::Value;
use std::collections::HashMap;

/// The schema indexed by entity name.
pub struct Schema {
    by_name: HashMap<String, Value>,
}

/// The outcome of one step: found, not found, or a malformed schema/query.
enum Step {
    Found,
    Missing,
    Bad,
}

impl Schema {
    /// Indexes the `return` array of `query-qmp-schema`.
    pub fn new(entries: &Value) -> Schema {
        let mut by_name = HashMap::new();
        if let Some(arr) = entries.as_array() {
            for e in arr {
                if let Some(n) = e.get("name").and_then(Value::as_str) {
                    by_name.insert(n.to_string(), e.clone());
                }
            }
        }
        Schema { by_name }
    }

    /// Whether `query` exists in the schema (a malformed schema or query
    /// counts as absent).
    pub fn path_exists(&self, query: &str) -> bool {
        let parts: Vec<&str> = query.split('/').collect();
        let Some((first, rest)) = parts.split_first() else {
            return false;
        };
        if !self.by_name.contains_key(*first) {
            return false;
        }
        let mut depth = 0usize;
        matches!(self.traverse(first, rest, &mut depth), Step::Found)
    }

    fn traverse(&self, name: &str, rest: &[&str], depth: &mut usize) -> Step {
        *depth += 1;
        if *depth > 1000 {
            return Step::Bad;
        }
        let Some(cur) = self.by_name.get(name) else {
            return Step::Bad;
        };
        if rest.is_empty() {
            return Step::Found;
        }
        let Some(meta) = cur.get("meta-type").and_then(Value::as_str) else {
            return Step::Bad;
        };
        match meta {
            "object" => self.object(cur, rest, depth),
            "array" => match cur.get("element-type").and_then(Value::as_str) {
                Some(t) => self.traverse(t, rest, depth),
                None => Step::Bad,
            },
            "command" | "event" => self.command(cur, rest, depth),
            "enum" => enum_value(cur, rest),
            "builtin" => builtin(cur, rest),
            "alternate" => {
                let Some(members) = cur.get("members").and_then(Value::as_array) else {
                    return Step::Bad;
                };
                for m in members {
                    let Some(t) = m.get("type").and_then(Value::as_str) else {
                        continue;
                    };
                    match self.traverse(t, rest, depth) {
                        Step::Missing => continue,
                        other => return other,
                    }
                }
                Step::Missing
            }
            _ => Step::Missing,
        }
    }

    fn object(&self, cur: &Value, rest: &[&str], depth: &mut usize) -> Step {
        let (q, tail) = (rest[0], &rest[1..]);
        let (modifier, name) = split_modifier(q);
        match modifier {
            Some('^') | Some('!') => return Step::Missing,
            Some('$') => {
                if !tail.is_empty() {
                    return Step::Bad;
                }
                return has_feature(cur, name);
            }
            _ => {}
        }
        let member = if modifier == Some('+') {
            find_named(cur, "variants", "case", name)
        } else {
            let m = find_named(cur, "members", "name", name);
            if modifier == Some('*') && m.is_none_or(|m| m.get("default").is_none()) {
                return Step::Missing;
            }
            m
        };
        match member.and_then(|m| m.get("type")).and_then(Value::as_str) {
            Some(t) => self.traverse(t, tail, depth),
            None if member.is_some() => Step::Bad,
            None => Step::Missing,
        }
    }

    fn command(&self, cur: &Value, rest: &[&str], depth: &mut usize) -> Step {
        let (q, tail) = (rest[0], &rest[1..]);
        let (modifier, name) = split_modifier(q);
        match modifier {
            Some('^') | Some('!') | Some('+') | Some('*') => Step::Missing,
            Some('$') => {
                if !tail.is_empty() {
                    return Step::Bad;
                }
                has_feature(cur, name)
            }
            _ => match cur.get(name).and_then(Value::as_str) {
                Some(t) => self.traverse(t, tail, depth),
                None => Step::Missing,
            },
        }
    }
}

/// Splits a leading non-letter modifier off a query component.
fn split_modifier(q: &str) -> (Option<char>, &str) {
    match q.chars().next() {
        Some(c) if !c.is_ascii_alphabetic() => (Some(c), &q[c.len_utf8()..]),
        _ => (None, q),
    }
}

fn find_named<'a>(cur: &'a Value, field: &str, key: &str, name: &str) -> Option<&'a Value> {
    cur.get(field)?
        .as_array()?
        .iter()
        .find(|e| e.get(key).and_then(Value::as_str) == Some(name))
}

fn has_feature(cur: &Value, feature: &str) -> Step {
    let Some(arr) = cur.get("features").and_then(Value::as_array) else {
        return Step::Missing;
    };
    for f in arr {
        match f.as_str() {
            Some(s) if s == feature => return Step::Found,
            Some(_) => {}
            None => return Step::Bad,
        }
    }
    Step::Missing
}

fn enum_value(cur: &Value, rest: &[&str]) -> Step {
    let q = rest[0];
    let Some(value) = q.strip_prefix('^') else {
        return Step::Missing;
    };
    let feature = match rest.get(1) {
        None => None,
        Some(f) => match f.strip_prefix('$') {
            Some(f) if rest.len() == 2 => Some(f),
            _ => return Step::Bad,
        },
    };
    if let Some(members) = cur.get("members").and_then(Value::as_array) {
        for m in members {
            let Some(n) = m.get("name").and_then(Value::as_str) else {
                return Step::Bad;
            };
            if n == value {
                return match feature {
                    Some(f) => has_feature(m, f),
                    None => Step::Found,
                };
            }
        }
        return Step::Missing;
    }
    if feature.is_some() {
        return Step::Missing;
    }
    let Some(values) = cur.get("values").and_then(Value::as_array) else {
        return Step::Bad;
    };
    if values.iter().any(|v| v.as_str() == Some(value)) {
        Step::Found
    } else {
        Step::Missing
    }
}

fn builtin(cur: &Value, rest: &[&str]) -> Step {
    let Some(ty) = rest[0].strip_prefix('!') else {
        return Step::Missing;
    };
    if rest.len() > 1 {
        return Step::Bad;
    }
    match cur.get("json-type").and_then(Value::as_str) {
        Some(t) if t == ty => Step::Found,
        Some(_) => Step::Missing,
        None => Step::Bad,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::new(&json!([
            {"name": "blockdev-add", "meta-type": "command", "arg-type": "0", "ret-type": "1"},
            {"name": "0", "meta-type": "object", "members": [{"name": "driver", "type": "2"}],
             "tag": "driver", "variants": [{"case": "file", "type": "3"}]},
            {"name": "1", "meta-type": "object", "members": []},
            {"name": "2", "meta-type": "enum", "members": [{"name": "file"}, {"name": "nvme", "features": ["unstable"]}]},
            {"name": "3", "meta-type": "object", "members": [{"name": "aio", "type": "4", "default": null}]},
            {"name": "4", "meta-type": "enum", "values": ["threads", "io_uring"]},
            {"name": "device_add", "meta-type": "command", "arg-type": "1", "ret-type": "1", "features": ["json-cli-hotplug"]}
        ]))
    }

    #[test]
    fn variants_members_enums_and_features() {
        let s = schema();
        assert!(s.path_exists("blockdev-add"));
        assert!(s.path_exists("blockdev-add/arg-type/+file/aio/^io_uring"));
        assert!(s.path_exists("blockdev-add/arg-type/+file/*aio"));
        assert!(!s.path_exists("blockdev-add/arg-type/+nvme"));
        assert!(s.path_exists("blockdev-add/arg-type/driver/^nvme/$unstable"));
        assert!(!s.path_exists("blockdev-add/arg-type/driver/^file/$unstable"));
        assert!(s.path_exists("device_add/$json-cli-hotplug"));
        assert!(!s.path_exists("device_del"));
    }
}
