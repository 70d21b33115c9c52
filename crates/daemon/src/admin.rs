// SPDX-License-Identifier: LGPL-2.1-or-later
//! The admin program (0x06900690) served on `PREFIX-admin-sock`: what
//! `virt-admin` uses to list servers and clients, read and change worker
//! and client limits, disconnect clients, read and change the logging
//! setup, and set the idle timeout.
//!
//! The servers it manages are reached through [`ServerControl`], a
//! type-erased view of an `rpc::Server`, so the admin handler does not care
//! which program a server speaks. The admin server manages itself too (it
//! is listed as `admin`).

// The wire error is large by nature (it mirrors virNetMessageError) and
// is built once per failed call; boxing it buys nothing here.
#![allow(clippy::result_large_err)]

use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use daemon_support::log as dlog;
use protocol::admin as a;
use protocol::header::Header;
use protocol::procs::AdminProcedures;
use protocol::{AdminProc as P, ErrorCode, ErrorDomain, RemoteError, TypedParamValue};
use rpc::auth::ForwardedIdentity;
use rpc::{CallMode, Client, ClientInfo, Handler, Limits, Response, Server, Transport};

type R<T> = Result<T, RemoteError>;

/// What the admin program needs from one RPC server.
pub trait ServerControl: Send + Sync {
    /// The server's name as virt-admin shows it.
    fn name(&self) -> &str;
    /// Current limits.
    fn limits(&self) -> Limits;
    /// Replace the limits (the pools follow).
    fn set_limits(&self, limits: Limits);
    /// Workers free right now (of `max_workers`).
    fn free_workers(&self) -> usize;
    /// Calls waiting for a worker.
    fn job_queue_depth(&self) -> usize;
    /// Connected clients, oldest first.
    fn clients(&self) -> Vec<ClientInfo>;
    /// Close client `id`; false if there is no such client.
    fn close_client(&self, id: u64) -> bool;
    /// Connected clients still authenticating.
    fn unauthenticated(&self) -> usize;
}

impl<H: Handler> ServerControl for Server<H> {
    fn name(&self) -> &str {
        &self.name
    }
    fn unauthenticated(&self) -> usize {
        self.unauthenticated_count()
    }
    fn limits(&self) -> Limits {
        Server::limits(self)
    }
    fn set_limits(&self, limits: Limits) {
        Server::set_limits(self, limits);
    }
    fn free_workers(&self) -> usize {
        self.stats().free_workers
    }
    fn job_queue_depth(&self) -> usize {
        self.stats().job_queue_depth
    }
    fn clients(&self) -> Vec<ClientInfo> {
        self.client_infos()
    }
    fn close_client(&self, id: u64) -> bool {
        match self.client(id) {
            Some(c) => {
                c.close();
                true
            }
            None => false,
        }
    }
}

/// Daemon-wide settings the admin program may change.
#[derive(Debug, Default)]
pub struct DaemonControl {
    /// Idle timeout in seconds (0: never). Read by the main loop.
    pub timeout: AtomicU32,
}

/// Per-client state: whether CONNECT_OPEN was called.
#[derive(Debug, Default)]
pub struct AdminState {
    open: AtomicBool,
}

/// Serves the admin program.
pub struct AdminHandler {
    servers: OnceLock<Vec<Weak<dyn ServerControl>>>,
    control: Arc<DaemonControl>,
    /// The server whose TLS listeners share these credentials.
    tls: OnceLock<(String, Arc<crate::tls::TlsSetup>)>,
}

impl AdminHandler {
    /// A handler with no servers yet; call [`AdminHandler::set_servers`]
    /// once the servers (including the admin server itself) exist.
    pub fn new(control: Arc<DaemonControl>) -> Self {
        AdminHandler {
            servers: OnceLock::new(),
            control,
            tls: OnceLock::new(),
        }
    }

