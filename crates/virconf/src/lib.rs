// SPDX-License-Identifier: LGPL-2.1-or-later
//! libvirt's configuration-file grammar.
//!
//! Role: parse the `key = value` files that libvirt daemons and drivers read
//! (libvirtd.conf, virtlxcd.conf, qemu.conf, xl.cfg / xm files, native LXC
//! configs), look values up with libvirt's typed getters and their exact error
//! wording, and write a parsed file back the way libvirt's writer does.
//!
//! Grammar (as libvirt accepts it):
//! - a statement is `NAME = VALUE` optionally followed by `# comment`;
//!   statements are separated by line ends or `;`;
//! - a line whose first non-blank character is `#` is a comment;
//! - NAME starts with an ASCII letter and continues with letters, digits and
//!   `_` (the LXC dialect also allows `.`, the VMX dialect `.`, `:`, `-`);
//! - VALUE is a string in `'...'` or `"..."` (single line) or `"""..."""`
//!   (may span lines), an integer with an optional sign, or a list
//!   `[ v, v, ]` whose items may sit on several lines (trailing comma allowed).
//!
//! Must not depend on: anything but `std` and `thiserror`. No I/O except
//! [`Conf::read_file`].
//!
//! Invariants: the parser never panics and never indexes out of bounds on any
//! input; entries keep file order (comments included) so the writer can
//! reproduce them; a lookup returns the first entry with the name.

#![forbid(unsafe_code)]

mod error;
mod parse;
mod write;

pub use error::{ConfError, ERR_CONF_SYNTAX, ERR_INTERNAL_ERROR, ERR_SYSTEM_ERROR, FROM_CONF};

use std::path::Path;

/// Largest file [`Conf::read_file`] accepts (libvirt's sanity limit, 10 MiB).
pub const MAX_CONFIG_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// The file name libvirt reports for configurations parsed from memory.
pub const MEMORY_CONF_NAME: &str = "memory conf";

/// One value of a setting.
///
/// Integers keep libvirt's two kinds: a literal written with a leading `-` is
/// signed ([`Value::Long`]); any other (including a leading `+`) is unsigned
/// ([`Value::ULong`]). Typed getters depend on the difference (a boolean or an
/// unsigned setting rejects a signed literal even when it is `-0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A literal with a leading minus sign.
    Long(i64),
    /// A literal without a minus sign.
    ULong(u64),
    /// A quoted string (or, in the LXC dialect, the rest of the line).
    String(String),
    /// A bracketed list; items may be of any kind, lists included.
    List(Vec<Value>),
}

impl Value {
    /// libvirt's name for the value's type (`long`, `unsigned long`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Long(_) => "long",
            Value::ULong(_) => "unsigned long",
            Value::String(_) => "string",
            Value::List(_) => "list",
        }
    }

    /// The string, if this is a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

/// Which variant of the grammar a file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// libvirt's own files and Xen's xl/xm configs.
    #[default]
    Libvirt,
    /// Native LXC configuration: names may contain `.`, an unquoted value is
    /// the rest of the line as a string (no trailing comment).
    Lxc,
    /// VMware VMX: names may contain `.`, `:`, `-` and are looked up without
    /// regard to case; numbers and lists are rejected.
    Vmx,
}

/// One line-level item of a file: a setting (with an optional trailing
/// comment) or a standalone comment. Blank lines are not kept, as in libvirt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The setting's name, `None` for a standalone comment.
    pub name: Option<String>,
    /// The value; present exactly when `name` is.
    pub value: Option<Value>,
    /// Comment text after `#` (the `#` itself excluded, leading space kept).
    pub comment: Option<String>,
}

/// A parsed configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conf {
    file_name: String,
    dialect: Dialect,
    entries: Vec<Entry>,
}

impl Conf {
    /// An empty configuration whose errors name `file_name`.
    pub fn new(file_name: &str) -> Conf {
        Conf {
            file_name: file_name.to_owned(),
            dialect: Dialect::Libvirt,
            entries: Vec::new(),
        }
    }

    /// Parses `text` in libvirt's dialect; syntax errors name
    /// `file_name` and the line (`FILE:LINE: reason`).
    pub fn parse(text: &str, file_name: &str) -> Result<Conf, ConfError> {
        Self::parse_dialect(text, file_name, Dialect::Libvirt)
    }

    /// Parses `text` in the given dialect.
    pub fn parse_dialect(text: &str, file_name: &str, dialect: Dialect) -> Result<Conf, ConfError> {
        let entries = parse::parse(text.as_bytes(), file_name, dialect)?;
        Ok(Conf {
            file_name: file_name.to_owned(),
            dialect,
            entries,
        })
    }

    /// Reads and parses a file in libvirt's dialect. Errors name the path.
    pub fn read_file(path: impl AsRef<Path>) -> Result<Conf, ConfError> {
        Self::read_file_dialect(path, Dialect::Libvirt)
    }

