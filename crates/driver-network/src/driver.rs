// SPDX-License-Identifier: LGPL-2.1-or-later
//! The driver state (networks, events, the host seam), its factory and
//! its connection: each virNetwork* API as libvirt's bridge driver answers
//! it, with its error codes and words.
//!
//! Locking: a network's state lock is held for the whole of an operation
//! on it (start and destroy included), never while another network is
//! locked; events are published after the lock is released. Bridge names
//! are chosen and checked under `validate_lock`, so two definitions cannot
//! claim one bridge.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use conf::network::netdev::{Bandwidth, BandwidthRate, Mac};
use conf::network::port::{NetworkPortDef, Plug};
use conf::network::update as nu;
use conf::network::{ForwardType, NetworkFormatFlags};
use conf::NetworkDef;
use driver::consts::{list_net, object_event as oe};
use driver::objlist::{Obj, ObjList, Order};
use driver::{
    ConnectAuth, Connection, DriverFactory, Error, Event, EventBus, EventSink, NetworkDhcpLease,
    NetworkPortRef, NetworkRef, Result, TypedParams, TypedValue, Uri,
};
use network::dnsmasq::{self, DnsmasqPaths};
use network::firewall::{self, Backend};
use virterror::{ErrorCode, ErrorDomain};

use crate::fw::{self, Applied};
use crate::ports;
use crate::runtime::NetHost;
use crate::status;
use crate::NetworkDriverConfig;

const D: ErrorDomain = ErrorDomain::Network;
const SIGHUP: i32 = 1;
const SIGTERM: i32 = 15;
const SIGKILL: i32 = 9;
/// How long a dnsmasq told to stop may take before it is killed.
const DNSMASQ_GRACE: Duration = Duration::from_secs(5);
/// The highest N of a generated `virbrN`.
const MAX_BRIDGE_ID: u32 = 256;
/// How often the supervisor looks at each dnsmasq.
const SUPERVISE_EVERY: Duration = Duration::from_secs(2);

/// virNetworkXMLFlags.
const XML_INACTIVE: u32 = 1;
/// virNetworkUpdateFlags.
const AFFECT_LIVE: u32 = 1;
const AFFECT_CONFIG: u32 = 2;

fn log(msg: impl AsRef<str>) {
    eprintln!("network driver: {}", msg.as_ref());
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::operation_invalid(D, msg)
}

fn internal(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::InternalError, D, msg)
}

fn no_network_uuid(net: &NetworkRef) -> Error {
    Error::new(
        ErrorCode::NoNetwork,
        D,
        format!(
            "no network with matching uuid '{}' ({})",
            conf::Uuid(net.uuid),
            net.name
        ),
    )
}

/// One network.
#[derive(Debug)]
pub struct Net {
    /// The running definition while active, else the persistent one.
    pub def: NetworkDef,
    /// The persistent definition while a persistent network runs with a
    /// different live one.
    pub new_def: Option<NetworkDef>,
    pub persistent: bool,
    pub active: bool,
    pub autostart: bool,
    /// The running dnsmasq.
    pub dnsmasq_pid: Option<u32>,
    /// The firewall rules the running network added.
    pub firewall: Option<Applied>,
    /// The ports of the running network (guest NICs plugged into it).
    pub ports: Vec<NetworkPortDef>,
}

impl Net {
    fn nref(&self) -> NetworkRef {
        NetworkRef {
            name: self.def.name.clone(),
            uuid: self.def.uuid.0,
        }
    }

    /// The persistent definition.
    fn persistent_def(&self) -> &NetworkDef {
        self.new_def.as_ref().unwrap_or(&self.def)
    }
}

/// Whether libvirt builds this network's bridge itself.
fn is_virtual(def: &NetworkDef) -> bool {
    matches!(
        def.forward.mode,
        ForwardType::Nat | ForwardType::Route | ForwardType::Open | ForwardType::None
    )
}

/// Whether libvirt's firewall rules for `def` masquerade with a port
/// range (NAT of an IPv4 subnet, or of an IPv6 one with `<nat ipv6='yes'>`).
fn masquerades_ports(def: &NetworkDef) -> bool {
    def.forward.mode == ForwardType::Nat
        && def
            .ips
            .iter()
            .any(|ip| ip.address.is_ipv4() || def.forward.nat_ipv6 == Some(true))
}

/// Whether the running network needs a dnsmasq (networkStartDhcpDaemon).
fn needs_dnsmasq(def: &NetworkDef) -> bool {
    if !is_virtual(def) || def.ips.is_empty() {
        return false;
    }
    def.ips
        .iter()
        .any(|ip| ip.has_dhcp() || ip.tftproot.is_some())
        || def.dns.enable != Some(false)
}

/// The network driver of one daemon.
pub struct NetworkDriver {
    cfg: NetworkDriverConfig,
    host: Arc<dyn NetHost>,
    nets: ObjList<Net>,
    events: EventBus,
    /// `firewall_backend` of network.conf.
    backend_conf: Mutex<Option<Backend>>,
    validate_lock: Mutex<()>,
    stopping: AtomicBool,
}

impl NetworkDriver {
    pub fn new(cfg: NetworkDriverConfig, host: Arc<dyn NetHost>) -> Arc<NetworkDriver> {
        Arc::new(NetworkDriver {
            cfg,
            host,
            nets: ObjList::new(Order::Name),
            events: EventBus::new(),
            backend_conf: Mutex::new(None),
            validate_lock: Mutex::new(()),
            stopping: AtomicBool::new(false),
        })
    }

    pub fn config(&self) -> &NetworkDriverConfig {
        &self.cfg
    }

    fn publish(&self, net: &NetworkRef, event: i32) {
        self.events.publish(Event::NetworkLifecycle {
            net: net.clone(),
            event,
            detail: 0,
        });
    }

    fn dnsmasq_paths(&self, name: &str) -> DnsmasqPaths {
        DnsmasqPaths::new(&self.cfg.dnsmasq_dir.to_string_lossy(), name)
    }

    fn pid_file(&self, name: &str) -> PathBuf {
        self.cfg.pid_dir.join(format!("{name}.pid"))
    }

    fn leases_file(&self, name: &str) -> PathBuf {
        self.cfg.dnsmasq_dir.join(format!("{name}.leases"))
    }

    /// libvirt's lease database of the network's bridge.
    fn status_leases_file(&self, def: &NetworkDef) -> PathBuf {
        self.cfg.dnsmasq_dir.join(format!(
            "{}.status",
            def.bridge.as_deref().unwrap_or(&def.name)
        ))
    }

    fn autostart_link(&self, name: &str) -> PathBuf {
        self.cfg.autostart_dir.join(format!("{name}.xml"))
    }

    // ---- start-up ----

    /// Reads network.conf, loads the persistent configs, takes running
    /// networks back from their status files, autostarts, and starts the
    /// dnsmasq supervisor.
    pub fn startup(self: &Arc<Self>) {
        self.read_network_conf();
        self.load_configs();
        self.load_status();
        self.autostart();
        let weak = Arc::downgrade(self);
        let _ = std::thread::Builder::new()
            .name("net-supervisor".into())
            .spawn(move || supervise(weak));
    }

    fn read_network_conf(&self) {
        let Some(path) = &self.cfg.network_conf else {
            return;
        };
        if !path.exists() {
            return;
        }
        let value = virconf::Conf::read_file(path)
            .map_err(|e| e.to_string())
            .and_then(|c| c.get_string("firewall_backend").map_err(|e| e.to_string()));
        match value {
            Ok(Some(v)) => match Backend::parse(&v) {
                Some(b) => *self.backend_conf.lock().unwrap_or_else(|e| e.into_inner()) = Some(b),
                None => log(format!(
                    "unrecognized firewall_backend = '{v}' in {}",
                    path.display()
                )),
            },
            Ok(None) => {}
            Err(e) => log(format!("cannot read {}: {e}", path.display())),
        }
    }

    fn xml_files(dir: &Path) -> Vec<(String, PathBuf)> {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut v: Vec<(String, PathBuf)> = rd
            .flatten()
            .filter_map(|e| {
                let p = e.path();
                let name = p.file_name()?.to_str()?.strip_suffix(".xml")?.to_string();
                p.is_file().then_some((name, p))
            })
            .collect();
        v.sort();
        v
    }

