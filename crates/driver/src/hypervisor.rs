// SPDX-License-Identifier: LGPL-2.1-or-later
//! `Connection`: one open driver connection (libvirt's virConnectPtr on the
//! daemon side). Each method names the public API it implements.
//!
//! Conventions shared by every method:
//! - objects are identified by the handle the client sent; drivers look
//!   domains up by UUID and report `NoDomain` ("no domain with matching
//!   uuid ...") when it is gone;
//! - unknown flag bits are rejected with `Error::check_flags`;
//! - the defaults fail with VIR_ERR_NO_SUPPORT naming the API.
//! - reads never wait for a busy guest; operations that change a guest take
//!   its job lock with a deadline and fail with VIR_ERR_OPERATION_TIMEOUT.
//! - dropping the connection object is virConnectClose: the driver runs
//!   the close callbacks registered for it ([`crate::CloseCallbacks`]),
//!   without blocking the dropping thread (it may be a connection task).

use crate::error::{Error, Result};
use crate::events::EventSink;
use crate::types::*;

macro_rules! unsupported {
    ($api:literal) => {
        Err(Error::no_support($api))
    };
}

#[allow(unused_variables)]
pub trait Connection: Send + Sync {
    // ---- connection and host ----

    /// virConnectGetType: the driver's name ("Test", "LXC", "Xen").
    fn get_type(&self) -> &'static str;
    /// virConnectGetURI.
    fn uri(&self) -> String;
    /// virConnectGetVersion: hypervisor version, major*1e6+minor*1e3+micro.
    fn version(&self) -> Result<u64> {
        unsupported!("virConnectGetVersion")
    }
    /// virConnectGetHostname.
    fn hostname(&self) -> Result<String> {
        unsupported!("virConnectGetHostname")
    }
    /// virConnectGetCapabilities.
    fn capabilities(&self) -> Result<String> {
        unsupported!("virConnectGetCapabilities")
    }
    /// virConnectGetDomainCapabilities.
    fn domain_capabilities(
        &self,
        emulator: Option<&str>,
        arch: Option<&str>,
        machine: Option<&str>,
        virttype: Option<&str>,
        flags: u32,
    ) -> Result<String> {
        unsupported!("virConnectGetDomainCapabilities")
    }
    /// virConnectGetSysinfo.
    fn sysinfo(&self, flags: u32) -> Result<String> {
        unsupported!("virConnectGetSysinfo")
    }
    /// virConnectGetMaxVcpus.
    fn max_vcpus(&self, virt_type: Option<&str>) -> Result<i32> {
        unsupported!("virConnectGetMaxVcpus")
    }
    /// virNodeGetInfo.
    fn node_info(&self) -> Result<NodeInfo> {
        unsupported!("virNodeGetInfo")
    }
    /// virNodeGetCPUMap: (number of host cpus, map of the online ones,
    /// how many are online).
    fn node_cpu_map(&self, flags: u32) -> Result<(i32, Vec<u8>, u32)> {
        unsupported!("virNodeGetCPUMap")
    }
    /// virNodeGetFreeMemory: bytes.
    fn node_free_memory(&self) -> Result<u64> {
        unsupported!("virNodeGetFreeMemory")
    }
    /// virNodeGetCellsFreeMemory: bytes per NUMA cell.
    fn node_cells_free_memory(&self, start: i32, max: i32) -> Result<Vec<u64>> {
        unsupported!("virNodeGetCellsFreeMemory")
    }
    /// virNodeGetCPUStats: (field, value) pairs of one CPU (`cpu_num`) or
    /// of all (-1); at most `nparams` of them, all of them when 0.
    fn node_get_cpu_stats(
        &self,
        cpu_num: i32,
        nparams: i32,
        flags: u32,
    ) -> Result<Vec<(String, u64)>> {
        unsupported!("virNodeGetCPUStats")
    }
    /// virNodeGetFreePages: the counts filled in, cell by cell, each cell
    /// one count per page size of `pages`.
    fn node_get_free_pages(
        &self,
        pages: &[u32],
        start_cell: i32,
        cell_count: u32,
        flags: u32,
    ) -> Result<Vec<u64>> {
        unsupported!("virNodeGetFreePages")
    }
    /// virNodeGetSecurityModel.
    fn node_security_model(&self) -> Result<SecurityModel> {
        Ok(SecurityModel::default())
    }
    /// virConnectIsSecure (for local drivers: always).
    fn is_secure(&self) -> bool {
        true
    }
    /// virDomainXMLFromNative.
    fn domain_xml_from_native(&self, format: &str, config: &str, flags: u32) -> Result<String> {
        unsupported!("virConnectDomainXMLFromNative")
    }
    /// virDomainXMLToNative.
    fn domain_xml_to_native(&self, format: &str, xml: &str, flags: u32) -> Result<String> {
        unsupported!("virConnectDomainXMLToNative")
    }
    /// Subscribe to this connection's driver events; returns a token.
    fn subscribe(&self, sink: EventSink) -> Option<u64> {
        None
    }
    fn unsubscribe(&self, token: u64) {}

    // ---- domains: listing and lookup ----

    /// virConnectListAllDomains.
    fn list_all_domains(&self, flags: u32) -> Result<Vec<DomainRef>> {
        unsupported!("virConnectListAllDomains")
    }
    /// virConnectListDomains: ids of active domains.
    fn list_domain_ids(&self, max: usize) -> Result<Vec<i32>> {
        let mut v: Vec<i32> = self
            .list_all_domains(crate::consts::list::ACTIVE)?
            .iter()
            .map(|d| d.id)
            .collect();
        v.sort_unstable();
        v.truncate(max);
        Ok(v)
    }
    /// virConnectNumOfDomains.
    fn num_of_domains(&self) -> Result<usize> {
        Ok(self.list_all_domains(crate::consts::list::ACTIVE)?.len())
    }
    /// virConnectListDefinedDomains.
    fn list_defined_domains(&self, max: usize) -> Result<Vec<String>> {
        let mut v: Vec<String> = self
            .list_all_domains(crate::consts::list::INACTIVE)?
            .into_iter()
            .map(|d| d.name)
            .collect();
        v.sort();
        v.truncate(max);
        Ok(v)
    }
    /// virConnectNumOfDefinedDomains.
    fn num_of_defined_domains(&self) -> Result<usize> {
        Ok(self.list_all_domains(crate::consts::list::INACTIVE)?.len())
    }
    /// virDomainLookupByID.
    fn domain_lookup_by_id(&self, id: i32) -> Result<DomainRef> {
        unsupported!("virDomainLookupByID")
    }
    /// virDomainLookupByName.
    fn domain_lookup_by_name(&self, name: &str) -> Result<DomainRef> {
        unsupported!("virDomainLookupByName")
    }
    /// virDomainLookupByUUID.
    fn domain_lookup_by_uuid(&self, uuid: &[u8; 16]) -> Result<DomainRef> {
        unsupported!("virDomainLookupByUUID")
    }

    // ---- domains: lifecycle ----

