// SPDX-License-Identifier: LGPL-2.1-or-later
//! URI parsing and routing a connection request to the driver that
//! claims it. The empty URI is resolved as libvirt's `virConnectOpen` does
//! inside a daemon: the configured default URI, else the first driver in
//! registration order whose probe answers, else VIR_ERR_NO_CONNECT for
//! `<null>`.

use std::sync::Arc;

use crate::error::{Error, ErrorCode, ErrorDomain, Result};
use crate::Connection;

/// A parsed libvirt URI: `scheme://[user@][host][:port]/path?query`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Uri {
    pub original: String,
    /// The driver part of the scheme ("test" for "test+unix").
    pub scheme: String,
    pub transport: Option<String>,
    pub user: Option<String>,
    pub server: Option<String>,
    pub port: Option<u16>,
    pub path: String,
    pub query: Vec<(String, String)>,
}

impl Uri {
    /// Parses `s`; as libvirt's daemon, a reference without a scheme
    /// ("default", "/path") is "URI '...' does not include a driver name"
    /// (VIR_ERR_NO_CONNECT), and what is no URI at all an internal error
    /// of the URI domain.
    pub fn parse(s: &str) -> Result<Uri> {
        let bad = || {
            Error::new(
                ErrorCode::InternalError,
                ErrorDomain::Uri,
                format!("Unable to parse URI {s}"),
            )
        };
        let Some((scheme_full, rest)) = s.split_once(':') else {
            return Err(Error::new(
                ErrorCode::NoConnect,
                ErrorDomain::None,
                format!("URI '{s}' does not include a driver name"),
            ));
        };
        if scheme_full.is_empty()
            || !scheme_full
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(bad());
        }
        let (scheme, transport) = match scheme_full.split_once('+') {
            Some((a, b)) => (a.to_string(), Some(b.to_string())),
            None => (scheme_full.to_string(), None),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((a, q)) => (a, parse_query(q)),
            None => (rest, Vec::new()),
        };
        let (authority, path) = if let Some(r) = rest.strip_prefix("//") {
            match r.find('/') {
                Some(i) => (&r[..i], r[i..].to_string()),
                None => (r, String::new()),
            }
        } else {
            ("", rest.to_string())
        };
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()), h),
            None => (None, authority),
        };
        let (server, port) = if let Some(h) = hostport.strip_prefix('[') {
            let (h, p) = h.split_once(']').ok_or_else(bad)?;
            (h.to_string(), p.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        let port = match port {
            Some(p) if !p.is_empty() => Some(p.parse::<u16>().map_err(|_| bad())?),
            _ => None,
        };
        Ok(Uri {
            original: s.to_string(),
            // Schemes match drivers case-sensitively, as in libvirt.
            scheme,
            transport,
            user,
            server: Some(server).filter(|s| !s.is_empty()),
            port,
            path,
            query,
        })
    }

    /// The URI as the daemon-side driver reports it: the transport and the
    /// client-only query parameters (socket=, no_verify=, ...) removed.
    pub fn driver_uri(&self) -> String {
        let q: Vec<String> = self
            .query
            .iter()
            .filter(|(k, _)| !CLIENT_ONLY_PARAMS.contains(&k.as_str()))
            .map(|(k, v)| {
                if v.is_empty() {
                    k.clone()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        let mut s = format!(
            "{}://{}{}",
            self.scheme,
            self.server.clone().unwrap_or_default(),
            self.path
        );
        if !q.is_empty() {
            s.push('?');
            s.push_str(&q.join("&"));
        }
        s
    }
}

/// Query parameters consumed by the client-side remote driver.
const CLIENT_ONLY_PARAMS: &[&str] = &[
    "name",
    "command",
    "socket",
    "netcat",
    "keyfile",
    "sshauth",
    "no_verify",
    "no_tty",
    "pkipath",
    "known_hosts",
    "mode",
    "proxy",
    "tls_priority",
    "known_hosts_verify",
    "transport",
];

fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split(['&', ';'])
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (p.to_string(), String::new()),
        })
        .collect()
}

/// What the daemon knows about the client opening the connection.
#[derive(Debug, Clone, Default)]
pub struct ConnectAuth {
    pub readonly: bool,
    pub uid: Option<u32>,
    pub pid: Option<i32>,
}

