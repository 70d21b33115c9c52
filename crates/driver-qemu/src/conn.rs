// SPDX-License-Identifier: LGPL-2.1-or-later
//! `QemuConnection`: the `Connection` trait over the shared [`Driver`].
//! What is not implemented yet (starting guests and everything that needs
//! a running QEMU) keeps the trait's default, libvirt's "this function is
//! not supported by the connection driver" error.

use std::sync::{Arc, Mutex};

use conf::FormatFlags;
use driver::consts::{list, save, xml as xmlflags};
use driver::{
    Connection, DomainInfo, DomainInterface, DomainRef, Error, EventSink, FsInfo, NodeDeviceRef,
    Result, TypedParams,
};

use crate::caps;
use crate::state::{dom_ref, Driver, QEMU};

/// One client connection to the QEMU driver.
pub struct QemuConnection {
    drv: Arc<Driver>,
    subs: Mutex<Vec<u64>>,
    uri: String,
    /// Keys the work owed when this connection goes away (a migration it
    /// left half-way).
    id: driver::ConnectionId,
}

impl QemuConnection {
    pub(crate) fn new(drv: Arc<Driver>, uri: String) -> QemuConnection {
        QemuConnection {
            drv,
            subs: Mutex::new(Vec::new()),
            uri,
            id: driver::ConnectionId::new(),
        }
    }
}

impl Drop for QemuConnection {
    fn drop(&mut self) {
        let subs = std::mem::take(&mut *self.subs.lock().unwrap_or_else(|p| p.into_inner()));
        for s in subs {
            self.drv.events.unsubscribe(s);
        }
        self.drv.migrations_of_closed(self.id);
    }
}

/// The flags of virDomainSaveFlags and virDomainManagedSave.
const SAVE_FLAGS: u32 = save::BYPASS_CACHE | save::RUNNING | save::PAUSED;

fn no_domain_name(name: &str) -> Error {
    Error::no_domain(QEMU, format!("no domain with matching name '{name}'"))
}

fn no_domain_uuid(uuid: &[u8; 16]) -> Error {
    Error::no_domain(
        QEMU,
        format!("no domain with matching uuid '{}'", conf::Uuid(*uuid)),
    )
}

