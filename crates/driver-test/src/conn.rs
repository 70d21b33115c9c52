// SPDX-License-Identifier: LGPL-2.1-or-later
//! `driver::Connection` for the test driver. The connection and the fake
//! host (capabilities, node information, events) are answered here; every
//! other API goes to the module of its object family (`domain`,
//! `domain_config`, `network`, `storage`, `interface`, `nodedev`), as
//! libvirt's driver table points at the test driver's functions.

use std::sync::{Arc, Mutex};

use driver::error::ErrorDomain;
use driver::{
    Connection, DomainInfo, DomainRef, Error, EventSink, InterfaceRef, NetworkRef, NodeDeviceRef,
    NodeInfo, PoolInfo, PoolRef, Result, SecurityLabel, SecurityModel, TypedParams, VcpuInfo,
    VolInfo, VolRef,
};

use crate::domain::MAX_VCPUS;
use crate::state::Shared;
use crate::{guest, pinning, snapshot};

/// One open test connection.
pub struct TestConnection {
    shared: Arc<Shared>,
    uri: String,
    /// Event subscriptions made through this connection, dropped with it.
    subs: Mutex<Vec<u64>>,
}

impl Drop for TestConnection {
    fn drop(&mut self) {
        let subs = std::mem::take(&mut *self.subs.lock().unwrap_or_else(|p| p.into_inner()));
        for s in subs {
            self.shared.events.unsubscribe(s);
        }
    }
}

pub(crate) fn now_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// `FLAG_A | FLAG_B` filter semantics of libvirt's list APIs: when either
/// flag of a pair is given, an object must match one of the given ones.
pub(crate) fn pair_ok(flags: u32, yes: u32, no: u32, is: bool) -> bool {
    if flags & (yes | no) == 0 {
        return true;
    }
    (flags & yes != 0 && is) || (flags & no != 0 && !is)
}

impl TestConnection {
    pub(crate) fn new(shared: Arc<Shared>, uri: String) -> Self {
        TestConnection {
            shared,
            uri,
            subs: Mutex::new(Vec::new()),
        }
    }
}

impl Connection for TestConnection {
    // ---- the connection and the host ----

