// SPDX-License-Identifier: LGPL-2.1-or-later
//! Public libvirt enum values drivers need (states, flags, event codes).

/// virDomainState.
pub mod state {
    pub const NOSTATE: i32 = 0;
    pub const RUNNING: i32 = 1;
    pub const BLOCKED: i32 = 2;
    pub const PAUSED: i32 = 3;
    pub const SHUTDOWN: i32 = 4;
    pub const SHUTOFF: i32 = 5;
    pub const CRASHED: i32 = 6;
    pub const PMSUSPENDED: i32 = 7;
}

/// Reasons per state (virDomainRunningReason, virDomainShutoffReason, ...).
pub mod reason {
    pub const RUNNING_UNKNOWN: i32 = 0;
    pub const RUNNING_BOOTED: i32 = 1;
    pub const RUNNING_UNPAUSED: i32 = 5;
    pub const RUNNING_RESTORED: i32 = 3;
    pub const RUNNING_SAVE_CANCELED: i32 = 7;
    pub const RUNNING_WAKEUP: i32 = 8;
    pub const PAUSED_SAVE: i32 = 3;
    pub const PAUSED_DUMP: i32 = 4;
    pub const PAUSED_API_ERROR: i32 = 14;
    pub const PAUSED_UNKNOWN: i32 = 0;
    pub const PAUSED_USER: i32 = 1;
    pub const PAUSED_MIGRATION: i32 = 2;
    pub const SHUTDOWN_UNKNOWN: i32 = 0;
    pub const SHUTDOWN_USER: i32 = 1;
    pub const SHUTOFF_UNKNOWN: i32 = 0;
    pub const SHUTOFF_SHUTDOWN: i32 = 1;
    pub const SHUTOFF_DESTROYED: i32 = 2;
    pub const SHUTOFF_CRASHED: i32 = 3;
    pub const SHUTOFF_SAVED: i32 = 5;
    pub const SHUTOFF_FAILED: i32 = 6;
    pub const CRASHED_UNKNOWN: i32 = 0;
}

/// virConnectListAllDomainsFlags.
pub mod list {
    pub const ACTIVE: u32 = 1 << 0;
    pub const INACTIVE: u32 = 1 << 1;
    pub const PERSISTENT: u32 = 1 << 2;
    pub const TRANSIENT: u32 = 1 << 3;
    pub const RUNNING: u32 = 1 << 4;
    pub const PAUSED: u32 = 1 << 5;
    pub const SHUTOFF: u32 = 1 << 6;
    pub const OTHER: u32 = 1 << 7;
    pub const MANAGEDSAVE: u32 = 1 << 8;
    pub const NO_MANAGEDSAVE: u32 = 1 << 9;
    pub const AUTOSTART: u32 = 1 << 10;
    pub const NO_AUTOSTART: u32 = 1 << 11;
    pub const HAS_SNAPSHOT: u32 = 1 << 12;
    pub const NO_SNAPSHOT: u32 = 1 << 13;
    pub const HAS_CHECKPOINT: u32 = 1 << 14;
    pub const NO_CHECKPOINT: u32 = 1 << 15;
    pub const ALL: u32 = (1 << 16) - 1;

    /// What the listing filters look at in one domain.
    #[derive(Debug, Clone, Copy)]
    pub struct Facts {
        pub active: bool,
        pub persistent: bool,
        pub autostart: bool,
        pub has_snapshot: bool,
        pub managed_save: bool,
        pub has_checkpoint: bool,
        /// virDomainState.
        pub state: i32,
    }

    /// Whether a domain with `f` is listed under `flags`: each pair of
    /// opposite filters keeps everything when neither or both are given,
    /// and the state filters keep the domains in any of the given states.
    pub fn wanted(flags: u32, f: &Facts) -> bool {
        use super::state;
        let pick = |a: u32, b: u32, va: bool| {
            let g = flags & (a | b);
            g == 0 || g == (a | b) || (g == a && va) || (g == b && !va)
        };
        if !pick(ACTIVE, INACTIVE, f.active)
            || !pick(PERSISTENT, TRANSIENT, f.persistent)
            || !pick(AUTOSTART, NO_AUTOSTART, f.autostart)
            || !pick(HAS_SNAPSHOT, NO_SNAPSHOT, f.has_snapshot)
            || !pick(MANAGEDSAVE, NO_MANAGEDSAVE, f.managed_save)
            || !pick(HAS_CHECKPOINT, NO_CHECKPOINT, f.has_checkpoint)
        {
            return false;
        }
        let sf = flags & (RUNNING | PAUSED | SHUTOFF | OTHER);
        sf == 0
            || (sf & RUNNING != 0 && f.state == state::RUNNING)
            || (sf & PAUSED != 0 && f.state == state::PAUSED)
            || (sf & SHUTOFF != 0 && f.state == state::SHUTOFF)
            || (sf & OTHER != 0
                && ![state::RUNNING, state::PAUSED, state::SHUTOFF].contains(&f.state))
    }
}