/// A driver that can open connections for the URIs it claims.
pub trait DriverFactory: Send + Sync {
    /// Driver name for logs ("test", "LXC").
    fn name(&self) -> &'static str;
    /// Whether this driver handles `uri` (by scheme).
    fn claims(&self, uri: &Uri) -> bool;
    /// The URI this driver answers for a client that opens the empty URI
    /// (libvirt's `connectURIProbe`): its own URI while it is active
    /// (`lxc:///system` for a privileged LXC driver, `xen:///system` on a
    /// Xen host), else `None`, and the registry asks the next driver.
    fn default_uri(&self) -> Option<String> {
        None
    }
    fn open(&self, uri: &Uri, auth: &ConnectAuth) -> Result<Arc<dyn Connection>>;
    /// Daemon start-up, once, before clients are served: reattach to
    /// running guests, autostart. Errors are logged, not fatal.
    fn startup(&self) -> Result<()> {
        Ok(())
    }
    /// SIGHUP: reload persistent configuration.
    fn reload(&self) -> Result<()> {
        Ok(())
    }
    /// Daemon shutdown: release resources; guests keep running.
    fn shutdown(&self) {}
    /// Guests currently running under this driver (the idle timeout waits
    /// for none to be running).
    fn active_guests(&self) -> usize {
        0
    }
    /// Whether this driver's connections have their network and secret
    /// calls answered by the daemon's shared network and secret drivers
    /// (libvirt's shared secondary drivers): true for hypervisor drivers,
    /// false for a driver with networks of its own (test, which then
    /// answers no secret call, as libvirt's) and for the shared drivers
    /// themselves.
    fn uses_shared_network(&self) -> bool {
        true
    }
}

/// The drivers one daemon hosts, in libvirt's registration order (which is
/// also the order in which they are asked for a default URI).
#[derive(Default, Clone)]
pub struct Registry {
    drivers: Vec<Arc<dyn DriverFactory>>,
    default_uri: Option<DefaultUri>,
    /// The shared network driver and the URI its connections open.
    network: Option<(Arc<dyn DriverFactory>, String)>,
    /// The shared secret driver and the URI its connections open.
    secret: Option<(Arc<dyn DriverFactory>, String)>,
    /// The shared storage driver and the URI its connections open.
    storage: Option<(Arc<dyn DriverFactory>, String)>,
    /// The shared node device driver and the URI its connections open.
    nodedev: Option<(Arc<dyn DriverFactory>, String)>,
    /// The shared host interface driver and the URI its connections open.
    interface: Option<(Arc<dyn DriverFactory>, String)>,
}

/// A shared driver's connection for one client.
pub type SharedConnection = Arc<dyn Connection>;

/// How a hypervisor driver reaches the network driver to plug a guest
/// NIC into a network (libvirt's virGetConnectNetwork): the network
/// driver of the same daemon in `libvirtd`, virtnetworkd's socket from a
/// modular daemon. Each call opens a connection for one operation.
pub type NetworkOpener = Arc<dyn Fn() -> Result<Arc<dyn Connection>> + Send + Sync>;

/// A [`NetworkOpener`] onto the network driver `d` of this daemon,
/// opening `uri` (`network:///system`).
pub fn in_process_network(d: Arc<dyn DriverFactory>, uri: &str) -> NetworkOpener {
    let uri = uri.to_string();
    Arc::new(move || {
        let u = Uri::parse(&uri)?;
        d.open(&u, &ConnectAuth::default())
    })
}

/// The shared drivers' connections that answer a client's calls of their
/// families instead of its own connection.
#[derive(Default, Clone)]
pub struct SharedConnections {
    pub network: Option<SharedConnection>,
    pub secret: Option<SharedConnection>,
    pub storage: Option<SharedConnection>,
    pub nodedev: Option<SharedConnection>,
    pub interface: Option<SharedConnection>,
}