    /// Registers the TLS credentials of server `name` for
    /// server-update-tls (only the first call counts).
    pub fn set_tls(&self, name: &str, tls: Arc<crate::tls::TlsSetup>) {
        let _ = self.tls.set((name.to_string(), tls));
    }

    /// Registers the managed servers (only the first call counts).
    pub fn set_servers(&self, servers: Vec<Weak<dyn ServerControl>>) {
        let _ = self.servers.set(servers);
    }

    /// Live servers sorted by name (`admin` first, as libvirt lists them).
    fn servers(&self) -> Vec<Arc<dyn ServerControl>> {
        let mut v: Vec<Arc<dyn ServerControl>> = self
            .servers
            .get()
            .map(|s| s.iter().filter_map(Weak::upgrade).collect())
            .unwrap_or_default();
        v.sort_by(|x, y| x.name().cmp(y.name()));
        v
    }

    fn server(&self, name: &str) -> R<Arc<dyn ServerControl>> {
        self.servers()
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                RemoteError::new(
                    ErrorCode::NoServer,
                    ErrorDomain::Admin,
                    Some(&format!("No server named '{name}'")),
                )
            })
    }

    fn client(&self, srv: &dyn ServerControl, id: u64) -> R<ClientInfo> {
        srv.clients()
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| no_client(id))
    }
}

fn no_client(id: u64) -> RemoteError {
    RemoteError::new(
        ErrorCode::NoClient,
        ErrorDomain::Admin,
        Some(&format!("No client with matching ID '{id}'")),
    )
}

fn invalid_arg(msg: &str) -> RemoteError {
    RemoteError::new(ErrorCode::InvalidArg, ErrorDomain::Admin, Some(msg))
}

/// libvirt's virCheckFlags(0) in `func`, the admin server's C function
/// for the procedure (which names itself in the error).
fn check_flags(flags: u32, func: &str) -> R<()> {
    virterror::VirError::check_flags(flags, 0, func).map_err(RemoteError::from)
}

fn uint(field: &str, v: usize) -> a::TypedParam {
    a::TypedParam {
        field: field.to_owned(),
        value: TypedParamValue::UInt(u32::try_from(v).unwrap_or(u32::MAX)),
    }
}

fn param(field: &str, value: TypedParamValue) -> a::TypedParam {
    a::TypedParam {
        field: field.to_owned(),
        value,
    }
}

/// Accepts only the given unsigned fields (libvirt's
/// virTypedParamsValidate) and returns them in order.
fn take_uints(params: &[a::TypedParam], allowed: &[&str]) -> R<Vec<Option<u32>>> {
    let mut out = vec![None; allowed.len()];
    for p in params {
        let Some(i) = allowed.iter().position(|f| *f == p.field) else {
            return Err(RemoteError::new(
                ErrorCode::InvalidArg,
                ErrorDomain::None,
                Some(&format!("parameter '{}' not supported", p.field)),
            ));
        };
        match p.value {
            TypedParamValue::UInt(v) => out[i] = Some(v),
            _ => {
                return Err(RemoteError::new(
                    ErrorCode::InvalidArg,
                    ErrorDomain::None,
                    Some(&format!(
                        "invalid type '{}' for parameter '{}', expected 'uint'",
                        type_name(&p.value),
                        p.field
                    )),
                ))
            }
        }
    }
    Ok(out)
}

fn type_name(v: &TypedParamValue) -> &'static str {
    match v {
        TypedParamValue::Int(_) => "int",
        TypedParamValue::UInt(_) => "uint",
        TypedParamValue::LLong(_) => "llong",
        TypedParamValue::ULLong(_) => "ullong",
        TypedParamValue::Double(_) => "double",
        TypedParamValue::Boolean(_) => "boolean",
        TypedParamValue::String(_) => "string",
    }
}

fn transport_number(t: Transport) -> u32 {
    t as u32
}

