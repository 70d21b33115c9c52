// SPDX-License-Identifier: LGPL-2.1-or-later
//! A small owned XML tree, the reader that builds it from roxmltree, and
//! the two writers libvirt's output is made of: libvirt's own buffer style
//! (single-quoted attributes, two-space indentation, `virBufferEscapeString`
//! escaping) and libxml2's node dump, used for `<metadata>`.

use crate::error::{ConfError, XML_DETAIL};

pub mod syntax;

/// Deepest element nesting accepted (libxml2's default limit).
pub const MAX_DEPTH: usize = 256;

/// A node: element or text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Character data (whitespace-only runs are dropped when reading).
    Text(String),
}

/// An element with its qualified name (`prefix:local` when namespaced),
/// its attributes in document order, and its children.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// Qualified name as written (`prefix:local` or `local`).
    pub name: String,
    /// Attributes in order; namespace declarations appear as `xmlns`/`xmlns:p`.
    pub attrs: Vec<(String, String)>,
    /// Child nodes.
    pub children: Vec<Node>,
}

impl Element {
    /// Gives back the spare capacity of every string and list in the
    /// subtree (parsing grows them in steps); for trees kept long.
    pub fn shrink_to_fit(&mut self) {
        self.name.shrink_to_fit();
        self.attrs.shrink_to_fit();
        for (k, v) in &mut self.attrs {
            k.shrink_to_fit();
            v.shrink_to_fit();
        }
        self.children.shrink_to_fit();
        for c in &mut self.children {
            match c {
                Node::Element(e) => e.shrink_to_fit(),
                Node::Text(t) => t.shrink_to_fit(),
            }
        }
    }

    /// A new empty element.
    pub fn new(name: &str) -> Element {
        Element {
            name: name.to_string(),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Builder: adds an attribute.
    pub fn with_attr(mut self, k: &str, v: &str) -> Element {
        self.attrs.push((k.to_string(), v.to_string()));
        self
    }

    /// Builder: adds a text child.
    pub fn with_text(mut self, t: &str) -> Element {
        self.children.push(Node::Text(t.to_string()));
        self
    }

    /// Builder: adds a child element.
    pub fn with_child(mut self, e: Element) -> Element {
        self.children.push(Node::Element(e));
        self
    }

    /// Local part of the name.
    pub fn local_name(&self) -> &str {
        match self.name.rfind(':') {
            Some(i) => &self.name[i + 1..],
            None => &self.name,
        }
    }

    /// Value of an attribute.
    pub fn attr(&self, k: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }

    /// Sets (replacing or appending) an attribute.
    pub fn set_attr(&mut self, k: &str, v: &str) {
        if let Some(a) = self.attrs.iter_mut().find(|(n, _)| n == k) {
            a.1 = v.to_string();
        } else {
            self.attrs.push((k.to_string(), v.to_string()));
        }
    }

    /// Inserts an attribute at a position (or replaces its value in place).
    pub fn insert_attr(&mut self, pos: usize, k: &str, v: &str) {
        if let Some(a) = self.attrs.iter_mut().find(|(n, _)| n == k) {
            a.1 = v.to_string();
        } else {
            let pos = pos.min(self.attrs.len());
            self.attrs.insert(pos, (k.to_string(), v.to_string()));
        }
    }

    /// Removes an attribute, returning its value.
    pub fn remove_attr(&mut self, k: &str) -> Option<String> {
        let i = self.attrs.iter().position(|(n, _)| n == k)?;
        Some(self.attrs.remove(i).1)
    }

    /// Child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// Mutable child elements.
    pub fn elements_mut(&mut self) -> impl Iterator<Item = &mut Element> {
        self.children.iter_mut().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// First child element with this name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    /// First child element with this name, mutable.
    pub fn child_mut(&mut self, name: &str) -> Option<&mut Element> {
        self.elements_mut().find(|e| e.name == name)
    }

    /// All child elements with this name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements().filter(move |e| e.name == name)
    }

    /// Removes every child element with this name.
    pub fn remove_children(&mut self, name: &str) {
        self.children
            .retain(|n| !matches!(n, Node::Element(e) if e.name == name));
    }

    /// Concatenated text content of this element's direct text children.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s
    }

    /// Text of a child element, if present.
    pub fn child_text(&self, name: &str) -> Option<String> {
        self.child(name).map(|e| e.text())
    }

    /// Replaces the content with a single text node.
    pub fn set_text(&mut self, t: &str) {
        self.children = vec![Node::Text(t.to_string())];
    }

    /// True when no child nodes.
    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// Appends a child element and returns a reference to it.
    pub fn push(&mut self, e: Element) -> &mut Element {
        self.children.push(Node::Element(e));
        match self.children.last_mut() {
            Some(Node::Element(e)) => e,
            _ => unreachable!("just pushed an element"),
        }
    }

    /// Inserts a child element before the first child whose name is not in
    /// `before`... i.e. after every child named in `after`.
    pub fn insert_after_names(&mut self, e: Element, after: &[&str]) {
        let mut pos = 0;
        for (i, n) in self.children.iter().enumerate() {
            if let Node::Element(c) = n {
                if after.contains(&c.name.as_str()) {
                    pos = i + 1;
                }
            }
        }
        self.children.insert(pos, Node::Element(e));
    }

    /// Sorts the children into the order `order` names (a formatter's
    /// order); children it does not name keep their order at the end.
    pub fn order_children(&mut self, order: &[&str]) {
        let rank = |n: &Node| match n {
            Node::Element(c) => order
                .iter()
                .position(|o| *o == c.name)
                .unwrap_or(order.len()),
            Node::Text(_) => order.len(),
        };
        self.children.sort_by_key(rank);
    }

    /// Serialises in libvirt's buffer style at the given indentation.
    pub fn write_libvirt(&self, out: &mut String, indent: usize) {
        write_libvirt(self, out, indent)
    }

    /// Serialises in libvirt's buffer style into a new string.
    pub fn to_libvirt_string(&self, indent: usize) -> String {
        let mut s = String::new();
        write_libvirt(self, &mut s, indent);
        s
    }
}

/// Escapes like libvirt's `virBufferEscapeString`: the five XML specials
/// become entities and other control characters (except tab, LF, CR) are
/// silently dropped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    for _ in 0..indent {
        out.push(' ');
    }
}

