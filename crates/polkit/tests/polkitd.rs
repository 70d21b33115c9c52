// SPDX-License-Identifier: LGPL-2.1-or-later
//! check_auth against a real polkitd on a private system bus, with the
//! test's own rules and the project's policy file (privileged tier: skips,
//! saying why, when not root or when polkitd / dbus-daemon are missing).

use polkit::testbed::{self, PolkitBus, SubjectProcess};
use polkit::{check_auth, check_auth_on_bus, Denial, Failure, PolkitError, Subject};
use polkit::{ACTION_MANAGE, ACTION_MONITOR};

const NOBODY: u32 = 65534;
/// Debian's `daemon` user: a non-root uid other than nobody.
const DAEMON: u32 = 1;

fn skip() -> bool {
    if let Some(why) = testbed::unavailable() {
        eprintln!("SKIP: {why}");
        return true;
    }
    false
}

fn start(rules: &str) -> PolkitBus {
    PolkitBus::start(rules).unwrap_or_else(|e| panic!("polkit testbed: {e}"))
}

#[test]
fn manage_allowed_by_rule_is_ok() {
    if skip() {
        return;
    }
    let bus = start(testbed::RULES_NOBODY_MANAGES);
    let p = SubjectProcess::spawn(NOBODY, NOBODY).unwrap();
    let r = check_auth_on_bus(bus.address(), ACTION_MANAGE, &p.subject(), true);
    assert_eq!(r, Ok(()), "polkitd log: {}", bus.polkitd_log());
}

#[test]
fn manage_refused_by_rule_is_access_denied_by_policy() {
    if skip() {
        return;
    }
    let bus = start(testbed::RULES_NOBODY_MANAGES);
    let p = SubjectProcess::spawn(DAEMON, DAEMON).unwrap();
    let e = check_auth_on_bus(bus.address(), ACTION_MANAGE, &p.subject(), true).unwrap_err();
    assert_eq!(e, PolkitError::Denied(Denial::NotAuthorized));
    assert_eq!((e.code(), e.domain()), (45, 60));
    assert_eq!(
        e.message(),
        "authentication failed: access denied by policy"
    );
    // the read-only action is still open to the same process
    assert_eq!(
        check_auth_on_bus(bus.address(), ACTION_MONITOR, &p.subject(), true),
        Ok(())
    );
}

#[test]
fn auth_admin_without_an_agent_is_auth_unavailable() {
    if skip() {
        return;
    }
    // no rules: the policy file's defaults decide (auth_admin_keep for
    // manage, yes for monitor)
    let bus = start("");
    let p = SubjectProcess::spawn(NOBODY, NOBODY).unwrap();
    let e = check_auth_on_bus(bus.address(), ACTION_MANAGE, &p.subject(), true).unwrap_err();
    assert_eq!(
        e,
        PolkitError::Denied(Denial::NoAgent {
            action: ACTION_MANAGE.into()
        }),
        "polkitd log: {}",
        bus.polkitd_log()
    );
    assert_eq!((e.code(), e.domain()), (94, 60));
    assert_eq!(
        e.message(),
        "authentication unavailable: no polkit agent available to authenticate \
         action 'org.libvirt.unix.manage'"
    );
    assert_eq!(
        check_auth_on_bus(bus.address(), ACTION_MONITOR, &p.subject(), true),
        Ok(())
    );
}

#[test]
fn bus_without_polkitd_is_a_dbus_service_failure() {
    if skip() {
        return;
    }
    let bus = PolkitBus::start_without_polkitd().unwrap();
    let p = SubjectProcess::spawn(NOBODY, NOBODY).unwrap();
    let e = check_auth_on_bus(bus.address(), ACTION_MANAGE, &p.subject(), true).unwrap_err();
    assert!(
        matches!(e, PolkitError::Failed(Failure::Service(_))),
        "{e:?}"
    );
    assert_eq!((e.code(), e.domain()), (89, 47));
    assert!(
        e.message().starts_with(
            "error from service: GDBus.Error:org.freedesktop.DBus.Error.ServiceUnknown: "
        ),
        "{}",
        e.message()
    );
}

#[test]
fn bus_address_pointing_nowhere_is_a_connection_failure() {
    // needs nothing installed: the socket does not exist
    let s = Subject {
        pid: i32::try_from(std::process::id()).unwrap(),
        start_time: 1,
        uid: NOBODY,
    };
    let e = check_auth_on_bus(
        "unix:path=/nonexistent/polkit-test/system_bus_socket",
        ACTION_MANAGE,
        &s,
        true,
    )
    .unwrap_err();
    assert!(matches!(e, PolkitError::Failed(Failure::NoBus(_))), "{e:?}");
    assert_eq!((e.code(), e.domain()), (1, 47));
}