/// Looks up the daemon's configured default URI at each empty open.
type DefaultUri = Arc<dyn Fn() -> Option<String> + Send + Sync>;

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, d: Arc<dyn DriverFactory>) {
        self.drivers.push(d);
    }

    pub fn drivers(&self) -> &[Arc<dyn DriverFactory>] {
        &self.drivers
    }

    /// Where the daemon's own default URI comes from (`LIBVIRT_DEFAULT_URI`
    /// in its environment, else `uri_default` in its libvirt.conf): asked
    /// at each open of the empty URI, before the drivers are probed.
    pub fn set_default_uri(&mut self, lookup: impl Fn() -> Option<String> + Send + Sync + 'static) {
        self.default_uri = Some(Arc::new(lookup));
    }

    /// Makes `d` (also added as a driver) the network driver that answers
    /// the network calls of the other drivers' connections, opened with
    /// `uri` (`network:///system`), as libvirt's shared network driver.
    ///
    /// It goes first among the drivers the daemon starts: hypervisor
    /// drivers autostart guests whose NICs need its networks running
    /// (it answers no probe, so the empty URI's probe order stays).
    pub fn set_network_driver(&mut self, d: Arc<dyn DriverFactory>, uri: &str) {
        self.drivers.insert(0, d.clone());
        self.network = Some((d, uri.to_string()));
    }

    /// Makes `d` (also added as a driver) the secret driver that answers
    /// the secret calls of the other drivers' connections, opened with
    /// `uri` (`secret:///system`), as libvirt's shared secret driver.
    pub fn set_secret_driver(&mut self, d: Arc<dyn DriverFactory>, uri: &str) {
        self.drivers.push(d.clone());
        self.secret = Some((d, uri.to_string()));
    }

    /// Makes `d` (also added as a driver) the storage driver that
    /// answers the storage calls of the other drivers' connections,
    /// opened with `uri` (`storage:///system`), as libvirt's shared
    /// storage driver.
    pub fn set_storage_driver(&mut self, d: Arc<dyn DriverFactory>, uri: &str) {
        self.drivers.push(d.clone());
        self.storage = Some((d, uri.to_string()));
    }

    /// Makes `d` (also added as a driver) the node device driver that
    /// answers the node device calls of the other drivers' connections,
    /// opened with `uri` (`nodedev:///system`), as libvirt's shared node
    /// device driver.
    pub fn set_nodedev_driver(&mut self, d: Arc<dyn DriverFactory>, uri: &str) {
        self.drivers.push(d.clone());
        self.nodedev = Some((d, uri.to_string()));
    }

    /// Makes `d` (also added as a driver) the host interface driver that
    /// answers the interface calls of the other drivers' connections,
    /// opened with `uri` (`interface:///system`).
    pub fn set_interface_driver(&mut self, d: Arc<dyn DriverFactory>, uri: &str) {
        self.drivers.push(d.clone());
        self.interface = Some((d, uri.to_string()));
    }

    /// Guests running under every driver.
    pub fn active_guests(&self) -> usize {
        self.drivers.iter().map(|d| d.active_guests()).sum()
    }

    /// The URI an empty name stands for, as libvirt's `virConnectOpen`
    /// finds it: the configured default, else the first driver (in
    /// registration order) whose probe answers.
    pub fn probe(&self) -> Option<String> {
        self.default_uri
            .as_ref()
            .and_then(|f| f())
            .filter(|u| !u.is_empty())
            .or_else(|| self.drivers.iter().find_map(|d| d.default_uri()))
    }

    /// Open a connection for `name` (None or "": the URI [`Self::probe`]
    /// finds). When nothing claims it the error is libvirt's
    /// VIR_ERR_NO_CONNECT naming the URI, or `<null>` when there was none.
    pub fn open(&self, name: Option<&str>, auth: &ConnectAuth) -> Result<Arc<dyn Connection>> {
        let (d, uri) = self.resolve(name)?;
        d.open(&uri, auth)
    }

    /// [`Self::open`], plus the connections of the shared network and
    /// secret drivers when the opening driver uses them (see
    /// [`Self::set_network_driver`], [`Self::set_secret_driver`]): the
    /// ones that answer the client's network and secret calls.
    pub fn open_shared(
        &self,
        name: Option<&str>,
        auth: &ConnectAuth,
    ) -> Result<(Arc<dyn Connection>, SharedConnections)> {
        let (d, uri) = self.resolve(name)?;
        let conn = d.open(&uri, auth)?;
        let open = |shared: &Option<(Arc<dyn DriverFactory>, String)>| -> Result<Option<SharedConnection>> {
            match shared {
                Some((sd, suri)) if d.uses_shared_network() => {
                    Ok(Some(Uri::parse(suri).and_then(|u| sd.open(&u, auth))?))
                }
                _ => Ok(None),
            }
        };
        let shared = SharedConnections {
            network: open(&self.network)?,
            secret: open(&self.secret)?,
            storage: open(&self.storage)?,
            nodedev: open(&self.nodedev)?,
            interface: open(&self.interface)?,
        };
        Ok((conn, shared))
    }

    /// The driver that claims `name` and the parsed URI.
    fn resolve(&self, name: Option<&str>) -> Result<(&Arc<dyn DriverFactory>, Uri)> {
        let Some(name) = name
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .or_else(|| self.probe())
        else {
            return Err(Error::new(
                ErrorCode::NoConnect,
                ErrorDomain::None,
                "<null>",
            ));
        };
        let uri = Uri::parse(&name)?;
        if uri.transport.is_none() && uri.path == "/embed" {
            return Err(embed_refusal(&uri, &name));
        }
        // A client library strips the transport before it sends the URI;
        // one still there ("test+ssh") is a scheme no driver here has.
        if uri.transport.is_none() {
            for d in &self.drivers {
                if d.claims(&uri) {
                    return Ok((d, uri));
                }
            }
        }
        Err(Error::new(ErrorCode::NoConnect, ErrorDomain::None, name))
    }
}