fn write_libvirt(e: &Element, out: &mut String, indent: usize) {
    pad(out, indent);
    out.push('<');
    out.push_str(&e.name);
    for (k, v) in &e.attrs {
        out.push(' ');
        out.push_str(k);
        out.push_str("='");
        out.push_str(&escape(v));
        out.push('\'');
    }
    if e.children.is_empty() {
        out.push_str("/>\n");
        return;
    }
    let has_elems = e.children.iter().any(|n| matches!(n, Node::Element(_)));
    if !has_elems {
        out.push('>');
        out.push_str(&escape(&e.text()));
        out.push_str("</");
        out.push_str(&e.name);
        out.push_str(">\n");
        return;
    }
    out.push_str(">\n");
    for n in &e.children {
        match n {
            Node::Element(c) => write_libvirt(c, out, indent + 2),
            Node::Text(t) => {
                pad(out, indent + 2);
                out.push_str(&escape(t.trim()));
                out.push('\n');
            }
        }
    }
    pad(out, indent);
    out.push_str("</");
    out.push_str(&e.name);
    out.push_str(">\n");
}

/// Escaping of libxml2's serializer for text content.
fn escape_libxml_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaping of libxml2's serializer for attribute values.
fn escape_libxml_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

/// Serialises like libxml2's `xmlNodeDump(..., level, format=1)`: double
/// quotes, elements with text content kept on one line, others indented by
/// two spaces per level. The first line carries no leading indentation.
pub fn write_libxml(e: &Element, out: &mut String, level: usize) {
    out.push('<');
    out.push_str(&e.name);
    for (k, v) in &e.attrs {
        out.push(' ');
        out.push_str(k);
        out.push_str("=\"");
        out.push_str(&escape_libxml_attr(v));
        out.push('"');
    }
    if e.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    let format = e.children.iter().all(|n| matches!(n, Node::Element(_)));
    for n in &e.children {
        match n {
            Node::Element(c) => {
                if format {
                    out.push('\n');
                    pad(out, 2 * (level + 1));
                }
                write_libxml(c, out, level + 1);
            }
            Node::Text(t) => out.push_str(&escape_libxml_text(t)),
        }
    }
    if format {
        out.push('\n');
        pad(out, 2 * level);
    }
    out.push_str("</");
    out.push_str(&e.name);
    out.push('>');
}

fn qualified_name(node: roxmltree::Node<'_, '_>) -> String {
    let tag = node.tag_name();
    match tag.namespace() {
        Some(ns) => match node.lookup_prefix(ns) {
            Some(p) if !p.is_empty() => format!("{}:{}", p, tag.name()),
            _ => tag.name().to_string(),
        },
        None => tag.name().to_string(),
    }
}