    fn load_configs(&self) {
        for (name, path) in Self::xml_files(&self.cfg.config_dir) {
            let def = match status::load_config(&path, &name) {
                Ok(d) => d,
                Err(e) => {
                    log(format!("cannot load network '{name}': {e}"));
                    continue;
                }
            };
            let autostart = self.autostart_link(&name).exists();
            let net = Net {
                def,
                new_def: None,
                persistent: true,
                active: false,
                autostart,
                dnsmasq_pid: None,
                firewall: None,
                ports: Vec::new(),
            };
            let (uuid, n) = (net.def.uuid.0, Arc::from(net.def.name.as_str()));
            if let Err(c) = self.nets.add(uuid, n, net, |_, _, _| ()) {
                log(c.to_error("network", D).to_string());
            }
        }
    }

    /// networkUpdateState: a network whose status file remains is running
    /// when its bridge still exists; its dnsmasq is found by pid file and
    /// command line, and started again only when gone.
    fn load_status(&self) {
        for (name, path) in Self::xml_files(&self.cfg.state_dir) {
            let st = match std::fs::read_to_string(&path)
                .map_err(|e| status::file_error("cannot read status file", &path, &e))
                .and_then(|t| status::parse_status(&t))
            {
                Ok(s) if s.def.name == name => s,
                Ok(_) | Err(_) => {
                    log(format!(
                        "ignoring unreadable status file {}",
                        path.display()
                    ));
                    continue;
                }
            };
            let def = st.def;
            let bridge_ok = !is_virtual(&def)
                || def
                    .bridge
                    .as_deref()
                    .is_some_and(|b| self.host.link_exists(b));
            if !bridge_ok {
                log(format!("network '{name}' is gone: cleaning up after it"));
                if let Some(a) = &st.firewall {
                    if let Ok(rules) = firewall::network_rules(&def) {
                        fw::remove(&*self.host, a, &rules);
                    }
                }
                self.stop_dnsmasq(&def, self.read_pid(&def));
                ports::delete_all(&self.cfg.state_dir, &name);
                let _ = status::remove_file(&path);
                continue;
            }
            let pid = self.read_pid(&def);
            let uuid = def.uuid.0;
            let name_arc: Arc<str> = Arc::from(name.as_str());
            // The ports of guests plugged before the restart count again.
            let mut def = def;
            def.connections = 0;
            let mut live_ports = Vec::new();
            for p in ports::load_all(&self.cfg.state_dir, &name) {
                match ports::notify(&mut def, &p) {
                    Ok(()) => live_ports.push(p),
                    Err(e) => log(format!("network '{name}': port {}: {e}", p.uuid)),
                }
            }
            let live = Net {
                def,
                new_def: None,
                persistent: false,
                active: true,
                autostart: false,
                dnsmasq_pid: pid,
                firewall: st.firewall,
                ports: live_ports,
            };
            let res = self.nets.add(uuid, name_arc, live, |_, n, unused| {
                if let Some(live) = unused {
                    // A persistent network: its config stays the new_def.
                    let persistent = std::mem::replace(&mut n.def, live.def);
                    if persistent != n.def {
                        n.new_def = Some(persistent);
                    }
                    n.active = true;
                    n.dnsmasq_pid = live.dnsmasq_pid;
                    n.firewall = live.firewall;
                    n.ports = live.ports;
                }
                if needs_dnsmasq(&n.def) && n.dnsmasq_pid.is_none() {
                    log(format!(
                        "dnsmasq of network '{name}' is gone: starting it again"
                    ));
                    match self.start_dnsmasq(&n.def) {
                        Ok(p) => n.dnsmasq_pid = Some(p),
                        Err(e) => log(format!("network '{name}': {e}")),
                    }
                }
            });
            if let Err(c) = res {
                log(c.to_error("network", D).to_string());
            }
        }
    }

    fn autostart(&self) {
        for e in self.nets.snapshot().iter() {
            let Some(mut n) = e.obj.lock_live() else {
                continue;
            };
            if n.autostart && !n.active {
                match self.start_network(&mut n) {
                    Ok(()) => {
                        let r = n.nref();
                        drop(n);
                        self.publish(&r, oe::STARTED);
                    }
                    Err(err) => log(format!("cannot autostart network '{}': {err}", e.name)),
                }
            }
        }
    }

    /// Stops supervising (the daemon shuts down; networks keep running).
    pub fn shutdown(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Running networks.
    pub fn active_count(&self) -> usize {
        self.nets
            .snapshot()
            .iter()
            .filter(|e| e.obj.lock_live().is_some_and(|n| n.active))
            .count()
    }

    /// One round of supervision: a dnsmasq that died is reported and
    /// started again.
    pub fn check_dnsmasq(&self) {
        for e in self.nets.snapshot().iter() {
            let Some(mut n) = e.obj.lock_live() else {
                continue;
            };
            if !n.active || !needs_dnsmasq(&n.def) {
                continue;
            }
            let conf_file = self.dnsmasq_paths(&n.def.name).config;
            let alive = n
                .dnsmasq_pid
                .is_some_and(|p| self.host.is_dnsmasq(p, &conf_file));
            if alive {
                continue;
            }
            log(format!(
                "dnsmasq (pid {}) of network '{}' died: starting it again",
                n.dnsmasq_pid.map_or(-1, i64::from),
                n.def.name
            ));
            n.dnsmasq_pid = None;
            match self.start_dnsmasq(&n.def) {
                Ok(p) => n.dnsmasq_pid = Some(p),
                Err(err) => log(format!("network '{}': {err}", n.def.name)),
            }
        }
    }

    // ---- validation ----

    /// networkValidate's part that needs the other networks: the bridge
    /// name (chosen from `virbr%d` or the given template when missing)
    /// and a MAC address for bridges libvirt creates.
    fn validate(&self, def: &mut NetworkDef) -> Result<()> {
        if !is_virtual(def) {
            let mode = def.forward.mode.as_str();
            let unsupported = |what: &str| {
                Err(Error::new(
                    ErrorCode::ConfigUnsupported,
                    D,
                    format!(
                        "Unsupported {what} in network {} with forward mode='{mode}'",
                        def.name
                    ),
                ))
            };
            if def.mac.is_some() {
                return unsupported("<mac> element");
            }
            if !def.ips.is_empty() {
                return unsupported("<ip> element");
            }
            if !def.dns.txts.is_empty() || !def.dns.hosts.is_empty() || !def.dns.srvs.is_empty() {
                return unsupported("<dns> element");
            }
            if def.domain.is_some() {
                return unsupported("<domain> element");
            }
            return Ok(());
        }
        let bridge = def.bridge.clone().filter(|b| !b.contains("%d"));
        match bridge {
            Some(b) => {
                if self.bridge_in_use(&b, &def.name) {
                    return Err(internal(format!("bridge name '{b}' already in use.")));
                }
            }
            None => {
                let templ = def
                    .bridge
                    .clone()
                    .filter(|b| b.matches('%').count() == 1)
                    .unwrap_or_else(|| "virbr%d".into());
                let name = (0..=MAX_BRIDGE_ID)
                    .map(|i| templ.replacen("%d", &i.to_string(), 1))
                    .find(|n| !self.bridge_in_use(n, &def.name) && !self.host.link_exists(n))
                    .ok_or_else(|| {
                        internal(format!("Bridge generation exceeded max id {MAX_BRIDGE_ID}"))
                    })?;
                def.bridge = Some(name);
            }
        }
        if def.mac.is_none() {
            let mut m = [0x52, 0x54, 0x00, 0, 0, 0];
            let mut r = [0u8; 3];
            conf::Uuid::generate()
                .map(|u| r.copy_from_slice(&u.0[..3]))
                .map_err(|e| e.in_domain(D))?;
            m[3..].copy_from_slice(&r);
            def.mac = Some(Mac(m));
        }
        Ok(())
    }

    /// virNetworkObjBridgeInUse: another network (live or persistent
    /// definition) names `bridge`.
    fn bridge_in_use(&self, bridge: &str, skip: &str) -> bool {
        self.nets.snapshot().iter().any(|e| {
            if &*e.name == skip {
                return false;
            }
            e.obj.lock_live().is_some_and(|n| {
                n.def.bridge.as_deref() == Some(bridge)
                    || n.new_def.as_ref().and_then(|d| d.bridge.as_deref()) == Some(bridge)
            })
        })
    }

    /// networkCheckRouteCollision: an IPv4 subnet of `def` that a route
    /// of the host already covers.
    fn check_route_collision(&self, def: &NetworkDef) -> Result<()> {
        let Some(routes) = self.host.routes() else {
            return Ok(());
        };
        if !routes.starts_with("Iface") {
            return Ok(());
        }
        for line in routes.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 8 {
                continue;
            }
            let (Ok(dest), Ok(mask)) =
                (u32::from_str_radix(f[1], 16), u32::from_str_radix(f[7], 16))
            else {
                continue;
            };
            // /proc/net/route prints the address bytes as a little-endian
            // word.
            let (dest, mask) = (
                u32::from_be_bytes(dest.to_le_bytes()),
                u32::from_be_bytes(mask.to_le_bytes()),
            );
            let dest = dest & mask;
            for ip in &def.ips {
                let (IpAddr::V4(a), Some(IpAddr::V4(m))) = (ip.address, ip.effective_netmask())
                else {
                    continue;
                };
                let (a, m) = (u32::from(a), u32::from(m));
                if a & m == dest && m == mask {
                    return Err(internal(format!(
                        "Network is already in use by interface {}",
                        f[0]
                    )));
                }
            }
        }
        Ok(())
    }

