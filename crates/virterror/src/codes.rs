// SPDX-License-Identifier: LGPL-2.1-or-later
//! libvirt error codes and domains (virErrorNumber, virErrorDomain) and the
//! short text clients print before a detail message. Numbers are wire facts.

/// Where an error comes from (virErrorDomain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorDomain {
    None = 0,
    Xen = 1,
    Xend = 2,
    Xenstore = 3,
    Sexpr = 4,
    Xml = 5,
    Dom = 6,
    Rpc = 7,
    Proxy = 8,
    Conf = 9,
    Qemu = 10,
    Net = 11,
    Test = 12,
    Remote = 13,
    Openvz = 14,
    Xenxm = 15,
    StatsLinux = 16,
    Lxc = 17,
    Storage = 18,
    Network = 19,
    Domain = 20,
    Uml = 21,
    Nodedev = 22,
    XenInotify = 23,
    Security = 24,
    Vbox = 25,
    Interface = 26,
    One = 27,
    Esx = 28,
    Phyp = 29,
    Secret = 30,
    Cpu = 31,
    Xenapi = 32,
    Nwfilter = 33,
    Hook = 34,
    DomainSnapshot = 35,
    Audit = 36,
    Sysinfo = 37,
    Streams = 38,
    Vmware = 39,
    Event = 40,
    Libxl = 41,
    Locking = 42,
    Hyperv = 43,
    Capabilities = 44,
    Uri = 45,
    Auth = 46,
    Dbus = 47,
    Parallels = 48,
    Device = 49,
    Ssh = 50,
    Lockspace = 51,
    Initctl = 52,
    Identity = 53,
    Cgroup = 54,
    Access = 55,
    Systemd = 56,
    Bhyve = 57,
    Crypto = 58,
    Firewall = 59,
    Polkit = 60,
    Thread = 61,
    Admin = 62,
    Logging = 63,
    Xenxl = 64,
    Perf = 65,
    Libssh = 66,
    Resctrl = 67,
    Firewalld = 68,
    DomainCheckpoint = 69,
    Tpm = 70,
    Bpf = 71,
    Ch = 72,
}

impl ErrorDomain {
    /// The domain of a wire number (virErrorDomain), for errors another
    /// daemon sent.
    pub fn from_i32(v: i32) -> Option<Self> {
        match v {
            0 => Some(ErrorDomain::None),
            1 => Some(ErrorDomain::Xen),
            2 => Some(ErrorDomain::Xend),
            3 => Some(ErrorDomain::Xenstore),
            4 => Some(ErrorDomain::Sexpr),
            5 => Some(ErrorDomain::Xml),
            6 => Some(ErrorDomain::Dom),
            7 => Some(ErrorDomain::Rpc),
            8 => Some(ErrorDomain::Proxy),
            9 => Some(ErrorDomain::Conf),
            10 => Some(ErrorDomain::Qemu),
            11 => Some(ErrorDomain::Net),
            12 => Some(ErrorDomain::Test),
            13 => Some(ErrorDomain::Remote),
            14 => Some(ErrorDomain::Openvz),
            15 => Some(ErrorDomain::Xenxm),
            16 => Some(ErrorDomain::StatsLinux),
            17 => Some(ErrorDomain::Lxc),
            18 => Some(ErrorDomain::Storage),
            19 => Some(ErrorDomain::Network),
            20 => Some(ErrorDomain::Domain),
            21 => Some(ErrorDomain::Uml),
            22 => Some(ErrorDomain::Nodedev),
            23 => Some(ErrorDomain::XenInotify),
            24 => Some(ErrorDomain::Security),
            25 => Some(ErrorDomain::Vbox),
            26 => Some(ErrorDomain::Interface),
            27 => Some(ErrorDomain::One),
            28 => Some(ErrorDomain::Esx),
            29 => Some(ErrorDomain::Phyp),
            30 => Some(ErrorDomain::Secret),
            31 => Some(ErrorDomain::Cpu),
            32 => Some(ErrorDomain::Xenapi),
            33 => Some(ErrorDomain::Nwfilter),
            34 => Some(ErrorDomain::Hook),
            35 => Some(ErrorDomain::DomainSnapshot),
            36 => Some(ErrorDomain::Audit),
            37 => Some(ErrorDomain::Sysinfo),
            38 => Some(ErrorDomain::Streams),
            39 => Some(ErrorDomain::Vmware),
            40 => Some(ErrorDomain::Event),
            41 => Some(ErrorDomain::Libxl),
            42 => Some(ErrorDomain::Locking),
            43 => Some(ErrorDomain::Hyperv),
            44 => Some(ErrorDomain::Capabilities),
            45 => Some(ErrorDomain::Uri),
            46 => Some(ErrorDomain::Auth),
            47 => Some(ErrorDomain::Dbus),
            48 => Some(ErrorDomain::Parallels),
            49 => Some(ErrorDomain::Device),
            50 => Some(ErrorDomain::Ssh),
            51 => Some(ErrorDomain::Lockspace),
            52 => Some(ErrorDomain::Initctl),
            53 => Some(ErrorDomain::Identity),
            54 => Some(ErrorDomain::Cgroup),
            55 => Some(ErrorDomain::Access),
            56 => Some(ErrorDomain::Systemd),
            57 => Some(ErrorDomain::Bhyve),
            58 => Some(ErrorDomain::Crypto),
            59 => Some(ErrorDomain::Firewall),
            60 => Some(ErrorDomain::Polkit),
            61 => Some(ErrorDomain::Thread),
            62 => Some(ErrorDomain::Admin),
            63 => Some(ErrorDomain::Logging),
            64 => Some(ErrorDomain::Xenxl),
            65 => Some(ErrorDomain::Perf),
            66 => Some(ErrorDomain::Libssh),
            67 => Some(ErrorDomain::Resctrl),
            68 => Some(ErrorDomain::Firewalld),
            69 => Some(ErrorDomain::DomainCheckpoint),
            70 => Some(ErrorDomain::Tpm),
            71 => Some(ErrorDomain::Bpf),
            72 => Some(ErrorDomain::Ch),
            _ => None,
        }
    }