/// virConnectListAllNetworksFlags / StoragePools (same bit layout for the first four).
pub mod list_net {
    pub const INACTIVE: u32 = 1 << 0;
    pub const ACTIVE: u32 = 1 << 1;
    pub const PERSISTENT: u32 = 1 << 2;
    pub const TRANSIENT: u32 = 1 << 3;
    pub const AUTOSTART: u32 = 1 << 4;
    pub const NO_AUTOSTART: u32 = 1 << 5;
}

/// Domain event ids (virDomainEventID).
pub mod event_id {
    pub const LIFECYCLE: i32 = 0;
    pub const REBOOT: i32 = 1;
    pub const BLOCK_JOB: i32 = 8;
    pub const DEVICE_REMOVED: i32 = 15;
    pub const BLOCK_JOB_2: i32 = 16;
    pub const AGENT_LIFECYCLE: i32 = 18;
    pub const METADATA_CHANGE: i32 = 23;
    pub const LAST: i32 = 28;
}

/// virDomainEventType and the detail codes drivers emit.
pub mod lifecycle {
    pub const DEFINED: i32 = 0;
    pub const UNDEFINED: i32 = 1;
    pub const STARTED: i32 = 2;
    pub const SUSPENDED: i32 = 3;
    pub const RESUMED: i32 = 4;
    pub const STOPPED: i32 = 5;
    pub const SHUTDOWN: i32 = 6;
    pub const PMSUSPENDED: i32 = 7;
    pub const CRASHED: i32 = 8;

    pub const DEFINED_ADDED: i32 = 0;
    pub const DEFINED_UPDATED: i32 = 1;
    pub const DEFINED_RENAMED: i32 = 2;
    pub const UNDEFINED_REMOVED: i32 = 0;
    pub const UNDEFINED_RENAMED: i32 = 1;
    pub const STARTED_BOOTED: i32 = 0;
    pub const STARTED_RESTORED: i32 = 2;
    pub const SUSPENDED_PAUSED: i32 = 0;
    pub const SUSPENDED_RESTORED: i32 = 4;
    pub const SUSPENDED_API_ERROR: i32 = 6;
    pub const RESUMED_UNPAUSED: i32 = 0;
    pub const STOPPED_SHUTDOWN: i32 = 0;
    pub const STOPPED_DESTROYED: i32 = 1;
    pub const STOPPED_CRASHED: i32 = 2;
    pub const STOPPED_SAVED: i32 = 4;
    pub const STOPPED_FAILED: i32 = 5;
    pub const SHUTDOWN_FINISHED: i32 = 0;
    pub const SHUTDOWN_GUEST: i32 = 1;
    pub const SHUTDOWN_HOST: i32 = 2;
}

/// Network, storage pool and node device lifecycle events.
pub mod object_event {
    pub const DEFINED: i32 = 0;
    pub const UNDEFINED: i32 = 1;
    pub const STARTED: i32 = 2;
    pub const STOPPED: i32 = 3;
    /// Storage pools only.
    pub const POOL_CREATED: i32 = 4;
    pub const POOL_DELETED: i32 = 5;
    /// Node devices: DELETED=1? no: CREATED=0, DELETED=1, DEFINED=2, UNDEFINED=3.
    pub const NODEDEV_CREATED: i32 = 0;
    pub const NODEDEV_DELETED: i32 = 1;
}

/// virDomainXMLFlags.
pub mod xml {
    pub const SECURE: u32 = 1 << 0;
    pub const INACTIVE: u32 = 1 << 1;
    pub const UPDATE_CPU: u32 = 1 << 2;
    pub const MIGRATABLE: u32 = 1 << 3;
}

/// virDomainModificationImpact and friends.
pub mod affect {
    pub const CURRENT: u32 = 0;
    pub const LIVE: u32 = 1 << 0;
    pub const CONFIG: u32 = 1 << 1;
    /// virDomainVcpuFlags / virDomainMemoryModFlags: the maximum.
    pub const MAXIMUM: u32 = 1 << 2;

