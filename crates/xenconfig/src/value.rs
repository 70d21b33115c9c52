// SPDX-License-Identifier: LGPL-2.1-or-later
//! Typed look-ups in a parsed xl/xm file with the Xen converters' rules:
//! a number may also be given as a decimal string, a boolean is a non-zero
//! unsigned number or the string "1", anything else is "malformed".

use crate::error::XenConfigError;
use virconf::{Conf, Value};

/// A boolean with a default when absent (xenConfigGetBool).
pub(crate) fn get_bool(conf: &Conf, key: &str, default: i32) -> Result<i32, XenConfigError> {
    match conf.get(key) {
        None => Ok(default),
        Some(Value::ULong(v)) => Ok(i32::from(*v != 0)),
        Some(Value::String(s)) => Ok(i32::from(s == "1")),
        Some(_) => Err(XenConfigError::malformed(key)),
    }
}

/// An unsigned number with a default when absent (xenConfigGetULong).
pub(crate) fn get_ulong(conf: &Conf, key: &str, default: u64) -> Result<u64, XenConfigError> {
    match conf.get(key) {
        None => Ok(default),
        Some(Value::ULong(v)) => Ok(*v),
        Some(Value::String(s)) => parse_ul(s).ok_or_else(|| XenConfigError::malformed(key)),
        Some(_) => Err(XenConfigError::malformed(key)),
    }
}

/// strtoul-like decimal parse of a whole string (leading blanks allowed).
pub(crate) fn parse_ul(s: &str) -> Option<u64> {
    let t = s.trim_start();
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// A C int parsed in `radix` from the whole string.
pub(crate) fn parse_i32_radix(s: &str, radix: u32) -> Option<i32> {
    let t = s.trim_start();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let t = if radix == 16 {
        t.strip_prefix("0x")
            .or_else(|| t.strip_prefix("0X"))
            .unwrap_or(t)
    } else {
        t
    };
    if t.is_empty() {
        return None;
    }
    let v = i64::from_str_radix(t, radix).ok()?;
    let v = if neg { -v } else { v };
    i32::try_from(v).ok()
}

/// A string or `default` (xenConfigGetString); a non-string is an error.
pub(crate) fn get_string(conf: &Conf, key: &str) -> Result<Option<String>, XenConfigError> {
    Ok(conf.get_string(key)?)
}

/// A required string (xenConfigCopyString).
pub(crate) fn copy_string(conf: &Conf, key: &str) -> Result<String, XenConfigError> {
    get_string(conf, key)?
        .ok_or_else(|| XenConfigError::internal(format!("config value {key} was missing")))
}

/// A list of strings when the value is a list of strings; `None` when
/// absent or not a list (the callers then fall back to other forms).
pub(crate) fn string_list(conf: &Conf, key: &str) -> Option<Vec<String>> {
    match conf.get(key) {
        Some(Value::List(items)) => Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        ),
        _ => None,
    }
}

/// Sets an integer setting (xenConfigSetInt).
pub(crate) fn set_int(conf: &mut Conf, key: &str, v: i64) {
    conf.set(key, Value::Long(v));
}

/// Sets a string setting (xenConfigSetString).
pub(crate) fn set_str(conf: &mut Conf, key: &str, v: &str) {
    conf.set(key, Value::String(v.to_string()));
}

/// Sets a list of strings.
pub(crate) fn set_list(conf: &mut Conf, key: &str, items: Vec<String>) {
    conf.set(
        key,
        Value::List(items.into_iter().map(Value::String).collect()),
    );
}
