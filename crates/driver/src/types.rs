// SPDX-License-Identifier: LGPL-2.1-or-later
//! Object handles and plain records exchanged with drivers.

use virterror::{ErrorCode, ErrorDomain};

use crate::{Error, Result};

/// A domain as clients name it: name, UUID and live id (-1 when inactive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRef {
    pub name: String,
    pub uuid: [u8; 16],
    pub id: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRef {
    pub name: String,
    pub uuid: [u8; 16],
}

/// A network port as clients name it (virNetworkPortPtr): its network
/// and its UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPortRef {
    pub net: NetworkRef,
    pub uuid: [u8; 16],
}

/// A secret as clients name it (virSecretPtr): its UUID and usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub uuid: [u8; 16],
    /// VIR_SECRET_USAGE_TYPE_*.
    pub usage_type: i32,
    pub usage_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolRef {
    pub name: String,
    pub uuid: [u8; 16],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolRef {
    pub pool: String,
    pub name: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceRef {
    pub name: String,
    pub mac: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeDeviceRef {
    pub name: String,
}

/// virDomainBlockJobInfo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockJobInfo {
    /// virDomainBlockJobType (1 pull, 2 copy, 3 commit, 4 active commit).
    pub kind: i32,
    /// MiB/s, or bytes/s when asked for.
    pub bandwidth: u64,
    pub cur: u64,
    pub end: u64,
}

/// virDomainInfo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainInfo {
    pub state: i32,
    /// KiB.
    pub max_mem: u64,
    /// KiB.
    pub memory: u64,
    pub nr_virt_cpu: u32,
    /// Nanoseconds.
    pub cpu_time: u64,
}

/// virNodeInfo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeInfo {
    pub model: String,
    /// KiB.
    pub memory: u64,
    pub cpus: u32,
    pub mhz: u32,
    pub nodes: u32,
    pub sockets: u32,
    pub cores: u32,
    pub threads: u32,
}

/// virStoragePoolInfo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolInfo {
    pub state: i32,
    pub capacity: u64,
    pub allocation: u64,
    pub available: u64,
}

/// virStorageVolInfo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolInfo {
    pub vol_type: i32,
    pub capacity: u64,
    pub allocation: u64,
}

/// virVcpuInfo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VcpuInfo {
    pub number: u32,
    pub state: i32,
    pub cpu_time: u64,
    pub cpu: i32,
}

/// virSecurityLabel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityLabel {
    pub label: String,
    pub enforcing: bool,
}

/// virSecurityModel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityModel {
    pub model: String,
    pub doi: String,
}

/// virDomainInterface: a guest interface and its addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainInterface {
    pub name: String,
    pub hwaddr: Option<String>,
    pub addrs: Vec<IpAddress>,
}

/// virDomainFSInfo: a mounted guest filesystem.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsInfo {
    pub mountpoint: String,
    pub name: String,
    pub fstype: String,
    pub dev_aliases: Vec<String>,
}

/// virDomainIPAddress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpAddress {
    /// VIR_IP_ADDR_TYPE_IPV4 (0) or _IPV6 (1).
    pub addr_type: i32,
    pub addr: String,
    pub prefix: u32,
}

/// A typed parameter (virTypedParameter), as drivers produce them.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedValue {
    Int(i32),
    UInt(u32),
    LLong(i64),
    ULLong(u64),
    Double(f64),
    Boolean(bool),
    String(String),
}

pub type TypedParams = Vec<(String, TypedValue)>;

/// The name libvirt gives a typed parameter's type in its messages.
pub fn type_name(v: &TypedValue) -> &'static str {
    match v {
        TypedValue::Int(_) => "int",
        TypedValue::UInt(_) => "uint",
        TypedValue::LLong(_) => "llong",
        TypedValue::ULLong(_) => "ullong",
        TypedValue::Double(_) => "double",
        TypedValue::Boolean(_) => "boolean",
        TypedValue::String(_) => "string",
    }
}

/// virTypedParamsValidate: every parameter is one `spec` names, of the type
/// it names, at most once; the first offender (in name order) is reported.
pub fn validate_params(params: &TypedParams, spec: &[(&str, &str)]) -> Result<()> {
    let none = |code, msg: String| Err(Error::new(code, ErrorDomain::None, msg));
    let mut sorted: Vec<&(String, TypedValue)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut last: Option<&str> = None;
    for (field, v) in sorted {
        let Some(&(_, want)) = spec.iter().find(|(k, _)| k == field) else {
            return none(
                ErrorCode::ArgumentUnsupported,
                format!("parameter '{field}' not supported"),
            );
        };
        if last == Some(field.as_str()) {
            return none(
                ErrorCode::InvalidArg,
                format!("parameter '{field}' occurs multiple times"),
            );
        }
        last = Some(field);
        let got = type_name(v);
        if got != want {
            return none(
                ErrorCode::InvalidArg,
                format!("invalid type '{got}' for parameter '{field}', expected '{want}'"),
            );
        }
    }
    Ok(())
}

/// virNetworkDHCPLease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkDhcpLease {
    pub iface: String,
    /// Seconds since the epoch.
    pub expirytime: i64,
    /// 0: IPv4, 1: IPv6 (virIPAddrType).
    pub r#type: i32,
    pub mac: Option<String>,
    pub iaid: Option<String>,
    pub ipaddr: String,
    pub prefix: u32,
    pub hostname: Option<String>,
    pub clientid: Option<String>,
}

/// Largest payload of one packet of a [`DataStream`].
pub const STREAM_PACKET_MAX: usize = 64 * 1024;

/// A volume's data stream (virStorageVolUpload / virStorageVolDownload):
/// one end of a `SOCK_SEQPACKET` socket pair that the RPC layer relays
/// to the client, each packet `D` + data or `H` + a hole's length (u64,
/// little endian), and what ends the transfer: `done` waits for the
/// driver's side once the relay has closed its end (or read its end of
/// file) and gives the transfer's result.
pub struct DataStream {
    pub fd: std::os::fd::OwnedFd,
    pub done: Box<dyn FnOnce() -> crate::Result<()> + Send>,
}

impl std::fmt::Debug for DataStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataStream").field("fd", &self.fd).finish()
    }
}