    /// Reads and parses a file in the given dialect.
    pub fn read_file_dialect(path: impl AsRef<Path>, dialect: Dialect) -> Result<Conf, ConfError> {
        use std::io::Read;
        let path = path.as_ref();
        let shown = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| ConfError::io("open", &shown, &e))?;
        let mut buf = Vec::new();
        // Read one byte past the limit so an over-long file is detected
        // without reading all of it.
        file.take(MAX_CONFIG_FILE_SIZE + 1)
            .read_to_end(&mut buf)
            .map_err(|e| ConfError::io("read", &shown, &e))?;
        if buf.len() as u64 > MAX_CONFIG_FILE_SIZE {
            return Err(ConfError::too_large(&shown));
        }
        let text = String::from_utf8_lossy(&buf);
        Self::parse_dialect(&text, &shown, dialect)
    }

    /// The name used in error messages.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The dialect this configuration was parsed with.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// All entries in file order, comments included.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The settings (name, value) in file order, comments skipped.
    pub fn settings(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries
            .iter()
            .filter_map(|e| Some((e.name.as_deref()?, e.value.as_ref()?)))
    }

    /// The value of the first setting called `key` (case-insensitive in
    /// the VMX dialect).
    pub fn get(&self, key: &str) -> Option<&Value> {
        let vmx = self.dialect == Dialect::Vmx;
        self.settings()
            .find(|(name, _)| *name == key || (vmx && name.eq_ignore_ascii_case(key)))
            .map(|(_, v)| v)
    }

    /// Sets `key` to `value`: replaces the first setting of that name, or
    /// appends a new one at the end (libvirt's virConfSetValue).
    pub fn set(&mut self, key: &str, value: Value) {
        for entry in &mut self.entries {
            if entry.name.as_deref() == Some(key) {
                entry.value = Some(value);
                return;
            }
        }
        self.entries.push(Entry {
            name: Some(key.to_owned()),
            value: Some(value),
            comment: None,
        });
    }

    fn type_error(&self, key: &str, what: &str) -> ConfError {
        ConfError::Internal {
            message: format!(
                "{}: expected {} for '{}' parameter",
                self.file_name, what, key
            ),
        }
    }

    fn range_error(&self, key: &str, range: &str) -> ConfError {
        ConfError::Internal {
            message: format!(
                "{}: value for '{}' parameter must be in range {}",
                self.file_name, key, range
            ),
        }
    }

    /// A string setting (virConfGetValueString). `Ok(None)` when absent.
    pub fn get_string(&self, key: &str) -> Result<Option<String>, ConfError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.type_error(key, "a string")),
        }
    }

    /// A list of strings (virConfGetValueStringList). With
    /// `compat_string`, a single string is accepted as a one-item list.
    pub fn get_string_list(
        &self,
        key: &str,
        compat_string: bool,
    ) -> Result<Option<Vec<String>>, ConfError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::List(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        _ => {
                            return Err(ConfError::Semantic {
                                message: format!(
                                    "{}: expected a string list for '{}' parameter",
                                    self.file_name, key
                                ),
                            })
                        }
                    }
                }
                Ok(Some(out))
            }
            Some(Value::String(s)) if compat_string => Ok(Some(vec![s.clone()])),
            Some(_) => Err(self.type_error(
                key,
                if compat_string {
                    "a string or string list"
                } else {
                    "a string list"
                },
            )),
        }
    }

    /// A boolean (virConfGetValueBool): only the unsigned integers 0 and 1.
    pub fn get_bool(&self, key: &str) -> Result<Option<bool>, ConfError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::ULong(0)) => Ok(Some(false)),
            Some(Value::ULong(1)) => Ok(Some(true)),
            Some(Value::ULong(_)) => Err(ConfError::Internal {
                message: format!(
                    "{}: value for '{}' parameter must be 0 or 1",
                    self.file_name, key
                ),
            }),
            Some(_) => Err(self.type_error(key, "a bool")),
        }
    }

    /// A C `int` (virConfGetValueInt): signed or unsigned literal in range.
    pub fn get_int(&self, key: &str) -> Result<Option<i32>, ConfError> {
        let wide = match self.get(key) {
            None => return Ok(None),
            Some(Value::Long(l)) => i128::from(*l),
            Some(Value::ULong(u)) => i128::from(*u),
            Some(_) => return Err(self.type_error(key, "a signed integer")),
        };
        i32::try_from(wide)
            .map(Some)
            .map_err(|_| self.range_error(key, &format!("{}:{}", i32::MIN, i32::MAX)))
    }

    /// A C `unsigned int` (virConfGetValueUInt): unsigned literal in range.
    pub fn get_u32(&self, key: &str) -> Result<Option<u32>, ConfError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::ULong(u)) => u32::try_from(*u)
                .map(Some)
                .map_err(|_| self.range_error(key, &format!("0:{}", u32::MAX))),
            Some(_) => Err(self.type_error(key, "an unsigned integer")),
        }
    }

    /// A C `long long` (virConfGetValueLLong).
    pub fn get_i64(&self, key: &str) -> Result<Option<i64>, ConfError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Long(l)) => Ok(Some(*l)),
            Some(Value::ULong(u)) => i64::try_from(*u)
                .map(Some)
                .map_err(|_| self.range_error(key, &format!("{}:{}", i64::MIN, i64::MAX))),
            Some(_) => Err(self.type_error(key, "a signed integer")),
        }
    }

    /// A C `unsigned long long` (virConfGetValueULLong); also serves for
    /// `size_t` on 64-bit hosts.
    pub fn get_u64(&self, key: &str) -> Result<Option<u64>, ConfError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::ULong(u)) => Ok(Some(*u)),
            Some(_) => Err(self.type_error(key, "an unsigned integer")),
        }
    }

    /// A `size_t` (virConfGetValueSizeT).
    pub fn get_usize(&self, key: &str) -> Result<Option<usize>, ConfError> {
        match self.get_u64(key)? {
            None => Ok(None),
            Some(u) => usize::try_from(u)
                .map(Some)
                .map_err(|_| self.range_error(key, &format!("0:{}", usize::MAX))),
        }
    }

    /// Writes the configuration the way libvirt's virConfWriteMem does:
    /// `name = value` with normalised spacing and quoting, comments kept,
    /// blank lines dropped, one entry per line.
    pub fn write(&self) -> String {
        write::write_entries(&self.entries)
    }
}

impl std::fmt::Display for Conf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.write())
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::new();
        write::write_value(&mut s, self);
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests;
