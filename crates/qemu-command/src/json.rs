// SPDX-License-Identifier: LGPL-2.1-or-later
//! Property objects with keys kept in insertion order, written as compact
//! JSON (the form `-device`, `-blockdev`, `-object` and `-netdev` take).
//! The workspace's serde_json keeps maps sorted, so the order lives here.

use serde_json::Value;

/// A JSON value whose objects keep their keys in the order they were added.
#[derive(Debug, Clone, PartialEq)]
pub enum Prop {
    /// A scalar (string, number, bool, null).
    Scalar(Value),
    /// An ordered object.
    Obj(Props),
    /// An array.
    Arr(Vec<Prop>),
}

/// An ordered JSON object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Props(pub Vec<(String, Prop)>);

impl Props {
    pub fn new() -> Props {
        Props(Vec::new())
    }

    /// Adds a string property.
    pub fn s(mut self, k: &str, v: impl Into<String>) -> Props {
        self.0
            .push((k.into(), Prop::Scalar(Value::String(v.into()))));
        self
    }

    /// Adds a string property when there is a value.
    pub fn os(self, k: &str, v: Option<impl Into<String>>) -> Props {
        match v {
            Some(v) => self.s(k, v),
            None => self,
        }
    }

    /// Adds an unsigned number.
    pub fn u(mut self, k: &str, v: u64) -> Props {
        self.0.push((k.into(), Prop::Scalar(Value::from(v))));
        self
    }

    /// Adds a number when there is one.
    pub fn ou(self, k: &str, v: Option<u64>) -> Props {
        match v {
            Some(v) => self.u(k, v),
            None => self,
        }
    }

    /// Adds a boolean.
    pub fn b(mut self, k: &str, v: bool) -> Props {
        self.0.push((k.into(), Prop::Scalar(Value::Bool(v))));
        self
    }

    /// Adds a boolean when there is one.
    pub fn ob(self, k: &str, v: Option<bool>) -> Props {
        match v {
            Some(v) => self.b(k, v),
            None => self,
        }
    }

    /// Adds a nested object.
    pub fn obj(mut self, k: &str, v: Props) -> Props {
        self.0.push((k.into(), Prop::Obj(v)));
        self
    }

    /// Adds any value.
    pub fn raw(mut self, k: &str, v: Prop) -> Props {
        self.0.push((k.into(), v));
        self
    }

    /// Compact JSON text.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        write_obj(self, &mut out);
        out
    }
}

fn write_obj(p: &Props, out: &mut String) {
    out.push('{');
    for (i, (k, v)) in p.0.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::String(k.clone()).to_string());
        out.push(':');
        write_prop(v, out);
    }
    out.push('}');
}

fn write_prop(v: &Prop, out: &mut String) {
    match v {
        Prop::Scalar(s) => out.push_str(&s.to_string()),
        Prop::Obj(o) => write_obj(o, out),
        Prop::Arr(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_prop(e, out);
            }
            out.push(']');
        }
    }
}
