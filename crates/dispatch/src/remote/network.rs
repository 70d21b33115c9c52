// SPDX-License-Identifier: LGPL-2.1-or-later
//! Virtual network procedures: listing and lookup, definition, lifecycle,
//! updates and network event registrations.

use driver::consts::list_net;
use protocol::procs::RemoteNetwork;
use protocol::remote as r;

use super::events::Kind;
use super::{limit_check, list_all, names_of, Call, R};
use crate::convert::{net_in, net_out, params_in, params_out, port_in, port_out};

impl RemoteNetwork for Call<'_> {
    // ---- listing and lookup ----

    fn connect_list_all_networks(
        &self,
        args: r::ConnectListAllNetworksArgs,
    ) -> R<r::ConnectListAllNetworksRet> {
        let v = self.network(|c| c.list_all_networks(args.flags))?;
        let (nets, ret) = list_all(
            v,
            args.need_results,
            r::NETWORK_LIST_MAX,
            "networks",
            net_out,
        )?;
        Ok(r::ConnectListAllNetworksRet { nets, ret })
    }

    fn connect_num_of_networks(&self) -> R<r::ConnectNumOfNetworksRet> {
        let v = self.network(|c| c.list_all_networks(list_net::ACTIVE))?;
        Ok(r::ConnectNumOfNetworksRet {
            num: v.len() as i32,
        })
    }

    fn connect_num_of_defined_networks(&self) -> R<r::ConnectNumOfDefinedNetworksRet> {
        let v = self.network(|c| c.list_all_networks(list_net::INACTIVE))?;
        Ok(r::ConnectNumOfDefinedNetworksRet {
            num: v.len() as i32,
        })
    }

    fn connect_list_networks(
        &self,
        args: r::ConnectListNetworksArgs,
    ) -> R<r::ConnectListNetworksRet> {
        let v = self.network(|c| c.list_all_networks(list_net::ACTIVE))?;
        Ok(r::ConnectListNetworksRet {
            names: names_of(v, args.maxnames, |n| n.name),
        })
    }

    fn connect_list_defined_networks(
        &self,
        args: r::ConnectListDefinedNetworksArgs,
    ) -> R<r::ConnectListDefinedNetworksRet> {
        let v = self.network(|c| c.list_all_networks(list_net::INACTIVE))?;
        Ok(r::ConnectListDefinedNetworksRet {
            names: names_of(v, args.maxnames, |n| n.name),
        })
    }

    fn network_lookup_by_name(
        &self,
        args: r::NetworkLookupByNameArgs,
    ) -> R<r::NetworkLookupByNameRet> {
        let net = self.network(|c| c.network_lookup_by_name(&args.name))?;
        Ok(r::NetworkLookupByNameRet { net: net_out(net) })
    }

    fn network_lookup_by_uuid(
        &self,
        args: r::NetworkLookupByUuidArgs,
    ) -> R<r::NetworkLookupByUuidRet> {
        let net = self.network(|c| c.network_lookup_by_uuid(&args.uuid))?;
        Ok(r::NetworkLookupByUuidRet { net: net_out(net) })
    }

    // ---- definition and lifecycle ----

    fn network_define_xml(&self, args: r::NetworkDefineXmlArgs) -> R<r::NetworkDefineXmlRet> {
        let net = self.network(|c| c.network_define_xml(&args.xml, 0))?;
        Ok(r::NetworkDefineXmlRet { net: net_out(net) })
    }

    fn network_define_xml_flags(
        &self,
        args: r::NetworkDefineXmlFlagsArgs,
    ) -> R<r::NetworkDefineXmlFlagsRet> {
        let net = self.network(|c| c.network_define_xml(&args.xml, args.flags))?;
        Ok(r::NetworkDefineXmlFlagsRet { net: net_out(net) })
    }

    fn network_create_xml(&self, args: r::NetworkCreateXmlArgs) -> R<r::NetworkCreateXmlRet> {
        let net = self.network(|c| c.network_create_xml(&args.xml, 0))?;
        Ok(r::NetworkCreateXmlRet { net: net_out(net) })
    }

    fn network_create_xml_flags(
        &self,
        args: r::NetworkCreateXmlFlagsArgs,
    ) -> R<r::NetworkCreateXmlFlagsRet> {
        let net = self.network(|c| c.network_create_xml(&args.xml, args.flags))?;
        Ok(r::NetworkCreateXmlFlagsRet { net: net_out(net) })
    }

    fn network_undefine(&self, args: r::NetworkUndefineArgs) -> R<()> {
        self.network(|c| c.network_undefine(&net_in(&args.net)))
    }

    fn network_create(&self, args: r::NetworkCreateArgs) -> R<()> {
        self.network(|c| c.network_create(&net_in(&args.net)))
    }

    fn network_destroy(&self, args: r::NetworkDestroyArgs) -> R<()> {
        self.network(|c| c.network_destroy(&net_in(&args.net)))
    }

    fn network_update(&self, args: r::NetworkUpdateArgs) -> R<()> {
        self.network(|c| {
            c.network_update(
                &net_in(&args.net),
                args.command,
                args.section,
                args.parent_index,
                &args.xml,
                args.flags,
            )
        })
    }

    // ---- state ----

    fn network_get_xml_desc(&self, args: r::NetworkGetXmlDescArgs) -> R<r::NetworkGetXmlDescRet> {
        Ok(r::NetworkGetXmlDescRet {
            xml: self.network(|c| c.network_get_xml_desc(&net_in(&args.net), args.flags))?,
        })
    }

    fn network_get_bridge_name(
        &self,
        args: r::NetworkGetBridgeNameArgs,
    ) -> R<r::NetworkGetBridgeNameRet> {
        Ok(r::NetworkGetBridgeNameRet {
            name: self.network(|c| c.network_get_bridge_name(&net_in(&args.net)))?,
        })
    }

    fn network_get_autostart(
        &self,
        args: r::NetworkGetAutostartArgs,
    ) -> R<r::NetworkGetAutostartRet> {
        let on = self.network(|c| c.network_get_autostart(&net_in(&args.net)))?;
        Ok(r::NetworkGetAutostartRet {
            autostart: i32::from(on),
        })
    }

    fn network_set_autostart(&self, args: r::NetworkSetAutostartArgs) -> R<()> {
        self.network(|c| c.network_set_autostart(&net_in(&args.net), args.autostart != 0))
    }

    fn network_is_active(&self, args: r::NetworkIsActiveArgs) -> R<r::NetworkIsActiveRet> {
        let active = self.network(|c| c.network_is_active(&net_in(&args.net)))?;
        Ok(r::NetworkIsActiveRet {
            active: i32::from(active),
        })
    }

    fn network_is_persistent(
        &self,
        args: r::NetworkIsPersistentArgs,
    ) -> R<r::NetworkIsPersistentRet> {
        let persistent = self.network(|c| c.network_is_persistent(&net_in(&args.net)))?;
        Ok(r::NetworkIsPersistentRet {
            persistent: i32::from(persistent),
        })
    }

    fn network_get_dhcp_leases(
        &self,
        args: r::NetworkGetDhcpLeasesArgs,
    ) -> R<r::NetworkGetDhcpLeasesRet> {
        let v = self.network(|c| {
            c.network_get_dhcp_leases(&net_in(&args.net), args.mac.as_deref(), args.flags)
        })?;
        limit_check(v.len(), r::NETWORK_DHCP_LEASES_MAX, "leases")?;
        let ret = v.len() as u32;
        let leases = if args.need_results != 0 {
            v.into_iter()
                .map(|l| r::NetworkDhcpLease {
                    iface: l.iface,
                    expirytime: l.expirytime,
                    r#type: l.r#type,
                    mac: l.mac,
                    iaid: l.iaid,
                    ipaddr: l.ipaddr,
                    prefix: l.prefix,
                    hostname: l.hostname,
                    clientid: l.clientid,
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(r::NetworkGetDhcpLeasesRet { leases, ret })
    }

    // ---- ports ----

    fn network_list_all_ports(
        &self,
        args: r::NetworkListAllPortsArgs,
    ) -> R<r::NetworkListAllPortsRet> {
        let v = self.network(|c| c.network_list_all_ports(&net_in(&args.network), args.flags))?;
        let (ports, ret) = list_all(
            v,
            args.need_results,
            r::NETWORK_PORT_LIST_MAX,
            "network ports",
            port_out,
        )?;
        Ok(r::NetworkListAllPortsRet { ports, ret })
    }

    fn network_port_lookup_by_uuid(
        &self,
        args: r::NetworkPortLookupByUuidArgs,
    ) -> R<r::NetworkPortLookupByUuidRet> {
        let port =
            self.network(|c| c.network_port_lookup_by_uuid(&net_in(&args.network), &args.uuid))?;
        Ok(r::NetworkPortLookupByUuidRet {
            port: port_out(port),
        })
    }

    fn network_port_create_xml(
        &self,
        args: r::NetworkPortCreateXmlArgs,
    ) -> R<r::NetworkPortCreateXmlRet> {
        let port = self.network(|c| {
            c.network_port_create_xml(&net_in(&args.network), &args.xml, args.flags)
        })?;
        Ok(r::NetworkPortCreateXmlRet {
            port: port_out(port),
        })
    }

    fn network_port_get_xml_desc(
        &self,
        args: r::NetworkPortGetXmlDescArgs,
    ) -> R<r::NetworkPortGetXmlDescRet> {
        Ok(r::NetworkPortGetXmlDescRet {
            xml: self.network(|c| c.network_port_get_xml_desc(&port_in(&args.port), args.flags))?,
        })
    }

    fn network_port_delete(&self, args: r::NetworkPortDeleteArgs) -> R<()> {
        self.network(|c| c.network_port_delete(&port_in(&args.port), args.flags))
    }

    fn network_port_get_parameters(
        &self,
        args: r::NetworkPortGetParametersArgs,
    ) -> R<r::NetworkPortGetParametersRet> {
        let p =
            self.network(|c| c.network_port_get_parameters(&port_in(&args.port), args.flags))?;
        limit_check(p.len(), r::NETWORK_PORT_PARAMETERS_MAX, "parameters")?;
        // libvirt's daemon leaves nparams at 0: the client counts the
        // parameters it received.
        Ok(r::NetworkPortGetParametersRet {
            params: params_out(p),
            nparams: 0,
        })
    }

    fn network_port_set_parameters(&self, args: r::NetworkPortSetParametersArgs) -> R<()> {
        let params = params_in(&args.params);
        self.network(|c| c.network_port_set_parameters(&port_in(&args.port), &params, args.flags))
    }

    // ---- event registrations ----

    fn connect_network_event_register_any(
        &self,
        args: r::ConnectNetworkEventRegisterAnyArgs,
    ) -> R<r::ConnectNetworkEventRegisterAnyRet> {
        let filter = args.net.map(|n| n.uuid.to_vec());
        let callback_id = self.register(Kind::Network, args.event_id, filter)?;
        Ok(r::ConnectNetworkEventRegisterAnyRet { callback_id })
    }

    fn connect_network_event_deregister_any(
        &self,
        args: r::ConnectNetworkEventDeregisterAnyArgs,
    ) -> R<()> {
        self.deregister_id(args.callback_id)
    }
}