#[test]
fn stopped_polkitd_fails_instead_of_allowing() {
    if skip() {
        return;
    }
    let bus = start(testbed::RULES_NOBODY_MANAGES);
    let p = SubjectProcess::spawn(NOBODY, NOBODY).unwrap();
    assert_eq!(
        check_auth_on_bus(bus.address(), ACTION_MANAGE, &p.subject(), true),
        Ok(())
    );
    let address = bus.address().to_string();
    drop(bus);
    let e = check_auth_on_bus(&address, ACTION_MANAGE, &p.subject(), true).unwrap_err();
    assert!(matches!(e, PolkitError::Failed(Failure::NoBus(_))), "{e:?}");
    eprintln!("after polkitd and its bus stopped: {}", e.message());
}

#[test]
fn stale_start_time_is_not_authorized_as_the_new_process() {
    if skip() {
        return;
    }
    let bus = start(testbed::RULES_NOBODY_MANAGES);
    let p = SubjectProcess::spawn(NOBODY, NOBODY).unwrap();
    let mut s = p.subject();
    s.start_time += 1;
    // polkitd checks the start time itself and refuses to answer
    let e = check_auth_on_bus(bus.address(), ACTION_MANAGE, &s, true).unwrap_err();
    assert!(
        matches!(e, PolkitError::Failed(Failure::Service(_))),
        "{e:?}"
    );
    assert!(
        e.message().starts_with(
            "error from service: GDBus.Error:org.freedesktop.PolicyKit1.Error.Failed: "
        ),
        "{}",
        e.message()
    );
}

#[test]
fn root_subject_is_always_authorized_even_when_rules_say_no() {
    if skip() {
        return;
    }
    // polkitd answers "authorized" for uid 0 before it consults any rule:
    // with polkit, root clients are never refused.
    let bus = start("polkit.addRule(function(action, subject) { return polkit.Result.NO; });");
    let root = SubjectProcess::spawn(0, 0).unwrap();
    assert_eq!(
        check_auth_on_bus(bus.address(), ACTION_MANAGE, &root.subject(), true),
        Ok(())
    );
    // while the same rules do refuse everyone else
    let nobody = SubjectProcess::spawn(NOBODY, NOBODY).unwrap();
    let e = check_auth_on_bus(bus.address(), ACTION_MONITOR, &nobody.subject(), true);
    assert_eq!(e, Err(PolkitError::Denied(Denial::NotAuthorized)));
}

#[test]
fn polkitd_judges_the_uid_a_root_caller_gives_not_the_process_owner() {
    if skip() {
        return;
    }
    // A root caller's uid is taken on trust: the daemon must pass the
    // socket's peer uid, never one the client could choose.
    let bus = start(testbed::RULES_NOBODY_MANAGES);
    let p = SubjectProcess::spawn(DAEMON, DAEMON).unwrap();
    let mut s = p.subject();
    s.uid = NOBODY;
    assert_eq!(
        check_auth_on_bus(bus.address(), ACTION_MANAGE, &s, true),
        Ok(())
    );
}

#[test]
fn check_auth_reads_dbus_system_bus_address() {
    if skip() {
        return;
    }
    // The only test in this binary that sets the variable, and it reads it
    // back through check_auth alone.
    let bus = start(testbed::RULES_NOBODY_MANAGES);
    let p = SubjectProcess::spawn(NOBODY, NOBODY).unwrap();
    std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", bus.address());
    let r = check_auth(ACTION_MANAGE, &p.subject(), true);
    std::env::remove_var("DBUS_SYSTEM_BUS_ADDRESS");
    assert_eq!(r, Ok(()));
}

#[test]
fn check_auth_called_from_an_async_task_and_concurrently() {
    if skip() {
        return;
    }
    // The daemon is a tokio program: calling straight from a task must not
    // trip zbus's own runtime, and parallel checks must not interfere.
    let bus = start(testbed::RULES_NOBODY_MANAGES);
    let p = SubjectProcess::spawn(NOBODY, NOBODY).unwrap();
    let s = p.subject();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let address = bus.address().to_string();
    let results = rt.block_on(async move {
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let a = address.clone();
                tokio::spawn(async move { check_auth_on_bus(&a, ACTION_MANAGE, &s, true) })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert_eq!(results, vec![Ok(()); 4]);
}
