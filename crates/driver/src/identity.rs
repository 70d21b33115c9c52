// SPDX-License-Identifier: LGPL-2.1-or-later
//! Who a call runs as (libvirt's virIdentity): the attributes a client
//! forwards with virConnectSetIdentity, the identity the current thread
//! serves, and the host's system token.
//!
//! Every daemon of a host shares one random token (`system.token` under
//! the run directory's `common/`, readable by the daemons' user only). A
//! daemon that calls another on its own behalf adds that token to the
//! identity it forwards; the callee treats a caller whose identity carries
//! its own token as elevated (the secret driver then lets it read a private
//! secret's value). Knowing the token is the whole proof: the file's mode
//! keeps it from other users.

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

use crate::types::{validate_params, TypedParams, TypedValue};
use crate::Result;

/// The identity attributes (VIR_CONNECT_IDENTITY_*) and their types.
pub const USER_NAME: &str = "user-name";
pub const UNIX_USER_ID: &str = "unix-user-id";
pub const GROUP_NAME: &str = "group-name";
pub const UNIX_GROUP_ID: &str = "unix-group-id";
pub const PROCESS_ID: &str = "process-id";
pub const PROCESS_TIME: &str = "process-time";
pub const SASL_USER_NAME: &str = "sasl-user-name";
pub const X509_DISTINGUISHED_NAME: &str = "x509-distinguished-name";
pub const SELINUX_CONTEXT: &str = "selinux-context";
pub const SYSTEM_TOKEN: &str = "system.token";

const ATTRIBUTES: &[(&str, &str)] = &[
    (USER_NAME, "string"),
    (UNIX_USER_ID, "ullong"),
    (GROUP_NAME, "string"),
    (UNIX_GROUP_ID, "ullong"),
    (PROCESS_ID, "llong"),
    (PROCESS_TIME, "ullong"),
    (SASL_USER_NAME, "string"),
    (X509_DISTINGUISHED_NAME, "string"),
    (SELINUX_CONTEXT, "string"),
    (SYSTEM_TOKEN, "string"),
];

/// A set of identity attributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identity {
    params: TypedParams,
}

impl Identity {
    /// virIdentitySetParameters: the attributes a client sent, checked
    /// against the known names and types.
    pub fn from_params(params: TypedParams) -> Result<Identity> {
        validate_params(&params, ATTRIBUTES)?;
        Ok(Identity { params })
    }

    /// The attributes, to forward to another daemon.
    pub fn params(&self) -> &TypedParams {
        &self.params
    }

    fn string(&self, name: &str) -> Option<&str> {
        self.params.iter().find_map(|(k, v)| match v {
            TypedValue::String(s) if k == name => Some(s.as_str()),
            _ => None,
        })
    }

    /// The system token the identity carries, if any.
    pub fn system_token(&self) -> Option<&str> {
        self.string(SYSTEM_TOKEN)
    }

    /// virIdentityElevateCurrent's copy: the identity with this host's
    /// system token added when it has none.
    pub fn elevated(&self) -> Identity {
        let mut out = self.clone();
        if out.system_token().is_none() {
            if let Some(t) = system_token() {
                out.params
                    .push((SYSTEM_TOKEN.to_string(), TypedValue::String(t.to_string())));
            }
        }
        out
    }

    /// virIdentityGetSystem: the daemon process itself (process id and
    /// start time, user and group with their names when known, the system
    /// token).
    pub fn for_process(
        uid: u32,
        gid: u32,
        user: Option<String>,
        group: Option<String>,
    ) -> Identity {
        let mut p: TypedParams = Vec::new();
        let pid = std::process::id();
        p.push((PROCESS_ID.into(), TypedValue::LLong(i64::from(pid))));
        if let Some(t) = process_start_time(pid) {
            p.push((PROCESS_TIME.into(), TypedValue::ULLong(t)));
        }
        if let Some(u) = user {
            p.push((USER_NAME.into(), TypedValue::String(u)));
            p.push((UNIX_USER_ID.into(), TypedValue::ULLong(u64::from(uid))));
            if let Some(g) = group {
                p.push((GROUP_NAME.into(), TypedValue::String(g)));
                p.push((UNIX_GROUP_ID.into(), TypedValue::ULLong(u64::from(gid))));
            }
        }
        if let Some(t) = system_token() {
            p.push((SYSTEM_TOKEN.into(), TypedValue::String(t.to_string())));
        }
        Identity { params: p }
    }

