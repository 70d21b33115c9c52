// SPDX-License-Identifier: LGPL-2.1-or-later
//! Domain procedures: listing and lookup, lifecycle, state and tuning,
//! snapshots, statistics, the console stream and domain event
//! registrations.

use driver::consts::{affect, event_id, xml};
use protocol::procs::RemoteDomain;
use protocol::remote as r;
use protocol::{ErrorCode, ErrorDomain, RemoteError};

use super::events::Kind;
use super::{limit_check, list_all, Call, R};
use crate::convert::{c_chars, dom_in, dom_out, params_in, params_out};
use rpc::stream::Pending;

/// VIR_KEYCODE_SET_LAST: the number of key code sets virDomainSendKey
/// knows (linux, xt, atset1, atset2, atset3, os_x, xt_kbd, usb, win32,
/// qnum).
const KEYCODE_SET_LAST: u32 = 10;

fn snap_out(dom: &r::NonnullDomain, name: String) -> r::NonnullDomainSnapshot {
    r::NonnullDomainSnapshot {
        name,
        dom: dom.clone(),
    }
}

fn chk_out(dom: &r::NonnullDomain, name: String) -> r::NonnullDomainCheckpoint {
    r::NonnullDomainCheckpoint {
        name,
        dom: dom.clone(),
    }
}

/// Domain event ids this daemon knows how to register.
fn check_event_id(id: i32) -> R<()> {
    if !(0..event_id::LAST).contains(&id) {
        return Err(RemoteError::new(
            ErrorCode::InternalError,
            ErrorDomain::Rpc,
            Some(&format!("unsupported event ID {id}")),
        ));
    }
    Ok(())
}

/// The daemon's bound on the parameters a getter may be asked for.
fn nparams_check(nparams: i32, max: u32) -> R<()> {
    if nparams > max as i32 {
        return Err(RemoteError::new(
            ErrorCode::InternalError,
            ErrorDomain::Rpc,
            Some("nparams too large"),
        ));
    }
    Ok(())
}

/// A tuning getter's reply: asked with no room, only the number of
/// parameters; otherwise at most as many as asked for.
fn tuning_out(mut v: driver::TypedParams, nparams: i32) -> (Vec<r::TypedParam>, i32) {
    if nparams <= 0 {
        return (Vec::new(), v.len() as i32);
    }
    v.truncate(nparams as usize);
    let n = v.len() as i32;
    (params_out(v), n)
}