fn convert(
    node: roxmltree::Node<'_, '_>,
    depth: usize,
    keep_blank: bool,
) -> Result<Element, ConfError> {
    if depth > MAX_DEPTH {
        return Err(ConfError::new(
            XML_DETAIL,
            format!("Excessive depth in document: {MAX_DEPTH}"),
        ));
    }
    let mut e = Element::new(&qualified_name(node));
    // Namespace declarations made on this element (not inherited).
    let parent_ns: Vec<(Option<&str>, &str)> = node
        .parent_element()
        .map(|p| p.namespaces().map(|n| (n.name(), n.uri())).collect())
        .unwrap_or_default();
    for ns in node.namespaces() {
        if ns.name() == Some("xml") {
            continue;
        }
        if !parent_ns.contains(&(ns.name(), ns.uri())) {
            let k = match ns.name() {
                Some(p) => format!("xmlns:{p}"),
                None => "xmlns".to_string(),
            };
            e.attrs.push((k, ns.uri().to_string()));
        }
    }
    for a in node.attributes() {
        let name = match a.namespace() {
            Some(ns) => match node.lookup_prefix(ns) {
                Some(p) if !p.is_empty() => format!("{}:{}", p, a.name()),
                _ => a.name().to_string(),
            },
            None => a.name().to_string(),
        };
        e.attrs.push((name, a.value().to_string()));
    }
    for c in node.children() {
        if c.is_element() {
            e.children
                .push(Node::Element(convert(c, depth + 1, keep_blank)?));
        } else if c.is_text() {
            let t = c.text().unwrap_or("");
            if !keep_blank
                && t.trim_matches(|ch: char| matches!(ch, ' ' | '\t' | '\n' | '\r'))
                    .is_empty()
            {
                continue;
            }
            if let Some(Node::Text(prev)) = e.children.last_mut() {
                prev.push_str(t);
            } else {
                e.children.push(Node::Text(t.to_string()));
            }
        }
    }
    Ok(e)
}

/// Parses a document and checks its root element name. `docname` is what
/// libvirt reports as the file name in syntax errors, e.g.
/// `(domain_definition)`; a malformed document gets libxml2's report of
/// its first error ([`syntax`]).
pub fn parse_document(text: &str, docname: &str, root: &str) -> Result<Element, ConfError> {
    let e = parse_any(text, docname)?;
    if e.local_name() != root {
        return Err(ConfError::xml_layer(format!(
            "expecting root element of '{root}', not '{}'",
            e.local_name()
        )));
    }
    Ok(e)
}

/// Parses a document whatever its root element (syntax errors as
/// [`parse_document`] reports them).
pub fn parse_any(text: &str, docname: &str) -> Result<Element, ConfError> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..Default::default()
    };
    let mut declared: Option<String> = None;
    let doc = match roxmltree::Document::parse_with_options(text, opts) {
        Ok(doc) => doc,
        Err(err) => {
            if let Some(e) = syntax::first_error(text) {
                return Err(ConfError::new(
                    XML_DETAIL,
                    syntax::render(docname, text, &e),
                ));
            }
            // libxml2 only warns about an undeclared prefix: the name keeps
            // its prefix, in no namespace. Declare such prefixes on the
            // root for the tree reader, and drop the declarations again.
            declared = match &err {
                roxmltree::Error::UnknownNamespace(..) => declare_prefixes(text),
                _ => None,
            };
            match declared
                .as_deref()
                .map(|t| roxmltree::Document::parse_with_options(t, opts))
            {
                Some(Ok(doc)) => doc,
                _ => {
                    let pos = err.pos();
                    return Err(ConfError::new(
                        XML_DETAIL,
                        format!("{docname}:{}: {}", pos.row, describe(&err)),
                    ));
                }
            }
        }
    };
    let mut e = convert(doc.root_element(), 0, false)?;
    if declared.is_some() {
        e.attrs
            .retain(|(k, v)| !(k.starts_with("xmlns:") && v == UNDECLARED_NS));
    }
    Ok(e)
}

/// Namespace given to prefixes a document uses without declaring them.
const UNDECLARED_NS: &str = "urn:x-libvirt-rs:undeclared-prefix";