    // ---- starting and stopping ----

    /// networkStartNetwork: brings `n` up; nothing is left when it fails.
    fn start_network(&self, n: &mut Net) -> Result<()> {
        if n.active {
            return Err(invalid("network is already active"));
        }
        n.def.connections = 0;
        let def = n.def.clone();
        ports::delete_all(&self.cfg.state_dir, &def.name);
        let (pid, applied) = if is_virtual(&def) {
            self.start_virtual(&def)?
        } else {
            (None, None)
        };
        // libvirt's masquerading rules fill the port range they use into
        // the live definition: a running NAT network shows it.
        let mut def = def;
        if applied.is_some() && masquerades_ports(&def) && def.forward.nat_port == (0, 0) {
            def.forward.nat_port = (1024, 65535);
        }
        if let Err(e) = status::save_status(&self.cfg.state_dir, &def, applied.as_ref(), &[]) {
            self.stop_virtual(&def, pid, applied.as_ref());
            return Err(e);
        }
        if def.forward.nat_port != n.def.forward.nat_port {
            // Only the live definition: the persistent one stays as given.
            if n.persistent && n.new_def.is_none() {
                n.new_def = Some(n.def.clone());
            }
            n.def.forward.nat_port = def.forward.nat_port;
        }
        n.active = true;
        n.dnsmasq_pid = pid;
        n.firewall = applied;
        Ok(())
    }

    fn start_virtual(&self, def: &NetworkDef) -> Result<(Option<u32>, Option<Applied>)> {
        self.check_route_collision(def)?;
        let Some(bridge) = def.bridge.clone() else {
            return Err(internal(format!(
                "network '{}' has no bridge name defined",
                def.name
            )));
        };
        if self.host.link_exists(&bridge) {
            return Err(Error::new(
                ErrorCode::SystemError,
                ErrorDomain::None,
                format!("error creating bridge interface {bridge}: File exists"),
            ));
        }
        let mut addresses = Vec::new();
        for ip in &def.ips {
            let prefix = u32::try_from(ip.effective_prefix()).map_err(|_| {
                internal(format!(
                    "bridge '{bridge}' has an invalid netmask or IP address"
                ))
            })?;
            addresses.push((ip.address, prefix));
        }
        let spec = host::net::BridgeSpec {
            name: bridge.clone(),
            mac: def.mac.as_ref().map(|m| m.0),
            mtu: def.mtu,
            stp: def.stp,
            delay: def.delay,
            addresses,
        };
        self.host.create_bridge(&spec).map_err(|e| {
            Error::new(
                ErrorCode::SystemError,
                ErrorDomain::None,
                format!("error creating bridge interface {bridge}: {e}"),
            )
        })?;
        let undo_bridge = || {
            let _ = self.host.delete_bridge(&bridge);
        };
        if let Err(e) = self.set_ipv6_sysctls(def, &bridge) {
            undo_bridge();
            return Err(e);
        }
        self.add_routes(def, &bridge);
        let applied = if def.forward.mode == ForwardType::Open {
            None
        } else {
            let res = firewall::network_rules(def).and_then(|rules| {
                let backend = fw::choose(
                    &*self.host,
                    *self.backend_conf.lock().unwrap_or_else(|e| e.into_inner()),
                )?;
                fw::apply(&*self.host, backend, &rules)
            });
            match res {
                Ok(a) => Some(a),
                Err(e) => {
                    undo_bridge();
                    return Err(e);
                }
            }
        };
        let undo_fw = || {
            if let Some(a) = &applied {
                if let Ok(rules) = firewall::network_rules(def) {
                    fw::remove(&*self.host, a, &rules);
                }
            }
        };
        if def.forward.mode != ForwardType::None {
            let v4 = def.ips.iter().any(|ip| ip.address.is_ipv4());
            let v6 = def.ips.iter().any(|ip| ip.address.is_ipv6());
            if let Err(e) = self.host.enable_forwarding(v4, v6) {
                undo_fw();
                undo_bridge();
                return Err(Error::new(
                    ErrorCode::SystemError,
                    D,
                    format!("failed to enable IP forwarding: {e}"),
                ));
            }
        }
        let pid = if needs_dnsmasq(def) {
            match self.start_dnsmasq(def) {
                Ok(p) => Some(p),
                Err(e) => {
                    undo_fw();
                    undo_bridge();
                    return Err(e);
                }
            }
        } else {
            None
        };
        if let Err(e) = self.set_bandwidth(def, &bridge) {
            self.clear_bandwidth(def, &bridge);
            self.stop_dnsmasq(def, pid);
            undo_fw();
            undo_bridge();
            return Err(e);
        }
        Ok((pid, applied))
    }

    /// virNetDevBandwidthSet on the bridge: the network's `<bandwidth>`
    /// shapes all its guests together (a class hierarchy whose 1:2 class
    /// takes the traffic of guests without a floor).
    fn set_bandwidth(&self, def: &NetworkDef, bridge: &str) -> Result<()> {
        let Some(bw) = &def.bandwidth else {
            return Ok(());
        };
        if !self.cfg.privileged {
            return Err(Error::new(
                ErrorCode::OperationUnsupported,
                ErrorDomain::None,
                "Network bandwidth tuning is not available in session mode",
            ));
        }
        self.clear_bandwidth(def, bridge);
        for c in network::bandwidth::set_commands(bridge, bw, true, true) {
            self.host.run(&c).map_err(|e| {
                Error::new(
                    ErrorCode::InternalError,
                    ErrorDomain::None,
                    format!(
                        "Child process ({}) unexpected exit status 2: {e}",
                        c.join(" ")
                    ),
                )
            })?;
        }
        Ok(())
    }

    /// virNetDevBandwidthClear on the bridge (nothing there is fine).
    fn clear_bandwidth(&self, def: &NetworkDef, bridge: &str) {
        if def.bandwidth.is_some() {
            for c in network::bandwidth::clear_commands(bridge) {
                let _ = self.host.run(&c);
            }
        }
    }

    /// networkSetIPv6Sysctls: IPv6 off on a bridge without IPv6 addresses
    /// (on, with them, whatever the default); guests' router
    /// advertisements ignored and no autoconfiguration on the gateway.
    fn set_ipv6_sysctls(&self, def: &NetworkDef, bridge: &str) -> Result<()> {
        let enable = def.ips.iter().any(|ip| ip.address.is_ipv6());
        let sys = |e: String| Error::new(ErrorCode::SystemError, D, e);
        let present = self
            .host
            .set_ipv6_sysctl(bridge, "disable_ipv6", if enable { "0" } else { "1" })
            .map_err(sys)?;
        if !present {
            if enable {
                return Err(sys(format!(
                    "cannot write to '/proc/sys/net/ipv6/conf/{bridge}/disable_ipv6' on bridge '{bridge}': No such file or directory"
                )));
            }
            return Ok(());
        }
        for key in ["accept_ra", "autoconf"] {
            self.host.set_ipv6_sysctl(bridge, key, "0").map_err(sys)?;
        }
        Ok(())
    }