impl RemoteDomain for Call<'_> {
    // ---- host-wide ----

    fn connect_get_domain_capabilities(
        &self,
        args: r::ConnectGetDomainCapabilitiesArgs,
    ) -> R<r::ConnectGetDomainCapabilitiesRet> {
        let capabilities = self.driver(|c| {
            c.domain_capabilities(
                args.emulatorbin.as_deref(),
                args.arch.as_deref(),
                args.machine.as_deref(),
                args.virttype.as_deref(),
                args.flags,
            )
        })?;
        Ok(r::ConnectGetDomainCapabilitiesRet { capabilities })
    }

    fn connect_domain_xml_from_native(
        &self,
        args: r::ConnectDomainXmlFromNativeArgs,
    ) -> R<r::ConnectDomainXmlFromNativeRet> {
        let domain_xml = self.driver(|c| {
            c.domain_xml_from_native(&args.native_format, &args.native_config, args.flags)
        })?;
        Ok(r::ConnectDomainXmlFromNativeRet { domain_xml })
    }

    fn connect_domain_xml_to_native(
        &self,
        args: r::ConnectDomainXmlToNativeArgs,
    ) -> R<r::ConnectDomainXmlToNativeRet> {
        let native_config = self.driver(|c| {
            c.domain_xml_to_native(&args.native_format, &args.domain_xml, args.flags)
        })?;
        Ok(r::ConnectDomainXmlToNativeRet { native_config })
    }

    fn connect_get_all_domain_stats(
        &self,
        args: r::ConnectGetAllDomainStatsArgs,
    ) -> R<r::ConnectGetAllDomainStatsRet> {
        let doms: Vec<_> = args.doms.iter().map(dom_in).collect();
        let stats = self.driver(|c| c.domain_stats(&doms, args.stats, args.flags))?;
        Ok(r::ConnectGetAllDomainStatsRet {
            ret_stats: stats
                .into_iter()
                .map(|(d, p)| r::DomainStatsRecord {
                    dom: dom_out(d),
                    params: params_out(p),
                })
                .collect(),
        })
    }

    // ---- listing and lookup ----

    fn connect_list_all_domains(
        &self,
        args: r::ConnectListAllDomainsArgs,
    ) -> R<r::ConnectListAllDomainsRet> {
        let v = self.driver(|c| c.list_all_domains(args.flags))?;
        let (domains, ret) =
            list_all(v, args.need_results, r::DOMAIN_LIST_MAX, "domains", dom_out)?;
        Ok(r::ConnectListAllDomainsRet { domains, ret })
    }

    fn connect_list_domains(&self, args: r::ConnectListDomainsArgs) -> R<r::ConnectListDomainsRet> {
        let max = args.maxids.max(0) as usize;
        limit_check(max, r::DOMAIN_LIST_MAX, "domains")?;
        Ok(r::ConnectListDomainsRet {
            ids: self.driver(|c| c.list_domain_ids(max))?,
        })
    }

    fn connect_num_of_domains(&self) -> R<r::ConnectNumOfDomainsRet> {
        Ok(r::ConnectNumOfDomainsRet {
            num: self.driver(|c| c.num_of_domains())? as i32,
        })
    }

    fn connect_list_defined_domains(
        &self,
        args: r::ConnectListDefinedDomainsArgs,
    ) -> R<r::ConnectListDefinedDomainsRet> {
        let max = args.maxnames.max(0) as usize;
        limit_check(max, r::DOMAIN_LIST_MAX, "domains")?;
        Ok(r::ConnectListDefinedDomainsRet {
            names: self.driver(|c| c.list_defined_domains(max))?,
        })
    }

    fn connect_num_of_defined_domains(&self) -> R<r::ConnectNumOfDefinedDomainsRet> {
        Ok(r::ConnectNumOfDefinedDomainsRet {
            num: self.driver(|c| c.num_of_defined_domains())? as i32,
        })
    }

    fn domain_lookup_by_id(&self, args: r::DomainLookupByIdArgs) -> R<r::DomainLookupByIdRet> {
        let dom = self.driver(|c| c.domain_lookup_by_id(args.id))?;
        Ok(r::DomainLookupByIdRet { dom: dom_out(dom) })
    }

    fn domain_lookup_by_name(
        &self,
        args: r::DomainLookupByNameArgs,
    ) -> R<r::DomainLookupByNameRet> {
        let dom = self.driver(|c| c.domain_lookup_by_name(&args.name))?;
        Ok(r::DomainLookupByNameRet { dom: dom_out(dom) })
    }

    fn domain_lookup_by_uuid(
        &self,
        args: r::DomainLookupByUuidArgs,
    ) -> R<r::DomainLookupByUuidRet> {
        let dom = self.driver(|c| c.domain_lookup_by_uuid(&args.uuid))?;
        Ok(r::DomainLookupByUuidRet { dom: dom_out(dom) })
    }

    // ---- lifecycle ----

    fn domain_define_xml(&self, args: r::DomainDefineXmlArgs) -> R<r::DomainDefineXmlRet> {
        let dom = self.driver(|c| c.domain_define_xml(&args.xml, 0))?;
        Ok(r::DomainDefineXmlRet { dom: dom_out(dom) })
    }

    fn domain_define_xml_flags(
        &self,
        args: r::DomainDefineXmlFlagsArgs,
    ) -> R<r::DomainDefineXmlFlagsRet> {
        let dom = self.driver(|c| c.domain_define_xml(&args.xml, args.flags))?;
        Ok(r::DomainDefineXmlFlagsRet { dom: dom_out(dom) })
    }

    fn domain_undefine(&self, args: r::DomainUndefineArgs) -> R<()> {
        self.driver(|c| c.domain_undefine(&dom_in(&args.dom), 0))
    }

    fn domain_undefine_flags(&self, args: r::DomainUndefineFlagsArgs) -> R<()> {
        self.driver(|c| c.domain_undefine(&dom_in(&args.dom), args.flags))
    }

    fn domain_create(&self, args: r::DomainCreateArgs) -> R<()> {
        self.driver(|c| c.domain_create(&dom_in(&args.dom), 0))?;
        Ok(())
    }

    fn domain_create_with_flags(
        &self,
        args: r::DomainCreateWithFlagsArgs,
    ) -> R<r::DomainCreateWithFlagsRet> {
        let dom = self.driver(|c| c.domain_create(&dom_in(&args.dom), args.flags))?;
        Ok(r::DomainCreateWithFlagsRet { dom: dom_out(dom) })
    }

    fn domain_create_xml(&self, args: r::DomainCreateXmlArgs) -> R<r::DomainCreateXmlRet> {
        let dom = self.driver(|c| c.domain_create_xml(&args.xml_desc, args.flags))?;
        Ok(r::DomainCreateXmlRet { dom: dom_out(dom) })
    }

    fn domain_destroy(&self, args: r::DomainDestroyArgs) -> R<()> {
        self.driver(|c| c.domain_destroy(&dom_in(&args.dom), 0))
    }

    fn domain_destroy_flags(&self, args: r::DomainDestroyFlagsArgs) -> R<()> {
        self.driver(|c| c.domain_destroy(&dom_in(&args.dom), args.flags))
    }

    fn domain_shutdown(&self, args: r::DomainShutdownArgs) -> R<()> {
        self.driver(|c| c.domain_shutdown(&dom_in(&args.dom), 0))
    }

    fn domain_shutdown_flags(&self, args: r::DomainShutdownFlagsArgs) -> R<()> {
        self.driver(|c| c.domain_shutdown(&dom_in(&args.dom), args.flags))
    }

    fn domain_reboot(&self, args: r::DomainRebootArgs) -> R<()> {
        self.driver(|c| c.domain_reboot(&dom_in(&args.dom), args.flags))
    }

    fn domain_reset(&self, args: r::DomainResetArgs) -> R<()> {
        self.driver(|c| c.domain_reset(&dom_in(&args.dom), args.flags))
    }

    fn domain_suspend(&self, args: r::DomainSuspendArgs) -> R<()> {
        self.driver(|c| c.domain_suspend(&dom_in(&args.dom)))
    }

    fn domain_resume(&self, args: r::DomainResumeArgs) -> R<()> {
        self.driver(|c| c.domain_resume(&dom_in(&args.dom)))
    }

    fn domain_save(&self, args: r::DomainSaveArgs) -> R<()> {
        self.driver(|c| c.domain_save(&dom_in(&args.dom), &args.to, None, 0))
    }

    fn domain_save_flags(&self, args: r::DomainSaveFlagsArgs) -> R<()> {
        self.driver(|c| {
            c.domain_save(
                &dom_in(&args.dom),
                &args.to,
                args.dxml.as_deref(),
                args.flags,
            )
        })
    }

    fn domain_restore(&self, args: r::DomainRestoreArgs) -> R<()> {
        self.driver(|c| c.domain_restore(&args.from, None, 0))
    }

    fn domain_restore_flags(&self, args: r::DomainRestoreFlagsArgs) -> R<()> {
        self.driver(|c| c.domain_restore(&args.from, args.dxml.as_deref(), args.flags))
    }

    fn domain_managed_save(&self, args: r::DomainManagedSaveArgs) -> R<()> {
        self.driver(|c| c.domain_managed_save(&dom_in(&args.dom), args.flags))
    }

    fn domain_has_managed_save_image(
        &self,
        args: r::DomainHasManagedSaveImageArgs,
    ) -> R<r::DomainHasManagedSaveImageRet> {
        let has = self.driver(|c| c.domain_has_managed_save(&dom_in(&args.dom), args.flags))?;
        Ok(r::DomainHasManagedSaveImageRet {
            result: i32::from(has),
        })
    }

    fn domain_managed_save_remove(&self, args: r::DomainManagedSaveRemoveArgs) -> R<()> {
        self.driver(|c| c.domain_managed_save_remove(&dom_in(&args.dom), args.flags))
    }

    fn domain_get_job_stats(&self, args: r::DomainGetJobStatsArgs) -> R<r::DomainGetJobStatsRet> {
        let (r#type, params) =
            self.driver(|c| c.domain_get_job_stats(&dom_in(&args.dom), args.flags))?;
        Ok(r::DomainGetJobStatsRet {
            r#type,
            params: params_out(params),
        })
    }

    /// virDomainGetJobInfo: the fixed fields of the current job's
    /// statistics (memory from `memory_*`, files from `disk_*`, data their
    /// sums).
    fn domain_get_job_info(&self, args: r::DomainGetJobInfoArgs) -> R<r::DomainGetJobInfoRet> {
        let (r#type, params) = self.driver(|c| c.domain_get_job_stats(&dom_in(&args.dom), 0))?;
        let get = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| match v {
                    driver::TypedValue::ULLong(x) => Some(*x),
                    _ => None,
                })
                .unwrap_or(0)
        };
        let (mem_total, mem_processed, mem_remaining) = (
            get("memory_total"),
            get("memory_processed"),
            get("memory_remaining"),
        );
        let (file_total, file_processed, file_remaining) = (
            get("disk_total"),
            get("disk_processed"),
            get("disk_remaining"),
        );
        Ok(r::DomainGetJobInfoRet {
            r#type,
            time_elapsed: get("time_elapsed"),
            time_remaining: get("time_remaining"),
            data_total: mem_total.saturating_add(file_total),
            data_processed: mem_processed.saturating_add(file_processed),
            data_remaining: mem_remaining.saturating_add(file_remaining),
            mem_total,
            mem_processed,
            mem_remaining,
            file_total,
            file_processed,
            file_remaining,
        })
    }

    fn domain_abort_job(&self, args: r::DomainAbortJobArgs) -> R<()> {
        self.driver(|c| c.domain_abort_job(&dom_in(&args.dom), 0))
    }

    fn domain_abort_job_flags(&self, args: r::DomainAbortJobFlagsArgs) -> R<()> {
        self.driver(|c| c.domain_abort_job(&dom_in(&args.dom), args.flags))
    }

    fn domain_rename(&self, args: r::DomainRenameArgs) -> R<r::DomainRenameRet> {
        let name = args.new_name.unwrap_or_default();
        self.driver(|c| c.domain_rename(&dom_in(&args.dom), &name, args.flags))?;
        Ok(r::DomainRenameRet { retcode: 0 })
    }

    // ---- state ----

    fn domain_get_info(&self, args: r::DomainGetInfoArgs) -> R<r::DomainGetInfoRet> {
        let i = self.driver(|c| c.domain_get_info(&dom_in(&args.dom)))?;
        Ok(r::DomainGetInfoRet {
            state: i.state as u8,
            max_mem: i.max_mem,
            memory: i.memory,
            nr_virt_cpu: i.nr_virt_cpu as u16,
            cpu_time: i.cpu_time,
        })
    }

    fn domain_get_state(&self, args: r::DomainGetStateArgs) -> R<r::DomainGetStateRet> {
        let (state, reason) =
            self.driver(|c| c.domain_get_state(&dom_in(&args.dom), args.flags))?;
        Ok(r::DomainGetStateRet { state, reason })
    }

    fn domain_get_xml_desc(&self, args: r::DomainGetXmlDescArgs) -> R<r::DomainGetXmlDescRet> {
        if self.state().readonly && (args.flags & xml::SECURE) != 0 {
            return Err(RemoteError::new(
                ErrorCode::OperationDenied,
                ErrorDomain::Domain,
                Some("virDomainGetXMLDesc with secure flag"),
            ));
        }
        Ok(r::DomainGetXmlDescRet {
            xml: self.driver(|c| c.domain_get_xml_desc(&dom_in(&args.dom), args.flags))?,
        })
    }

    fn domain_get_os_type(&self, args: r::DomainGetOsTypeArgs) -> R<r::DomainGetOsTypeRet> {
        Ok(r::DomainGetOsTypeRet {
            r#type: self.driver(|c| c.domain_get_os_type(&dom_in(&args.dom)))?,
        })
    }

    fn domain_get_autostart(&self, args: r::DomainGetAutostartArgs) -> R<r::DomainGetAutostartRet> {
        let on = self.driver(|c| c.domain_get_autostart(&dom_in(&args.dom)))?;
        Ok(r::DomainGetAutostartRet {
            autostart: i32::from(on),
        })
    }

    fn domain_set_autostart(&self, args: r::DomainSetAutostartArgs) -> R<()> {
        self.driver(|c| c.domain_set_autostart(&dom_in(&args.dom), args.autostart != 0))
    }

    fn domain_is_active(&self, args: r::DomainIsActiveArgs) -> R<r::DomainIsActiveRet> {
        let active = self.driver(|c| c.domain_is_active(&dom_in(&args.dom)))?;
        Ok(r::DomainIsActiveRet {
            active: i32::from(active),
        })
    }

    fn domain_is_persistent(&self, args: r::DomainIsPersistentArgs) -> R<r::DomainIsPersistentRet> {
        let persistent = self.driver(|c| c.domain_is_persistent(&dom_in(&args.dom)))?;
        Ok(r::DomainIsPersistentRet {
            persistent: i32::from(persistent),
        })
    }

    fn domain_is_updated(&self, args: r::DomainIsUpdatedArgs) -> R<r::DomainIsUpdatedRet> {
        let updated = self.driver(|c| c.domain_is_updated(&dom_in(&args.dom)))?;
        Ok(r::DomainIsUpdatedRet {
            updated: i32::from(updated),
        })
    }

    fn domain_get_security_label(
        &self,
        args: r::DomainGetSecurityLabelArgs,
    ) -> R<r::DomainGetSecurityLabelRet> {
        let l = self.driver(|c| c.domain_security_label(&dom_in(&args.dom)))?;
        Ok(r::DomainGetSecurityLabelRet {
            label: if l.label.is_empty() {
                Vec::new()
            } else {
                c_chars(&l.label)
            },
            enforcing: i32::from(l.enforcing),
        })
    }

    fn domain_get_messages(&self, args: r::DomainGetMessagesArgs) -> R<r::DomainGetMessagesRet> {
        Ok(r::DomainGetMessagesRet {
            msgs: self.driver(|c| c.domain_get_messages(&dom_in(&args.dom), args.flags))?,
        })
    }

    fn domain_set_metadata(&self, args: r::DomainSetMetadataArgs) -> R<()> {
        self.driver(|c| {
            c.domain_set_metadata(
                &dom_in(&args.dom),
                args.r#type,
                args.metadata.as_deref(),
                args.key.as_deref(),
                args.uri.as_deref(),
                args.flags,
            )
        })
    }

    fn domain_get_metadata(&self, args: r::DomainGetMetadataArgs) -> R<r::DomainGetMetadataRet> {
        let metadata = self.driver(|c| {
            c.domain_get_metadata(
                &dom_in(&args.dom),
                args.r#type,
                args.uri.as_deref(),
                args.flags,
            )
        })?;
        Ok(r::DomainGetMetadataRet { metadata })
    }

    // ---- memory, vcpus, scheduler ----

    fn domain_get_numa_parameters(
        &self,
        args: r::DomainGetNumaParametersArgs,
    ) -> R<r::DomainGetNumaParametersRet> {
        nparams_check(args.nparams, r::DOMAIN_NUMA_PARAMETERS_MAX)?;
        let v = self.driver(|c| {
            c.domain_get_numa_parameters(&dom_in(&args.dom), args.nparams, args.flags)
        })?;
        let (params, nparams) = tuning_out(v, args.nparams);
        Ok(r::DomainGetNumaParametersRet { params, nparams })
    }

    fn domain_set_numa_parameters(&self, args: r::DomainSetNumaParametersArgs) -> R<()> {
        self.driver(|c| {
            c.domain_set_numa_parameters(&dom_in(&args.dom), &params_in(&args.params), args.flags)
        })
    }

    fn domain_get_blkio_parameters(
        &self,
        args: r::DomainGetBlkioParametersArgs,
    ) -> R<r::DomainGetBlkioParametersRet> {
        nparams_check(args.nparams, r::DOMAIN_BLKIO_PARAMETERS_MAX)?;
        let v = self.driver(|c| {
            c.domain_get_blkio_parameters(&dom_in(&args.dom), args.nparams, args.flags)
        })?;
        let (params, nparams) = tuning_out(v, args.nparams);
        Ok(r::DomainGetBlkioParametersRet { params, nparams })
    }

    fn domain_set_blkio_parameters(&self, args: r::DomainSetBlkioParametersArgs) -> R<()> {
        self.driver(|c| {
            c.domain_set_blkio_parameters(&dom_in(&args.dom), &params_in(&args.params), args.flags)
        })
    }

    fn domain_get_interface_parameters(
        &self,
        args: r::DomainGetInterfaceParametersArgs,
    ) -> R<r::DomainGetInterfaceParametersRet> {
        nparams_check(args.nparams, r::DOMAIN_INTERFACE_PARAMETERS_MAX)?;
        let v = self.driver(|c| {
            c.domain_get_interface_parameters(
                &dom_in(&args.dom),
                &args.device,
                args.nparams,
                args.flags,
            )
        })?;
        let (params, nparams) = tuning_out(v, args.nparams);
        Ok(r::DomainGetInterfaceParametersRet { params, nparams })
    }

    fn domain_set_interface_parameters(&self, args: r::DomainSetInterfaceParametersArgs) -> R<()> {
        self.driver(|c| {
            c.domain_set_interface_parameters(
                &dom_in(&args.dom),
                &args.device,
                &params_in(&args.params),
                args.flags,
            )
        })
    }

    fn domain_get_block_io_tune(
        &self,
        args: r::DomainGetBlockIoTuneArgs,
    ) -> R<r::DomainGetBlockIoTuneRet> {
        nparams_check(args.nparams, r::DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX)?;
        let v = self.driver(|c| {
            c.domain_get_block_io_tune(
                &dom_in(&args.dom),
                args.disk.as_deref(),
                args.nparams,
                args.flags,
            )
        })?;
        let (params, nparams) = tuning_out(v, args.nparams);
        Ok(r::DomainGetBlockIoTuneRet { params, nparams })
    }

    fn domain_set_block_io_tune(&self, args: r::DomainSetBlockIoTuneArgs) -> R<()> {
        self.driver(|c| {
            c.domain_set_block_io_tune(
                &dom_in(&args.dom),
                &args.disk,
                &params_in(&args.params),
                args.flags,
            )
        })
    }

    fn domain_set_memory_stats_period(&self, args: r::DomainSetMemoryStatsPeriodArgs) -> R<()> {
        self.driver(|c| {
            c.domain_set_memory_stats_period(&dom_in(&args.dom), args.period, args.flags)
        })
    }

    fn domain_get_perf_events(
        &self,
        args: r::DomainGetPerfEventsArgs,
    ) -> R<r::DomainGetPerfEventsRet> {
        let v = self.driver(|c| c.domain_get_perf_events(&dom_in(&args.dom), args.flags))?;
        limit_check(v.len(), r::DOMAIN_PERF_EVENTS_MAX, "perf events")?;
        Ok(r::DomainGetPerfEventsRet {
            params: params_out(v),
        })
    }

    fn domain_set_perf_events(&self, args: r::DomainSetPerfEventsArgs) -> R<()> {
        self.driver(|c| {
            c.domain_set_perf_events(&dom_in(&args.dom), &params_in(&args.params), args.flags)
        })
    }

    fn domain_core_dump(&self, args: r::DomainCoreDumpArgs) -> R<()> {
        self.driver(|c| c.domain_core_dump(&dom_in(&args.dom), &args.to, 0, args.flags))
    }

    fn domain_core_dump_with_format(&self, args: r::DomainCoreDumpWithFormatArgs) -> R<()> {
        self.driver(|c| {
            c.domain_core_dump(&dom_in(&args.dom), &args.to, args.dumpformat, args.flags)
        })
    }

    fn domain_save_image_get_xml_desc(
        &self,
        args: r::DomainSaveImageGetXmlDescArgs,
    ) -> R<r::DomainSaveImageGetXmlDescRet> {
        Ok(r::DomainSaveImageGetXmlDescRet {
            xml: self.driver(|c| c.domain_save_image_get_xml_desc(&args.file, args.flags))?,
        })
    }

    fn domain_save_image_define_xml(&self, args: r::DomainSaveImageDefineXmlArgs) -> R<()> {
        self.driver(|c| c.domain_save_image_define_xml(&args.file, &args.dxml, args.flags))
    }

    fn domain_pm_wakeup(&self, args: r::DomainPmWakeupArgs) -> R<()> {
        self.driver(|c| c.domain_pm_wakeup(&dom_in(&args.dom), args.flags))
    }

    fn domain_pm_suspend_for_duration(&self, args: r::DomainPmSuspendForDurationArgs) -> R<()> {
        self.driver(|c| {
            c.domain_pm_suspend_for_duration(
                &dom_in(&args.dom),
                args.target,
                args.duration,
                args.flags,
            )
        })
    }

    fn domain_inject_nmi(&self, args: r::DomainInjectNmiArgs) -> R<()> {
        self.driver(|c| c.domain_inject_nmi(&dom_in(&args.dom), args.flags))
    }

    fn domain_send_key(&self, args: r::DomainSendKeyArgs) -> R<()> {
        // virDomainSendKey's own checks, before the driver's.
        if args.keycodes.is_empty() {
            return Err(RemoteError::new(
                ErrorCode::InvalidArg,
                ErrorDomain::Domain,
                Some("nkeycodes in virDomainSendKey must be greater than zero"),
            ));
        }
        if args.codeset >= KEYCODE_SET_LAST {
            return Err(RemoteError::new(
                ErrorCode::InvalidArg,
                ErrorDomain::Domain,
                Some(&format!("Unsupported codeset '{}'", args.codeset as i32)),
            ));
        }
        self.driver(|c| {
            c.domain_send_key(
                &dom_in(&args.dom),
                args.codeset,
                args.holdtime,
                &args.keycodes,
                args.flags,
            )
        })
    }

    fn domain_send_process_signal(&self, args: r::DomainSendProcessSignalArgs) -> R<()> {
        self.driver(|c| {
            c.domain_send_process_signal(
                &dom_in(&args.dom),
                args.pid_value,
                args.signum,
                args.flags,
            )
        })
    }

    fn domain_set_lifecycle_action(&self, args: r::DomainSetLifecycleActionArgs) -> R<()> {
        self.driver(|c| {
            c.domain_set_lifecycle_action(&dom_in(&args.dom), args.r#type, args.action, args.flags)
        })
    }

    // ---- devices ----

    /// virDomainAttachDevice: the live guest only.
    fn domain_attach_device(&self, args: r::DomainAttachDeviceArgs) -> R<()> {
        self.driver(|c| c.domain_attach_device(&dom_in(&args.dom), &args.xml, affect::LIVE))
    }

    fn domain_attach_device_flags(&self, args: r::DomainAttachDeviceFlagsArgs) -> R<()> {
        self.driver(|c| c.domain_attach_device(&dom_in(&args.dom), &args.xml, args.flags))
    }

    /// virDomainDetachDevice: the live guest only.
    fn domain_detach_device(&self, args: r::DomainDetachDeviceArgs) -> R<()> {
        self.driver(|c| c.domain_detach_device(&dom_in(&args.dom), &args.xml, affect::LIVE))
    }

    fn domain_detach_device_flags(&self, args: r::DomainDetachDeviceFlagsArgs) -> R<()> {
        self.driver(|c| c.domain_detach_device(&dom_in(&args.dom), &args.xml, args.flags))
    }

    fn domain_detach_device_alias(&self, args: r::DomainDetachDeviceAliasArgs) -> R<()> {
        self.driver(|c| c.domain_detach_device_alias(&dom_in(&args.dom), &args.alias, args.flags))
    }

    fn domain_update_device_flags(&self, args: r::DomainUpdateDeviceFlagsArgs) -> R<()> {
        self.driver(|c| c.domain_update_device(&dom_in(&args.dom), &args.xml, args.flags))
    }

    fn domain_block_pull(&self, args: r::DomainBlockPullArgs) -> R<()> {
        self.driver(|c| {
            c.domain_block_pull(
                &dom_in(&args.dom),
                &args.path,
                None,
                args.bandwidth,
                args.flags,
            )
        })
    }

    fn domain_block_rebase(&self, args: r::DomainBlockRebaseArgs) -> R<()> {
        // VIR_DOMAIN_BLOCK_REBASE_COPY makes the rebase a block copy.
        if args.flags & (1 << 3) != 0 {
            return self.driver(|c| {
                c.domain_block_rebase_copy(
                    &dom_in(&args.dom),
                    &args.path,
                    args.base.as_deref(),
                    args.bandwidth,
                    args.flags,
                )
            });
        }
        self.driver(|c| {
            c.domain_block_pull(
                &dom_in(&args.dom),
                &args.path,
                args.base.as_deref(),
                args.bandwidth,
                args.flags,
            )
        })
    }

    fn domain_block_copy(&self, args: r::DomainBlockCopyArgs) -> R<()> {
        self.driver(|c| {
            c.domain_block_copy(
                &dom_in(&args.dom),
                &args.path,
                &args.destxml,
                &params_in(&args.params),
                args.flags,
            )
        })
    }

    fn domain_block_commit(&self, args: r::DomainBlockCommitArgs) -> R<()> {
        self.driver(|c| {
            c.domain_block_commit(
                &dom_in(&args.dom),
                &args.disk,
                args.base.as_deref(),
                args.top.as_deref(),
                args.bandwidth,
                args.flags,
            )
        })
    }

    fn domain_get_block_job_info(
        &self,
        args: r::DomainGetBlockJobInfoArgs,
    ) -> R<r::DomainGetBlockJobInfoRet> {
        let info = self
            .driver(|c| c.domain_get_block_job_info(&dom_in(&args.dom), &args.path, args.flags))?;
        Ok(match info {
            Some(i) => r::DomainGetBlockJobInfoRet {
                found: 1,
                r#type: i.kind,
                bandwidth: i.bandwidth,
                cur: i.cur,
                end: i.end,
            },
            None => r::DomainGetBlockJobInfoRet {
                found: 0,
                r#type: 0,
                bandwidth: 0,
                cur: 0,
                end: 0,
            },
        })
    }

    fn domain_block_job_abort(&self, args: r::DomainBlockJobAbortArgs) -> R<()> {
        self.driver(|c| c.domain_block_job_abort(&dom_in(&args.dom), &args.path, args.flags))
    }

    fn domain_block_job_set_speed(&self, args: r::DomainBlockJobSetSpeedArgs) -> R<()> {
        self.driver(|c| {
            c.domain_block_job_set_speed(&dom_in(&args.dom), &args.path, args.bandwidth, args.flags)
        })
    }

    fn domain_block_resize(&self, args: r::DomainBlockResizeArgs) -> R<()> {
        self.driver(|c| {
            c.domain_block_resize(&dom_in(&args.dom), &args.disk, args.size, args.flags)
        })
    }

    fn domain_fsfreeze(&self, args: r::DomainFsfreezeArgs) -> R<r::DomainFsfreezeRet> {
        Ok(r::DomainFsfreezeRet {
            filesystems: self.driver(|c| {
                c.domain_fs_freeze(&dom_in(&args.dom), &args.mountpoints, args.flags)
            })?,
        })
    }

    fn domain_fsthaw(&self, args: r::DomainFsthawArgs) -> R<r::DomainFsthawRet> {
        Ok(r::DomainFsthawRet {
            filesystems: self
                .driver(|c| c.domain_fs_thaw(&dom_in(&args.dom), &args.mountpoints, args.flags))?,
        })
    }

    fn domain_fstrim(&self, args: r::DomainFstrimArgs) -> R<()> {
        self.driver(|c| {
            c.domain_fs_trim(
                &dom_in(&args.dom),
                args.mount_point.as_deref(),
                args.minimum,
                args.flags,
            )
        })
    }

    fn domain_get_fsinfo(&self, args: r::DomainGetFsinfoArgs) -> R<r::DomainGetFsinfoRet> {
        let v = self.driver(|c| c.domain_get_fs_info(&dom_in(&args.dom), args.flags))?;
        limit_check(v.len(), r::DOMAIN_FSINFO_MAX, "FS info")?;
        let ret = v.len() as u32;
        Ok(r::DomainGetFsinfoRet {
            info: v
                .into_iter()
                .map(|f| r::DomainFsinfo {
                    mountpoint: f.mountpoint,
                    name: f.name,
                    fstype: f.fstype,
                    dev_aliases: f.dev_aliases,
                })
                .collect(),
            ret,
        })
    }

    fn domain_memory_peek(&self, args: r::DomainMemoryPeekArgs) -> R<r::DomainMemoryPeekRet> {
        if args.size > r::DOMAIN_MEMORY_PEEK_BUFFER_MAX {
            return Err(RemoteError::new(
                ErrorCode::InternalError,
                ErrorDomain::Rpc,
                Some("size > maximum buffer size"),
            ));
        }
        let buffer = self.driver(|c| {
            c.domain_memory_peek(&dom_in(&args.dom), args.offset, args.size, args.flags)
        })?;
        Ok(r::DomainMemoryPeekRet {
            buffer: xdr::Opaque(buffer),
        })
    }

    fn domain_interface_addresses(
        &self,
        args: r::DomainInterfaceAddressesArgs,
    ) -> R<r::DomainInterfaceAddressesRet> {
        let v = self.driver(|c| {
            c.domain_interface_addresses(&dom_in(&args.dom), args.source, args.flags)
        })?;
        limit_check(v.len(), r::DOMAIN_INTERFACE_MAX, "interfaces")?;
        let mut ifaces = Vec::with_capacity(v.len());
        for i in v {
            limit_check(i.addrs.len(), r::DOMAIN_IP_ADDR_MAX, "IP addresses")?;
            ifaces.push(r::DomainInterface {
                name: i.name,
                hwaddr: i.hwaddr,
                addrs: i
                    .addrs
                    .into_iter()
                    .map(|a| r::DomainIpAddr {
                        r#type: a.addr_type,
                        addr: a.addr,
                        prefix: a.prefix,
                    })
                    .collect(),
            });
        }
        Ok(r::DomainInterfaceAddressesRet { ifaces })
    }

    fn domain_get_cpu_stats(&self, args: r::DomainGetCpuStatsArgs) -> R<r::DomainGetCpuStatsRet> {
        let too_large = |what: &str| {
            RemoteError::new(
                ErrorCode::InternalError,
                ErrorDomain::Rpc,
                Some(&format!("{what} too large")),
            )
        };
        if args.nparams > r::NODE_CPU_STATS_MAX {
            return Err(too_large("nparams"));
        }
        if args.ncpus > r::DOMAIN_GET_CPU_STATS_NCPUS_MAX {
            return Err(too_large("ncpus"));
        }
        let (v, n) = self.driver(|c| {
            c.domain_get_cpu_stats(
                &dom_in(&args.dom),
                args.nparams,
                args.start_cpu,
                args.ncpus,
                args.flags,
            )
        })?;
        // Asked with no room: only the count.
        let params = if args.nparams == 0 {
            Vec::new()
        } else {
            limit_check(v.len(), r::DOMAIN_GET_CPU_STATS_MAX, "CPU statistics")?;
            params_out(v)
        };
        Ok(r::DomainGetCpuStatsRet { params, nparams: n })
    }

    fn domain_get_max_memory(
        &self,
        args: r::DomainGetMaxMemoryArgs,
    ) -> R<r::DomainGetMaxMemoryRet> {
        Ok(r::DomainGetMaxMemoryRet {
            memory: self.driver(|c| c.domain_get_max_memory(&dom_in(&args.dom)))?,
        })
    }

    fn domain_set_max_memory(&self, args: r::DomainSetMaxMemoryArgs) -> R<()> {
        self.driver(|c| c.domain_set_max_memory(&dom_in(&args.dom), args.memory))
    }

    fn domain_set_memory(&self, args: r::DomainSetMemoryArgs) -> R<()> {
        self.driver(|c| c.domain_set_memory(&dom_in(&args.dom), args.memory, affect::LIVE))
    }

    fn domain_set_memory_flags(&self, args: r::DomainSetMemoryFlagsArgs) -> R<()> {
        self.driver(|c| c.domain_set_memory(&dom_in(&args.dom), args.memory, args.flags))
    }

    fn domain_get_memory_parameters(
        &self,
        args: r::DomainGetMemoryParametersArgs,
    ) -> R<r::DomainGetMemoryParametersRet> {
        let v = self.driver(|c| c.domain_get_memory_parameters(&dom_in(&args.dom), args.flags))?;
        let nparams = v.len() as i32;
        // Asked with no room: only the number.
        let params = if args.nparams == 0 {
            Vec::new()
        } else {
            params_out(v)
        };
        Ok(r::DomainGetMemoryParametersRet { params, nparams })
    }

    fn domain_set_vcpus(&self, args: r::DomainSetVcpusArgs) -> R<()> {
        self.driver(|c| c.domain_set_vcpus(&dom_in(&args.dom), args.nvcpus, affect::LIVE))
    }

    fn domain_set_vcpus_flags(&self, args: r::DomainSetVcpusFlagsArgs) -> R<()> {
        self.driver(|c| c.domain_set_vcpus(&dom_in(&args.dom), args.nvcpus, args.flags))
    }

    fn domain_get_vcpus_flags(
        &self,
        args: r::DomainGetVcpusFlagsArgs,
    ) -> R<r::DomainGetVcpusFlagsRet> {
        Ok(r::DomainGetVcpusFlagsRet {
            num: self.driver(|c| c.domain_get_vcpus_flags(&dom_in(&args.dom), args.flags))?,
        })
    }

    fn domain_get_max_vcpus(&self, args: r::DomainGetMaxVcpusArgs) -> R<r::DomainGetMaxVcpusRet> {
        Ok(r::DomainGetMaxVcpusRet {
            num: self.driver(|c| c.domain_get_max_vcpus(&dom_in(&args.dom)))?,
        })
    }

    fn domain_get_vcpus(&self, args: r::DomainGetVcpusArgs) -> R<r::DomainGetVcpusRet> {
        limit_check(args.maxinfo.max(0) as usize, r::VCPUINFO_MAX, "vcpus")?;
        let maxinfo = args.maxinfo.max(0) as usize;
        let maplen = args.maplen.max(0) as usize;
        if maxinfo.saturating_mul(maplen) > r::CPUMAPS_MAX as usize {
            return Err(RemoteError::new(
                ErrorCode::Rpc,
                ErrorDomain::Rpc,
                Some("maxinfo * maplen > REMOTE_CPUMAPS_MAX"),
            ));
        }
        let (info, mut maps) =
            self.driver(|c| c.domain_get_vcpus(&dom_in(&args.dom), maxinfo, maplen))?;
        // C's daemon sends the whole buffer the client asked for.
        maps.resize(maxinfo * maplen, 0);
        Ok(r::DomainGetVcpusRet {
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
        })
    }

    fn domain_pin_vcpu(&self, args: r::DomainPinVcpuArgs) -> R<()> {
        self.driver(|c| c.domain_pin_vcpu(&dom_in(&args.dom), args.vcpu, &args.cpumap.0, 0))
    }

    fn domain_pin_vcpu_flags(&self, args: r::DomainPinVcpuFlagsArgs) -> R<()> {
        self.driver(|c| {
            c.domain_pin_vcpu(&dom_in(&args.dom), args.vcpu, &args.cpumap.0, args.flags)
        })
    }

    fn domain_get_vcpu_pin_info(
        &self,
        args: r::DomainGetVcpuPinInfoArgs,
    ) -> R<r::DomainGetVcpuPinInfoRet> {
        if args.ncpumaps > r::VCPUINFO_MAX as i32 {
            return Err(RemoteError::new(
                ErrorCode::InternalError,
                ErrorDomain::Rpc,
                Some("ncpumaps > REMOTE_VCPUINFO_MAX"),
            ));
        }
        let ncpumaps = args.ncpumaps.max(0) as usize;
        let maplen = args.maplen.max(0) as usize;
        if ncpumaps.saturating_mul(maplen) > r::CPUMAPS_MAX as usize {
            return Err(RemoteError::new(
                ErrorCode::InternalError,
                ErrorDomain::Rpc,
                Some("maxinfo * maplen > REMOTE_CPUMAPS_MAX"),
            ));
        }
        let (num, cpumaps) = self.driver(|c| {
            c.domain_get_vcpu_pin_info(&dom_in(&args.dom), ncpumaps, maplen, args.flags)
        })?;
        Ok(r::DomainGetVcpuPinInfoRet {
            cpumaps: xdr::Opaque(cpumaps),
            num,
        })
    }

    fn domain_pin_emulator(&self, args: r::DomainPinEmulatorArgs) -> R<()> {
        self.driver(|c| c.domain_pin_emulator(&dom_in(&args.dom), &args.cpumap.0, args.flags))
    }

    fn domain_get_emulator_pin_info(
        &self,
        args: r::DomainGetEmulatorPinInfoArgs,
    ) -> R<r::DomainGetEmulatorPinInfoRet> {
        let maplen = args.maplen.max(0) as usize;
        if maplen > r::CPUMAPS_MAX as usize {
            return Err(RemoteError::new(
                ErrorCode::InternalError,
                ErrorDomain::Rpc,
                Some("maplen > REMOTE_CPUMAPS_MAX"),
            ));
        }
        let (ret, cpumaps) = self
            .driver(|c| c.domain_get_emulator_pin_info(&dom_in(&args.dom), maplen, args.flags))?;
        Ok(r::DomainGetEmulatorPinInfoRet {
            cpumaps: xdr::Opaque(cpumaps),
            ret,
        })
    }

    fn domain_get_iothread_info(
        &self,
        args: r::DomainGetIothreadInfoArgs,
    ) -> R<r::DomainGetIothreadInfoRet> {
        let v = self.driver(|c| c.domain_get_iothread_info(&dom_in(&args.dom), args.flags))?;
        if v.len() > r::IOTHREAD_INFO_MAX as usize {
            return Err(RemoteError::new(
                ErrorCode::Rpc,
                ErrorDomain::Rpc,
                Some(&format!(
                    "Too many IOThreads in info: {} for limit {}",
                    v.len(),
                    r::IOTHREAD_INFO_MAX
                )),
            ));
        }
        let ret = v.len() as u32;
        Ok(r::DomainGetIothreadInfoRet {
            info: v
                .into_iter()
                .map(|(iothread_id, map)| r::DomainIothreadInfo {
                    iothread_id,
                    cpumap: xdr::Opaque(map),
                })
                .collect(),
            ret,
        })
    }

    fn domain_pin_iothread(&self, args: r::DomainPinIothreadArgs) -> R<()> {
        self.driver(|c| {
            c.domain_pin_iothread(
                &dom_in(&args.dom),
                args.iothreads_id,
                &args.cpumap.0,
                args.flags,
            )
        })
    }

    fn domain_add_iothread(&self, args: r::DomainAddIothreadArgs) -> R<()> {
        self.driver(|c| c.domain_add_iothread(&dom_in(&args.dom), args.iothread_id, args.flags))
    }

    fn domain_del_iothread(&self, args: r::DomainDelIothreadArgs) -> R<()> {
        self.driver(|c| c.domain_del_iothread(&dom_in(&args.dom), args.iothread_id, args.flags))
    }

    fn domain_set_iothread_params(&self, args: r::DomainSetIothreadParamsArgs) -> R<()> {
        let p = params_in(&args.params);
        self.driver(|c| {
            c.domain_set_iothread_params(&dom_in(&args.dom), args.iothread_id, &p, args.flags)
        })
    }

    fn domain_get_hostname(&self, args: r::DomainGetHostnameArgs) -> R<r::DomainGetHostnameRet> {
        Ok(r::DomainGetHostnameRet {
            hostname: self.driver(|c| c.domain_get_hostname(&dom_in(&args.dom), args.flags))?,
        })
    }

    fn domain_get_guest_info(
        &self,
        args: r::DomainGetGuestInfoArgs,
    ) -> R<r::DomainGetGuestInfoRet> {
        let p =
            self.driver(|c| c.domain_get_guest_info(&dom_in(&args.dom), args.types, args.flags))?;
        limit_check(
            p.len(),
            r::DOMAIN_GUEST_INFO_PARAMS_MAX,
            "guest info params",
        )?;
        Ok(r::DomainGetGuestInfoRet {
            params: params_out(p),
        })
    }

    fn domain_set_user_password(&self, args: r::DomainSetUserPasswordArgs) -> R<()> {
        self.driver(|c| {
            c.domain_set_user_password(
                &dom_in(&args.dom),
                args.user.as_deref().unwrap_or(""),
                args.password.as_deref().unwrap_or(""),
                args.flags,
            )
        })
    }

    fn domain_get_guest_vcpus(
        &self,
        args: r::DomainGetGuestVcpusArgs,
    ) -> R<r::DomainGetGuestVcpusRet> {
        let p = self.driver(|c| c.domain_get_guest_vcpus(&dom_in(&args.dom), args.flags))?;
        limit_check(
            p.len(),
            r::DOMAIN_GUEST_VCPU_PARAMS_MAX,
            "guest vcpu params",
        )?;
        Ok(r::DomainGetGuestVcpusRet {
            params: params_out(p),
        })
    }

    fn domain_set_guest_vcpus(&self, args: r::DomainSetGuestVcpusArgs) -> R<()> {
        self.driver(|c| {
            c.domain_set_guest_vcpus(&dom_in(&args.dom), &args.cpumap, args.state, args.flags)
        })
    }

    fn domain_get_time(&self, args: r::DomainGetTimeArgs) -> R<r::DomainGetTimeRet> {
        let (seconds, nseconds) =
            self.driver(|c| c.domain_get_time(&dom_in(&args.dom), args.flags))?;
        Ok(r::DomainGetTimeRet { seconds, nseconds })
    }

    fn domain_set_time(&self, args: r::DomainSetTimeArgs) -> R<()> {
        self.driver(|c| {
            c.domain_set_time(&dom_in(&args.dom), args.seconds, args.nseconds, args.flags)
        })
    }

    fn domain_get_block_info(
        &self,
        args: r::DomainGetBlockInfoArgs,
    ) -> R<r::DomainGetBlockInfoRet> {
        let (capacity, allocation, physical) =
            self.driver(|c| c.domain_get_block_info(&dom_in(&args.dom), &args.path, args.flags))?;
        Ok(r::DomainGetBlockInfoRet {
            allocation,
            capacity,
            physical,
        })
    }

    fn domain_get_scheduler_type(
        &self,
        args: r::DomainGetSchedulerTypeArgs,
    ) -> R<r::DomainGetSchedulerTypeRet> {
        let (r#type, nparams) = self.driver(|c| c.domain_get_scheduler_type(&dom_in(&args.dom)))?;
        Ok(r::DomainGetSchedulerTypeRet { r#type, nparams })
    }

    fn domain_get_scheduler_parameters(
        &self,
        args: r::DomainGetSchedulerParametersArgs,
    ) -> R<r::DomainGetSchedulerParametersRet> {
        let v = self.driver(|c| c.domain_get_scheduler_parameters(&dom_in(&args.dom), 0))?;
        Ok(r::DomainGetSchedulerParametersRet {
            params: params_out(v),
        })
    }

    fn domain_get_scheduler_parameters_flags(
        &self,
        args: r::DomainGetSchedulerParametersFlagsArgs,
    ) -> R<r::DomainGetSchedulerParametersFlagsRet> {
        let v =
            self.driver(|c| c.domain_get_scheduler_parameters(&dom_in(&args.dom), args.flags))?;
        Ok(r::DomainGetSchedulerParametersFlagsRet {
            params: params_out(v),
        })
    }

    fn domain_set_scheduler_parameters(&self, args: r::DomainSetSchedulerParametersArgs) -> R<()> {
        let p = params_in(&args.params);
        self.driver(|c| c.domain_set_scheduler_parameters(&dom_in(&args.dom), &p, 0))
    }

    fn domain_set_scheduler_parameters_flags(
        &self,
        args: r::DomainSetSchedulerParametersFlagsArgs,
    ) -> R<()> {
        let p = params_in(&args.params);
        self.driver(|c| c.domain_set_scheduler_parameters(&dom_in(&args.dom), &p, args.flags))
    }

    // ---- statistics and screenshots ----

    fn domain_memory_stats(&self, args: r::DomainMemoryStatsArgs) -> R<r::DomainMemoryStatsRet> {
        if args.max_stats > r::DOMAIN_MEMORY_STATS_MAX {
            return Err(RemoteError::new(
                ErrorCode::Rpc,
                ErrorDomain::Rpc,
                Some("maxStats > REMOTE_DOMAIN_MEMORY_STATS_MAX"),
            ));
        }
        let v =
            self.driver(|c| c.domain_memory_stats(&dom_in(&args.dom), args.max_stats, args.flags))?;
        Ok(r::DomainMemoryStatsRet {
            stats: v
                .into_iter()
                .map(|(tag, val)| r::DomainMemoryStat { tag, val })
                .collect(),
        })
    }

    fn domain_block_stats(&self, args: r::DomainBlockStatsArgs) -> R<r::DomainBlockStatsRet> {
        let [rd_req, rd_bytes, wr_req, wr_bytes, errs] =
            self.driver(|c| c.domain_block_stats(&dom_in(&args.dom), &args.path))?;
        Ok(r::DomainBlockStatsRet {
            rd_req,
            rd_bytes,
            wr_req,
            wr_bytes,
            errs,
        })
    }

    fn domain_interface_stats(
        &self,
        args: r::DomainInterfaceStatsArgs,
    ) -> R<r::DomainInterfaceStatsRet> {
        let [rx_bytes, rx_packets, rx_errs, rx_drop, tx_bytes, tx_packets, tx_errs, tx_drop] =
            self.driver(|c| c.domain_interface_stats(&dom_in(&args.dom), &args.device))?;
        Ok(r::DomainInterfaceStatsRet {
            rx_bytes,
            rx_packets,
            rx_errs,
            rx_drop,
            tx_bytes,
            tx_packets,
            tx_errs,
            tx_drop,
        })
    }

    fn domain_screenshot(&self, args: r::DomainScreenshotArgs) -> R<r::DomainScreenshotRet> {
        let (mime, fd) =
            self.driver(|c| c.domain_screenshot(&dom_in(&args.dom), args.screen, args.flags))?;
        self.reply_then_stream(Pending::new(fd)?);
        Ok(r::DomainScreenshotRet { mime: Some(mime) })
    }

    // ---- snapshots ----

    fn domain_snapshot_num(&self, args: r::DomainSnapshotNumArgs) -> R<r::DomainSnapshotNumRet> {
        Ok(r::DomainSnapshotNumRet {
            num: self.driver(|c| c.domain_snapshot_num(&dom_in(&args.dom), args.flags))?,
        })
    }

    fn domain_snapshot_list_names(
        &self,
        args: r::DomainSnapshotListNamesArgs,
    ) -> R<r::DomainSnapshotListNamesRet> {
        let max = args.maxnames.max(0) as usize;
        limit_check(max, r::DOMAIN_SNAPSHOT_LIST_MAX, "domain snapshots")?;
        let mut names = self.driver(|c| c.domain_list_snapshots(&dom_in(&args.dom), args.flags))?;
        names.truncate(max);
        Ok(r::DomainSnapshotListNamesRet { names })
    }

    fn domain_list_all_snapshots(
        &self,
        args: r::DomainListAllSnapshotsArgs,
    ) -> R<r::DomainListAllSnapshotsRet> {
        let v = self.driver(|c| c.domain_list_snapshots(&dom_in(&args.dom), args.flags))?;
        let (snapshots, ret) = list_all(
            v,
            args.need_results,
            r::DOMAIN_SNAPSHOT_LIST_MAX,
            "domain snapshots",
            |name| snap_out(&args.dom, name),
        )?;
        Ok(r::DomainListAllSnapshotsRet {
            snapshots,
            ret: ret as i32,
        })
    }

    fn domain_snapshot_num_children(
        &self,
        args: r::DomainSnapshotNumChildrenArgs,
    ) -> R<r::DomainSnapshotNumChildrenRet> {
        let s = &args.snap;
        let v =
            self.driver(|c| c.domain_snapshot_list_children(&dom_in(&s.dom), &s.name, args.flags))?;
        Ok(r::DomainSnapshotNumChildrenRet {
            num: v.len() as i32,
        })
    }

    fn domain_snapshot_list_children_names(
        &self,
        args: r::DomainSnapshotListChildrenNamesArgs,
    ) -> R<r::DomainSnapshotListChildrenNamesRet> {
        let max = args.maxnames.max(0) as usize;
        limit_check(max, r::DOMAIN_SNAPSHOT_LIST_MAX, "domain snapshots")?;
        let s = &args.snap;
        let mut names =
            self.driver(|c| c.domain_snapshot_list_children(&dom_in(&s.dom), &s.name, args.flags))?;
        names.truncate(max);
        Ok(r::DomainSnapshotListChildrenNamesRet { names })
    }

    fn domain_snapshot_list_all_children(
        &self,
        args: r::DomainSnapshotListAllChildrenArgs,
    ) -> R<r::DomainSnapshotListAllChildrenRet> {
        let s = &args.snapshot;
        let v =
            self.driver(|c| c.domain_snapshot_list_children(&dom_in(&s.dom), &s.name, args.flags))?;
        let (snapshots, ret) = list_all(
            v,
            args.need_results,
            r::DOMAIN_SNAPSHOT_LIST_MAX,
            "domain snapshots",
            |name| snap_out(&s.dom, name),
        )?;
        Ok(r::DomainSnapshotListAllChildrenRet {
            snapshots,
            ret: ret as i32,
        })
    }

    fn domain_snapshot_create_xml(
        &self,
        args: r::DomainSnapshotCreateXmlArgs,
    ) -> R<r::DomainSnapshotCreateXmlRet> {
        let name = self.driver(|c| {
            c.domain_snapshot_create_xml(&dom_in(&args.dom), &args.xml_desc, args.flags)
        })?;
        Ok(r::DomainSnapshotCreateXmlRet {
            snap: snap_out(&args.dom, name),
        })
    }

    fn domain_snapshot_lookup_by_name(
        &self,
        args: r::DomainSnapshotLookupByNameArgs,
    ) -> R<r::DomainSnapshotLookupByNameRet> {
        let name = self.driver(|c| {
            c.domain_snapshot_lookup_by_name(&dom_in(&args.dom), &args.name, args.flags)
        })?;
        Ok(r::DomainSnapshotLookupByNameRet {
            snap: snap_out(&args.dom, name),
        })
    }

    fn domain_has_current_snapshot(
        &self,
        args: r::DomainHasCurrentSnapshotArgs,
    ) -> R<r::DomainHasCurrentSnapshotRet> {
        let yes = self.driver(|c| c.domain_has_current_snapshot(&dom_in(&args.dom), args.flags))?;
        Ok(r::DomainHasCurrentSnapshotRet {
            result: i32::from(yes),
        })
    }

    fn domain_snapshot_current(
        &self,
        args: r::DomainSnapshotCurrentArgs,
    ) -> R<r::DomainSnapshotCurrentRet> {
        let name = self.driver(|c| c.domain_snapshot_current(&dom_in(&args.dom), args.flags))?;
        Ok(r::DomainSnapshotCurrentRet {
            snap: snap_out(&args.dom, name),
        })
    }

    fn domain_snapshot_get_parent(
        &self,
        args: r::DomainSnapshotGetParentArgs,
    ) -> R<r::DomainSnapshotGetParentRet> {
        let s = &args.snap;
        let name =
            self.driver(|c| c.domain_snapshot_get_parent(&dom_in(&s.dom), &s.name, args.flags))?;
        Ok(r::DomainSnapshotGetParentRet {
            snap: snap_out(&s.dom, name),
        })
    }

    fn domain_snapshot_get_xml_desc(
        &self,
        args: r::DomainSnapshotGetXmlDescArgs,
    ) -> R<r::DomainSnapshotGetXmlDescRet> {
        let s = &args.snap;
        let xml =
            self.driver(|c| c.domain_snapshot_get_xml_desc(&dom_in(&s.dom), &s.name, args.flags))?;
        Ok(r::DomainSnapshotGetXmlDescRet { xml })
    }

    fn domain_snapshot_is_current(
        &self,
        args: r::DomainSnapshotIsCurrentArgs,
    ) -> R<r::DomainSnapshotIsCurrentRet> {
        let s = &args.snap;
        let yes =
            self.driver(|c| c.domain_snapshot_is_current(&dom_in(&s.dom), &s.name, args.flags))?;
        Ok(r::DomainSnapshotIsCurrentRet {
            current: i32::from(yes),
        })
    }

    fn domain_snapshot_has_metadata(
        &self,
        args: r::DomainSnapshotHasMetadataArgs,
    ) -> R<r::DomainSnapshotHasMetadataRet> {
        let s = &args.snap;
        let yes =
            self.driver(|c| c.domain_snapshot_has_metadata(&dom_in(&s.dom), &s.name, args.flags))?;
        Ok(r::DomainSnapshotHasMetadataRet {
            metadata: i32::from(yes),
        })
    }

    fn domain_revert_to_snapshot(&self, args: r::DomainRevertToSnapshotArgs) -> R<()> {
        let s = &args.snap;
        self.driver(|c| c.domain_revert_to_snapshot(&dom_in(&s.dom), &s.name, args.flags))
    }

    fn domain_snapshot_delete(&self, args: r::DomainSnapshotDeleteArgs) -> R<()> {
        let s = &args.snap;
        self.driver(|c| c.domain_snapshot_delete(&dom_in(&s.dom), &s.name, args.flags))
    }

    // ---- checkpoints ----

    fn domain_checkpoint_create_xml(
        &self,
        args: r::DomainCheckpointCreateXmlArgs,
    ) -> R<r::DomainCheckpointCreateXmlRet> {
        let name = self.driver(|c| {
            c.domain_checkpoint_create_xml(&dom_in(&args.dom), &args.xml_desc, args.flags)
        })?;
        Ok(r::DomainCheckpointCreateXmlRet {
            checkpoint: chk_out(&args.dom, name),
        })
    }

    fn domain_list_all_checkpoints(
        &self,
        args: r::DomainListAllCheckpointsArgs,
    ) -> R<r::DomainListAllCheckpointsRet> {
        let v = self.driver(|c| c.domain_list_checkpoints(&dom_in(&args.dom), args.flags))?;
        let (checkpoints, ret) = list_all(
            v,
            args.need_results,
            r::DOMAIN_CHECKPOINT_LIST_MAX,
            "domain checkpoints",
            |name| chk_out(&args.dom, name),
        )?;
        Ok(r::DomainListAllCheckpointsRet {
            checkpoints,
            ret: ret as i32,
        })
    }

    fn domain_checkpoint_list_all_children(
        &self,
        args: r::DomainCheckpointListAllChildrenArgs,
    ) -> R<r::DomainCheckpointListAllChildrenRet> {
        let k = &args.checkpoint;
        let v = self
            .driver(|c| c.domain_checkpoint_list_children(&dom_in(&k.dom), &k.name, args.flags))?;
        let (checkpoints, ret) = list_all(
            v,
            args.need_results,
            r::DOMAIN_CHECKPOINT_LIST_MAX,
            "domain checkpoints",
            |name| chk_out(&k.dom, name),
        )?;
        Ok(r::DomainCheckpointListAllChildrenRet {
            checkpoints,
            ret: ret as i32,
        })
    }

    fn domain_checkpoint_lookup_by_name(
        &self,
        args: r::DomainCheckpointLookupByNameArgs,
    ) -> R<r::DomainCheckpointLookupByNameRet> {
        let name = self.driver(|c| {
            c.domain_checkpoint_lookup_by_name(&dom_in(&args.dom), &args.name, args.flags)
        })?;
        Ok(r::DomainCheckpointLookupByNameRet {
            checkpoint: chk_out(&args.dom, name),
        })
    }

    fn domain_checkpoint_get_parent(
        &self,
        args: r::DomainCheckpointGetParentArgs,
    ) -> R<r::DomainCheckpointGetParentRet> {
        let k = &args.checkpoint;
        let name =
            self.driver(|c| c.domain_checkpoint_get_parent(&dom_in(&k.dom), &k.name, args.flags))?;
        Ok(r::DomainCheckpointGetParentRet {
            parent: chk_out(&k.dom, name),
        })
    }

    fn domain_checkpoint_get_xml_desc(
        &self,
        args: r::DomainCheckpointGetXmlDescArgs,
    ) -> R<r::DomainCheckpointGetXmlDescRet> {
        let k = &args.checkpoint;
        let xml = self
            .driver(|c| c.domain_checkpoint_get_xml_desc(&dom_in(&k.dom), &k.name, args.flags))?;
        Ok(r::DomainCheckpointGetXmlDescRet { xml })
    }

    fn domain_checkpoint_delete(&self, args: r::DomainCheckpointDeleteArgs) -> R<()> {
        let k = &args.checkpoint;
        self.driver(|c| c.domain_checkpoint_delete(&dom_in(&k.dom), &k.name, args.flags))
    }

    // ---- console ----

    fn domain_open_console(&self, args: r::DomainOpenConsoleArgs) -> R<()> {
        let fd = self.driver(|c| {
            c.domain_open_console(&dom_in(&args.dom), args.dev_name.as_deref(), args.flags)
        })?;
        self.reply_then_stream(Pending::new(fd)?);
        Ok(())
    }

    // ---- event registrations ----

    fn connect_domain_event_register(&self) -> R<r::ConnectDomainEventRegisterRet> {
        self.register(Kind::DomainLegacy, 0, None)?;
        Ok(r::ConnectDomainEventRegisterRet { cb_registered: 1 })
    }

    fn connect_domain_event_deregister(&self) -> R<r::ConnectDomainEventDeregisterRet> {
        let found = self.deregister(|reg| reg.kind == Kind::DomainLegacy)?;
        Ok(r::ConnectDomainEventDeregisterRet {
            cb_registered: i32::from(!found),
        })
    }

    fn connect_domain_event_register_any(
        &self,
        args: r::ConnectDomainEventRegisterAnyArgs,
    ) -> R<()> {
        check_event_id(args.event_id)?;
        self.register(Kind::DomainAny, args.event_id, None)?;
        Ok(())
    }

    fn connect_domain_event_deregister_any(
        &self,
        args: r::ConnectDomainEventDeregisterAnyArgs,
    ) -> R<()> {
        let found =
            self.deregister(|reg| reg.kind == Kind::DomainAny && reg.event_id == args.event_id)?;
        if !found {
            return Err(RemoteError::new(
                ErrorCode::InternalError,
                ErrorDomain::Rpc,
                Some(&format!("domain event {} not registered", args.event_id)),
            ));
        }
        Ok(())
    }

    fn connect_domain_event_callback_register_any(
        &self,
        args: r::ConnectDomainEventCallbackRegisterAnyArgs,
    ) -> R<r::ConnectDomainEventCallbackRegisterAnyRet> {
        check_event_id(args.event_id)?;
        let filter = args.dom.map(|d| d.uuid.to_vec());
        let callback_id = self.register(Kind::DomainCallback, args.event_id, filter)?;
        Ok(r::ConnectDomainEventCallbackRegisterAnyRet { callback_id })
    }

    fn connect_domain_event_callback_deregister_any(
        &self,
        args: r::ConnectDomainEventCallbackDeregisterAnyArgs,
    ) -> R<()> {
        self.deregister_id(args.callback_id)
    }

    // ---- migration ----

    fn domain_migrate_begin3_params(
        &self,
        args: r::DomainMigrateBegin3ParamsArgs,
    ) -> R<r::DomainMigrateBegin3ParamsRet> {
        let p = params_in(&args.params);
        let (cookie, xml) =
            self.driver(|c| c.domain_migrate_begin3_params(&dom_in(&args.dom), &p, args.flags))?;
        Ok(r::DomainMigrateBegin3ParamsRet {
            cookie_out: xdr::Opaque(cookie),
            xml,
        })
    }

    fn domain_migrate_prepare3_params(
        &self,
        args: r::DomainMigratePrepare3ParamsArgs,
    ) -> R<r::DomainMigratePrepare3ParamsRet> {
        let p = params_in(&args.params);
        let (cookie, uri_out) =
            self.driver(|c| c.domain_migrate_prepare3_params(&p, &args.cookie_in.0, args.flags))?;
        Ok(r::DomainMigratePrepare3ParamsRet {
            cookie_out: xdr::Opaque(cookie),
            uri_out,
        })
    }

    fn domain_migrate_perform3_params(
        &self,
        args: r::DomainMigratePerform3ParamsArgs,
    ) -> R<r::DomainMigratePerform3ParamsRet> {
        let p = params_in(&args.params);
        let dom = dom_in(&args.dom);
        if args.flags & driver::consts::migrate::PEER2PEER != 0 {
            let dconnuri = args.dconnuri.as_deref().unwrap_or("");
            self.driver(|c| super::migrate::perform_p2p(c, &dom, dconnuri, &p, args.flags))?;
            return Ok(r::DomainMigratePerform3ParamsRet {
                cookie_out: xdr::Opaque(Vec::new()),
            });
        }
        let cookie = self.driver(|c| {
            c.domain_migrate_perform3_params(
                &dom,
                args.dconnuri.as_deref(),
                &p,
                &args.cookie_in.0,
                args.flags,
            )
        })?;
        Ok(r::DomainMigratePerform3ParamsRet {
            cookie_out: xdr::Opaque(cookie),
        })
    }

    fn domain_migrate_finish3_params(
        &self,
        args: r::DomainMigrateFinish3ParamsArgs,
    ) -> R<r::DomainMigrateFinish3ParamsRet> {
        let p = params_in(&args.params);
        let (dom, cookie) = self.driver(|c| {
            c.domain_migrate_finish3_params(&p, &args.cookie_in.0, args.flags, args.cancelled != 0)
        })?;
        Ok(r::DomainMigrateFinish3ParamsRet {
            dom: dom_out(dom),
            cookie_out: xdr::Opaque(cookie),
        })
    }

    fn domain_migrate_confirm3_params(&self, args: r::DomainMigrateConfirm3ParamsArgs) -> R<()> {
        let p = params_in(&args.params);
        self.driver(|c| {
            c.domain_migrate_confirm3_params(
                &dom_in(&args.dom),
                &p,
                &args.cookie_in.0,
                args.flags,
                args.cancelled != 0,
            )
        })
    }

    fn domain_migrate_set_max_downtime(&self, args: r::DomainMigrateSetMaxDowntimeArgs) -> R<()> {
        self.driver(|c| {
            c.domain_migrate_set_max_downtime(&dom_in(&args.dom), args.downtime, args.flags)
        })
    }

    fn domain_migrate_get_max_downtime(
        &self,
        args: r::DomainMigrateGetMaxDowntimeArgs,
    ) -> R<r::DomainMigrateGetMaxDowntimeRet> {
        Ok(r::DomainMigrateGetMaxDowntimeRet {
            downtime: self
                .driver(|c| c.domain_migrate_get_max_downtime(&dom_in(&args.dom), args.flags))?,
        })
    }

    fn domain_migrate_set_max_speed(&self, args: r::DomainMigrateSetMaxSpeedArgs) -> R<()> {
        self.driver(|c| {
            c.domain_migrate_set_max_speed(&dom_in(&args.dom), args.bandwidth, args.flags)
        })
    }

    fn domain_migrate_get_max_speed(
        &self,
        args: r::DomainMigrateGetMaxSpeedArgs,
    ) -> R<r::DomainMigrateGetMaxSpeedRet> {
        Ok(r::DomainMigrateGetMaxSpeedRet {
            bandwidth: self
                .driver(|c| c.domain_migrate_get_max_speed(&dom_in(&args.dom), args.flags))?,
        })
    }
}