    /// The domain libvirt reports a public API's own errors from (its
    /// "not supported" among them): the `VIR_FROM_THIS` of the
    /// `libvirt-*.c` file defining `api`. The connection-wide names
    /// (`virConnect*`, `virNode*`) live in the file of the object they
    /// list or watch, the rest in the host file (domain errors).
    pub fn of_api(api: &str) -> ErrorDomain {
        let Some(rest) = api.strip_prefix("vir") else {
            return ErrorDomain::None;
        };
        let starts = |p: &str| rest.starts_with(p);
        if starts("DomainSnapshot") {
            ErrorDomain::DomainSnapshot
        } else if starts("DomainCheckpoint") {
            ErrorDomain::DomainCheckpoint
        } else if starts("DomainQemu") || starts("DomainLxc") {
            ErrorDomain::None
        } else if starts("Domain") {
            ErrorDomain::Domain
        } else if starts("Stream") {
            ErrorDomain::Streams
        } else if starts("Connect") || starts("Node") {
            let mentions = |w: &str| rest.contains(w);
            if mentions("NWFilter") {
                ErrorDomain::Nwfilter
            } else if mentions("Secret") {
                ErrorDomain::Secret
            } else if mentions("StoragePool") {
                ErrorDomain::Storage
            } else if mentions("Network") {
                ErrorDomain::Network
            } else if mentions("Interface") {
                ErrorDomain::Interface
            } else if mentions("NodeDevice") || mentions("Devices") {
                ErrorDomain::Nodedev
            } else if mentions("QemuMonitor") || starts("ConnectOpen") || starts("ConnectClose") {
                ErrorDomain::None
            } else {
                ErrorDomain::Domain
            }
        } else if starts("Network") {
            ErrorDomain::Network
        } else if starts("Storage") {
            ErrorDomain::Storage
        } else if starts("Secret") {
            ErrorDomain::Secret
        } else if starts("NWFilter") {
            ErrorDomain::Nwfilter
        } else if starts("Interface") {
            ErrorDomain::Interface
        } else {
            ErrorDomain::None
        }
    }