    /// networkAddRouteToBridge for each `<route>`: a failed route is
    /// logged and the network starts anyway, as libvirt's does.
    fn add_routes(&self, def: &NetworkDef, bridge: &str) {
        for r in &def.routes {
            let prefix = r.prefix.map(|p| p as i32).unwrap_or_else(|| {
                conf::network::addr::ip_prefix(Some(&r.address), r.netmask.as_ref(), 0)
            });
            if prefix < 0 {
                log(format!(
                    "network '{}' has an invalid netmask or IP address in route definition",
                    def.name
                ));
                continue;
            }
            let fam = if r.address.is_ipv6() { "-6" } else { "-4" };
            let args: Vec<String> = [
                "ip",
                fam,
                "route",
                "add",
                &format!("{}/{prefix}", conf::network::addr::format(&r.address)),
                "via",
                &conf::network::addr::format(&r.gateway),
                "dev",
                bridge,
                "proto",
                "static",
                "metric",
                &r.metric.unwrap_or(1).to_string(),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            if let Err(e) = self.host.run(&args) {
                log(format!("network '{}': cannot add route: {e}", def.name));
            }
        }
    }

    /// Writes dnsmasq's files for `def` (the hosts files only when
    /// `hosts_only`).
    fn write_dnsmasq_files(&self, def: &NetworkDef, hosts_only: bool) -> Result<String> {
        let dir = &self.cfg.dnsmasq_dir;
        std::fs::create_dir_all(dir)
            .map_err(|e| status::file_error("cannot create directory", dir, &e))?;
        let paths = self.dnsmasq_paths(&def.name);
        let pid_file = self.pid_file(&def.name);
        let files = dnsmasq::conf_contents(def, Some(&pid_file.to_string_lossy()), &paths)?;
        let write = |path: &str, text: &str| {
            host::fs::write_atomic(path, text.as_bytes(), 0o600).map_err(|e| {
                Error::new(
                    ErrorCode::SystemError,
                    D,
                    format!("couldn't write dnsmasq file '{path}': {e}"),
                )
            })
        };
        write(&paths.hostsfile, files.hostsfile.as_deref().unwrap_or(""))?;
        write(&paths.addnhosts, &files.addnhosts)?;
        if !hosts_only {
            write(&paths.config, &files.config)?;
        }
        Ok(paths.config)
    }

    /// networkStartDhcpDaemon: dnsmasq with the generated config; its pid
    /// from the pid file it writes before its starter exits.
    fn start_dnsmasq(&self, def: &NetworkDef) -> Result<u32> {
        let pid_dir = &self.cfg.pid_dir;
        std::fs::create_dir_all(pid_dir)
            .map_err(|e| status::file_error("cannot create directory", pid_dir, &e))?;
        let pid_file = self.pid_file(&def.name);
        let _ = std::fs::remove_file(&pid_file);
        let conf_file = self.write_dnsmasq_files(def, false)?;
        let mut env = vec![(
            "VIR_BRIDGE_NAME".to_string(),
            def.bridge.clone().unwrap_or_default(),
        )];
        // libvirt's lease database: dnsmasq keeps no file of its own and
        // runs the lease helper at each change. Without the helper
        // installed, dnsmasq's own leases file is read instead.
        let args = match leases_helper() {
            Some(helper) => {
                env.push((
                    "LIBVIRT_RS_DNSMASQ_DIR".to_string(),
                    self.cfg.dnsmasq_dir.display().to_string(),
                ));
                vec![
                    format!("--conf-file={conf_file}"),
                    "--leasefile-ro".to_string(),
                    format!("--dhcp-script={}", helper.display()),
                ]
            }
            None => {
                log("libvirt_leaseshelper not found: dnsmasq keeps its own leases file");
                vec![
                    format!("--conf-file={conf_file}"),
                    format!("--dhcp-leasefile={}", self.leases_file(&def.name).display()),
                ]
            }
        };
        // A lease-script run of the dnsmasq just stopped can still hold
        // the sockets it inherited for a moment: its addresses are then
        // "already in use" until it exits.
        let deadline = std::time::Instant::now() + DNSMASQ_GRACE;
        loop {
            match self.host.start_dnsmasq(&args, &env) {
                Ok(()) => break,
                Err(e)
                    if e.contains("Address already in use")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(internal(format!("Child process (dnsmasq) unexpected {e}"))),
            }
        }
        self.read_pid(def).ok_or_else(|| {
            internal(format!(
                "dnsmasq of network '{}' did not write its pid file {}",
                def.name,
                pid_file.display()
            ))
        })
    }

    /// The pid of `def`'s live dnsmasq, from its pid file.
    fn read_pid(&self, def: &NetworkDef) -> Option<u32> {
        let text = std::fs::read_to_string(self.pid_file(&def.name)).ok()?;
        let pid: u32 = text.trim().parse().ok()?;
        let conf_file = self.dnsmasq_paths(&def.name).config;
        self.host.is_dnsmasq(pid, &conf_file).then_some(pid)
    }

    /// Stops `def`'s dnsmasq and waits for it to be gone (SIGKILL after
    /// a grace period), so that a dnsmasq started next for the network
    /// does not find its addresses still taken.
    fn stop_dnsmasq(&self, def: &NetworkDef, pid: Option<u32>) {
        let conf_file = self.dnsmasq_paths(&def.name).config;
        if let Some(p) = pid {
            if self.host.is_dnsmasq(p, &conf_file) {
                let _ = self.host.kill(p, SIGTERM);
            }
        }
        // The lease-script helper dnsmasq forks may hold its sockets a
        // little longer: every process of this config must be gone.
        let deadline = std::time::Instant::now() + DNSMASQ_GRACE;
        let mut told = Vec::new();
        loop {
            let left = self.host.dnsmasq_pids(&conf_file);
            if left.is_empty() {
                break;
            }
            for p in &left {
                if pid != Some(*p) && !told.contains(p) {
                    let _ = self.host.kill(*p, SIGTERM);
                    told.push(*p);
                }
            }
            if std::time::Instant::now() >= deadline {
                for p in left {
                    let _ = self.host.kill(p, SIGKILL);
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = std::fs::remove_file(self.pid_file(&def.name));
    }

    /// networkShutdownNetworkVirtual: dnsmasq, firewall rules, bridge.
    fn stop_virtual(&self, def: &NetworkDef, pid: Option<u32>, applied: Option<&Applied>) {
        if !is_virtual(def) {
            return;
        }
        if let Some(b) = &def.bridge {
            self.clear_bandwidth(def, b);
        }
        self.stop_dnsmasq(def, pid);
        if let Some(a) = applied {
            if let Ok(rules) = firewall::network_rules(def) {
                fw::remove(&*self.host, a, &rules);
            }
        }
        if let Some(b) = &def.bridge {
            if self.host.link_exists(b) {
                if let Err(e) = self.host.delete_bridge(b) {
                    log(format!("cannot delete bridge {b}: {e}"));
                }
            }
        }
    }

    /// networkShutdownNetwork, then the definition it returns to.
    fn shutdown_network(&self, n: &mut Net) {
        let def = n.def.clone();
        self.stop_virtual(&def, n.dnsmasq_pid.take(), n.firewall.take().as_ref());
        ports::delete_all(&self.cfg.state_dir, &def.name);
        n.ports.clear();
        n.def.connections = 0;
        let _ = status::remove_file(&self.cfg.state_dir.join(format!("{}.xml", def.name)));
        n.active = false;
        if let Some(d) = n.new_def.take() {
            n.def = d;
        }
    }

    /// networkRemoveInactive's files.
    fn remove_dnsmasq_files(&self, def: &NetworkDef) {
        let p = self.dnsmasq_paths(&def.name);
        for f in [&p.config, &p.hostsfile, &p.addnhosts] {
            let _ = std::fs::remove_file(f);
        }
        let _ = std::fs::remove_file(self.leases_file(&def.name));
        if def.bridge.is_some() {
            let _ = std::fs::remove_file(self.status_leases_file(def));
        }
    }

    // ---- the API ----

    fn obj(&self, net: &NetworkRef) -> Result<Arc<Obj<Net>>> {
        self.nets.get(&net.uuid).ok_or_else(|| no_network_uuid(net))
    }

    fn with_net<R>(
        &self,
        net: &NetworkRef,
        f: impl FnOnce(&Arc<Obj<Net>>, &mut Net) -> R,
    ) -> Result<R> {
        let obj = self.obj(net)?;
        let mut g = obj.lock_live().ok_or_else(|| no_network_uuid(net))?;
        Ok(f(&obj, &mut g))
    }

    fn parse(&self, xml: &str) -> Result<NetworkDef> {
        NetworkDef::parse_str(xml).map_err(|e| e.in_domain(D))
    }

    pub fn list_all(&self, flags: u32) -> Result<Vec<NetworkRef>> {
        Error::check_flags(flags, 0x3f, "networkConnectListAllNetworks")?;
        let pair = |on: u32, off: u32, v: bool| {
            let want = flags & (on | off);
            want == 0 || want == (on | off) || (want == on) == v
        };
        Ok(self
            .nets
            .snapshot()
            .iter()
            .filter_map(|e| {
                let n = e.obj.lock_live()?;
                let pick = pair(list_net::ACTIVE, list_net::INACTIVE, n.active)
                    && pair(list_net::PERSISTENT, list_net::TRANSIENT, n.persistent)
                    && pair(list_net::AUTOSTART, list_net::NO_AUTOSTART, n.autostart);
                pick.then(|| n.nref())
            })
            .collect())
    }

    pub fn lookup_by_name(&self, name: &str) -> Result<NetworkRef> {
        self.nets
            .entry_by_name(name)
            .map(|e| e.net_ref())
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::NoNetwork,
                    D,
                    format!("no network with matching name '{name}'"),
                )
            })
    }

    pub fn lookup_by_uuid(&self, uuid: &[u8; 16]) -> Result<NetworkRef> {
        self.nets.entry(uuid).map(|e| e.net_ref()).ok_or_else(|| {
            Error::new(
                ErrorCode::NoNetwork,
                D,
                format!("no network with matching uuid '{}'", conf::Uuid(*uuid)),
            )
        })
    }

    /// virNetworkDefineXMLFlags.
    pub fn define(&self, xml: &str, flags: u32) -> Result<NetworkRef> {
        Error::check_flags(flags, 1, "networkDefineXMLFlags")?;
        let mut def = self.parse(xml)?;
        let _v = self.validate_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.validate(&mut def)?;
        let (uuid, name) = (def.uuid.0, Arc::from(def.name.as_str()));
        let new = Net {
            def: def.clone(),
            new_def: None,
            persistent: true,
            active: false,
            autostart: false,
            dnsmasq_pid: None,
            firewall: None,
            ports: Vec::new(),
        };
        let r = self
            .nets
            .add(uuid, name, new, |obj, n, unused| {
                let existed = unused.is_some();
                let before = (n.def.clone(), n.new_def.clone(), n.persistent);
                if existed {
                    if n.active {
                        n.new_def = Some(def.clone());
                    } else {
                        n.def = def.clone();
                    }
                    n.persistent = true;
                }
                if let Err(e) = status::save_config(&self.cfg.config_dir, &def) {
                    if existed {
                        (n.def, n.new_def, n.persistent) = before;
                    } else {
                        self.nets.remove(obj);
                    }
                    return Err(e);
                }
                Ok(n.nref())
            })
            .map_err(|c| c.to_error("network", D))??;
        drop(_v);
        self.publish(&r, oe::DEFINED);
        Ok(r)
    }

    /// virNetworkCreateXMLFlags: a transient network, started.
    pub fn create_xml(&self, xml: &str, flags: u32) -> Result<NetworkRef> {
        Error::check_flags(flags, 1, "networkCreateXMLFlags")?;
        let mut def = self.parse(xml)?;
        let v = self.validate_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.validate(&mut def)?;
        let (uuid, name) = (def.uuid.0, Arc::from(def.name.as_str()));
        let new = Net {
            def: def.clone(),
            new_def: None,
            persistent: false,
            active: false,
            autostart: false,
            dnsmasq_pid: None,
            firewall: None,
            ports: Vec::new(),
        };
        let r = self
            .nets
            .add(uuid, name, new, |obj, n, unused| {
                drop(v);
                if unused.is_some() {
                    if n.active {
                        return Err(invalid(format!(
                            "network is already active as '{}'",
                            n.def.name
                        )));
                    }
                    let old = std::mem::replace(&mut n.def, def.clone());
                    if let Err(e) = self.start_network(n) {
                        n.def = old;
                        return Err(e);
                    }
                    if n.persistent {
                        n.new_def = Some(old);
                    }
                    return Ok(n.nref());
                }
                if let Err(e) = self.start_network(n) {
                    self.nets.remove(obj);
                    return Err(e);
                }
                Ok(n.nref())
            })
            .map_err(|c| c.to_error("network", D))??;
        self.publish(&r, oe::STARTED);
        Ok(r)
    }

    /// virNetworkUndefine.
    pub fn undefine(&self, net: &NetworkRef) -> Result<()> {
        let r = self.with_net(net, |obj, n| {
            if !n.persistent {
                return Err(invalid("can't undefine transient network"));
            }
            let name = n.def.name.clone();
            let link = self.autostart_link(&name);
            status::remove_file(&link)?;
            status::remove_file(&self.cfg.config_dir.join(format!("{name}.xml")))?;
            n.autostart = false;
            if n.active {
                n.persistent = false;
                n.new_def = None;
            } else {
                self.remove_dnsmasq_files(&n.def);
                self.nets.remove(obj);
            }
            Ok(n.nref())
        })??;
        self.publish(&r, oe::UNDEFINED);
        Ok(())
    }

    /// virNetworkCreate.
    pub fn start(&self, net: &NetworkRef) -> Result<()> {
        let r = self.with_net(net, |_, n| {
            self.start_network(n)?;
            Ok::<_, Error>(n.nref())
        })??;
        self.publish(&r, oe::STARTED);
        Ok(())
    }

    /// virNetworkDestroy.
    pub fn destroy(&self, net: &NetworkRef) -> Result<()> {
        let r = self.with_net(net, |obj, n| {
            if !n.active {
                return Err(invalid(format!("network '{}' is not active", n.def.name)));
            }
            self.shutdown_network(n);
            let r = n.nref();
            if !n.persistent {
                self.nets.remove(obj);
            }
            Ok(r)
        })??;
        self.publish(&r, oe::STOPPED);
        Ok(())
    }

    pub fn xml_desc(&self, net: &NetworkRef, flags: u32) -> Result<String> {
        Error::check_flags(flags, XML_INACTIVE, "networkGetXMLDesc")?;
        self.with_net(net, |_, n| {
            let inactive = flags & XML_INACTIVE != 0;
            let def = if inactive { n.persistent_def() } else { &n.def };
            def.to_xml(&NetworkFormatFlags { inactive })
        })
    }

    pub fn bridge_name(&self, net: &NetworkRef) -> Result<String> {
        self.with_net(net, |_, n| {
            n.def.bridge.clone().ok_or_else(|| {
                internal(format!(
                    "network '{}' does not have a bridge name.",
                    n.def.name
                ))
            })
        })?
    }

    pub fn get_autostart(&self, net: &NetworkRef) -> Result<bool> {
        self.with_net(net, |_, n| n.autostart)
    }

    /// virNetworkSetAutostart: the link in the autostart directory.
    pub fn set_autostart(&self, net: &NetworkRef, on: bool) -> Result<()> {
        self.with_net(net, |_, n| {
            if !n.persistent {
                return Err(invalid("cannot set autostart for transient network"));
            }
            if n.autostart == on {
                return Ok(());
            }
            let name = n.def.name.clone();
            let link = self.autostart_link(&name);
            if on {
                let dir = &self.cfg.autostart_dir;
                std::fs::create_dir_all(dir).map_err(|e| {
                    status::file_error("cannot create autostart directory", dir, &e)
                })?;
                let target = self.cfg.config_dir.join(format!("{name}.xml"));
                std::os::unix::fs::symlink(&target, &link)
                    .map_err(|e| status::file_error("Failed to create symlink", &link, &e))?;
            } else {
                status::remove_file(&link)?;
            }
            n.autostart = on;
            Ok(())
        })?
    }

    pub fn is_active(&self, net: &NetworkRef) -> Result<bool> {
        self.with_net(net, |_, n| n.active)
    }

    pub fn is_persistent(&self, net: &NetworkRef) -> Result<bool> {
        self.with_net(net, |_, n| n.persistent)
    }

    /// virNetworkUpdate: the section edited in the live definition (see
    /// [`Self::apply_update`]) and / or the persistent one (saved).
    pub fn update(
        &self,
        net: &NetworkRef,
        command: u32,
        section: u32,
        parent: i32,
        xml: &str,
        flags: u32,
    ) -> Result<()> {
        Error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "networkUpdate")?;
        self.with_net(net, |_, n| {
            let mut flags = flags;
            if flags & (AFFECT_LIVE | AFFECT_CONFIG) == 0 {
                flags |= if n.active { AFFECT_LIVE } else { AFFECT_CONFIG };
            }
            if !n.active && flags & AFFECT_LIVE != 0 {
                return Err(invalid("network is not running"));
            }
            if flags & AFFECT_CONFIG != 0 && !n.persistent {
                return Err(invalid(
                    "cannot change persistent config of a transient network",
                ));
            }
            let wrapped = format!("<x>{xml}</x>");
            let el = conf::xml::parse_document(&wrapped, "(network_update_xml)", "x")
                .map_err(|e| e.in_domain(D))?
                .elements()
                .next()
                .cloned()
                .ok_or_else(|| {
                    Error::new(ErrorCode::XmlError, D, "missing element in network update")
                })?;
            let edit = |def: &NetworkDef| -> Result<NetworkDef> {
                let mut d = def.clone();
                nu::section(&mut d, command, section, parent, &el).map_err(|e| e.in_domain(D))?;
                Ok(d)
            };
            let live = if flags & AFFECT_LIVE != 0 {
                Some(edit(&n.def)?)
            } else {
                None
            };
            let config = if flags & AFFECT_CONFIG != 0 {
                Some(edit(n.persistent_def())?)
            } else {
                None
            };
            if let Some(l) = &live {
                self.apply_update(n, l, section)?;
            }
            if let Some(c) = &config {
                status::save_config(&self.cfg.config_dir, c)?;
            }
            if let Some(l) = &live {
                status::save_status(&self.cfg.state_dir, l, n.firewall.as_ref(), &n.ports)?;
            }
            if let Some(c) = config {
                if n.active {
                    n.new_def = Some(c);
                } else {
                    n.def = c;
                }
            }
            if let Some(l) = live {
                if n.persistent && n.new_def.is_none() {
                    n.new_def = Some(n.def.clone());
                }
                n.def = l;
            }
            Ok(())
        })?
    }