impl Connection for QemuConnection {
    fn get_type(&self) -> &'static str {
        "QEMU"
    }

    fn uri(&self) -> String {
        self.uri.clone()
    }

    fn version(&self) -> Result<u64> {
        self.drv.version()
    }

    fn hostname(&self) -> Result<String> {
        Ok(crate::migration::host_name())
    }

    fn capabilities(&self) -> Result<String> {
        Ok(caps::capabilities_xml(
            &self.drv.caps,
            self.drv.conf.uid,
            self.drv.conf.gid,
        ))
    }

    fn domain_capabilities(
        &self,
        emulator: Option<&str>,
        arch: Option<&str>,
        machine: Option<&str>,
        virttype: Option<&str>,
        flags: u32,
    ) -> Result<String> {
        Error::check_flags(flags, 0, "qemuConnectGetDomainCapabilities")?;
        caps::domain_capabilities(
            &self.drv.caps,
            self.drv.opts.privileged,
            &self.drv.conf.nvram,
            emulator,
            arch,
            machine,
            virttype,
        )
    }

    fn is_secure(&self) -> bool {
        true
    }

    fn subscribe(&self, sink: EventSink) -> Option<u64> {
        let id = self.drv.events.subscribe(sink);
        self.subs.lock().unwrap_or_else(|p| p.into_inner()).push(id);
        Some(id)
    }

    fn unsubscribe(&self, token: u64) {
        self.drv.events.unsubscribe(token);
        self.subs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|t| *t != token);
    }

    fn list_all_domains(&self, flags: u32) -> Result<Vec<DomainRef>> {
        Error::check_flags(flags, list::ALL, "qemuConnectListAllDomains")?;
        let mut out = Vec::new();
        for d in self.drv.all() {
            let st = d.lock();
            let (active, persistent) = (st.live.is_some(), st.persistent.is_some());
            let facts = list::Facts {
                active,
                persistent,
                autostart: st.autostart,
                has_snapshot: !st.snapshots.is_empty(),
                managed_save: self.drv.has_managed_save(&st.name),
                has_checkpoint: !st.checkpoints.is_empty(),
                state: st.state,
            };
            if !list::wanted(flags, &facts) {
                continue;
            }
            out.push(DomainRef {
                name: st.name.clone(),
                uuid: *d.uuid(),
                id: st.id(),
            });
        }
        Ok(out)
    }

    fn domain_lookup_by_id(&self, id: i32) -> Result<DomainRef> {
        self.drv
            .find_id(id)
            .map(|d| dom_ref(&d))
            .ok_or_else(|| Error::no_domain(QEMU, format!("no domain with matching id {id}")))
    }

    fn domain_lookup_by_name(&self, name: &str) -> Result<DomainRef> {
        self.drv
            .find_name(name)
            .map(|d| dom_ref(&d))
            .ok_or_else(|| no_domain_name(name))
    }

    fn domain_lookup_by_uuid(&self, uuid: &[u8; 16]) -> Result<DomainRef> {
        self.drv
            .find_uuid(uuid)
            .map(|d| dom_ref(&d))
            .ok_or_else(|| no_domain_uuid(uuid))
    }

    fn domain_define_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        Error::check_flags(
            flags,
            driver::consts::define::VALIDATE,
            "qemuDomainDefineXMLFlags",
        )?;
        self.drv
            .define(xml, flags & driver::consts::define::VALIDATE != 0)
    }

    fn domain_undefine(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        // NVRAM, KEEP_NVRAM, CHECKPOINTS_METADATA, KEEP_TPM, TPM: nothing
        // of that exists yet.
        Error::check_flags(
            flags,
            0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40,
            "qemuDomainUndefineFlags",
        )?;
        let d = self.drv.get(dom)?;
        let name = d.lock().name.clone();
        self.drv.undefine_snapshots(
            &d,
            flags & driver::consts::undefine::SNAPSHOTS_METADATA != 0,
        )?;
        if self.drv.has_managed_save(&name) {
            if flags & driver::consts::undefine::MANAGED_SAVE == 0 {
                return Err(Error::operation_invalid(
                    QEMU,
                    "Refusing to undefine while domain managed save image exists",
                ));
            }
            let path = self.drv.managed_save_path(&name);
            std::fs::remove_file(&path).map_err(|e| {
                Error::new(
                    driver::error::ErrorCode::SystemError,
                    QEMU,
                    format!(
                        "Failed to remove domain managed save image '{}': {}",
                        path.display(),
                        virterror::os_error_text(&e)
                    ),
                )
            })?;
        }
        self.drv.undefine(dom)
    }

    fn domain_create(&self, dom: &DomainRef, flags: u32) -> Result<DomainRef> {
        use driver::consts::create;
        Error::check_flags(
            flags,
            create::START_PAUSED | create::START_BYPASS_CACHE | create::START_FORCE_BOOT,
            "qemuDomainCreateWithFlags",
        )?;
        self.drv.start_flags(dom, flags)
    }

    fn domain_create_xml(&self, xml: &str, flags: u32) -> Result<DomainRef> {
        use driver::consts::create;
        // START_AUTODESTROY needs the connection's close to destroy the
        // guest, which this driver does not track yet: refused, not
        // silently ignored. START_RESET_NVRAM: no NVRAM store exists.
        Error::check_flags(
            flags,
            create::START_PAUSED | create::START_VALIDATE | create::START_RESET_NVRAM,
            "qemuDomainCreateXML",
        )?;
        self.drv.create_xml(xml, flags)
    }

    fn domain_destroy(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        // VIR_DOMAIN_DESTROY_GRACEFUL is what destroy does anyway.
        Error::check_flags(flags, 1, "qemuDomainDestroyFlags")?;
        self.drv.destroy(dom)
    }

    fn domain_shutdown(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        self.drv.shutdown_flags(dom, flags)
    }

    fn domain_qemu_agent_command(
        &self,
        dom: &DomainRef,
        cmd: &str,
        timeout: i32,
        flags: u32,
    ) -> Result<Option<String>> {
        self.drv.agent_command(dom, cmd, timeout, flags)
    }

    fn domain_get_guest_info(
        &self,
        dom: &DomainRef,
        types: u32,
        flags: u32,
    ) -> Result<TypedParams> {
        self.drv.agent_guest_info(dom, types, flags)
    }

    fn domain_set_user_password(
        &self,
        dom: &DomainRef,
        user: &str,
        password: &str,
        flags: u32,
    ) -> Result<()> {
        self.drv.agent_set_user_password(dom, user, password, flags)
    }

    fn domain_get_guest_vcpus(&self, dom: &DomainRef, flags: u32) -> Result<TypedParams> {
        self.drv.agent_guest_vcpus(dom, flags)
    }

    fn domain_get_time(&self, dom: &DomainRef, flags: u32) -> Result<(i64, u32)> {
        self.drv.agent_get_time(dom, flags)
    }

    fn domain_set_time(
        &self,
        dom: &DomainRef,
        seconds: i64,
        nseconds: u32,
        flags: u32,
    ) -> Result<()> {
        self.drv.agent_set_time(dom, seconds, nseconds, flags)
    }

    fn domain_fs_freeze(&self, dom: &DomainRef, mountpoints: &[String], flags: u32) -> Result<i32> {
        self.drv.agent_fs_freeze(dom, mountpoints, true, flags)
    }

    fn domain_fs_thaw(&self, dom: &DomainRef, mountpoints: &[String], flags: u32) -> Result<i32> {
        self.drv.agent_fs_freeze(dom, mountpoints, false, flags)
    }

    fn domain_get_fs_info(&self, dom: &DomainRef, flags: u32) -> Result<Vec<FsInfo>> {
        self.drv.agent_fs_info(dom, flags)
    }

    fn domain_interface_addresses(
        &self,
        dom: &DomainRef,
        source: u32,
        flags: u32,
    ) -> Result<Vec<DomainInterface>> {
        Error::check_flags(flags, 0, "qemuDomainInterfaceAddresses")?;
        if source == crate::agent::ADDRESSES_SRC_AGENT {
            return self.drv.agent_interfaces(dom);
        }
        self.drv.nic_addresses(dom, source)
    }

    fn domain_interface_stats(&self, dom: &DomainRef, device: &str) -> Result<[i64; 8]> {
        self.drv.nic_stats(dom, device)
    }

    fn domain_xml_to_native(&self, format: &str, xml: &str, flags: u32) -> Result<String> {
        Error::check_flags(flags, 0, "qemuConnectDomainXMLToNative")?;
        self.drv.xml_to_native(format, xml)
    }

    fn domain_open_console(
        &self,
        dom: &DomainRef,
        dev: Option<&str>,
        flags: u32,
    ) -> Result<std::os::fd::OwnedFd> {
        // VIR_DOMAIN_CONSOLE_FORCE | VIR_DOMAIN_CONSOLE_SAFE
        Error::check_flags(flags, 1 | 2, "qemuDomainOpenConsole")?;
        self.drv.open_console(dom, dev, flags)
    }

    fn domain_reset(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "qemuDomainReset")?;
        self.drv.reset(dom)
    }

    fn domain_suspend(&self, dom: &DomainRef) -> Result<()> {
        self.drv.suspend(dom)
    }

    fn domain_resume(&self, dom: &DomainRef) -> Result<()> {
        self.drv.resume(dom)
    }

    fn domain_get_info(&self, dom: &DomainRef) -> Result<DomainInfo> {
        let d = self.drv.get(dom)?;
        let st = d.lock();
        let def = st
            .current_def()
            .ok_or_else(|| Error::internal(QEMU, "domain has no definition"))?;
        Ok(DomainInfo {
            state: st.state,
            max_mem: def.memory_kib,
            memory: def.current_memory_kib,
            nr_virt_cpu: def.vcpus_current,
            cpu_time: st.live.as_ref().map_or(0, |l| Driver::cpu_time_ns(l.pid)),
        })
    }

    fn domain_get_state(&self, dom: &DomainRef, flags: u32) -> Result<(i32, i32)> {
        Error::check_flags(flags, 0, "qemuDomainGetState")?;
        let d = self.drv.get(dom)?;
        let st = d.lock();
        Ok((st.state, st.reason))
    }

    fn domain_get_xml_desc(&self, dom: &DomainRef, flags: u32) -> Result<String> {
        Error::check_flags(
            flags,
            xmlflags::SECURE | xmlflags::INACTIVE | xmlflags::UPDATE_CPU | xmlflags::MIGRATABLE,
            "qemuDomainGetXMLDesc",
        )?;
        let d = self.drv.get(dom)?;
        let st = d.lock();
        let inactive = flags & xmlflags::INACTIVE != 0 || st.live.is_none();
        let def = if inactive {
            st.persistent.as_ref().or(st.live.as_ref().map(|l| &l.def))
        } else {
            st.current_def()
        }
        .ok_or_else(|| Error::internal(QEMU, "domain has no definition"))?;
        Ok(def.to_xml(&FormatFlags {
            inactive,
            secure: flags & xmlflags::SECURE != 0,
            migratable: flags & xmlflags::MIGRATABLE != 0,
            update_cpu: flags & xmlflags::UPDATE_CPU != 0,
        }))
    }

    fn domain_get_os_type(&self, dom: &DomainRef) -> Result<String> {
        let d = self.drv.get(dom)?;
        let st = d.lock();
        Ok(st
            .current_def()
            .map(|d| d.os.os_type.clone())
            .unwrap_or_else(|| "hvm".into()))
    }

    fn domain_get_max_memory(&self, dom: &DomainRef) -> Result<u64> {
        let d = self.drv.get(dom)?;
        let st = d.lock();
        Ok(st.current_def().map_or(0, |d| d.memory_kib))
    }

    fn domain_get_autostart(&self, dom: &DomainRef) -> Result<bool> {
        Ok(self.drv.get(dom)?.lock().autostart)
    }

    fn domain_set_autostart(&self, dom: &DomainRef, on: bool) -> Result<()> {
        self.drv.set_autostart(dom, on)
    }

    fn domain_is_active(&self, dom: &DomainRef) -> Result<bool> {
        let d = self.drv.get(dom)?;
        let active = d.lock().live.is_some();
        Ok(active)
    }

    fn domain_is_persistent(&self, dom: &DomainRef) -> Result<bool> {
        Ok(self.drv.get(dom)?.lock().persistent.is_some())
    }

    fn domain_has_managed_save(&self, dom: &DomainRef, flags: u32) -> Result<bool> {
        Error::check_flags(flags, 0, "qemuDomainHasManagedSaveImage")?;
        let d = self.drv.get(dom)?;
        let name = d.lock().name.clone();
        Ok(self.drv.has_managed_save(&name))
    }

    fn domain_save(&self, dom: &DomainRef, to: &str, dxml: Option<&str>, flags: u32) -> Result<()> {
        Error::check_flags(flags, SAVE_FLAGS, "qemuDomainSaveFlags")?;
        self.drv.save(dom, Some(to), dxml, flags)
    }

    fn domain_managed_save(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, SAVE_FLAGS, "qemuDomainManagedSave")?;
        self.drv.save(dom, None, None, flags)
    }

    fn domain_managed_save_remove(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        Error::check_flags(flags, 0, "qemuDomainManagedSaveRemove")?;
        self.drv.managed_save_remove(dom)
    }

    fn domain_restore(&self, from: &str, dxml: Option<&str>, flags: u32) -> Result<()> {
        Error::check_flags(
            flags,
            SAVE_FLAGS | save::RESET_NVRAM,
            "qemuDomainRestoreFlags",
        )?;
        self.drv.restore(from, dxml, flags)
    }

    fn domain_save_image_get_xml_desc(&self, path: &str, flags: u32) -> Result<String> {
        Error::check_flags(
            flags,
            save::IMAGE_XML_SECURE,
            "qemuDomainSaveImageGetXMLDesc",
        )?;
        self.drv.save_image_xml(path, flags)
    }

    fn domain_save_image_define_xml(&self, path: &str, xml: &str, flags: u32) -> Result<()> {
        Error::check_flags(
            flags,
            save::RUNNING | save::PAUSED,
            "qemuDomainSaveImageDefineXML",
        )?;
        self.drv.save_image_define(path, xml, flags)
    }

    fn domain_get_job_stats(
        &self,
        dom: &DomainRef,
        flags: u32,
    ) -> Result<(i32, driver::TypedParams)> {
        Error::check_flags(
            flags,
            driver::consts::job::STATS_COMPLETED | driver::consts::job::STATS_KEEP_COMPLETED,
            "qemuDomainGetJobStats",
        )?;
        self.drv.job_stats(dom, flags)
    }

    fn domain_stats(
        &self,
        doms: &[DomainRef],
        stats: u32,
        flags: u32,
    ) -> Result<Vec<(DomainRef, driver::TypedParams)>> {
        self.drv.domain_stats(doms, stats, flags)
    }

    fn domain_memory_stats(&self, dom: &DomainRef, nr: u32, flags: u32) -> Result<Vec<(i32, u64)>> {
        Error::check_flags(flags, 0, "qemuDomainMemoryStats")?;
        self.drv.memory_stats(dom, nr)
    }

    fn domain_block_stats(&self, dom: &DomainRef, path: &str) -> Result<[i64; 5]> {
        self.drv.block_stats(dom, path)
    }

    fn domain_reboot(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        self.drv.reboot(dom, flags)
    }

    fn domain_set_memory(&self, dom: &DomainRef, kib: u64, flags: u32) -> Result<()> {
        self.drv.set_memory(dom, kib, flags)
    }

    fn domain_set_max_memory(&self, dom: &DomainRef, kib: u64) -> Result<()> {
        self.drv
            .set_memory(dom, kib, driver::consts::affect::MAXIMUM)
    }

    fn domain_screenshot(
        &self,
        dom: &DomainRef,
        screen: u32,
        flags: u32,
    ) -> Result<(String, std::os::fd::OwnedFd)> {
        self.drv.screenshot(dom, screen, flags)
    }

    fn domain_inject_nmi(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        self.drv.inject_nmi(dom, flags)
    }

    fn domain_send_key(
        &self,
        dom: &DomainRef,
        codeset: u32,
        holdtime: u32,
        keycodes: &[u32],
        flags: u32,
    ) -> Result<()> {
        self.drv.send_key(dom, codeset, holdtime, keycodes, flags)
    }

    fn domain_pm_wakeup(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        self.drv.pm_wakeup(dom, flags)
    }

    fn domain_pm_suspend_for_duration(
        &self,
        dom: &DomainRef,
        target: u32,
        duration: u64,
        flags: u32,
    ) -> Result<()> {
        self.drv.pm_suspend(dom, target, duration, flags)
    }

    fn domain_core_dump(&self, dom: &DomainRef, to: &str, format: u32, flags: u32) -> Result<()> {
        self.drv.core_dump(dom, to, format, flags)
    }

    fn domain_abort_job(&self, dom: &DomainRef, flags: u32) -> Result<()> {
        // VIR_DOMAIN_ABORT_JOB_POSTCOPY: only for migrations.
        Error::check_flags(flags, 1, "qemuDomainAbortJobFlags")?;
        self.drv.abort_job(dom)
    }

    fn domain_attach_device(&self, dom: &DomainRef, xml: &str, flags: u32) -> Result<()> {
        self.drv.attach_device(dom, xml, flags)
    }

    fn domain_detach_device(&self, dom: &DomainRef, xml: &str, flags: u32) -> Result<()> {
        self.drv.detach_device(dom, xml, flags)
    }

    fn domain_detach_device_alias(&self, dom: &DomainRef, alias: &str, flags: u32) -> Result<()> {
        self.drv.detach_device_alias(dom, alias, flags)
    }

    fn domain_update_device(&self, dom: &DomainRef, xml: &str, flags: u32) -> Result<()> {
        self.drv.update_device(dom, xml, flags)
    }

    fn domain_set_vcpus(&self, dom: &DomainRef, n: u32, flags: u32) -> Result<()> {
        self.drv.set_vcpus(dom, n, flags)
    }

    fn domain_get_scheduler_type(&self, dom: &DomainRef) -> Result<(String, i32)> {
        self.drv.get(dom)?;
        if !crate::cgroup::usable(&self.drv.conf) {
            return Err(Error::new(
                driver::error::ErrorCode::OperationInvalid,
                QEMU,
                "cgroup CPU controller is not mounted",
            ));
        }
        Ok(("posix".into(), 9))
    }

    fn domain_get_scheduler_parameters(&self, dom: &DomainRef, flags: u32) -> Result<TypedParams> {
        self.drv.scheduler_parameters(dom, flags)
    }

    fn domain_get_memory_parameters(&self, dom: &DomainRef, flags: u32) -> Result<TypedParams> {
        self.drv.memory_parameters(dom, flags)
    }

    fn domain_get_vcpus(
        &self,
        dom: &DomainRef,
        maxinfo: usize,
        maplen: usize,
    ) -> Result<(Vec<driver::VcpuInfo>, Vec<u8>)> {
        self.drv.vcpu_info(dom, maxinfo, maplen)
    }

    fn node_cpu_map(&self, flags: u32) -> Result<(i32, Vec<u8>, u32)> {
        crate::vcpu::node_cpu_map(flags)
    }

    fn node_info(&self) -> Result<driver::NodeInfo> {
        Ok(driver::nodeinfo::node_info())
    }

    fn node_free_memory(&self) -> Result<u64> {
        Ok(driver::nodeinfo::free_memory())
    }

    fn domain_pin_vcpu(&self, dom: &DomainRef, vcpu: u32, cpumap: &[u8], flags: u32) -> Result<()> {
        self.drv.pin_vcpu(dom, vcpu, cpumap, flags)
    }

    fn domain_get_vcpus_flags(&self, dom: &DomainRef, flags: u32) -> Result<i32> {
        self.drv.get_vcpus(dom, flags)
    }

    fn domain_block_pull(
        &self,
        dom: &DomainRef,
        disk: &str,
        base: Option<&str>,
        bandwidth: u64,
        flags: u32,
    ) -> Result<()> {
        self.drv.block_pull(dom, disk, base, bandwidth, flags)
    }

    fn domain_checkpoint_create_xml(
        &self,
        dom: &DomainRef,
        xml: &str,
        flags: u32,
    ) -> Result<String> {
        self.drv.checkpoint_create(dom, xml, flags)
    }

    fn domain_list_checkpoints(&self, dom: &DomainRef, flags: u32) -> Result<Vec<String>> {
        self.drv
            .checkpoint_names(dom, None, flags, "qemuDomainListAllCheckpoints")
    }

    fn domain_checkpoint_list_children(
        &self,
        dom: &DomainRef,
        chk: &str,
        flags: u32,
    ) -> Result<Vec<String>> {
        self.drv
            .checkpoint_names(dom, Some(chk), flags, "qemuDomainCheckpointListAllChildren")
    }

    fn domain_checkpoint_lookup_by_name(
        &self,
        dom: &DomainRef,
        name: &str,
        flags: u32,
    ) -> Result<String> {
        self.drv.checkpoint_lookup(dom, name, flags)
    }

    fn domain_checkpoint_get_parent(
        &self,
        dom: &DomainRef,
        chk: &str,
        flags: u32,
    ) -> Result<String> {
        self.drv.checkpoint_parent(dom, chk, flags)
    }

    fn domain_checkpoint_get_xml_desc(
        &self,
        dom: &DomainRef,
        chk: &str,
        flags: u32,
    ) -> Result<String> {
        self.drv.checkpoint_xml(dom, chk, flags)
    }

    fn domain_checkpoint_delete(&self, dom: &DomainRef, chk: &str, flags: u32) -> Result<()> {
        self.drv.checkpoint_delete(dom, chk, flags)
    }

    fn domain_block_rebase_copy(
        &self,
        dom: &DomainRef,
        disk: &str,
        dest: Option<&str>,
        bandwidth: u64,
        flags: u32,
    ) -> Result<()> {
        self.drv
            .block_rebase_copy(dom, disk, dest, bandwidth, flags)
    }

    fn domain_block_copy(
        &self,
        dom: &DomainRef,
        disk: &str,
        destxml: &str,
        params: &driver::TypedParams,
        flags: u32,
    ) -> Result<()> {
        self.drv.block_copy(dom, disk, destxml, params, flags)
    }

    fn domain_block_commit(
        &self,
        dom: &DomainRef,
        disk: &str,
        base: Option<&str>,
        top: Option<&str>,
        bandwidth: u64,
        flags: u32,
    ) -> Result<()> {
        self.drv
            .block_commit(dom, disk, base, top, bandwidth, flags)
    }

    fn domain_get_block_job_info(
        &self,
        dom: &DomainRef,
        disk: &str,
        flags: u32,
    ) -> Result<Option<driver::BlockJobInfo>> {
        self.drv.block_job_info(dom, disk, flags)
    }

    fn domain_block_job_abort(&self, dom: &DomainRef, disk: &str, flags: u32) -> Result<()> {
        self.drv.block_job_abort(dom, disk, flags)
    }

    fn domain_block_job_set_speed(
        &self,
        dom: &DomainRef,
        disk: &str,
        bandwidth: u64,
        flags: u32,
    ) -> Result<()> {
        self.drv.block_job_set_speed(dom, disk, bandwidth, flags)
    }

    fn domain_block_resize(
        &self,
        dom: &DomainRef,
        disk: &str,
        size: u64,
        flags: u32,
    ) -> Result<()> {
        self.drv.block_resize(dom, disk, size, flags)
    }

    fn domain_snapshot_num(&self, dom: &DomainRef, flags: u32) -> Result<i32> {
        let n = self
            .drv
            .snapshot_names(dom, None, flags, "qemuDomainSnapshotNum")?
            .len();
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }

    fn domain_list_snapshots(&self, dom: &DomainRef, flags: u32) -> Result<Vec<String>> {
        self.drv
            .snapshot_names(dom, None, flags, "qemuDomainListAllSnapshots")
    }

    fn domain_snapshot_create_xml(&self, dom: &DomainRef, xml: &str, flags: u32) -> Result<String> {
        self.drv.snapshot_create(dom, xml, flags)
    }

    fn domain_snapshot_list_children(
        &self,
        dom: &DomainRef,
        snap: &str,
        flags: u32,
    ) -> Result<Vec<String>> {
        self.drv
            .snapshot_names(dom, Some(snap), flags, "qemuDomainSnapshotListAllChildren")
    }

    fn domain_snapshot_lookup_by_name(
        &self,
        dom: &DomainRef,
        name: &str,
        flags: u32,
    ) -> Result<String> {
        Error::check_flags(flags, 0, "qemuDomainSnapshotLookupByName")?;
        self.drv.snapshot_lookup(dom, name)
    }

    fn domain_has_current_snapshot(&self, dom: &DomainRef, flags: u32) -> Result<bool> {
        Error::check_flags(flags, 0, "qemuDomainHasCurrentSnapshot")?;
        Ok(self.drv.snapshot_current(dom)?.is_some())
    }

    fn domain_snapshot_current(&self, dom: &DomainRef, flags: u32) -> Result<String> {
        Error::check_flags(flags, 0, "qemuDomainSnapshotCurrent")?;
        self.drv.snapshot_current(dom)?.ok_or_else(|| {
            Error::new(
                driver::error::ErrorCode::NoDomainSnapshot,
                crate::state::QEMU,
                "the domain does not have a current snapshot",
            )
        })
    }

    fn domain_snapshot_get_parent(
        &self,
        dom: &DomainRef,
        snap: &str,
        flags: u32,
    ) -> Result<String> {
        Error::check_flags(flags, 0, "qemuDomainSnapshotGetParent")?;
        self.drv.snapshot_parent(dom, snap)
    }

    fn domain_snapshot_get_xml_desc(
        &self,
        dom: &DomainRef,
        snap: &str,
        flags: u32,
    ) -> Result<String> {
        Error::check_flags(flags, xmlflags::SECURE, "qemuDomainSnapshotGetXMLDesc")?;
        self.drv
            .snapshot_xml(dom, snap, flags & xmlflags::SECURE != 0)
    }

    fn domain_snapshot_is_current(&self, dom: &DomainRef, snap: &str, flags: u32) -> Result<bool> {
        Error::check_flags(flags, 0, "qemuDomainSnapshotIsCurrent")?;
        self.drv.snapshot_lookup(dom, snap)?;
        Ok(self.drv.snapshot_current(dom)?.as_deref() == Some(snap))
    }

    fn domain_snapshot_has_metadata(
        &self,
        dom: &DomainRef,
        snap: &str,
        flags: u32,
    ) -> Result<bool> {
        Error::check_flags(flags, 0, "qemuDomainSnapshotHasMetadata")?;
        self.drv.snapshot_lookup(dom, snap).map(|_| true)
    }

    fn domain_revert_to_snapshot(&self, dom: &DomainRef, snap: &str, flags: u32) -> Result<()> {
        self.drv.snapshot_revert(dom, snap, flags)
    }

    fn domain_snapshot_delete(&self, dom: &DomainRef, snap: &str, flags: u32) -> Result<()> {
        self.drv.snapshot_delete(dom, snap, flags)
    }

    // Migration (crate::migration).

    fn supports_feature(&self, feature: i32) -> Result<bool> {
        Ok(Driver::supports_feature(feature))
    }

    fn domain_migrate_begin3_params(
        &self,
        dom: &DomainRef,
        params: &TypedParams,
        flags: u32,
    ) -> Result<(Vec<u8>, String)> {
        self.drv.migrate_begin(dom, params, flags, self.id)
    }

    fn domain_migrate_prepare3_params(
        &self,
        params: &TypedParams,
        cookie_in: &[u8],
        flags: u32,
    ) -> Result<(Vec<u8>, Option<String>)> {
        self.drv.migrate_prepare(params, cookie_in, flags, self.id)
    }

    fn domain_migrate_perform3_params(
        &self,
        dom: &DomainRef,
        _dconnuri: Option<&str>,
        params: &TypedParams,
        cookie_in: &[u8],
        flags: u32,
    ) -> Result<Vec<u8>> {
        self.drv.migrate_perform(dom, params, cookie_in, flags)
    }

    fn domain_migrate_finish3_params(
        &self,
        params: &TypedParams,
        cookie_in: &[u8],
        flags: u32,
        cancelled: bool,
    ) -> Result<(DomainRef, Vec<u8>)> {
        self.drv.migrate_finish(params, cookie_in, flags, cancelled)
    }

    fn domain_migrate_confirm3_params(
        &self,
        dom: &DomainRef,
        params: &TypedParams,
        cookie_in: &[u8],
        flags: u32,
        cancelled: bool,
    ) -> Result<()> {
        self.drv
            .migrate_confirm(dom, params, cookie_in, flags, cancelled)
    }

    fn domain_migrate_set_max_downtime(&self, dom: &DomainRef, ms: u64, flags: u32) -> Result<()> {
        self.drv.set_max_downtime(dom, ms, flags)
    }

    fn domain_migrate_get_max_downtime(&self, dom: &DomainRef, flags: u32) -> Result<u64> {
        self.drv.get_max_downtime(dom, flags)
    }

    fn domain_migrate_set_max_speed(&self, dom: &DomainRef, mibps: u64, flags: u32) -> Result<()> {
        self.drv.set_max_speed(dom, mibps, flags)
    }

    fn domain_migrate_get_max_speed(&self, dom: &DomainRef, flags: u32) -> Result<u64> {
        self.drv.get_max_speed(dom, flags)
    }

    // Host PCI devices for assignment (libvirt's qemuNodeDevice*): the
    // device's XML comes from the node device driver, the host side from
    // driver_nodedev::hostdev, errors from this driver's domain.

    fn node_device_dettach(&self, dev: &NodeDeviceRef) -> Result<()> {
        self.node_device_detach_flags(dev, None, 0)
    }

    fn node_device_detach_flags(
        &self,
        dev: &NodeDeviceRef,
        driver_name: Option<&str>,
        flags: u32,
    ) -> Result<()> {
        let hd = driver_nodedev::hostdev::Hostdev::new(QEMU);
        // The flags, the stub driver's name and VFIO's presence are
        // checked before the device is looked up, as libvirt does: these
        // errors come whatever the device.
        if flags != 0 || driver_name.is_some_and(|n| n != "vfio") || !hd.vfio_supported() {
            return hd.detach("", driver_name, flags);
        }
        let xml = self.nodedev_pci_xml(dev)?;
        hd.detach(&xml, driver_name, flags)
    }

    fn node_device_reattach(&self, dev: &NodeDeviceRef) -> Result<()> {
        let xml = self.nodedev_pci_xml(dev)?;
        driver_nodedev::hostdev::Hostdev::new(QEMU).reattach(&xml)
    }

    fn node_device_reset(&self, dev: &NodeDeviceRef) -> Result<()> {
        let xml = self.nodedev_pci_xml(dev)?;
        driver_nodedev::hostdev::Hostdev::new(QEMU).reset(&xml)
    }
}

impl QemuConnection {
    /// The node device's XML as the node device driver gives it
    /// (libvirt's virGetConnectNodeDev + virNodeDeviceGetXMLDesc): the
    /// node device driver's code run on the host's sysfs, so an unknown
    /// name gets its "Node device not found" error.
    fn nodedev_xml(&self, dev: &NodeDeviceRef) -> Result<String> {
        driver_nodedev::NodedevDriver::new(
            driver_nodedev::udev::Sysfs::default(),
            self.drv.opts.privileged,
        )
        .xml(&dev.name, 0)
    }

    /// [`Self::nodedev_xml`] of a PCI device: another device is refused
    /// from VIR_FROM_DOMAIN, as libvirt's common hypervisor code does.
    fn nodedev_pci_xml(&self, dev: &NodeDeviceRef) -> Result<String> {
        let xml = self.nodedev_xml(dev)?;
        driver_nodedev::hostdev::Hostdev::new(driver::error::ErrorDomain::Domain)
            .pci_address(&xml)?;
        Ok(xml)
    }
}
