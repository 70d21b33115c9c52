// SPDX-License-Identifier: LGPL-2.1-or-later
// Program definitions, transcribed from the public protocol (facts only).

pub const STRING_MAX: u32 = 4194304;
pub const SERVER_LIST_MAX: u32 = 16384;
pub const SERVER_THREADPOOL_PARAMETERS_MAX: u32 = 32;
pub const CLIENT_LIST_MAX: u32 = 16384;
pub const CLIENT_INFO_PARAMETERS_MAX: u32 = 64;
pub const SERVER_CLIENT_LIMITS_MAX: u32 = 32;
pub const PROGRAM: u32 = 0x06900690;
pub const PROTOCOL_VERSION: u32 = 1;

xdr::xdr_struct! {
    pub struct TypedParam {
        #[max = STRING_MAX] pub field: String,
        pub value: TypedParamValue,
    }
    pub struct NonnullServer {
        #[max = STRING_MAX] pub name: String,
    }
    pub struct NonnullClient {
        pub srv: NonnullServer,
        pub id: u64,
        pub timestamp: i64,
        pub transport: u32,
    }
    pub struct ConnectOpenArgs {
        pub flags: u32,
    }
    pub struct ConnectGetLibVersionRet {
        pub lib_ver: u64,
    }
    pub struct ConnectListServersArgs {
        pub need_results: u32,
        pub flags: u32,
    }
    pub struct ConnectListServersRet {
        #[max = SERVER_LIST_MAX] pub servers: Vec<NonnullServer>,
        pub ret: u32,
    }
    pub struct ConnectLookupServerArgs {
        #[max = STRING_MAX] pub name: String,
        pub flags: u32,
    }
    pub struct ConnectLookupServerRet {
        pub srv: NonnullServer,
    }
    pub struct ServerGetThreadpoolParametersArgs {
        pub srv: NonnullServer,
        pub flags: u32,
    }
    pub struct ServerGetThreadpoolParametersRet {
        #[max = SERVER_THREADPOOL_PARAMETERS_MAX] pub params: Vec<TypedParam>,
    }
    pub struct ServerSetThreadpoolParametersArgs {
        pub srv: NonnullServer,
        #[max = SERVER_THREADPOOL_PARAMETERS_MAX] pub params: Vec<TypedParam>,
        pub flags: u32,
    }
    pub struct ServerListClientsArgs {
        pub srv: NonnullServer,
        pub need_results: u32,
        pub flags: u32,
    }
    pub struct ServerListClientsRet {
        #[max = CLIENT_LIST_MAX] pub clients: Vec<NonnullClient>,
        pub ret: u32,
    }
    pub struct ServerLookupClientArgs {
        pub srv: NonnullServer,
        pub id: u64,
        pub flags: u32,
    }
    pub struct ServerLookupClientRet {
        pub clnt: NonnullClient,
    }
    pub struct ClientGetInfoArgs {
        pub clnt: NonnullClient,
        pub flags: u32,
    }
    pub struct ClientGetInfoRet {
        #[max = CLIENT_INFO_PARAMETERS_MAX] pub params: Vec<TypedParam>,
    }
    pub struct ClientCloseArgs {
        pub clnt: NonnullClient,
        pub flags: u32,
    }
    pub struct ServerGetClientLimitsArgs {
        pub srv: NonnullServer,
        pub flags: u32,
    }
    pub struct ServerGetClientLimitsRet {
        #[max = SERVER_CLIENT_LIMITS_MAX] pub params: Vec<TypedParam>,
    }
    pub struct ServerSetClientLimitsArgs {
        pub srv: NonnullServer,
        #[max = SERVER_CLIENT_LIMITS_MAX] pub params: Vec<TypedParam>,
        pub flags: u32,
    }
    pub struct ServerUpdateTlsFilesArgs {
        pub srv: NonnullServer,
        pub flags: u32,
    }
    pub struct ConnectGetLoggingOutputsArgs {
        pub flags: u32,
    }
    pub struct ConnectGetLoggingOutputsRet {
        #[max = STRING_MAX] pub outputs: String,
        pub noutputs: u32,
    }
    pub struct ConnectGetLoggingFiltersArgs {
        pub flags: u32,
    }
    pub struct ConnectGetLoggingFiltersRet {
        #[max = STRING_MAX] pub filters: Option<String>,
        pub nfilters: u32,
    }
    pub struct ConnectSetLoggingOutputsArgs {
        #[max = STRING_MAX] pub outputs: Option<String>,
        pub flags: u32,
    }
    pub struct ConnectSetLoggingFiltersArgs {
        #[max = STRING_MAX] pub filters: Option<String>,
        pub flags: u32,
    }
    pub struct ConnectSetDaemonTimeoutArgs {
        pub timeout: u32,
        pub flags: u32,
    }
}
