// SPDX-License-Identifier: LGPL-2.1-or-later
//! Conversions between wire handles and driver handles.

use driver::{
    DomainRef, InterfaceRef, NetworkPortRef, NetworkRef, NodeDeviceRef, PoolRef, SecretRef,
    TypedValue, VolRef,
};
use protocol::remote as r;
use protocol::TypedParamValue;

pub fn dom_in(d: &r::NonnullDomain) -> DomainRef {
    DomainRef {
        name: d.name.clone(),
        uuid: d.uuid,
        id: d.id,
    }
}
pub fn dom_out(d: DomainRef) -> r::NonnullDomain {
    r::NonnullDomain {
        name: d.name,
        uuid: d.uuid,
        id: d.id,
    }
}
pub fn net_in(n: &r::NonnullNetwork) -> NetworkRef {
    NetworkRef {
        name: n.name.clone(),
        uuid: n.uuid,
    }
}
pub fn net_out(n: NetworkRef) -> r::NonnullNetwork {
    r::NonnullNetwork {
        name: n.name,
        uuid: n.uuid,
    }
}
pub fn port_in(p: &r::NonnullNetworkPort) -> NetworkPortRef {
    NetworkPortRef {
        net: net_in(&p.net),
        uuid: p.uuid,
    }
}
pub fn port_out(p: NetworkPortRef) -> r::NonnullNetworkPort {
    r::NonnullNetworkPort {
        net: net_out(p.net),
        uuid: p.uuid,
    }
}
pub fn pool_in(p: &r::NonnullStoragePool) -> PoolRef {
    PoolRef {
        name: p.name.clone(),
        uuid: p.uuid,
    }
}
pub fn pool_out(p: PoolRef) -> r::NonnullStoragePool {
    r::NonnullStoragePool {
        name: p.name,
        uuid: p.uuid,
    }
}
pub fn vol_in(v: &r::NonnullStorageVol) -> VolRef {
    VolRef {
        pool: v.pool.clone(),
        name: v.name.clone(),
        key: v.key.clone(),
    }
}
pub fn vol_out(v: VolRef) -> r::NonnullStorageVol {
    r::NonnullStorageVol {
        pool: v.pool,
        name: v.name,
        key: v.key,
    }
}
pub fn iface_in(i: &r::NonnullInterface) -> InterfaceRef {
    InterfaceRef {
        name: i.name.clone(),
        mac: i.mac.clone(),
    }
}
pub fn iface_out(i: InterfaceRef) -> r::NonnullInterface {
    r::NonnullInterface {
        name: i.name,
        mac: i.mac,
    }
}
pub fn dev_out(d: NodeDeviceRef) -> r::NonnullNodeDevice {
    r::NonnullNodeDevice { name: d.name }
}

pub fn params_out(p: driver::TypedParams) -> Vec<r::TypedParam> {
    daemon_link::wire_params(p)
}

pub fn params_in(p: &[r::TypedParam]) -> driver::TypedParams {
    p.iter()
        .map(|t| {
            let v = match &t.value {
                TypedParamValue::Int(x) => TypedValue::Int(*x),
                TypedParamValue::UInt(x) => TypedValue::UInt(*x),
                TypedParamValue::LLong(x) => TypedValue::LLong(*x),
                TypedParamValue::ULLong(x) => TypedValue::ULLong(*x),
                TypedParamValue::Double(x) => TypedValue::Double(*x),
                TypedParamValue::Boolean(x) => TypedValue::Boolean(*x),
                TypedParamValue::String(x) => TypedValue::String(x.clone()),
            };
            (t.field.clone(), v)
        })
        .collect()
}

/// A C string as XDR `char x<N>`: the bytes plus the terminating NUL.
pub fn c_chars(s: &str) -> Vec<i8> {
    s.bytes()
        .map(|b| b as i8)
        .chain(std::iter::once(0))
        .collect()
}

pub fn secret_in(s: &r::NonnullSecret) -> SecretRef {
    SecretRef {
        uuid: s.uuid,
        usage_type: s.usage_type,
        usage_id: s.usage_id.clone(),
    }
}

pub fn secret_out(s: SecretRef) -> r::NonnullSecret {
    r::NonnullSecret {
        uuid: s.uuid,
        usage_type: s.usage_type,
        usage_id: s.usage_id,
    }
}
