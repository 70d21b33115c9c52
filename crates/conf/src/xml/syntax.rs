// SPDX-License-Identifier: LGPL-2.1-or-later
//! libxml2's report of a malformed document, as libvirt passes it on.
//!
//! libvirt parses every XML document with libxml2 (2.9 on the reference
//! hosts) and turns the first fatal error into VIR_ERR_XML_DETAIL:
//! `FILE:LINE: MESSAGE` followed by the source line the parser's cursor
//! stood on and a caret line pointing at the cursor's column. Clients show
//! that text, so it is reproduced here: [`first_error`] walks the document
//! along libxml2's grammar, stops where libxml2 stops (cursor position and
//! line included) and says what libxml2 says; [`render`] lays it out as
//! libvirt does. Only the well-formedness errors matter: namespace errors
//! are not fatal in libxml2 and libvirt ignores them.

/// The first fatal error: 1-based line of the cursor, byte offset of the
/// cursor, and libxml2's message (with its trailing newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Line the parser was on.
    pub line: usize,
    /// Byte offset of the parser's cursor.
    pub pos: usize,
    /// libxml2's message, ending in a newline.
    pub message: String,
}

/// Lays an error out as libvirt's libxml2 error handler does:
/// `DOCNAME:LINE: MESSAGE` + the cursor's line + a line of `-` (tabs kept)
/// up to the cursor's column and a caret. An empty cursor line prints as
/// `(null)`.
pub fn render(docname: &str, text: &str, e: &SyntaxError) -> String {
    let b = text.as_bytes();
    let cur = e.pos.min(b.len());
    let is_eol = |i: usize| i < b.len() && (b[i] == b'\n' || b[i] == b'\r');
    let mut start = cur;
    while start > 0 && is_eol(start) {
        start -= 1;
    }
    while start > 0 && !is_eol(start) {
        start -= 1;
    }
    if is_eol(start) {
        start += 1;
    }
    let col = cur.saturating_sub(start);
    let mut end = start;
    while end < b.len() && b[end] != 0 && !is_eol(end) {
        end += 1;
    }
    let context = &b[start..end];
    let mut pointer = String::new();
    for &c in context.iter().take(col) {
        pointer.push(if c == b'\t' { '\t' } else { '-' });
    }
    pointer.push('^');
    let context = if context.is_empty() {
        "(null)".to_string()
    } else {
        String::from_utf8_lossy(context).into_owned()
    };
    format!("{docname}:{}: {}{context}\n{pointer}", e.line, e.message)
}

/// Finds the first fatal error libxml2 reports for `text`, or `None` when
/// libxml2 would find the document well formed (as far as this walk
/// knows).
pub fn first_error(text: &str) -> Option<SyntaxError> {
    let mut p = Parser {
        b: text.as_bytes(),
        pos: 0,
        line: 1,
        stack: Vec::new(),
    };
    p.document().err()
}

type Res<T> = Result<T, SyntaxError>;

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
    line: usize,
    /// Open elements: local name, prefix, line of the start tag.
    stack: Vec<(Vec<u8>, Option<Vec<u8>>, usize)>,
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_name_char(c: u8) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == b'.' || c == b'-'
}

