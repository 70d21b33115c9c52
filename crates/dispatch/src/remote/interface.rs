// SPDX-License-Identifier: LGPL-2.1-or-later
//! Host interface procedures.

use protocol::procs::RemoteInterface;
use protocol::remote as r;

use super::{list_all, names_of, Call, R};
use crate::convert::{iface_in, iface_out};

impl RemoteInterface for Call<'_> {
    fn interface_change_begin(&self, args: r::InterfaceChangeBeginArgs) -> R<()> {
        self.iface(|c| c.interface_change_begin(args.flags))
    }

    fn interface_change_commit(&self, args: r::InterfaceChangeCommitArgs) -> R<()> {
        self.iface(|c| c.interface_change_commit(args.flags))
    }

    fn interface_change_rollback(&self, args: r::InterfaceChangeRollbackArgs) -> R<()> {
        self.iface(|c| c.interface_change_rollback(args.flags))
    }

    fn connect_list_all_interfaces(
        &self,
        args: r::ConnectListAllInterfacesArgs,
    ) -> R<r::ConnectListAllInterfacesRet> {
        let v = self.iface(|c| c.list_all_interfaces(args.flags))?;
        let (ifaces, ret) = list_all(
            v,
            args.need_results,
            r::INTERFACE_LIST_MAX,
            "interfaces",
            iface_out,
        )?;
        Ok(r::ConnectListAllInterfacesRet { ifaces, ret })
    }

    fn connect_num_of_interfaces(&self) -> R<r::ConnectNumOfInterfacesRet> {
        let v = self.iface(|c| c.interface_list_names(true))?;
        Ok(r::ConnectNumOfInterfacesRet {
            num: v.len() as i32,
        })
    }

    fn connect_num_of_defined_interfaces(&self) -> R<r::ConnectNumOfDefinedInterfacesRet> {
        let v = self.iface(|c| c.interface_list_names(false))?;
        Ok(r::ConnectNumOfDefinedInterfacesRet {
            num: v.len() as i32,
        })
    }

    fn connect_list_interfaces(
        &self,
        args: r::ConnectListInterfacesArgs,
    ) -> R<r::ConnectListInterfacesRet> {
        let v = self.iface(|c| c.interface_list_names(true))?;
        Ok(r::ConnectListInterfacesRet {
            names: names_of(v, args.maxnames, |n| n),
        })
    }

    fn connect_list_defined_interfaces(
        &self,
        args: r::ConnectListDefinedInterfacesArgs,
    ) -> R<r::ConnectListDefinedInterfacesRet> {
        let v = self.iface(|c| c.interface_list_names(false))?;
        Ok(r::ConnectListDefinedInterfacesRet {
            names: names_of(v, args.maxnames, |n| n),
        })
    }

    fn interface_lookup_by_name(
        &self,
        args: r::InterfaceLookupByNameArgs,
    ) -> R<r::InterfaceLookupByNameRet> {
        let iface = self.iface(|c| c.interface_lookup_by_name(&args.name))?;
        Ok(r::InterfaceLookupByNameRet {
            iface: iface_out(iface),
        })
    }

    fn interface_lookup_by_mac_string(
        &self,
        args: r::InterfaceLookupByMacStringArgs,
    ) -> R<r::InterfaceLookupByMacStringRet> {
        let iface = self.iface(|c| c.interface_lookup_by_mac(&args.mac))?;
        Ok(r::InterfaceLookupByMacStringRet {
            iface: iface_out(iface),
        })
    }

    fn interface_get_xml_desc(
        &self,
        args: r::InterfaceGetXmlDescArgs,
    ) -> R<r::InterfaceGetXmlDescRet> {
        Ok(r::InterfaceGetXmlDescRet {
            xml: self.iface(|c| c.interface_get_xml_desc(&iface_in(&args.iface), args.flags))?,
        })
    }

    fn interface_define_xml(&self, args: r::InterfaceDefineXmlArgs) -> R<r::InterfaceDefineXmlRet> {
        let iface = self.iface(|c| c.interface_define_xml(&args.xml, args.flags))?;
        Ok(r::InterfaceDefineXmlRet {
            iface: iface_out(iface),
        })
    }

    fn interface_undefine(&self, args: r::InterfaceUndefineArgs) -> R<()> {
        self.iface(|c| c.interface_undefine(&iface_in(&args.iface)))
    }

    fn interface_create(&self, args: r::InterfaceCreateArgs) -> R<()> {
        self.iface(|c| c.interface_create(&iface_in(&args.iface), args.flags))
    }

    fn interface_destroy(&self, args: r::InterfaceDestroyArgs) -> R<()> {
        self.iface(|c| c.interface_destroy(&iface_in(&args.iface), args.flags))
    }

    fn interface_is_active(&self, args: r::InterfaceIsActiveArgs) -> R<r::InterfaceIsActiveRet> {
        let active = self.iface(|c| c.interface_is_active(&iface_in(&args.iface)))?;
        Ok(r::InterfaceIsActiveRet {
            active: i32::from(active),
        })
    }
}
