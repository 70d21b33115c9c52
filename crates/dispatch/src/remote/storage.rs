// SPDX-License-Identifier: LGPL-2.1-or-later
//! Storage pool and volume procedures, and storage pool event
//! registrations.

// virConnectListAllStoragePools' ACTIVE and INACTIVE bits are the same as
// the networks'.
use driver::consts::list_net;
use protocol::procs::RemoteStorage;
use protocol::remote as r;

use rpc::stream::Pending;

use super::events::Kind;
use super::{list_all, names_of, wire, Call, R};
use crate::convert::{pool_in, pool_out, vol_in, vol_out};

impl RemoteStorage for Call<'_> {
    fn connect_find_storage_pool_sources(
        &self,
        args: r::ConnectFindStoragePoolSourcesArgs,
    ) -> R<r::ConnectFindStoragePoolSourcesRet> {
        let xml = self.storage(|c| {
            c.find_storage_pool_sources(&args.r#type, args.src_spec.as_deref(), args.flags)
        })?;
        Ok(r::ConnectFindStoragePoolSourcesRet { xml })
    }

    // ---- pools: listing and lookup ----

    fn connect_list_all_storage_pools(
        &self,
        args: r::ConnectListAllStoragePoolsArgs,
    ) -> R<r::ConnectListAllStoragePoolsRet> {
        let v = self.storage(|c| c.list_all_storage_pools(args.flags))?;
        let (pools, ret) = list_all(
            v,
            args.need_results,
            r::STORAGE_POOL_LIST_MAX,
            "storage pools",
            pool_out,
        )?;
        Ok(r::ConnectListAllStoragePoolsRet { pools, ret })
    }

    fn connect_num_of_storage_pools(&self) -> R<r::ConnectNumOfStoragePoolsRet> {
        let v = self.storage(|c| c.list_all_storage_pools(list_net::ACTIVE))?;
        Ok(r::ConnectNumOfStoragePoolsRet {
            num: v.len() as i32,
        })
    }

    fn connect_num_of_defined_storage_pools(&self) -> R<r::ConnectNumOfDefinedStoragePoolsRet> {
        let v = self.storage(|c| c.list_all_storage_pools(list_net::INACTIVE))?;
        Ok(r::ConnectNumOfDefinedStoragePoolsRet {
            num: v.len() as i32,
        })
    }

    fn connect_list_storage_pools(
        &self,
        args: r::ConnectListStoragePoolsArgs,
    ) -> R<r::ConnectListStoragePoolsRet> {
        let v = self.storage(|c| c.list_all_storage_pools(list_net::ACTIVE))?;
        Ok(r::ConnectListStoragePoolsRet {
            names: names_of(v, args.maxnames, |p| p.name),
        })
    }

    fn connect_list_defined_storage_pools(
        &self,
        args: r::ConnectListDefinedStoragePoolsArgs,
    ) -> R<r::ConnectListDefinedStoragePoolsRet> {
        let v = self.storage(|c| c.list_all_storage_pools(list_net::INACTIVE))?;
        Ok(r::ConnectListDefinedStoragePoolsRet {
            names: names_of(v, args.maxnames, |p| p.name),
        })
    }

    fn storage_pool_lookup_by_name(
        &self,
        args: r::StoragePoolLookupByNameArgs,
    ) -> R<r::StoragePoolLookupByNameRet> {
        let pool = self.storage(|c| c.storage_pool_lookup_by_name(&args.name))?;
        Ok(r::StoragePoolLookupByNameRet {
            pool: pool_out(pool),
        })
    }

    fn storage_pool_lookup_by_uuid(
        &self,
        args: r::StoragePoolLookupByUuidArgs,
    ) -> R<r::StoragePoolLookupByUuidRet> {
        let pool = self.storage(|c| c.storage_pool_lookup_by_uuid(&args.uuid))?;
        Ok(r::StoragePoolLookupByUuidRet {
            pool: pool_out(pool),
        })
    }

    fn storage_pool_lookup_by_volume(
        &self,
        args: r::StoragePoolLookupByVolumeArgs,
    ) -> R<r::StoragePoolLookupByVolumeRet> {
        let pool = self.storage(|c| c.storage_pool_lookup_by_volume(&vol_in(&args.vol)))?;
        Ok(r::StoragePoolLookupByVolumeRet {
            pool: pool_out(pool),
        })
    }

    // ---- pools: definition and lifecycle ----

    fn storage_pool_define_xml(
        &self,
        args: r::StoragePoolDefineXmlArgs,
    ) -> R<r::StoragePoolDefineXmlRet> {
        let pool = self.storage(|c| c.storage_pool_define_xml(&args.xml, args.flags))?;
        Ok(r::StoragePoolDefineXmlRet {
            pool: pool_out(pool),
        })
    }

    fn storage_pool_create_xml(
        &self,
        args: r::StoragePoolCreateXmlArgs,
    ) -> R<r::StoragePoolCreateXmlRet> {
        let pool = self.storage(|c| c.storage_pool_create_xml(&args.xml, args.flags))?;
        Ok(r::StoragePoolCreateXmlRet {
            pool: pool_out(pool),
        })
    }

    fn storage_pool_build(&self, args: r::StoragePoolBuildArgs) -> R<()> {
        self.storage(|c| c.storage_pool_build(&pool_in(&args.pool), args.flags))
    }

    fn storage_pool_undefine(&self, args: r::StoragePoolUndefineArgs) -> R<()> {
        self.storage(|c| c.storage_pool_undefine(&pool_in(&args.pool)))
    }

    fn storage_pool_create(&self, args: r::StoragePoolCreateArgs) -> R<()> {
        self.storage(|c| c.storage_pool_create(&pool_in(&args.pool), args.flags))
    }

    fn storage_pool_destroy(&self, args: r::StoragePoolDestroyArgs) -> R<()> {
        self.storage(|c| c.storage_pool_destroy(&pool_in(&args.pool)))
    }

    fn storage_pool_delete(&self, args: r::StoragePoolDeleteArgs) -> R<()> {
        self.storage(|c| c.storage_pool_delete(&pool_in(&args.pool), args.flags))
    }

    fn storage_pool_refresh(&self, args: r::StoragePoolRefreshArgs) -> R<()> {
        self.storage(|c| c.storage_pool_refresh(&pool_in(&args.pool), args.flags))
    }

    // ---- pools: state ----

    fn storage_pool_get_info(
        &self,
        args: r::StoragePoolGetInfoArgs,
    ) -> R<r::StoragePoolGetInfoRet> {
        let i = self.storage(|c| c.storage_pool_get_info(&pool_in(&args.pool)))?;
        Ok(r::StoragePoolGetInfoRet {
            state: i.state as u8,
            capacity: i.capacity,
            allocation: i.allocation,
            available: i.available,
        })
    }

    fn storage_pool_get_xml_desc(
        &self,
        args: r::StoragePoolGetXmlDescArgs,
    ) -> R<r::StoragePoolGetXmlDescRet> {
        Ok(r::StoragePoolGetXmlDescRet {
            xml: self.storage(|c| c.storage_pool_get_xml_desc(&pool_in(&args.pool), args.flags))?,
        })
    }

    fn storage_pool_get_autostart(
        &self,
        args: r::StoragePoolGetAutostartArgs,
    ) -> R<r::StoragePoolGetAutostartRet> {
        let on = self.storage(|c| c.storage_pool_get_autostart(&pool_in(&args.pool)))?;
        Ok(r::StoragePoolGetAutostartRet {
            autostart: i32::from(on),
        })
    }

    fn storage_pool_set_autostart(&self, args: r::StoragePoolSetAutostartArgs) -> R<()> {
        self.storage(|c| c.storage_pool_set_autostart(&pool_in(&args.pool), args.autostart != 0))
    }

    fn storage_pool_is_active(
        &self,
        args: r::StoragePoolIsActiveArgs,
    ) -> R<r::StoragePoolIsActiveRet> {
        let active = self.storage(|c| c.storage_pool_is_active(&pool_in(&args.pool)))?;
        Ok(r::StoragePoolIsActiveRet {
            active: i32::from(active),
        })
    }

    fn storage_pool_is_persistent(
        &self,
        args: r::StoragePoolIsPersistentArgs,
    ) -> R<r::StoragePoolIsPersistentRet> {
        let persistent = self.storage(|c| c.storage_pool_is_persistent(&pool_in(&args.pool)))?;
        Ok(r::StoragePoolIsPersistentRet {
            persistent: i32::from(persistent),
        })
    }

    // ---- pools: their volumes ----

    fn storage_pool_list_all_volumes(
        &self,
        args: r::StoragePoolListAllVolumesArgs,
    ) -> R<r::StoragePoolListAllVolumesRet> {
        let v = self.storage(|c| c.storage_pool_list_volumes(&pool_in(&args.pool)))?;
        let (vols, ret) = list_all(
            v,
            args.need_results,
            r::STORAGE_VOL_LIST_MAX,
            "storage volumes",
            vol_out,
        )?;
        Ok(r::StoragePoolListAllVolumesRet { vols, ret })
    }

    fn storage_pool_num_of_volumes(
        &self,
        args: r::StoragePoolNumOfVolumesArgs,
    ) -> R<r::StoragePoolNumOfVolumesRet> {
        let v = self.storage(|c| c.storage_pool_volume_names(&pool_in(&args.pool)))?;
        Ok(r::StoragePoolNumOfVolumesRet {
            num: v.len() as i32,
        })
    }

    fn storage_pool_list_volumes(
        &self,
        args: r::StoragePoolListVolumesArgs,
    ) -> R<r::StoragePoolListVolumesRet> {
        let v = self.storage(|c| c.storage_pool_volume_names(&pool_in(&args.pool)))?;
        Ok(r::StoragePoolListVolumesRet {
            names: names_of(v, args.maxnames, |v| v.name),
        })
    }

    // ---- volumes ----

    fn storage_vol_lookup_by_name(
        &self,
        args: r::StorageVolLookupByNameArgs,
    ) -> R<r::StorageVolLookupByNameRet> {
        let vol =
            self.storage(|c| c.storage_vol_lookup_by_name(&pool_in(&args.pool), &args.name))?;
        Ok(r::StorageVolLookupByNameRet { vol: vol_out(vol) })
    }

    fn storage_vol_lookup_by_key(
        &self,
        args: r::StorageVolLookupByKeyArgs,
    ) -> R<r::StorageVolLookupByKeyRet> {
        let vol = self.storage(|c| c.storage_vol_lookup_by_key(&args.key))?;
        Ok(r::StorageVolLookupByKeyRet { vol: vol_out(vol) })
    }

    fn storage_vol_lookup_by_path(
        &self,
        args: r::StorageVolLookupByPathArgs,
    ) -> R<r::StorageVolLookupByPathRet> {
        let vol = self.storage(|c| c.storage_vol_lookup_by_path(&args.path))?;
        Ok(r::StorageVolLookupByPathRet { vol: vol_out(vol) })
    }

    fn storage_vol_create_xml(
        &self,
        args: r::StorageVolCreateXmlArgs,
    ) -> R<r::StorageVolCreateXmlRet> {
        let vol = self
            .storage(|c| c.storage_vol_create_xml(&pool_in(&args.pool), &args.xml, args.flags))?;
        Ok(r::StorageVolCreateXmlRet { vol: vol_out(vol) })
    }

    fn storage_vol_create_xml_from(
        &self,
        args: r::StorageVolCreateXmlFromArgs,
    ) -> R<r::StorageVolCreateXmlFromRet> {
        let vol = self.storage(|c| {
            c.storage_vol_create_xml_from(
                &pool_in(&args.pool),
                &args.xml,
                &vol_in(&args.clonevol),
                args.flags,
            )
        })?;
        Ok(r::StorageVolCreateXmlFromRet { vol: vol_out(vol) })
    }

    fn storage_vol_delete(&self, args: r::StorageVolDeleteArgs) -> R<()> {
        self.storage(|c| c.storage_vol_delete(&vol_in(&args.vol), args.flags))
    }

    fn storage_vol_get_info(&self, args: r::StorageVolGetInfoArgs) -> R<r::StorageVolGetInfoRet> {
        let i = self.storage(|c| c.storage_vol_get_info(&vol_in(&args.vol)))?;
        Ok(r::StorageVolGetInfoRet {
            r#type: i.vol_type as i8,
            capacity: i.capacity,
            allocation: i.allocation,
        })
    }

    fn storage_vol_get_info_flags(
        &self,
        args: r::StorageVolGetInfoFlagsArgs,
    ) -> R<r::StorageVolGetInfoFlagsRet> {
        let i = self.storage(|c| c.storage_vol_get_info(&vol_in(&args.vol)))?;
        Ok(r::StorageVolGetInfoFlagsRet {
            r#type: i.vol_type as i8,
            capacity: i.capacity,
            allocation: i.allocation,
        })
    }

    fn storage_vol_get_xml_desc(
        &self,
        args: r::StorageVolGetXmlDescArgs,
    ) -> R<r::StorageVolGetXmlDescRet> {
        Ok(r::StorageVolGetXmlDescRet {
            xml: self.storage(|c| c.storage_vol_get_xml_desc(&vol_in(&args.vol), args.flags))?,
        })
    }

    fn storage_vol_get_path(&self, args: r::StorageVolGetPathArgs) -> R<r::StorageVolGetPathRet> {
        Ok(r::StorageVolGetPathRet {
            name: self.storage(|c| c.storage_vol_get_path(&vol_in(&args.vol)))?,
        })
    }

    fn storage_vol_resize(&self, args: r::StorageVolResizeArgs) -> R<()> {
        self.storage(|c| c.storage_vol_resize(&vol_in(&args.vol), args.capacity, args.flags))
    }

    fn storage_vol_wipe(&self, args: r::StorageVolWipeArgs) -> R<()> {
        self.storage(|c| c.storage_vol_wipe_pattern(&vol_in(&args.vol), 0, args.flags))
    }

    fn storage_vol_wipe_pattern(&self, args: r::StorageVolWipePatternArgs) -> R<()> {
        self.storage(|c| c.storage_vol_wipe_pattern(&vol_in(&args.vol), args.algorithm, args.flags))
    }

    fn storage_vol_upload(&self, args: r::StorageVolUploadArgs) -> R<()> {
        let s = self.storage(|c| {
            c.storage_vol_upload(&vol_in(&args.vol), args.offset, args.length, args.flags)
        })?;
        let done = s.done;
        self.reply_then_stream(Pending::packets(
            s.fd,
            Box::new(move || done().map_err(wire)),
            true,
        )?);
        Ok(())
    }

    fn storage_vol_download(&self, args: r::StorageVolDownloadArgs) -> R<()> {
        let s = self.storage(|c| {
            c.storage_vol_download(&vol_in(&args.vol), args.offset, args.length, args.flags)
        })?;
        let done = s.done;
        self.reply_then_stream(Pending::packets(
            s.fd,
            Box::new(move || done().map_err(wire)),
            false,
        )?);
        Ok(())
    }

    fn storage_pool_lookup_by_target_path(
        &self,
        args: r::StoragePoolLookupByTargetPathArgs,
    ) -> R<r::StoragePoolLookupByTargetPathRet> {
        let pool = self.storage(|c| c.storage_pool_lookup_by_target_path(&args.path))?;
        Ok(r::StoragePoolLookupByTargetPathRet {
            pool: pool_out(pool),
        })
    }

    fn connect_get_storage_pool_capabilities(
        &self,
        args: r::ConnectGetStoragePoolCapabilitiesArgs,
    ) -> R<r::ConnectGetStoragePoolCapabilitiesRet> {
        Ok(r::ConnectGetStoragePoolCapabilitiesRet {
            capabilities: self.storage(|c| c.storage_pool_capabilities(args.flags))?,
        })
    }

    // ---- event registrations ----

    fn connect_storage_pool_event_register_any(
        &self,
        args: r::ConnectStoragePoolEventRegisterAnyArgs,
    ) -> R<r::ConnectStoragePoolEventRegisterAnyRet> {
        let filter = args.pool.map(|p| p.uuid.to_vec());
        let callback_id = self.register(Kind::StoragePool, args.event_id, filter)?;
        Ok(r::ConnectStoragePoolEventRegisterAnyRet { callback_id })
    }

    fn connect_storage_pool_event_deregister_any(
        &self,
        args: r::ConnectStoragePoolEventDeregisterAnyArgs,
    ) -> R<()> {
        self.deregister_id(args.callback_id)
    }
}