fn is_xml_char(c: u32) -> bool {
    matches!(c, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

/// Deepest nesting libxml2 accepts without XML_PARSE_HUGE.
const MAX_DEPTH: usize = 256;

impl Parser<'_> {
    fn cur(&self) -> u8 {
        self.nth(0)
    }

    fn nth(&self, n: usize) -> u8 {
        self.b.get(self.pos + n).copied().unwrap_or(0)
    }

    fn at(&self, s: &[u8]) -> bool {
        self.b[self.pos.min(self.b.len())..].starts_with(s)
    }

    fn advance(&mut self, n: usize) {
        for _ in 0..n {
            if self.pos < self.b.len() {
                if self.b[self.pos] == b'\n' {
                    self.line += 1;
                }
                self.pos += 1;
            }
        }
    }

    fn skip_blanks(&mut self) -> usize {
        let mut n = 0;
        while is_blank(self.cur()) {
            self.advance(1);
            n += 1;
        }
        n
    }

    fn err<T>(&self, message: impl Into<String>) -> Res<T> {
        let mut message = message.into();
        message.push('\n');
        Err(SyntaxError {
            line: self.line,
            pos: self.pos,
            message,
        })
    }

    /// The current character decoded from UTF-8 and its length.
    fn char_at(&self) -> (u32, usize) {
        let rest = &self.b[self.pos.min(self.b.len())..];
        let n = match rest.first() {
            None => return (0, 0),
            Some(c) if *c < 0x80 => return (u32::from(*c), 1),
            Some(c) if *c >= 0xF0 => 4,
            Some(c) if *c >= 0xE0 => 3,
            _ => 2,
        };
        match std::str::from_utf8(&rest[..n.min(rest.len())]) {
            Ok(s) => (s.chars().next().map_or(0, u32::from), n),
            Err(_) => (0xFFFD, 1),
        }
    }

    fn name(&mut self, allow_colon: bool) -> Option<Vec<u8>> {
        let c = self.cur();
        if !(is_name_start(c) || (allow_colon && c == b':')) {
            return None;
        }
        let start = self.pos;
        while is_name_char(self.cur()) || (allow_colon && self.cur() == b':') {
            self.advance(1);
        }
        Some(self.b[start..self.pos].to_vec())
    }

    /// A qualified name: (prefix, local).
    fn qname(&mut self) -> Option<(Option<Vec<u8>>, Vec<u8>)> {
        let Some(first) = self.name(false) else {
            if self.cur() == b':' {
                return self.name(true).map(|n| (None, n));
            }
            return None;
        };
        if self.cur() != b':' {
            return Some((None, first));
        }
        self.advance(1);
        match self.name(false) {
            Some(local) => {
                // A further colon makes the rest part of the local name.
                let mut local = local;
                if self.cur() == b':' {
                    if let Some(more) = self.name(true) {
                        local.extend_from_slice(&more);
                    }
                }
                Some((Some(first), local))
            }
            None => {
                let mut whole = first;
                whole.push(b':');
                if let Some(more) = self.name(true) {
                    whole.extend_from_slice(&more);
                }
                Some((None, whole))
            }
        }
    }

    fn document(&mut self) -> Res<()> {
        if self.at(b"\xEF\xBB\xBF") {
            self.pos += 3;
        }
        if self.cur() == 0 {
            return self.err("Document is empty");
        }
        if self.at(b"<?xml") && is_blank(self.nth(5)) {
            self.xml_decl()?;
        }
        self.misc()?;
        if self.at(b"<!DOCTYPE") {
            self.doctype()?;
            self.misc()?;
        }
        if self.cur() != b'<' {
            return self.err("Start tag expected, '<' not found");
        }
        self.element()?;
        self.misc()?;
        if self.pos < self.b.len() {
            return self.err("Extra content at the end of the document");
        }
        Ok(())
    }

    fn xml_decl(&mut self) -> Res<()> {
        self.advance(5);
        self.skip_blanks();
        if !self.at(b"version") {
            return self.err("Malformed declaration expecting version");
        }
        loop {
            if self.at(b"?>") {
                self.advance(2);
                return Ok(());
            }
            if self.cur() == 0 {
                return self.err("parsing XML declaration: '?>' expected");
            }
            self.advance(1);
        }
    }

    fn misc(&mut self) -> Res<()> {
        loop {
            self.skip_blanks();
            if self.at(b"<?") {
                self.pi()?;
            } else if self.at(b"<!--") {
                self.comment()?;
            } else {
                return Ok(());
            }
        }
    }

    fn doctype(&mut self) -> Res<()> {
        // The internal subset is skipped, not checked.
        let mut depth = 0usize;
        while self.cur() != 0 {
            match self.cur() {
                b'[' => depth += 1,
                b']' => depth = depth.saturating_sub(1),
                b'>' if depth == 0 => {
                    self.advance(1);
                    return Ok(());
                }
                _ => {}
            }
            self.advance(1);
        }
        self.err("DOCTYPE improperly terminated")
    }

    fn pi(&mut self) -> Res<()> {
        self.advance(2);
        let Some(target) = self.name(true) else {
            return self.err("xmlParsePI : no target name");
        };
        if target.eq_ignore_ascii_case(b"xml") {
            if target == b"xml" {
                return self.err("XML declaration allowed only at the start of the document");
            }
            return self.err("xmlParsePITarget: invalid name prefix 'xml'");
        }
        let t = String::from_utf8_lossy(&target).into_owned();
        if self.at(b"?>") {
            self.advance(2);
            return Ok(());
        }
        if self.skip_blanks() == 0 {
            return self.err(format!("ParsePI: PI {t} space expected"));
        }
        loop {
            if self.at(b"?>") {
                self.advance(2);
                return Ok(());
            }
            if self.cur() == 0 {
                return self.err(format!("ParsePI: PI {t} never end ..."));
            }
            self.advance(1);
        }
    }

    fn comment(&mut self) -> Res<()> {
        self.advance(4);
        let start = self.pos;
        loop {
            if self.at(b"--") {
                if self.nth(2) == b'>' {
                    self.advance(3);
                    return Ok(());
                }
                let so_far = String::from_utf8_lossy(&self.b[start..self.pos]).into_owned();
                let so_far: String = so_far.chars().take(50).collect();
                return self.err(format!("Double hyphen within comment: <!--{so_far}"));
            }
            if self.cur() == 0 {
                return self.err("Comment not terminated");
            }
            self.advance(1);
        }
    }

    fn cdata(&mut self) -> Res<()> {
        self.advance(9);
        let start = self.pos;
        loop {
            if self.at(b"]]>") {
                self.advance(3);
                return Ok(());
            }
            if self.cur() == 0 {
                // libxml2's copy lags two characters behind its cursor.
                let content = &self.b[start..self.pos];
                let mut s = String::from_utf8_lossy(content).into_owned();
                for _ in 0..2 {
                    s.pop();
                }
                let s: String = s.chars().take(50).collect();
                return self.err(format!("CData section not finished\n{s}"));
            }
            self.advance(1);
        }
    }

    fn element(&mut self) -> Res<()> {
        let base = self.stack.len();
        self.start_tag()?;
        while self.stack.len() > base {
            self.content(base)?;
        }
        Ok(())
    }

    /// A start tag; an element with content is pushed on the stack.
    fn start_tag(&mut self) -> Res<()> {
        if self.stack.len() >= MAX_DEPTH {
            return self.err(format!(
                "Excessive depth in document: {MAX_DEPTH} use XML_PARSE_HUGE option"
            ));
        }
        let line = self.line;
        self.advance(1);
        let Some((prefix, local)) = self.qname() else {
            return self.err("StartTag: invalid element name");
        };
        self.skip_blanks();
        let mut seen: Vec<(Option<Vec<u8>>, Vec<u8>)> = Vec::new();
        while self.cur() != 0 && self.cur() != b'>' && !self.at(b"/>") {
            let Some((aprefix, aname)) = self.qname() else {
                return self.err("error parsing attribute name");
            };
            self.skip_blanks();
            if self.cur() != b'=' {
                return self.err(format!(
                    "Specification mandates value for attribute {}",
                    String::from_utf8_lossy(&aname)
                ));
            }
            self.advance(1);
            self.skip_blanks();
            self.att_value()?;
            let key = (aprefix, aname);
            if seen.contains(&key) {
                let shown = match &key.0 {
                    Some(p) => format!(
                        "{}:{}",
                        String::from_utf8_lossy(p),
                        String::from_utf8_lossy(&key.1)
                    ),
                    None => String::from_utf8_lossy(&key.1).into_owned(),
                };
                return self.err(format!("Attribute {shown} redefined"));
            }
            seen.push(key);
            if self.cur() == b'>' || self.at(b"/>") {
                break;
            }
            if self.skip_blanks() == 0 {
                return self.err("attributes construct error");
            }
        }
        if self.at(b"/>") {
            self.advance(2);
            return Ok(());
        }
        if self.cur() == b'>' {
            self.advance(1);
            self.stack.push((local, prefix, line));
            return Ok(());
        }
        self.err(format!(
            "Couldn't find end of Start Tag {} line {line}",
            String::from_utf8_lossy(&local)
        ))
    }

    fn att_value(&mut self) -> Res<()> {
        let quote = self.cur();
        if quote != b'"' && quote != b'\'' {
            return self.err("AttValue: \" or ' expected");
        }
        self.advance(1);
        loop {
            let c = self.cur();
            if c == quote {
                self.advance(1);
                return Ok(());
            }
            match c {
                b'<' => return self.err("Unescaped '<' not allowed in attributes values"),
                b'&' => self.reference()?,
                _ => {
                    let (ch, n) = self.char_at();
                    if n == 0 {
                        return self.err("AttValue: ' expected");
                    }
                    if !is_xml_char(ch) {
                        return self.err("invalid character in attribute value");
                    }
                    self.advance(n);
                }
            }
        }
    }

    /// `&name;` or a character reference, cursor on the `&`.
    fn reference(&mut self) -> Res<()> {
        if self.nth(1) == b'#' {
            return self.char_ref();
        }
        self.advance(1);
        let Some(name) = self.name(true) else {
            return self.err("xmlParseEntityRef: no name");
        };
        if self.cur() != b';' {
            return self.err("EntityRef: expecting ';'");
        }
        self.advance(1);
        if matches!(name.as_slice(), b"lt" | b"gt" | b"amp" | b"apos" | b"quot") {
            return Ok(());
        }
        self.err(format!(
            "Entity '{}' not defined",
            String::from_utf8_lossy(&name)
        ))
    }

    fn char_ref(&mut self) -> Res<()> {
        let hex = self.nth(2) == b'x';
        self.advance(if hex { 3 } else { 2 });
        let mut val: u32 = 0;
        let mut bad = false;
        while self.cur() != b';' {
            let c = self.cur();
            let d = if hex {
                (c as char).to_digit(16)
            } else {
                (c as char).to_digit(10)
            };
            match d {
                Some(d) => {
                    val = val
                        .saturating_mul(if hex { 16 } else { 10 })
                        .saturating_add(d)
                        .min(0x110000);
                    self.advance(1);
                }
                None => {
                    bad = true;
                    break;
                }
            }
        }
        if bad {
            return self.err(if hex {
                "CharRef: invalid hexadecimal value"
            } else {
                "CharRef: invalid decimal value"
            });
        }
        self.advance(1);
        if val >= 0x110000 {
            return self.err("xmlParseCharRef: character reference out of bounds");
        }
        if !is_xml_char(val) {
            return self.err(format!("xmlParseCharRef: invalid xmlChar value {val}"));
        }
        Ok(())
    }

    /// One step of element content (libxml2's content loop body) for the
    /// innermost open element above `base`.
    fn content(&mut self, base: usize) -> Res<()> {
        if self.cur() == 0 {
            let (name, _, line) = self.stack.last().cloned().unwrap_or_default();
            return self.err(format!(
                "Premature end of data in tag {} line {line}",
                String::from_utf8_lossy(&name)
            ));
        }
        if self.at(b"<?") {
            self.pi()
        } else if self.at(b"<![CDATA[") {
            self.cdata()
        } else if self.at(b"<!--") {
            self.comment()
        } else if self.at(b"</") {
            if self.stack.len() <= base {
                return Ok(());
            }
            self.end_tag()
        } else if self.cur() == b'<' {
            self.start_tag()
        } else if self.cur() == b'&' {
            self.reference()
        } else {
            self.char_data()
        }
    }

    fn end_tag(&mut self) -> Res<()> {
        let Some((name, prefix, line)) = self.stack.pop() else {
            return Ok(());
        };
        self.advance(2);
        let mut expected = Vec::new();
        if let Some(p) = &prefix {
            expected.extend_from_slice(p);
            expected.push(b':');
        }
        expected.extend_from_slice(&name);
        let start = self.pos;
        let matched = self.at(&expected) && {
            let after = self.nth(expected.len());
            after == b'>' || is_blank(after)
        };
        let found = if matched {
            self.advance(expected.len());
            None
        } else {
            self.pos = start;
            match self.qname() {
                Some((_, local)) => Some(local),
                None => Some(b"unparsable".to_vec()),
            }
        };
        self.skip_blanks();
        if self.cur() != b'>' {
            return self.err("expected '>'");
        }
        self.advance(1);
        if let Some(found) = found {
            return self.err(format!(
                "Opening and ending tag mismatch: {} line {line} and {}",
                String::from_utf8_lossy(&name),
                String::from_utf8_lossy(&found)
            ));
        }
        Ok(())
    }

    fn char_data(&mut self) -> Res<()> {
        // libxml2 scans plain ASCII text ahead of its cursor and reports a
        // misplaced `]]>` there from where the run began; any other byte
        // hands over to its careful path, which moves the cursor as it goes.
        let run_start = self.pos;
        let mut careful = false;
        loop {
            let c = self.cur();
            if c == 0 || c == b'<' || c == b'&' {
                return Ok(());
            }
            if self.at(b"]]>") {
                let mut e = self.err::<()>("Sequence ']]>' not allowed in content");
                if let (false, Err(e)) = (careful, &mut e) {
                    e.pos = run_start;
                }
                return e;
            }
            if !(c == b'\t' || c == b'\n' || (0x20..0x80).contains(&c)) {
                careful = true;
            }
            let (ch, n) = self.char_at();
            if !is_xml_char(ch) {
                return self.err(format!("PCDATA invalid Char value {ch}"));
            }
            self.advance(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str) -> String {
        let e = first_error(text).expect("an error");
        render("(t)", text, &e)
    }

    #[test]
    fn well_formed_documents_have_no_error() {
        for t in [
            "<a/>",
            "<?xml version='1.0'?>\n<a x='1' y=\"&lt;&#65;&#x42;\">t<!-- c --><![CDATA[<]]><?p q?><b/></a>\n",
            "<!DOCTYPE a [<!ENTITY x 'y'>]><a/>",
            "<a:b xmlns:a='u'><c:d/></a:b>",
        ] {
            assert_eq!(first_error(t), None, "{t}");
        }
    }

    #[test]
    fn empty_cursor_line_prints_null() {
        assert_eq!(msg(""), "(t):1: Document is empty\n(null)\n^");
    }

    #[test]
    fn caret_keeps_tabs() {
        assert_eq!(
            msg("<a>\n\t<b></c>\n</a>"),
            "(t):2: Opening and ending tag mismatch: b line 2 and c\n\t<b></c>\n\t-------^"
        );
    }
}