    /// networkUpdate's live part: what the running network does about an
    /// updated section of its definition `new` (the old one is still
    /// `n.def`). Firewall rules follow changed forward interfaces, address
    /// and DHCP data; dnsmasq is restarted for what its config file holds
    /// (ranges, TXT and SRV records), told with SIGHUP for its hosts files
    /// (DHCP hosts, DNS hosts).
    fn apply_update(&self, n: &mut Net, new: &NetworkDef, section: u32) -> Result<()> {
        if !is_virtual(new) {
            return Ok(());
        }
        let refirewall = matches!(
            section,
            nu::SECTION_FORWARD_INTERFACE
                | nu::SECTION_IP
                | nu::SECTION_IP_DHCP_RANGE
                | nu::SECTION_IP_DHCP_HOST
        ) && matches!(
            new.forward.mode,
            ForwardType::None | ForwardType::Nat | ForwardType::Route
        );
        if refirewall {
            if let Some(a) = n.firewall.take() {
                if let Ok(rules) = firewall::network_rules(&n.def) {
                    fw::remove(&*self.host, &a, &rules);
                }
                let again = firewall::network_rules(new)
                    .and_then(|rules| fw::apply(&*self.host, a.backend(), &rules));
                match again {
                    Ok(applied) => n.firewall = Some(applied),
                    Err(e) => {
                        // Put the old rules back: the update is refused.
                        if let Ok(rules) = firewall::network_rules(&n.def) {
                            n.firewall = fw::apply(&*self.host, a.backend(), &rules).ok();
                        }
                        return Err(e);
                    }
                }
            }
        }
        let dhcp_active = |d: &NetworkDef| {
            d.ips
                .iter()
                .filter(|ip| ip.address.is_ipv4())
                .any(|ip| !ip.ranges.is_empty() || !ip.hosts.is_empty() || ip.tftproot.is_some())
        };
        let restart = match section {
            nu::SECTION_IP_DHCP_RANGE | nu::SECTION_DNS_TXT | nu::SECTION_DNS_SRV => true,
            nu::SECTION_IP_DHCP_HOST => dhcp_active(&n.def) != dhcp_active(new),
            nu::SECTION_DNS_HOST => false,
            _ => return Ok(()),
        };
        if restart {
            self.stop_dnsmasq(&n.def, n.dnsmasq_pid.take());
            if needs_dnsmasq(new) {
                n.dnsmasq_pid = Some(self.start_dnsmasq(new)?);
            }
        } else if needs_dnsmasq(new) {
            self.write_dnsmasq_files(new, true)?;
            match n.dnsmasq_pid {
                Some(p) => {
                    let _ = self.host.kill(p, SIGHUP);
                }
                None => n.dnsmasq_pid = Some(self.start_dnsmasq(new)?),
            }
        }
        Ok(())
    }