    /// The domain of errors raised inside C function `func` of a driver:
    /// the `VIR_FROM_THIS` of its file, named by the function's prefix
    /// (`test…` the test driver, `lxc…`, `libxl…`, `adm…` the admin
    /// server, `secret…` the secret driver, `network…` the network driver; a public `vir…` API as [`Self::of_api`]).
    pub fn of_function(func: &str) -> ErrorDomain {
        if func.starts_with("test") {
            ErrorDomain::Test
        } else if func.starts_with("lxc") {
            ErrorDomain::Lxc
        } else if func.starts_with("libxl") {
            ErrorDomain::Libxl
        } else if func.starts_with("adm") {
            ErrorDomain::Admin
        } else if func.starts_with("secret") {
            ErrorDomain::Secret
        } else if func.starts_with("network") {
            ErrorDomain::Network
        } else {
            ErrorDomain::of_api(func)
        }
    }
}

/// What went wrong (virErrorNumber).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorCode {
    Ok = 0,
    InternalError = 1,
    NoMemory = 2,
    NoSupport = 3,
    UnknownHost = 4,
    NoConnect = 5,
    InvalidConn = 6,
    InvalidDomain = 7,
    InvalidArg = 8,
    OperationFailed = 9,
    GetFailed = 10,
    PostFailed = 11,
    HttpError = 12,
    SexprSerial = 13,
    NoXen = 14,
    XenCall = 15,
    OsType = 16,
    NoKernel = 17,
    NoRoot = 18,
    NoSource = 19,
    NoTarget = 20,
    NoName = 21,
    NoOs = 22,
    NoDevice = 23,
    NoXenstore = 24,
    DriverFull = 25,
    CallFailed = 26,
    XmlError = 27,
    DomExist = 28,
    OperationDenied = 29,
    OpenFailed = 30,
    ReadFailed = 31,
    ParseFailed = 32,
    ConfSyntax = 33,
    WriteFailed = 34,
    XmlDetail = 35,
    InvalidNetwork = 36,
    NetworkExist = 37,
    SystemError = 38,
    Rpc = 39,
    GnutlsError = 40,
    NoDomain = 42,
    NoNetwork = 43,
    InvalidMac = 44,
    AuthFailed = 45,
    InvalidStoragePool = 46,
    InvalidStorageVol = 47,
    NoStoragePool = 49,
    NoStorageVol = 50,
    InvalidNodeDevice = 52,
    NoNodeDevice = 53,
    NoSecurityModel = 54,
    OperationInvalid = 55,
    NoInterface = 57,
    InvalidInterface = 58,
    MultipleInterfaces = 59,
    InvalidNwfilter = 61,
    NoNwfilter = 62,
    BuildFirewall = 63,
    InvalidSecret = 65,
    NoSecret = 66,
    ConfigUnsupported = 67,
    OperationTimeout = 68,
    MigratePersistFailed = 69,
    HookScriptFailed = 70,
    InvalidDomainSnapshot = 71,
    NoDomainSnapshot = 72,
    InvalidStream = 73,
    ArgumentUnsupported = 74,
    StorageProbeFailed = 75,
    StoragePoolBuilt = 76,
    SnapshotRevertRisky = 77,
    OperationAborted = 78,
    AuthCancelled = 79,
    NoDomainMetadata = 80,
    MigrateUnsafe = 81,
    Overflow = 82,
    BlockCopyActive = 83,
    OperationUnsupported = 84,
    Ssh = 85,
    AgentUnresponsive = 86,
    ResourceBusy = 87,
    AccessDenied = 88,
    DbusService = 89,
    StorageVolExist = 90,
    CpuIncompatible = 91,
    XmlInvalidSchema = 92,
    MigrateFinishOk = 93,
    AuthUnavailable = 94,
    NoServer = 95,
    NoClient = 96,
    AgentUnsynced = 97,
    Libssh = 98,
    DeviceMissing = 99,
    InvalidNwfilterBinding = 100,
    NoNwfilterBinding = 101,
    InvalidDomainCheckpoint = 102,
    NoDomainCheckpoint = 103,
    NoDomainBackup = 104,
    InvalidNetworkPort = 105,
    NetworkPortExist = 106,
    NoNetworkPort = 107,
    NoHostname = 108,
    CheckpointInconsistent = 109,
    MultipleDomains = 110,
}