fn nonnull_client(srv: &str, c: &ClientInfo) -> a::NonnullClient {
    a::NonnullClient {
        srv: a::NonnullServer {
            name: srv.to_owned(),
        },
        id: c.id,
        timestamp: c.connected_at,
        transport: transport_number(c.transport),
    }
}

pub(crate) use host::ids::{group_name, user_name};

/// The identity of a client as its connection gives it: the SASL user
/// name and, on a local socket, the peer's credentials.
fn connection_identity(c: &ClientInfo) -> ForwardedIdentity {
    ForwardedIdentity {
        user_name: c.peer_uid.and_then(user_name),
        unix_user_id: c.peer_uid.map(i64::from),
        group_name: c.peer_gid.and_then(group_name),
        unix_group_id: c.peer_gid.map(i64::from),
        process_id: c.peer_pid.map(i64::from),
        sasl_user_name: c.sasl_user_name.clone(),
        ..ForwardedIdentity::default()
    }
}

/// The parameters libvirt reports for a client (adminClientGetInfo):
/// from the identity it forwarded if it did, else its connection's.
fn client_params(c: &ClientInfo) -> Vec<a::TypedParam> {
    let ident = c
        .forwarded
        .clone()
        .unwrap_or_else(|| connection_identity(c));
    let int = |n: i64| TypedParamValue::Int(i32::try_from(n).unwrap_or(-1));
    let mut v = vec![param("readonly", TypedParamValue::Boolean(c.readonly))];
    if let Some(user) = ident.sasl_user_name {
        v.push(param("sasl_user_name", TypedParamValue::String(user)));
    }
    if c.transport == Transport::Unix {
        if let Some(uid) = ident.unix_user_id {
            v.push(param("unix_user_id", int(uid)));
        }
        if let Some(n) = ident.user_name {
            v.push(param("unix_user_name", TypedParamValue::String(n)));
        }
        if let Some(gid) = ident.unix_group_id {
            v.push(param("unix_group_id", int(gid)));
        }
        if let Some(n) = ident.group_name {
            v.push(param("unix_group_name", TypedParamValue::String(n)));
        }
        if let Some(pid) = ident.process_id {
            v.push(param("unix_process_id", int(pid)));
        }
    } else {
        if let Some(addr) = &c.addr {
            v.push(param("sock_addr", TypedParamValue::String(addr.clone())));
        }
        if let Some(dn) = ident.x509_dname {
            v.push(param("tls_x509_dname", TypedParamValue::String(dn)));
        }
    }
    if let Some(ctx) = ident.selinux_context {
        v.push(param("selinux_context", TypedParamValue::String(ctx)));
    }
    v
}

/// One admin call: what each procedure's method of the generated
/// [`AdminProcedures`] trait sees (the handler and the calling client).
struct AdminCall<'a> {
    handler: &'a AdminHandler,
    client: &'a Client<AdminState>,
}

