// SPDX-License-Identifier: LGPL-2.1-or-later
//! The daemons as processes, from `test-support` (scratch directories,
//! [`Spec`] to start and restart a daemon, [`Daemon`] with what it holds
//! read from /proc, uniform skips, busybox roots), plus what these tests
//! add: a connection opened on the remote program ([`open`]) and calls
//! with raw payloads ([`raw_call`]).
// The client's error is the wire error by value, large by nature.
#![allow(clippy::result_large_err)]

use std::path::Path;

use protocol::remote as r;
use rpc::client::{ClientError, RpcClient};

pub use test_support::*;

/// Connects to `sock` and opens `uri` on the remote program.
pub fn open(sock: &Path, uri: &str) -> Result<RpcClient, ClientError> {
    let mut c = RpcClient::connect(sock, r::PROGRAM, r::PROTOCOL_VERSION)?;
    c.call::<_, ()>(
        1,
        &r::ConnectOpenArgs {
            name: Some(uri.to_owned()),
            flags: 0,
        },
    )?;
    Ok(c)
}

/// Sends one call with a raw payload and returns the answer's status and
/// body (an error is decoded into a [`protocol::RemoteError`]).
pub fn raw_call(
    c: &mut RpcClient,
    prog: u32,
    vers: u32,
    proc_: i32,
    serial: u32,
    payload: &[u8],
) -> Result<Result<Vec<u8>, protocol::RemoteError>, ClientError> {
    use protocol::header::{frame, Header, MessageType, Status};
    let h = Header::new(prog, vers, proc_, MessageType::Call, serial, Status::Ok);
    c.send_raw(&frame(&h, payload))?;
    loop {
        let (rh, body) = c.read_frame()?;
        if rh.prog == protocol::keepalive::PROGRAM
            || rh.message_type() == Some(MessageType::Message)
        {
            continue;
        }
        if rh.serial != serial || rh.proc_ != proc_ {
            return Err(ClientError::Protocol(format!(
                "reply serial {} proc {} to call {serial} proc {proc_}",
                rh.serial, rh.proc_
            )));
        }
        if rh.status == Status::Ok as i32 {
            return Ok(Ok(body));
        }
        let raw: r::Error = xdr::from_bytes(&body).map_err(ClientError::Decode)?;
        return Ok(Err(protocol::RemoteError::from_raw(raw)));
    }
}