    /// libvirt's virDomainObjUpdateModificationImpact: CURRENT becomes
    /// LIVE for an active domain and CONFIG for an inactive one; LIVE on
    /// an inactive domain and CONFIG on a transient one are refused
    /// (VIR_ERR_OPERATION_INVALID from VIR_FROM_DOMAIN).
    pub fn impact(mut flags: u32, active: bool, persistent: bool) -> crate::Result<u32> {
        if flags & (LIVE | CONFIG) == CURRENT {
            flags |= if active { LIVE } else { CONFIG };
        }
        if !active && flags & LIVE != 0 {
            return Err(crate::Error::operation_invalid(
                crate::error::ErrorDomain::Domain,
                "domain is not running",
            ));
        }
        if !persistent && flags & CONFIG != 0 {
            return Err(crate::Error::operation_invalid(
                crate::error::ErrorDomain::Domain,
                "transient domains do not have any persistent config",
            ));
        }
        Ok(flags)
    }
}

/// virDomainUndefineFlagsValues.
pub mod undefine {
    pub const MANAGED_SAVE: u32 = 1 << 0;
    pub const SNAPSHOTS_METADATA: u32 = 1 << 1;
    pub const NVRAM: u32 = 1 << 2;
    pub const KEEP_NVRAM: u32 = 1 << 3;
    pub const CHECKPOINTS_METADATA: u32 = 1 << 4;
    pub const TPM: u32 = 1 << 5;
    pub const KEEP_TPM: u32 = 1 << 6;
}

/// virDomainDefineFlags / virDomainCreateFlags.
pub mod define {
    pub const VALIDATE: u32 = 1 << 0;
}
pub mod create {
    pub const START_PAUSED: u32 = 1 << 0;
    pub const START_AUTODESTROY: u32 = 1 << 1;
    pub const START_BYPASS_CACHE: u32 = 1 << 2;
    pub const START_FORCE_BOOT: u32 = 1 << 3;
    pub const START_VALIDATE: u32 = 1 << 4;
    pub const START_RESET_NVRAM: u32 = 1 << 5;
}

/// virDomainSaveRestoreFlags.
pub mod save {
    pub const BYPASS_CACHE: u32 = 1 << 0;
    pub const RUNNING: u32 = 1 << 1;
    pub const PAUSED: u32 = 1 << 2;
    pub const RESET_NVRAM: u32 = 1 << 3;
    /// virDomainSaveImageXMLFlags: VIR_DOMAIN_SAVE_IMAGE_XML_SECURE.
    pub const IMAGE_XML_SECURE: u32 = 1 << 0;
}

/// virDomainJobType, virDomainJobOperation and virDomainGetJobStatsFlags.
pub mod job {
    pub const NONE: i32 = 0;
    pub const BOUNDED: i32 = 1;
    pub const UNBOUNDED: i32 = 2;
    pub const COMPLETED: i32 = 3;
    pub const FAILED: i32 = 4;
    pub const CANCELLED: i32 = 5;

    pub const OPERATION_UNKNOWN: i32 = 0;
    pub const OPERATION_START: i32 = 1;
    pub const OPERATION_SAVE: i32 = 2;
    pub const OPERATION_RESTORE: i32 = 3;
    pub const OPERATION_MIGRATION_IN: i32 = 4;
    pub const OPERATION_MIGRATION_OUT: i32 = 5;
    pub const OPERATION_DUMP: i32 = 8;

    pub const STATS_COMPLETED: u32 = 1 << 0;
    pub const STATS_KEEP_COMPLETED: u32 = 1 << 1;
}

/// virDomainMetadataType.
pub mod metadata {
    pub const DESCRIPTION: i32 = 0;
    pub const TITLE: i32 = 1;
    pub const ELEMENT: i32 = 2;
}

/// Migration: virDomainMigrateFlags, the migration's typed parameters
/// (VIR_MIGRATE_PARAM_*), driver features (virDrvFeature) and the event
/// details and state reasons a migration gives.
pub mod migrate {
    pub const LIVE: u32 = 1 << 0;
    pub const PEER2PEER: u32 = 1 << 1;
    pub const TUNNELLED: u32 = 1 << 2;
    pub const PERSIST_DEST: u32 = 1 << 3;
    pub const UNDEFINE_SOURCE: u32 = 1 << 4;
    pub const PAUSED: u32 = 1 << 5;
    pub const NON_SHARED_DISK: u32 = 1 << 6;
    pub const NON_SHARED_INC: u32 = 1 << 7;
    pub const CHANGE_PROTECTION: u32 = 1 << 8;
    pub const UNSAFE: u32 = 1 << 9;
    pub const OFFLINE: u32 = 1 << 10;
    pub const COMPRESSED: u32 = 1 << 11;
    pub const ABORT_ON_ERROR: u32 = 1 << 12;
    pub const AUTO_CONVERGE: u32 = 1 << 13;
    pub const RDMA_PIN_ALL: u32 = 1 << 14;
    pub const POSTCOPY: u32 = 1 << 15;
    pub const TLS: u32 = 1 << 16;
    pub const PARALLEL: u32 = 1 << 17;
    pub const NON_SHARED_SYNCHRONOUS_WRITES: u32 = 1 << 18;
    pub const POSTCOPY_RESUME: u32 = 1 << 19;
    pub const ZEROCOPY: u32 = 1 << 20;