impl ErrorCode {
    /// The text for this code alone, and the pattern around a detail
    /// (`{}` marks where the detail goes).
    pub fn texts(self) -> (&'static str, &'static str) {
        match self {
            ErrorCode::Ok => ("", ""),
            ErrorCode::InternalError => ("internal error", "internal error: {}"),
            ErrorCode::NoMemory => ("out of memory", "out of memory: {}"),
            ErrorCode::NoSupport => (
                "this function is not supported by the connection driver",
                "this function is not supported by the connection driver: {}",
            ),
            ErrorCode::UnknownHost => ("unknown host", "unknown host {}"),
            ErrorCode::NoConnect => (
                "no connection driver available",
                "no connection driver available for {}",
            ),
            ErrorCode::InvalidConn => (
                "invalid connection pointer in",
                "invalid connection pointer in {}",
            ),
            ErrorCode::InvalidDomain => {
                ("invalid domain pointer in", "invalid domain pointer in {}")
            }
            ErrorCode::InvalidArg => ("invalid argument", "invalid argument: {}"),
            ErrorCode::OperationFailed => ("operation failed", "operation failed: {}"),
            ErrorCode::GetFailed => ("GET operation failed", "GET operation failed: {}"),
            ErrorCode::PostFailed => ("POST operation failed", "POST operation failed: {}"),
            ErrorCode::HttpError => (
                "got unknown HTTP error code",
                "got unknown HTTP error code {}",
            ),
            ErrorCode::SexprSerial => (
                "failed to serialize S-Expr",
                "failed to serialize S-Expr: {}",
            ),
            ErrorCode::NoXen => (
                "could not use Xen hypervisor entry",
                "could not use Xen hypervisor entry {}",
            ),
            ErrorCode::XenCall => ("failed Xen syscall", "failed Xen syscall {}"),
            ErrorCode::OsType => ("unknown OS type", "unknown OS type {}"),
            ErrorCode::NoKernel => (
                "missing kernel information",
                "missing kernel information: {}",
            ),
            ErrorCode::NoRoot => (
                "missing root device information",
                "missing root device information in {}",
            ),
            ErrorCode::NoSource => (
                "missing source information for device",
                "missing source information for device {}",
            ),
            ErrorCode::NoTarget => (
                "missing target information for device",
                "missing target information for device {}",
            ),
            ErrorCode::NoName => ("missing name information", "missing name information in {}"),
            ErrorCode::NoOs => (
                "missing operating system information",
                "missing operating system information for {}",
            ),
            ErrorCode::NoDevice => (
                "missing devices information",
                "missing devices information for {}",
            ),
            ErrorCode::NoXenstore => (
                "could not connect to Xen Store",
                "could not connect to Xen Store {}",
            ),
            ErrorCode::DriverFull => (
                "too many drivers registered",
                "too many drivers registered in {}",
            ),
            ErrorCode::CallFailed => ("library call failed", "library call failed: {}"),
            ErrorCode::XmlError => (
                "XML description is invalid or not well formed",
                "XML error: {}",
            ),
            ErrorCode::DomExist => ("this domain exists already", "domain {} exists already"),
            ErrorCode::OperationDenied => (
                "operation forbidden for read only access",
                "operation forbidden: {}",
            ),
            ErrorCode::OpenFailed => (
                "failed to open configuration file",
                "failed to open configuration file {}",
            ),
            ErrorCode::ReadFailed => (
                "failed to read configuration file",
                "failed to read configuration file {}",
            ),
            ErrorCode::ParseFailed => (
                "failed to parse configuration file",
                "failed to parse configuration file {}",
            ),
            ErrorCode::ConfSyntax => (
                "configuration file syntax error",
                "configuration file syntax error: {}",
            ),
            ErrorCode::WriteFailed => (
                "failed to write configuration file",
                "failed to write configuration file: {}",
            ),
            ErrorCode::XmlDetail => ("", ""),
            ErrorCode::InvalidNetwork => (
                "invalid network pointer in",
                "invalid network pointer in {}",
            ),
            ErrorCode::NetworkExist => ("this network exists already", "network {} exists already"),
            ErrorCode::SystemError => ("", ""),
            ErrorCode::Rpc => ("", ""),
            ErrorCode::GnutlsError => ("", ""),
            ErrorCode::NoDomain => ("Domain not found", "Domain not found: {}"),
            ErrorCode::NoNetwork => ("Network not found", "Network not found: {}"),
            ErrorCode::InvalidMac => ("invalid MAC address", "invalid MAC address: {}"),
            ErrorCode::AuthFailed => ("authentication failed", "authentication failed: {}"),
            ErrorCode::InvalidStoragePool => (
                "invalid storage pool pointer in",
                "invalid storage pool pointer in {}",
            ),
            ErrorCode::InvalidStorageVol => (
                "invalid storage volume pointer in",
                "invalid storage volume pointer in {}",
            ),
            ErrorCode::NoStoragePool => ("Storage pool not found", "Storage pool not found: {}"),
            ErrorCode::NoStorageVol => ("Storage volume not found", "Storage volume not found: {}"),
            ErrorCode::InvalidNodeDevice => (
                "invalid node device pointer",
                "invalid node device pointer in {}",
            ),
            ErrorCode::NoNodeDevice => ("Node device not found", "Node device not found: {}"),
            ErrorCode::NoSecurityModel => {
                ("Security model not found", "Security model not found: {}")
            }
            ErrorCode::OperationInvalid => (
                "Requested operation is not valid",
                "Requested operation is not valid: {}",
            ),
            ErrorCode::NoInterface => ("Interface not found", "Interface not found: {}"),
            ErrorCode::InvalidInterface => (
                "invalid interface pointer in",
                "invalid interface pointer in {}",
            ),
            ErrorCode::MultipleInterfaces => (
                "multiple matching interfaces found",
                "multiple matching interfaces found: {}",
            ),
            ErrorCode::InvalidNwfilter => ("Invalid network filter", "Invalid network filter: {}"),
            ErrorCode::NoNwfilter => ("Network filter not found", "Network filter not found: {}"),
            ErrorCode::BuildFirewall => (
                "Error while building firewall",
                "Error while building firewall: {}",
            ),
            ErrorCode::InvalidSecret => ("Invalid secret", "Invalid secret: {}"),
            ErrorCode::NoSecret => ("Secret not found", "Secret not found: {}"),
            ErrorCode::ConfigUnsupported => {
                ("unsupported configuration", "unsupported configuration: {}")
            }
            ErrorCode::OperationTimeout => (
                "Timed out during operation",
                "Timed out during operation: {}",
            ),
            ErrorCode::MigratePersistFailed => (
                "Failed to make domain persistent after migration",
                "Failed to make domain persistent after migration: {}",
            ),
            ErrorCode::HookScriptFailed => (
                "Hook script execution failed",
                "Hook script execution failed: {}",
            ),
            ErrorCode::InvalidDomainSnapshot => {
                ("Invalid domain snapshot", "Invalid domain snapshot: {}")
            }
            ErrorCode::NoDomainSnapshot => {
                ("Domain snapshot not found", "Domain snapshot not found: {}")
            }
            ErrorCode::InvalidStream => ("invalid stream pointer", "invalid stream pointer in {}"),
            ErrorCode::ArgumentUnsupported => ("argument unsupported", "argument unsupported: {}"),
            ErrorCode::StorageProbeFailed => {
                ("Storage pool probe failed", "Storage pool probe failed: {}")
            }
            ErrorCode::StoragePoolBuilt => (
                "Storage pool already built",
                "Storage pool already built: {}",
            ),
            ErrorCode::SnapshotRevertRisky => {
                ("revert requires force", "revert requires force: {}")
            }
            ErrorCode::OperationAborted => ("operation aborted", "operation aborted: {}"),
            ErrorCode::AuthCancelled => {
                ("authentication cancelled", "authentication cancelled: {}")
            }
            ErrorCode::NoDomainMetadata => ("metadata not found", "metadata not found: {}"),
            ErrorCode::MigrateUnsafe => ("Unsafe migration", "Unsafe migration: {}"),
            ErrorCode::Overflow => ("numerical overflow", "numerical overflow: {}"),
            ErrorCode::BlockCopyActive => {
                ("block copy still active", "block copy still active: {}")
            }
            ErrorCode::OperationUnsupported => {
                ("Operation not supported", "Operation not supported: {}")
            }
            ErrorCode::Ssh => ("SSH transport error", "SSH transport error: {}"),
            ErrorCode::AgentUnresponsive => (
                "Guest agent is not responding",
                "Guest agent is not responding: {}",
            ),
            ErrorCode::ResourceBusy => ("resource busy", "resource busy: {}"),
            ErrorCode::AccessDenied => ("access denied", "access denied: {}"),
            ErrorCode::DbusService => ("error from service", "error from service: {}"),
            ErrorCode::StorageVolExist => (
                "this storage volume exists already",
                "storage volume {} exists already",
            ),
            ErrorCode::CpuIncompatible => (
                "the CPU is incompatible with host CPU",
                "the CPU is incompatible with host CPU: {}",
            ),
            ErrorCode::XmlInvalidSchema => (
                "XML document failed to validate against schema",
                "XML document failed to validate against schema: {}",
            ),
            ErrorCode::MigrateFinishOk => (
                "migration successfully aborted",
                "migration successfully aborted: {}",
            ),
            ErrorCode::AuthUnavailable => (
                "authentication unavailable",
                "authentication unavailable: {}",
            ),
            ErrorCode::NoServer => ("Server not found", "Server not found: {}"),
            ErrorCode::NoClient => ("Client not found", "Client not found: {}"),
            ErrorCode::AgentUnsynced => (
                "guest agent replied with wrong id to guest-sync command",
                "guest agent replied with wrong id to guest-sync command: {}",
            ),
            ErrorCode::Libssh => ("libssh transport error", "libssh transport error: {}"),
            ErrorCode::DeviceMissing => ("device not found", "device not found: {}"),
            ErrorCode::InvalidNwfilterBinding => (
                "Invalid network filter binding",
                "Invalid network filter binding: {}",
            ),
            ErrorCode::NoNwfilterBinding => (
                "Network filter binding not found",
                "Network filter binding not found: {}",
            ),
            ErrorCode::InvalidDomainCheckpoint => {
                ("Invalid domain checkpoint", "Invalid domain checkpoint: {}")
            }
            ErrorCode::NoDomainCheckpoint => (
                "Domain checkpoint not found",
                "Domain checkpoint not found: {}",
            ),
            ErrorCode::NoDomainBackup => (
                "Domain backup job id not found",
                "Domain backup job id not found: {}",
            ),
            ErrorCode::InvalidNetworkPort => (
                "Invalid network port pointer",
                "Invalid network port pointer: {}",
            ),
            ErrorCode::NetworkPortExist => (
                "this network port exists already",
                "network port {} exists already",
            ),
            ErrorCode::NoNetworkPort => ("network port not found", "network port not found: {}"),
            ErrorCode::NoHostname => ("no hostname found", "no hostname found: {}"),
            ErrorCode::CheckpointInconsistent => {
                ("checkpoint inconsistent", "checkpoint inconsistent: {}")
            }
            ErrorCode::MultipleDomains => (
                "multiple matching domains found",
                "multiple matching domains found: {}",
            ),
        }
    }

