// SPDX-License-Identifier: LGPL-2.1-or-later
//! The 4-byte length word and the 24-byte message header.

use xdr::{Decoder, Xdr, XdrError};

/// Largest whole message, length word included (VIR_NET_MESSAGE_MAX).
pub const MESSAGE_MAX: usize = 33_554_432;
/// Size of the length word.
pub const LEN_SIZE: usize = 4;
/// Size of the encoded header.
pub const HEADER_SIZE: usize = 24;
/// Largest payload after the header (VIR_NET_MESSAGE_PAYLOAD_MAX).
pub const PAYLOAD_MAX: usize = MESSAGE_MAX - LEN_SIZE - HEADER_SIZE;
/// Largest number of file descriptors passed with one message.
pub const NUM_FDS_MAX: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Call = 0,
    Reply = 1,
    Message = 2,
    Stream = 3,
    CallWithFds = 4,
    ReplyWithFds = 5,
    StreamHole = 6,
}

impl MessageType {
    pub fn from_i32(v: i32) -> Option<Self> {
        Some(match v {
            0 => MessageType::Call,
            1 => MessageType::Reply,
            2 => MessageType::Message,
            3 => MessageType::Stream,
            4 => MessageType::CallWithFds,
            5 => MessageType::ReplyWithFds,
            6 => MessageType::StreamHole,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok = 0,
    Error = 1,
    Continue = 2,
}

impl Status {
    pub fn from_i32(v: i32) -> Option<Self> {
        Some(match v {
            0 => Status::Ok,
            1 => Status::Error,
            2 => Status::Continue,
            _ => return None,
        })
    }
}

/// A decoded message header. `type_` and `status` stay raw so that a
/// message with unknown values can still be answered with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub prog: u32,
    pub vers: u32,
    pub proc_: i32,
    pub type_: i32,
    pub serial: u32,
    pub status: i32,
}

impl Header {
    pub fn new(
        prog: u32,
        vers: u32,
        proc_: i32,
        type_: MessageType,
        serial: u32,
        status: Status,
    ) -> Self {
        Header {
            prog,
            vers,
            proc_,
            type_: type_ as i32,
            serial,
            status: status as i32,
        }
    }

    pub fn message_type(&self) -> Option<MessageType> {
        MessageType::from_i32(self.type_)
    }

    /// The header of the reply to this call.
    pub fn reply(&self, status: Status) -> Header {
        Header {
            type_: MessageType::Reply as i32,
            status: status as i32,
            ..*self
        }
    }
}

impl Xdr for Header {
    const MIN_SIZE: usize = HEADER_SIZE;
    fn encode(&self, out: &mut Vec<u8>) {
        self.prog.encode(out);
        self.vers.encode(out);
        self.proc_.encode(out);
        self.type_.encode(out);
        self.serial.encode(out);
        self.status.encode(out);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Header {
            prog: d.u32()?,
            vers: d.u32()?,
            proc_: d.i32()?,
            type_: d.i32()?,
            serial: d.u32()?,
            status: d.i32()?,
        })
    }
}

/// Build a whole frame: length word, header, payload.
pub fn frame(header: &Header, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(LEN_SIZE + HEADER_SIZE + payload.len());
    out.extend_from_slice(&[0; 4]);
    header.encode(&mut out);
    out.extend_from_slice(payload);
    let len = out.len() as u32;
    out[..4].copy_from_slice(&len.to_be_bytes());
    out
}

/// Encode a frame whose payload is an XDR value, without an intermediate copy.
pub fn frame_value<T: Xdr>(header: &Header, value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&[0; 4]);
    header.encode(&mut out);
    value.encode(&mut out);
    let len = out.len() as u32;
    out[..4].copy_from_slice(&len.to_be_bytes());
    out
}

/// Check a length word read from the wire: it counts itself and must cover
/// at least a header and at most `MESSAGE_MAX`.
pub fn check_length(len: u32) -> Result<usize, XdrError> {
    let len = len as usize;
    if len < LEN_SIZE + HEADER_SIZE {
        return Err(XdrError::Truncated {
            offset: 0,
            needed: LEN_SIZE + HEADER_SIZE,
        });
    }
    if len > MESSAGE_MAX {
        return Err(XdrError::TooLong {
            len,
            max: MESSAGE_MAX,
        });
    }
    Ok(len)
}