    /// virNetworkGetDHCPLeases.
    pub fn dhcp_leases(
        &self,
        net: &NetworkRef,
        mac: Option<&str>,
        flags: u32,
    ) -> Result<Vec<NetworkDhcpLease>> {
        Error::check_flags(flags, 0, "networkGetDHCPLeases")?;
        if let Some(m) = mac {
            if Mac::parse(m).is_none() {
                return Err(Error::new(ErrorCode::InvalidMac, D, m));
            }
        }
        let def = self.with_net(net, |_, n| n.def.clone())?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let status = self.status_leases_file(&def);
        match std::fs::read_to_string(&status) {
            Ok(text) => crate::leases::parse_status(&def, &text, mac, now)
                .map_err(|e| internal(format!("{e}: {}", status.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let text = std::fs::read_to_string(self.leases_file(&def.name)).unwrap_or_default();
                Ok(crate::leases::parse(&def, &text, mac, now))
            }
            Err(e) => Err(status::file_error(
                "Unable to read leases file",
                &status,
                &e,
            )),
        }
    }

    // ---- ports ----

    /// `f` on an active network's state (libvirt's "network '%s' is not
    /// active" otherwise).
    fn with_active<R>(&self, net: &NetworkRef, f: impl FnOnce(&mut Net) -> Result<R>) -> Result<R> {
        self.with_net(net, |_, n| {
            if !n.active {
                return Err(invalid(format!("network '{}' is not active", n.def.name)));
            }
            f(n)
        })?
    }

    fn port_ref(net: &Net, uuid: &conf::Uuid) -> NetworkPortRef {
        NetworkPortRef {
            net: net.nref(),
            uuid: uuid.0,
        }
    }

    fn no_port(uuid: &[u8; 16]) -> Error {
        Error::new(
            ErrorCode::NoNetworkPort,
            D,
            format!(
                "Network port with UUID {} does not exist",
                conf::Uuid(*uuid)
            ),
        )
    }

    fn find_port<'a>(n: &'a Net, uuid: &[u8; 16]) -> Result<&'a NetworkPortDef> {
        n.ports
            .iter()
            .find(|p| p.uuid.0 == *uuid)
            .ok_or_else(|| Self::no_port(uuid))
    }

    /// Rewrites the network's status file (its class IDs and floor sum
    /// follow the ports).
    fn save_live_status(&self, n: &Net) -> Result<()> {
        status::save_status(&self.cfg.state_dir, &n.def, n.firewall.as_ref(), &n.ports)
    }