    fn get_type(&self) -> &'static str {
        "TEST"
    }

    fn uri(&self) -> String {
        self.uri.clone()
    }

    fn version(&self) -> Result<u64> {
        Ok(2)
    }

    fn hostname(&self) -> Result<String> {
        let h = host::ns::hostname().unwrap_or_default();
        if h.is_empty() {
            return Ok("localhost".into());
        }
        Ok(h)
    }

    fn capabilities(&self) -> Result<String> {
        let s = self.shared.lock();
        Ok(crate::caps::capabilities_xml(&s.cells))
    }

    fn sysinfo(&self, flags: u32) -> Result<String> {
        Error::check_flags(flags, 0, "testConnectGetSysinfo")?;
        Ok(crate::caps::SYSINFO.to_string())
    }

    fn max_vcpus(&self, _virt_type: Option<&str>) -> Result<i32> {
        Ok(MAX_VCPUS as i32)
    }

    fn node_info(&self) -> Result<NodeInfo> {
        Ok(self.shared.lock().node_info.clone())
    }

    /// libvirt's test driver answers a fixed map: 8 cpus, 0, 2 and 4 online.
    fn node_cpu_map(&self, flags: u32) -> Result<(i32, Vec<u8>, u32)> {
        driver::Error::check_flags(flags, 0, "testNodeGetCPUMap")?;
        Ok((8, vec![0x15], 3))
    }

    fn node_free_memory(&self) -> Result<u64> {
        Ok(self.shared.lock().cells.iter().map(|c| c.free_mem).sum())
    }

    fn node_cells_free_memory(&self, start: i32, max: i32) -> Result<Vec<u64>> {
        let s = self.shared.lock();
        let start = usize::try_from(start).unwrap_or(usize::MAX);
        if start >= s.cells.len() {
            return Err(Error::invalid_arg(
                ErrorDomain::Test,
                "Range exceeds available cells",
            ));
        }
        let max = usize::try_from(max).unwrap_or(0);
        Ok(s.cells[start..].iter().take(max).map(|c| c.mem).collect())
    }

    fn node_get_cpu_stats(
        &self,
        _cpu: i32,
        nparams: i32,
        flags: u32,
    ) -> Result<Vec<(String, u64)>> {
        crate::stats::node_get_cpu_stats(nparams, flags)
    }

    fn node_get_free_pages(
        &self,
        _pages: &[u32],
        _start_cell: i32,
        _cell_count: u32,
        flags: u32,
    ) -> Result<Vec<u64>> {
        crate::stats::node_get_free_pages(flags)
    }

    fn node_security_model(&self) -> Result<SecurityModel> {
        Ok(SecurityModel {
            model: crate::caps::SEC_MODEL.into(),
            doi: String::new(),
        })
    }

    fn is_secure(&self) -> bool {
        true
    }

    fn subscribe(&self, sink: EventSink) -> Option<u64> {
        let id = self.shared.events.subscribe(sink);
        self.subs.lock().unwrap_or_else(|p| p.into_inner()).push(id);
        Some(id)
    }

    fn unsubscribe(&self, token: u64) {
        let mut subs = self.subs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = subs.iter().position(|t| *t == token) {
            subs.swap_remove(i);
            self.shared.events.unsubscribe(token);
        }
    }

    // ---- domains: listing, lookup, lifecycle (domain.rs) ----
    fn list_all_domains(&self, flags: u32) -> Result<Vec<DomainRef>> {
        crate::domain::list_all_domains(&self.shared, flags)
    }
    fn list_domain_ids(&self, max: usize) -> Result<Vec<i32>> {
        crate::domain::list_domain_ids(&self.shared, max)
    }
    fn num_of_domains(&self) -> Result<usize> {
        crate::domain::num_of_domains(&self.shared)
    }
    fn list_defined_domains(&self, max: usize) -> Result<Vec<String>> {
        crate::domain::list_defined_domains(&self.shared, max)
    }
    fn num_of_defined_domains(&self) -> Result<usize> {
        crate::domain::num_of_defined_domains(&self.shared)
    }
    fn domain_lookup_by_id(&self, id: i32) -> Result<DomainRef> {
        crate::domain::domain_lookup_by_id(&self.shared, id)
    }
    fn domain_lookup_by_name(&self, name: &str) -> Result<DomainRef> {
        crate::domain::domain_lookup_by_name(&self.shared, name)
    }
    fn domain_lookup_by_uuid(&self, uuid: &[u8; 16]) -> Result<DomainRef> {
        crate::domain::domain_lookup_by_uuid(&self.shared, uuid)
    }
    fn domain_define_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        crate::domain::domain_define_xml(&self.shared, xml, flags)
    }
    fn domain_undefine(&self, r: &DomainRef, flags: u32) -> Result<()> {
        crate::domain::domain_undefine(&self.shared, r, flags)
    }
    fn domain_create(&self, r: &DomainRef, flags: u32) -> Result<DomainRef> {
        crate::domain::domain_create(&self.shared, r, flags)
    }
    fn domain_create_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        crate::domain::domain_create_xml(&self.shared, xml, flags)
    }
    fn domain_destroy(&self, r: &DomainRef, flags: u32) -> Result<()> {
        crate::domain::domain_destroy(&self.shared, r, flags)
    }
    fn domain_shutdown(&self, r: &DomainRef, flags: u32) -> Result<()> {
        crate::domain::domain_shutdown(&self.shared, r, flags)
    }
    fn domain_reboot(&self, r: &DomainRef, flags: u32) -> Result<()> {
        crate::domain::domain_reboot(&self.shared, r, flags)
    }
    fn domain_reset(&self, r: &DomainRef, flags: u32) -> Result<()> {
        crate::domain::domain_reset(&self.shared, r, flags)
    }
    fn domain_suspend(&self, r: &DomainRef) -> Result<()> {
        crate::domain::domain_suspend(&self.shared, r)
    }
    fn domain_resume(&self, r: &DomainRef) -> Result<()> {
        crate::domain::domain_resume(&self.shared, r)
    }
    fn domain_save(&self, r: &DomainRef, to: &str, dxml: Option<&str>, flags: u32) -> Result<()> {
        crate::domain::domain_save(&self.shared, r, to, dxml, flags)
    }
    fn domain_restore(&self, from: &str, dxml: Option<&str>, flags: u32) -> Result<()> {
        crate::domain::domain_restore(&self.shared, from, dxml, flags)
    }
    fn domain_managed_save(&self, r: &DomainRef, flags: u32) -> Result<()> {
        crate::domain::domain_managed_save(&self.shared, r, flags)
    }
    fn domain_has_managed_save(&self, r: &DomainRef, flags: u32) -> Result<bool> {
        crate::domain::domain_has_managed_save(&self.shared, r, flags)
    }
    fn domain_managed_save_remove(&self, r: &DomainRef, flags: u32) -> Result<()> {
        crate::domain::domain_managed_save_remove(&self.shared, r, flags)
    }
    fn domain_rename(&self, r: &DomainRef, new_name: &str, flags: u32) -> Result<()> {
        crate::domain::domain_rename(&self.shared, r, new_name, flags)
    }

    // ---- domains: state and configuration (domain_config.rs) ----
    fn domain_get_info(&self, r: &DomainRef) -> Result<DomainInfo> {
        crate::domain_config::domain_get_info(&self.shared, r)
    }
    fn domain_get_state(&self, r: &DomainRef, flags: u32) -> Result<(i32, i32)> {
        crate::domain_config::domain_get_state(&self.shared, r, flags)
    }
    fn domain_get_xml_desc(&self, r: &DomainRef, flags: u32) -> Result<String> {
        crate::domain_config::domain_get_xml_desc(&self.shared, r, flags)
    }
    fn domain_get_os_type(&self, r: &DomainRef) -> Result<String> {
        crate::domain_config::domain_get_os_type(&self.shared, r)
    }
    fn domain_get_max_memory(&self, r: &DomainRef) -> Result<u64> {
        crate::domain_config::domain_get_max_memory(&self.shared, r)
    }
    fn domain_set_max_memory(&self, r: &DomainRef, kib: u64) -> Result<()> {
        crate::domain_config::domain_set_max_memory(&self.shared, r, kib)
    }
    fn domain_set_memory(&self, r: &DomainRef, kib: u64, flags: u32) -> Result<()> {
        crate::domain_config::domain_set_memory(&self.shared, r, kib, flags)
    }
    fn domain_get_memory_parameters(&self, r: &DomainRef, flags: u32) -> Result<TypedParams> {
        crate::domain_config::domain_get_memory_parameters(&self.shared, r, flags)
    }
    fn domain_set_vcpus(&self, r: &DomainRef, n: u32, flags: u32) -> Result<()> {
        crate::domain_config::domain_set_vcpus(&self.shared, r, n, flags)
    }
    fn domain_get_vcpus_flags(&self, r: &DomainRef, flags: u32) -> Result<i32> {
        crate::domain_config::domain_get_vcpus_flags(&self.shared, r, flags)
    }
    fn domain_get_vcpus(
        &self,
        r: &DomainRef,
        maxinfo: usize,
        maplen: usize,
    ) -> Result<(Vec<VcpuInfo>, Vec<u8>)> {
        pinning::domain_get_vcpus(&self.shared, r, maxinfo, maplen)
    }
    fn domain_pin_vcpu(&self, r: &DomainRef, vcpu: u32, cpumap: &[u8], flags: u32) -> Result<()> {
        pinning::domain_pin_vcpu(&self.shared, r, vcpu, cpumap, flags)
    }
    fn domain_get_vcpu_pin_info(
        &self,
        r: &DomainRef,
        ncpumaps: usize,
        maplen: usize,
        flags: u32,
    ) -> Result<(i32, Vec<u8>)> {
        pinning::domain_get_vcpu_pin_info(&self.shared, r, ncpumaps, maplen, flags)
    }
    fn domain_pin_emulator(&self, r: &DomainRef, cpumap: &[u8], flags: u32) -> Result<()> {
        pinning::domain_pin_emulator(&self.shared, r, cpumap, flags)
    }
    fn domain_get_emulator_pin_info(
        &self,
        r: &DomainRef,
        maplen: usize,
        flags: u32,
    ) -> Result<(i32, Vec<u8>)> {
        pinning::domain_get_emulator_pin_info(&self.shared, r, maplen, flags)
    }
    fn domain_get_iothread_info(&self, r: &DomainRef, flags: u32) -> Result<Vec<(u32, Vec<u8>)>> {
        pinning::domain_get_iothread_info(&self.shared, r, flags)
    }
    fn domain_pin_iothread(&self, r: &DomainRef, id: u32, cpumap: &[u8], flags: u32) -> Result<()> {
        pinning::domain_pin_iothread(&self.shared, r, id, cpumap, flags)
    }
    fn domain_add_iothread(&self, r: &DomainRef, id: u32, flags: u32) -> Result<()> {
        pinning::domain_add_iothread(&self.shared, r, id, flags)
    }
    fn domain_del_iothread(&self, r: &DomainRef, id: u32, flags: u32) -> Result<()> {
        pinning::domain_del_iothread(&self.shared, r, id, flags)
    }
    fn domain_set_iothread_params(
        &self,
        r: &DomainRef,
        id: u32,
        params: &TypedParams,
        flags: u32,
    ) -> Result<()> {
        pinning::domain_set_iothread_params(&self.shared, r, id, params, flags)
    }
    fn domain_get_hostname(&self, r: &DomainRef, flags: u32) -> Result<String> {
        guest::domain_get_hostname(&self.shared, r, flags)
    }
    fn domain_get_time(&self, r: &DomainRef, flags: u32) -> Result<(i64, u32)> {
        guest::domain_get_time(&self.shared, r, flags)
    }
    fn domain_set_time(
        &self,
        r: &DomainRef,
        seconds: i64,
        nseconds: u32,
        flags: u32,
    ) -> Result<()> {
        guest::domain_set_time(&self.shared, r, seconds, nseconds, flags)
    }
    fn domain_get_block_info(
        &self,
        r: &DomainRef,
        path: &str,
        flags: u32,
    ) -> Result<(u64, u64, u64)> {
        guest::domain_get_block_info(&self.shared, r, path, flags)
    }
    fn domain_get_autostart(&self, r: &DomainRef) -> Result<bool> {
        crate::domain_config::domain_get_autostart(&self.shared, r)
    }
    fn domain_set_autostart(&self, r: &DomainRef, on: bool) -> Result<()> {
        crate::domain_config::domain_set_autostart(&self.shared, r, on)
    }
    fn domain_is_active(&self, r: &DomainRef) -> Result<bool> {
        crate::domain_config::domain_is_active(&self.shared, r)
    }
    fn domain_is_persistent(&self, r: &DomainRef) -> Result<bool> {
        crate::domain_config::domain_is_persistent(&self.shared, r)
    }
    fn domain_is_updated(&self, r: &DomainRef) -> Result<bool> {
        crate::domain_config::domain_is_updated(&self.shared, r)
    }
    fn domain_security_label(&self, r: &DomainRef) -> Result<SecurityLabel> {
        crate::domain_config::domain_security_label(&self.shared, r)
    }
    fn domain_get_messages(&self, r: &DomainRef, flags: u32) -> Result<Vec<String>> {
        crate::domain_config::domain_get_messages(&self.shared, r, flags)
    }
    fn domain_set_metadata(
        &self,
        r: &DomainRef,
        kind: i32,
        metadata: Option<&str>,
        key: Option<&str>,
        uri: Option<&str>,
        flags: u32,
    ) -> Result<()> {
        crate::domain_config::domain_set_metadata(&self.shared, r, kind, metadata, key, uri, flags)
    }
    fn domain_get_metadata(
        &self,
        r: &DomainRef,
        kind: i32,
        uri: Option<&str>,
        flags: u32,
    ) -> Result<String> {
        crate::domain_config::domain_get_metadata(&self.shared, r, kind, uri, flags)
    }
    fn domain_get_scheduler_type(&self, r: &DomainRef) -> Result<(String, i32)> {
        crate::domain_config::domain_get_scheduler_type(&self.shared, r)
    }
    fn domain_get_scheduler_parameters(&self, r: &DomainRef, flags: u32) -> Result<TypedParams> {
        crate::domain_config::domain_get_scheduler_parameters(&self.shared, r, flags)
    }
    fn domain_stats(
        &self,
        doms: &[DomainRef],
        stats: u32,
        flags: u32,
    ) -> Result<Vec<(DomainRef, TypedParams)>> {
        crate::domain_config::domain_stats(&self.shared, doms, stats, flags)
    }

    fn domain_set_scheduler_parameters(
        &self,
        r: &DomainRef,
        params: &TypedParams,
        flags: u32,
    ) -> Result<()> {
        crate::domain_config::domain_set_scheduler_parameters(&self.shared, r, params, flags)
    }
    fn domain_memory_stats(&self, r: &DomainRef, nr: u32, flags: u32) -> Result<Vec<(i32, u64)>> {
        crate::domain_config::domain_memory_stats(&self.shared, r, nr, flags)
    }
    fn domain_block_stats(&self, r: &DomainRef, path: &str) -> Result<[i64; 5]> {
        crate::domain_config::domain_block_stats(&self.shared, r, path)
    }
    fn domain_interface_stats(&self, r: &DomainRef, device: &str) -> Result<[i64; 8]> {
        crate::domain_config::domain_interface_stats(&self.shared, r, device)
    }
    fn domain_get_numa_parameters(
        &self,
        r: &DomainRef,
        nparams: i32,
        flags: u32,
    ) -> Result<TypedParams> {
        crate::tuning::get_numa(&self.shared, r, nparams, flags)
    }
    fn domain_set_numa_parameters(&self, r: &DomainRef, p: &TypedParams, flags: u32) -> Result<()> {
        crate::tuning::set_numa(&self.shared, r, p, flags)
    }
    fn domain_get_blkio_parameters(
        &self,
        r: &DomainRef,
        nparams: i32,
        flags: u32,
    ) -> Result<TypedParams> {
        crate::tuning::get_blkio(&self.shared, r, nparams, flags)
    }
    fn domain_set_blkio_parameters(
        &self,
        r: &DomainRef,
        p: &TypedParams,
        flags: u32,
    ) -> Result<()> {
        crate::tuning::set_blkio(&self.shared, r, p, flags)
    }
    fn domain_get_interface_parameters(
        &self,
        r: &DomainRef,
        device: &str,
        nparams: i32,
        flags: u32,
    ) -> Result<TypedParams> {
        crate::tuning::get_interface(&self.shared, r, device, nparams, flags)
    }
    fn domain_set_interface_parameters(
        &self,
        r: &DomainRef,
        device: &str,
        p: &TypedParams,
        flags: u32,
    ) -> Result<()> {
        crate::tuning::set_interface(&self.shared, r, device, p, flags)
    }
    fn domain_get_block_io_tune(
        &self,
        r: &DomainRef,
        disk: Option<&str>,
        nparams: i32,
        flags: u32,
    ) -> Result<TypedParams> {
        crate::tuning::get_block_io_tune(&self.shared, r, disk, nparams, flags)
    }
    fn domain_set_block_io_tune(
        &self,
        r: &DomainRef,
        disk: &str,
        p: &TypedParams,
        flags: u32,
    ) -> Result<()> {
        crate::tuning::set_block_io_tune(&self.shared, r, disk, p, flags)
    }
    fn domain_set_memory_stats_period(&self, r: &DomainRef, period: i32, flags: u32) -> Result<()> {
        crate::tuning::set_memory_stats_period(&self.shared, r, period, flags)
    }
    fn domain_get_perf_events(&self, r: &DomainRef, flags: u32) -> Result<TypedParams> {
        crate::tuning::get_perf_events(&self.shared, r, flags)
    }
    fn domain_set_perf_events(&self, r: &DomainRef, p: &TypedParams, flags: u32) -> Result<()> {
        crate::tuning::set_perf_events(&self.shared, r, p, flags)
    }
    fn domain_core_dump(&self, r: &DomainRef, to: &str, format: u32, flags: u32) -> Result<()> {
        crate::domain::domain_core_dump(&self.shared, r, to, format, flags)
    }
    fn domain_save_image_get_xml_desc(&self, path: &str, flags: u32) -> Result<String> {
        crate::domain::save_image_get_xml_desc(path, flags)
    }
    fn domain_save_image_define_xml(&self, path: &str, xml: &str, flags: u32) -> Result<()> {
        crate::domain::save_image_define_xml(path, xml, flags)
    }
    fn domain_inject_nmi(&self, r: &DomainRef, flags: u32) -> Result<()> {
        guest::domain_inject_nmi(&self.shared, r, flags)
    }
    fn domain_send_key(
        &self,
        r: &DomainRef,
        codeset: u32,
        _holdtime: u32,
        keycodes: &[u32],
        flags: u32,
    ) -> Result<()> {
        guest::domain_send_key(&self.shared, r, codeset, keycodes, flags)
    }
    fn domain_send_process_signal(
        &self,
        r: &DomainRef,
        pid: i64,
        signum: u32,
        flags: u32,
    ) -> Result<()> {
        guest::domain_send_process_signal(&self.shared, r, pid, signum, flags)
    }
    fn domain_set_lifecycle_action(
        &self,
        r: &DomainRef,
        kind: u32,
        action: u32,
        flags: u32,
    ) -> Result<()> {
        guest::domain_set_lifecycle_action(&self.shared, r, kind, action, flags)
    }
    fn domain_fs_freeze(&self, r: &DomainRef, mountpoints: &[String], flags: u32) -> Result<i32> {
        guest::domain_fs_freeze(&self.shared, r, mountpoints, true, flags)
    }
    fn domain_fs_thaw(&self, r: &DomainRef, mountpoints: &[String], flags: u32) -> Result<i32> {
        guest::domain_fs_freeze(&self.shared, r, mountpoints, false, flags)
    }
    fn domain_fs_trim(
        &self,
        r: &DomainRef,
        mountpoint: Option<&str>,
        _minimum: u64,
        flags: u32,
    ) -> Result<()> {
        guest::domain_fs_trim(&self.shared, r, mountpoint, flags)
    }
    fn domain_get_fs_info(&self, r: &DomainRef, flags: u32) -> Result<Vec<driver::FsInfo>> {
        guest::domain_get_fs_info(&self.shared, r, flags)
    }
    fn domain_memory_peek(
        &self,
        r: &DomainRef,
        offset: u64,
        size: u32,
        flags: u32,
    ) -> Result<Vec<u8>> {
        guest::domain_memory_peek(&self.shared, r, offset, size, flags)
    }
    fn domain_interface_addresses(
        &self,
        r: &DomainRef,
        source: u32,
        flags: u32,
    ) -> Result<Vec<driver::DomainInterface>> {
        crate::stats::domain_interface_addresses(&self.shared, r, source, flags)
    }
    fn domain_get_cpu_stats(
        &self,
        r: &DomainRef,
        nparams: u32,
        start_cpu: i32,
        ncpus: u32,
        flags: u32,
    ) -> Result<(TypedParams, i32)> {
        crate::stats::domain_get_cpu_stats(&self.shared, r, nparams, start_cpu, ncpus, flags)
    }
    fn domain_screenshot(
        &self,
        _r: &DomainRef,
        _screen: u32,
        flags: u32,
    ) -> Result<(String, std::os::fd::OwnedFd)> {
        crate::domain_config::domain_screenshot(flags)
    }
    fn cpu_model_names(&self, arch: &str, flags: u32) -> Result<Vec<String>> {
        crate::caps::cpu_model_names(arch, flags)
    }
    fn baseline_cpu(&self, xml_cpus: &[String], flags: u32) -> Result<String> {
        crate::baseline::baseline_cpu(xml_cpus, flags)
    }
    fn find_storage_pool_sources(
        &self,
        pool_type: &str,
        spec: Option<&str>,
        flags: u32,
    ) -> Result<String> {
        crate::storage::find_storage_pool_sources(pool_type, spec, flags)
    }

    // ---- snapshots and checkpoints (snapshot.rs) ----
    fn domain_snapshot_num(&self, r: &DomainRef, flags: u32) -> Result<i32> {
        snapshot::num(&self.shared, r, flags)
    }
    fn domain_list_snapshots(&self, r: &DomainRef, flags: u32) -> Result<Vec<String>> {
        snapshot::list(&self.shared, r, flags)
    }
    fn domain_snapshot_create_xml(&self, r: &DomainRef, xml: &str, flags: u32) -> Result<String> {
        snapshot::create_xml(&self.shared, r, xml, flags)
    }
    fn domain_snapshot_list_children(
        &self,
        r: &DomainRef,
        snap: &str,
        flags: u32,
    ) -> Result<Vec<String>> {
        snapshot::list_children(&self.shared, r, snap, flags)
    }
    fn domain_snapshot_lookup_by_name(
        &self,
        r: &DomainRef,
        name: &str,
        flags: u32,
    ) -> Result<String> {
        snapshot::lookup_by_name(&self.shared, r, name, flags)
    }
    fn domain_has_current_snapshot(&self, r: &DomainRef, flags: u32) -> Result<bool> {
        snapshot::has_current(&self.shared, r, flags)
    }
    fn domain_snapshot_current(&self, r: &DomainRef, flags: u32) -> Result<String> {
        snapshot::current(&self.shared, r, flags)
    }
    fn domain_snapshot_get_parent(&self, r: &DomainRef, snap: &str, flags: u32) -> Result<String> {
        snapshot::get_parent(&self.shared, r, snap, flags)
    }
    fn domain_snapshot_get_xml_desc(
        &self,
        r: &DomainRef,
        snap: &str,
        flags: u32,
    ) -> Result<String> {
        snapshot::get_xml_desc(&self.shared, r, snap, flags)
    }
    fn domain_snapshot_is_current(&self, r: &DomainRef, snap: &str, flags: u32) -> Result<bool> {
        snapshot::is_current(&self.shared, r, snap, flags)
    }
    fn domain_snapshot_has_metadata(&self, r: &DomainRef, snap: &str, flags: u32) -> Result<bool> {
        snapshot::has_metadata(&self.shared, r, snap, flags)
    }
    fn domain_revert_to_snapshot(&self, r: &DomainRef, snap: &str, flags: u32) -> Result<()> {
        snapshot::revert(&self.shared, r, snap, flags)
    }
    fn domain_snapshot_delete(&self, r: &DomainRef, snap: &str, flags: u32) -> Result<()> {
        snapshot::delete(&self.shared, r, snap, flags)
    }
    fn domain_checkpoint_create_xml(&self, r: &DomainRef, xml: &str, flags: u32) -> Result<String> {
        snapshot::checkpoint_create_xml(&self.shared, r, xml, flags)
    }
    fn domain_list_checkpoints(&self, r: &DomainRef, flags: u32) -> Result<Vec<String>> {
        snapshot::checkpoint_list(&self.shared, r, flags)
    }
    fn domain_checkpoint_list_children(
        &self,
        r: &DomainRef,
        chk: &str,
        flags: u32,
    ) -> Result<Vec<String>> {
        snapshot::checkpoint_list_children(&self.shared, r, chk, flags)
    }
    fn domain_checkpoint_lookup_by_name(
        &self,
        r: &DomainRef,
        name: &str,
        flags: u32,
    ) -> Result<String> {
        snapshot::checkpoint_lookup_by_name(&self.shared, r, name, flags)
    }
    fn domain_checkpoint_get_parent(&self, r: &DomainRef, chk: &str, flags: u32) -> Result<String> {
        snapshot::checkpoint_get_parent(&self.shared, r, chk, flags)
    }
    fn domain_checkpoint_get_xml_desc(
        &self,
        r: &DomainRef,
        chk: &str,
        flags: u32,
    ) -> Result<String> {
        snapshot::checkpoint_get_xml_desc(&self.shared, r, chk, flags)
    }
    fn domain_checkpoint_delete(&self, r: &DomainRef, chk: &str, flags: u32) -> Result<()> {
        snapshot::checkpoint_delete(&self.shared, r, chk, flags)
    }

    // ---- networks (network.rs) ----
    fn list_all_networks(&self, flags: u32) -> Result<Vec<NetworkRef>> {
        crate::network::list_all_networks(&self.shared, flags)
    }
    fn network_lookup_by_name(&self, name: &str) -> Result<NetworkRef> {
        crate::network::network_lookup_by_name(&self.shared, name)
    }
    fn network_lookup_by_uuid(&self, uuid: &[u8; 16]) -> Result<NetworkRef> {
        crate::network::network_lookup_by_uuid(&self.shared, uuid)
    }
    fn network_define_xml(&self, xml: &str, flags: u32) -> Result<NetworkRef> {
        crate::network::network_define_xml(&self.shared, xml, flags)
    }
    fn network_create_xml(&self, xml: &str, flags: u32) -> Result<NetworkRef> {
        crate::network::network_create_xml(&self.shared, xml, flags)
    }
    fn network_undefine(&self, net: &NetworkRef) -> Result<()> {
        crate::network::network_undefine(&self.shared, net)
    }
    fn network_create(&self, net: &NetworkRef) -> Result<()> {
        crate::network::network_create(&self.shared, net)
    }
    fn network_destroy(&self, net: &NetworkRef) -> Result<()> {
        crate::network::network_destroy(&self.shared, net)
    }
    fn network_get_xml_desc(&self, net: &NetworkRef, flags: u32) -> Result<String> {
        crate::network::network_get_xml_desc(&self.shared, net, flags)
    }
    fn network_get_bridge_name(&self, net: &NetworkRef) -> Result<String> {
        crate::network::network_get_bridge_name(&self.shared, net)
    }
    fn network_get_autostart(&self, net: &NetworkRef) -> Result<bool> {
        crate::network::network_get_autostart(&self.shared, net)
    }
    fn network_set_autostart(&self, net: &NetworkRef, on: bool) -> Result<()> {
        crate::network::network_set_autostart(&self.shared, net, on)
    }
    fn network_is_active(&self, net: &NetworkRef) -> Result<bool> {
        crate::network::network_is_active(&self.shared, net)
    }
    fn network_is_persistent(&self, net: &NetworkRef) -> Result<bool> {
        crate::network::network_is_persistent(&self.shared, net)
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
        crate::network::network_update(&self.shared, net, command, section, index, xml, flags)
    }

    // ---- storage pools and volumes (storage.rs) ----
    fn list_all_storage_pools(&self, flags: u32) -> Result<Vec<PoolRef>> {
        crate::storage::list_all_storage_pools(&self.shared, flags)
    }
    fn storage_pool_lookup_by_name(&self, name: &str) -> Result<PoolRef> {
        crate::storage::storage_pool_lookup_by_name(&self.shared, name)
    }
    fn storage_pool_lookup_by_uuid(&self, uuid: &[u8; 16]) -> Result<PoolRef> {
        crate::storage::storage_pool_lookup_by_uuid(&self.shared, uuid)
    }
    fn storage_pool_define_xml(&self, xml: &str, flags: u32) -> Result<PoolRef> {
        crate::storage::storage_pool_define_xml(&self.shared, xml, flags)
    }
    fn storage_pool_create_xml(&self, xml: &str, flags: u32) -> Result<PoolRef> {
        crate::storage::storage_pool_create_xml(&self.shared, xml, flags)
    }
    fn storage_pool_build(&self, pool: &PoolRef, flags: u32) -> Result<()> {
        crate::storage::storage_pool_build(&self.shared, pool, flags)
    }
    fn storage_pool_undefine(&self, pool: &PoolRef) -> Result<()> {
        crate::storage::storage_pool_undefine(&self.shared, pool)
    }
    fn storage_pool_create(&self, pool: &PoolRef, flags: u32) -> Result<()> {
        crate::storage::storage_pool_create(&self.shared, pool, flags)
    }
    fn storage_pool_destroy(&self, pool: &PoolRef) -> Result<()> {
        crate::storage::storage_pool_destroy(&self.shared, pool)
    }
    fn storage_pool_delete(&self, pool: &PoolRef, flags: u32) -> Result<()> {
        crate::storage::storage_pool_delete(&self.shared, pool, flags)
    }
    fn storage_pool_refresh(&self, pool: &PoolRef, flags: u32) -> Result<()> {
        crate::storage::storage_pool_refresh(&self.shared, pool, flags)
    }
    fn storage_pool_get_info(&self, pool: &PoolRef) -> Result<PoolInfo> {
        crate::storage::storage_pool_get_info(&self.shared, pool)
    }
    fn storage_pool_get_xml_desc(&self, pool: &PoolRef, flags: u32) -> Result<String> {
        crate::storage::storage_pool_get_xml_desc(&self.shared, pool, flags)
    }
    fn storage_pool_get_autostart(&self, pool: &PoolRef) -> Result<bool> {
        crate::storage::storage_pool_get_autostart(&self.shared, pool)
    }
    fn storage_pool_set_autostart(&self, pool: &PoolRef, on: bool) -> Result<()> {
        crate::storage::storage_pool_set_autostart(&self.shared, pool, on)
    }
    fn storage_pool_is_active(&self, pool: &PoolRef) -> Result<bool> {
        crate::storage::storage_pool_is_active(&self.shared, pool)
    }
    fn storage_pool_is_persistent(&self, pool: &PoolRef) -> Result<bool> {
        crate::storage::storage_pool_is_persistent(&self.shared, pool)
    }
    fn storage_pool_list_volumes(&self, pool: &PoolRef) -> Result<Vec<VolRef>> {
        crate::storage::storage_pool_list_volumes(&self.shared, pool)
    }
    fn storage_pool_volume_names(&self, pool: &PoolRef) -> Result<Vec<VolRef>> {
        crate::storage::storage_pool_volume_names(&self.shared, pool)
    }
    fn storage_vol_lookup_by_name(&self, pool: &PoolRef, name: &str) -> Result<VolRef> {
        crate::storage::storage_vol_lookup_by_name(&self.shared, pool, name)
    }
    fn storage_vol_lookup_by_key(&self, key: &str) -> Result<VolRef> {
        crate::storage::storage_vol_lookup_by_key(&self.shared, key)
    }
    fn storage_vol_lookup_by_path(&self, path: &str) -> Result<VolRef> {
        crate::storage::storage_vol_lookup_by_path(&self.shared, path)
    }
    fn storage_vol_create_xml(&self, pool: &PoolRef, xml: &str, flags: u32) -> Result<VolRef> {
        crate::storage::storage_vol_create_xml(&self.shared, pool, xml, flags)
    }
    fn storage_vol_create_xml_from(
        &self,
        pool: &PoolRef,
        xml: &str,
        clone: &VolRef,
        flags: u32,
    ) -> Result<VolRef> {
        crate::storage::storage_vol_create_xml_from(&self.shared, pool, xml, clone, flags)
    }
    fn storage_vol_delete(&self, vol: &VolRef, flags: u32) -> Result<()> {
        crate::storage::storage_vol_delete(&self.shared, vol, flags)
    }
    fn storage_vol_get_info(&self, vol: &VolRef) -> Result<VolInfo> {
        crate::storage::storage_vol_get_info(&self.shared, vol)
    }
    fn storage_vol_get_xml_desc(&self, vol: &VolRef, flags: u32) -> Result<String> {
        crate::storage::storage_vol_get_xml_desc(&self.shared, vol, flags)
    }
    fn storage_vol_get_path(&self, vol: &VolRef) -> Result<String> {
        crate::storage::storage_vol_get_path(&self.shared, vol)
    }

    // ---- host interfaces (interface.rs) ----
    fn list_all_interfaces(&self, flags: u32) -> Result<Vec<InterfaceRef>> {
        crate::interface::list_all_interfaces(&self.shared, flags)
    }
    fn interface_lookup_by_name(&self, name: &str) -> Result<InterfaceRef> {
        crate::interface::interface_lookup_by_name(&self.shared, name)
    }
    fn interface_lookup_by_mac(&self, mac: &str) -> Result<InterfaceRef> {
        crate::interface::interface_lookup_by_mac(&self.shared, mac)
    }
    fn interface_get_xml_desc(&self, iface: &InterfaceRef, flags: u32) -> Result<String> {
        crate::interface::interface_get_xml_desc(&self.shared, iface, flags)
    }
    fn interface_define_xml(&self, xml: &str, flags: u32) -> Result<InterfaceRef> {
        crate::interface::interface_define_xml(&self.shared, xml, flags)
    }
    fn interface_undefine(&self, iface: &InterfaceRef) -> Result<()> {
        crate::interface::interface_undefine(&self.shared, iface)
    }
    fn interface_create(&self, iface: &InterfaceRef, flags: u32) -> Result<()> {
        crate::interface::interface_create(&self.shared, iface, flags)
    }
    fn interface_destroy(&self, iface: &InterfaceRef, flags: u32) -> Result<()> {
        crate::interface::interface_destroy(&self.shared, iface, flags)
    }
    fn interface_is_active(&self, iface: &InterfaceRef) -> Result<bool> {
        crate::interface::interface_is_active(&self.shared, iface)
    }
    fn interface_change_begin(&self, flags: u32) -> Result<()> {
        crate::interface::interface_change_begin(&self.shared, flags)
    }
    fn interface_change_commit(&self, flags: u32) -> Result<()> {
        crate::interface::interface_change_end(&self.shared, false, flags)
    }
    fn interface_change_rollback(&self, flags: u32) -> Result<()> {
        crate::interface::interface_change_end(&self.shared, true, flags)
    }

    // ---- node devices (nodedev.rs) ----
    fn list_all_node_devices(&self, flags: u32) -> Result<Vec<NodeDeviceRef>> {
        crate::nodedev::list_all_node_devices(&self.shared, flags)
    }
    fn node_list_devices(&self, cap: Option<&str>, flags: u32) -> Result<Vec<String>> {
        crate::nodedev::node_list_devices(&self.shared, cap, flags)
    }
    fn node_device_lookup_by_name(&self, name: &str) -> Result<NodeDeviceRef> {
        crate::nodedev::node_device_lookup_by_name(&self.shared, name)
    }
    fn node_device_get_xml_desc(&self, dev: &NodeDeviceRef, flags: u32) -> Result<String> {
        crate::nodedev::node_device_get_xml_desc(&self.shared, dev, flags)
    }
    fn node_device_get_parent(&self, dev: &NodeDeviceRef) -> Result<Option<String>> {
        crate::nodedev::node_device_get_parent(&self.shared, dev)
    }
    fn node_device_list_caps(&self, dev: &NodeDeviceRef) -> Result<Vec<String>> {
        crate::nodedev::node_device_list_caps(&self.shared, dev)
    }
    fn node_device_create_xml(&self, xml: &str, flags: u32) -> Result<NodeDeviceRef> {
        crate::nodedev::node_device_create_xml(&self.shared, xml, flags)
    }
    fn node_device_destroy(&self, dev: &NodeDeviceRef) -> Result<()> {
        crate::nodedev::node_device_destroy(&self.shared, dev)
    }
}
