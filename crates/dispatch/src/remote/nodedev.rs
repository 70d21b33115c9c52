// SPDX-License-Identifier: LGPL-2.1-or-later
//! Node device procedures and node device event registrations.

use driver::NodeDeviceRef;
use protocol::procs::RemoteNodeDevice;
use protocol::remote as r;

use super::events::Kind;
use super::{limit_check, list_all, Call, R};
use crate::convert::dev_out;

impl RemoteNodeDevice for Call<'_> {
    fn connect_list_all_node_devices(
        &self,
        args: r::ConnectListAllNodeDevicesArgs,
    ) -> R<r::ConnectListAllNodeDevicesRet> {
        let v = self.nodedev(|c| c.list_all_node_devices(args.flags))?;
        let (devices, ret) = list_all(
            v,
            args.need_results,
            r::NODE_DEVICE_LIST_MAX,
            "node devices",
            dev_out,
        )?;
        Ok(r::ConnectListAllNodeDevicesRet { devices, ret })
    }

    fn node_num_of_devices(&self, args: r::NodeNumOfDevicesArgs) -> R<r::NodeNumOfDevicesRet> {
        let n = self.nodedev(|c| c.node_num_of_devices(args.cap.as_deref(), args.flags))?;
        Ok(r::NodeNumOfDevicesRet { num: n as i32 })
    }

    fn node_list_devices(&self, args: r::NodeListDevicesArgs) -> R<r::NodeListDevicesRet> {
        let max = args.maxnames.max(0) as usize;
        limit_check(max, r::NODE_DEVICE_LIST_MAX, "node devices")?;
        let mut names = self.nodedev(|c| c.node_list_devices(args.cap.as_deref(), args.flags))?;
        names.truncate(max);
        Ok(r::NodeListDevicesRet { names })
    }

    fn node_device_lookup_by_name(
        &self,
        args: r::NodeDeviceLookupByNameArgs,
    ) -> R<r::NodeDeviceLookupByNameRet> {
        let dev = self.nodedev(|c| c.node_device_lookup_by_name(&args.name))?;
        Ok(r::NodeDeviceLookupByNameRet { dev: dev_out(dev) })
    }

    fn node_device_get_xml_desc(
        &self,
        args: r::NodeDeviceGetXmlDescArgs,
    ) -> R<r::NodeDeviceGetXmlDescRet> {
        let dev = NodeDeviceRef { name: args.name };
        Ok(r::NodeDeviceGetXmlDescRet {
            xml: self.nodedev(|c| c.node_device_get_xml_desc(&dev, args.flags))?,
        })
    }

    fn node_device_get_parent(
        &self,
        args: r::NodeDeviceGetParentArgs,
    ) -> R<r::NodeDeviceGetParentRet> {
        let dev = NodeDeviceRef { name: args.name };
        Ok(r::NodeDeviceGetParentRet {
            parent_name: self.nodedev(|c| c.node_device_get_parent(&dev))?,
        })
    }

    fn node_device_num_of_caps(
        &self,
        args: r::NodeDeviceNumOfCapsArgs,
    ) -> R<r::NodeDeviceNumOfCapsRet> {
        let dev = NodeDeviceRef { name: args.name };
        let caps = self.nodedev(|c| c.node_device_list_caps(&dev))?;
        Ok(r::NodeDeviceNumOfCapsRet {
            num: caps.len() as i32,
        })
    }

    fn node_device_list_caps(
        &self,
        args: r::NodeDeviceListCapsArgs,
    ) -> R<r::NodeDeviceListCapsRet> {
        let dev = NodeDeviceRef { name: args.name };
        let mut names = self.nodedev(|c| c.node_device_list_caps(&dev))?;
        names.truncate(args.maxnames.max(0) as usize);
        Ok(r::NodeDeviceListCapsRet { names })
    }

    fn node_device_create_xml(
        &self,
        args: r::NodeDeviceCreateXmlArgs,
    ) -> R<r::NodeDeviceCreateXmlRet> {
        let dev = self.nodedev(|c| c.node_device_create_xml(&args.xml_desc, args.flags))?;
        Ok(r::NodeDeviceCreateXmlRet { dev: dev_out(dev) })
    }

    fn node_device_destroy(&self, args: r::NodeDeviceDestroyArgs) -> R<()> {
        self.nodedev(|c| c.node_device_destroy(&NodeDeviceRef { name: args.name }))
    }

    fn node_device_lookup_scsi_host_by_wwn(
        &self,
        args: r::NodeDeviceLookupScsiHostByWwnArgs,
    ) -> R<r::NodeDeviceLookupScsiHostByWwnRet> {
        let dev = self.nodedev(|c| {
            c.node_device_lookup_scsi_host_by_wwn(&args.wwnn, &args.wwpn, args.flags)
        })?;
        Ok(r::NodeDeviceLookupScsiHostByWwnRet { dev: dev_out(dev) })
    }

    fn node_device_define_xml(
        &self,
        args: r::NodeDeviceDefineXmlArgs,
    ) -> R<r::NodeDeviceDefineXmlRet> {
        let dev = self.nodedev(|c| c.node_device_define_xml(&args.xml_desc, args.flags))?;
        Ok(r::NodeDeviceDefineXmlRet { dev: dev_out(dev) })
    }

    fn node_device_undefine(&self, args: r::NodeDeviceUndefineArgs) -> R<()> {
        let dev = NodeDeviceRef { name: args.name };
        self.nodedev(|c| c.node_device_undefine(&dev, args.flags))
    }

    fn node_device_create(&self, args: r::NodeDeviceCreateArgs) -> R<()> {
        let dev = NodeDeviceRef { name: args.name };
        self.nodedev(|c| c.node_device_create(&dev, args.flags))
    }

    fn node_device_get_autostart(
        &self,
        args: r::NodeDeviceGetAutostartArgs,
    ) -> R<r::NodeDeviceGetAutostartRet> {
        let dev = NodeDeviceRef { name: args.name };
        let on = self.nodedev(|c| c.node_device_get_autostart(&dev))?;
        Ok(r::NodeDeviceGetAutostartRet {
            autostart: i32::from(on),
        })
    }

    fn node_device_set_autostart(&self, args: r::NodeDeviceSetAutostartArgs) -> R<()> {
        let dev = NodeDeviceRef { name: args.name };
        self.nodedev(|c| c.node_device_set_autostart(&dev, args.autostart != 0))
    }

    fn node_device_is_persistent(
        &self,
        args: r::NodeDeviceIsPersistentArgs,
    ) -> R<r::NodeDeviceIsPersistentRet> {
        let dev = NodeDeviceRef { name: args.name };
        let p = self.nodedev(|c| c.node_device_is_persistent(&dev))?;
        Ok(r::NodeDeviceIsPersistentRet {
            persistent: i32::from(p),
        })
    }

    fn node_device_is_active(
        &self,
        args: r::NodeDeviceIsActiveArgs,
    ) -> R<r::NodeDeviceIsActiveRet> {
        let dev = NodeDeviceRef { name: args.name };
        let a = self.nodedev(|c| c.node_device_is_active(&dev))?;
        Ok(r::NodeDeviceIsActiveRet {
            active: i32::from(a),
        })
    }

    // Detaching, reattaching and resetting are the hypervisor driver's
    // (the client's own connection), as libvirt routes them.

    fn node_device_dettach(&self, args: r::NodeDeviceDettachArgs) -> R<()> {
        self.driver(|c| c.node_device_dettach(&NodeDeviceRef { name: args.name }))
    }

    fn node_device_detach_flags(&self, args: r::NodeDeviceDetachFlagsArgs) -> R<()> {
        let dev = NodeDeviceRef { name: args.name };
        self.driver(|c| c.node_device_detach_flags(&dev, args.driver_name.as_deref(), args.flags))
    }

    fn node_device_re_attach(&self, args: r::NodeDeviceReAttachArgs) -> R<()> {
        self.driver(|c| c.node_device_reattach(&NodeDeviceRef { name: args.name }))
    }

    fn node_device_reset(&self, args: r::NodeDeviceResetArgs) -> R<()> {
        self.driver(|c| c.node_device_reset(&NodeDeviceRef { name: args.name }))
    }

    // ---- event registrations ----

    fn connect_node_device_event_register_any(
        &self,
        args: r::ConnectNodeDeviceEventRegisterAnyArgs,
    ) -> R<r::ConnectNodeDeviceEventRegisterAnyRet> {
        let filter = args.dev.map(|d| d.name.into_bytes());
        let callback_id = self.register(Kind::NodeDevice, args.event_id, filter)?;
        Ok(r::ConnectNodeDeviceEventRegisterAnyRet { callback_id })
    }

    fn connect_node_device_event_deregister_any(
        &self,
        args: r::ConnectNodeDeviceEventDeregisterAnyArgs,
    ) -> R<()> {
        self.deregister_id(args.callback_id)
    }
}
