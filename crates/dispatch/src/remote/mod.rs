// SPDX-License-Identifier: LGPL-2.1-or-later
//! The remote program (0x20008086): procedure by procedure.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use driver::{ConnectAuth, Connection, Registry};
use protocol::header::Header;
use protocol::remote as r;
use protocol::{ErrorCode, ErrorDomain, ProcInfo, RemoteError, RemoteProc as P};
use rpc::{CallMode, Client, ClientInfo, Handler, Response};
use xdr::{from_bytes, to_bytes, Xdr};

use crate::convert::*;

mod events;
mod state;
mod streams;

use events::Kind;
pub use state::RemoteState;

type R<T> = Result<T, RemoteError>;

/// Serves the remote program (and the lxc program) for one daemon.
pub struct RemoteHandler {
    registry: Registry,
    /// Guests and connections counted for the idle timeout.
    pub opened: std::sync::atomic::AtomicUsize,
}

impl RemoteHandler {
    pub fn new(registry: Registry) -> Self {
        RemoteHandler {
            registry,
            opened: Default::default(),
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

fn decode<T: Xdr>(payload: &[u8]) -> R<T> {
    from_bytes(payload).map_err(|_| {
        RemoteError::new(
            ErrorCode::Rpc,
            ErrorDomain::Rpc,
            Some("Unable to decode message payload"),
        )
    })
}

fn ok<T: Xdr>(v: &T) -> R<Vec<u8>> {
    Ok(to_bytes(v))
}

fn derr(e: driver::Error) -> RemoteError {
    e.to_remote()
}

fn not_open() -> RemoteError {
    RemoteError::new(
        ErrorCode::InternalError,
        ErrorDomain::Rpc,
        Some("connection not open"),
    )
}

fn limit_check(n: usize, max: u32, what: &str) -> R<()> {
    if n > max as usize {
        return Err(RemoteError::new(
            ErrorCode::Rpc,
            ErrorDomain::Rpc,
            Some(&format!("Too many {what} '{n}' for limit '{max}'")),
        ));
    }
    Ok(())
}

fn error_domain_for(info: &ProcInfo) -> ErrorDomain {
    let n = info.name;
    if n.starts_with("Domain") {
        ErrorDomain::Domain
    } else if n.starts_with("Network") {
        ErrorDomain::Network
    } else if n.starts_with("StorageVol") || n.starts_with("StoragePool") {
        ErrorDomain::Storage
    } else if n.starts_with("Interface") {
        ErrorDomain::Interface
    } else if n.starts_with("NodeDevice") {
        ErrorDomain::Nodedev
    } else {
        ErrorDomain::None
    }
}

impl Handler for RemoteHandler {
    type State = RemoteState;

    fn accepts(&self, prog: u32, vers: u32) -> bool {
        (prog == r::PROGRAM && vers == r::PROTOCOL_VERSION)
            || (prog == protocol::lxc::PROGRAM && vers == protocol::lxc::PROTOCOL_VERSION)
    }

    fn new_state(&self, info: &ClientInfo) -> RemoteState {
        RemoteState::new(info.readonly)
    }

    fn mode(&self, h: &Header) -> CallMode {
        if h.prog != r::PROGRAM {
            return CallMode::Worker;
        }
        match P::from_i32(h.proc_).map(P::info) {
            // High-priority reads never wait on a guest: answer them on the
            // connection task, skipping the worker hand-off.
            Some(i) if i.high_priority && i.readonly_ok && !is_slow_read(h.proc_) => {
                CallMode::Inline
            }
            Some(i) if i.high_priority => CallMode::Priority,
            _ => CallMode::Worker,
        }
    }

    fn call(
        &self,
        client: &Arc<Client<RemoteState>>,
        h: &Header,
        payload: &[u8],
        _fds: Vec<OwnedFd>,
    ) -> Response {
        let result = if h.prog == protocol::lxc::PROGRAM {
            self.lxc_call(client, h, payload)
        } else {
            match P::from_i32(h.proc_) {
                None => Err(RemoteError::new(
                    ErrorCode::Rpc,
                    ErrorDomain::Rpc,
                    Some(&format!("unknown procedure: {}", h.proc_)),
                )),
                Some(p) => {
                    let info = p.info();
                    if client.state.readonly && !info.readonly_ok {
                        Err(RemoteError::new(
                            ErrorCode::OperationDenied,
                            error_domain_for(&info),
                            Some(&format!("read only access prevents {}", info.api)),
                        ))
                    } else {
                        self.dispatch(client, h, p, payload)
                    }
                }
            }
        };
        match result {
            Ok(Reply::Bytes(b)) => Response::Reply(b),
            Ok(Reply::Fds(b, fds)) => Response::ReplyWithFds(b, fds),
            Ok(Reply::Sent) => Response::NoReply,
            Err(e) => Response::Error(e),
        }
    }

    fn stream(&self, client: &Arc<Client<RemoteState>>, h: &Header, payload: &[u8]) {
        client.state.streams.incoming(client, h, payload);
    }

    fn closed(&self, client: &Arc<Client<RemoteState>>) {
        client.state.streams.close_all();
        let conn = client.state.conn.write().ok().and_then(|mut c| c.take());
        if let Some(conn) = conn {
            if let Some(tok) = client
                .state
                .events
                .lock()
                .ok()
                .and_then(|mut e| e.token.take())
            {
                conn.unsubscribe(tok);
            }
            self.opened
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// Reads marked high priority that can still be costly (formatting many
/// objects); they go to a worker rather than the connection task.
fn is_slow_read(_proc: i32) -> bool {
    false
}

pub(crate) enum Reply {
    Bytes(Vec<u8>),
    Fds(Vec<u8>, Vec<OwnedFd>),
    /// Already queued by the procedure (a stream's reply must precede its
    /// first message).
    Sent,
}

impl From<Vec<u8>> for Reply {
    fn from(b: Vec<u8>) -> Self {
        Reply::Bytes(b)
    }
}

/// Supported virDrvFeature values.
fn feature_supported(f: i32) -> bool {
    // REMOTE=2, FD_PASSING=8, TYPED_PARAM_STRING=9, PROGRAM_KEEPALIVE=10,
    // REMOTE_CLOSE_CALLBACK=14, REMOTE_EVENT_CALLBACK=15,
    // NETWORK_UPDATE_HAS_CORRECT_ORDER=16.
    matches!(f, 2 | 8 | 9 | 10 | 14 | 15 | 16)
}

impl RemoteHandler {
    fn conn(&self, client: &Client<RemoteState>) -> R<Arc<dyn Connection>> {
        client
            .state
            .conn
            .read()
            .ok()
            .and_then(|c| c.clone())
            .ok_or_else(not_open)
    }

    fn lxc_call(&self, client: &Arc<Client<RemoteState>>, h: &Header, payload: &[u8]) -> R<Reply> {
        if h.proc_ != protocol::LxcProc::DomainOpenNamespace as i32 {
            return Err(RemoteError::new(
                ErrorCode::Rpc,
                ErrorDomain::Rpc,
                Some(&format!("unknown procedure: {}", h.proc_)),
            ));
        }
        if client.state.readonly {
            return Err(RemoteError::new(
                ErrorCode::OperationDenied,
                ErrorDomain::Domain,
                Some("read only access prevents virDomainLxcOpenNamespace"),
            ));
        }
        let a: protocol::lxc::DomainOpenNamespaceArgs = decode(payload)?;
        let fds = self
            .conn(client)?
            .domain_open_namespace(&dom_in(&a.dom), a.flags)
            .map_err(derr)?;
        Ok(Reply::Fds(Vec::new(), fds))
    }

    #[allow(clippy::too_many_lines)]
    fn dispatch(
        &self,
        client: &Arc<Client<RemoteState>>,
        _h: &Header,
        p: P,
        payload: &[u8],
    ) -> R<Reply> {
        let st = &client.state;
        macro_rules! a {
            ($t:ident) => {
                decode::<r::$t>(payload)?
            };
        }
        macro_rules! c {
            () => {
                self.conn(client)?
            };
        }
        macro_rules! d {
            ($e:expr) => {
                $e.map_err(derr)?
            };
        }
        let out: Vec<u8> = match p {
            // ---- connection ----
            P::AuthList => ok(&r::AuthListRet { types: vec![0] })?,
            P::ConnectOpen => {
                let a = a!(ConnectOpenArgs);
                let mut slot = st.conn.write().map_err(|_| not_open())?;
                if slot.is_some() {
                    return Err(RemoteError::new(
                        ErrorCode::InternalError,
                        ErrorDomain::Rpc,
                        Some("connection already open"),
                    ));
                }
                let auth = ConnectAuth {
                    readonly: st.readonly || (a.flags & 1) != 0,
                    uid: client.info.peer_uid,
                    pid: client.info.peer_pid,
                };
                let conn = d!(self.registry.open(a.name.as_deref(), &auth));
                *slot = Some(conn);
                self.opened
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Vec::new()
            }
            P::ConnectClose => {
                self.closed(client);
                Vec::new()
            }
            P::ConnectSupportsFeature => {
                let a = a!(ConnectSupportsFeatureArgs);
                if a.feature == 10 {
                    client.start_keepalive();
                }
                ok(&r::ConnectSupportsFeatureRet {
                    supported: i32::from(feature_supported(a.feature)),
                })?
            }
            P::ConnectRegisterCloseCallback => {
                c!();
                if let Ok(mut cb) = st.close_callback.lock() {
                    *cb = true;
                }
                Vec::new()
            }
            P::ConnectUnregisterCloseCallback => {
                c!();
                if let Ok(mut cb) = st.close_callback.lock() {
                    *cb = false;
                }
                Vec::new()
            }
            P::ConnectGetType => ok(&r::ConnectGetTypeRet {
                r#type: c!().get_type().to_string(),
            })?,
            P::ConnectGetVersion => ok(&r::ConnectGetVersionRet {
                hv_ver: d!(c!().version()),
            })?,
            P::ConnectGetLibVersion => ok(&r::ConnectGetLibVersionRet {
                lib_ver: protocol::version_number(),
            })?,
            P::ConnectGetHostname => ok(&r::ConnectGetHostnameRet {
                hostname: d!(c!().hostname()),
            })?,
            P::ConnectGetUri => ok(&r::ConnectGetUriRet { uri: c!().uri() })?,
            P::ConnectGetCapabilities => ok(&r::ConnectGetCapabilitiesRet {
                capabilities: d!(c!().capabilities()),
            })?,
            P::ConnectGetDomainCapabilities => {
                let a = a!(ConnectGetDomainCapabilitiesArgs);
                let x = d!(c!().domain_capabilities(
                    a.emulatorbin.as_deref(),
                    a.arch.as_deref(),
                    a.machine.as_deref(),
                    a.virttype.as_deref(),
                    a.flags
                ));
                ok(&r::ConnectGetDomainCapabilitiesRet { capabilities: x })?
            }
            P::ConnectGetSysinfo => {
                let a = a!(ConnectGetSysinfoArgs);
                ok(&r::ConnectGetSysinfoRet {
                    sysinfo: d!(c!().sysinfo(a.flags)),
                })?
            }
            P::ConnectGetMaxVcpus => {
                let a = a!(ConnectGetMaxVcpusArgs);
                ok(&r::ConnectGetMaxVcpusRet {
                    max_vcpus: d!(c!().max_vcpus(a.r#type.as_deref())),
                })?
            }
            P::NodeGetInfo => {
                let i = d!(c!().node_info());
                ok(&r::NodeGetInfoRet {
                    model: xdr::CharArray::from_str_lossy(&i.model),
                    memory: i.memory,
                    cpus: i.cpus as i32,
                    mhz: i.mhz as i32,
                    nodes: i.nodes as i32,
                    sockets: i.sockets as i32,
                    cores: i.cores as i32,
                    threads: i.threads as i32,
                })?
            }
            P::NodeGetFreeMemory => ok(&r::NodeGetFreeMemoryRet {
                free_mem: d!(c!().node_free_memory()),
            })?,
            P::NodeGetCellsFreeMemory => {
                let a = a!(NodeGetCellsFreeMemoryArgs);
                limit_check(a.maxcells.max(0) as usize, r::NODE_MAX_CELLS, "NUMA cells")?;
                ok(&r::NodeGetCellsFreeMemoryRet {
                    cells: d!(c!().node_cells_free_memory(a.start_cell, a.maxcells)),
                })?
            }
            P::NodeGetSecurityModel => {
                let m = d!(c!().node_security_model());
                ok(&r::NodeGetSecurityModelRet {
                    model: c_chars(&m.model),
                    doi: c_chars(&m.doi),
                })?
            }
            P::ConnectIsSecure => ok(&r::ConnectIsSecureRet {
                secure: i32::from(c!().is_secure()),
            })?,
            P::ConnectDomainXmlFromNative => {
                let a = a!(ConnectDomainXmlFromNativeArgs);
                let x =
                    d!(c!().domain_xml_from_native(&a.native_format, &a.native_config, a.flags));
                ok(&r::ConnectDomainXmlFromNativeRet { domain_xml: x })?
            }
            P::ConnectDomainXmlToNative => {
                let a = a!(ConnectDomainXmlToNativeArgs);
                let x = d!(c!().domain_xml_to_native(&a.native_format, &a.domain_xml, a.flags));
                ok(&r::ConnectDomainXmlToNativeRet { native_config: x })?
            }

            // ---- domain listing and lookup ----
            P::ConnectListAllDomains => {
                let a = a!(ConnectListAllDomainsArgs);
                let v = d!(c!().list_all_domains(a.flags));
                limit_check(v.len(), r::DOMAIN_LIST_MAX, "domains")?;
                let n = v.len() as u32;
                let domains = if a.need_results != 0 {
                    v.into_iter().map(dom_out).collect()
                } else {
                    Vec::new()
                };
                ok(&r::ConnectListAllDomainsRet { domains, ret: n })?
            }
            P::ConnectListDomains => {
                let a = a!(ConnectListDomainsArgs);
                limit_check(a.maxids.max(0) as usize, r::DOMAIN_LIST_MAX, "domains")?;
                ok(&r::ConnectListDomainsRet {
                    ids: d!(c!().list_domain_ids(a.maxids.max(0) as usize)),
                })?
            }
            P::ConnectNumOfDomains => ok(&r::ConnectNumOfDomainsRet {
                num: d!(c!().num_of_domains()) as i32,
            })?,
            P::ConnectListDefinedDomains => {
                let a = a!(ConnectListDefinedDomainsArgs);
                limit_check(a.maxnames.max(0) as usize, r::DOMAIN_LIST_MAX, "domains")?;
                ok(&r::ConnectListDefinedDomainsRet {
                    names: d!(c!().list_defined_domains(a.maxnames.max(0) as usize)),
                })?
            }
            P::ConnectNumOfDefinedDomains => ok(&r::ConnectNumOfDefinedDomainsRet {
                num: d!(c!().num_of_defined_domains()) as i32,
            })?,
            P::DomainLookupById => {
                let a = a!(DomainLookupByIdArgs);
                ok(&r::DomainLookupByIdRet {
                    dom: dom_out(d!(c!().domain_lookup_by_id(a.id))),
                })?
            }
            P::DomainLookupByName => {
                let a = a!(DomainLookupByNameArgs);
                ok(&r::DomainLookupByNameRet {
                    dom: dom_out(d!(c!().domain_lookup_by_name(&a.name))),
                })?
            }
            P::DomainLookupByUuid => {
                let a = a!(DomainLookupByUuidArgs);
                ok(&r::DomainLookupByUuidRet {
                    dom: dom_out(d!(c!().domain_lookup_by_uuid(&a.uuid))),
                })?
            }

            // ---- domain lifecycle ----
            P::DomainDefineXml => {
                let a = a!(DomainDefineXmlArgs);
                ok(&r::DomainDefineXmlRet {
                    dom: dom_out(d!(c!().domain_define_xml(&a.xml, 0))),
                })?
            }
            P::DomainDefineXmlFlags => {
                let a = a!(DomainDefineXmlFlagsArgs);
                ok(&r::DomainDefineXmlFlagsRet {
                    dom: dom_out(d!(c!().domain_define_xml(&a.xml, a.flags))),
                })?
            }
            P::DomainUndefine => {
                let a = a!(DomainUndefineArgs);
                d!(c!().domain_undefine(&dom_in(&a.dom), 0));
                Vec::new()
            }
            P::DomainUndefineFlags => {
                let a = a!(DomainUndefineFlagsArgs);
                d!(c!().domain_undefine(&dom_in(&a.dom), a.flags));
                Vec::new()
            }
            P::DomainCreate => {
                let a = a!(DomainCreateArgs);
                d!(c!().domain_create(&dom_in(&a.dom), 0));
                Vec::new()
            }
            P::DomainCreateWithFlags => {
                let a = a!(DomainCreateWithFlagsArgs);
                let dom = d!(c!().domain_create(&dom_in(&a.dom), a.flags));
                ok(&r::DomainCreateWithFlagsRet { dom: dom_out(dom) })?
            }
            P::DomainCreateXml => {
                let a = a!(DomainCreateXmlArgs);
                ok(&r::DomainCreateXmlRet {
                    dom: dom_out(d!(c!().domain_create_xml(&a.xml_desc, a.flags))),
                })?
            }
            P::DomainDestroy => {
                let a = a!(DomainDestroyArgs);
                d!(c!().domain_destroy(&dom_in(&a.dom), 0));
                Vec::new()
            }
            P::DomainDestroyFlags => {
                let a = a!(DomainDestroyFlagsArgs);
                d!(c!().domain_destroy(&dom_in(&a.dom), a.flags));
                Vec::new()
            }
            P::DomainShutdown => {
                let a = a!(DomainShutdownArgs);
                d!(c!().domain_shutdown(&dom_in(&a.dom), 0));
                Vec::new()
            }
            P::DomainShutdownFlags => {
                let a = a!(DomainShutdownFlagsArgs);
                d!(c!().domain_shutdown(&dom_in(&a.dom), a.flags));
                Vec::new()
            }
            P::DomainReboot => {
                let a = a!(DomainRebootArgs);
                d!(c!().domain_reboot(&dom_in(&a.dom), a.flags));
                Vec::new()
            }
            P::DomainReset => {
                let a = a!(DomainResetArgs);
                d!(c!().domain_reset(&dom_in(&a.dom), a.flags));
                Vec::new()
            }
            P::DomainSuspend => {
                let a = a!(DomainSuspendArgs);
                d!(c!().domain_suspend(&dom_in(&a.dom)));
                Vec::new()
            }
            P::DomainResume => {
                let a = a!(DomainResumeArgs);
                d!(c!().domain_resume(&dom_in(&a.dom)));
                Vec::new()
            }
            P::DomainSave => {
                let a = a!(DomainSaveArgs);
                d!(c!().domain_save(&dom_in(&a.dom), &a.to, None, 0));
                Vec::new()
            }
            P::DomainSaveFlags => {
                let a = a!(DomainSaveFlagsArgs);
                d!(c!().domain_save(&dom_in(&a.dom), &a.to, a.dxml.as_deref(), a.flags));
                Vec::new()
            }
            P::DomainRestore => {
                let a = a!(DomainRestoreArgs);
                d!(c!().domain_restore(&a.from, None, 0));
                Vec::new()
            }
            P::DomainRestoreFlags => {
                let a = a!(DomainRestoreFlagsArgs);
                d!(c!().domain_restore(&a.from, a.dxml.as_deref(), a.flags));
                Vec::new()
            }
            P::DomainManagedSave => {
                let a = a!(DomainManagedSaveArgs);
                d!(c!().domain_managed_save(&dom_in(&a.dom), a.flags));
                Vec::new()
            }
            P::DomainHasManagedSaveImage => {
                let a = a!(DomainHasManagedSaveImageArgs);
                let v = d!(c!().domain_has_managed_save(&dom_in(&a.dom), a.flags));
                ok(&r::DomainHasManagedSaveImageRet {
                    result: i32::from(v),
                })?
            }
            P::DomainManagedSaveRemove => {
                let a = a!(DomainManagedSaveRemoveArgs);
                d!(c!().domain_managed_save_remove(&dom_in(&a.dom), a.flags));
                Vec::new()
            }
            P::DomainRename => {
                let a = a!(DomainRenameArgs);
                let name = a.new_name.unwrap_or_default();
                d!(c!().domain_rename(&dom_in(&a.dom), &name, a.flags));
                ok(&r::DomainRenameRet { retcode: 0 })?
            }

            // ---- domain state ----
            P::DomainGetInfo => {
                let a = a!(DomainGetInfoArgs);
                let i = d!(c!().domain_get_info(&dom_in(&a.dom)));
                ok(&r::DomainGetInfoRet {
                    state: i.state as u8,
                    max_mem: i.max_mem,
                    memory: i.memory,
                    nr_virt_cpu: i.nr_virt_cpu as u16,
                    cpu_time: i.cpu_time,
                })?
            }
            P::DomainGetState => {
                let a = a!(DomainGetStateArgs);
                let (state, reason) = d!(c!().domain_get_state(&dom_in(&a.dom), a.flags));
                ok(&r::DomainGetStateRet { state, reason })?
            }
            P::DomainGetXmlDesc => {
                let a = a!(DomainGetXmlDescArgs);
                if st.readonly && (a.flags & driver::consts::xml::SECURE) != 0 {
                    return Err(RemoteError::new(
                        ErrorCode::OperationDenied,
                        ErrorDomain::Domain,
                        Some("virDomainGetXMLDesc with secure flag"),
                    ));
                }
                ok(&r::DomainGetXmlDescRet {
                    xml: d!(c!().domain_get_xml_desc(&dom_in(&a.dom), a.flags)),
                })?
            }
            P::DomainGetOsType => {
                let a = a!(DomainGetOsTypeArgs);
                ok(&r::DomainGetOsTypeRet {
                    r#type: d!(c!().domain_get_os_type(&dom_in(&a.dom))),
                })?
            }
            P::DomainGetMaxMemory => {
                let a = a!(DomainGetMaxMemoryArgs);
                ok(&r::DomainGetMaxMemoryRet {
                    memory: d!(c!().domain_get_max_memory(&dom_in(&a.dom))),
                })?
            }
            P::DomainSetMaxMemory => {
                let a = a!(DomainSetMaxMemoryArgs);
                d!(c!().domain_set_max_memory(&dom_in(&a.dom), a.memory));
                Vec::new()
            }
            P::DomainSetMemory => {
                let a = a!(DomainSetMemoryArgs);
                d!(c!().domain_set_memory(&dom_in(&a.dom), a.memory, driver::consts::affect::LIVE));
                Vec::new()
            }
            P::DomainSetMemoryFlags => {
                let a = a!(DomainSetMemoryFlagsArgs);
                d!(c!().domain_set_memory(&dom_in(&a.dom), a.memory, a.flags));
                Vec::new()
            }
            P::DomainGetMemoryParameters => {
                let a = a!(DomainGetMemoryParametersArgs);
                let v = d!(c!().domain_get_memory_parameters(&dom_in(&a.dom), a.flags));
                let n = v.len() as i32;
                let params = if a.nparams == 0 {
                    Vec::new()
                } else {
                    params_out(v)
                };
                ok(&r::DomainGetMemoryParametersRet { params, nparams: n })?
            }
            P::DomainSetVcpus => {
                let a = a!(DomainSetVcpusArgs);
                d!(c!().domain_set_vcpus(&dom_in(&a.dom), a.nvcpus, driver::consts::affect::LIVE));
                Vec::new()
            }
            P::DomainSetVcpusFlags => {
                let a = a!(DomainSetVcpusFlagsArgs);
                d!(c!().domain_set_vcpus(&dom_in(&a.dom), a.nvcpus, a.flags));
                Vec::new()
            }
            P::DomainGetVcpusFlags => {
                let a = a!(DomainGetVcpusFlagsArgs);
                ok(&r::DomainGetVcpusFlagsRet {
                    num: d!(c!().domain_get_vcpus_flags(&dom_in(&a.dom), a.flags)),
                })?
            }
            P::DomainGetMaxVcpus => {
                let a = a!(DomainGetMaxVcpusArgs);
                ok(&r::DomainGetMaxVcpusRet {
                    num: d!(c!().domain_get_max_vcpus(&dom_in(&a.dom))),
                })?
            }
            P::DomainGetVcpus => {
                let a = a!(DomainGetVcpusArgs);
                limit_check(a.maxinfo.max(0) as usize, r::VCPUINFO_MAX, "vcpus")?;
                let maxinfo = a.maxinfo.max(0) as usize;
                let maplen = a.maplen.max(0) as usize;
                if maxinfo.saturating_mul(maplen) > r::CPUMAPS_MAX as usize {
                    return Err(RemoteError::new(
                        ErrorCode::Rpc,
                        ErrorDomain::Rpc,
                        Some("maxinfo * maplen > REMOTE_CPUMAPS_MAX"),
                    ));
                }
                let (info, maps) = d!(c!().domain_get_vcpus(&dom_in(&a.dom), maxinfo, maplen));
                ok(&r::DomainGetVcpusRet {
                    info: info
                        .into_iter()
                        .map(|v| r::VcpuInfo {
                            number: v.number,
                            state: v.state,
                            cpu_time: v.cpu_time,
                            cpu: v.cpu,
                        })
                        .collect(),
                    cpumaps: xdr::Opaque(maps),
                })?
            }
            P::DomainGetAutostart => {
                let a = a!(DomainGetAutostartArgs);
                ok(&r::DomainGetAutostartRet {
                    autostart: i32::from(d!(c!().domain_get_autostart(&dom_in(&a.dom)))),
                })?
            }
            P::DomainSetAutostart => {
                let a = a!(DomainSetAutostartArgs);
                d!(c!().domain_set_autostart(&dom_in(&a.dom), a.autostart != 0));
                Vec::new()
            }
            P::DomainIsActive => {
                let a = a!(DomainIsActiveArgs);
                ok(&r::DomainIsActiveRet {
                    active: i32::from(d!(c!().domain_is_active(&dom_in(&a.dom)))),
                })?
            }
            P::DomainIsPersistent => {
                let a = a!(DomainIsPersistentArgs);
                ok(&r::DomainIsPersistentRet {
                    persistent: i32::from(d!(c!().domain_is_persistent(&dom_in(&a.dom)))),
                })?
            }
            P::DomainIsUpdated => {
                let a = a!(DomainIsUpdatedArgs);
                ok(&r::DomainIsUpdatedRet {
                    updated: i32::from(d!(c!().domain_is_updated(&dom_in(&a.dom)))),
                })?
            }
            P::DomainGetSecurityLabel => {
                let a = a!(DomainGetSecurityLabelArgs);
                let l = d!(c!().domain_security_label(&dom_in(&a.dom)));
                ok(&r::DomainGetSecurityLabelRet {
                    label: if l.label.is_empty() {
                        Vec::new()
                    } else {
                        c_chars(&l.label)
                    },
                    enforcing: i32::from(l.enforcing),
                })?
            }
            P::DomainGetMessages => {
                let a = a!(DomainGetMessagesArgs);
                ok(&r::DomainGetMessagesRet {
                    msgs: d!(c!().domain_get_messages(&dom_in(&a.dom), a.flags)),
                })?
            }
            P::DomainSetMetadata => {
                let a = a!(DomainSetMetadataArgs);
                d!(c!().domain_set_metadata(
                    &dom_in(&a.dom),
                    a.r#type,
                    a.metadata.as_deref(),
                    a.key.as_deref(),
                    a.uri.as_deref(),
                    a.flags
                ));
                Vec::new()
            }
            P::DomainGetMetadata => {
                let a = a!(DomainGetMetadataArgs);
                let m = d!(c!().domain_get_metadata(
                    &dom_in(&a.dom),
                    a.r#type,
                    a.uri.as_deref(),
                    a.flags
                ));
                ok(&r::DomainGetMetadataRet { metadata: m })?
            }
            P::DomainGetSchedulerType => {
                let a = a!(DomainGetSchedulerTypeArgs);
                let (t, n) = d!(c!().domain_get_scheduler_type(&dom_in(&a.dom)));
                ok(&r::DomainGetSchedulerTypeRet {
                    r#type: t,
                    nparams: n,
                })?
            }
            P::DomainGetSchedulerParameters => {
                let a = a!(DomainGetSchedulerParametersArgs);
                let v = d!(c!().domain_get_scheduler_parameters(&dom_in(&a.dom), 0));
                ok(&r::DomainGetSchedulerParametersRet {
                    params: params_out(v),
                })?
            }
            P::DomainGetSchedulerParametersFlags => {
                let a = a!(DomainGetSchedulerParametersFlagsArgs);
                let v = d!(c!().domain_get_scheduler_parameters(&dom_in(&a.dom), a.flags));
                ok(&r::DomainGetSchedulerParametersFlagsRet {
                    params: params_out(v),
                })?
            }
            P::ConnectGetAllDomainStats => {
                let a = a!(ConnectGetAllDomainStatsArgs);
                let doms: Vec<_> = a.doms.iter().map(dom_in).collect();
                let v = d!(c!().domain_stats(&doms, a.stats, a.flags));
                ok(&r::ConnectGetAllDomainStatsRet {
                    ret_stats: v
                        .into_iter()
                        .map(|(d, p)| r::DomainStatsRecord {
                            dom: dom_out(d),
                            params: params_out(p),
                        })
                        .collect(),
                })?
            }
            P::DomainSnapshotNum => {
                let a = a!(DomainSnapshotNumArgs);
                ok(&r::DomainSnapshotNumRet {
                    num: d!(c!().domain_snapshot_num(&dom_in(&a.dom), a.flags)),
                })?
            }
            P::DomainListAllSnapshots => {
                let a = a!(DomainListAllSnapshotsArgs);
                let dom = a.dom.clone();
                let v = d!(c!().domain_list_snapshots(&dom_in(&a.dom), a.flags));
                let n = v.len() as i32;
                let snapshots = if a.need_results != 0 {
                    v.into_iter()
                        .map(|name| r::NonnullDomainSnapshot {
                            name,
                            dom: dom.clone(),
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                ok(&r::DomainListAllSnapshotsRet { snapshots, ret: n })?
            }
            P::DomainOpenConsole => {
                let a = a!(DomainOpenConsoleArgs);
                let fd =
                    d!(c!().domain_open_console(&dom_in(&a.dom), a.dev_name.as_deref(), a.flags));
                st.streams.open_console(client, _h, fd)?;
                return Ok(Reply::Sent);
            }

            // ---- events ----
            P::ConnectDomainEventRegister => {
                self.register(client, Kind::DomainLegacy, 0, None)?;
                ok(&r::ConnectDomainEventRegisterRet { cb_registered: 1 })?
            }
            P::ConnectDomainEventDeregister => {
                let found = self.deregister(client, |reg| reg.kind == Kind::DomainLegacy)?;
                ok(&r::ConnectDomainEventDeregisterRet {
                    cb_registered: i32::from(!found),
                })?
            }
            P::ConnectDomainEventRegisterAny => {
                let a = a!(ConnectDomainEventRegisterAnyArgs);
                check_event_id(a.event_id)?;
                self.register(client, Kind::DomainAny, a.event_id, None)?;
                Vec::new()
            }
            P::ConnectDomainEventDeregisterAny => {
                let a = a!(ConnectDomainEventDeregisterAnyArgs);
                if !self.deregister(client, |reg| {
                    reg.kind == Kind::DomainAny && reg.event_id == a.event_id
                })? {
                    return Err(RemoteError::new(
                        ErrorCode::InternalError,
                        ErrorDomain::Rpc,
                        Some(&format!("domain event {} not registered", a.event_id)),
                    ));
                }
                Vec::new()
            }
            P::ConnectDomainEventCallbackRegisterAny => {
                let a = a!(ConnectDomainEventCallbackRegisterAnyArgs);
                check_event_id(a.event_id)?;
                let id = self.register(
                    client,
                    Kind::DomainCallback,
                    a.event_id,
                    a.dom.map(|d| d.uuid.to_vec()),
                )?;
                ok(&r::ConnectDomainEventCallbackRegisterAnyRet { callback_id: id })?
            }
            P::ConnectDomainEventCallbackDeregisterAny => {
                let a = a!(ConnectDomainEventCallbackDeregisterAnyArgs);
                self.deregister_id(client, a.callback_id)?;
                Vec::new()
            }
            P::ConnectNetworkEventRegisterAny => {
                let a = a!(ConnectNetworkEventRegisterAnyArgs);
                let id = self.register(
                    client,
                    Kind::Network,
                    a.event_id,
                    a.net.map(|n| n.uuid.to_vec()),
                )?;
                ok(&r::ConnectNetworkEventRegisterAnyRet { callback_id: id })?
            }
            P::ConnectNetworkEventDeregisterAny => {
                let a = a!(ConnectNetworkEventDeregisterAnyArgs);
                self.deregister_id(client, a.callback_id)?;
                Vec::new()
            }
            P::ConnectStoragePoolEventRegisterAny => {
                let a = a!(ConnectStoragePoolEventRegisterAnyArgs);
                let id = self.register(
                    client,
                    Kind::StoragePool,
                    a.event_id,
                    a.pool.map(|n| n.uuid.to_vec()),
                )?;
                ok(&r::ConnectStoragePoolEventRegisterAnyRet { callback_id: id })?
            }
            P::ConnectStoragePoolEventDeregisterAny => {
                let a = a!(ConnectStoragePoolEventDeregisterAnyArgs);
                self.deregister_id(client, a.callback_id)?;
                Vec::new()
            }
            P::ConnectNodeDeviceEventRegisterAny => {
                let a = a!(ConnectNodeDeviceEventRegisterAnyArgs);
                let id = self.register(
                    client,
                    Kind::NodeDevice,
                    a.event_id,
                    a.dev.map(|n| n.name.into_bytes()),
                )?;
                ok(&r::ConnectNodeDeviceEventRegisterAnyRet { callback_id: id })?
            }
            P::ConnectNodeDeviceEventDeregisterAny => {
                let a = a!(ConnectNodeDeviceEventDeregisterAnyArgs);
                self.deregister_id(client, a.callback_id)?;
                Vec::new()
            }

            // ---- networks ----
            P::ConnectListAllNetworks => {
                let a = a!(ConnectListAllNetworksArgs);
                let v = d!(c!().list_all_networks(a.flags));
                limit_check(v.len(), r::NETWORK_LIST_MAX, "networks")?;
                let n = v.len() as u32;
                let nets = if a.need_results != 0 {
                    v.into_iter().map(net_out).collect()
                } else {
                    Vec::new()
                };
                ok(&r::ConnectListAllNetworksRet { nets, ret: n })?
            }
            P::ConnectNumOfNetworks => ok(&r::ConnectNumOfNetworksRet {
                num: d!(c!().list_all_networks(driver::consts::list_net::ACTIVE)).len() as i32,
            })?,
            P::ConnectNumOfDefinedNetworks => ok(&r::ConnectNumOfDefinedNetworksRet {
                num: d!(c!().list_all_networks(driver::consts::list_net::INACTIVE)).len() as i32,
            })?,
            P::ConnectListNetworks => {
                let a = a!(ConnectListNetworksArgs);
                let names = names_of(
                    d!(c!().list_all_networks(driver::consts::list_net::ACTIVE)),
                    a.maxnames,
                    |n| n.name,
                );
                ok(&r::ConnectListNetworksRet { names })?
            }
            P::ConnectListDefinedNetworks => {
                let a = a!(ConnectListDefinedNetworksArgs);
                let names = names_of(
                    d!(c!().list_all_networks(driver::consts::list_net::INACTIVE)),
                    a.maxnames,
                    |n| n.name,
                );
                ok(&r::ConnectListDefinedNetworksRet { names })?
            }
            P::NetworkLookupByName => {
                let a = a!(NetworkLookupByNameArgs);
                ok(&r::NetworkLookupByNameRet {
                    net: net_out(d!(c!().network_lookup_by_name(&a.name))),
                })?
            }
            P::NetworkLookupByUuid => {
                let a = a!(NetworkLookupByUuidArgs);
                ok(&r::NetworkLookupByUuidRet {
                    net: net_out(d!(c!().network_lookup_by_uuid(&a.uuid))),
                })?
            }
            P::NetworkDefineXml => {
                let a = a!(NetworkDefineXmlArgs);
                ok(&r::NetworkDefineXmlRet {
                    net: net_out(d!(c!().network_define_xml(&a.xml, 0))),
                })?
            }
            P::NetworkDefineXmlFlags => {
                let a = a!(NetworkDefineXmlFlagsArgs);
                ok(&r::NetworkDefineXmlFlagsRet {
                    net: net_out(d!(c!().network_define_xml(&a.xml, a.flags))),
                })?
            }
            P::NetworkCreateXml => {
                let a = a!(NetworkCreateXmlArgs);
                ok(&r::NetworkCreateXmlRet {
                    net: net_out(d!(c!().network_create_xml(&a.xml, 0))),
                })?
            }
            P::NetworkCreateXmlFlags => {
                let a = a!(NetworkCreateXmlFlagsArgs);
                ok(&r::NetworkCreateXmlFlagsRet {
                    net: net_out(d!(c!().network_create_xml(&a.xml, a.flags))),
                })?
            }
            P::NetworkUndefine => {
                let a = a!(NetworkUndefineArgs);
                d!(c!().network_undefine(&net_in(&a.net)));
                Vec::new()
            }
            P::NetworkCreate => {
                let a = a!(NetworkCreateArgs);
                d!(c!().network_create(&net_in(&a.net)));
                Vec::new()
            }
            P::NetworkDestroy => {
                let a = a!(NetworkDestroyArgs);
                d!(c!().network_destroy(&net_in(&a.net)));
                Vec::new()
            }
            P::NetworkGetXmlDesc => {
                let a = a!(NetworkGetXmlDescArgs);
                ok(&r::NetworkGetXmlDescRet {
                    xml: d!(c!().network_get_xml_desc(&net_in(&a.net), a.flags)),
                })?
            }
            P::NetworkGetBridgeName => {
                let a = a!(NetworkGetBridgeNameArgs);
                ok(&r::NetworkGetBridgeNameRet {
                    name: d!(c!().network_get_bridge_name(&net_in(&a.net))),
                })?
            }
            P::NetworkGetAutostart => {
                let a = a!(NetworkGetAutostartArgs);
                ok(&r::NetworkGetAutostartRet {
                    autostart: i32::from(d!(c!().network_get_autostart(&net_in(&a.net)))),
                })?
            }
            P::NetworkSetAutostart => {
                let a = a!(NetworkSetAutostartArgs);
                d!(c!().network_set_autostart(&net_in(&a.net), a.autostart != 0));
                Vec::new()
            }
            P::NetworkIsActive => {
                let a = a!(NetworkIsActiveArgs);
                ok(&r::NetworkIsActiveRet {
                    active: i32::from(d!(c!().network_is_active(&net_in(&a.net)))),
                })?
            }
            P::NetworkIsPersistent => {
                let a = a!(NetworkIsPersistentArgs);
                ok(&r::NetworkIsPersistentRet {
                    persistent: i32::from(d!(c!().network_is_persistent(&net_in(&a.net)))),
                })?
            }
            P::NetworkUpdate => {
                let a = a!(NetworkUpdateArgs);
                d!(c!().network_update(
                    &net_in(&a.net),
                    a.command,
                    a.section,
                    a.parent_index,
                    &a.xml,
                    a.flags
                ));
                Vec::new()
            }

            // ---- storage pools ----
            P::ConnectListAllStoragePools => {
                let a = a!(ConnectListAllStoragePoolsArgs);
                let v = d!(c!().list_all_storage_pools(a.flags));
                limit_check(v.len(), r::STORAGE_POOL_LIST_MAX, "storage pools")?;
                let n = v.len() as u32;
                let pools = if a.need_results != 0 {
                    v.into_iter().map(pool_out).collect()
                } else {
                    Vec::new()
                };
                ok(&r::ConnectListAllStoragePoolsRet { pools, ret: n })?
            }
            P::ConnectNumOfStoragePools => ok(&r::ConnectNumOfStoragePoolsRet {
                num: d!(c!().list_all_storage_pools(driver::consts::list_net::ACTIVE)).len() as i32,
            })?,
            P::ConnectNumOfDefinedStoragePools => ok(&r::ConnectNumOfDefinedStoragePoolsRet {
                num: d!(c!().list_all_storage_pools(driver::consts::list_net::INACTIVE)).len()
                    as i32,
            })?,
            P::ConnectListStoragePools => {
                let a = a!(ConnectListStoragePoolsArgs);
                let names = names_of(
                    d!(c!().list_all_storage_pools(driver::consts::list_net::ACTIVE)),
                    a.maxnames,
                    |p| p.name,
                );
                ok(&r::ConnectListStoragePoolsRet { names })?
            }
            P::ConnectListDefinedStoragePools => {
                let a = a!(ConnectListDefinedStoragePoolsArgs);
                let names = names_of(
                    d!(c!().list_all_storage_pools(driver::consts::list_net::INACTIVE)),
                    a.maxnames,
                    |p| p.name,
                );
                ok(&r::ConnectListDefinedStoragePoolsRet { names })?
            }
            P::StoragePoolLookupByName => {
                let a = a!(StoragePoolLookupByNameArgs);
                ok(&r::StoragePoolLookupByNameRet {
                    pool: pool_out(d!(c!().storage_pool_lookup_by_name(&a.name))),
                })?
            }
            P::StoragePoolLookupByUuid => {
                let a = a!(StoragePoolLookupByUuidArgs);
                ok(&r::StoragePoolLookupByUuidRet {
                    pool: pool_out(d!(c!().storage_pool_lookup_by_uuid(&a.uuid))),
                })?
            }
            P::StoragePoolLookupByVolume => {
                let a = a!(StoragePoolLookupByVolumeArgs);
                ok(&r::StoragePoolLookupByVolumeRet {
                    pool: pool_out(d!(c!().storage_pool_lookup_by_volume(&vol_in(&a.vol)))),
                })?
            }
            P::StoragePoolDefineXml => {
                let a = a!(StoragePoolDefineXmlArgs);
                ok(&r::StoragePoolDefineXmlRet {
                    pool: pool_out(d!(c!().storage_pool_define_xml(&a.xml, a.flags))),
                })?
            }
            P::StoragePoolCreateXml => {
                let a = a!(StoragePoolCreateXmlArgs);
                ok(&r::StoragePoolCreateXmlRet {
                    pool: pool_out(d!(c!().storage_pool_create_xml(&a.xml, a.flags))),
                })?
            }
            P::StoragePoolBuild => {
                let a = a!(StoragePoolBuildArgs);
                d!(c!().storage_pool_build(&pool_in(&a.pool), a.flags));
                Vec::new()
            }
            P::StoragePoolUndefine => {
                let a = a!(StoragePoolUndefineArgs);
                d!(c!().storage_pool_undefine(&pool_in(&a.pool)));
                Vec::new()
            }
            P::StoragePoolCreate => {
                let a = a!(StoragePoolCreateArgs);
                d!(c!().storage_pool_create(&pool_in(&a.pool), a.flags));
                Vec::new()
            }
            P::StoragePoolDestroy => {
                let a = a!(StoragePoolDestroyArgs);
                d!(c!().storage_pool_destroy(&pool_in(&a.pool)));
                Vec::new()
            }
            P::StoragePoolDelete => {
                let a = a!(StoragePoolDeleteArgs);
                d!(c!().storage_pool_delete(&pool_in(&a.pool), a.flags));
                Vec::new()
            }
            P::StoragePoolRefresh => {
                let a = a!(StoragePoolRefreshArgs);
                d!(c!().storage_pool_refresh(&pool_in(&a.pool), a.flags));
                Vec::new()
            }
            P::StoragePoolGetInfo => {
                let a = a!(StoragePoolGetInfoArgs);
                let i = d!(c!().storage_pool_get_info(&pool_in(&a.pool)));
                ok(&r::StoragePoolGetInfoRet {
                    state: i.state as u8,
                    capacity: i.capacity,
                    allocation: i.allocation,
                    available: i.available,
                })?
            }
            P::StoragePoolGetXmlDesc => {
                let a = a!(StoragePoolGetXmlDescArgs);
                ok(&r::StoragePoolGetXmlDescRet {
                    xml: d!(c!().storage_pool_get_xml_desc(&pool_in(&a.pool), a.flags)),
                })?
            }
            P::StoragePoolGetAutostart => {
                let a = a!(StoragePoolGetAutostartArgs);
                ok(&r::StoragePoolGetAutostartRet {
                    autostart: i32::from(d!(c!().storage_pool_get_autostart(&pool_in(&a.pool)))),
                })?
            }
            P::StoragePoolSetAutostart => {
                let a = a!(StoragePoolSetAutostartArgs);
                d!(c!().storage_pool_set_autostart(&pool_in(&a.pool), a.autostart != 0));
                Vec::new()
            }
            P::StoragePoolIsActive => {
                let a = a!(StoragePoolIsActiveArgs);
                ok(&r::StoragePoolIsActiveRet {
                    active: i32::from(d!(c!().storage_pool_is_active(&pool_in(&a.pool)))),
                })?
            }
            P::StoragePoolIsPersistent => {
                let a = a!(StoragePoolIsPersistentArgs);
                ok(&r::StoragePoolIsPersistentRet {
                    persistent: i32::from(d!(c!().storage_pool_is_persistent(&pool_in(&a.pool)))),
                })?
            }
            P::StoragePoolListAllVolumes => {
                let a = a!(StoragePoolListAllVolumesArgs);
                let v = d!(c!().storage_pool_list_volumes(&pool_in(&a.pool)));
                limit_check(v.len(), r::STORAGE_VOL_LIST_MAX, "storage volumes")?;
                let n = v.len() as u32;
                let vols = if a.need_results != 0 {
                    v.into_iter().map(vol_out).collect()
                } else {
                    Vec::new()
                };
                ok(&r::StoragePoolListAllVolumesRet { vols, ret: n })?
            }
            P::StoragePoolNumOfVolumes => {
                let a = a!(StoragePoolNumOfVolumesArgs);
                ok(&r::StoragePoolNumOfVolumesRet {
                    num: d!(c!().storage_pool_list_volumes(&pool_in(&a.pool))).len() as i32,
                })?
            }
            P::StoragePoolListVolumes => {
                let a = a!(StoragePoolListVolumesArgs);
                let names = names_of(
                    d!(c!().storage_pool_list_volumes(&pool_in(&a.pool))),
                    a.maxnames,
                    |v| v.name,
                );
                ok(&r::StoragePoolListVolumesRet { names })?
            }

            // ---- storage volumes ----
            P::StorageVolLookupByName => {
                let a = a!(StorageVolLookupByNameArgs);
                ok(&r::StorageVolLookupByNameRet {
                    vol: vol_out(d!(
                        c!().storage_vol_lookup_by_name(&pool_in(&a.pool), &a.name)
                    )),
                })?
            }
            P::StorageVolLookupByKey => {
                let a = a!(StorageVolLookupByKeyArgs);
                ok(&r::StorageVolLookupByKeyRet {
                    vol: vol_out(d!(c!().storage_vol_lookup_by_key(&a.key))),
                })?
            }
            P::StorageVolLookupByPath => {
                let a = a!(StorageVolLookupByPathArgs);
                ok(&r::StorageVolLookupByPathRet {
                    vol: vol_out(d!(c!().storage_vol_lookup_by_path(&a.path))),
                })?
            }
            P::StorageVolCreateXml => {
                let a = a!(StorageVolCreateXmlArgs);
                ok(&r::StorageVolCreateXmlRet {
                    vol: vol_out(d!(c!().storage_vol_create_xml(
                        &pool_in(&a.pool),
                        &a.xml,
                        a.flags
                    ))),
                })?
            }
            P::StorageVolCreateXmlFrom => {
                let a = a!(StorageVolCreateXmlFromArgs);
                ok(&r::StorageVolCreateXmlFromRet {
                    vol: vol_out(d!(c!().storage_vol_create_xml_from(
                        &pool_in(&a.pool),
                        &a.xml,
                        &vol_in(&a.clonevol),
                        a.flags
                    ))),
                })?
            }
            P::StorageVolDelete => {
                let a = a!(StorageVolDeleteArgs);
                d!(c!().storage_vol_delete(&vol_in(&a.vol), a.flags));
                Vec::new()
            }
            P::StorageVolGetInfo => {
                let a = a!(StorageVolGetInfoArgs);
                let i = d!(c!().storage_vol_get_info(&vol_in(&a.vol)));
                ok(&r::StorageVolGetInfoRet {
                    r#type: i.vol_type as i8,
                    capacity: i.capacity,
                    allocation: i.allocation,
                })?
            }
            P::StorageVolGetInfoFlags => {
                let a = a!(StorageVolGetInfoFlagsArgs);
                let i = d!(c!().storage_vol_get_info(&vol_in(&a.vol)));
                ok(&r::StorageVolGetInfoFlagsRet {
                    r#type: i.vol_type as i8,
                    capacity: i.capacity,
                    allocation: i.allocation,
                })?
            }
            P::StorageVolGetXmlDesc => {
                let a = a!(StorageVolGetXmlDescArgs);
                ok(&r::StorageVolGetXmlDescRet {
                    xml: d!(c!().storage_vol_get_xml_desc(&vol_in(&a.vol), a.flags)),
                })?
            }
            P::StorageVolGetPath => {
                let a = a!(StorageVolGetPathArgs);
                ok(&r::StorageVolGetPathRet {
                    name: d!(c!().storage_vol_get_path(&vol_in(&a.vol))),
                })?
            }

            // ---- interfaces ----
            P::ConnectListAllInterfaces => {
                let a = a!(ConnectListAllInterfacesArgs);
                let v = d!(c!().list_all_interfaces(a.flags));
                limit_check(v.len(), r::INTERFACE_LIST_MAX, "interfaces")?;
                let n = v.len() as u32;
                let ifaces = if a.need_results != 0 {
                    v.into_iter().map(iface_out).collect()
                } else {
                    Vec::new()
                };
                ok(&r::ConnectListAllInterfacesRet { ifaces, ret: n })?
            }
            P::ConnectNumOfInterfaces => ok(&r::ConnectNumOfInterfacesRet {
                num: d!(c!().list_all_interfaces(2)).len() as i32,
            })?,
            P::ConnectNumOfDefinedInterfaces => ok(&r::ConnectNumOfDefinedInterfacesRet {
                num: d!(c!().list_all_interfaces(1)).len() as i32,
            })?,
            P::ConnectListInterfaces => {
                let a = a!(ConnectListInterfacesArgs);
                ok(&r::ConnectListInterfacesRet {
                    names: names_of(d!(c!().list_all_interfaces(2)), a.maxnames, |i| i.name),
                })?
            }
            P::ConnectListDefinedInterfaces => {
                let a = a!(ConnectListDefinedInterfacesArgs);
                ok(&r::ConnectListDefinedInterfacesRet {
                    names: names_of(d!(c!().list_all_interfaces(1)), a.maxnames, |i| i.name),
                })?
            }
            P::InterfaceLookupByName => {
                let a = a!(InterfaceLookupByNameArgs);
                ok(&r::InterfaceLookupByNameRet {
                    iface: iface_out(d!(c!().interface_lookup_by_name(&a.name))),
                })?
            }
            P::InterfaceLookupByMacString => {
                let a = a!(InterfaceLookupByMacStringArgs);
                ok(&r::InterfaceLookupByMacStringRet {
                    iface: iface_out(d!(c!().interface_lookup_by_mac(&a.mac))),
                })?
            }
            P::InterfaceGetXmlDesc => {
                let a = a!(InterfaceGetXmlDescArgs);
                ok(&r::InterfaceGetXmlDescRet {
                    xml: d!(c!().interface_get_xml_desc(&iface_in(&a.iface), a.flags)),
                })?
            }
            P::InterfaceDefineXml => {
                let a = a!(InterfaceDefineXmlArgs);
                ok(&r::InterfaceDefineXmlRet {
                    iface: iface_out(d!(c!().interface_define_xml(&a.xml, a.flags))),
                })?
            }
            P::InterfaceUndefine => {
                let a = a!(InterfaceUndefineArgs);
                d!(c!().interface_undefine(&iface_in(&a.iface)));
                Vec::new()
            }
            P::InterfaceCreate => {
                let a = a!(InterfaceCreateArgs);
                d!(c!().interface_create(&iface_in(&a.iface), a.flags));
                Vec::new()
            }
            P::InterfaceDestroy => {
                let a = a!(InterfaceDestroyArgs);
                d!(c!().interface_destroy(&iface_in(&a.iface), a.flags));
                Vec::new()
            }
            P::InterfaceIsActive => {
                let a = a!(InterfaceIsActiveArgs);
                ok(&r::InterfaceIsActiveRet {
                    active: i32::from(d!(c!().interface_is_active(&iface_in(&a.iface)))),
                })?
            }

            // ---- node devices ----
            P::ConnectListAllNodeDevices => {
                let a = a!(ConnectListAllNodeDevicesArgs);
                let v = d!(c!().list_all_node_devices(a.flags));
                limit_check(v.len(), r::NODE_DEVICE_LIST_MAX, "node devices")?;
                let n = v.len() as u32;
                let devices = if a.need_results != 0 {
                    v.into_iter().map(dev_out).collect()
                } else {
                    Vec::new()
                };
                ok(&r::ConnectListAllNodeDevicesRet { devices, ret: n })?
            }
            P::NodeNumOfDevices => {
                let a = a!(NodeNumOfDevicesArgs);
                ok(&r::NodeNumOfDevicesRet {
                    num: d!(c!().node_list_devices(a.cap.as_deref(), a.flags)).len() as i32,
                })?
            }
            P::NodeListDevices => {
                let a = a!(NodeListDevicesArgs);
                limit_check(
                    a.maxnames.max(0) as usize,
                    r::NODE_DEVICE_LIST_MAX,
                    "node devices",
                )?;
                let mut names = d!(c!().node_list_devices(a.cap.as_deref(), a.flags));
                names.truncate(a.maxnames.max(0) as usize);
                ok(&r::NodeListDevicesRet { names })?
            }
            P::NodeDeviceLookupByName => {
                let a = a!(NodeDeviceLookupByNameArgs);
                ok(&r::NodeDeviceLookupByNameRet {
                    dev: dev_out(d!(c!().node_device_lookup_by_name(&a.name))),
                })?
            }
            P::NodeDeviceGetXmlDesc => {
                let a = a!(NodeDeviceGetXmlDescArgs);
                let dev = driver::NodeDeviceRef { name: a.name };
                ok(&r::NodeDeviceGetXmlDescRet {
                    xml: d!(c!().node_device_get_xml_desc(&dev, a.flags)),
                })?
            }
            P::NodeDeviceGetParent => {
                let a = a!(NodeDeviceGetParentArgs);
                let dev = driver::NodeDeviceRef { name: a.name };
                ok(&r::NodeDeviceGetParentRet {
                    parent_name: d!(c!().node_device_get_parent(&dev)),
                })?
            }
            P::NodeDeviceNumOfCaps => {
                let a = a!(NodeDeviceNumOfCapsArgs);
                let dev = driver::NodeDeviceRef { name: a.name };
                ok(&r::NodeDeviceNumOfCapsRet {
                    num: d!(c!().node_device_list_caps(&dev)).len() as i32,
                })?
            }
            P::NodeDeviceListCaps => {
                let a = a!(NodeDeviceListCapsArgs);
                let dev = driver::NodeDeviceRef { name: a.name };
                let mut names = d!(c!().node_device_list_caps(&dev));
                names.truncate(a.maxnames.max(0) as usize);
                ok(&r::NodeDeviceListCapsRet { names })?
            }
            P::NodeDeviceCreateXml => {
                let a = a!(NodeDeviceCreateXmlArgs);
                ok(&r::NodeDeviceCreateXmlRet {
                    dev: dev_out(d!(c!().node_device_create_xml(&a.xml_desc, a.flags))),
                })?
            }
            P::NodeDeviceDestroy => {
                let a = a!(NodeDeviceDestroyArgs);
                d!(c!().node_device_destroy(&driver::NodeDeviceRef { name: a.name }));
                Vec::new()
            }

            other => {
                let info = other.info();
                // A known procedure this project does not implement: the
                // same answer libvirt gives for a driver without it.
                let api = if info.api.is_empty() {
                    info.name
                } else {
                    info.api
                };
                return Err(RemoteError::new(
                    ErrorCode::NoSupport,
                    ErrorDomain::None,
                    Some(api),
                ));
            }
        };
        Ok(Reply::Bytes(out))
    }

    fn register(
        &self,
        client: &Arc<Client<RemoteState>>,
        kind: Kind,
        event_id: i32,
        filter: Option<Vec<u8>>,
    ) -> R<i32> {
        let conn = self.conn(client)?;
        let mut ev = client.state.events.lock().map_err(|_| not_open())?;
        if ev.token.is_none() {
            ev.token = conn.subscribe(events::sink(
                Arc::downgrade(client),
                client.state.events.clone(),
            ));
        }
        Ok(ev.add(kind, event_id, filter))
    }

    fn deregister(
        &self,
        client: &Client<RemoteState>,
        pred: impl Fn(&events::Registration) -> bool,
    ) -> R<bool> {
        self.conn(client)?;
        let mut ev = client.state.events.lock().map_err(|_| not_open())?;
        let before = ev.list.len();
        if let Some(pos) = ev.list.iter().position(pred) {
            ev.list.remove(pos);
        }
        Ok(ev.list.len() != before)
    }

    fn deregister_id(&self, client: &Client<RemoteState>, id: i32) -> R<()> {
        if !self.deregister(client, |reg| reg.id == id)? {
            return Err(RemoteError::new(
                ErrorCode::InvalidArg,
                ErrorDomain::Rpc,
                Some(&format!("callback ID {id} not registered")),
            ));
        }
        Ok(())
    }
}

fn check_event_id(id: i32) -> R<()> {
    if !(0..driver::consts::event_id::LAST).contains(&id) {
        return Err(RemoteError::new(
            ErrorCode::InternalError,
            ErrorDomain::Rpc,
            Some(&format!("unsupported event ID {id}")),
        ));
    }
    Ok(())
}

fn names_of<T>(v: Vec<T>, max: i32, f: impl Fn(T) -> String) -> Vec<String> {
    let mut names: Vec<String> = v.into_iter().map(f).collect();
    names.sort();
    names.truncate(max.max(0) as usize);
    names
}
