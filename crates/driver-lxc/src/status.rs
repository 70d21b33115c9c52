// SPDX-License-Identifier: LGPL-2.1-or-later
//! The live status file `state_dir/NAME.xml`: the live domain XML wrapped
//! in a `<domstatus>` element whose attributes say how to find the
//! container again (controller pid, init pid and start time, veth names,
//! cgroup directories, state and reason).

use conf::xml::escape;

/// What a status file records besides the live XML.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Status {
    pub state: i32,
    pub reason: i32,
    pub controller_pid: u32,
    pub init_pid: u32,
    pub init_start_time: u64,
    pub veths: Vec<String>,
    pub cgroups: Vec<String>,
    /// The live domain XML, as formatted.
    pub xml: String,
}

impl Status {
    pub fn to_xml(&self) -> String {
        let mut out = format!(
            "<domstatus state='{}' reason='{}' pid='{}' initpid='{}' initstart='{}'>\n",
            self.state, self.reason, self.controller_pid, self.init_pid, self.init_start_time
        );
        for v in &self.veths {
            out.push_str(&format!("  <veth name='{}'/>\n", escape(v)));
        }
        for c in &self.cgroups {
            out.push_str(&format!("  <cgroup dir='{}'/>\n", escape(c)));
        }
        out.push_str(&self.xml);
        if !self.xml.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("</domstatus>\n");
        out
    }

    /// Parses a status file; `None` when it is not one of ours.
    pub fn parse(text: &str) -> Option<Status> {
        let start = text.find("<domain ")?;
        let end = text.rfind("</domstatus>")?;
        if end < start {
            return None;
        }
        let xml = text[start..end].to_string();
        // The header is parsed as a document of its own: everything before
        // the embedded domain, closed.
        let head = format!("{}</domstatus>", &text[..start]);
        let doc = roxmltree::Document::parse(&head).ok()?;
        let root = doc.root_element();
        if root.tag_name().name() != "domstatus" {
            return None;
        }
        let num = |k: &str| root.attribute(k).and_then(|v| v.parse::<u64>().ok());
        let mut st = Status {
            state: i32::try_from(num("state")?).ok()?,
            reason: i32::try_from(num("reason").unwrap_or(0)).ok()?,
            controller_pid: u32::try_from(num("pid")?).ok()?,
            init_pid: u32::try_from(num("initpid")?).ok()?,
            init_start_time: num("initstart")?,
            xml,
            ..Default::default()
        };
        for c in root.children().filter(|c| c.is_element()) {
            match c.tag_name().name() {
                "veth" => st.veths.extend(c.attribute("name").map(str::to_string)),
                "cgroup" => st.cgroups.extend(c.attribute("dir").map(str::to_string)),
                _ => {}
            }
        }
        Some(st)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = Status {
            state: 1,
            reason: 1,
            controller_pid: 10,
            init_pid: 11,
            init_start_time: 12345,
            veths: vec!["veth0".into()],
            cgroups: vec!["/sys/fs/cgroup/memory/machine/a.libvirt-lxc".into()],
            xml: "<domain type='lxc' id='10'>\n  <name>a&amp;b</name>\n</domain>\n".into(),
        };
        let text = s.to_xml();
        assert_eq!(Status::parse(&text), Some(s));
        assert_eq!(Status::parse("<domstatus/>"), None);
        assert_eq!(Status::parse("garbage"), None);
    }
}
