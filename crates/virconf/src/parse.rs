// SPDX-License-Identifier: LGPL-2.1-or-later
//! The parser: a byte cursor over the text, following libvirt's grammar
//! decisions (where blanks, line ends and comments may appear, and which
//! reason is reported where).

use crate::{ConfError, Dialect, Entry, Value};

/// Lists nested deeper than this are rejected, so hostile input cannot
/// exhaust the stack.
const MAX_LIST_DEPTH: u32 = 128;

struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
    line: u32,
    file: &'a str,
    dialect: Dialect,
    entries: Vec<Entry>,
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn is_eol(c: u8) -> bool {
    c == b'\n' || c == b'\r'
}

pub(crate) fn parse(text: &[u8], file: &str, dialect: Dialect) -> Result<Vec<Entry>, ConfError> {
    let mut p = Parser {
        text,
        pos: 0,
        line: 1,
        file,
        dialect,
        entries: Vec::new(),
    };
    while !p.at_end() {
        p.statement()?;
        p.separator()?;
    }
    Ok(p.entries)
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    /// The current byte; 0 past the end, like the NUL after a C buffer.
    fn cur(&self) -> u8 {
        self.text.get(self.pos).copied().unwrap_or(0)
    }

    fn advance(&mut self) {
        if !self.at_end() {
            self.pos += 1;
        }
    }

    fn looking_at(&self, s: &[u8]) -> bool {
        self.text
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(s))
    }

    fn slice(&self, from: usize, to: usize) -> String {
        String::from_utf8_lossy(self.text.get(from..to).unwrap_or_default()).into_owned()
    }

    fn error(&self, reason: &'static str) -> ConfError {
        ConfError::Syntax {
            file: self.file.to_owned(),
            line: self.line,
            reason,
        }
    }

    fn skip_blanks(&mut self) {
        while !self.at_end() && is_blank(self.cur()) {
            self.pos += 1;
        }
    }

    fn skip_blanks_and_eol(&mut self) {
        while !self.at_end() && (is_blank(self.cur()) || is_eol(self.cur())) {
            if self.cur() == b'\n' {
                self.line = self.line.saturating_add(1);
            }
            self.pos += 1;
        }
    }

    fn skip_to_eol(&mut self) {
        while !self.at_end() && !is_eol(self.cur()) {
            self.pos += 1;
        }
    }

    fn statement(&mut self) -> Result<(), ConfError> {
        self.skip_blanks_and_eol();
        if self.cur() == b'#' {
            self.advance();
            let base = self.pos;
            self.skip_to_eol();
            let comment = self.slice(base, self.pos);
            self.entries.push(Entry {
                name: None,
                value: None,
                comment: Some(comment),
            });
            return Ok(());
        }
        let name = self.name()?;
        self.skip_blanks();
        if self.cur() != b'=' {
            return Err(self.error("expecting an assignment"));
        }
        self.advance();
        self.skip_blanks();
        let value = self.value(0)?;
        self.skip_blanks();
        let mut comment = None;
        if self.cur() == b'#' {
            self.advance();
            let base = self.pos;
            self.skip_to_eol();
            comment = Some(self.slice(base, self.pos));
        }
        self.entries.push(Entry {
            name: Some(name),
            value: Some(value),
            comment,
        });
        Ok(())
    }

    fn separator(&mut self) -> Result<(), ConfError> {
        self.skip_blanks();
        if self.at_end() {
            return Ok(());
        }
        let c = self.cur();
        if is_eol(c) {
            self.skip_blanks_and_eol();
        } else if c == b';' {
            self.advance();
            self.skip_blanks_and_eol();
        } else {
            return Err(self.error("expecting a separator"));
        }
        Ok(())
    }

    fn name(&mut self) -> Result<String, ConfError> {
        self.skip_blanks();
        let base = self.pos;
        let c = self.cur();
        let vmx_dot = self.dialect == Dialect::Vmx && c == b'.';
        if !(c.is_ascii_alphabetic() || vmx_dot) {
            return Err(self.error("expecting a name"));
        }
        while !self.at_end() {
            let c = self.cur();
            let ok = c.is_ascii_alphanumeric()
                || c == b'_'
                || (self.dialect == Dialect::Vmx && matches!(c, b':' | b'.' | b'-'))
                || (self.dialect == Dialect::Lxc && c == b'.');
            if !ok {
                break;
            }
            self.pos += 1;
        }
        Ok(self.slice(base, self.pos))
    }

    fn value(&mut self, depth: u32) -> Result<Value, ConfError> {
        self.skip_blanks();
        if self.at_end() {
            return Err(self.error("expecting a value"));
        }
        let c = self.cur();
        if c == b'"' || c == b'\'' || self.dialect == Dialect::Lxc {
            return self.string().map(Value::String);
        }
        if c == b'[' {
            if self.dialect == Dialect::Vmx {
                return Err(self.error("lists not allowed in VMX format"));
            }
            if depth >= MAX_LIST_DEPTH {
                return Err(self.error("lists nested too deeply"));
            }
            return self.list(depth);
        }
        if c.is_ascii_digit() || c == b'-' || c == b'+' {
            if self.dialect == Dialect::Vmx {
                return Err(self.error("numbers not allowed in VMX format"));
            }
            return self.number();
        }
        Err(self.error("expecting a value"))
    }

    fn list(&mut self, depth: u32) -> Result<Value, ConfError> {
        self.advance(); // '['
        self.skip_blanks_and_eol();
        let mut items = Vec::new();
        if !self.at_end() && self.cur() != b']' {
            items.push(self.value(depth + 1)?);
            self.skip_blanks_and_eol();
        }
        while !self.at_end() && self.cur() != b']' {
            if self.cur() != b',' {
                return Err(self.error("expecting a separator in list"));
            }
            self.advance();
            self.skip_blanks_and_eol();
            if self.cur() == b']' {
                break;
            }
            items.push(self.value(depth + 1)?);
            self.skip_blanks_and_eol();
        }
        if self.cur() == b']' {
            self.advance();
            Ok(Value::List(items))
        } else {
            Err(self.error("list is not closed with ]"))
        }
    }

    fn number(&mut self) -> Result<Value, ConfError> {
        let negative = self.cur() == b'-';
        if negative || self.cur() == b'+' {
            self.advance();
        }
        if self.at_end() || !self.cur().is_ascii_digit() {
            return Err(self.error("unterminated number"));
        }
        // libvirt accumulates without an overflow check; modular arithmetic
        // gives the same bits without undefined behaviour.
        let mut acc: u64 = 0;
        while !self.at_end() && self.cur().is_ascii_digit() {
            acc = acc
                .wrapping_mul(10)
                .wrapping_add(u64::from(self.cur() - b'0'));
            self.pos += 1;
        }
        if negative {
            Ok(Value::Long(
                i64::from_ne_bytes(acc.to_ne_bytes()).wrapping_neg(),
            ))
        } else {
            Ok(Value::ULong(acc))
        }
    }

    fn string(&mut self) -> Result<String, ConfError> {
        let c = self.cur();
        if c == b'\'' || (c == b'"' && !self.triple_quote_ahead()) {
            self.advance();
            let base = self.pos;
            while !self.at_end() && self.cur() != c && !is_eol(self.cur()) {
                self.pos += 1;
            }
            if self.cur() != c {
                return Err(self.error("unterminated string"));
            }
            let s = self.slice(base, self.pos);
            self.advance();
            return Ok(s);
        }
        if c == b'"' {
            // Python-style """...""" string, may span lines.
            self.pos += 3;
            let base = self.pos;
            while self.pos + 2 < self.text.len() && !self.looking_at(b"\"\"\"") {
                if self.cur() == b'\n' {
                    self.line = self.line.saturating_add(1);
                }
                self.pos += 1;
            }
            if !self.looking_at(b"\"\"\"") {
                return Err(self.error("unterminated string"));
            }
            let s = self.slice(base, self.pos);
            self.pos += 3;
            return Ok(s);
        }
        // LXC dialect: the unquoted rest of the line, no trailing comment.
        let base = self.pos;
        self.skip_to_eol();
        Ok(self.slice(base, self.pos))
    }

    /// libvirt only treats `"""` as a triple quote when at least seven
    /// bytes remain (the opening, one byte of content, the closing).
    fn triple_quote_ahead(&self) -> bool {
        self.pos + 6 < self.text.len() && self.looking_at(b"\"\"\"")
    }
}
