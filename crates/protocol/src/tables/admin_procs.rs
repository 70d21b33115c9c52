// SPDX-License-Identifier: LGPL-2.1-or-later
/// Every procedure: number, name, argument type, reply type, priority, ACL.
macro_rules! admin_procedures {
    ($m:ident, $e:ident, $mod:ident) => { $m! { $e, $mod;
        1 ConnectOpen ConnectOpenArgs () low none ro "virConnectOpen" "-";
        2 ConnectClose () () low none ro "virConnectClose" "-";
        3 ConnectGetLibVersion () ConnectGetLibVersionRet low none ro "virConnectGetLibVersion" "-";
        4 ConnectListServers ConnectListServersArgs ConnectListServersRet low none ro "" "-";
        5 ConnectLookupServer ConnectLookupServerArgs ConnectLookupServerRet low none ro "" "-";
        6 ServerGetThreadpoolParameters ServerGetThreadpoolParametersArgs ServerGetThreadpoolParametersRet low none ro "" "-";
        7 ServerSetThreadpoolParameters ServerSetThreadpoolParametersArgs () low none ro "" "-";
        8 ServerListClients ServerListClientsArgs ServerListClientsRet low none ro "" "-";
        9 ServerLookupClient ServerLookupClientArgs ServerLookupClientRet low none ro "" "-";
        10 ClientGetInfo ClientGetInfoArgs ClientGetInfoRet low none ro "" "-";
        11 ClientClose ClientCloseArgs () low none ro "" "-";
        12 ServerGetClientLimits ServerGetClientLimitsArgs ServerGetClientLimitsRet low none ro "" "-";
        13 ServerSetClientLimits ServerSetClientLimitsArgs () low none ro "" "-";
        14 ConnectGetLoggingOutputs ConnectGetLoggingOutputsArgs ConnectGetLoggingOutputsRet low none ro "" "-";
        15 ConnectGetLoggingFilters ConnectGetLoggingFiltersArgs ConnectGetLoggingFiltersRet low none ro "" "-";
        16 ConnectSetLoggingOutputs ConnectSetLoggingOutputsArgs () low none ro "" "-";
        17 ConnectSetLoggingFilters ConnectSetLoggingFiltersArgs () low none ro "" "-";
        18 ServerUpdateTlsFiles ServerUpdateTlsFilesArgs () low none ro "" "-";
        19 ConnectSetDaemonTimeout ConnectSetDaemonTimeoutArgs () low none ro "" "-";
    } };
}
