// SPDX-License-Identifier: LGPL-2.1-or-later
//! Connection and host procedures: opening and closing the driver
//! connection, what the connection and the host are, keepalive, the
//! close callback and the identity a client forwards.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use driver::identity::Identity;
use driver::ConnectAuth;
use protocol::procs::RemoteConnect;
use protocol::remote as r;
use protocol::{ErrorCode, ErrorDomain, RemoteError};

use super::{limit_check, not_open, wire, Call, R};
use crate::convert::c_chars;

/// virDrvFeature values this daemon supports: REMOTE (2), FD_PASSING (8),
/// TYPED_PARAM_STRING (9), PROGRAM_KEEPALIVE (10), REMOTE_CLOSE_CALLBACK
/// (14), REMOTE_EVENT_CALLBACK (15), NETWORK_UPDATE_HAS_CORRECT_ORDER (16).
fn feature_supported(f: i32) -> bool {
    matches!(f, 2 | 8 | 9 | 10 | 14 | 15 | 16)
}

/// VIR_DRV_FEATURE_PROGRAM_KEEPALIVE: asking for it turns keepalive on.
const FEATURE_PROGRAM_KEEPALIVE: i32 = 10;

/// virConnectOpen's VIR_CONNECT_RO.
const CONNECT_RO: u32 = 1;