    pub fn from_i32(v: i32) -> Option<Self> {
        match v {
            0 => Some(ErrorCode::Ok),
            1 => Some(ErrorCode::InternalError),
            2 => Some(ErrorCode::NoMemory),
            3 => Some(ErrorCode::NoSupport),
            4 => Some(ErrorCode::UnknownHost),
            5 => Some(ErrorCode::NoConnect),
            6 => Some(ErrorCode::InvalidConn),
            7 => Some(ErrorCode::InvalidDomain),
            8 => Some(ErrorCode::InvalidArg),
            9 => Some(ErrorCode::OperationFailed),
            10 => Some(ErrorCode::GetFailed),
            11 => Some(ErrorCode::PostFailed),
            12 => Some(ErrorCode::HttpError),
            13 => Some(ErrorCode::SexprSerial),
            14 => Some(ErrorCode::NoXen),
            15 => Some(ErrorCode::XenCall),
            16 => Some(ErrorCode::OsType),
            17 => Some(ErrorCode::NoKernel),
            18 => Some(ErrorCode::NoRoot),
            19 => Some(ErrorCode::NoSource),
            20 => Some(ErrorCode::NoTarget),
            21 => Some(ErrorCode::NoName),
            22 => Some(ErrorCode::NoOs),
            23 => Some(ErrorCode::NoDevice),
            24 => Some(ErrorCode::NoXenstore),
            25 => Some(ErrorCode::DriverFull),
            26 => Some(ErrorCode::CallFailed),
            27 => Some(ErrorCode::XmlError),
            28 => Some(ErrorCode::DomExist),
            29 => Some(ErrorCode::OperationDenied),
            30 => Some(ErrorCode::OpenFailed),
            31 => Some(ErrorCode::ReadFailed),
            32 => Some(ErrorCode::ParseFailed),
            33 => Some(ErrorCode::ConfSyntax),
            34 => Some(ErrorCode::WriteFailed),
            35 => Some(ErrorCode::XmlDetail),
            36 => Some(ErrorCode::InvalidNetwork),
            37 => Some(ErrorCode::NetworkExist),
            38 => Some(ErrorCode::SystemError),
            39 => Some(ErrorCode::Rpc),
            40 => Some(ErrorCode::GnutlsError),
            42 => Some(ErrorCode::NoDomain),
            43 => Some(ErrorCode::NoNetwork),
            44 => Some(ErrorCode::InvalidMac),
            45 => Some(ErrorCode::AuthFailed),
            46 => Some(ErrorCode::InvalidStoragePool),
            47 => Some(ErrorCode::InvalidStorageVol),
            49 => Some(ErrorCode::NoStoragePool),
            50 => Some(ErrorCode::NoStorageVol),
            52 => Some(ErrorCode::InvalidNodeDevice),
            53 => Some(ErrorCode::NoNodeDevice),
            54 => Some(ErrorCode::NoSecurityModel),
            55 => Some(ErrorCode::OperationInvalid),
            57 => Some(ErrorCode::NoInterface),
            58 => Some(ErrorCode::InvalidInterface),
            59 => Some(ErrorCode::MultipleInterfaces),
            61 => Some(ErrorCode::InvalidNwfilter),
            62 => Some(ErrorCode::NoNwfilter),
            63 => Some(ErrorCode::BuildFirewall),
            65 => Some(ErrorCode::InvalidSecret),
            66 => Some(ErrorCode::NoSecret),
            67 => Some(ErrorCode::ConfigUnsupported),
            68 => Some(ErrorCode::OperationTimeout),
            69 => Some(ErrorCode::MigratePersistFailed),
            70 => Some(ErrorCode::HookScriptFailed),
            71 => Some(ErrorCode::InvalidDomainSnapshot),
            72 => Some(ErrorCode::NoDomainSnapshot),
            73 => Some(ErrorCode::InvalidStream),
            74 => Some(ErrorCode::ArgumentUnsupported),
            75 => Some(ErrorCode::StorageProbeFailed),
            76 => Some(ErrorCode::StoragePoolBuilt),
            77 => Some(ErrorCode::SnapshotRevertRisky),
            78 => Some(ErrorCode::OperationAborted),
            79 => Some(ErrorCode::AuthCancelled),
            80 => Some(ErrorCode::NoDomainMetadata),
            81 => Some(ErrorCode::MigrateUnsafe),
            82 => Some(ErrorCode::Overflow),
            83 => Some(ErrorCode::BlockCopyActive),
            84 => Some(ErrorCode::OperationUnsupported),
            85 => Some(ErrorCode::Ssh),
            86 => Some(ErrorCode::AgentUnresponsive),
            87 => Some(ErrorCode::ResourceBusy),
            88 => Some(ErrorCode::AccessDenied),
            89 => Some(ErrorCode::DbusService),
            90 => Some(ErrorCode::StorageVolExist),
            91 => Some(ErrorCode::CpuIncompatible),
            92 => Some(ErrorCode::XmlInvalidSchema),
            93 => Some(ErrorCode::MigrateFinishOk),
            94 => Some(ErrorCode::AuthUnavailable),
            95 => Some(ErrorCode::NoServer),
            96 => Some(ErrorCode::NoClient),
            97 => Some(ErrorCode::AgentUnsynced),
            98 => Some(ErrorCode::Libssh),
            99 => Some(ErrorCode::DeviceMissing),
            100 => Some(ErrorCode::InvalidNwfilterBinding),
            101 => Some(ErrorCode::NoNwfilterBinding),
            102 => Some(ErrorCode::InvalidDomainCheckpoint),
            103 => Some(ErrorCode::NoDomainCheckpoint),
            104 => Some(ErrorCode::NoDomainBackup),
            105 => Some(ErrorCode::InvalidNetworkPort),
            106 => Some(ErrorCode::NetworkPortExist),
            107 => Some(ErrorCode::NoNetworkPort),
            108 => Some(ErrorCode::NoHostname),
            109 => Some(ErrorCode::CheckpointInconsistent),
            110 => Some(ErrorCode::MultipleDomains),
            _ => None,
        }
    }
}