    /// virDomainDefineXMLFlags.
    fn domain_define_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        unsupported!("virDomainDefineXMLFlags")
    }
    /// virDomainUndefineFlags.
    fn domain_undefine(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        unsupported!("virDomainUndefineFlags")
    }
    /// virDomainCreateWithFlags. Returns the domain with its new id.
    /// A driver that accepts VIR_DOMAIN_START_AUTODESTROY ties the guest to
    /// this connection object through [`crate::CloseCallbacks`] and
    /// destroys it when the object is dropped.
    fn domain_create(&self, dom: &DomainRef, flags: u32) -> Result<DomainRef> {
        unsupported!("virDomainCreateWithFlags")
    }
    /// virDomainCreateXML: a transient domain (VIR_DOMAIN_START_AUTODESTROY
    /// as for `domain_create`).
    fn domain_create_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        unsupported!("virDomainCreateXML")
    }
    /// virDomainDestroyFlags.
    fn domain_destroy(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        unsupported!("virDomainDestroyFlags")
    }
    /// virDomainShutdownFlags.
    fn domain_shutdown(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        unsupported!("virDomainShutdownFlags")
    }
    /// virDomainReboot.
    fn domain_reboot(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        unsupported!("virDomainReboot")
    }
    /// virDomainReset.
    fn domain_reset(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        unsupported!("virDomainReset")
    }
    /// virDomainSuspend.
    fn domain_suspend(&self, dom: &DomainRef) -> Result<()> {
        unsupported!("virDomainSuspend")
    }
    /// virDomainResume.
    fn domain_resume(&self, dom: &DomainRef) -> Result<()> {
        unsupported!("virDomainResume")
    }
    /// virDomainSave.
    fn domain_save(&self, dom: &DomainRef, to: &str, dxml: Option<&str>, flags: u32) -> Result<()> {
        unsupported!("virDomainSaveFlags")
    }
    /// virDomainRestore.
    fn domain_restore(&self, from: &str, dxml: Option<&str>, flags: u32) -> Result<()> {
        unsupported!("virDomainRestoreFlags")
    }
    /// virDomainManagedSave.
    fn domain_managed_save(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        unsupported!("virDomainManagedSave")
    }
    /// virDomainHasManagedSaveImage.
    fn domain_has_managed_save(&self, dom: &DomainRef, flags: u32) -> Result<bool> {
        unsupported!("virDomainHasManagedSaveImage")
    }
    /// virDomainManagedSaveRemove.
    fn domain_managed_save_remove(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        unsupported!("virDomainManagedSaveRemove")
    }
    /// virDomainGetJobStats: the type of the domain's current job
    /// (VIR_DOMAIN_JOB_NONE when there is none) and its statistics; with
    /// VIR_DOMAIN_JOB_STATS_COMPLETED those of the last completed job
    /// (forgotten once read unless KEEP_COMPLETED). Never waits for the
    /// job itself. Errors: VIR_ERR_OPERATION_INVALID for a current job of
    /// an inactive domain. virDomainGetJobInfo is derived from it.
    fn domain_get_job_stats(&self, dom: &DomainRef, flags: u32) -> Result<(i32, TypedParams)> {
        unsupported!("virDomainGetJobStats")
    }
    /// virDomainAbortJobFlags: cancels the running save, dump or outgoing
    /// migration. Errors: VIR_ERR_OPERATION_INVALID when there is none.
    fn domain_abort_job(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        unsupported!("virDomainAbortJob")
    }
    /// virDomainRename.
    fn domain_rename(&self, dom: &DomainRef, new_name: &str, flags: u32) -> Result<()> {
        unsupported!("virDomainRename")
    }

    // ---- domains: state and configuration ----

    /// virDomainGetInfo.
    fn domain_get_info(&self, dom: &DomainRef) -> Result<DomainInfo> {
        unsupported!("virDomainGetInfo")
    }
    /// virDomainGetState: (state, reason).
    fn domain_get_state(&self, dom: &DomainRef, flags: u32) -> Result<(i32, i32)> {
        unsupported!("virDomainGetState")
    }
    /// virDomainGetXMLDesc.
    fn domain_get_xml_desc(&self, dom: &DomainRef, flags: u32) -> Result<String> {
        unsupported!("virDomainGetXMLDesc")
    }
    /// virDomainGetOSType.
    fn domain_get_os_type(&self, dom: &DomainRef) -> Result<String> {
        unsupported!("virDomainGetOSType")
    }
    /// virDomainGetMaxMemory: KiB.
    fn domain_get_max_memory(&self, dom: &DomainRef) -> Result<u64> {
        unsupported!("virDomainGetMaxMemory")
    }
    /// virDomainSetMaxMemory.
    fn domain_set_max_memory(&self, dom: &DomainRef, kib: u64) -> Result<()> {
        unsupported!("virDomainSetMaxMemory")
    }
    /// virDomainSetMemoryFlags.
    fn domain_set_memory(&self, dom: &DomainRef, kib: u64, flags: u32) -> Result<()> {
        unsupported!("virDomainSetMemoryFlags")
    }
    /// virDomainGetMemoryParameters.
    fn domain_get_memory_parameters(&self, dom: &DomainRef, flags: u32) -> Result<TypedParams> {
        unsupported!("virDomainGetMemoryParameters")
    }
    /// virDomainSetVcpusFlags.
    fn domain_set_vcpus(&self, dom: &DomainRef, n: u32, flags: u32) -> Result<()> {
        unsupported!("virDomainSetVcpusFlags")
    }
    /// virDomainGetVcpusFlags.
    fn domain_get_vcpus_flags(&self, dom: &DomainRef, flags: u32) -> Result<i32> {
        unsupported!("virDomainGetVcpusFlags")
    }
    /// virDomainGetVcpus: per-vcpu info and cpumaps (`maplen` bytes each).
    fn domain_get_vcpus(
        &self,
        dom: &DomainRef,
        maxinfo: usize,
        maplen: usize,
    ) -> Result<(Vec<VcpuInfo>, Vec<u8>)> {
        unsupported!("virDomainGetVcpus")
    }
    /// virDomainGetMaxVcpus.
    fn domain_get_max_vcpus(&self, dom: &DomainRef) -> Result<i32> {
        self.domain_get_vcpus_flags(
            dom,
            crate::consts::affect::LIVE | crate::consts::affect::MAXIMUM,
        )
    }
    /// virDomainPinVcpuFlags: pins `vcpu` to the cpus set in `cpumap`.
    fn domain_pin_vcpu(&self, dom: &DomainRef, vcpu: u32, cpumap: &[u8], flags: u32) -> Result<()> {
        unsupported!("virDomainPinVcpuFlags")
    }
    /// virDomainGetVcpuPinInfo: how many vcpus were described, and
    /// `ncpumaps` cpumaps of `maplen` bytes each (LIVE or CONFIG).
    fn domain_get_vcpu_pin_info(
        &self,
        dom: &DomainRef,
        ncpumaps: usize,
        maplen: usize,
        flags: u32,
    ) -> Result<(i32, Vec<u8>)> {
        unsupported!("virDomainGetVcpuPinInfo")
    }
    /// virDomainPinEmulator.
    fn domain_pin_emulator(&self, dom: &DomainRef, cpumap: &[u8], flags: u32) -> Result<()> {
        unsupported!("virDomainPinEmulator")
    }
    /// virDomainGetEmulatorPinInfo: the return value (1 when pinned
    /// somewhere) and a cpumap of `maplen` bytes.
    fn domain_get_emulator_pin_info(
        &self,
        dom: &DomainRef,
        maplen: usize,
        flags: u32,
    ) -> Result<(i32, Vec<u8>)> {
        unsupported!("virDomainGetEmulatorPinInfo")
    }
    /// virDomainGetIOThreadInfo: (IOThread id, cpumap) in definition order.
    fn domain_get_iothread_info(&self, dom: &DomainRef, flags: u32) -> Result<Vec<(u32, Vec<u8>)>> {
        unsupported!("virDomainGetIOThreadInfo")
    }
    /// virDomainPinIOThread.
    fn domain_pin_iothread(
        &self,
        dom: &DomainRef,
        iothread_id: u32,
        cpumap: &[u8],
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainPinIOThread")
    }
    /// virDomainAddIOThread.
    fn domain_add_iothread(&self, dom: &DomainRef, iothread_id: u32, flags: u32) -> Result<()> {
        unsupported!("virDomainAddIOThread")
    }
    /// virDomainDelIOThread.
    fn domain_del_iothread(&self, dom: &DomainRef, iothread_id: u32, flags: u32) -> Result<()> {
        unsupported!("virDomainDelIOThread")
    }
    /// virDomainSetIOThreadParams.
    fn domain_set_iothread_params(
        &self,
        dom: &DomainRef,
        iothread_id: u32,
        params: &TypedParams,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainSetIOThreadParams")
    }
    /// virDomainGetHostname (running guest).
    fn domain_get_hostname(&self, dom: &DomainRef, flags: u32) -> Result<String> {
        unsupported!("virDomainGetHostname")
    }
    /// virDomainQemuAgentCommand (running guest with a guest agent): the
    /// agent's reply to the JSON command `cmd`, waiting `timeout` seconds
    /// (-2 forever, -1 the default, 0 not at all: no reply).
    fn domain_qemu_agent_command(
        &self,
        dom: &DomainRef,
        cmd: &str,
        timeout: i32,
        flags: u32,
    ) -> Result<Option<String>> {
        unsupported!("virDomainQemuAgentCommand")
    }
    /// virDomainGetGuestInfo: the guest agent's facts of the kinds in
    /// `types` (VIR_DOMAIN_GUEST_INFO_*, all when 0) as typed parameters.
    fn domain_get_guest_info(
        &self,
        dom: &DomainRef,
        types: u32,
        flags: u32,
    ) -> Result<TypedParams> {
        unsupported!("virDomainGetGuestInfo")
    }
    /// virDomainSetUserPassword (through the guest agent).
    fn domain_set_user_password(
        &self,
        dom: &DomainRef,
        user: &str,
        password: &str,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainSetUserPassword")
    }
    /// virDomainGetGuestVcpus: `vcpus`, `online`, `offlinable` as the
    /// guest agent sees them.
    fn domain_get_guest_vcpus(&self, dom: &DomainRef, flags: u32) -> Result<TypedParams> {
        unsupported!("virDomainGetGuestVcpus")
    }
    /// virDomainSetGuestVcpus: the guest's CPUs in `cpumap` on (`state` 1)
    /// or off (0).
    fn domain_set_guest_vcpus(
        &self,
        dom: &DomainRef,
        cpumap: &str,
        state: i32,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainSetGuestVcpus")
    }
    /// virDomainGetTime: the guest's clock, (seconds, nanoseconds).
    fn domain_get_time(&self, dom: &DomainRef, flags: u32) -> Result<(i64, u32)> {
        unsupported!("virDomainGetTime")
    }
    /// virDomainSetTime (running guest).
    fn domain_set_time(
        &self,
        dom: &DomainRef,
        seconds: i64,
        nseconds: u32,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainSetTime")
    }
    /// virDomainGetBlockInfo: (capacity, allocation, physical) in bytes of
    /// the disk named by `path` (target or source).
    fn domain_get_block_info(
        &self,
        dom: &DomainRef,
        path: &str,
        flags: u32,
    ) -> Result<(u64, u64, u64)> {
        unsupported!("virDomainGetBlockInfo")
    }
    /// virDomainSetMemoryStatsPeriod: the balloon's statistics period in
    /// seconds (0: none).
    fn domain_set_memory_stats_period(
        &self,
        dom: &DomainRef,
        period: i32,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainSetMemoryStatsPeriod")
    }
    /// virDomainGetPerfEvents: every perf event and whether it is enabled.
    fn domain_get_perf_events(&self, dom: &DomainRef, flags: u32) -> Result<TypedParams> {
        unsupported!("virDomainGetPerfEvents")
    }
    /// virDomainSetPerfEvents.
    fn domain_set_perf_events(
        &self,
        dom: &DomainRef,
        params: &TypedParams,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainSetPerfEvents")
    }
    /// virDomainCoreDumpWithFormat (virDomainCoreDump: the raw format, 0).
    fn domain_core_dump(&self, dom: &DomainRef, to: &str, format: u32, flags: u32) -> Result<()> {
        unsupported!("virDomainCoreDump")
    }
    /// virDomainSaveImageGetXMLDesc: the definition kept in a save image.
    fn domain_save_image_get_xml_desc(&self, path: &str, flags: u32) -> Result<String> {
        unsupported!("virDomainSaveImageGetXMLDesc")
    }
    /// virDomainSaveImageDefineXML: replaces the definition in a save image.
    fn domain_save_image_define_xml(&self, path: &str, xml: &str, flags: u32) -> Result<()> {
        unsupported!("virDomainSaveImageDefineXML")
    }
    /// virDomainPMWakeup: wakes a guest suspended to RAM. Errors:
    /// VIR_ERR_OPERATION_INVALID when it is not running.
    fn domain_pm_wakeup(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        unsupported!("virDomainPMWakeup")
    }
    /// virDomainPMSuspendForDuration: suspends the guest to `target`
    /// (VIR_NODE_SUSPEND_TARGET_*) through its agent.
    fn domain_pm_suspend_for_duration(
        &self,
        dom: &DomainRef,
        target: u32,
        duration: u64,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainPMSuspendForDuration")
    }
    /// virDomainInjectNMI.
    fn domain_inject_nmi(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        unsupported!("virDomainInjectNMI")
    }
    /// virDomainSendKey: `keycodes` (1 to 16, checked by the caller, as is
    /// the codeset) of `codeset` pressed for `holdtime` ms on a running
    /// domain. Errors: VIR_ERR_OPERATION_INVALID when it is not running.
    fn domain_send_key(
        &self,
        dom: &DomainRef,
        codeset: u32,
        holdtime: u32,
        keycodes: &[u32],
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainSendKey")
    }
    /// virDomainSendProcessSignal.
    fn domain_send_process_signal(
        &self,
        dom: &DomainRef,
        pid: i64,
        signum: u32,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainSendProcessSignal")
    }
    /// virDomainSetLifecycleAction (VIR_DOMAIN_LIFECYCLE_* `kind`,
    /// VIR_DOMAIN_LIFECYCLE_ACTION_* `action`).
    fn domain_set_lifecycle_action(
        &self,
        dom: &DomainRef,
        kind: u32,
        action: u32,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainSetLifecycleAction")
    }
    // ---- devices ----

    /// virDomainAttachDeviceFlags (virDomainAttachDevice is AFFECT_LIVE):
    /// adds the device `xml` describes to the running guest (AFFECT_LIVE,
    /// needs an active domain) and/or its persistent definition
    /// (AFFECT_CONFIG, needs a persistent one); CURRENT picks by state.
    /// Takes the domain's job. Errors: VIR_ERR_OPERATION_INVALID (not
    /// running, transient, target already exists), the device parser's.
    fn domain_attach_device(&self, dom: &DomainRef, xml: &str, flags: u32) -> Result<()> {
        unsupported!("virDomainAttachDeviceFlags")
    }
    /// virDomainDetachDeviceFlags (virDomainDetachDevice is AFFECT_LIVE):
    /// removes the device matching `xml` (a disk by target, a NIC by MAC,
    /// ...). VIR_ERR_DEVICE_MISSING when nothing matches.
    fn domain_detach_device(&self, dom: &DomainRef, xml: &str, flags: u32) -> Result<()> {
        unsupported!("virDomainDetachDeviceFlags")
    }
    /// virDomainDetachDeviceAlias: removes the device whose alias is
    /// `alias`.
    fn domain_detach_device_alias(&self, dom: &DomainRef, alias: &str, flags: u32) -> Result<()> {
        unsupported!("virDomainDetachDeviceAlias")
    }
    /// virDomainUpdateDeviceFlags: changes a device in place (a CD-ROM's
    /// medium, a NIC's link state, ...).
    fn domain_update_device(&self, dom: &DomainRef, xml: &str, flags: u32) -> Result<()> {
        unsupported!("virDomainUpdateDeviceFlags")
    }
    /// virDomainBlockPull / virDomainBlockRebase (`base` None: pull the
    /// whole backing chain into the disk): starts a block job on the
    /// running guest's disk `disk` (target or source path), `bandwidth`
    /// in MiB/s (bytes/s with the BANDWIDTH_BYTES flag), 0 unlimited.
    fn domain_block_pull(
        &self,
        dom: &DomainRef,
        disk: &str,
        base: Option<&str>,
        bandwidth: u64,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainBlockPull")
    }
    /// virDomainBlockRebase with VIR_DOMAIN_BLOCK_REBASE_COPY: copies
    /// the running guest's disk `disk` into `dest` as a block job that
    /// mirrors it until pivoted to or finished.
    fn domain_block_rebase_copy(
        &self,
        dom: &DomainRef,
        disk: &str,
        dest: Option<&str>,
        bandwidth: u64,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainBlockRebase")
    }
    /// virDomainBlockCopy: the copy of `disk` into the `<disk>` document
    /// `destxml`, with typed parameters (bandwidth, granularity, buf-size).
    fn domain_block_copy(
        &self,
        dom: &DomainRef,
        disk: &str,
        destxml: &str,
        params: &TypedParams,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainBlockCopy")
    }
    /// virDomainBlockCommit: merges the images from `top` (None: the
    /// active one, with VIR_DOMAIN_BLOCK_COMMIT_ACTIVE) down into `base`
    /// (None: the bottom of the chain) as a block job.
    fn domain_block_commit(
        &self,
        dom: &DomainRef,
        disk: &str,
        base: Option<&str>,
        top: Option<&str>,
        bandwidth: u64,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainBlockCommit")
    }
    /// virDomainGetBlockJobInfo: the disk's job (type, bandwidth, cur,
    /// end), `None` when it has none.
    fn domain_get_block_job_info(
        &self,
        dom: &DomainRef,
        disk: &str,
        flags: u32,
    ) -> Result<Option<BlockJobInfo>> {
        unsupported!("virDomainGetBlockJobInfo")
    }
    /// virDomainBlockJobAbort: cancels the disk's job (waits for its end
    /// unless VIR_DOMAIN_BLOCK_JOB_ABORT_ASYNC).
    fn domain_block_job_abort(&self, dom: &DomainRef, disk: &str, flags: u32) -> Result<()> {
        unsupported!("virDomainBlockJobAbort")
    }
    /// virDomainBlockJobSetSpeed.
    fn domain_block_job_set_speed(
        &self,
        dom: &DomainRef,
        disk: &str,
        bandwidth: u64,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainBlockJobSetSpeed")
    }
    /// virDomainBlockResize: grows the running guest's disk `disk` (target
    /// or source path) to `size` (KiB, bytes with VIR_DOMAIN_BLOCK_RESIZE_BYTES).
    fn domain_block_resize(
        &self,
        dom: &DomainRef,
        disk: &str,
        size: u64,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainBlockResize")
    }
    /// virDomainFSFreeze: how many filesystems it froze (all when
    /// `mountpoints` is empty).
    fn domain_fs_freeze(&self, dom: &DomainRef, mountpoints: &[String], flags: u32) -> Result<i32> {
        unsupported!("virDomainFSFreeze")
    }
    /// virDomainFSThaw: how many filesystems it thawed.
    fn domain_fs_thaw(&self, dom: &DomainRef, mountpoints: &[String], flags: u32) -> Result<i32> {
        unsupported!("virDomainFSThaw")
    }
    /// virDomainFSTrim.
    fn domain_fs_trim(
        &self,
        dom: &DomainRef,
        mountpoint: Option<&str>,
        minimum: u64,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainFSTrim")
    }
    /// virDomainGetFSInfo.
    fn domain_get_fs_info(&self, dom: &DomainRef, flags: u32) -> Result<Vec<FsInfo>> {
        unsupported!("virDomainGetFSInfo")
    }
    /// virDomainMemoryPeek: `size` bytes from `offset`.
    fn domain_memory_peek(
        &self,
        dom: &DomainRef,
        offset: u64,
        size: u32,
        flags: u32,
    ) -> Result<Vec<u8>> {
        unsupported!("virDomainMemoryPeek")
    }
    /// virDomainGetAutostart.
    fn domain_get_autostart(&self, dom: &DomainRef) -> Result<bool> {
        unsupported!("virDomainGetAutostart")
    }
    /// virDomainSetAutostart.
    fn domain_set_autostart(&self, dom: &DomainRef, on: bool) -> Result<()> {
        unsupported!("virDomainSetAutostart")
    }
    /// virDomainIsActive.
    fn domain_is_active(&self, dom: &DomainRef) -> Result<bool> {
        Ok(self.domain_get_state(dom, 0)?.0 != crate::consts::state::SHUTOFF)
    }
    /// virDomainIsPersistent.
    fn domain_is_persistent(&self, dom: &DomainRef) -> Result<bool> {
        unsupported!("virDomainIsPersistent")
    }
    /// virDomainIsUpdated.
    fn domain_is_updated(&self, dom: &DomainRef) -> Result<bool> {
        Ok(false)
    }
    /// virDomainGetSecurityLabel.
    fn domain_security_label(&self, dom: &DomainRef) -> Result<SecurityLabel> {
        Ok(SecurityLabel::default())
    }
    /// virDomainGetMessages.
    fn domain_get_messages(&self, dom: &DomainRef, flags: u32) -> Result<Vec<String>> {
        unsupported!("virDomainGetMessages")
    }
    /// virDomainSetMetadata.
    fn domain_set_metadata(
        &self,
        dom: &DomainRef,
        kind: i32,
        metadata: Option<&str>,
        key: Option<&str>,
        uri: Option<&str>,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainSetMetadata")
    }
    /// virDomainGetMetadata.
    fn domain_get_metadata(
        &self,
        dom: &DomainRef,
        kind: i32,
        uri: Option<&str>,
        flags: u32,
    ) -> Result<String> {
        unsupported!("virDomainGetMetadata")
    }
    /// virDomainGetSchedulerType: (type, nparams).
    fn domain_get_scheduler_type(&self, dom: &DomainRef) -> Result<(String, i32)> {
        unsupported!("virDomainGetSchedulerType")
    }
    /// virDomainGetSchedulerParametersFlags.
    fn domain_get_scheduler_parameters(&self, dom: &DomainRef, flags: u32) -> Result<TypedParams> {
        unsupported!("virDomainGetSchedulerParameters")
    }
    /// virDomainSetSchedulerParametersFlags.
    fn domain_set_scheduler_parameters(
        &self,
        dom: &DomainRef,
        params: &TypedParams,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainSetSchedulerParametersFlags")
    }
    /// virDomainMemoryStats: (tag, value) pairs, at most `nr`.
    fn domain_memory_stats(&self, dom: &DomainRef, nr: u32, flags: u32) -> Result<Vec<(i32, u64)>> {
        unsupported!("virDomainMemoryStats")
    }
    /// virDomainBlockStats: rd_req, rd_bytes, wr_req, wr_bytes, errs.
    fn domain_block_stats(&self, dom: &DomainRef, path: &str) -> Result<[i64; 5]> {
        unsupported!("virDomainBlockStats")
    }
    /// virDomainInterfaceStats: rx bytes, packets, errs, drop, then tx.
    fn domain_interface_stats(&self, dom: &DomainRef, device: &str) -> Result<[i64; 8]> {
        unsupported!("virDomainInterfaceStats")
    }
    /// virDomainGetNumaParameters. Asked for no parameters (`nparams` 0),
    /// only the length of the answer counts.
    fn domain_get_numa_parameters(
        &self,
        dom: &DomainRef,
        nparams: i32,
        flags: u32,
    ) -> Result<TypedParams> {
        unsupported!("virDomainGetNumaParameters")
    }
    /// virDomainSetNumaParameters.
    fn domain_set_numa_parameters(
        &self,
        dom: &DomainRef,
        params: &TypedParams,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainSetNumaParameters")
    }
    /// virDomainGetBlkioParameters (`nparams` as for NUMA).
    fn domain_get_blkio_parameters(
        &self,
        dom: &DomainRef,
        nparams: i32,
        flags: u32,
    ) -> Result<TypedParams> {
        unsupported!("virDomainGetBlkioParameters")
    }
    /// virDomainSetBlkioParameters.
    fn domain_set_blkio_parameters(
        &self,
        dom: &DomainRef,
        params: &TypedParams,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainSetBlkioParameters")
    }
    /// virDomainGetInterfaceParameters of the interface named by MAC or
    /// host-side name (`nparams` as for NUMA).
    fn domain_get_interface_parameters(
        &self,
        dom: &DomainRef,
        device: &str,
        nparams: i32,
        flags: u32,
    ) -> Result<TypedParams> {
        unsupported!("virDomainGetInterfaceParameters")
    }
    /// virDomainSetInterfaceParameters.
    fn domain_set_interface_parameters(
        &self,
        dom: &DomainRef,
        device: &str,
        params: &TypedParams,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainSetInterfaceParameters")
    }
    /// virDomainGetBlockIoTune of the disk named by target or source
    /// (`nparams` as for NUMA).
    fn domain_get_block_io_tune(
        &self,
        dom: &DomainRef,
        disk: Option<&str>,
        nparams: i32,
        flags: u32,
    ) -> Result<TypedParams> {
        unsupported!("virDomainGetBlockIoTune")
    }
    /// virDomainSetBlockIoTune.
    fn domain_set_block_io_tune(
        &self,
        dom: &DomainRef,
        disk: &str,
        params: &TypedParams,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virDomainSetBlockIoTune")
    }
    /// virDomainInterfaceAddresses from `source` (VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_*).
    fn domain_interface_addresses(
        &self,
        dom: &DomainRef,
        source: u32,
        flags: u32,
    ) -> Result<Vec<DomainInterface>> {
        unsupported!("virDomainInterfaceAddresses")
    }
    /// virDomainGetCPUStats: the parameters filled in (CPU after CPU, unset
    /// slots left out) and the API's return value (parameters per CPU, or
    /// the count asked for when `nparams` or `ncpus` is 0).
    fn domain_get_cpu_stats(
        &self,
        dom: &DomainRef,
        nparams: u32,
        start_cpu: i32,
        ncpus: u32,
        flags: u32,
    ) -> Result<(TypedParams, i32)> {
        unsupported!("virDomainGetCPUStats")
    }
    /// virDomainScreenshot: the image's MIME type and a descriptor to read
    /// it from.
    fn domain_screenshot(
        &self,
        dom: &DomainRef,
        screen: u32,
        flags: u32,
    ) -> Result<(String, std::os::fd::OwnedFd)> {
        unsupported!("virDomainScreenshot")
    }
    /// virConnectGetCPUModelNames.
    fn cpu_model_names(&self, arch: &str, flags: u32) -> Result<Vec<String>> {
        unsupported!("virConnectGetCPUModelNames")
    }
    /// virConnectBaselineCPU: the CPU definition every given host CPU
    /// (XML) can run. Errors: VIR_ERR_XML_ERROR, VIR_ERR_OPERATION_FAILED
    /// (incompatible CPUs) from the CPU error domain.
    fn baseline_cpu(&self, xml_cpus: &[String], flags: u32) -> Result<String> {
        unsupported!("virConnectBaselineCPU")
    }
    /// virConnectFindStoragePoolSources.
    fn find_storage_pool_sources(
        &self,
        pool_type: &str,
        spec: Option<&str>,
        flags: u32,
    ) -> Result<String> {
        unsupported!("virConnectFindStoragePoolSources")
    }
    /// virDomainInterfaceStats etc. are not modelled; virConnectGetAllDomainStats:
    fn domain_stats(
        &self,
        doms: &[DomainRef],
        stats: u32,
        flags: u32,
    ) -> Result<Vec<(DomainRef, TypedParams)>> {
        unsupported!("virConnectGetAllDomainStats")
    }
    /// virDomainSnapshotNum: drivers without snapshots report 0.
    fn domain_snapshot_num(&self, dom: &DomainRef, flags: u32) -> Result<i32> {
        unsupported!("virDomainSnapshotNum")
    }
    /// virDomainListAllSnapshots names.
    fn domain_list_snapshots(&self, dom: &DomainRef, flags: u32) -> Result<Vec<String>> {
        unsupported!("virDomainListAllSnapshots")
    }

    // ---- snapshots and checkpoints: handles are (domain, name) ----

    /// virDomainSnapshotCreateXML: the new snapshot's name.
    fn domain_snapshot_create_xml(&self, dom: &DomainRef, xml: &str, flags: u32) -> Result<String> {
        unsupported!("virDomainSnapshotCreateXML")
    }
    /// virDomainSnapshotListAllChildren names (virDomainSnapshotNumChildren
    /// counts them).
    fn domain_snapshot_list_children(
        &self,
        dom: &DomainRef,
        snap: &str,
        flags: u32,
    ) -> Result<Vec<String>> {
        unsupported!("virDomainSnapshotListAllChildren")
    }
    /// virDomainSnapshotLookupByName.
    fn domain_snapshot_lookup_by_name(
        &self,
        dom: &DomainRef,
        name: &str,
        flags: u32,
    ) -> Result<String> {
        unsupported!("virDomainSnapshotLookupByName")
    }
    /// virDomainHasCurrentSnapshot.
    fn domain_has_current_snapshot(&self, dom: &DomainRef, flags: u32) -> Result<bool> {
        unsupported!("virDomainHasCurrentSnapshot")
    }
    /// virDomainSnapshotCurrent.
    fn domain_snapshot_current(&self, dom: &DomainRef, flags: u32) -> Result<String> {
        unsupported!("virDomainSnapshotCurrent")
    }
    /// virDomainSnapshotGetParent.
    fn domain_snapshot_get_parent(
        &self,
        dom: &DomainRef,
        snap: &str,
        flags: u32,
    ) -> Result<String> {
        unsupported!("virDomainSnapshotGetParent")
    }
    /// virDomainSnapshotGetXMLDesc.
    fn domain_snapshot_get_xml_desc(
        &self,
        dom: &DomainRef,
        snap: &str,
        flags: u32,
    ) -> Result<String> {
        unsupported!("virDomainSnapshotGetXMLDesc")
    }
    /// virDomainSnapshotIsCurrent.
    fn domain_snapshot_is_current(&self, dom: &DomainRef, snap: &str, flags: u32) -> Result<bool> {
        unsupported!("virDomainSnapshotIsCurrent")
    }
    /// virDomainSnapshotHasMetadata.
    fn domain_snapshot_has_metadata(
        &self,
        dom: &DomainRef,
        snap: &str,
        flags: u32,
    ) -> Result<bool> {
        unsupported!("virDomainSnapshotHasMetadata")
    }
    /// virDomainRevertToSnapshot.
    fn domain_revert_to_snapshot(&self, dom: &DomainRef, snap: &str, flags: u32) -> Result<()> {
        unsupported!("virDomainRevertToSnapshot")
    }
    /// virDomainSnapshotDelete.
    fn domain_snapshot_delete(&self, dom: &DomainRef, snap: &str, flags: u32) -> Result<()> {
        unsupported!("virDomainSnapshotDelete")
    }
    /// virDomainCheckpointCreateXML: the new checkpoint's name.
    fn domain_checkpoint_create_xml(
        &self,
        dom: &DomainRef,
        xml: &str,
        flags: u32,
    ) -> Result<String> {
        unsupported!("virDomainCheckpointCreateXML")
    }
    /// virDomainListAllCheckpoints names.
    fn domain_list_checkpoints(&self, dom: &DomainRef, flags: u32) -> Result<Vec<String>> {
        unsupported!("virDomainListAllCheckpoints")
    }
    /// virDomainCheckpointListAllChildren names.
    fn domain_checkpoint_list_children(
        &self,
        dom: &DomainRef,
        chk: &str,
        flags: u32,
    ) -> Result<Vec<String>> {
        unsupported!("virDomainCheckpointListAllChildren")
    }
    /// virDomainCheckpointLookupByName.
    fn domain_checkpoint_lookup_by_name(
        &self,
        dom: &DomainRef,
        name: &str,
        flags: u32,
    ) -> Result<String> {
        unsupported!("virDomainCheckpointLookupByName")
    }
    /// virDomainCheckpointGetParent.
    fn domain_checkpoint_get_parent(
        &self,
        dom: &DomainRef,
        chk: &str,
        flags: u32,
    ) -> Result<String> {
        unsupported!("virDomainCheckpointGetParent")
    }
    /// virDomainCheckpointGetXMLDesc.
    fn domain_checkpoint_get_xml_desc(
        &self,
        dom: &DomainRef,
        chk: &str,
        flags: u32,
    ) -> Result<String> {
        unsupported!("virDomainCheckpointGetXMLDesc")
    }
    /// virDomainCheckpointDelete.
    fn domain_checkpoint_delete(&self, dom: &DomainRef, chk: &str, flags: u32) -> Result<()> {
        unsupported!("virDomainCheckpointDelete")
    }
    /// virDomainOpenConsole: the driver returns a console endpoint.
    fn domain_open_console(
        &self,
        dom: &DomainRef,
        dev: Option<&str>,
        flags: u32,
    ) -> Result<std::os::fd::OwnedFd> {
        unsupported!("virDomainOpenConsole")
    }
    /// virDomainLxcOpenNamespace: namespace fds of the container's init.
    fn domain_open_namespace(
        &self,
        dom: &DomainRef,
        flags: u32,
    ) -> Result<Vec<std::os::fd::OwnedFd>> {
        unsupported!("virDomainLxcOpenNamespace")
    }

    // ---- networks ----

    /// virConnectListAllNetworks.
    fn list_all_networks(&self, flags: u32) -> Result<Vec<NetworkRef>> {
        unsupported!("virConnectListAllNetworks")
    }
    fn network_lookup_by_name(&self, name: &str) -> Result<NetworkRef> {
        unsupported!("virNetworkLookupByName")
    }
    fn network_lookup_by_uuid(&self, uuid: &[u8; 16]) -> Result<NetworkRef> {
        unsupported!("virNetworkLookupByUUID")
    }
    /// virNetworkDefineXMLFlags.
    fn network_define_xml(&self, xml: &str, flags: u32) -> Result<NetworkRef> {
        unsupported!("virNetworkDefineXML")
    }
    /// virNetworkCreateXMLFlags: transient and started.
    fn network_create_xml(&self, xml: &str, flags: u32) -> Result<NetworkRef> {
        unsupported!("virNetworkCreateXML")
    }
    fn network_undefine(&self, net: &NetworkRef) -> Result<()> {
        unsupported!("virNetworkUndefine")
    }
    /// virNetworkCreate: start.
    fn network_create(&self, net: &NetworkRef) -> Result<()> {
        unsupported!("virNetworkCreate")
    }
    fn network_destroy(&self, net: &NetworkRef) -> Result<()> {
        unsupported!("virNetworkDestroy")
    }
    fn network_get_xml_desc(&self, net: &NetworkRef, flags: u32) -> Result<String> {
        unsupported!("virNetworkGetXMLDesc")
    }
    fn network_get_bridge_name(&self, net: &NetworkRef) -> Result<String> {
        unsupported!("virNetworkGetBridgeName")
    }
    fn network_get_autostart(&self, net: &NetworkRef) -> Result<bool> {
        unsupported!("virNetworkGetAutostart")
    }
    fn network_set_autostart(&self, net: &NetworkRef, on: bool) -> Result<()> {
        unsupported!("virNetworkSetAutostart")
    }
    fn network_is_active(&self, net: &NetworkRef) -> Result<bool> {
        unsupported!("virNetworkIsActive")
    }
    fn network_is_persistent(&self, net: &NetworkRef) -> Result<bool> {
        unsupported!("virNetworkIsPersistent")
    }
    /// virNetworkUpdate.
    fn network_update(
        &self,
        net: &NetworkRef,
        command: u32,
        section: u32,
        index: i32,
        xml: &str,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virNetworkUpdate")
    }
    /// virNetworkGetDHCPLeases: the network's current leases, only those
    /// of `mac` when given.
    fn network_get_dhcp_leases(
        &self,
        net: &NetworkRef,
        mac: Option<&str>,
        flags: u32,
    ) -> Result<Vec<NetworkDhcpLease>> {
        unsupported!("virNetworkGetDHCPLeases")
    }

    // ---- network ports ----

    /// virNetworkListAllPorts: the ports of an active network.
    fn network_list_all_ports(&self, net: &NetworkRef, flags: u32) -> Result<Vec<NetworkPortRef>> {
        unsupported!("virNetworkListAllPorts")
    }
    /// virNetworkPortLookupByUUID.
    fn network_port_lookup_by_uuid(
        &self,
        net: &NetworkRef,
        uuid: &[u8; 16],
    ) -> Result<NetworkPortRef> {
        unsupported!("virNetworkPortLookupByUUID")
    }
    /// virNetworkPortCreateXML: plugs a port (a guest NIC) into an active
    /// network; VIR_NETWORK_PORT_CREATE_RECLAIM takes back one already
    /// plugged (a daemon found a running guest again).
    fn network_port_create_xml(
        &self,
        net: &NetworkRef,
        xml: &str,
        flags: u32,
    ) -> Result<NetworkPortRef> {
        unsupported!("virNetworkPortCreateXML")
    }
    /// virNetworkPortGetXMLDesc.
    fn network_port_get_xml_desc(&self, port: &NetworkPortRef, flags: u32) -> Result<String> {
        unsupported!("virNetworkPortGetXMLDesc")
    }
    /// virNetworkPortDelete: unplugs the port.
    fn network_port_delete(&self, port: &NetworkPortRef, flags: u32) -> Result<()> {
        unsupported!("virNetworkPortDelete")
    }
    /// virNetworkPortGetParameters: the port's bandwidth.
    fn network_port_get_parameters(
        &self,
        port: &NetworkPortRef,
        flags: u32,
    ) -> Result<TypedParams> {
        unsupported!("virNetworkPortGetParameters")
    }
    /// virNetworkPortSetParameters: the port's bandwidth.
    fn network_port_set_parameters(
        &self,
        port: &NetworkPortRef,
        params: &TypedParams,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virNetworkPortSetParameters")
    }

    // ---- storage ----

    fn list_all_storage_pools(&self, flags: u32) -> Result<Vec<PoolRef>> {
        unsupported!("virConnectListAllStoragePools")
    }
    fn storage_pool_lookup_by_name(&self, name: &str) -> Result<PoolRef> {
        unsupported!("virStoragePoolLookupByName")
    }
    fn storage_pool_lookup_by_uuid(&self, uuid: &[u8; 16]) -> Result<PoolRef> {
        unsupported!("virStoragePoolLookupByUUID")
    }
    fn storage_pool_lookup_by_volume(&self, vol: &VolRef) -> Result<PoolRef> {
        self.storage_pool_lookup_by_name(&vol.pool)
    }
    fn storage_pool_define_xml(&self, xml: &str, flags: u32) -> Result<PoolRef> {
        unsupported!("virStoragePoolDefineXML")
    }
    fn storage_pool_create_xml(&self, xml: &str, flags: u32) -> Result<PoolRef> {
        unsupported!("virStoragePoolCreateXML")
    }
    fn storage_pool_build(&self, pool: &PoolRef, flags: u32) -> Result<()> {
        unsupported!("virStoragePoolBuild")
    }
    fn storage_pool_undefine(&self, pool: &PoolRef) -> Result<()> {
        unsupported!("virStoragePoolUndefine")
    }
    fn storage_pool_create(&self, pool: &PoolRef, flags: u32) -> Result<()> {
        unsupported!("virStoragePoolCreate")
    }
    fn storage_pool_destroy(&self, pool: &PoolRef) -> Result<()> {
        unsupported!("virStoragePoolDestroy")
    }
    fn storage_pool_delete(&self, pool: &PoolRef, flags: u32) -> Result<()> {
        unsupported!("virStoragePoolDelete")
    }
    fn storage_pool_refresh(&self, pool: &PoolRef, flags: u32) -> Result<()> {
        unsupported!("virStoragePoolRefresh")
    }
    fn storage_pool_get_info(&self, pool: &PoolRef) -> Result<PoolInfo> {
        unsupported!("virStoragePoolGetInfo")
    }
    fn storage_pool_get_xml_desc(&self, pool: &PoolRef, flags: u32) -> Result<String> {
        unsupported!("virStoragePoolGetXMLDesc")
    }
    fn storage_pool_get_autostart(&self, pool: &PoolRef) -> Result<bool> {
        unsupported!("virStoragePoolGetAutostart")
    }
    fn storage_pool_set_autostart(&self, pool: &PoolRef, on: bool) -> Result<()> {
        unsupported!("virStoragePoolSetAutostart")
    }
    fn storage_pool_is_active(&self, pool: &PoolRef) -> Result<bool> {
        unsupported!("virStoragePoolIsActive")
    }
    fn storage_pool_is_persistent(&self, pool: &PoolRef) -> Result<bool> {
        unsupported!("virStoragePoolIsPersistent")
    }
    fn storage_pool_list_volumes(&self, pool: &PoolRef) -> Result<Vec<VolRef>> {
        unsupported!("virStoragePoolListAllVolumes")
    }
    /// virStoragePoolNumOfVolumes and virStoragePoolListVolumes, the older
    /// calls, which some drivers check differently (libvirt's test driver
    /// finds the pool by name and names it when inactive); by default the
    /// same as [`Self::storage_pool_list_volumes`].
    fn storage_pool_volume_names(&self, pool: &PoolRef) -> Result<Vec<VolRef>> {
        self.storage_pool_list_volumes(pool)
    }
    fn storage_vol_lookup_by_name(&self, pool: &PoolRef, name: &str) -> Result<VolRef> {
        unsupported!("virStorageVolLookupByName")
    }
    fn storage_vol_lookup_by_key(&self, key: &str) -> Result<VolRef> {
        unsupported!("virStorageVolLookupByKey")
    }
    fn storage_vol_lookup_by_path(&self, path: &str) -> Result<VolRef> {
        unsupported!("virStorageVolLookupByPath")
    }
    fn storage_vol_create_xml(&self, pool: &PoolRef, xml: &str, flags: u32) -> Result<VolRef> {
        unsupported!("virStorageVolCreateXML")
    }
    fn storage_vol_create_xml_from(
        &self,
        pool: &PoolRef,
        xml: &str,
        clone: &VolRef,
        flags: u32,
    ) -> Result<VolRef> {
        unsupported!("virStorageVolCreateXMLFrom")
    }
    fn storage_vol_delete(&self, vol: &VolRef, flags: u32) -> Result<()> {
        unsupported!("virStorageVolDelete")
    }
    fn storage_vol_get_info(&self, vol: &VolRef) -> Result<VolInfo> {
        unsupported!("virStorageVolGetInfo")
    }
    fn storage_vol_get_xml_desc(&self, vol: &VolRef, flags: u32) -> Result<String> {
        unsupported!("virStorageVolGetXMLDesc")
    }
    fn storage_vol_get_path(&self, vol: &VolRef) -> Result<String> {
        unsupported!("virStorageVolGetPath")
    }
    /// virStorageVolResize (VIR_STORAGE_VOL_RESIZE_*): the volume free
    /// (not being built or streamed); VIR_ERR_INVALID_ARG for a shrink
    /// not asked for or below the allocation.
    fn storage_vol_resize(&self, vol: &VolRef, capacity: u64, flags: u32) -> Result<()> {
        unsupported!("virStorageVolResize")
    }
    /// virStorageVolWipePattern (virStorageVolWipe: algorithm 0).
    fn storage_vol_wipe_pattern(&self, vol: &VolRef, algorithm: u32, flags: u32) -> Result<()> {
        unsupported!("virStorageVolWipePattern")
    }
    /// virStorageVolUpload: the stream the client's data goes into.
    fn storage_vol_upload(
        &self,
        vol: &VolRef,
        offset: u64,
        length: u64,
        flags: u32,
    ) -> Result<crate::types::DataStream> {
        unsupported!("virStorageVolUpload")
    }
    /// virStorageVolDownload: the stream the volume's data comes from.
    fn storage_vol_download(
        &self,
        vol: &VolRef,
        offset: u64,
        length: u64,
        flags: u32,
    ) -> Result<crate::types::DataStream> {
        unsupported!("virStorageVolDownload")
    }
    /// virStoragePoolLookupByTargetPath.
    fn storage_pool_lookup_by_target_path(&self, path: &str) -> Result<PoolRef> {
        unsupported!("virStoragePoolLookupByTargetPath")
    }
    /// virConnectGetStoragePoolCapabilities.
    fn storage_pool_capabilities(&self, flags: u32) -> Result<String> {
        unsupported!("virConnectGetStoragePoolCapabilities")
    }

    // ---- host interfaces ----

    fn list_all_interfaces(&self, flags: u32) -> Result<Vec<InterfaceRef>> {
        unsupported!("virConnectListAllInterfaces")
    }
    /// virConnectListInterfaces (`active`) / virConnectListDefinedInterfaces
    /// and their counts: by default the names
    /// [`Self::list_all_interfaces`] gives for ACTIVE / INACTIVE.
    fn interface_list_names(&self, active: bool) -> Result<Vec<String>> {
        let flags = if active { 1 << 1 } else { 1 << 0 };
        Ok(self
            .list_all_interfaces(flags)?
            .into_iter()
            .map(|i| i.name)
            .collect())
    }
    fn interface_lookup_by_name(&self, name: &str) -> Result<InterfaceRef> {
        unsupported!("virInterfaceLookupByName")
    }
    fn interface_lookup_by_mac(&self, mac: &str) -> Result<InterfaceRef> {
        unsupported!("virInterfaceLookupByMACString")
    }
    fn interface_get_xml_desc(&self, iface: &InterfaceRef, flags: u32) -> Result<String> {
        unsupported!("virInterfaceGetXMLDesc")
    }
    fn interface_define_xml(&self, xml: &str, flags: u32) -> Result<InterfaceRef> {
        unsupported!("virInterfaceDefineXML")
    }
    fn interface_undefine(&self, iface: &InterfaceRef) -> Result<()> {
        unsupported!("virInterfaceUndefine")
    }
    fn interface_create(&self, iface: &InterfaceRef, flags: u32) -> Result<()> {
        unsupported!("virInterfaceCreate")
    }
    fn interface_destroy(&self, iface: &InterfaceRef, flags: u32) -> Result<()> {
        unsupported!("virInterfaceDestroy")
    }
    fn interface_is_active(&self, iface: &InterfaceRef) -> Result<bool> {
        unsupported!("virInterfaceIsActive")
    }
    /// virInterfaceChangeBegin: starts a transaction on the host's
    /// interfaces.
    fn interface_change_begin(&self, flags: u32) -> Result<()> {
        unsupported!("virInterfaceChangeBegin")
    }
    /// virInterfaceChangeCommit: keeps the changes since the beginning.
    fn interface_change_commit(&self, flags: u32) -> Result<()> {
        unsupported!("virInterfaceChangeCommit")
    }
    /// virInterfaceChangeRollback: restores the interfaces as they were
    /// at the beginning.
    fn interface_change_rollback(&self, flags: u32) -> Result<()> {
        unsupported!("virInterfaceChangeRollback")
    }

    // ---- node devices ----

    fn list_all_node_devices(&self, flags: u32) -> Result<Vec<NodeDeviceRef>> {
        unsupported!("virConnectListAllNodeDevices")
    }
    /// virNodeNumOfDevices / virNodeListDevices with a capability filter.
    fn node_list_devices(&self, cap: Option<&str>, flags: u32) -> Result<Vec<String>> {
        unsupported!("virNodeListDevices")
    }
    /// virNodeNumOfDevices: by default the length of
    /// [`Self::node_list_devices`].
    fn node_num_of_devices(&self, cap: Option<&str>, flags: u32) -> Result<usize> {
        Ok(self.node_list_devices(cap, flags)?.len())
    }
    fn node_device_lookup_by_name(&self, name: &str) -> Result<NodeDeviceRef> {
        unsupported!("virNodeDeviceLookupByName")
    }
    fn node_device_get_xml_desc(&self, dev: &NodeDeviceRef, flags: u32) -> Result<String> {
        unsupported!("virNodeDeviceGetXMLDesc")
    }
    fn node_device_get_parent(&self, dev: &NodeDeviceRef) -> Result<Option<String>> {
        unsupported!("virNodeDeviceGetParent")
    }
    fn node_device_list_caps(&self, dev: &NodeDeviceRef) -> Result<Vec<String>> {
        unsupported!("virNodeDeviceListCaps")
    }
    fn node_device_create_xml(&self, xml: &str, flags: u32) -> Result<NodeDeviceRef> {
        unsupported!("virNodeDeviceCreateXML")
    }
    fn node_device_destroy(&self, dev: &NodeDeviceRef) -> Result<()> {
        unsupported!("virNodeDeviceDestroy")
    }
    /// virNodeDeviceDettach: detach a host PCI device for assignment (a
    /// hypervisor driver's, as in libvirt; driver_nodedev::hostdev does
    /// the host side). Drivers that can, answer it as DetachFlags(None, 0).
    fn node_device_dettach(&self, dev: &NodeDeviceRef) -> Result<()> {
        unsupported!("virNodeDeviceDettach")
    }
    /// virNodeDeviceDetachFlags with the stub driver name ("vfio").
    fn node_device_detach_flags(
        &self,
        dev: &NodeDeviceRef,
        driver_name: Option<&str>,
        flags: u32,
    ) -> Result<()> {
        unsupported!("virNodeDeviceDetachFlags")
    }
    /// virNodeDeviceReAttach: give a detached device back to its driver.
    fn node_device_reattach(&self, dev: &NodeDeviceRef) -> Result<()> {
        unsupported!("virNodeDeviceReAttach")
    }
    /// virNodeDeviceReset.
    fn node_device_reset(&self, dev: &NodeDeviceRef) -> Result<()> {
        unsupported!("virNodeDeviceReset")
    }
    /// virNodeDeviceLookupSCSIHostByWWN.
    fn node_device_lookup_scsi_host_by_wwn(
        &self,
        wwnn: &str,
        wwpn: &str,
        flags: u32,
    ) -> Result<NodeDeviceRef> {
        unsupported!("virNodeDeviceLookupSCSIHostByWWN")
    }
    /// virNodeDeviceDefineXML: a persistent (mediated) device.
    fn node_device_define_xml(&self, xml: &str, flags: u32) -> Result<NodeDeviceRef> {
        unsupported!("virNodeDeviceDefineXML")
    }
    /// virNodeDeviceUndefine.
    fn node_device_undefine(&self, dev: &NodeDeviceRef, flags: u32) -> Result<()> {
        unsupported!("virNodeDeviceUndefine")
    }
    /// virNodeDeviceCreate: starts a defined device.
    fn node_device_create(&self, dev: &NodeDeviceRef, flags: u32) -> Result<()> {
        unsupported!("virNodeDeviceCreate")
    }
    /// virNodeDeviceGetAutostart.
    fn node_device_get_autostart(&self, dev: &NodeDeviceRef) -> Result<bool> {
        unsupported!("virNodeDeviceGetAutostart")
    }
    /// virNodeDeviceSetAutostart.
    fn node_device_set_autostart(&self, dev: &NodeDeviceRef, on: bool) -> Result<()> {
        unsupported!("virNodeDeviceSetAutostart")
    }
    /// virNodeDeviceIsPersistent.
    fn node_device_is_persistent(&self, dev: &NodeDeviceRef) -> Result<bool> {
        unsupported!("virNodeDeviceIsPersistent")
    }
    /// virNodeDeviceIsActive.
    fn node_device_is_active(&self, dev: &NodeDeviceRef) -> Result<bool> {
        unsupported!("virNodeDeviceIsActive")
    }

    // ---- secrets ----

    /// virConnectListAllSecrets (VIR_CONNECT_LIST_SECRETS_* filters).
    fn list_all_secrets(&self, flags: u32) -> Result<Vec<SecretRef>> {
        unsupported!("virConnectListAllSecrets")
    }
    fn secret_lookup_by_uuid(&self, uuid: &[u8; 16]) -> Result<SecretRef> {
        unsupported!("virSecretLookupByUUID")
    }
    fn secret_lookup_by_usage(&self, usage_type: i32, usage_id: &str) -> Result<SecretRef> {
        unsupported!("virSecretLookupByUsage")
    }
    fn secret_define_xml(&self, xml: &str, flags: u32) -> Result<SecretRef> {
        unsupported!("virSecretDefineXML")
    }
    fn secret_get_xml_desc(&self, secret: &SecretRef, flags: u32) -> Result<String> {
        unsupported!("virSecretGetXMLDesc")
    }
    fn secret_set_value(&self, secret: &SecretRef, value: &[u8], flags: u32) -> Result<()> {
        unsupported!("virSecretSetValue")
    }
    fn secret_get_value(&self, secret: &SecretRef, flags: u32) -> Result<Vec<u8>> {
        unsupported!("virSecretGetValue")
    }
    fn secret_undefine(&self, secret: &SecretRef) -> Result<()> {
        unsupported!("virSecretUndefine")
    }

    // ---- migration and jobs ----

    /// virConnectSupportsFeature for the driver's own features (the
    /// migration ones, VIR_DRV_FEATURE_MIGRATION_*); the daemon answers
    /// the remote protocol's features itself. Unknown: false.
    fn supports_feature(&self, feature: i32) -> Result<bool> {
        Ok(false)
    }
    /// virDomainMigrateBegin3Params (source): the domain's migratable XML
    /// and the cookie for Prepare. With change protection, the domain's
    /// migration starts here and lasts until Confirm.
    fn domain_migrate_begin3_params(
        &self,
        dom: &DomainRef,
        params: &TypedParams,
        flags: u32,
    ) -> Result<(Vec<u8>, String)> {
        unsupported!("virDomainMigrateBegin3Params")
    }
    /// virDomainMigratePrepare3Params (destination): gets ready to receive
    /// the domain (`dest_xml` parameter); returns the cookie for Perform
    /// and the URI the source sends to (`uri_out`), if this side chose it.
    fn domain_migrate_prepare3_params(
        &self,
        params: &TypedParams,
        cookie_in: &[u8],
        flags: u32,
    ) -> Result<(Vec<u8>, Option<String>)> {
        unsupported!("virDomainMigratePrepare3Params")
    }
    /// virDomainMigratePerform3Params (source): sends the domain; with
    /// VIR_MIGRATE_PEER2PEER the whole migration to `dconnuri`. Returns
    /// the cookie for Finish.
    fn domain_migrate_perform3_params(
        &self,
        dom: &DomainRef,
        dconnuri: Option<&str>,
        params: &TypedParams,
        cookie_in: &[u8],
        flags: u32,
    ) -> Result<Vec<u8>> {
        unsupported!("virDomainMigratePerform3Params")
    }
    /// virDomainMigrateFinish3Params (destination): runs the received
    /// domain, or with `cancelled` throws it away. Returns the domain and
    /// the cookie for Confirm.
    fn domain_migrate_finish3_params(
        &self,
        params: &TypedParams,
        cookie_in: &[u8],
        flags: u32,
        cancelled: bool,
    ) -> Result<(DomainRef, Vec<u8>)> {
        unsupported!("virDomainMigrateFinish3Params")
    }
    /// virDomainMigrateConfirm3Params (source): ends the source's side,
    /// stopping the guest, or with `cancelled` letting it run on.
    fn domain_migrate_confirm3_params(
        &self,
        dom: &DomainRef,
        params: &TypedParams,
        cookie_in: &[u8],
        flags: u32,
        cancelled: bool,
    ) -> Result<()> {
        unsupported!("virDomainMigrateConfirm3Params")
    }
    /// virDomainMigrateSetMaxDowntime: milliseconds.
    fn domain_migrate_set_max_downtime(&self, dom: &DomainRef, ms: u64, flags: u32) -> Result<()> {
        unsupported!("virDomainMigrateSetMaxDowntime")
    }
    /// virDomainMigrateGetMaxDowntime: milliseconds.
    fn domain_migrate_get_max_downtime(&self, dom: &DomainRef, flags: u32) -> Result<u64> {
        unsupported!("virDomainMigrateGetMaxDowntime")
    }
    /// virDomainMigrateSetMaxSpeed: MiB/s (VIR_DOMAIN_MIGRATE_MAX_SPEED_POSTCOPY:
    /// of the post-copy phase).
    fn domain_migrate_set_max_speed(&self, dom: &DomainRef, mibps: u64, flags: u32) -> Result<()> {
        unsupported!("virDomainMigrateSetMaxSpeed")
    }
    /// virDomainMigrateGetMaxSpeed: MiB/s.
    fn domain_migrate_get_max_speed(&self, dom: &DomainRef, flags: u32) -> Result<u64> {
        unsupported!("virDomainMigrateGetMaxSpeed")
    }
}