impl RemoteConnect for Call<'_> {
    fn auth_list(&self) -> R<r::AuthListRet> {
        Ok(r::AuthListRet { types: vec![0] })
    }

    fn connect_open(&self, args: r::ConnectOpenArgs) -> R<()> {
        let st = self.state();
        let mut slot = st.conn.write().map_err(|_| not_open())?;
        if slot.is_some() {
            return Err(RemoteError::new(
                ErrorCode::InternalError,
                ErrorDomain::Rpc,
                Some("connection already open"),
            ));
        }
        // libvirt's daemon opens what the client names; a client library
        // asking for its default sends the empty string, which the daemon
        // resolves by probing, while an absent name is refused.
        let Some(name) = args.name.as_deref() else {
            return Err(not_open());
        };
        let auth = ConnectAuth {
            readonly: st.readonly || (args.flags & CONNECT_RO) != 0,
            uid: self.client.info.peer_uid,
            pid: self.client.info.peer_pid,
        };
        let (conn, shared) = self
            .handler
            .registry
            .open_shared(Some(name), &auth)
            .map_err(wire)?;
        if let Ok(mut n) = st.net_conn.write() {
            *n = shared.network;
        }
        if let Ok(mut n) = st.secret_conn.write() {
            *n = shared.secret;
        }
        if let Ok(mut n) = st.storage_conn.write() {
            *n = shared.storage;
        }
        if let Ok(mut n) = st.nodedev_conn.write() {
            *n = shared.nodedev;
        }
        if let Ok(mut n) = st.iface_conn.write() {
            *n = shared.interface;
        }
        *slot = Some(conn);
        self.handler.opened.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// virConnectSetIdentity: once the connection is open, the client's
    /// attributes replace the identity its calls run as. Any client may
    /// send one (libvirt checks only the `connect:write` ACL, which no
    /// access driver here restricts); what it gains rests on the system
    /// token, which only the host's daemons can read.
    fn connect_set_identity(&self, args: r::ConnectSetIdentityArgs) -> R<()> {
        let st = self.state();
        let open = st.conn.read().map(|c| c.is_some()).unwrap_or(false);
        if !open {
            return Err(not_open());
        }
        let ident = Identity::from_params(crate::convert::params_in(&args.params)).map_err(wire)?;
        self.client
            .auth
            .set_forwarded(rpc::auth::ForwardedIdentity {
                user_name: ident.user_name().map(str::to_owned),
                unix_user_id: ident.unix_user_id(),
                group_name: ident.group_name().map(str::to_owned),
                unix_group_id: ident.unix_group_id(),
                process_id: ident.process_id(),
                sasl_user_name: ident.sasl_user_name().map(str::to_owned),
                x509_dname: ident.x509_dname().map(str::to_owned),
                selinux_context: ident.selinux_context().map(str::to_owned),
            });
        if let Ok(mut slot) = st.identity.write() {
            *slot = Some(Arc::new(ident));
        }
        Ok(())
    }

    fn connect_close(&self) -> R<()> {
        self.handler.release(self.client);
        Ok(())
    }

    fn connect_supports_feature(
        &self,
        args: r::ConnectSupportsFeatureArgs,
    ) -> R<r::ConnectSupportsFeatureRet> {
        if args.feature == FEATURE_PROGRAM_KEEPALIVE {
            self.client.start_keepalive();
        }
        // The daemon's own features; the others (migration) are the
        // driver's.
        let supported = feature_supported(args.feature)
            || match self.conn() {
                Ok(c) => c.supports_feature(args.feature).map_err(wire)?,
                Err(_) => false,
            };
        Ok(r::ConnectSupportsFeatureRet {
            supported: i32::from(supported),
        })
    }

    fn connect_register_close_callback(&self) -> R<()> {
        self.conn()?;
        if let Ok(mut cb) = self.state().close_callback.lock() {
            *cb = true;
        }
        Ok(())
    }

    fn connect_unregister_close_callback(&self) -> R<()> {
        self.conn()?;
        if let Ok(mut cb) = self.state().close_callback.lock() {
            *cb = false;
        }
        Ok(())
    }

    fn connect_get_type(&self) -> R<r::ConnectGetTypeRet> {
        Ok(r::ConnectGetTypeRet {
            r#type: self.conn()?.get_type().to_string(),
        })
    }

    fn connect_get_version(&self) -> R<r::ConnectGetVersionRet> {
        Ok(r::ConnectGetVersionRet {
            hv_ver: self.driver(|c| c.version())?,
        })
    }

    fn connect_get_lib_version(&self) -> R<r::ConnectGetLibVersionRet> {
        Ok(r::ConnectGetLibVersionRet {
            lib_ver: protocol::version_number(),
        })
    }

    fn connect_get_hostname(&self) -> R<r::ConnectGetHostnameRet> {
        Ok(r::ConnectGetHostnameRet {
            hostname: self.driver(|c| c.hostname())?,
        })
    }

    fn connect_get_uri(&self) -> R<r::ConnectGetUriRet> {
        Ok(r::ConnectGetUriRet {
            uri: self.conn()?.uri(),
        })
    }

    fn connect_get_capabilities(&self) -> R<r::ConnectGetCapabilitiesRet> {
        Ok(r::ConnectGetCapabilitiesRet {
            capabilities: self.driver(|c| c.capabilities())?,
        })
    }

    fn connect_get_sysinfo(&self, args: r::ConnectGetSysinfoArgs) -> R<r::ConnectGetSysinfoRet> {
        Ok(r::ConnectGetSysinfoRet {
            sysinfo: self.driver(|c| c.sysinfo(args.flags))?,
        })
    }

    fn connect_get_max_vcpus(
        &self,
        args: r::ConnectGetMaxVcpusArgs,
    ) -> R<r::ConnectGetMaxVcpusRet> {
        Ok(r::ConnectGetMaxVcpusRet {
            max_vcpus: self.driver(|c| c.max_vcpus(args.r#type.as_deref()))?,
        })
    }

    fn connect_is_secure(&self) -> R<r::ConnectIsSecureRet> {
        Ok(r::ConnectIsSecureRet {
            secure: i32::from(self.conn()?.is_secure()),
        })
    }

    fn node_get_info(&self) -> R<r::NodeGetInfoRet> {
        let i = self.driver(|c| c.node_info())?;
        Ok(r::NodeGetInfoRet {
            model: xdr::CharArray::from_str_lossy(&i.model),
            memory: i.memory,
            cpus: i.cpus as i32,
            mhz: i.mhz as i32,
            nodes: i.nodes as i32,
            sockets: i.sockets as i32,
            cores: i.cores as i32,
            threads: i.threads as i32,
        })
    }

    fn node_get_cpu_map(&self, args: r::NodeGetCpuMapArgs) -> R<r::NodeGetCpuMapRet> {
        let (ret, mut map, online) = self.driver(|c| c.node_cpu_map(args.flags))?;
        // VIR_CPU_MAPLEN of the cpu count, only when asked for.
        if args.need_map != 0 {
            map.resize((ret.max(0) as usize).div_ceil(8), 0);
        } else {
            map.clear();
        }
        Ok(r::NodeGetCpuMapRet {
            cpumap: xdr::Opaque(map),
            online: if args.need_online != 0 { online } else { 0 },
            ret,
        })
    }

    fn node_get_free_memory(&self) -> R<r::NodeGetFreeMemoryRet> {
        Ok(r::NodeGetFreeMemoryRet {
            free_mem: self.driver(|c| c.node_free_memory())?,
        })
    }

    fn node_get_cells_free_memory(
        &self,
        args: r::NodeGetCellsFreeMemoryArgs,
    ) -> R<r::NodeGetCellsFreeMemoryRet> {
        limit_check(
            args.maxcells.max(0) as usize,
            r::NODE_MAX_CELLS,
            "NUMA cells",
        )?;
        Ok(r::NodeGetCellsFreeMemoryRet {
            cells: self.driver(|c| c.node_cells_free_memory(args.start_cell, args.maxcells))?,
        })
    }

    fn node_get_cpu_stats(&self, args: r::NodeGetCpuStatsArgs) -> R<r::NodeGetCpuStatsRet> {
        if args.nparams > r::NODE_CPU_STATS_MAX as i32 {
            return Err(RemoteError::new(
                ErrorCode::InternalError,
                ErrorDomain::Rpc,
                Some("nparams too large"),
            ));
        }
        let v =
            self.driver(|c| c.node_get_cpu_stats(args.cpu_num, args.nparams.max(0), args.flags))?;
        // Asked with no room: only the number the driver supports.
        if args.nparams <= 0 {
            return Ok(r::NodeGetCpuStatsRet {
                params: Vec::new(),
                nparams: v.len() as i32,
            });
        }
        let params: Vec<_> = v
            .into_iter()
            .take(args.nparams as usize)
            .map(|(field, value)| r::NodeGetCpuStats { field, value })
            .collect();
        Ok(r::NodeGetCpuStatsRet {
            nparams: params.len() as i32,
            params,
        })
    }

    fn node_get_free_pages(&self, args: r::NodeGetFreePagesArgs) -> R<r::NodeGetFreePagesRet> {
        let room = (args.pages.len() as u64).saturating_mul(u64::from(args.cell_count));
        if room > u64::from(r::NODE_MAX_CELLS) {
            return Err(RemoteError::new(
                ErrorCode::InternalError,
                ErrorDomain::Rpc,
                Some("the result won't fit into REMOTE_NODE_MAX_CELLS"),
            ));
        }
        let mut counts = self.driver(|c| {
            c.node_get_free_pages(&args.pages, args.start_cell, args.cell_count, args.flags)
        })?;
        // libvirt's daemon fails a call that filled nothing in, without an
        // error of the driver's to send.
        if counts.is_empty() {
            let mut e = RemoteError::new(ErrorCode::InternalError, ErrorDomain::Rpc, None);
            e.message = "Library function returned error but did not set virError".into();
            return Err(e);
        }
        counts.truncate(room as usize);
        Ok(r::NodeGetFreePagesRet { counts })
    }

    fn connect_baseline_cpu(&self, args: r::ConnectBaselineCpuArgs) -> R<r::ConnectBaselineCpuRet> {
        let cpu = self.driver(|c| c.baseline_cpu(&args.xml_cp_us, args.flags))?;
        Ok(r::ConnectBaselineCpuRet { cpu })
    }

    fn connect_get_cpu_model_names(
        &self,
        args: r::ConnectGetCpuModelNamesArgs,
    ) -> R<r::ConnectGetCpuModelNamesRet> {
        let v = self.driver(|c| c.cpu_model_names(&args.arch, args.flags))?;
        limit_check(v.len(), r::CONNECT_CPU_MODELS_MAX, "CPU models")?;
        let ret = v.len() as i32;
        let models = if args.need_results != 0 {
            v
        } else {
            Vec::new()
        };
        Ok(r::ConnectGetCpuModelNamesRet { models, ret })
    }

    fn node_get_security_model(&self) -> R<r::NodeGetSecurityModelRet> {
        let m = self.driver(|c| c.node_security_model())?;
        Ok(r::NodeGetSecurityModelRet {
            model: c_chars(&m.model),
            doi: c_chars(&m.doi),
        })
    }
}
