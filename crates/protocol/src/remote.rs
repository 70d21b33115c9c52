// SPDX-License-Identifier: LGPL-2.1-or-later
// Program definitions, transcribed from the public protocol (facts only).

pub const STRING_MAX: u32 = 4194304;
pub const CONNECT_IDENTITY_PARAMS_MAX: u32 = 20;
pub const DOMAIN_LIST_MAX: u32 = 16384;
pub const CPUMAP_MAX: u32 = 2048;
pub const VCPUINFO_MAX: u32 = 16384;
pub const CPUMAPS_MAX: u32 = 8388608;
pub const IOTHREAD_INFO_MAX: u32 = 16384;
pub const MIGRATE_COOKIE_MAX: u32 = 4194304;
pub const NETWORK_LIST_MAX: u32 = 16384;
pub const NETWORK_PORT_LIST_MAX: u32 = 16384;
pub const INTERFACE_LIST_MAX: u32 = 16384;
pub const STORAGE_POOL_LIST_MAX: u32 = 16384;
pub const STORAGE_VOL_LIST_MAX: u32 = 16384;
pub const NODE_DEVICE_LIST_MAX: u32 = 65536;
pub const NODE_DEVICE_CAPS_LIST_MAX: u32 = 65536;
pub const NWFILTER_LIST_MAX: u32 = 16384;
pub const NWFILTER_BINDING_LIST_MAX: u32 = 16384;
pub const DOMAIN_SCHEDULER_PARAMETERS_MAX: u32 = 16;
pub const DOMAIN_BLKIO_PARAMETERS_MAX: u32 = 16;
pub const DOMAIN_MEMORY_PARAMETERS_MAX: u32 = 16;
pub const DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX: u32 = 32;
pub const DOMAIN_NUMA_PARAMETERS_MAX: u32 = 16;
pub const DOMAIN_PERF_EVENTS_MAX: u32 = 64;
pub const DOMAIN_BLOCK_COPY_PARAMETERS_MAX: u32 = 16;
pub const NODE_CPU_STATS_MAX: u32 = 16;
pub const NODE_MEMORY_STATS_MAX: u32 = 16;
pub const DOMAIN_BLOCK_STATS_PARAMETERS_MAX: u32 = 16;
pub const NODE_MAX_CELLS: u32 = 1024;
pub const AUTH_SASL_DATA_MAX: u32 = 65536;
pub const AUTH_TYPE_LIST_MAX: u32 = 20;
pub const DOMAIN_MEMORY_STATS_MAX: u32 = 1024;
pub const DOMAIN_CHECKPOINT_LIST_MAX: u32 = 16384;
pub const DOMAIN_SNAPSHOT_LIST_MAX: u32 = 16384;
pub const DOMAIN_BLOCK_PEEK_BUFFER_MAX: u32 = 4194304;
pub const DOMAIN_MEMORY_PEEK_BUFFER_MAX: u32 = 4194304;
pub const SECURITY_LABEL_LIST_MAX: u32 = 64;
pub const SECURITY_MODEL_MAX: u32 = 257;
pub const SECURITY_LABEL_MAX: u32 = 4097;
pub const SECURITY_DOI_MAX: u32 = 257;
pub const SECRET_VALUE_MAX: u32 = 65536;
pub const SECRET_LIST_MAX: u32 = 16384;
pub const CPU_BASELINE_MAX: u32 = 256;
pub const DOMAIN_SEND_KEY_MAX: u32 = 16;
pub const DOMAIN_INTERFACE_PARAMETERS_MAX: u32 = 16;
pub const DOMAIN_GET_CPU_STATS_NCPUS_MAX: u32 = 128;
pub const DOMAIN_GET_CPU_STATS_MAX: u32 = 2048;
pub const DOMAIN_DISK_ERRORS_MAX: u32 = 256;
pub const NODE_MEMORY_PARAMETERS_MAX: u32 = 64;
pub const DOMAIN_MIGRATE_PARAM_LIST_MAX: u32 = 64;
pub const DOMAIN_SAVE_PARAMS_MAX: u32 = 64;
pub const DOMAIN_JOB_STATS_MAX: u32 = 64;
pub const CONNECT_CPU_MODELS_MAX: u32 = 8192;
pub const DOMAIN_FSFREEZE_MOUNTPOINTS_MAX: u32 = 256;
pub const NETWORK_DHCP_LEASES_MAX: u32 = 65536;
pub const CONNECT_GET_ALL_DOMAIN_STATS_MAX: u32 = 262144;
pub const DOMAIN_EVENT_TUNABLE_MAX: u32 = 2048;
pub const DOMAIN_FSINFO_MAX: u32 = 256;
pub const DOMAIN_FSINFO_DISKS_MAX: u32 = 256;
pub const DOMAIN_INTERFACE_MAX: u32 = 2048;
pub const DOMAIN_IP_ADDR_MAX: u32 = 2048;
pub const DOMAIN_GUEST_VCPU_PARAMS_MAX: u32 = 64;
pub const DOMAIN_IOTHREAD_PARAMS_MAX: u32 = 64;
pub const NODE_SEV_INFO_MAX: u32 = 64;
pub const DOMAIN_LAUNCH_SECURITY_INFO_PARAMS_MAX: u32 = 64;
pub const DOMAIN_LAUNCH_SECURITY_STATE_PARAMS_MAX: u32 = 64;
pub const DOMAIN_GUEST_INFO_PARAMS_MAX: u32 = 2048;
pub const NETWORK_PORT_PARAMETERS_MAX: u32 = 16;
pub const DOMAIN_AUTHORIZED_SSH_KEYS_MAX: u32 = 2048;
pub const DOMAIN_MESSAGES_MAX: u32 = 2048;
pub const DOMAIN_EVENT_GRAPHICS_IDENTITY_MAX: u32 = 20;
pub const PROGRAM: u32 = 0x20008086;
pub const PROTOCOL_VERSION: u32 = 1;