    /// virNetServerClientCreateIdentity: a client as its connection shows
    /// it: the peer of a local socket (user and group with their names,
    /// process id and start time) and the SASL user it authenticated as.
    pub fn for_client(peer: Option<Peer>, sasl_user: Option<String>) -> Identity {
        let mut p: TypedParams = Vec::new();
        if let Some(peer) = peer {
            if let Some(u) = peer.user {
                p.push((USER_NAME.into(), TypedValue::String(u)));
            }
            p.push((UNIX_USER_ID.into(), TypedValue::ULLong(u64::from(peer.uid))));
            if let Some(g) = peer.group {
                p.push((GROUP_NAME.into(), TypedValue::String(g)));
            }
            p.push((
                UNIX_GROUP_ID.into(),
                TypedValue::ULLong(u64::from(peer.gid)),
            ));
            p.push((PROCESS_ID.into(), TypedValue::LLong(i64::from(peer.pid))));
            if let Some(t) = u32::try_from(peer.pid).ok().and_then(process_start_time) {
                p.push((PROCESS_TIME.into(), TypedValue::ULLong(t)));
            }
        }
        if let Some(u) = sasl_user {
            p.push((SASL_USER_NAME.into(), TypedValue::String(u)));
        }
        Identity { params: p }
    }

    fn number(&self, name: &str) -> Option<i64> {
        self.params.iter().find_map(|(k, v)| match v {
            TypedValue::ULLong(n) if k == name => i64::try_from(*n).ok(),
            TypedValue::LLong(n) if k == name => Some(*n),
            _ => None,
        })
    }

    /// The user name attribute.
    pub fn user_name(&self) -> Option<&str> {
        self.string(USER_NAME)
    }

    /// The group name attribute.
    pub fn group_name(&self) -> Option<&str> {
        self.string(GROUP_NAME)
    }

    /// The SASL user name attribute.
    pub fn sasl_user_name(&self) -> Option<&str> {
        self.string(SASL_USER_NAME)
    }

    /// The X.509 distinguished name attribute.
    pub fn x509_dname(&self) -> Option<&str> {
        self.string(X509_DISTINGUISHED_NAME)
    }

    /// The SELinux context attribute.
    pub fn selinux_context(&self) -> Option<&str> {
        self.string(SELINUX_CONTEXT)
    }

    /// The UNIX user id attribute.
    pub fn unix_user_id(&self) -> Option<i64> {
        self.number(UNIX_USER_ID)
    }

    /// The UNIX group id attribute.
    pub fn unix_group_id(&self) -> Option<i64> {
        self.number(UNIX_GROUP_ID)
    }

    /// The process id attribute.
    pub fn process_id(&self) -> Option<i64> {
        self.number(PROCESS_ID)
    }
}

/// The peer of a local connection, as its socket credentials give it.
#[derive(Debug, Clone, Default)]
pub struct Peer {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
    /// The names of `uid` and `gid`, where the host has them.
    pub user: Option<String>,
    pub group: Option<String>,
}

/// The start time of process `pid` in clock ticks since boot (field 22 of
/// /proc/PID/stat), as libvirt records it.
fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it do not.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

static TOKEN: OnceLock<String> = OnceLock::new();

/// Records this host's system token (done once, at daemon start-up).
pub fn set_system_token(token: String) {
    let _ = TOKEN.set(token);
}

/// This host's system token, once the daemon has it.
pub fn system_token() -> Option<&'static str> {
    TOKEN.get().map(String::as_str)
}

static SYSTEM: OnceLock<Identity> = OnceLock::new();

/// Records the daemon's own identity (done once, at start-up, after the
/// token).
pub fn set_system(ident: Identity) {
    let _ = SYSTEM.set(ident);
}