    /// virNetDevBandwidthPlug: the tc class of a port with an inbound
    /// floor on the network's bridge; nothing remains when it fails.
    fn plug_floor(&self, def: &NetworkDef, port: &NetworkPortDef) -> Result<()> {
        let (Some(br), Some(net), Some(floor)) = (
            def.bridge.as_deref(),
            def.bandwidth.as_ref().and_then(|b| b.inbound.as_ref()),
            port.bandwidth.as_ref().and_then(|b| b.inbound.as_ref()),
        ) else {
            return Err(Error::new(
                ErrorCode::ConfigUnsupported,
                ErrorDomain::None,
                format!(
                    "Bridge '{}' has no QoS set, therefore unable to set 'floor' on '{}'",
                    def.bridge.as_deref().unwrap_or(""),
                    port.mac
                ),
            ));
        };
        for c in network::bandwidth::plug_commands(br, net, port.mac.0, floor, port.class_id) {
            if let Err(e) = self.host.run(&c) {
                self.unplug_floor(def, port);
                return Err(Error::new(
                    ErrorCode::InternalError,
                    ErrorDomain::None,
                    format!(
                        "Child process ({}) unexpected exit status 2: {e}",
                        c.join(" ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// virNetDevBandwidthUnplug (failures ignored: as much as possible
    /// goes).
    fn unplug_floor(&self, def: &NetworkDef, port: &NetworkPortDef) {
        if let Some(br) = def.bridge.as_deref() {
            for c in network::bandwidth::unplug_commands(br, port.class_id) {
                let _ = self.host.run(&c);
            }
        }
    }

    /// The 1:2 class (guests without a floor) gets what the floors leave
    /// of the network's inbound peak (else average); a failure is logged,
    /// as libvirt warns.
    fn update_free_rate(&self, def: &NetworkDef, ports: &[NetworkPortDef]) {
        let (Some(br), Some(net)) = (
            def.bridge.as_deref(),
            def.bandwidth.as_ref().and_then(|b| b.inbound.as_ref()),
        ) else {
            return;
        };
        let top = if net.peak > 0 { net.peak } else { net.average };
        let rate = top.saturating_sub(ports::floor_sum(ports));
        let c = network::bandwidth::update_rate_command(br, 2, net, rate);
        if let Err(e) = self.host.run(&c) {
            log(format!(
                "Unable to update rate for 1:2 class on {br} bridge: {e}"
            ));
        }
    }

    /// virNetworkListAllPorts.
    pub fn list_ports(&self, net: &NetworkRef, flags: u32) -> Result<Vec<NetworkPortRef>> {
        Error::check_flags(flags, 0, "networkListAllPorts")?;
        self.with_active(net, |n| {
            Ok(n.ports.iter().map(|p| Self::port_ref(n, &p.uuid)).collect())
        })
    }

    /// virNetworkPortLookupByUUID.
    pub fn port_lookup(&self, net: &NetworkRef, uuid: &[u8; 16]) -> Result<NetworkPortRef> {
        self.with_net(net, |_, n| {
            let p = Self::find_port(n, uuid)?;
            if !n.active {
                return Err(invalid(format!("network '{}' is not active", n.def.name)));
            }
            Ok(Self::port_ref(n, &p.uuid))
        })?
    }

    /// virNetworkPortCreateXML (networkPortCreateXML): allocates, or with
    /// RECLAIM takes back, a port and records it.
    pub fn port_create(&self, net: &NetworkRef, xml: &str, flags: u32) -> Result<NetworkPortRef> {
        Error::check_flags(
            flags,
            ports::CREATE_RECLAIM | ports::CREATE_VALIDATE,
            "networkPortCreateXML",
        )?;
        self.with_net(net, |_, n| {
            let mut port = NetworkPortDef::parse_str(xml).map_err(|e| e.in_domain(D))?;
            if !n.active {
                return Err(invalid(format!("network '{}' is not active", n.def.name)));
            }
            let reclaim = flags & ports::CREATE_RECLAIM != 0;
            match (port.plug == Plug::None, reclaim) {
                (true, true) => {
                    return Err(Error::invalid_arg(
                        D,
                        "Port reclaim requested but plug type is none",
                    ))
                }
                (false, false) => {
                    return Err(Error::invalid_arg(
                        D,
                        "Port reclaim not requested but plug type is not none",
                    ))
                }
                _ => {}
            }
            if n.ports.iter().any(|p| p.uuid == port.uuid) {
                return Err(Error::new(
                    ErrorCode::NetworkPortExist,
                    D,
                    format!("Network port with UUID {} already exists", port.uuid),
                ));
            }
            let mut def = n.def.clone();
            if reclaim {
                ports::notify(&mut def, &port)?;
            } else {
                ports::allocate(&mut def, &n.ports, &mut port)?;
            }
            if !reclaim && port.class_id != 0 {
                self.plug_floor(&def, &port)?;
            }
            let dir = ports::port_dir(&self.cfg.state_dir, &def.name);
            if let Err(e) = ports::save_port(&dir, &port) {
                self.unplug_floor(&def, &port);
                return Err(e);
            }
            let old = std::mem::replace(&mut n.def, def);
            n.ports.push(port.clone());
            if let Err(e) = self.save_live_status(n) {
                n.ports.pop();
                n.def = old;
                let _ = ports::delete_port(&dir, &port);
                self.unplug_floor(&n.def, &port);
                return Err(e);
            }
            if !reclaim && port.class_id != 0 {
                self.update_free_rate(&n.def, &n.ports);
            }
            log(format!(
                "network '{}': port {} of '{}' ({}) plugged",
                n.def.name, port.uuid, port.owner_name, port.mac
            ));
            Ok(Self::port_ref(n, &port.uuid))
        })?
    }

    /// virNetworkPortGetXMLDesc.
    pub fn port_xml(&self, port: &NetworkPortRef, flags: u32) -> Result<String> {
        Error::check_flags(flags, 0, "networkPortGetXMLDesc")?;
        self.with_net(&port.net, |_, n| {
            let p = Self::find_port(n, &port.uuid)?;
            if !n.active {
                return Err(invalid(format!("network '{}' is not active", n.def.name)));
            }
            Ok(p.to_xml())
        })?
    }

    /// virNetworkPortDelete (networkPortDelete).
    pub fn port_delete(&self, port: &NetworkPortRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "networkPortDelete")?;
        self.with_net(&port.net, |_, n| {
            Self::find_port(n, &port.uuid)?;
            if !n.active {
                return Err(invalid(format!("network '{}' is not active", n.def.name)));
            }
            let i = n
                .ports
                .iter()
                .position(|p| p.uuid.0 == port.uuid)
                .ok_or_else(|| Self::no_port(&port.uuid))?;
            let dir = ports::port_dir(&self.cfg.state_dir, &n.def.name);
            ports::delete_port(&dir, &n.ports[i])?;
            let p = n.ports.remove(i);
            ports::release(&mut n.def, &p);
            if p.class_id != 0 {
                self.unplug_floor(&n.def, &p);
                self.update_free_rate(&n.def, &n.ports);
            }
            if let Err(e) = self.save_live_status(n) {
                log(format!("network '{}': {e}", n.def.name));
            }
            log(format!(
                "network '{}': port {} of '{}' ({}) unplugged",
                n.def.name, p.uuid, p.owner_name, p.mac
            ));
            Ok(())
        })?
    }

    /// virNetworkPortGetParameters: the port's bandwidth.
    pub fn port_get_parameters(&self, port: &NetworkPortRef, flags: u32) -> Result<TypedParams> {
        Error::check_flags(flags, 0, "networkPortGetParameters")?;
        self.with_net(&port.net, |_, n| {
            let p = Self::find_port(n, &port.uuid)?;
            if !n.active {
                return Err(invalid(format!("network '{}' is not active", n.def.name)));
            }
            let mut out: TypedParams = Vec::new();
            let ull = |v: u64| TypedValue::UInt(u32::try_from(v).unwrap_or(u32::MAX));
            if let Some(b) = &p.bandwidth {
                if let Some(r) = &b.inbound {
                    out.push((ports::IN_AVERAGE.into(), ull(r.average)));
                    out.push((ports::IN_PEAK.into(), ull(r.peak)));
                    out.push((ports::IN_FLOOR.into(), ull(r.floor)));
                    out.push((ports::IN_BURST.into(), ull(r.burst)));
                }
                if let Some(r) = &b.outbound {
                    out.push((ports::OUT_AVERAGE.into(), ull(r.average)));
                    out.push((ports::OUT_PEAK.into(), ull(r.peak)));
                    out.push((ports::OUT_BURST.into(), ull(r.burst)));
                }
            }
            Ok(out)
        })?
    }

    /// virNetworkPortSetParameters (networkPortSetParameters): the new
    /// bandwidth replaces the old one; the floor must fit the network.
    pub fn port_set_parameters(
        &self,
        port: &NetworkPortRef,
        params: &TypedParams,
        flags: u32,
    ) -> Result<()> {
        Error::check_flags(flags, 0, "networkPortSetParameters")?;
        self.with_net(&port.net, |_, n| {
            let p = Self::find_port(n, &port.uuid)?.clone();
            if !n.active {
                return Err(invalid(format!("network '{}' is not active", n.def.name)));
            }
            let mut inb = BandwidthRate::default();
            let mut outb = BandwidthRate::default();
            for (name, v) in params {
                let v = match v {
                    TypedValue::UInt(x) => u64::from(*x),
                    _ => continue,
                };
                match name.as_str() {
                    ports::IN_AVERAGE => inb.average = v,
                    ports::IN_PEAK => inb.peak = v,
                    ports::IN_BURST => inb.burst = v,
                    ports::IN_FLOOR => inb.floor = v,
                    ports::OUT_AVERAGE => outb.average = v,
                    ports::OUT_PEAK => outb.peak = v,
                    ports::OUT_BURST => outb.burst = v,
                    _ => {}
                }
            }
            let bw = Bandwidth {
                inbound: (inb.average != 0 || inb.floor != 0).then_some(inb),
                outbound: (outb.average != 0).then_some(outb),
            };
            let class_id = ports::update_bandwidth(&n.def, &n.ports, &p, Some(&bw))?;
            let mut new = p.clone();
            new.bandwidth = Some(bw);
            new.class_id = class_id;
            let dir = ports::port_dir(&self.cfg.state_dir, &n.def.name);
            ports::save_port(&dir, &new)?;
            if let Some(slot) = n.ports.iter_mut().find(|x| x.uuid == p.uuid) {
                *slot = new;
            }
            if let Err(e) = self.save_live_status(n) {
                log(format!("network '{}': {e}", n.def.name));
            }
            Ok(())
        })?
    }
}

/// The lease helper: beside the daemon's own binary (a build tree, or
/// /usr/sbin next to /usr/lib/libvirt's), else where libvirt installs it.
fn leases_helper() -> Option<PathBuf> {
    const NAME: &str = "libvirt_leaseshelper";
    let beside = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(NAME)));
    beside
        .into_iter()
        .chain(
            [
                "/usr/lib/libvirt",
                "/usr/libexec",
                "/usr/lib/x86_64-linux-gnu/libvirt",
            ]
            .iter()
            .map(|d| Path::new(d).join(NAME)),
        )
        .find(|p| p.is_file())
}

/// Checks every dnsmasq until the driver goes away or shuts down.
fn supervise(drv: Weak<NetworkDriver>) {
    loop {
        std::thread::sleep(SUPERVISE_EVERY);
        let Some(d) = drv.upgrade() else {
            return;
        };
        if d.stopping.load(Ordering::Relaxed) {
            return;
        }
        d.check_dnsmasq();
    }
}

/// The registry's view of the driver.
pub struct NetworkFactory {
    drv: Arc<NetworkDriver>,
}

impl NetworkFactory {
    pub fn new(cfg: NetworkDriverConfig, host: Arc<dyn NetHost>) -> NetworkFactory {
        NetworkFactory {
            drv: NetworkDriver::new(cfg, host),
        }
    }

    pub fn driver(&self) -> &Arc<NetworkDriver> {
        &self.drv
    }

    fn own_path(&self) -> &'static str {
        if self.drv.cfg.privileged {
            "/system"
        } else {
            "/session"
        }
    }
}

impl DriverFactory for NetworkFactory {
    fn name(&self) -> &'static str {
        "network"
    }

    fn claims(&self, uri: &Uri) -> bool {
        uri.scheme == "network" && uri.server.is_none()
    }

    fn uses_shared_network(&self) -> bool {
        false
    }

    fn open(&self, uri: &Uri, _auth: &ConnectAuth) -> Result<Arc<dyn Connection>> {
        let want = self.own_path();
        if uri.path != want {
            return Err(Error::new(
                ErrorCode::InternalError,
                ErrorDomain::Network,
                format!(
                    "unexpected network URI path '{}', try network://{want}",
                    uri.path
                ),
            ));
        }
        Ok(Arc::new(NetConn {
            drv: self.drv.clone(),
            uri: format!("network://{want}"),
        }))
    }

    fn startup(&self) -> Result<()> {
        self.drv.startup();
        Ok(())
    }

    fn shutdown(&self) {
        self.drv.shutdown();
    }

    fn active_guests(&self) -> usize {
        self.drv.active_count()
    }
}

/// One connection to the network driver.
pub struct NetConn {
    drv: Arc<NetworkDriver>,
    uri: String,
}

impl Connection for NetConn {
    fn get_type(&self) -> &'static str {
        "network"
    }
    fn uri(&self) -> String {
        self.uri.clone()
    }
    fn hostname(&self) -> Result<String> {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .map_err(|e| Error::new(ErrorCode::SystemError, ErrorDomain::None, e.to_string()))
    }
    fn subscribe(&self, sink: EventSink) -> Option<u64> {
        Some(self.drv.events.subscribe(sink))
    }
    fn unsubscribe(&self, token: u64) {
        self.drv.events.unsubscribe(token);
    }
    fn list_all_networks(&self, flags: u32) -> Result<Vec<NetworkRef>> {
        self.drv.list_all(flags)
    }
    fn network_lookup_by_name(&self, name: &str) -> Result<NetworkRef> {
        self.drv.lookup_by_name(name)
    }
    fn network_lookup_by_uuid(&self, uuid: &[u8; 16]) -> Result<NetworkRef> {
        self.drv.lookup_by_uuid(uuid)
    }
    fn network_define_xml(&self, xml: &str, flags: u32) -> Result<NetworkRef> {
        self.drv.define(xml, flags)
    }
    fn network_create_xml(&self, xml: &str, flags: u32) -> Result<NetworkRef> {
        self.drv.create_xml(xml, flags)
    }
    fn network_undefine(&self, net: &NetworkRef) -> Result<()> {
        self.drv.undefine(net)
    }
    fn network_create(&self, net: &NetworkRef) -> Result<()> {
        self.drv.start(net)
    }
    fn network_destroy(&self, net: &NetworkRef) -> Result<()> {
        self.drv.destroy(net)
    }
    fn network_get_xml_desc(&self, net: &NetworkRef, flags: u32) -> Result<String> {
        self.drv.xml_desc(net, flags)
    }
    fn network_get_bridge_name(&self, net: &NetworkRef) -> Result<String> {
        self.drv.bridge_name(net)
    }
    fn network_get_autostart(&self, net: &NetworkRef) -> Result<bool> {
        self.drv.get_autostart(net)
    }
    fn network_set_autostart(&self, net: &NetworkRef, on: bool) -> Result<()> {
        self.drv.set_autostart(net, on)
    }
    fn network_is_active(&self, net: &NetworkRef) -> Result<bool> {
        self.drv.is_active(net)
    }
    fn network_is_persistent(&self, net: &NetworkRef) -> Result<bool> {
        self.drv.is_persistent(net)
    }
    fn network_update(
        &self,
        net: &NetworkRef,
        command: u32,
        section: u32,
        index: i32,
        xml: &str,
        flags: u32,
    ) -> Result<()> {
        self.drv.update(net, command, section, index, xml, flags)
    }
    fn network_get_dhcp_leases(
        &self,
        net: &NetworkRef,
        mac: Option<&str>,
        flags: u32,
    ) -> Result<Vec<NetworkDhcpLease>> {
        self.drv.dhcp_leases(net, mac, flags)
    }
    fn network_list_all_ports(&self, net: &NetworkRef, flags: u32) -> Result<Vec<NetworkPortRef>> {
        self.drv.list_ports(net, flags)
    }
    fn network_port_lookup_by_uuid(
        &self,
        net: &NetworkRef,
        uuid: &[u8; 16],
    ) -> Result<NetworkPortRef> {
        self.drv.port_lookup(net, uuid)
    }
    fn network_port_create_xml(
        &self,
        net: &NetworkRef,
        xml: &str,
        flags: u32,
    ) -> Result<NetworkPortRef> {
        self.drv.port_create(net, xml, flags)
    }
    fn network_port_get_xml_desc(&self, port: &NetworkPortRef, flags: u32) -> Result<String> {
        self.drv.port_xml(port, flags)
    }
    fn network_port_delete(&self, port: &NetworkPortRef, flags: u32) -> Result<()> {
        self.drv.port_delete(port, flags)
    }
    fn network_port_get_parameters(
        &self,
        port: &NetworkPortRef,
        flags: u32,
    ) -> Result<TypedParams> {
        self.drv.port_get_parameters(port, flags)
    }
    fn network_port_set_parameters(
        &self,
        port: &NetworkPortRef,
        params: &TypedParams,
        flags: u32,
    ) -> Result<()> {
        self.drv.port_set_parameters(port, params, flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dnsmasq_needed_only_with_addresses_and_a_service() {
        let d = |x: &str| NetworkDef::parse_str(x).unwrap();
        assert!(!needs_dnsmasq(&d("<network><name>a</name></network>")));
        assert!(needs_dnsmasq(&d(
            "<network><name>a</name><ip address='10.0.0.1' prefix='24'/></network>"
        )));
        assert!(!needs_dnsmasq(&d(
            "<network><name>a</name><dns enable='no'/><ip address='10.0.0.1' prefix='24'/></network>"
        )));
    }
}