/// A `SCHEME:///embed` URI, as libvirt's virConnectOpen checks it before
/// it asks the drivers: the scheme must be lower-case letters, `root`
/// must be given and absolute; then no driver here runs embedded (the
/// embeddable QEMU driver is not among them), so nothing claims it.
fn embed_refusal(uri: &Uri, name: &str) -> Error {
    if !uri.scheme.bytes().all(|b| b.is_ascii_lowercase()) {
        return Error::new(
            ErrorCode::NoConnect,
            ErrorDomain::None,
            format!(
                "URI scheme '{}' for embedded driver is not valid",
                uri.scheme
            ),
        );
    }
    match uri.query.iter().find(|(k, _)| k == "root") {
        None => Error::new(
            ErrorCode::InvalidArg,
            ErrorDomain::Uri,
            "Missing URI parameter 'root'",
        ),
        Some((_, root)) if !root.starts_with('/') => Error::new(
            ErrorCode::ConfigUnsupported,
            ErrorDomain::None,
            "root path must be absolute",
        ),
        Some(_) => Error::new(ErrorCode::NoConnect, ErrorDomain::None, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_test_uri_with_socket() {
        let u = Uri::parse("test+unix:///default?socket=/tmp/s").unwrap();
        assert_eq!(u.scheme, "test");
        assert_eq!(u.transport.as_deref(), Some("unix"));
        assert_eq!(u.path, "/default");
        assert_eq!(u.driver_uri(), "test:///default");
    }

    #[test]
    fn parses_host_and_port() {
        let u = Uri::parse("qemu+tcp://user@host:16509/system").unwrap();
        assert_eq!(u.server.as_deref(), Some("host"));
        assert_eq!(u.port, Some(16509));
        assert_eq!(u.user.as_deref(), Some("user"));
    }

    #[test]
    fn rejects_garbage() {
        assert!(Uri::parse("x://h:notaport/").is_err());
        let e = Uri::parse("::::").unwrap_err();
        assert_eq!(
            (e.code, e.domain),
            (ErrorCode::InternalError, ErrorDomain::Uri)
        );
        assert_eq!(e.to_string(), "internal error: Unable to parse URI ::::");
    }

    #[test]
    fn reference_without_scheme_has_no_driver_name() {
        let e = Uri::parse("default").unwrap_err();
        assert_eq!(
            (e.code, e.domain),
            (ErrorCode::NoConnect, ErrorDomain::None)
        );
        assert_eq!(
            e.to_string(),
            "no connection driver available for URI 'default' does not include a driver name"
        );
    }

    #[test]
    fn schemes_are_case_sensitive_and_the_error_names_the_uri_as_given() {
        let r = registry(&[("test", None)]);
        let e = opened(&r, Some("TEST:///default"));
        assert_eq!(
            e.to_string(),
            "no connection driver available for TEST:///default"
        );
        let e = opened(&r, Some("test+ssh:///default"));
        assert_eq!(
            e.to_string(),
            "no connection driver available for test+ssh:///default"
        );
        let e = opened(&r, Some("lxc:///embed?root=/x"));
        assert_eq!(
            e.to_string(),
            "no connection driver available for lxc:///embed?root=/x"
        );
        let e = opened(&r, Some("lxc:///embed"));
        assert_eq!(
            e.to_string(),
            "invalid argument: Missing URI parameter 'root'"
        );
        let e = opened(&r, Some("lxc:///embed?root=rel"));
        assert_eq!(
            e.to_string(),
            "unsupported configuration: root path must be absolute"
        );
        let e = opened(&r, Some("LXC:///embed?root=/x"));
        assert_eq!(
            e.to_string(),
            "no connection driver available for URI scheme 'LXC' for embedded driver is not valid"
        );
    }

    struct Fake(&'static str, Option<&'static str>);

    impl DriverFactory for Fake {
        fn name(&self) -> &'static str {
            self.0
        }
        fn claims(&self, uri: &Uri) -> bool {
            uri.scheme == self.0
        }
        fn default_uri(&self) -> Option<String> {
            self.1.map(str::to_string)
        }
        fn open(&self, uri: &Uri, _auth: &ConnectAuth) -> Result<Arc<dyn Connection>> {
            Err(Error::new(
                ErrorCode::InternalError,
                ErrorDomain::None,
                format!("opened {}", uri.original),
            ))
        }
    }

    fn opened(r: &Registry, name: Option<&str>) -> Error {
        match r.open(name, &ConnectAuth::default()) {
            Err(e) => e,
            Ok(_) => panic!("fake drivers never open"),
        }
    }

    fn registry(drivers: &[(&'static str, Option<&'static str>)]) -> Registry {
        let mut r = Registry::new();
        for &(n, d) in drivers {
            r.add(Arc::new(Fake(n, d)));
        }
        r
    }

    #[test]
    fn empty_name_opens_the_first_driver_that_answers_the_probe() {
        let r = registry(&[
            ("test", None),
            ("xen", None),
            ("lxc", Some("lxc:///system")),
            ("vz", Some("vz:///system")),
        ]);
        for name in [None, Some("")] {
            assert_eq!(
                opened(&r, name).detail.as_deref(),
                Some("opened lxc:///system")
            );
        }
    }

    #[test]
    fn configured_default_comes_before_the_probe() {
        let mut r = registry(&[("lxc", Some("lxc:///system")), ("test", None)]);
        r.set_default_uri(|| Some("test:///default".into()));
        assert_eq!(
            opened(&r, Some("")).detail.as_deref(),
            Some("opened test:///default")
        );
    }

    #[test]
    fn nothing_answering_is_no_connect_for_null_said_once() {
        let r = registry(&[("test", None)]);
        let e = opened(&r, Some(""));
        assert_eq!(e.code, ErrorCode::NoConnect);
        assert_eq!(e.domain, ErrorDomain::None);
        assert_eq!(e.to_string(), "no connection driver available for <null>");
    }

    #[test]
    fn the_network_driver_starts_first_and_answers_no_probe() {
        let mut r = registry(&[("test", None), ("lxc", Some("lxc:///system"))]);
        r.set_network_driver(Arc::new(Fake("network", None)), "network:///system");
        let names: Vec<&str> = r.drivers().iter().map(|d| d.name()).collect();
        assert_eq!(names, ["network", "test", "lxc"]);
        assert_eq!(r.probe().as_deref(), Some("lxc:///system"));
    }

    #[test]
    fn unclaimed_scheme_is_no_connect_for_the_uri() {
        let r = registry(&[("test", None)]);
        let e = opened(&r, Some("bogus:///x"));
        assert_eq!(
            e.to_string(),
            "no connection driver available for bogus:///x"
        );
    }
}