impl AdminProcedures for AdminCall<'_> {
    fn connect_open(&self, args: a::ConnectOpenArgs) -> R<()> {
        check_flags(args.flags, "adminDispatchConnectOpen")?;
        self.client.state.open.store(true, Ordering::Relaxed);
        Ok(())
    }

    fn connect_close(&self) -> R<()> {
        self.client.state.open.store(false, Ordering::Relaxed);
        Ok(())
    }

    fn connect_get_lib_version(&self) -> R<a::ConnectGetLibVersionRet> {
        Ok(a::ConnectGetLibVersionRet {
            lib_ver: daemon_support::LIBVIRT_VERSION_NUMBER,
        })
    }

    fn connect_list_servers(&self, args: a::ConnectListServersArgs) -> R<a::ConnectListServersRet> {
        check_flags(args.flags, "adminConnectListServers")?;
        let all = self.handler.servers();
        let ret = u32::try_from(all.len()).unwrap_or(u32::MAX);
        // need_results is a flag: the caller wants the objects.
        let servers = if args.need_results != 0 {
            all.iter()
                .map(|s| a::NonnullServer {
                    name: s.name().to_owned(),
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(a::ConnectListServersRet { servers, ret })
    }

    fn connect_lookup_server(
        &self,
        args: a::ConnectLookupServerArgs,
    ) -> R<a::ConnectLookupServerRet> {
        check_flags(args.flags, "adminConnectLookupServer")?;
        let s = self.handler.server(&args.name)?;
        Ok(a::ConnectLookupServerRet {
            srv: a::NonnullServer {
                name: s.name().to_owned(),
            },
        })
    }

    fn server_get_threadpool_parameters(
        &self,
        args: a::ServerGetThreadpoolParametersArgs,
    ) -> R<a::ServerGetThreadpoolParametersRet> {
        check_flags(args.flags, "adminServerGetThreadPoolParameters")?;
        let s = self.handler.server(&args.srv.name)?;
        let l = s.limits();
        let free = s.free_workers().min(l.max_workers);
        let busy = l.max_workers - free;
        // Threads exist on demand: at least min_workers are counted, idle
        // ones are free.
        let current = busy
            .max(l.min_workers)
            .min(l.max_workers.max(l.min_workers));
        let params = vec![
            uint("minWorkers", l.min_workers),
            uint("maxWorkers", l.max_workers),
            uint("nWorkers", current),
            uint("freeWorkers", current - busy.min(current)),
            uint("prioWorkers", l.prio_workers),
            uint("jobQueueDepth", s.job_queue_depth()),
        ];
        Ok(a::ServerGetThreadpoolParametersRet { params })
    }

    fn server_set_threadpool_parameters(
        &self,
        args: a::ServerSetThreadpoolParametersArgs,
    ) -> R<()> {
        check_flags(args.flags, "adminServerSetThreadPoolParameters")?;
        let s = self.handler.server(&args.srv.name)?;
        let v = take_uints(&args.params, &["minWorkers", "maxWorkers", "prioWorkers"])?;
        let mut l = s.limits();
        let min = v[0].map_or(l.min_workers, |x| x as usize);
        let max = v[1].map_or(l.max_workers, |x| x as usize);
        if min > max {
            return Err(invalid_arg("minWorkers cannot be larger than maxWorkers"));
        }
        if (v[1] == Some(0) && l.max_workers > 0) || (max > 0 && l.max_workers == 0) {
            return Err(invalid_arg(
                "maxWorkers must not be switched from zero to non-zero and vice versa",
            ));
        }
        l.min_workers = min;
        l.max_workers = max;
        if let Some(p) = v[2] {
            l.prio_workers = p as usize;
        }
        s.set_limits(l);
        Ok(())
    }

    fn server_list_clients(&self, args: a::ServerListClientsArgs) -> R<a::ServerListClientsRet> {
        check_flags(args.flags, "adminServerListClients")?;
        let s = self.handler.server(&args.srv.name)?;
        let all = s.clients();
        let ret = u32::try_from(all.len()).unwrap_or(u32::MAX);
        let clients = if args.need_results != 0 {
            all.iter().map(|c| nonnull_client(s.name(), c)).collect()
        } else {
            Vec::new()
        };
        Ok(a::ServerListClientsRet { clients, ret })
    }

    fn server_lookup_client(&self, args: a::ServerLookupClientArgs) -> R<a::ServerLookupClientRet> {
        check_flags(args.flags, "adminServerLookupClient")?;
        let s = self.handler.server(&args.srv.name)?;
        let c = self.handler.client(s.as_ref(), args.id)?;
        Ok(a::ServerLookupClientRet {
            clnt: nonnull_client(s.name(), &c),
        })
    }

    fn client_get_info(&self, args: a::ClientGetInfoArgs) -> R<a::ClientGetInfoRet> {
        check_flags(args.flags, "adminClientGetInfo")?;
        let s = self.handler.server(&args.clnt.srv.name)?;
        let c = self.handler.client(s.as_ref(), args.clnt.id)?;
        Ok(a::ClientGetInfoRet {
            params: client_params(&c),
        })
    }

    fn client_close(&self, args: a::ClientCloseArgs) -> R<()> {
        check_flags(args.flags, "adminClientClose")?;
        let s = self.handler.server(&args.clnt.srv.name)?;
        if !s.close_client(args.clnt.id) {
            return Err(no_client(args.clnt.id));
        }
        Ok(())
    }

    fn server_get_client_limits(
        &self,
        args: a::ServerGetClientLimitsArgs,
    ) -> R<a::ServerGetClientLimitsRet> {
        check_flags(args.flags, "adminServerGetClientLimits")?;
        let s = self.handler.server(&args.srv.name)?;
        let l = s.limits();
        let params = vec![
            uint("nclients_max", l.max_clients),
            uint("nclients", s.clients().len()),
            uint("nclients_unauth_max", l.max_anonymous_clients),
            uint("nclients_unauth", s.unauthenticated()),
        ];
        Ok(a::ServerGetClientLimitsRet { params })
    }

    fn server_set_client_limits(&self, args: a::ServerSetClientLimitsArgs) -> R<()> {
        check_flags(args.flags, "adminServerSetClientLimits")?;
        let s = self.handler.server(&args.srv.name)?;
        let v = take_uints(&args.params, &["nclients_max", "nclients_unauth_max"])?;
        let mut l = s.limits();
        let max = v[0].map_or(l.max_clients, |x| x as usize);
        let unauth = v[1].map_or(l.max_anonymous_clients, |x| x as usize);
        if max < unauth {
            return Err(invalid_arg(
                "The overall maximum number of clients must not be less than the number of clients waiting for authentication",
            ));
        }
        l.max_clients = max;
        l.max_anonymous_clients = unauth;
        s.set_limits(l);
        Ok(())
    }

    fn connect_get_logging_outputs(
        &self,
        args: a::ConnectGetLoggingOutputsArgs,
    ) -> R<a::ConnectGetLoggingOutputsRet> {
        check_flags(args.flags, "adminConnectGetLoggingOutputs")?;
        Ok(a::ConnectGetLoggingOutputsRet {
            outputs: dlog::outputs_string(),
            noutputs: u32::try_from(dlog::output_count()).unwrap_or(u32::MAX),
        })
    }

    fn connect_get_logging_filters(
        &self,
        args: a::ConnectGetLoggingFiltersArgs,
    ) -> R<a::ConnectGetLoggingFiltersRet> {
        check_flags(args.flags, "adminConnectGetLoggingFilters")?;
        let f = dlog::filters_string();
        let n = f.split(' ').filter(|s| !s.is_empty()).count();
        Ok(a::ConnectGetLoggingFiltersRet {
            filters: (!f.is_empty()).then_some(f),
            nfilters: u32::try_from(n).unwrap_or(u32::MAX),
        })
    }

    fn connect_set_logging_outputs(&self, args: a::ConnectSetLoggingOutputsArgs) -> R<()> {
        check_flags(args.flags, "adminConnectSetLoggingOutputs")?;
        dlog::set_outputs(args.outputs.as_deref().unwrap_or(""))
            .map_err(|e| invalid_arg(&e.message))
    }

    fn connect_set_logging_filters(&self, args: a::ConnectSetLoggingFiltersArgs) -> R<()> {
        check_flags(args.flags, "adminConnectSetLoggingFilters")?;
        dlog::set_filters(args.filters.as_deref().unwrap_or(""))
            .map_err(|e| invalid_arg(&e.message))
    }

    fn server_update_tls_files(&self, args: a::ServerUpdateTlsFilesArgs) -> R<()> {
        check_flags(args.flags, "adminServerUpdateTlsFiles")?;
        let _ = self.handler.server(&args.srv.name)?;
        let Some((_, tls)) = self.handler.tls.get().filter(|(n, _)| *n == args.srv.name) else {
            return Err(RemoteError::new(
                ErrorCode::InternalError,
                ErrorDomain::Admin,
                Some("no tls service found, unable to update tls files"),
            ));
        };
        tls.reload()
            .map_err(|e| RemoteError::new(ErrorCode::SystemError, ErrorDomain::Rpc, Some(&e)))
    }

    fn connect_set_daemon_timeout(&self, args: a::ConnectSetDaemonTimeoutArgs) -> R<()> {
        check_flags(args.flags, "adminConnectSetDaemonTimeout")?;
        self.handler
            .control
            .timeout
            .store(args.timeout, Ordering::Relaxed);
        Ok(())
    }
}

impl AdminHandler {
    /// Runs procedure `p`: every procedure but CONNECT_OPEN needs an open
    /// connection; the generated `call` decodes, calls the method and
    /// encodes its reply.
    fn dispatch(&self, client: &Client<AdminState>, p: P, payload: &[u8]) -> R<Vec<u8>> {
        if p != P::ConnectOpen && !client.state.open.load(Ordering::Relaxed) {
            return Err(RemoteError::new(
                ErrorCode::InternalError,
                ErrorDomain::Rpc,
                Some("connection not open"),
            ));
        }
        p.call(
            &AdminCall {
                handler: self,
                client,
            },
            payload,
        )
    }
}

impl Handler for AdminHandler {
    type State = AdminState;

    fn accepts(&self, prog: u32, vers: u32) -> bool {
        prog == a::PROGRAM && vers == a::PROTOCOL_VERSION
    }

    fn new_state(&self, _info: &ClientInfo) -> AdminState {
        AdminState::default()
    }

    fn mode(&self, _header: &Header) -> CallMode {
        // Every admin call reads or flips in-memory state; none waits.
        CallMode::Inline
    }

    fn call(
        &self,
        client: &Arc<Client<AdminState>>,
        h: &Header,
        payload: &[u8],
        _fds: Vec<OwnedFd>,
    ) -> Response {
        let result = match P::from_i32(h.proc_) {
            Some(p) => self.dispatch(client, p, payload),
            None => Err(RemoteError::new(
                ErrorCode::Rpc,
                ErrorDomain::Rpc,
                Some(&format!("unknown procedure: {}", h.proc_)),
            )),
        };
        match result {
            Ok(b) => Response::Reply(b),
            Err(e) => Response::Error(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(field: &str, v: TypedParamValue) -> a::TypedParam {
        param(field, v)
    }

    #[test]
    fn take_uints_rejects_unknown_field() {
        let e = take_uints(&[p("bogus", TypedParamValue::UInt(1))], &["maxWorkers"]);
        assert!(e.is_err());
    }

    #[test]
    fn take_uints_rejects_wrong_type() {
        let e = take_uints(&[p("maxWorkers", TypedParamValue::Int(1))], &["maxWorkers"]);
        let msg = e.err().map(|e| e.message).unwrap_or_default();
        assert!(msg.contains("expected 'uint'"), "{msg}");
    }

    #[test]
    fn take_uints_places_values_by_name() {
        let v = take_uints(
            &[p("prioWorkers", TypedParamValue::UInt(7))],
            &["minWorkers", "maxWorkers", "prioWorkers"],
        )
        .unwrap_or_default();
        assert_eq!(v, vec![None, None, Some(7)]);
    }

    #[test]
    fn tcp_client_reports_address_not_unix_identity() {
        let c = ClientInfo {
            transport: Transport::Tcp,
            peer_pid: Some(5),
            peer_uid: Some(0),
            peer_gid: Some(0),
            addr: Some("127.0.0.1:5000".into()),
            ..ClientInfo::local(3, true)
        };
        let names: Vec<String> = client_params(&c).into_iter().map(|p| p.field).collect();
        assert_eq!(names, vec!["readonly", "sock_addr"]);
    }
}
