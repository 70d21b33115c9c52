// SPDX-License-Identifier: LGPL-2.1-or-later
//! `typed_param_value`: the discriminated union carried by typed parameters.

use xdr::{Decoder, Xdr, XdrError, DEFAULT_STRING_MAX};

/// Longest typed parameter field name, terminating NUL included (VIR_TYPED_PARAM_FIELD_LENGTH).
pub const TYPED_PARAM_FIELD_LENGTH: usize = 80;

/// One typed value; the discriminants are virTypedParameterType.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedParamValue {
    Int(i32),
    UInt(u32),
    LLong(i64),
    ULLong(u64),
    Double(f64),
    Boolean(bool),
    String(String),
}

impl Default for TypedParamValue {
    fn default() -> Self {
        TypedParamValue::Int(0)
    }
}

impl Xdr for TypedParamValue {
    const MIN_SIZE: usize = 8;
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            TypedParamValue::Int(v) => {
                1i32.encode(out);
                v.encode(out)
            }
            TypedParamValue::UInt(v) => {
                2i32.encode(out);
                v.encode(out)
            }
            TypedParamValue::LLong(v) => {
                3i32.encode(out);
                v.encode(out)
            }
            TypedParamValue::ULLong(v) => {
                4i32.encode(out);
                v.encode(out)
            }
            TypedParamValue::Double(v) => {
                5i32.encode(out);
                v.encode(out)
            }
            TypedParamValue::Boolean(v) => {
                6i32.encode(out);
                i32::from(*v).encode(out)
            }
            TypedParamValue::String(v) => {
                7i32.encode(out);
                v.encode(out)
            }
        }
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(match d.i32()? {
            1 => TypedParamValue::Int(d.i32()?),
            2 => TypedParamValue::UInt(d.u32()?),
            3 => TypedParamValue::LLong(i64::decode(d)?),
            4 => TypedParamValue::ULLong(u64::decode(d)?),
            5 => TypedParamValue::Double(f64::decode(d)?),
            6 => TypedParamValue::Boolean(d.i32()? != 0),
            7 => TypedParamValue::String(String::decode_bounded(d, DEFAULT_STRING_MAX)?),
            other => return Err(XdrError::BadDiscriminant(other)),
        })
    }
}
