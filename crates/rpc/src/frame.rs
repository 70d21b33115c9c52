// SPDX-License-Identifier: LGPL-2.1-or-later
//! Reading whole frames from an async byte stream, size checked first.

use protocol::header::{check_length, Header, HEADER_SIZE, LEN_SIZE};
use tokio::io::{AsyncRead, AsyncReadExt};
use xdr::{Decoder, Xdr};

/// Body bytes reserved up front; larger bodies grow as they arrive.
const INITIAL_BODY: usize = 64 << 10;

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

/// Read one frame. The length word is validated before anything is
/// allocated, so a peer cannot make us reserve more than `MESSAGE_MAX`;
/// the body buffer then grows with the bytes that actually arrive, so a
/// peer that announces 32 MiB and sends little pins little.
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
    let want = total - LEN_SIZE - HEADER_SIZE;
    if want <= INITIAL_BODY {
        // Small bodies (nearly every call): one allocation of the exact size.
        let mut payload = vec![0u8; want];
        r.read_exact(&mut payload).await.map_err(ReadError::Io)?;
        return Ok(Frame { header, payload });
    }
    let mut payload = Vec::with_capacity(INITIAL_BODY);
    let got = r
        .take(want as u64)
        .read_to_end(&mut payload)
        .await
        .map_err(ReadError::Io)?;
    if got != want {
        return Err(ReadError::Io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(Frame { header, payload })
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::header::{frame, MessageType, Status, MESSAGE_MAX};

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .map(|rt| rt.block_on(f))
            .unwrap_or_else(|e| panic!("runtime: {e}"))
    }

    #[test]
    fn whole_frame_is_read_and_the_next_one_follows() {
        let h = Header::new(1, 2, 3, MessageType::Call, 4, Status::Ok);
        let mut bytes = frame(&h, &[9u8; 100_000]);
        bytes.extend(frame(&h, b"abcd"));
        let mut rd = bytes.as_slice();
        let f = run(read_frame(&mut rd)).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(f.header, h);
        assert_eq!(f.payload.len(), 100_000);
        let f = run(read_frame(&mut rd)).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(f.payload, b"abcd");
        assert!(matches!(run(read_frame(&mut rd)), Err(ReadError::Eof)));
        // A small body cut short is an error, not a shorter frame.
        let mut cut = frame(&h, b"abcdefgh");
        cut.truncate(cut.len() - 3);
        match run(read_frame(&mut cut.as_slice())) {
            Err(ReadError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn announced_32_mib_with_a_short_body_fails_without_reserving_it() {
        let h = Header::new(1, 2, 3, MessageType::Call, 4, Status::Ok);
        let mut bytes = frame(&h, &[7u8; 1000]);
        let len = u32::try_from(MESSAGE_MAX).unwrap_or(0);
        bytes[..4].copy_from_slice(&len.to_be_bytes());
        let mut rd = bytes.as_slice();
        match run(read_frame(&mut rd)) {
            Err(ReadError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof),
            other => panic!("{other:?}"),
        }
        // One past the limit is refused from the length word alone.
        let mut past = bytes.clone();
        past[..4].copy_from_slice(&(len + 1).to_be_bytes());
        assert!(matches!(
            run(read_frame(&mut past.as_slice())),
            Err(ReadError::BadLength(_))
        ));
    }
}
