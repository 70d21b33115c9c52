// SPDX-License-Identifier: LGPL-2.1-or-later
//! The server side of Cyrus SASL, the library libvirt authenticates with:
//! the same `/etc/sasl2/libvirt.conf`, the same sasldb (`saslpasswd2 -a
//! libvirt`), the same mechanisms.
//!
//! A [`ServerSession`] follows one client through the exchange (init,
//! start, steps) and, once a mechanism with a security layer completes,
//! encodes and decodes every later byte of the connection.
//!
//! This is an FFI crate: every call into the C library is an `unsafe`
//! block with its reasoning beside it. Nothing here panics on what a peer
//! sends.

use std::ffi::{c_char, c_uint, c_void, CStr, CString};
use std::ptr;
use std::sync::OnceLock;

use sasl2_sys::prelude as sys;

/// What went wrong in the SASL library.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SaslError {
    /// The library refused a call; `code` is its result, `detail` its text.
    #[error("{what}: {code} ({detail})")]
    Library {
        what: &'static str,
        code: i32,
        detail: String,
    },
    /// A caller-supplied string contained a NUL byte.
    #[error("{0} contains a NUL byte")]
    Nul(&'static str),
    /// A step without an exchange in progress.
    #[error("no SASL exchange in progress")]
    NotStarted,
    /// Data larger than the negotiated buffer.
    #[error("SASL data length {len} too long, max {max}")]
    TooLong { len: usize, max: usize },
}

/// The outcome of a start or step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The mechanism needs another round; the data goes to the client
    /// (`None` and an empty vector are different things in SASL).
    Continue(Option<Vec<u8>>),
    /// Authentication is complete; optional success data for the client.
    Complete(Option<Vec<u8>>),
}

fn errstring(code: i32) -> String {
    // SAFETY: sasl_errstring returns a pointer to a static string for any
    // code (unknown codes get a generic text); NULL languages are allowed.
    let p = unsafe { sys::sasl_errstring(code, ptr::null(), ptr::null_mut()) };
    cstr_or_empty(p)
}