    pub const PARAM_URI: &str = "migrate_uri";
    pub const PARAM_DEST_NAME: &str = "destination_name";
    pub const PARAM_DEST_XML: &str = "destination_xml";
    pub const PARAM_PERSIST_XML: &str = "persistent_xml";
    pub const PARAM_BANDWIDTH: &str = "bandwidth";
    pub const PARAM_BANDWIDTH_POSTCOPY: &str = "bandwidth.postcopy";
    pub const PARAM_GRAPHICS_URI: &str = "graphics_uri";
    pub const PARAM_LISTEN_ADDRESS: &str = "listen_address";
    pub const PARAM_MIGRATE_DISKS: &str = "migrate_disks";
    pub const PARAM_DISKS_PORT: &str = "disks_port";
    pub const PARAM_DISKS_URI: &str = "disks_uri";
    pub const PARAM_COMPRESSION: &str = "compression";
    pub const PARAM_AUTO_CONVERGE_INITIAL: &str = "auto_converge.initial";
    pub const PARAM_AUTO_CONVERGE_INCREMENT: &str = "auto_converge.increment";
    pub const PARAM_PARALLEL_CONNECTIONS: &str = "parallel.connections";
    pub const PARAM_TLS_DESTINATION: &str = "tls.destination";

    /// virDrvFeature values.
    pub const FEATURE_MIGRATION_V1: i32 = 1;
    pub const FEATURE_MIGRATION_V2: i32 = 3;
    pub const FEATURE_MIGRATION_P2P: i32 = 4;
    pub const FEATURE_MIGRATION_DIRECT: i32 = 5;
    pub const FEATURE_MIGRATION_V3: i32 = 6;
    pub const FEATURE_MIGRATE_CHANGE_PROTECTION: i32 = 7;
    pub const FEATURE_XML_MIGRATABLE: i32 = 11;
    pub const FEATURE_MIGRATION_OFFLINE: i32 = 12;
    pub const FEATURE_MIGRATION_PARAMS: i32 = 13;

    /// Lifecycle event details.
    pub const STARTED_MIGRATED: i32 = 1;
    pub const SUSPENDED_MIGRATED: i32 = 1;
    pub const SUSPENDED_POSTCOPY: i32 = 7;
    pub const RESUMED_MIGRATED: i32 = 1;
    pub const STOPPED_MIGRATED: i32 = 3;

    /// State reasons.
    pub const RUNNING_MIGRATED: i32 = 2;
    pub const RUNNING_MIGRATION_CANCELED: i32 = 6;
    pub const PAUSED_MIGRATION: i32 = 2;
    pub const SHUTOFF_MIGRATED: i32 = 4;

    /// VIR_DOMAIN_MIGRATE_MAX_SPEED_POSTCOPY.
    pub const MAX_SPEED_POSTCOPY: u32 = 1;
}

#[cfg(test)]
mod tests {
    use super::{list, state};

    #[test]
    fn domain_list_filters_pair_up_and_match_states() {
        let running = list::Facts {
            active: true,
            persistent: false,
            autostart: false,
            has_snapshot: false,
            managed_save: false,
            has_checkpoint: false,
            state: state::RUNNING,
        };
        assert!(list::wanted(0, &running));
        assert!(list::wanted(list::ACTIVE | list::INACTIVE, &running));
        assert!(!list::wanted(list::INACTIVE, &running));
        assert!(list::wanted(list::TRANSIENT | list::NO_SNAPSHOT, &running));
        assert!(!list::wanted(list::PERSISTENT, &running));
        assert!(list::wanted(list::RUNNING | list::PAUSED, &running));
        assert!(!list::wanted(list::SHUTOFF, &running));
        let crashed = list::Facts {
            state: state::CRASHED,
            ..running
        };
        assert!(list::wanted(list::OTHER, &crashed));
        assert!(!list::wanted(list::RUNNING, &crashed));
    }
}
