// SPDX-License-Identifier: LGPL-2.1-or-later
/// Every procedure, one row each: number, family (which trait of the
/// program's typed interface carries it), name, method name, argument type,
/// reply type, priority, stream, access (`ro`: allowed on a read-only
/// connection), public API name, ACL. See `define_program!` in `procs.rs`.
macro_rules! admin_procedures {
    ($m:ident $($a:tt)*) => { $m! { $($a)*;
        1 admin ConnectOpen connect_open ConnectOpenArgs () low none ro "virConnectOpen" "-";
        2 admin ConnectClose connect_close () () low none ro "virConnectClose" "-";
        3 admin ConnectGetLibVersion connect_get_lib_version () ConnectGetLibVersionRet low none ro "virConnectGetLibVersion" "-";
        4 admin ConnectListServers connect_list_servers ConnectListServersArgs ConnectListServersRet low none ro "" "-";
        5 admin ConnectLookupServer connect_lookup_server ConnectLookupServerArgs ConnectLookupServerRet low none ro "" "-";
        6 admin ServerGetThreadpoolParameters server_get_threadpool_parameters ServerGetThreadpoolParametersArgs ServerGetThreadpoolParametersRet low none ro "" "-";
        7 admin ServerSetThreadpoolParameters server_set_threadpool_parameters ServerSetThreadpoolParametersArgs () low none ro "" "-";
        8 admin ServerListClients server_list_clients ServerListClientsArgs ServerListClientsRet low none ro "" "-";
        9 admin ServerLookupClient server_lookup_client ServerLookupClientArgs ServerLookupClientRet low none ro "" "-";
        10 admin ClientGetInfo client_get_info ClientGetInfoArgs ClientGetInfoRet low none ro "" "-";
        11 admin ClientClose client_close ClientCloseArgs () low none ro "" "-";
        12 admin ServerGetClientLimits server_get_client_limits ServerGetClientLimitsArgs ServerGetClientLimitsRet low none ro "" "-";
        13 admin ServerSetClientLimits server_set_client_limits ServerSetClientLimitsArgs () low none ro "" "-";
        14 admin ConnectGetLoggingOutputs connect_get_logging_outputs ConnectGetLoggingOutputsArgs ConnectGetLoggingOutputsRet low none ro "" "-";
        15 admin ConnectGetLoggingFilters connect_get_logging_filters ConnectGetLoggingFiltersArgs ConnectGetLoggingFiltersRet low none ro "" "-";
        16 admin ConnectSetLoggingOutputs connect_set_logging_outputs ConnectSetLoggingOutputsArgs () low none ro "" "-";
        17 admin ConnectSetLoggingFilters connect_set_logging_filters ConnectSetLoggingFiltersArgs () low none ro "" "-";
        18 admin ServerUpdateTlsFiles server_update_tls_files ServerUpdateTlsFilesArgs () low none ro "" "-";
        19 admin ConnectSetDaemonTimeout connect_set_daemon_timeout ConnectSetDaemonTimeoutArgs () low none ro "" "-";
    } };
}