fn cstr_or_empty(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: the library hands out NUL-terminated strings that stay
    // valid until the next call on the same connection; copied at once.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

static INIT: OnceLock<Result<(), SaslError>> = OnceLock::new();

/// Initialises the library for servers once per process, reading the
/// application's configuration (`<confdir>/<app>.conf`, libvirt's is
/// `libvirt`). Later calls return the first call's outcome.
pub fn server_init(app: &str) -> Result<(), SaslError> {
    INIT.get_or_init(|| {
        let app = CString::new(app).map_err(|_| SaslError::Nul("application name"))?;
        // The library keeps the pointer to the application name: leak one
        // copy for the life of the process.
        let app: &'static CStr = Box::leak(app.into_boxed_c_str());
        // SAFETY: no callbacks (NULL) and a NUL-terminated name that
        // lives forever; called once (OnceLock).
        let rc = unsafe { sys::sasl_server_init(ptr::null(), app.as_ptr()) };
        if rc != sys::SASL_OK {
            return Err(SaslError::Library {
                what: "failed to initialize SASL library",
                code: rc,
                detail: errstring(rc),
            });
        }
        Ok(())
    })
    .clone()
}

/// One client's SASL exchange and, afterwards, its security layer.
pub struct ServerSession {
    conn: *mut sys::sasl_conn_t,
    /// Largest plain chunk encoded at once (negotiated after completion).
    maxbufsize: usize,
    /// A mechanism has been started (the library must not be stepped
    /// before: it has no mechanism to step and crashes).
    started: bool,
}

// SAFETY: a sasl_conn_t belongs to one session and is only used through
// `&mut self` (callers wrap the session in a Mutex when it is shared), so
// it is never used from two threads at once; the library keeps no
// thread-local state tied to a connection.
unsafe impl Send for ServerSession {}

/// The largest chunk libvirt encodes at once before negotiation.
const DEFAULT_BUFSIZE: usize = 1 << 16;

impl ServerSession {
    /// A new exchange for `service` ("libvirt"). `local` and `remote` are
    /// the "IP;port" strings of a TCP connection (none for UNIX sockets).
    pub fn new(
        service: &str,
        local: Option<&str>,
        remote: Option<&str>,
    ) -> Result<Self, SaslError> {
        let service = CString::new(service).map_err(|_| SaslError::Nul("service"))?;
        let local = local
            .map(CString::new)
            .transpose()
            .map_err(|_| SaslError::Nul("local address"))?;
        let remote = remote
            .map(CString::new)
            .transpose()
            .map_err(|_| SaslError::Nul("remote address"))?;
        let mut conn: *mut sys::sasl_conn_t = ptr::null_mut();
        // SAFETY: every string is NUL-terminated and outlives the call
        // (the library copies them); `conn` is a valid out pointer.
        let rc = unsafe {
            sys::sasl_server_new(
                service.as_ptr(),
                ptr::null(),
                ptr::null(),
                local.as_ref().map_or(ptr::null(), |s| s.as_ptr()),
                remote.as_ref().map_or(ptr::null(), |s| s.as_ptr()),
                ptr::null(),
                sys::SASL_SUCCESS_DATA,
                &mut conn,
            )
        };
        if rc != sys::SASL_OK || conn.is_null() {
            return Err(SaslError::Library {
                what: "Failed to create SASL client context",
                code: rc,
                detail: errstring(rc),
            });
        }
        Ok(ServerSession {
            conn,
            maxbufsize: DEFAULT_BUFSIZE,
            started: false,
        })
    }

    fn lib_err(&self, what: &'static str, rc: i32) -> SaslError {
        // SAFETY: `conn` is a live connection owned by this session.
        let detail = cstr_or_empty(unsafe { sys::sasl_errdetail(self.conn) });
        SaslError::Library {
            what,
            code: rc,
            detail: if detail.is_empty() {
                errstring(rc)
            } else {
                detail
            },
        }
    }

    /// Tells the library that the transport already protects the data
    /// with `ssf` bits (TLS).
    pub fn set_external_ssf(&mut self, ssf: u32) -> Result<(), SaslError> {
        let v: sys::sasl_ssf_t = ssf;
        // SAFETY: SASL_SSF_EXTERNAL takes a pointer to a sasl_ssf_t, read
        // during the call only.
        let rc = unsafe {
            sys::sasl_setprop(
                self.conn,
                sys::SASL_SSF_EXTERNAL as i32,
                &v as *const sys::sasl_ssf_t as *const c_void,
            )
        };
        if rc != sys::SASL_OK {
            return Err(self.lib_err("cannot set external SSF", rc));
        }
        Ok(())
    }

    /// The security strength the mechanism must reach and whether
    /// anonymous and plaintext mechanisms are acceptable.
    pub fn set_sec_props(
        &mut self,
        min_ssf: u32,
        max_ssf: u32,
        allow_anonymous: bool,
    ) -> Result<(), SaslError> {
        let props = sys::sasl_security_properties_t {
            min_ssf,
            max_ssf,
            maxbufsize: self.maxbufsize as c_uint,
            security_flags: if allow_anonymous {
                0
            } else {
                sys::SASL_SEC_NOANONYMOUS | sys::SASL_SEC_NOPLAINTEXT
            },
            property_names: ptr::null_mut(),
            property_values: ptr::null_mut(),
        };
        // SAFETY: SASL_SEC_PROPS takes a pointer to the structure, which
        // the library copies during the call.
        let rc = unsafe {
            sys::sasl_setprop(
                self.conn,
                sys::SASL_SEC_PROPS as i32,
                &props as *const sys::sasl_security_properties_t as *const c_void,
            )
        };
        if rc != sys::SASL_OK {
            return Err(self.lib_err("cannot set security props", rc));
        }
        Ok(())
    }

    /// The mechanisms this session offers, comma-separated; empty when
    /// none fit the security properties.
    pub fn mechanisms(&mut self) -> Result<String, SaslError> {
        let mut out: *const c_char = ptr::null();
        let empty = c"";
        let sep = c",";
        // SAFETY: prefix/separator/suffix are NUL-terminated statics; the
        // result points into the connection and is copied before the
        // next call.
        let rc = unsafe {
            sys::sasl_listmech(
                self.conn,
                ptr::null(),
                empty.as_ptr(),
                sep.as_ptr(),
                empty.as_ptr(),
                &mut out,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if rc != sys::SASL_OK {
            return Err(self.lib_err("cannot list SASL mechanisms", rc));
        }
        Ok(cstr_or_empty(out))
    }

    fn outcome(
        &mut self,
        what: &'static str,
        rc: i32,
        out: *const c_char,
        len: c_uint,
    ) -> Result<Step, SaslError> {
        let data = if out.is_null() {
            None
        } else {
            // SAFETY: the library returned `len` bytes at `out`, valid
            // until the next call on this connection; copied here.
            Some(unsafe { std::slice::from_raw_parts(out as *const u8, len as usize) }.to_vec())
        };
        match rc {
            sys::SASL_OK => {
                self.update_bufsize();
                Ok(Step::Complete(data))
            }
            sys::SASL_CONTINUE => Ok(Step::Continue(data)),
            _ => Err(self.lib_err(what, rc)),
        }
    }

    /// Starts the exchange with mechanism `mech` and the client's first
    /// data (`None` when the client sent none, which SASL tells apart
    /// from empty data).
    pub fn start(&mut self, mech: &str, data: Option<&[u8]>) -> Result<Step, SaslError> {
        let mech = CString::new(mech).map_err(|_| SaslError::Nul("mechanism"))?;
        let (p, n) = input(data)?;
        let mut out: *const c_char = ptr::null();
        let mut len: c_uint = 0;
        // SAFETY: `mech` is NUL-terminated, `p`/`n` describe the caller's
        // slice (or NULL/0), the out pointers are valid.
        let rc =
            unsafe { sys::sasl_server_start(self.conn, mech.as_ptr(), p, n, &mut out, &mut len) };
        self.started = rc == sys::SASL_CONTINUE;
        self.outcome("Failed to start SASL negotiation", rc, out, len)
    }

    /// The next round of the exchange.
    /// Fails without calling the library unless a start asked for more.
    pub fn step(&mut self, data: Option<&[u8]>) -> Result<Step, SaslError> {
        if !self.started {
            return Err(SaslError::NotStarted);
        }
        let (p, n) = input(data)?;
        let mut out: *const c_char = ptr::null();
        let mut len: c_uint = 0;
        // SAFETY: as in `start`.
        let rc = unsafe { sys::sasl_server_step(self.conn, p, n, &mut out, &mut len) };
        self.started = rc == sys::SASL_CONTINUE;
        self.outcome("Failed to step SASL negotiation", rc, out, len)
    }

    fn prop(&self, which: c_uint) -> Result<*const c_void, SaslError> {
        let mut v: *const c_void = ptr::null();
        // SAFETY: `v` is a valid out pointer; the result points into the
        // connection and is read at once by the callers.
        let rc = unsafe { sys::sasl_getprop(self.conn, which as i32, &mut v) };
        if rc != sys::SASL_OK || v.is_null() {
            return Err(self.lib_err("cannot query SASL property", rc));
        }
        Ok(v)
    }

    /// The negotiated security strength in bits (0: no security layer).
    pub fn ssf(&self) -> Result<u32, SaslError> {
        let v = self.prop(sys::SASL_SSF)?;
        // SAFETY: SASL_SSF yields a pointer to a sasl_ssf_t.
        Ok(unsafe { *(v as *const sys::sasl_ssf_t) })
    }

    /// The authenticated user name.
    pub fn username(&self) -> Result<String, SaslError> {
        let v = self.prop(sys::SASL_USERNAME)?;
        Ok(cstr_or_empty(v as *const c_char))
    }

    fn update_bufsize(&mut self) {
        if let Ok(v) = self.prop(sys::SASL_MAXOUTBUF) {
            // SAFETY: SASL_MAXOUTBUF yields a pointer to an unsigned int.
            let n = unsafe { *(v as *const c_uint) } as usize;
            if n > 0 {
                self.maxbufsize = n;
            }
        }
    }

    /// Largest plain chunk [`encode`](Self::encode) takes at once.
    pub fn max_bufsize(&self) -> usize {
        self.maxbufsize
    }

    /// Wraps `data` (at most [`max_bufsize`](Self::max_bufsize) bytes)
    /// in the security layer.
    pub fn encode(&mut self, data: &[u8]) -> Result<Vec<u8>, SaslError> {
        if data.len() > self.maxbufsize {
            return Err(SaslError::TooLong {
                len: data.len(),
                max: self.maxbufsize,
            });
        }
        let mut out: *const c_char = ptr::null();
        let mut len: c_uint = 0;
        // SAFETY: `data` is a valid slice of at most maxbufsize bytes
        // (fits c_uint); the output is copied before the next call.
        let rc = unsafe {
            sys::sasl_encode(
                self.conn,
                data.as_ptr() as *const c_char,
                data.len() as c_uint,
                &mut out,
                &mut len,
            )
        };
        if rc != sys::SASL_OK {
            return Err(SaslError::Library {
                what: "failed to encode SASL data",
                code: rc,
                detail: errstring(rc),
            });
        }
        Ok(copy_out(out, len))
    }

    /// Unwraps bytes received from the wire; the library keeps an
    /// incomplete packet until the rest arrives, so the result may be
    /// empty.
    pub fn decode(&mut self, data: &[u8]) -> Result<Vec<u8>, SaslError> {
        if data.len() > self.maxbufsize.max(DEFAULT_BUFSIZE) {
            return Err(SaslError::TooLong {
                len: data.len(),
                max: self.maxbufsize.max(DEFAULT_BUFSIZE),
            });
        }
        let mut out: *const c_char = ptr::null();
        let mut len: c_uint = 0;
        // SAFETY: as in `encode`.
        let rc = unsafe {
            sys::sasl_decode(
                self.conn,
                data.as_ptr() as *const c_char,
                data.len() as c_uint,
                &mut out,
                &mut len,
            )
        };
        if rc != sys::SASL_OK {
            return Err(SaslError::Library {
                what: "failed to decode SASL data",
                code: rc,
                detail: errstring(rc),
            });
        }
        Ok(copy_out(out, len))
    }
}

fn copy_out(out: *const c_char, len: c_uint) -> Vec<u8> {
    if out.is_null() || len == 0 {
        return Vec::new();
    }
    // SAFETY: the library produced `len` bytes at `out`, valid until the
    // next call on the connection; copied here.
    unsafe { std::slice::from_raw_parts(out as *const u8, len as usize) }.to_vec()
}

fn input(data: Option<&[u8]>) -> Result<(*const c_char, c_uint), SaslError> {
    match data {
        None => Ok((ptr::null(), 0)),
        Some(d) => {
            let n = c_uint::try_from(d.len()).map_err(|_| SaslError::TooLong {
                len: d.len(),
                max: c_uint::MAX as usize,
            })?;
            // SASL tells NULL from "": an empty slice still gets a
            // non-NULL pointer.
            let p = if d.is_empty() {
                c"".as_ptr()
            } else {
                d.as_ptr() as *const c_char
            };
            Ok((p, n))
        }
    }
}

impl Drop for ServerSession {
    fn drop(&mut self) {
        // SAFETY: `conn` came from sasl_server_new and is disposed once;
        // dispose sets it to NULL.
        unsafe { sys::sasl_dispose(&mut self.conn) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_and_session_without_mechanism_errors() {
        if server_init("libvirt-rs-test").is_err() {
            eprintln!("SKIP: the SASL library could not be initialised");
            return;
        }
        let mut s = ServerSession::new("libvirt", Some("127.0.0.1;16509"), Some("127.0.0.1;40000"))
            .expect("session");
        s.set_sec_props(0, 0, true).expect("props");
        // A mechanism nobody has fails cleanly.
        assert!(s.start("NO-SUCH-MECH", None).is_err());
        // Decoding with no security layer negotiated passes data through
        // or fails; it never panics.
        let _ = s.decode(b"garbage");
        assert!(s.encode(&vec![0u8; DEFAULT_BUFSIZE + 1]).is_err());
    }

    #[test]
    fn a_step_before_start_is_refused_without_reaching_the_library() {
        if server_init("libvirt-rs-test").is_err() {
            eprintln!("SKIP: the SASL library could not be initialised");
            return;
        }
        let mut s = ServerSession::new("libvirt", None, None).expect("session");
        assert!(matches!(s.step(Some(b"x")), Err(SaslError::NotStarted)));
        assert!(matches!(s.step(None), Err(SaslError::NotStarted)));
    }

    #[test]
    fn nul_in_mechanism_is_an_error() {
        if server_init("libvirt-rs-test").is_err() {
            eprintln!("SKIP: the SASL library could not be initialised");
            return;
        }
        let mut s = ServerSession::new("libvirt", None, None).expect("session");
        assert!(matches!(s.start("A\0B", None), Err(SaslError::Nul(_))));
    }
}