/// The daemon's own identity: what it forwards when it calls another
/// daemon for no client.
pub fn system() -> Identity {
    SYSTEM.get().cloned().unwrap_or_default()
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Identity>>> = const { RefCell::new(None) };
}

/// Runs `f` with `ident` as the current thread's identity, restoring the
/// previous one afterwards (the dispatcher sets the client's for a call).
pub fn with_current<T>(ident: Option<Arc<Identity>>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Arc<Identity>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let old = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = old);
        }
    }
    let old = CURRENT.with(|c| std::mem::replace(&mut *c.borrow_mut(), ident));
    let _restore = Restore(old);
    f()
}

/// The identity the current thread serves, if one was set.
pub fn current() -> Option<Arc<Identity>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// virIdentityIsCurrentElevated: the current identity carries this host's
/// system token.
pub fn is_current_elevated() -> bool {
    let Some(mine) = system_token() else {
        return false;
    };
    current().is_some_and(|i| i.system_token() == Some(mine))
}

#[cfg(test)]
mod tests {
    use super::*;
    use virterror::ErrorCode;

    fn s(v: &str) -> TypedValue {
        TypedValue::String(v.into())
    }

    #[test]
    fn unknown_attribute_is_argument_unsupported() {
        let e = Identity::from_params(vec![("colour".into(), s("blue"))]).unwrap_err();
        assert_eq!(e.code, ErrorCode::ArgumentUnsupported);
        assert_eq!(
            e.detail.as_deref(),
            Some("parameter 'colour' not supported")
        );
    }

    #[test]
    fn wrong_type_and_repeats_are_invalid_arg() {
        let e = Identity::from_params(vec![(UNIX_USER_ID.into(), s("0"))]).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArg);
        assert_eq!(
            e.detail.as_deref(),
            Some("invalid type 'string' for parameter 'unix-user-id', expected 'ullong'")
        );
        let e = Identity::from_params(vec![(USER_NAME.into(), s("a")), (USER_NAME.into(), s("b"))])
            .unwrap_err();
        assert_eq!(
            e.detail.as_deref(),
            Some("parameter 'user-name' occurs multiple times")
        );
    }

    #[test]
    fn current_identity_is_scoped_and_elevation_needs_the_token() {
        set_system_token("0123456789abcdef0123456789abcdef".into());
        let plain = Identity::from_params(vec![(USER_NAME.into(), s("root"))]).unwrap();
        let forged =
            Identity::from_params(vec![(SYSTEM_TOKEN.into(), s("not-the-token"))]).unwrap();
        assert!(!is_current_elevated());
        with_current(Some(Arc::new(plain.clone())), || {
            assert!(!is_current_elevated());
            with_current(Some(Arc::new(plain.elevated())), || {
                assert!(is_current_elevated())
            });
            assert!(!is_current_elevated());
        });
        with_current(Some(Arc::new(forged.clone())), || {
            assert!(!is_current_elevated())
        });
        // An identity that has a token keeps it.
        assert_eq!(forged.elevated().system_token(), Some("not-the-token"));
        assert!(current().is_none());
    }

    #[test]
    fn a_local_client_is_known_by_its_peer_credentials_and_sasl_name() {
        let me = std::process::id() as i32;
        let peer = Peer {
            pid: me,
            uid: 1000,
            gid: 100,
            user: Some("alice".into()),
            group: None,
        };
        let i = Identity::for_client(Some(peer), Some("bob".into()));
        assert_eq!(i.user_name(), Some("alice"));
        assert_eq!(i.group_name(), None);
        assert_eq!(i.unix_user_id(), Some(1000));
        assert_eq!(i.unix_group_id(), Some(100));
        assert_eq!(i.process_id(), Some(i64::from(me)));
        assert_eq!(i.sasl_user_name(), Some("bob"));
        assert!(i.params().iter().any(|(k, _)| k == PROCESS_TIME));
        // What a daemon forwards is what the callee accepts.
        assert_eq!(Identity::from_params(i.params().clone()).unwrap(), i);
        // A TCP client has only what it authenticated as.
        let tcp = Identity::for_client(None, None);
        assert!(tcp.params().is_empty());
    }
}
