// SPDX-License-Identifier: LGPL-2.1-or-later
//! Reading whole frames from an async byte stream, size checked first.

use protocol::header::{check_length, Header, HEADER_SIZE, LEN_SIZE};
use tokio::io::{AsyncRead, AsyncReadExt};
use xdr::{Decoder, Xdr};

/// One received message: its header and the bytes after it.
#[derive(Debug)]
pub struct Frame {
    pub header: Header,
    pub payload: Vec<u8>,
}

/// Why reading a frame stopped.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed the connection between frames.
    Eof,
    Io(std::io::Error),
    /// The length word is out of bounds; the stream cannot be resynchronised.
    BadLength(u32),
}

/// Read one frame. The length word is validated before the body buffer is
/// allocated, so a peer cannot make us reserve more than `MESSAGE_MAX`.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Frame, ReadError> {
    let mut len = [0u8; LEN_SIZE];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(ReadError::Eof),
        Err(e) => return Err(ReadError::Io(e)),
    }
    let raw = u32::from_be_bytes(len);
    let total = check_length(raw).map_err(|_| ReadError::BadLength(raw))?;
    let mut head = [0u8; HEADER_SIZE];
    r.read_exact(&mut head).await.map_err(ReadError::Io)?;
    let header = Header::decode(&mut Decoder::new(&head)).map_err(|_| ReadError::BadLength(raw))?;
    let mut payload = vec![0u8; total - LEN_SIZE - HEADER_SIZE];
    r.read_exact(&mut payload).await.map_err(ReadError::Io)?;
    Ok(Frame { header, payload })
}