xdr::xdr_struct! {
    pub struct NonnullDomain {
        #[max = STRING_MAX] pub name: String,
        pub uuid: [u8; 16],
        pub id: i32,
    }
    pub struct NonnullNetwork {
        #[max = STRING_MAX] pub name: String,
        pub uuid: [u8; 16],
    }
    pub struct NonnullNetworkPort {
        pub net: NonnullNetwork,
        pub uuid: [u8; 16],
    }
    pub struct NonnullNwfilter {
        #[max = STRING_MAX] pub name: String,
        pub uuid: [u8; 16],
    }
    pub struct NonnullNwfilterBinding {
        #[max = STRING_MAX] pub portdev: String,
        #[max = STRING_MAX] pub filtername: String,
    }
    pub struct NonnullInterface {
        #[max = STRING_MAX] pub name: String,
        #[max = STRING_MAX] pub mac: String,
    }
    pub struct NonnullStoragePool {
        #[max = STRING_MAX] pub name: String,
        pub uuid: [u8; 16],
    }
    pub struct NonnullStorageVol {
        #[max = STRING_MAX] pub pool: String,
        #[max = STRING_MAX] pub name: String,
        #[max = STRING_MAX] pub key: String,
    }
    pub struct NonnullNodeDevice {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct NonnullSecret {
        pub uuid: [u8; 16],
        pub usage_type: i32,
        #[max = STRING_MAX] pub usage_id: String,
    }
    pub struct NonnullDomainCheckpoint {
        #[max = STRING_MAX] pub name: String,
        pub dom: NonnullDomain,
    }
    pub struct NonnullDomainSnapshot {
        #[max = STRING_MAX] pub name: String,
        pub dom: NonnullDomain,
    }
    pub struct Error {
        pub code: i32,
        pub domain: i32,
        #[max = STRING_MAX] pub message: Option<String>,
        pub level: i32,
        pub dom: Option<NonnullDomain>,
        #[max = STRING_MAX] pub str1: Option<String>,
        #[max = STRING_MAX] pub str2: Option<String>,
        #[max = STRING_MAX] pub str3: Option<String>,
        pub int1: i32,
        pub int2: i32,
        pub net: Option<NonnullNetwork>,
    }
    pub struct VcpuInfo {
        pub number: u32,
        pub state: i32,
        pub cpu_time: u64,
        pub cpu: i32,
    }
    pub struct TypedParam {
        #[max = STRING_MAX] pub field: String,
        pub value: TypedParamValue,
    }
    pub struct NodeGetCpuStats {
        #[max = STRING_MAX] pub field: String,
        pub value: u64,
    }
    pub struct NodeGetMemoryStats {
        #[max = STRING_MAX] pub field: String,
        pub value: u64,
    }
    pub struct DomainDiskError {
        #[max = STRING_MAX] pub disk: String,
        pub error: i32,
    }
    pub struct ConnectOpenArgs {
        #[max = STRING_MAX] pub name: Option<String>,
        pub flags: u32,
    }
    pub struct ConnectSupportsFeatureArgs {
        pub feature: i32,
    }
    pub struct ConnectSupportsFeatureRet {
        pub supported: i32,
    }
    pub struct ConnectGetTypeRet {
        #[max = STRING_MAX] pub r#type: String,
    }
    pub struct ConnectGetVersionRet {
        pub hv_ver: u64,
    }
    pub struct ConnectGetLibVersionRet {
        pub lib_ver: u64,
    }
    pub struct ConnectGetHostnameRet {
        #[max = STRING_MAX] pub hostname: String,
    }
    pub struct ConnectGetSysinfoArgs {
        pub flags: u32,
    }
    pub struct ConnectGetSysinfoRet {
        #[max = STRING_MAX] pub sysinfo: String,
    }
    pub struct ConnectGetUriRet {
        #[max = STRING_MAX] pub uri: String,
    }
    pub struct ConnectGetMaxVcpusArgs {
        #[max = STRING_MAX] pub r#type: Option<String>,
    }
    pub struct ConnectGetMaxVcpusRet {
        pub max_vcpus: i32,
    }
    pub struct NodeGetInfoRet {
        pub model: xdr::CharArray<32>,
        pub memory: u64,
        pub cpus: i32,
        pub mhz: i32,
        pub nodes: i32,
        pub sockets: i32,
        pub cores: i32,
        pub threads: i32,
    }
    pub struct ConnectGetCapabilitiesRet {
        #[max = STRING_MAX] pub capabilities: String,
    }
    pub struct ConnectGetDomainCapabilitiesArgs {
        #[max = STRING_MAX] pub emulatorbin: Option<String>,
        #[max = STRING_MAX] pub arch: Option<String>,
        #[max = STRING_MAX] pub machine: Option<String>,
        #[max = STRING_MAX] pub virttype: Option<String>,
        pub flags: u32,
    }
    pub struct ConnectGetDomainCapabilitiesRet {
        #[max = STRING_MAX] pub capabilities: String,
    }
    pub struct NodeGetCpuStatsArgs {
        pub cpu_num: i32,
        pub nparams: i32,
        pub flags: u32,
    }
    pub struct NodeGetCpuStatsRet {
        #[max = NODE_CPU_STATS_MAX] pub params: Vec<NodeGetCpuStats>,
        pub nparams: i32,
    }
    pub struct NodeGetMemoryStatsArgs {
        pub nparams: i32,
        pub cell_num: i32,
        pub flags: u32,
    }
    pub struct NodeGetMemoryStatsRet {
        #[max = NODE_MEMORY_STATS_MAX] pub params: Vec<NodeGetMemoryStats>,
        pub nparams: i32,
    }
    pub struct NodeGetCellsFreeMemoryArgs {
        pub start_cell: i32,
        pub maxcells: i32,
    }
    pub struct NodeGetCellsFreeMemoryRet {
        #[max = NODE_MAX_CELLS] pub cells: Vec<u64>,
    }
    pub struct NodeGetFreeMemoryRet {
        pub free_mem: u64,
    }
    pub struct DomainGetSchedulerTypeArgs {
        pub dom: NonnullDomain,
    }
    pub struct DomainGetSchedulerTypeRet {
        #[max = STRING_MAX] pub r#type: String,
        pub nparams: i32,
    }
    pub struct DomainGetSchedulerParametersArgs {
        pub dom: NonnullDomain,
        pub nparams: i32,
    }
    pub struct DomainGetSchedulerParametersRet {
        #[max = DOMAIN_SCHEDULER_PARAMETERS_MAX] pub params: Vec<TypedParam>,
    }
    pub struct DomainGetSchedulerParametersFlagsArgs {
        pub dom: NonnullDomain,
        pub nparams: i32,
        pub flags: u32,
    }
    pub struct DomainGetSchedulerParametersFlagsRet {
        #[max = DOMAIN_SCHEDULER_PARAMETERS_MAX] pub params: Vec<TypedParam>,
    }
    pub struct DomainSetSchedulerParametersArgs {
        pub dom: NonnullDomain,
        #[max = DOMAIN_SCHEDULER_PARAMETERS_MAX] pub params: Vec<TypedParam>,
    }
    pub struct DomainSetSchedulerParametersFlagsArgs {
        pub dom: NonnullDomain,
        #[max = DOMAIN_SCHEDULER_PARAMETERS_MAX] pub params: Vec<TypedParam>,
        pub flags: u32,
    }
    pub struct DomainSetBlkioParametersArgs {
        pub dom: NonnullDomain,
        #[max = DOMAIN_BLKIO_PARAMETERS_MAX] pub params: Vec<TypedParam>,
        pub flags: u32,
    }
    pub struct DomainGetBlkioParametersArgs {
        pub dom: NonnullDomain,
        pub nparams: i32,
        pub flags: u32,
    }
    pub struct DomainGetBlkioParametersRet {
        #[max = DOMAIN_BLKIO_PARAMETERS_MAX] pub params: Vec<TypedParam>,
        pub nparams: i32,
    }
    pub struct DomainSetMemoryParametersArgs {
        pub dom: NonnullDomain,
        #[max = DOMAIN_MEMORY_PARAMETERS_MAX] pub params: Vec<TypedParam>,
        pub flags: u32,
    }
    pub struct DomainGetMemoryParametersArgs {
        pub dom: NonnullDomain,
        pub nparams: i32,
        pub flags: u32,
    }
    pub struct DomainGetMemoryParametersRet {
        #[max = DOMAIN_MEMORY_PARAMETERS_MAX] pub params: Vec<TypedParam>,
        pub nparams: i32,
    }
    pub struct DomainBlockResizeArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub disk: String,
        pub size: u64,
        pub flags: u32,
    }
    pub struct DomainSetNumaParametersArgs {
        pub dom: NonnullDomain,
        #[max = DOMAIN_NUMA_PARAMETERS_MAX] pub params: Vec<TypedParam>,
        pub flags: u32,
    }
    pub struct DomainGetNumaParametersArgs {
        pub dom: NonnullDomain,
        pub nparams: i32,
        pub flags: u32,
    }
    pub struct DomainGetNumaParametersRet {
        #[max = DOMAIN_NUMA_PARAMETERS_MAX] pub params: Vec<TypedParam>,
        pub nparams: i32,
    }
    pub struct DomainSetPerfEventsArgs {
        pub dom: NonnullDomain,
        #[max = DOMAIN_PERF_EVENTS_MAX] pub params: Vec<TypedParam>,
        pub flags: u32,
    }
    pub struct DomainGetPerfEventsArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainGetPerfEventsRet {
        #[max = DOMAIN_PERF_EVENTS_MAX] pub params: Vec<TypedParam>,
    }
    pub struct DomainBlockStatsArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub path: String,
    }
    pub struct DomainBlockStatsRet {
        pub rd_req: i64,
        pub rd_bytes: i64,
        pub wr_req: i64,
        pub wr_bytes: i64,
        pub errs: i64,
    }
    pub struct DomainBlockStatsFlagsArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub path: String,
        pub nparams: i32,
        pub flags: u32,
    }
    pub struct DomainBlockStatsFlagsRet {
        #[max = DOMAIN_BLOCK_STATS_PARAMETERS_MAX] pub params: Vec<TypedParam>,
        pub nparams: i32,
    }
    pub struct DomainInterfaceStatsArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub device: String,
    }
    pub struct DomainInterfaceStatsRet {
        pub rx_bytes: i64,
        pub rx_packets: i64,
        pub rx_errs: i64,
        pub rx_drop: i64,
        pub tx_bytes: i64,
        pub tx_packets: i64,
        pub tx_errs: i64,
        pub tx_drop: i64,
    }
    pub struct DomainSetInterfaceParametersArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub device: String,
        #[max = DOMAIN_INTERFACE_PARAMETERS_MAX] pub params: Vec<TypedParam>,
        pub flags: u32,
    }
    pub struct DomainGetInterfaceParametersArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub device: String,
        pub nparams: i32,
        pub flags: u32,
    }
    pub struct DomainGetInterfaceParametersRet {
        #[max = DOMAIN_INTERFACE_PARAMETERS_MAX] pub params: Vec<TypedParam>,
        pub nparams: i32,
    }
    pub struct DomainMemoryStatsArgs {
        pub dom: NonnullDomain,
        pub max_stats: u32,
        pub flags: u32,
    }
    pub struct DomainMemoryStat {
        pub tag: i32,
        pub val: u64,
    }
    pub struct DomainMemoryStatsRet {
        #[max = DOMAIN_MEMORY_STATS_MAX] pub stats: Vec<DomainMemoryStat>,
    }
    pub struct DomainBlockPeekArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub path: String,
        pub offset: u64,
        pub size: u32,
        pub flags: u32,
    }
    pub struct DomainBlockPeekRet {
        #[max = DOMAIN_BLOCK_PEEK_BUFFER_MAX] pub buffer: xdr::Opaque,
    }
    pub struct DomainMemoryPeekArgs {
        pub dom: NonnullDomain,
        pub offset: u64,
        pub size: u32,
        pub flags: u32,
    }
    pub struct DomainMemoryPeekRet {
        #[max = DOMAIN_MEMORY_PEEK_BUFFER_MAX] pub buffer: xdr::Opaque,
    }
    pub struct DomainGetBlockInfoArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub path: String,
        pub flags: u32,
    }
    pub struct DomainGetBlockInfoRet {
        pub allocation: u64,
        pub capacity: u64,
        pub physical: u64,
    }
    pub struct ConnectListDomainsArgs {
        pub maxids: i32,
    }
    pub struct ConnectListDomainsRet {
        #[max = DOMAIN_LIST_MAX] pub ids: Vec<i32>,
    }
    pub struct ConnectNumOfDomainsRet {
        pub num: i32,
    }
    pub struct DomainCreateXmlArgs {
        #[max = STRING_MAX] pub xml_desc: String,
        pub flags: u32,
    }
    pub struct DomainCreateXmlRet {
        pub dom: NonnullDomain,
    }
    pub struct DomainCreateXmlWithFilesArgs {
        #[max = STRING_MAX] pub xml_desc: String,
        pub flags: u32,
    }
    pub struct DomainCreateXmlWithFilesRet {
        pub dom: NonnullDomain,
    }
    pub struct DomainLookupByIdArgs {
        pub id: i32,
    }
    pub struct DomainLookupByIdRet {
        pub dom: NonnullDomain,
    }
    pub struct DomainLookupByUuidArgs {
        pub uuid: [u8; 16],
    }
    pub struct DomainLookupByUuidRet {
        pub dom: NonnullDomain,
    }
    pub struct DomainLookupByNameArgs {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct DomainLookupByNameRet {
        pub dom: NonnullDomain,
    }
    pub struct DomainSuspendArgs {
        pub dom: NonnullDomain,
    }
    pub struct DomainResumeArgs {
        pub dom: NonnullDomain,
    }
    pub struct DomainPmSuspendForDurationArgs {
        pub dom: NonnullDomain,
        pub target: u32,
        pub duration: u64,
        pub flags: u32,
    }
    pub struct DomainPmWakeupArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainShutdownArgs {
        pub dom: NonnullDomain,
    }
    pub struct DomainRebootArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainResetArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainDestroyArgs {
        pub dom: NonnullDomain,
    }
    pub struct DomainDestroyFlagsArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainGetOsTypeArgs {
        pub dom: NonnullDomain,
    }
    pub struct DomainGetOsTypeRet {
        #[max = STRING_MAX] pub r#type: String,
    }
    pub struct DomainGetMaxMemoryArgs {
        pub dom: NonnullDomain,
    }
    pub struct DomainGetMaxMemoryRet {
        pub memory: u64,
    }
    pub struct DomainSetMaxMemoryArgs {
        pub dom: NonnullDomain,
        pub memory: u64,
    }
    pub struct DomainSetMemoryArgs {
        pub dom: NonnullDomain,
        pub memory: u64,
    }
    pub struct DomainSetMemoryFlagsArgs {
        pub dom: NonnullDomain,
        pub memory: u64,
        pub flags: u32,
    }
    pub struct DomainSetMemoryStatsPeriodArgs {
        pub dom: NonnullDomain,
        pub period: i32,
        pub flags: u32,
    }
    pub struct DomainGetInfoArgs {
        pub dom: NonnullDomain,
    }
    pub struct DomainGetInfoRet {
        pub state: u8,
        pub max_mem: u64,
        pub memory: u64,
        pub nr_virt_cpu: u16,
        pub cpu_time: u64,
    }
    pub struct DomainSaveArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub to: String,
    }
    pub struct DomainSaveFlagsArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub to: String,
        #[max = STRING_MAX] pub dxml: Option<String>,
        pub flags: u32,
    }
    pub struct DomainSaveParamsArgs {
        pub dom: NonnullDomain,
        #[max = DOMAIN_SAVE_PARAMS_MAX] pub params: Vec<TypedParam>,
        pub flags: u32,
    }
    pub struct DomainRestoreArgs {
        #[max = STRING_MAX] pub from: String,
    }
    pub struct DomainRestoreFlagsArgs {
        #[max = STRING_MAX] pub from: String,
        #[max = STRING_MAX] pub dxml: Option<String>,
        pub flags: u32,
    }
    pub struct DomainRestoreParamsArgs {
        #[max = DOMAIN_SAVE_PARAMS_MAX] pub params: Vec<TypedParam>,
        pub flags: u32,
    }
    pub struct DomainSaveImageGetXmlDescArgs {
        #[max = STRING_MAX] pub file: String,
        pub flags: u32,
    }
    pub struct DomainSaveImageGetXmlDescRet {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct DomainSaveImageDefineXmlArgs {
        #[max = STRING_MAX] pub file: String,
        #[max = STRING_MAX] pub dxml: String,
        pub flags: u32,
    }
    pub struct DomainCoreDumpArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub to: String,
        pub flags: u32,
    }
    pub struct DomainCoreDumpWithFormatArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub to: String,
        pub dumpformat: u32,
        pub flags: u32,
    }
    pub struct DomainScreenshotArgs {
        pub dom: NonnullDomain,
        pub screen: u32,
        pub flags: u32,
    }
    pub struct DomainScreenshotRet {
        #[max = STRING_MAX] pub mime: Option<String>,
    }
    pub struct DomainGetXmlDescArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainGetXmlDescRet {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct DomainMigratePrepareArgs {
        #[max = STRING_MAX] pub uri_in: Option<String>,
        pub flags: u64,
        #[max = STRING_MAX] pub dname: Option<String>,
        pub resource: u64,
    }
    pub struct DomainMigratePrepareRet {
        #[max = MIGRATE_COOKIE_MAX] pub cookie: xdr::Opaque,
        #[max = STRING_MAX] pub uri_out: Option<String>,
    }
    pub struct DomainMigratePerformArgs {
        pub dom: NonnullDomain,
        #[max = MIGRATE_COOKIE_MAX] pub cookie: xdr::Opaque,
        #[max = STRING_MAX] pub uri: String,
        pub flags: u64,
        #[max = STRING_MAX] pub dname: Option<String>,
        pub resource: u64,
    }
    pub struct DomainMigrateFinishArgs {
        #[max = STRING_MAX] pub dname: String,
        #[max = MIGRATE_COOKIE_MAX] pub cookie: xdr::Opaque,
        #[max = STRING_MAX] pub uri: String,
        pub flags: u64,
    }
    pub struct DomainMigrateFinishRet {
        pub ddom: NonnullDomain,
    }
    pub struct DomainMigratePrepare2Args {
        #[max = STRING_MAX] pub uri_in: Option<String>,
        pub flags: u64,
        #[max = STRING_MAX] pub dname: Option<String>,
        pub resource: u64,
        #[max = STRING_MAX] pub dom_xml: String,
    }
    pub struct DomainMigratePrepare2Ret {
        #[max = MIGRATE_COOKIE_MAX] pub cookie: xdr::Opaque,
        #[max = STRING_MAX] pub uri_out: Option<String>,
    }
    pub struct DomainMigrateFinish2Args {
        #[max = STRING_MAX] pub dname: String,
        #[max = MIGRATE_COOKIE_MAX] pub cookie: xdr::Opaque,
        #[max = STRING_MAX] pub uri: String,
        pub flags: u64,
        pub retcode: i32,
    }
    pub struct DomainMigrateFinish2Ret {
        pub ddom: NonnullDomain,
    }
    pub struct ConnectListDefinedDomainsArgs {
        pub maxnames: i32,
    }
    pub struct ConnectListDefinedDomainsRet {
        #[max = DOMAIN_LIST_MAX] pub names: Vec<String>,
    }
    pub struct ConnectNumOfDefinedDomainsRet {
        pub num: i32,
    }
    pub struct DomainCreateArgs {
        pub dom: NonnullDomain,
    }
    pub struct DomainCreateWithFlagsArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainCreateWithFlagsRet {
        pub dom: NonnullDomain,
    }
    pub struct DomainCreateWithFilesArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainCreateWithFilesRet {
        pub dom: NonnullDomain,
    }
    pub struct DomainDefineXmlArgs {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct DomainDefineXmlRet {
        pub dom: NonnullDomain,
    }
    pub struct DomainDefineXmlFlagsArgs {
        #[max = STRING_MAX] pub xml: String,
        pub flags: u32,
    }
    pub struct DomainDefineXmlFlagsRet {
        pub dom: NonnullDomain,
    }
    pub struct DomainUndefineArgs {
        pub dom: NonnullDomain,
    }
    pub struct DomainUndefineFlagsArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainInjectNmiArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainSendKeyArgs {
        pub dom: NonnullDomain,
        pub codeset: u32,
        pub holdtime: u32,
        #[max = DOMAIN_SEND_KEY_MAX] pub keycodes: Vec<u32>,
        pub flags: u32,
    }
    pub struct DomainSendProcessSignalArgs {
        pub dom: NonnullDomain,
        pub pid_value: i64,
        pub signum: u32,
        pub flags: u32,
    }
    pub struct DomainSetVcpusArgs {
        pub dom: NonnullDomain,
        pub nvcpus: u32,
    }
    pub struct DomainSetVcpusFlagsArgs {
        pub dom: NonnullDomain,
        pub nvcpus: u32,
        pub flags: u32,
    }
    pub struct DomainGetVcpusFlagsArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainGetVcpusFlagsRet {
        pub num: i32,
    }
    pub struct DomainPinVcpuArgs {
        pub dom: NonnullDomain,
        pub vcpu: u32,
        #[max = CPUMAP_MAX] pub cpumap: xdr::Opaque,
    }
    pub struct DomainPinVcpuFlagsArgs {
        pub dom: NonnullDomain,
        pub vcpu: u32,
        #[max = CPUMAP_MAX] pub cpumap: xdr::Opaque,
        pub flags: u32,
    }
    pub struct DomainGetVcpuPinInfoArgs {
        pub dom: NonnullDomain,
        pub ncpumaps: i32,
        pub maplen: i32,
        pub flags: u32,
    }
    pub struct DomainGetVcpuPinInfoRet {
        #[max = CPUMAPS_MAX] pub cpumaps: xdr::Opaque,
        pub num: i32,
    }
    pub struct DomainPinEmulatorArgs {
        pub dom: NonnullDomain,
        #[max = CPUMAP_MAX] pub cpumap: xdr::Opaque,
        pub flags: u32,
    }
    pub struct DomainGetEmulatorPinInfoArgs {
        pub dom: NonnullDomain,
        pub maplen: i32,
        pub flags: u32,
    }
    pub struct DomainGetEmulatorPinInfoRet {
        #[max = CPUMAPS_MAX] pub cpumaps: xdr::Opaque,
        pub ret: i32,
    }
    pub struct DomainGetVcpusArgs {
        pub dom: NonnullDomain,
        pub maxinfo: i32,
        pub maplen: i32,
    }
    pub struct DomainGetVcpusRet {
        #[max = VCPUINFO_MAX] pub info: Vec<VcpuInfo>,
        #[max = CPUMAPS_MAX] pub cpumaps: xdr::Opaque,
    }
    pub struct DomainGetMaxVcpusArgs {
        pub dom: NonnullDomain,
    }
    pub struct DomainGetMaxVcpusRet {
        pub num: i32,
    }
    pub struct DomainIothreadInfo {
        pub iothread_id: u32,
        #[max = CPUMAP_MAX] pub cpumap: xdr::Opaque,
    }
    pub struct DomainGetIothreadInfoArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainGetIothreadInfoRet {
        #[max = IOTHREAD_INFO_MAX] pub info: Vec<DomainIothreadInfo>,
        pub ret: u32,
    }
    pub struct DomainPinIothreadArgs {
        pub dom: NonnullDomain,
        pub iothreads_id: u32,
        #[max = CPUMAP_MAX] pub cpumap: xdr::Opaque,
        pub flags: u32,
    }
    pub struct DomainAddIothreadArgs {
        pub dom: NonnullDomain,
        pub iothread_id: u32,
        pub flags: u32,
    }
    pub struct DomainDelIothreadArgs {
        pub dom: NonnullDomain,
        pub iothread_id: u32,
        pub flags: u32,
    }
    pub struct DomainSetIothreadParamsArgs {
        pub dom: NonnullDomain,
        pub iothread_id: u32,
        #[max = DOMAIN_IOTHREAD_PARAMS_MAX] pub params: Vec<TypedParam>,
        pub flags: u32,
    }
    pub struct DomainGetSecurityLabelArgs {
        pub dom: NonnullDomain,
    }
    pub struct DomainGetSecurityLabelRet {
        #[max = SECURITY_LABEL_MAX] pub label: Vec<i8>,
        pub enforcing: i32,
    }
    pub struct DomainGetSecurityLabelListArgs {
        pub dom: NonnullDomain,
    }
    pub struct DomainGetSecurityLabelListRet {
        #[max = SECURITY_LABEL_LIST_MAX] pub labels: Vec<DomainGetSecurityLabelRet>,
        pub ret: i32,
    }
    pub struct NodeGetSecurityModelRet {
        #[max = SECURITY_MODEL_MAX] pub model: Vec<i8>,
        #[max = SECURITY_DOI_MAX] pub doi: Vec<i8>,
    }
    pub struct DomainAttachDeviceArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct DomainAttachDeviceFlagsArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub xml: String,
        pub flags: u32,
    }
    pub struct DomainDetachDeviceArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct DomainDetachDeviceFlagsArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub xml: String,
        pub flags: u32,
    }
    pub struct DomainUpdateDeviceFlagsArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub xml: String,
        pub flags: u32,
    }
    pub struct DomainDetachDeviceAliasArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub alias: String,
        pub flags: u32,
    }
    pub struct DomainGetAutostartArgs {
        pub dom: NonnullDomain,
    }
    pub struct DomainGetAutostartRet {
        pub autostart: i32,
    }
    pub struct DomainSetAutostartArgs {
        pub dom: NonnullDomain,
        pub autostart: i32,
    }
    pub struct DomainSetMetadataArgs {
        pub dom: NonnullDomain,
        pub r#type: i32,
        #[max = STRING_MAX] pub metadata: Option<String>,
        #[max = STRING_MAX] pub key: Option<String>,
        #[max = STRING_MAX] pub uri: Option<String>,
        pub flags: u32,
    }
    pub struct DomainGetMetadataArgs {
        pub dom: NonnullDomain,
        pub r#type: i32,
        #[max = STRING_MAX] pub uri: Option<String>,
        pub flags: u32,
    }
    pub struct DomainGetMetadataRet {
        #[max = STRING_MAX] pub metadata: String,
    }
    pub struct DomainBlockJobAbortArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub path: String,
        pub flags: u32,
    }
    pub struct DomainGetBlockJobInfoArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub path: String,
        pub flags: u32,
    }
    pub struct DomainGetBlockJobInfoRet {
        pub found: i32,
        pub r#type: i32,
        pub bandwidth: u64,
        pub cur: u64,
        pub end: u64,
    }
    pub struct DomainBlockJobSetSpeedArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub path: String,
        pub bandwidth: u64,
        pub flags: u32,
    }
    pub struct DomainBlockPullArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub path: String,
        pub bandwidth: u64,
        pub flags: u32,
    }
    pub struct DomainBlockRebaseArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub path: String,
        #[max = STRING_MAX] pub base: Option<String>,
        pub bandwidth: u64,
        pub flags: u32,
    }
    pub struct DomainBlockCopyArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub path: String,
        #[max = STRING_MAX] pub destxml: String,
        #[max = DOMAIN_BLOCK_COPY_PARAMETERS_MAX] pub params: Vec<TypedParam>,
        pub flags: u32,
    }
    pub struct DomainBlockCommitArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub disk: String,
        #[max = STRING_MAX] pub base: Option<String>,
        #[max = STRING_MAX] pub top: Option<String>,
        pub bandwidth: u64,
        pub flags: u32,
    }
    pub struct DomainSetBlockIoTuneArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub disk: String,
        #[max = DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX] pub params: Vec<TypedParam>,
        pub flags: u32,
    }
    pub struct DomainGetBlockIoTuneArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub disk: Option<String>,
        pub nparams: i32,
        pub flags: u32,
    }
    pub struct DomainGetBlockIoTuneRet {
        #[max = DOMAIN_BLOCK_IO_TUNE_PARAMETERS_MAX] pub params: Vec<TypedParam>,
        pub nparams: i32,
    }
    pub struct DomainGetCpuStatsArgs {
        pub dom: NonnullDomain,
        pub nparams: u32,
        pub start_cpu: i32,
        pub ncpus: u32,
        pub flags: u32,
    }
    pub struct DomainGetCpuStatsRet {
        #[max = DOMAIN_GET_CPU_STATS_MAX] pub params: Vec<TypedParam>,
        pub nparams: i32,
    }
    pub struct DomainGetHostnameArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainGetHostnameRet {
        #[max = STRING_MAX] pub hostname: String,
    }
    pub struct ConnectNumOfNetworksRet {
        pub num: i32,
    }
    pub struct ConnectListNetworksArgs {
        pub maxnames: i32,
    }
    pub struct ConnectListNetworksRet {
        #[max = NETWORK_LIST_MAX] pub names: Vec<String>,
    }
    pub struct ConnectNumOfDefinedNetworksRet {
        pub num: i32,
    }
    pub struct ConnectListDefinedNetworksArgs {
        pub maxnames: i32,
    }
    pub struct ConnectListDefinedNetworksRet {
        #[max = NETWORK_LIST_MAX] pub names: Vec<String>,
    }
    pub struct NetworkLookupByUuidArgs {
        pub uuid: [u8; 16],
    }
    pub struct NetworkLookupByUuidRet {
        pub net: NonnullNetwork,
    }
    pub struct NetworkLookupByNameArgs {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct NetworkLookupByNameRet {
        pub net: NonnullNetwork,
    }
    pub struct NetworkCreateXmlArgs {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct NetworkCreateXmlRet {
        pub net: NonnullNetwork,
    }
    pub struct NetworkCreateXmlFlagsArgs {
        #[max = STRING_MAX] pub xml: String,
        pub flags: u32,
    }
    pub struct NetworkCreateXmlFlagsRet {
        pub net: NonnullNetwork,
    }
    pub struct NetworkDefineXmlArgs {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct NetworkDefineXmlRet {
        pub net: NonnullNetwork,
    }
    pub struct NetworkDefineXmlFlagsArgs {
        #[max = STRING_MAX] pub xml: String,
        pub flags: u32,
    }
    pub struct NetworkDefineXmlFlagsRet {
        pub net: NonnullNetwork,
    }
    pub struct NetworkUndefineArgs {
        pub net: NonnullNetwork,
    }
    pub struct NetworkUpdateArgs {
        pub net: NonnullNetwork,
        pub command: u32,
        pub section: u32,
        pub parent_index: i32,
        #[max = STRING_MAX] pub xml: String,
        pub flags: u32,
    }
    pub struct NetworkCreateArgs {
        pub net: NonnullNetwork,
    }
    pub struct NetworkDestroyArgs {
        pub net: NonnullNetwork,
    }
    pub struct NetworkGetXmlDescArgs {
        pub net: NonnullNetwork,
        pub flags: u32,
    }
    pub struct NetworkGetXmlDescRet {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct NetworkGetBridgeNameArgs {
        pub net: NonnullNetwork,
    }
    pub struct NetworkGetBridgeNameRet {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct NetworkGetAutostartArgs {
        pub net: NonnullNetwork,
    }
    pub struct NetworkGetAutostartRet {
        pub autostart: i32,
    }
    pub struct NetworkSetAutostartArgs {
        pub net: NonnullNetwork,
        pub autostart: i32,
    }
    pub struct ConnectNumOfNwfiltersRet {
        pub num: i32,
    }
    pub struct ConnectListNwfiltersArgs {
        pub maxnames: i32,
    }
    pub struct ConnectListNwfiltersRet {
        #[max = NWFILTER_LIST_MAX] pub names: Vec<String>,
    }
    pub struct NwfilterLookupByUuidArgs {
        pub uuid: [u8; 16],
    }
    pub struct NwfilterLookupByUuidRet {
        pub nwfilter: NonnullNwfilter,
    }
    pub struct NwfilterLookupByNameArgs {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct NwfilterLookupByNameRet {
        pub nwfilter: NonnullNwfilter,
    }
    pub struct NwfilterDefineXmlArgs {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct NwfilterDefineXmlRet {
        pub nwfilter: NonnullNwfilter,
    }
    pub struct NwfilterDefineXmlFlagsArgs {
        #[max = STRING_MAX] pub xml: String,
        pub flags: u32,
    }
    pub struct NwfilterDefineXmlFlagsRet {
        pub nwfilter: NonnullNwfilter,
    }
    pub struct NwfilterUndefineArgs {
        pub nwfilter: NonnullNwfilter,
    }
    pub struct NwfilterGetXmlDescArgs {
        pub nwfilter: NonnullNwfilter,
        pub flags: u32,
    }
    pub struct NwfilterGetXmlDescRet {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct ConnectNumOfInterfacesRet {
        pub num: i32,
    }
    pub struct ConnectListInterfacesArgs {
        pub maxnames: i32,
    }
    pub struct ConnectListInterfacesRet {
        #[max = INTERFACE_LIST_MAX] pub names: Vec<String>,
    }
    pub struct ConnectNumOfDefinedInterfacesRet {
        pub num: i32,
    }
    pub struct ConnectListDefinedInterfacesArgs {
        pub maxnames: i32,
    }
    pub struct ConnectListDefinedInterfacesRet {
        #[max = INTERFACE_LIST_MAX] pub names: Vec<String>,
    }
    pub struct InterfaceLookupByNameArgs {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct InterfaceLookupByNameRet {
        pub iface: NonnullInterface,
    }
    pub struct InterfaceLookupByMacStringArgs {
        #[max = STRING_MAX] pub mac: String,
    }
    pub struct InterfaceLookupByMacStringRet {
        pub iface: NonnullInterface,
    }
    pub struct InterfaceGetXmlDescArgs {
        pub iface: NonnullInterface,
        pub flags: u32,
    }
    pub struct InterfaceGetXmlDescRet {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct InterfaceDefineXmlArgs {
        #[max = STRING_MAX] pub xml: String,
        pub flags: u32,
    }
    pub struct InterfaceDefineXmlRet {
        pub iface: NonnullInterface,
    }
    pub struct InterfaceUndefineArgs {
        pub iface: NonnullInterface,
    }
    pub struct InterfaceCreateArgs {
        pub iface: NonnullInterface,
        pub flags: u32,
    }
    pub struct InterfaceDestroyArgs {
        pub iface: NonnullInterface,
        pub flags: u32,
    }
    pub struct InterfaceChangeBeginArgs {
        pub flags: u32,
    }
    pub struct InterfaceChangeCommitArgs {
        pub flags: u32,
    }
    pub struct InterfaceChangeRollbackArgs {
        pub flags: u32,
    }
    pub struct AuthListRet {
        #[max = AUTH_TYPE_LIST_MAX] pub types: Vec<i32>,
    }
    pub struct AuthSaslInitRet {
        #[max = STRING_MAX] pub mechlist: String,
    }
    pub struct AuthSaslStartArgs {
        #[max = STRING_MAX] pub mech: String,
        pub nil: i32,
        #[max = AUTH_SASL_DATA_MAX] pub data: Vec<i8>,
    }
    pub struct AuthSaslStartRet {
        pub complete: i32,
        pub nil: i32,
        #[max = AUTH_SASL_DATA_MAX] pub data: Vec<i8>,
    }
    pub struct AuthSaslStepArgs {
        pub nil: i32,
        #[max = AUTH_SASL_DATA_MAX] pub data: Vec<i8>,
    }
    pub struct AuthSaslStepRet {
        pub complete: i32,
        pub nil: i32,
        #[max = AUTH_SASL_DATA_MAX] pub data: Vec<i8>,
    }
    pub struct AuthPolkitRet {
        pub complete: i32,
    }
    pub struct ConnectNumOfStoragePoolsRet {
        pub num: i32,
    }
    pub struct ConnectListStoragePoolsArgs {
        pub maxnames: i32,
    }
    pub struct ConnectListStoragePoolsRet {
        #[max = STORAGE_POOL_LIST_MAX] pub names: Vec<String>,
    }
    pub struct ConnectNumOfDefinedStoragePoolsRet {
        pub num: i32,
    }
    pub struct ConnectListDefinedStoragePoolsArgs {
        pub maxnames: i32,
    }
    pub struct ConnectListDefinedStoragePoolsRet {
        #[max = STORAGE_POOL_LIST_MAX] pub names: Vec<String>,
    }
    pub struct ConnectFindStoragePoolSourcesArgs {
        #[max = STRING_MAX] pub r#type: String,
        #[max = STRING_MAX] pub src_spec: Option<String>,
        pub flags: u32,
    }
    pub struct ConnectFindStoragePoolSourcesRet {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct StoragePoolLookupByUuidArgs {
        pub uuid: [u8; 16],
    }
    pub struct StoragePoolLookupByUuidRet {
        pub pool: NonnullStoragePool,
    }
    pub struct StoragePoolLookupByNameArgs {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct StoragePoolLookupByNameRet {
        pub pool: NonnullStoragePool,
    }
    pub struct StoragePoolLookupByVolumeArgs {
        pub vol: NonnullStorageVol,
    }
    pub struct StoragePoolLookupByVolumeRet {
        pub pool: NonnullStoragePool,
    }
    pub struct StoragePoolLookupByTargetPathArgs {
        #[max = STRING_MAX] pub path: String,
    }
    pub struct StoragePoolLookupByTargetPathRet {
        pub pool: NonnullStoragePool,
    }
    pub struct StoragePoolCreateXmlArgs {
        #[max = STRING_MAX] pub xml: String,
        pub flags: u32,
    }
    pub struct StoragePoolCreateXmlRet {
        pub pool: NonnullStoragePool,
    }
    pub struct StoragePoolDefineXmlArgs {
        #[max = STRING_MAX] pub xml: String,
        pub flags: u32,
    }
    pub struct StoragePoolDefineXmlRet {
        pub pool: NonnullStoragePool,
    }
    pub struct StoragePoolBuildArgs {
        pub pool: NonnullStoragePool,
        pub flags: u32,
    }
    pub struct StoragePoolUndefineArgs {
        pub pool: NonnullStoragePool,
    }
    pub struct StoragePoolCreateArgs {
        pub pool: NonnullStoragePool,
        pub flags: u32,
    }
    pub struct StoragePoolDestroyArgs {
        pub pool: NonnullStoragePool,
    }
    pub struct StoragePoolDeleteArgs {
        pub pool: NonnullStoragePool,
        pub flags: u32,
    }
    pub struct StoragePoolRefreshArgs {
        pub pool: NonnullStoragePool,
        pub flags: u32,
    }
    pub struct StoragePoolGetXmlDescArgs {
        pub pool: NonnullStoragePool,
        pub flags: u32,
    }
    pub struct StoragePoolGetXmlDescRet {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct StoragePoolGetInfoArgs {
        pub pool: NonnullStoragePool,
    }
    pub struct StoragePoolGetInfoRet {
        pub state: u8,
        pub capacity: u64,
        pub allocation: u64,
        pub available: u64,
    }
    pub struct StoragePoolGetAutostartArgs {
        pub pool: NonnullStoragePool,
    }
    pub struct StoragePoolGetAutostartRet {
        pub autostart: i32,
    }
    pub struct StoragePoolSetAutostartArgs {
        pub pool: NonnullStoragePool,
        pub autostart: i32,
    }
    pub struct StoragePoolNumOfVolumesArgs {
        pub pool: NonnullStoragePool,
    }
    pub struct StoragePoolNumOfVolumesRet {
        pub num: i32,
    }
    pub struct StoragePoolListVolumesArgs {
        pub pool: NonnullStoragePool,
        pub maxnames: i32,
    }
    pub struct StoragePoolListVolumesRet {
        #[max = STORAGE_VOL_LIST_MAX] pub names: Vec<String>,
    }
    pub struct StorageVolLookupByNameArgs {
        pub pool: NonnullStoragePool,
        #[max = STRING_MAX] pub name: String,
    }
    pub struct StorageVolLookupByNameRet {
        pub vol: NonnullStorageVol,
    }
    pub struct StorageVolLookupByKeyArgs {
        #[max = STRING_MAX] pub key: String,
    }
    pub struct StorageVolLookupByKeyRet {
        pub vol: NonnullStorageVol,
    }
    pub struct StorageVolLookupByPathArgs {
        #[max = STRING_MAX] pub path: String,
    }
    pub struct StorageVolLookupByPathRet {
        pub vol: NonnullStorageVol,
    }
    pub struct StorageVolCreateXmlArgs {
        pub pool: NonnullStoragePool,
        #[max = STRING_MAX] pub xml: String,
        pub flags: u32,
    }
    pub struct StorageVolCreateXmlRet {
        pub vol: NonnullStorageVol,
    }
    pub struct StorageVolCreateXmlFromArgs {
        pub pool: NonnullStoragePool,
        #[max = STRING_MAX] pub xml: String,
        pub clonevol: NonnullStorageVol,
        pub flags: u32,
    }
    pub struct StorageVolCreateXmlFromRet {
        pub vol: NonnullStorageVol,
    }
    pub struct StorageVolDeleteArgs {
        pub vol: NonnullStorageVol,
        pub flags: u32,
    }
    pub struct StorageVolWipeArgs {
        pub vol: NonnullStorageVol,
        pub flags: u32,
    }
    pub struct StorageVolWipePatternArgs {
        pub vol: NonnullStorageVol,
        pub algorithm: u32,
        pub flags: u32,
    }
    pub struct StorageVolGetXmlDescArgs {
        pub vol: NonnullStorageVol,
        pub flags: u32,
    }
    pub struct StorageVolGetXmlDescRet {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct StorageVolGetInfoArgs {
        pub vol: NonnullStorageVol,
    }
    pub struct StorageVolGetInfoRet {
        pub r#type: i8,
        pub capacity: u64,
        pub allocation: u64,
    }
    pub struct StorageVolGetInfoFlagsArgs {
        pub vol: NonnullStorageVol,
        pub flags: u32,
    }
    pub struct StorageVolGetInfoFlagsRet {
        pub r#type: i8,
        pub capacity: u64,
        pub allocation: u64,
    }
    pub struct StorageVolGetPathArgs {
        pub vol: NonnullStorageVol,
    }
    pub struct StorageVolGetPathRet {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct StorageVolResizeArgs {
        pub vol: NonnullStorageVol,
        pub capacity: u64,
        pub flags: u32,
    }
    pub struct NodeNumOfDevicesArgs {
        #[max = STRING_MAX] pub cap: Option<String>,
        pub flags: u32,
    }
    pub struct NodeNumOfDevicesRet {
        pub num: i32,
    }
    pub struct NodeListDevicesArgs {
        #[max = STRING_MAX] pub cap: Option<String>,
        pub maxnames: i32,
        pub flags: u32,
    }
    pub struct NodeListDevicesRet {
        #[max = NODE_DEVICE_LIST_MAX] pub names: Vec<String>,
    }
    pub struct NodeDeviceLookupByNameArgs {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct NodeDeviceLookupByNameRet {
        pub dev: NonnullNodeDevice,
    }
    pub struct NodeDeviceLookupScsiHostByWwnArgs {
        #[max = STRING_MAX] pub wwnn: String,
        #[max = STRING_MAX] pub wwpn: String,
        pub flags: u32,
    }
    pub struct NodeDeviceLookupScsiHostByWwnRet {
        pub dev: NonnullNodeDevice,
    }
    pub struct NodeDeviceGetXmlDescArgs {
        #[max = STRING_MAX] pub name: String,
        pub flags: u32,
    }
    pub struct NodeDeviceGetXmlDescRet {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct NodeDeviceGetParentArgs {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct NodeDeviceGetParentRet {
        #[max = STRING_MAX] pub parent_name: Option<String>,
    }
    pub struct NodeDeviceNumOfCapsArgs {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct NodeDeviceNumOfCapsRet {
        pub num: i32,
    }
    pub struct NodeDeviceListCapsArgs {
        #[max = STRING_MAX] pub name: String,
        pub maxnames: i32,
    }
    pub struct NodeDeviceListCapsRet {
        #[max = NODE_DEVICE_CAPS_LIST_MAX] pub names: Vec<String>,
    }
    pub struct NodeDeviceDettachArgs {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct NodeDeviceDetachFlagsArgs {
        #[max = STRING_MAX] pub name: String,
        #[max = STRING_MAX] pub driver_name: Option<String>,
        pub flags: u32,
    }
    pub struct NodeDeviceReAttachArgs {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct NodeDeviceResetArgs {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct NodeDeviceCreateXmlArgs {
        #[max = STRING_MAX] pub xml_desc: String,
        pub flags: u32,
    }
    pub struct NodeDeviceCreateXmlRet {
        pub dev: NonnullNodeDevice,
    }
    pub struct NodeDeviceDestroyArgs {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct NodeDeviceDefineXmlArgs {
        #[max = STRING_MAX] pub xml_desc: String,
        pub flags: u32,
    }
    pub struct NodeDeviceDefineXmlRet {
        pub dev: NonnullNodeDevice,
    }
    pub struct NodeDeviceUndefineArgs {
        #[max = STRING_MAX] pub name: String,
        pub flags: u32,
    }
    pub struct NodeDeviceCreateArgs {
        #[max = STRING_MAX] pub name: String,
        pub flags: u32,
    }
    pub struct NodeDeviceGetAutostartArgs {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct NodeDeviceGetAutostartRet {
        pub autostart: i32,
    }
    pub struct NodeDeviceSetAutostartArgs {
        #[max = STRING_MAX] pub name: String,
        pub autostart: i32,
    }
    pub struct NodeDeviceIsPersistentArgs {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct NodeDeviceIsPersistentRet {
        pub persistent: i32,
    }
    pub struct NodeDeviceIsActiveArgs {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct NodeDeviceIsActiveRet {
        pub active: i32,
    }
    pub struct ConnectDomainEventRegisterRet {
        pub cb_registered: i32,
    }
    pub struct ConnectDomainEventDeregisterRet {
        pub cb_registered: i32,
    }
    pub struct DomainEventLifecycleMsg {
        pub dom: NonnullDomain,
        pub event: i32,
        pub detail: i32,
    }
    pub struct DomainEventCallbackLifecycleMsg {
        pub callback_id: i32,
        pub msg: DomainEventLifecycleMsg,
    }
    pub struct ConnectDomainXmlFromNativeArgs {
        #[max = STRING_MAX] pub native_format: String,
        #[max = STRING_MAX] pub native_config: String,
        pub flags: u32,
    }
    pub struct ConnectDomainXmlFromNativeRet {
        #[max = STRING_MAX] pub domain_xml: String,
    }
    pub struct ConnectDomainXmlToNativeArgs {
        #[max = STRING_MAX] pub native_format: String,
        #[max = STRING_MAX] pub domain_xml: String,
        pub flags: u32,
    }
    pub struct ConnectDomainXmlToNativeRet {
        #[max = STRING_MAX] pub native_config: String,
    }
    pub struct ConnectNumOfSecretsRet {
        pub num: i32,
    }
    pub struct ConnectListSecretsArgs {
        pub maxuuids: i32,
    }
    pub struct ConnectListSecretsRet {
        #[max = SECRET_LIST_MAX] pub uuids: Vec<String>,
    }
    pub struct SecretLookupByUuidArgs {
        pub uuid: [u8; 16],
    }
    pub struct SecretLookupByUuidRet {
        pub secret: NonnullSecret,
    }
    pub struct SecretDefineXmlArgs {
        #[max = STRING_MAX] pub xml: String,
        pub flags: u32,
    }
    pub struct SecretDefineXmlRet {
        pub secret: NonnullSecret,
    }
    pub struct SecretGetXmlDescArgs {
        pub secret: NonnullSecret,
        pub flags: u32,
    }
    pub struct SecretGetXmlDescRet {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct SecretSetValueArgs {
        pub secret: NonnullSecret,
        #[max = SECRET_VALUE_MAX] pub value: xdr::Opaque,
        pub flags: u32,
    }
    pub struct SecretGetValueArgs {
        pub secret: NonnullSecret,
        pub flags: u32,
    }
    pub struct SecretGetValueRet {
        #[max = SECRET_VALUE_MAX] pub value: xdr::Opaque,
    }
    pub struct SecretUndefineArgs {
        pub secret: NonnullSecret,
    }
    pub struct SecretLookupByUsageArgs {
        pub usage_type: i32,
        #[max = STRING_MAX] pub usage_id: String,
    }
    pub struct SecretLookupByUsageRet {
        pub secret: NonnullSecret,
    }
    pub struct DomainMigratePrepareTunnelArgs {
        pub flags: u64,
        #[max = STRING_MAX] pub dname: Option<String>,
        pub resource: u64,
        #[max = STRING_MAX] pub dom_xml: String,
    }
    pub struct ConnectIsSecureRet {
        pub secure: i32,
    }
    pub struct DomainIsActiveArgs {
        pub dom: NonnullDomain,
    }
    pub struct DomainIsActiveRet {
        pub active: i32,
    }
    pub struct DomainIsPersistentArgs {
        pub dom: NonnullDomain,
    }
    pub struct DomainIsPersistentRet {
        pub persistent: i32,
    }
    pub struct DomainIsUpdatedArgs {
        pub dom: NonnullDomain,
    }
    pub struct DomainIsUpdatedRet {
        pub updated: i32,
    }
    pub struct NetworkIsActiveArgs {
        pub net: NonnullNetwork,
    }
    pub struct NetworkIsActiveRet {
        pub active: i32,
    }
    pub struct NetworkIsPersistentArgs {
        pub net: NonnullNetwork,
    }
    pub struct NetworkIsPersistentRet {
        pub persistent: i32,
    }
    pub struct StoragePoolIsActiveArgs {
        pub pool: NonnullStoragePool,
    }
    pub struct StoragePoolIsActiveRet {
        pub active: i32,
    }
    pub struct StoragePoolIsPersistentArgs {
        pub pool: NonnullStoragePool,
    }
    pub struct StoragePoolIsPersistentRet {
        pub persistent: i32,
    }
    pub struct InterfaceIsActiveArgs {
        pub iface: NonnullInterface,
    }
    pub struct InterfaceIsActiveRet {
        pub active: i32,
    }
    pub struct ConnectCompareCpuArgs {
        #[max = STRING_MAX] pub xml: String,
        pub flags: u32,
    }
    pub struct ConnectCompareCpuRet {
        pub result: i32,
    }
    pub struct ConnectBaselineCpuArgs {
        #[max = CPU_BASELINE_MAX] pub xml_cp_us: Vec<String>,
        pub flags: u32,
    }
    pub struct ConnectBaselineCpuRet {
        #[max = STRING_MAX] pub cpu: String,
    }
    pub struct DomainGetJobInfoArgs {
        pub dom: NonnullDomain,
    }
    pub struct DomainGetJobInfoRet {
        pub r#type: i32,
        pub time_elapsed: u64,
        pub time_remaining: u64,
        pub data_total: u64,
        pub data_processed: u64,
        pub data_remaining: u64,
        pub mem_total: u64,
        pub mem_processed: u64,
        pub mem_remaining: u64,
        pub file_total: u64,
        pub file_processed: u64,
        pub file_remaining: u64,
    }
    pub struct DomainGetJobStatsArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainGetJobStatsRet {
        pub r#type: i32,
        #[max = DOMAIN_JOB_STATS_MAX] pub params: Vec<TypedParam>,
    }
    pub struct DomainAbortJobArgs {
        pub dom: NonnullDomain,
    }
    pub struct DomainAbortJobFlagsArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainMigrateGetMaxDowntimeArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainMigrateGetMaxDowntimeRet {
        pub downtime: u64,
    }
    pub struct DomainMigrateSetMaxDowntimeArgs {
        pub dom: NonnullDomain,
        pub downtime: u64,
        pub flags: u32,
    }
    pub struct DomainMigrateGetCompressionCacheArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainMigrateGetCompressionCacheRet {
        pub cache_size: u64,
    }
    pub struct DomainMigrateSetCompressionCacheArgs {
        pub dom: NonnullDomain,
        pub cache_size: u64,
        pub flags: u32,
    }
    pub struct DomainMigrateSetMaxSpeedArgs {
        pub dom: NonnullDomain,
        pub bandwidth: u64,
        pub flags: u32,
    }
    pub struct DomainMigrateGetMaxSpeedArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainMigrateGetMaxSpeedRet {
        pub bandwidth: u64,
    }
    pub struct ConnectDomainEventRegisterAnyArgs {
        pub event_id: i32,
    }
    pub struct ConnectDomainEventDeregisterAnyArgs {
        pub event_id: i32,
    }
    pub struct ConnectDomainEventCallbackRegisterAnyArgs {
        pub event_id: i32,
        pub dom: Option<NonnullDomain>,
    }
    pub struct ConnectDomainEventCallbackRegisterAnyRet {
        pub callback_id: i32,
    }
    pub struct ConnectDomainEventCallbackDeregisterAnyArgs {
        pub callback_id: i32,
    }
    pub struct DomainEventRebootMsg {
        pub dom: NonnullDomain,
    }
    pub struct DomainEventCallbackRebootMsg {
        pub callback_id: i32,
        pub msg: DomainEventRebootMsg,
    }
    pub struct DomainEventRtcChangeMsg {
        pub dom: NonnullDomain,
        pub offset: i64,
    }
    pub struct DomainEventCallbackRtcChangeMsg {
        pub callback_id: i32,
        pub msg: DomainEventRtcChangeMsg,
    }
    pub struct DomainEventWatchdogMsg {
        pub dom: NonnullDomain,
        pub action: i32,
    }
    pub struct DomainEventCallbackWatchdogMsg {
        pub callback_id: i32,
        pub msg: DomainEventWatchdogMsg,
    }
    pub struct DomainEventIoErrorMsg {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub src_path: String,
        #[max = STRING_MAX] pub dev_alias: String,
        pub action: i32,
    }
    pub struct DomainEventCallbackIoErrorMsg {
        pub callback_id: i32,
        pub msg: DomainEventIoErrorMsg,
    }
    pub struct DomainEventIoErrorReasonMsg {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub src_path: String,
        #[max = STRING_MAX] pub dev_alias: String,
        pub action: i32,
        #[max = STRING_MAX] pub reason: String,
    }
    pub struct DomainEventCallbackIoErrorReasonMsg {
        pub callback_id: i32,
        pub msg: DomainEventIoErrorReasonMsg,
    }
    pub struct DomainEventGraphicsAddress {
        pub family: i32,
        #[max = STRING_MAX] pub node: String,
        #[max = STRING_MAX] pub service: String,
    }
    pub struct DomainEventGraphicsIdentity {
        #[max = STRING_MAX] pub r#type: String,
        #[max = STRING_MAX] pub name: String,
    }
    pub struct DomainEventGraphicsMsg {
        pub dom: NonnullDomain,
        pub phase: i32,
        pub local: DomainEventGraphicsAddress,
        pub remote: DomainEventGraphicsAddress,
        #[max = STRING_MAX] pub auth_scheme: String,
        #[max = DOMAIN_EVENT_GRAPHICS_IDENTITY_MAX] pub subject: Vec<DomainEventGraphicsIdentity>,
    }
    pub struct DomainEventCallbackGraphicsMsg {
        pub callback_id: i32,
        pub msg: DomainEventGraphicsMsg,
    }
    pub struct DomainEventBlockJobMsg {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub path: String,
        pub r#type: i32,
        pub status: i32,
    }
    pub struct DomainEventCallbackBlockJobMsg {
        pub callback_id: i32,
        pub msg: DomainEventBlockJobMsg,
    }
    pub struct DomainEventDiskChangeMsg {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub old_src_path: Option<String>,
        #[max = STRING_MAX] pub new_src_path: Option<String>,
        #[max = STRING_MAX] pub dev_alias: String,
        pub reason: i32,
    }
    pub struct DomainEventCallbackDiskChangeMsg {
        pub callback_id: i32,
        pub msg: DomainEventDiskChangeMsg,
    }
    pub struct DomainEventTrayChangeMsg {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub dev_alias: String,
        pub reason: i32,
    }
    pub struct DomainEventCallbackTrayChangeMsg {
        pub callback_id: i32,
        pub msg: DomainEventTrayChangeMsg,
    }
    pub struct DomainEventPmwakeupMsg {
        pub dom: NonnullDomain,
    }
    pub struct DomainEventCallbackPmwakeupMsg {
        pub callback_id: i32,
        pub reason: i32,
        pub msg: DomainEventPmwakeupMsg,
    }
    pub struct DomainEventPmsuspendMsg {
        pub dom: NonnullDomain,
    }
    pub struct DomainEventCallbackPmsuspendMsg {
        pub callback_id: i32,
        pub reason: i32,
        pub msg: DomainEventPmsuspendMsg,
    }
    pub struct DomainEventBalloonChangeMsg {
        pub dom: NonnullDomain,
        pub actual: u64,
    }
    pub struct DomainEventCallbackBalloonChangeMsg {
        pub callback_id: i32,
        pub msg: DomainEventBalloonChangeMsg,
    }
    pub struct DomainEventPmsuspendDiskMsg {
        pub dom: NonnullDomain,
    }
    pub struct DomainEventCallbackPmsuspendDiskMsg {
        pub callback_id: i32,
        pub reason: i32,
        pub msg: DomainEventPmsuspendDiskMsg,
    }
    pub struct DomainManagedSaveArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainHasManagedSaveImageArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainHasManagedSaveImageRet {
        pub result: i32,
    }
    pub struct DomainManagedSaveRemoveArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainManagedSaveGetXmlDescArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainManagedSaveGetXmlDescRet {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct DomainManagedSaveDefineXmlArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub dxml: Option<String>,
        pub flags: u32,
    }
    pub struct DomainSnapshotCreateXmlArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub xml_desc: String,
        pub flags: u32,
    }
    pub struct DomainSnapshotCreateXmlRet {
        pub snap: NonnullDomainSnapshot,
    }
    pub struct DomainSnapshotGetXmlDescArgs {
        pub snap: NonnullDomainSnapshot,
        pub flags: u32,
    }
    pub struct DomainSnapshotGetXmlDescRet {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct DomainSnapshotNumArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainSnapshotNumRet {
        pub num: i32,
    }
    pub struct DomainSnapshotListNamesArgs {
        pub dom: NonnullDomain,
        pub maxnames: i32,
        pub flags: u32,
    }
    pub struct DomainSnapshotListNamesRet {
        #[max = DOMAIN_SNAPSHOT_LIST_MAX] pub names: Vec<String>,
    }
    pub struct DomainListAllSnapshotsArgs {
        pub dom: NonnullDomain,
        pub need_results: i32,
        pub flags: u32,
    }
    pub struct DomainListAllSnapshotsRet {
        #[max = DOMAIN_SNAPSHOT_LIST_MAX] pub snapshots: Vec<NonnullDomainSnapshot>,
        pub ret: i32,
    }
    pub struct DomainSnapshotNumChildrenArgs {
        pub snap: NonnullDomainSnapshot,
        pub flags: u32,
    }
    pub struct DomainSnapshotNumChildrenRet {
        pub num: i32,
    }
    pub struct DomainSnapshotListChildrenNamesArgs {
        pub snap: NonnullDomainSnapshot,
        pub maxnames: i32,
        pub flags: u32,
    }
    pub struct DomainSnapshotListChildrenNamesRet {
        #[max = DOMAIN_SNAPSHOT_LIST_MAX] pub names: Vec<String>,
    }
    pub struct DomainSnapshotListAllChildrenArgs {
        pub snapshot: NonnullDomainSnapshot,
        pub need_results: i32,
        pub flags: u32,
    }
    pub struct DomainSnapshotListAllChildrenRet {
        #[max = DOMAIN_SNAPSHOT_LIST_MAX] pub snapshots: Vec<NonnullDomainSnapshot>,
        pub ret: i32,
    }
    pub struct DomainSnapshotLookupByNameArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub name: String,
        pub flags: u32,
    }
    pub struct DomainSnapshotLookupByNameRet {
        pub snap: NonnullDomainSnapshot,
    }
    pub struct DomainHasCurrentSnapshotArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainHasCurrentSnapshotRet {
        pub result: i32,
    }
    pub struct DomainSnapshotGetParentArgs {
        pub snap: NonnullDomainSnapshot,
        pub flags: u32,
    }
    pub struct DomainSnapshotGetParentRet {
        pub snap: NonnullDomainSnapshot,
    }
    pub struct DomainSnapshotCurrentArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainSnapshotCurrentRet {
        pub snap: NonnullDomainSnapshot,
    }
    pub struct DomainSnapshotIsCurrentArgs {
        pub snap: NonnullDomainSnapshot,
        pub flags: u32,
    }
    pub struct DomainSnapshotIsCurrentRet {
        pub current: i32,
    }
    pub struct DomainSnapshotHasMetadataArgs {
        pub snap: NonnullDomainSnapshot,
        pub flags: u32,
    }
    pub struct DomainSnapshotHasMetadataRet {
        pub metadata: i32,
    }
    pub struct DomainRevertToSnapshotArgs {
        pub snap: NonnullDomainSnapshot,
        pub flags: u32,
    }
    pub struct DomainSnapshotDeleteArgs {
        pub snap: NonnullDomainSnapshot,
        pub flags: u32,
    }
    pub struct DomainOpenConsoleArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub dev_name: Option<String>,
        pub flags: u32,
    }
    pub struct DomainOpenChannelArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub name: Option<String>,
        pub flags: u32,
    }
    pub struct StorageVolUploadArgs {
        pub vol: NonnullStorageVol,
        pub offset: u64,
        pub length: u64,
        pub flags: u32,
    }
    pub struct StorageVolDownloadArgs {
        pub vol: NonnullStorageVol,
        pub offset: u64,
        pub length: u64,
        pub flags: u32,
    }
    pub struct DomainGetStateArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainGetStateRet {
        pub state: i32,
        pub reason: i32,
    }
    pub struct DomainMigrateBegin3Args {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub xmlin: Option<String>,
        pub flags: u64,
        #[max = STRING_MAX] pub dname: Option<String>,
        pub resource: u64,
    }
    pub struct DomainMigrateBegin3Ret {
        #[max = MIGRATE_COOKIE_MAX] pub cookie_out: xdr::Opaque,
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct DomainMigratePrepare3Args {
        #[max = MIGRATE_COOKIE_MAX] pub cookie_in: xdr::Opaque,
        #[max = STRING_MAX] pub uri_in: Option<String>,
        pub flags: u64,
        #[max = STRING_MAX] pub dname: Option<String>,
        pub resource: u64,
        #[max = STRING_MAX] pub dom_xml: String,
    }
    pub struct DomainMigratePrepare3Ret {
        #[max = MIGRATE_COOKIE_MAX] pub cookie_out: xdr::Opaque,
        #[max = STRING_MAX] pub uri_out: Option<String>,
    }
    pub struct DomainMigratePrepareTunnel3Args {
        #[max = MIGRATE_COOKIE_MAX] pub cookie_in: xdr::Opaque,
        pub flags: u64,
        #[max = STRING_MAX] pub dname: Option<String>,
        pub resource: u64,
        #[max = STRING_MAX] pub dom_xml: String,
    }
    pub struct DomainMigratePrepareTunnel3Ret {
        #[max = MIGRATE_COOKIE_MAX] pub cookie_out: xdr::Opaque,
    }
    pub struct DomainMigratePerform3Args {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub xmlin: Option<String>,
        #[max = MIGRATE_COOKIE_MAX] pub cookie_in: xdr::Opaque,
        #[max = STRING_MAX] pub dconnuri: Option<String>,
        #[max = STRING_MAX] pub uri: Option<String>,
        pub flags: u64,
        #[max = STRING_MAX] pub dname: Option<String>,
        pub resource: u64,
    }
    pub struct DomainMigratePerform3Ret {
        #[max = MIGRATE_COOKIE_MAX] pub cookie_out: xdr::Opaque,
    }
    pub struct DomainMigrateFinish3Args {
        #[max = STRING_MAX] pub dname: String,
        #[max = MIGRATE_COOKIE_MAX] pub cookie_in: xdr::Opaque,
        #[max = STRING_MAX] pub dconnuri: Option<String>,
        #[max = STRING_MAX] pub uri: Option<String>,
        pub flags: u64,
        pub cancelled: i32,
    }
    pub struct DomainMigrateFinish3Ret {
        pub dom: NonnullDomain,
        #[max = MIGRATE_COOKIE_MAX] pub cookie_out: xdr::Opaque,
    }
    pub struct DomainMigrateConfirm3Args {
        pub dom: NonnullDomain,
        #[max = MIGRATE_COOKIE_MAX] pub cookie_in: xdr::Opaque,
        pub flags: u64,
        pub cancelled: i32,
    }
    pub struct DomainEventControlErrorMsg {
        pub dom: NonnullDomain,
    }
    pub struct DomainEventCallbackControlErrorMsg {
        pub callback_id: i32,
        pub msg: DomainEventControlErrorMsg,
    }
    pub struct DomainGetControlInfoArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainGetControlInfoRet {
        pub state: u32,
        pub details: u32,
        pub state_time: u64,
    }
    pub struct DomainOpenGraphicsArgs {
        pub dom: NonnullDomain,
        pub idx: u32,
        pub flags: u32,
    }
    pub struct DomainOpenGraphicsFdArgs {
        pub dom: NonnullDomain,
        pub idx: u32,
        pub flags: u32,
    }
    pub struct NodeSuspendForDurationArgs {
        pub target: u32,
        pub duration: u64,
        pub flags: u32,
    }
    pub struct DomainShutdownFlagsArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainGetDiskErrorsArgs {
        pub dom: NonnullDomain,
        pub maxerrors: u32,
        pub flags: u32,
    }
    pub struct DomainGetDiskErrorsRet {
        #[max = DOMAIN_DISK_ERRORS_MAX] pub errors: Vec<DomainDiskError>,
        pub nerrors: i32,
    }
    pub struct ConnectListAllDomainsArgs {
        pub need_results: i32,
        pub flags: u32,
    }
    pub struct ConnectListAllDomainsRet {
        #[max = DOMAIN_LIST_MAX] pub domains: Vec<NonnullDomain>,
        pub ret: u32,
    }
    pub struct ConnectListAllStoragePoolsArgs {
        pub need_results: i32,
        pub flags: u32,
    }
    pub struct ConnectListAllStoragePoolsRet {
        #[max = STORAGE_POOL_LIST_MAX] pub pools: Vec<NonnullStoragePool>,
        pub ret: u32,
    }
    pub struct StoragePoolListAllVolumesArgs {
        pub pool: NonnullStoragePool,
        pub need_results: i32,
        pub flags: u32,
    }
    pub struct StoragePoolListAllVolumesRet {
        #[max = STORAGE_VOL_LIST_MAX] pub vols: Vec<NonnullStorageVol>,
        pub ret: u32,
    }
    pub struct ConnectListAllNetworksArgs {
        pub need_results: i32,
        pub flags: u32,
    }
    pub struct ConnectListAllNetworksRet {
        #[max = NETWORK_LIST_MAX] pub nets: Vec<NonnullNetwork>,
        pub ret: u32,
    }
    pub struct ConnectListAllInterfacesArgs {
        pub need_results: i32,
        pub flags: u32,
    }
    pub struct ConnectListAllInterfacesRet {
        #[max = INTERFACE_LIST_MAX] pub ifaces: Vec<NonnullInterface>,
        pub ret: u32,
    }
    pub struct ConnectListAllNodeDevicesArgs {
        pub need_results: i32,
        pub flags: u32,
    }
    pub struct ConnectListAllNodeDevicesRet {
        #[max = NODE_DEVICE_LIST_MAX] pub devices: Vec<NonnullNodeDevice>,
        pub ret: u32,
    }
    pub struct ConnectListAllNwfiltersArgs {
        pub need_results: i32,
        pub flags: u32,
    }
    pub struct ConnectListAllNwfiltersRet {
        #[max = NWFILTER_LIST_MAX] pub filters: Vec<NonnullNwfilter>,
        pub ret: u32,
    }
    pub struct ConnectListAllSecretsArgs {
        pub need_results: i32,
        pub flags: u32,
    }
    pub struct ConnectListAllSecretsRet {
        #[max = SECRET_LIST_MAX] pub secrets: Vec<NonnullSecret>,
        pub ret: u32,
    }
    pub struct NodeSetMemoryParametersArgs {
        #[max = NODE_MEMORY_PARAMETERS_MAX] pub params: Vec<TypedParam>,
        pub flags: u32,
    }
    pub struct NodeGetMemoryParametersArgs {
        pub nparams: i32,
        pub flags: u32,
    }
    pub struct NodeGetMemoryParametersRet {
        #[max = NODE_MEMORY_PARAMETERS_MAX] pub params: Vec<TypedParam>,
        pub nparams: i32,
    }
    pub struct NodeGetCpuMapArgs {
        pub need_map: i32,
        pub need_online: i32,
        pub flags: u32,
    }
    pub struct NodeGetCpuMapRet {
        #[max = CPUMAP_MAX] pub cpumap: xdr::Opaque,
        pub online: u32,
        pub ret: i32,
    }
    pub struct DomainFstrimArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub mount_point: Option<String>,
        pub minimum: u64,
        pub flags: u32,
    }
    pub struct DomainGetTimeArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainGetTimeRet {
        pub seconds: i64,
        pub nseconds: u32,
    }
    pub struct DomainSetTimeArgs {
        pub dom: NonnullDomain,
        pub seconds: i64,
        pub nseconds: u32,
        pub flags: u32,
    }
    pub struct DomainMigrateBegin3ParamsArgs {
        pub dom: NonnullDomain,
        #[max = DOMAIN_MIGRATE_PARAM_LIST_MAX] pub params: Vec<TypedParam>,
        pub flags: u32,
    }
    pub struct DomainMigrateBegin3ParamsRet {
        #[max = MIGRATE_COOKIE_MAX] pub cookie_out: xdr::Opaque,
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct DomainMigratePrepare3ParamsArgs {
        #[max = DOMAIN_MIGRATE_PARAM_LIST_MAX] pub params: Vec<TypedParam>,
        #[max = MIGRATE_COOKIE_MAX] pub cookie_in: xdr::Opaque,
        pub flags: u32,
    }
    pub struct DomainMigratePrepare3ParamsRet {
        #[max = MIGRATE_COOKIE_MAX] pub cookie_out: xdr::Opaque,
        #[max = STRING_MAX] pub uri_out: Option<String>,
    }
    pub struct DomainMigratePrepareTunnel3ParamsArgs {
        #[max = DOMAIN_MIGRATE_PARAM_LIST_MAX] pub params: Vec<TypedParam>,
        #[max = MIGRATE_COOKIE_MAX] pub cookie_in: xdr::Opaque,
        pub flags: u32,
    }
    pub struct DomainMigratePrepareTunnel3ParamsRet {
        #[max = MIGRATE_COOKIE_MAX] pub cookie_out: xdr::Opaque,
    }
    pub struct DomainMigratePerform3ParamsArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub dconnuri: Option<String>,
        #[max = DOMAIN_MIGRATE_PARAM_LIST_MAX] pub params: Vec<TypedParam>,
        #[max = MIGRATE_COOKIE_MAX] pub cookie_in: xdr::Opaque,
        pub flags: u32,
    }
    pub struct DomainMigratePerform3ParamsRet {
        #[max = MIGRATE_COOKIE_MAX] pub cookie_out: xdr::Opaque,
    }
    pub struct DomainMigrateFinish3ParamsArgs {
        #[max = DOMAIN_MIGRATE_PARAM_LIST_MAX] pub params: Vec<TypedParam>,
        #[max = MIGRATE_COOKIE_MAX] pub cookie_in: xdr::Opaque,
        pub flags: u32,
        pub cancelled: i32,
    }
    pub struct DomainMigrateFinish3ParamsRet {
        pub dom: NonnullDomain,
        #[max = MIGRATE_COOKIE_MAX] pub cookie_out: xdr::Opaque,
    }
    pub struct DomainMigrateConfirm3ParamsArgs {
        pub dom: NonnullDomain,
        #[max = DOMAIN_MIGRATE_PARAM_LIST_MAX] pub params: Vec<TypedParam>,
        #[max = MIGRATE_COOKIE_MAX] pub cookie_in: xdr::Opaque,
        pub flags: u32,
        pub cancelled: i32,
    }
    pub struct DomainEventDeviceRemovedMsg {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub dev_alias: String,
    }
    pub struct DomainEventCallbackDeviceRemovedMsg {
        pub callback_id: i32,
        pub msg: DomainEventDeviceRemovedMsg,
    }
    pub struct DomainEventBlockJob2Msg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub dst: String,
        pub r#type: i32,
        pub status: i32,
    }
    pub struct DomainEventBlockThresholdMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub dev: String,
        #[max = STRING_MAX] pub path: Option<String>,
        pub threshold: u64,
        pub excess: u64,
    }
    pub struct DomainEventCallbackTunableMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        #[max = DOMAIN_EVENT_TUNABLE_MAX] pub params: Vec<TypedParam>,
    }
    pub struct DomainEventCallbackDeviceAddedMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub dev_alias: String,
    }
    pub struct ConnectEventConnectionClosedMsg {
        pub reason: i32,
    }
    pub struct ConnectGetCpuModelNamesArgs {
        #[max = STRING_MAX] pub arch: String,
        pub need_results: i32,
        pub flags: u32,
    }
    pub struct ConnectGetCpuModelNamesRet {
        #[max = CONNECT_CPU_MODELS_MAX] pub models: Vec<String>,
        pub ret: i32,
    }
    pub struct ConnectNetworkEventRegisterAnyArgs {
        pub event_id: i32,
        pub net: Option<NonnullNetwork>,
    }
    pub struct ConnectNetworkEventRegisterAnyRet {
        pub callback_id: i32,
    }
    pub struct ConnectNetworkEventDeregisterAnyArgs {
        pub callback_id: i32,
    }
    pub struct NetworkEventLifecycleMsg {
        pub callback_id: i32,
        pub net: NonnullNetwork,
        pub event: i32,
        pub detail: i32,
    }
    pub struct ConnectStoragePoolEventRegisterAnyArgs {
        pub event_id: i32,
        pub pool: Option<NonnullStoragePool>,
    }
    pub struct ConnectStoragePoolEventRegisterAnyRet {
        pub callback_id: i32,
    }
    pub struct ConnectStoragePoolEventDeregisterAnyArgs {
        pub callback_id: i32,
    }
    pub struct StoragePoolEventLifecycleMsg {
        pub callback_id: i32,
        pub pool: NonnullStoragePool,
        pub event: i32,
        pub detail: i32,
    }
    pub struct StoragePoolEventRefreshMsg {
        pub callback_id: i32,
        pub pool: NonnullStoragePool,
    }
    pub struct ConnectNodeDeviceEventRegisterAnyArgs {
        pub event_id: i32,
        pub dev: Option<NonnullNodeDevice>,
    }
    pub struct ConnectNodeDeviceEventRegisterAnyRet {
        pub callback_id: i32,
    }
    pub struct ConnectNodeDeviceEventDeregisterAnyArgs {
        pub callback_id: i32,
    }
    pub struct NodeDeviceEventLifecycleMsg {
        pub callback_id: i32,
        pub dev: NonnullNodeDevice,
        pub event: i32,
        pub detail: i32,
    }
    pub struct NodeDeviceEventUpdateMsg {
        pub callback_id: i32,
        pub dev: NonnullNodeDevice,
    }
    pub struct DomainFsfreezeArgs {
        pub dom: NonnullDomain,
        #[max = DOMAIN_FSFREEZE_MOUNTPOINTS_MAX] pub mountpoints: Vec<String>,
        pub flags: u32,
    }
    pub struct DomainFsfreezeRet {
        pub filesystems: i32,
    }
    pub struct DomainFsthawArgs {
        pub dom: NonnullDomain,
        #[max = DOMAIN_FSFREEZE_MOUNTPOINTS_MAX] pub mountpoints: Vec<String>,
        pub flags: u32,
    }
    pub struct DomainFsthawRet {
        pub filesystems: i32,
    }
    pub struct NodeGetFreePagesArgs {
        #[max = NODE_MAX_CELLS] pub pages: Vec<u32>,
        pub start_cell: i32,
        pub cell_count: u32,
        pub flags: u32,
    }
    pub struct NodeGetFreePagesRet {
        #[max = NODE_MAX_CELLS] pub counts: Vec<u64>,
    }
    pub struct NodeAllocPagesArgs {
        #[max = NODE_MAX_CELLS] pub page_sizes: Vec<u32>,
        #[max = NODE_MAX_CELLS] pub page_counts: Vec<u64>,
        pub start_cell: i32,
        pub cell_count: u32,
        pub flags: u32,
    }
    pub struct NodeAllocPagesRet {
        pub ret: i32,
    }
    pub struct NetworkDhcpLease {
        #[max = STRING_MAX] pub iface: String,
        pub expirytime: i64,
        pub r#type: i32,
        #[max = STRING_MAX] pub mac: Option<String>,
        #[max = STRING_MAX] pub iaid: Option<String>,
        #[max = STRING_MAX] pub ipaddr: String,
        pub prefix: u32,
        #[max = STRING_MAX] pub hostname: Option<String>,
        #[max = STRING_MAX] pub clientid: Option<String>,
    }
    pub struct NetworkGetDhcpLeasesArgs {
        pub net: NonnullNetwork,
        #[max = STRING_MAX] pub mac: Option<String>,
        pub need_results: i32,
        pub flags: u32,
    }
    pub struct NetworkGetDhcpLeasesRet {
        #[max = NETWORK_DHCP_LEASES_MAX] pub leases: Vec<NetworkDhcpLease>,
        pub ret: u32,
    }
    pub struct DomainStatsRecord {
        pub dom: NonnullDomain,
        #[max = CONNECT_GET_ALL_DOMAIN_STATS_MAX] pub params: Vec<TypedParam>,
    }
    pub struct ConnectGetAllDomainStatsArgs {
        #[max = DOMAIN_LIST_MAX] pub doms: Vec<NonnullDomain>,
        pub stats: u32,
        pub flags: u32,
    }
    pub struct DomainEventCallbackAgentLifecycleMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub state: i32,
        pub reason: i32,
    }
    pub struct ConnectGetAllDomainStatsRet {
        #[max = DOMAIN_LIST_MAX] pub ret_stats: Vec<DomainStatsRecord>,
    }
    pub struct DomainFsinfo {
        #[max = STRING_MAX] pub mountpoint: String,
        #[max = STRING_MAX] pub name: String,
        #[max = STRING_MAX] pub fstype: String,
        #[max = DOMAIN_FSINFO_DISKS_MAX] pub dev_aliases: Vec<String>,
    }
    pub struct DomainGetFsinfoArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainGetFsinfoRet {
        #[max = DOMAIN_FSINFO_MAX] pub info: Vec<DomainFsinfo>,
        pub ret: u32,
    }
    pub struct DomainIpAddr {
        pub r#type: i32,
        #[max = STRING_MAX] pub addr: String,
        pub prefix: u32,
    }
    pub struct DomainInterface {
        #[max = STRING_MAX] pub name: String,
        #[max = STRING_MAX] pub hwaddr: Option<String>,
        #[max = DOMAIN_IP_ADDR_MAX] pub addrs: Vec<DomainIpAddr>,
    }
    pub struct DomainInterfaceAddressesArgs {
        pub dom: NonnullDomain,
        pub source: u32,
        pub flags: u32,
    }
    pub struct DomainInterfaceAddressesRet {
        #[max = DOMAIN_INTERFACE_MAX] pub ifaces: Vec<DomainInterface>,
    }
    pub struct DomainSetUserPasswordArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub user: Option<String>,
        #[max = STRING_MAX] pub password: Option<String>,
        pub flags: u32,
    }
    pub struct DomainRenameArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub new_name: Option<String>,
        pub flags: u32,
    }
    pub struct DomainRenameRet {
        pub retcode: i32,
    }
    pub struct DomainEventCallbackMigrationIterationMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub iteration: i32,
    }
    pub struct DomainEventCallbackJobCompletedMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        #[max = DOMAIN_JOB_STATS_MAX] pub params: Vec<TypedParam>,
    }
    pub struct DomainMigrateStartPostCopyArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainEventCallbackDeviceRemovalFailedMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub dev_alias: String,
    }
    pub struct DomainGetGuestVcpusArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainGetGuestVcpusRet {
        #[max = DOMAIN_GUEST_VCPU_PARAMS_MAX] pub params: Vec<TypedParam>,
    }
    pub struct DomainSetGuestVcpusArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub cpumap: String,
        pub state: i32,
        pub flags: u32,
    }
    pub struct DomainSetVcpuArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub cpumap: String,
        pub state: i32,
        pub flags: u32,
    }
    pub struct DomainEventCallbackMetadataChangeMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub r#type: i32,
        #[max = STRING_MAX] pub nsuri: Option<String>,
    }
    pub struct DomainEventMemoryFailureMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        pub recipient: i32,
        pub action: i32,
        pub flags: u32,
    }
    pub struct ConnectSecretEventRegisterAnyArgs {
        pub event_id: i32,
        pub secret: Option<NonnullSecret>,
    }
    pub struct ConnectSecretEventRegisterAnyRet {
        pub callback_id: i32,
    }
    pub struct ConnectSecretEventDeregisterAnyArgs {
        pub callback_id: i32,
    }
    pub struct SecretEventLifecycleMsg {
        pub callback_id: i32,
        pub secret: NonnullSecret,
        pub event: i32,
        pub detail: i32,
    }
    pub struct SecretEventValueChangedMsg {
        pub callback_id: i32,
        pub secret: NonnullSecret,
    }
    pub struct DomainSetBlockThresholdArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub dev: String,
        pub threshold: u64,
        pub flags: u32,
    }
    pub struct DomainSetLifecycleActionArgs {
        pub dom: NonnullDomain,
        pub r#type: u32,
        pub action: u32,
        pub flags: u32,
    }
    pub struct ConnectCompareHypervisorCpuArgs {
        #[max = STRING_MAX] pub emulator: Option<String>,
        #[max = STRING_MAX] pub arch: Option<String>,
        #[max = STRING_MAX] pub machine: Option<String>,
        #[max = STRING_MAX] pub virttype: Option<String>,
        #[max = STRING_MAX] pub xml_cpu: String,
        pub flags: u32,
    }
    pub struct ConnectCompareHypervisorCpuRet {
        pub result: i32,
    }
    pub struct ConnectBaselineHypervisorCpuArgs {
        #[max = STRING_MAX] pub emulator: Option<String>,
        #[max = STRING_MAX] pub arch: Option<String>,
        #[max = STRING_MAX] pub machine: Option<String>,
        #[max = STRING_MAX] pub virttype: Option<String>,
        #[max = CPU_BASELINE_MAX] pub xml_cp_us: Vec<String>,
        pub flags: u32,
    }
    pub struct ConnectBaselineHypervisorCpuRet {
        #[max = STRING_MAX] pub cpu: String,
    }
    pub struct NodeGetSevInfoArgs {
        pub nparams: i32,
        pub flags: u32,
    }
    pub struct NodeGetSevInfoRet {
        #[max = NODE_SEV_INFO_MAX] pub params: Vec<TypedParam>,
        pub nparams: i32,
    }
    pub struct DomainGetLaunchSecurityInfoArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainGetLaunchSecurityInfoRet {
        #[max = DOMAIN_LAUNCH_SECURITY_INFO_PARAMS_MAX] pub params: Vec<TypedParam>,
    }
    pub struct DomainSetLaunchSecurityStateArgs {
        pub dom: NonnullDomain,
        #[max = DOMAIN_LAUNCH_SECURITY_STATE_PARAMS_MAX] pub params: Vec<TypedParam>,
        pub flags: u32,
    }
    pub struct NwfilterBindingLookupByPortDevArgs {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct NwfilterBindingLookupByPortDevRet {
        pub nwfilter: NonnullNwfilterBinding,
    }
    pub struct NwfilterBindingCreateXmlArgs {
        #[max = STRING_MAX] pub xml: String,
        pub flags: u32,
    }
    pub struct NwfilterBindingCreateXmlRet {
        pub nwfilter: NonnullNwfilterBinding,
    }
    pub struct NwfilterBindingDeleteArgs {
        pub nwfilter: NonnullNwfilterBinding,
    }
    pub struct NwfilterBindingGetXmlDescArgs {
        pub nwfilter: NonnullNwfilterBinding,
        pub flags: u32,
    }
    pub struct NwfilterBindingGetXmlDescRet {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct ConnectListAllNwfilterBindingsArgs {
        pub need_results: i32,
        pub flags: u32,
    }
    pub struct ConnectListAllNwfilterBindingsRet {
        #[max = NWFILTER_BINDING_LIST_MAX] pub bindings: Vec<NonnullNwfilterBinding>,
        pub ret: u32,
    }
    pub struct ConnectGetStoragePoolCapabilitiesArgs {
        pub flags: u32,
    }
    pub struct ConnectGetStoragePoolCapabilitiesRet {
        #[max = STRING_MAX] pub capabilities: String,
    }
    pub struct NetworkListAllPortsArgs {
        pub network: NonnullNetwork,
        pub need_results: i32,
        pub flags: u32,
    }
    pub struct NetworkListAllPortsRet {
        #[max = NETWORK_PORT_LIST_MAX] pub ports: Vec<NonnullNetworkPort>,
        pub ret: u32,
    }
    pub struct NetworkPortLookupByUuidArgs {
        pub network: NonnullNetwork,
        pub uuid: [u8; 16],
    }
    pub struct NetworkPortLookupByUuidRet {
        pub port: NonnullNetworkPort,
    }
    pub struct NetworkPortCreateXmlArgs {
        pub network: NonnullNetwork,
        #[max = STRING_MAX] pub xml: String,
        pub flags: u32,
    }
    pub struct NetworkPortCreateXmlRet {
        pub port: NonnullNetworkPort,
    }
    pub struct NetworkPortSetParametersArgs {
        pub port: NonnullNetworkPort,
        #[max = NETWORK_PORT_PARAMETERS_MAX] pub params: Vec<TypedParam>,
        pub flags: u32,
    }
    pub struct NetworkPortGetParametersArgs {
        pub port: NonnullNetworkPort,
        pub nparams: i32,
        pub flags: u32,
    }
    pub struct NetworkPortGetParametersRet {
        #[max = NETWORK_PORT_PARAMETERS_MAX] pub params: Vec<TypedParam>,
        pub nparams: i32,
    }
    pub struct NetworkPortGetXmlDescArgs {
        pub port: NonnullNetworkPort,
        pub flags: u32,
    }
    pub struct NetworkPortGetXmlDescRet {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct NetworkPortDeleteArgs {
        pub port: NonnullNetworkPort,
        pub flags: u32,
    }
    pub struct DomainCheckpointCreateXmlArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub xml_desc: String,
        pub flags: u32,
    }
    pub struct DomainCheckpointCreateXmlRet {
        pub checkpoint: NonnullDomainCheckpoint,
    }
    pub struct DomainCheckpointGetXmlDescArgs {
        pub checkpoint: NonnullDomainCheckpoint,
        pub flags: u32,
    }
    pub struct DomainCheckpointGetXmlDescRet {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct DomainListAllCheckpointsArgs {
        pub dom: NonnullDomain,
        pub need_results: i32,
        pub flags: u32,
    }
    pub struct DomainListAllCheckpointsRet {
        #[max = DOMAIN_CHECKPOINT_LIST_MAX] pub checkpoints: Vec<NonnullDomainCheckpoint>,
        pub ret: i32,
    }
    pub struct DomainCheckpointListAllChildrenArgs {
        pub checkpoint: NonnullDomainCheckpoint,
        pub need_results: i32,
        pub flags: u32,
    }
    pub struct DomainCheckpointListAllChildrenRet {
        #[max = DOMAIN_CHECKPOINT_LIST_MAX] pub checkpoints: Vec<NonnullDomainCheckpoint>,
        pub ret: i32,
    }
    pub struct DomainCheckpointLookupByNameArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub name: String,
        pub flags: u32,
    }
    pub struct DomainCheckpointLookupByNameRet {
        pub checkpoint: NonnullDomainCheckpoint,
    }
    pub struct DomainCheckpointGetParentArgs {
        pub checkpoint: NonnullDomainCheckpoint,
        pub flags: u32,
    }
    pub struct DomainCheckpointGetParentRet {
        pub parent: NonnullDomainCheckpoint,
    }
    pub struct DomainCheckpointDeleteArgs {
        pub checkpoint: NonnullDomainCheckpoint,
        pub flags: u32,
    }
    pub struct DomainGetGuestInfoArgs {
        pub dom: NonnullDomain,
        pub types: u32,
        pub flags: u32,
    }
    pub struct DomainGetGuestInfoRet {
        #[max = DOMAIN_GUEST_INFO_PARAMS_MAX] pub params: Vec<TypedParam>,
    }
    pub struct ConnectSetIdentityArgs {
        #[max = CONNECT_IDENTITY_PARAMS_MAX] pub params: Vec<TypedParam>,
        pub flags: u32,
    }
    pub struct DomainAgentSetResponseTimeoutArgs {
        pub dom: NonnullDomain,
        pub timeout: i32,
        pub flags: u32,
    }
    pub struct DomainAgentSetResponseTimeoutRet {
        pub result: i32,
    }
    pub struct DomainBackupBeginArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub backup_xml: String,
        #[max = STRING_MAX] pub checkpoint_xml: Option<String>,
        pub flags: u32,
    }
    pub struct DomainBackupGetXmlDescArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainBackupGetXmlDescRet {
        #[max = STRING_MAX] pub xml: String,
    }
    pub struct DomainAuthorizedSshKeysGetArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub user: String,
        pub flags: u32,
    }
    pub struct DomainAuthorizedSshKeysGetRet {
        #[max = DOMAIN_AUTHORIZED_SSH_KEYS_MAX] pub keys: Vec<String>,
    }
    pub struct DomainAuthorizedSshKeysSetArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub user: String,
        #[max = DOMAIN_AUTHORIZED_SSH_KEYS_MAX] pub keys: Vec<String>,
        pub flags: u32,
    }
    pub struct DomainGetMessagesArgs {
        pub dom: NonnullDomain,
        pub flags: u32,
    }
    pub struct DomainGetMessagesRet {
        #[max = DOMAIN_MESSAGES_MAX] pub msgs: Vec<String>,
    }
    pub struct DomainStartDirtyRateCalcArgs {
        pub dom: NonnullDomain,
        pub seconds: i32,
        pub flags: u32,
    }
    pub struct DomainEventMemoryDeviceSizeChangeMsg {
        pub callback_id: i32,
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub alias: String,
        pub size: u64,
    }
    pub struct DomainFdAssociateArgs {
        pub dom: NonnullDomain,
        #[max = STRING_MAX] pub name: String,
        pub flags: u32,
    }
    pub struct ColoSavePeerStatusArgs {
        #[max = STRING_MAX] pub uri: String,
    }
    pub struct ColoSavePeerStatusRet {
        pub result: i32,
    }
}