/// The document with every prefix used on an element or attribute name
/// declared on the root element, or `None` when there is nothing to add.
fn declare_prefixes(text: &str) -> Option<String> {
    let mut prefixes: Vec<&str> = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // A name start after '<', '</' or whitespace inside a tag.
        let after_lt = b[i] == b'<' && i + 1 < b.len();
        if after_lt || b[i].is_ascii_whitespace() {
            let mut j = i + 1;
            if after_lt && b.get(j) == Some(&b'/') {
                j += 1;
            }
            let start = j;
            while j < b.len()
                && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'_' | b'-' | b'.'))
            {
                j += 1;
            }
            if j > start && b.get(j) == Some(&b':') {
                let p = &text[start..j];
                if p != "xmlns" && p != "xml" && !prefixes.contains(&p) {
                    prefixes.push(p);
                }
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    let root = text.find('<').and_then(|s| {
        // Skip the prolog: the root is the first tag starting with a name.
        let mut k = s;
        while let Some(off) = text[k..].find('<') {
            let at = k + off;
            let next = text.as_bytes().get(at + 1).copied().unwrap_or(0);
            if next != b'?' && next != b'!' {
                return Some(at);
            }
            k = at + 1;
        }
        None
    })?;
    let name_end =
        root + 1 + text[root + 1..].find(|c: char| c.is_whitespace() || c == '>' || c == '/')?;
    let decls: String = prefixes
        .iter()
        .filter(|p| !text.contains(&format!("xmlns:{p}=")))
        .map(|p| format!(" xmlns:{p}='{UNDECLARED_NS}'"))
        .collect();
    if decls.is_empty() {
        return None;
    }
    Some(format!("{}{decls}{}", &text[..name_end], &text[name_end..]))
}

fn describe(err: &roxmltree::Error) -> String {
    use roxmltree::Error as E;
    match err {
        E::UnexpectedCloseTag(exp, got, _) => {
            format!("Opening and ending tag mismatch: {exp} and {got}")
        }
        E::UnexpectedEntityCloseTag(_) => "Unexpected end tag".to_string(),
        E::UnknownEntityReference(n, _) => format!("Entity '{n}' not defined"),
        E::DuplicatedAttribute(n, _) => format!("Attribute {n} redefined"),
        E::NoRootNode => "Document is empty".to_string(),
        E::UnexpectedEndOfStream => "Premature end of data".to_string(),
        E::UnknownNamespace(p, _) => format!("Namespace prefix {p} is not defined"),
        other => {
            // roxmltree appends " at R:C"; keep only the description.
            let s = other.to_string();
            match s.rfind(" at ") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_matches_libvirt_buffer_rules() {
        assert_eq!(escape("a<b>&'\"\u{1}\tz"), "a&lt;b&gt;&amp;&apos;&quot;\tz");
    }

    #[test]
    fn libvirt_writer_shapes() {
        let e = Element::new("a")
            .with_attr("x", "1")
            .with_child(Element::new("b").with_text("t"))
            .with_child(Element::new("c"));
        assert_eq!(
            e.to_libvirt_string(2),
            "  <a x='1'>\n    <b>t</b>\n    <c/>\n  </a>\n"
        );
    }

    #[test]
    fn syntax_error_is_xml_detail_with_line() {
        let err = parse_document("<domain>\n<name>", "(domain_definition)", "domain").unwrap_err();
        assert_eq!(err.code, XML_DETAIL);
        assert!(
            err.detail_text().starts_with("(domain_definition):"),
            "{}",
            err.detail_text()
        );
    }

    #[test]
    fn wrong_root_is_xml_error() {
        let err = parse_document("<network/>", "(domain_definition)", "domain").unwrap_err();
        assert_eq!(err.code, crate::error::XML_ERROR);
        assert_eq!(
            err.clone().in_domain(virterror::ErrorDomain::Test).domain,
            virterror::ErrorDomain::Xml,
            "libvirt's XML layer reports it, whoever parses"
        );
        assert_eq!(
            err.detail_text(),
            "expecting root element of 'domain', not 'network'"
        );
    }

    #[test]
    fn libxml_dump_indents_children() {
        let doc = parse_document(
            "<metadata><a:x xmlns:a='urn:a'><a:y k='v'>t</a:y></a:x></metadata>",
            "t",
            "metadata",
        )
        .unwrap();
        let mut s = String::new();
        write_libxml(&doc, &mut s, 1);
        assert_eq!(
            s,
            "<metadata>\n    <a:x xmlns:a=\"urn:a\">\n      <a:y k=\"v\">t</a:y>\n    </a:x>\n  </metadata>"
        );
    }
}
