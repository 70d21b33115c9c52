// SPDX-License-Identifier: LGPL-2.1-or-later
//! Per-client event registrations and turning driver events into MESSAGE
//! frames. The sink only encodes and queues: it never waits on the client.
//!
//! Knows the client only as a destination for frames: any client state
//! will do, the registrations are handed over with it.

use std::sync::{Arc, Mutex, Weak};

use driver::consts::event_id;
use driver::Event;
use protocol::header::{frame_value, Header, MessageType, Status};
use protocol::remote as r;
use protocol::RemoteProc as P;
use rpc::Client;
use xdr::Xdr;

use crate::convert::{dom_out, net_out, pool_out, secret_out};

/// Which API registered a callback; it decides the message procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// virConnectDomainEventRegister (lifecycle only, no callback id).
    DomainLegacy,
    /// virConnectDomainEventRegisterAny without server-side callback ids.
    DomainAny,
    /// The callback-id variant every modern client uses.
    DomainCallback,
    Network,
    StoragePool,
    NodeDevice,
    Secret,
}

#[derive(Debug, Clone)]
pub struct Registration {
    pub id: i32,
    pub kind: Kind,
    pub event_id: i32,
    /// Only events about this object (UUID, or node device name bytes).
    pub filter: Option<Vec<u8>>,
}

#[derive(Default)]
pub struct Registrations {
    pub token: Option<u64>,
    /// The subscription to the shared network driver's events.
    pub net_token: Option<u64>,
    /// The subscription to the shared secret driver's events.
    pub secret_token: Option<u64>,
    /// The subscription to the shared storage driver's events.
    pub storage_token: Option<u64>,
    /// The subscription to the shared node device driver's events.
    pub nodedev_token: Option<u64>,
    pub next_id: i32,
    pub list: Vec<Registration>,
}

impl Registrations {
    pub fn add(&mut self, kind: Kind, event_id: i32, filter: Option<Vec<u8>>) -> i32 {
        self.next_id += 1;
        let id = self.next_id;
        self.list.push(Registration {
            id,
            kind,
            event_id,
            filter,
        });
        id
    }

    /// Removes the first registration `pred` picks; whether there was one.
    pub fn remove(&mut self, pred: impl Fn(&Registration) -> bool) -> bool {
        match self.list.iter().position(pred) {
            Some(pos) => {
                self.list.remove(pos);
                true
            }
            None => false,
        }
    }
}

fn message<T: Xdr>(proc_: P, body: &T) -> Vec<u8> {
    let h = Header::new(
        r::PROGRAM,
        r::PROTOCOL_VERSION,
        proc_ as i32,
        MessageType::Message,
        1,
        Status::Ok,
    );
    frame_value(&h, body)
}

/// Build the sink that forwards a connection's driver events to `client`,
/// as its registrations `regs` ask.
pub fn sink<S: Send + Sync + 'static>(
    client: Weak<Client<S>>,
    regs: Arc<EventState>,
) -> driver::EventSink {
    Arc::new(move |ev: &Event| {
        let Some(c) = client.upgrade() else { return };
        let regs: Vec<Registration> = match regs.lock() {
            Ok(r) => r.list.clone(),
            Err(_) => return,
        };
        for reg in &regs {
            if let Some(f) = frame_for(reg, ev) {
                c.send(f);
            }
        }
    })
}

fn matches(filter: &Option<Vec<u8>>, key: &[u8]) -> bool {
    filter.as_deref().is_none_or(|f| f == key)
}

fn frame_for(reg: &Registration, ev: &Event) -> Option<Vec<u8>> {
    match (ev, reg.kind) {
        (Event::DomainLifecycle { dom, event, detail }, k)
            if reg.event_id == event_id::LIFECYCLE && matches(&reg.filter, &dom.uuid) =>
        {
            let msg = r::DomainEventLifecycleMsg {
                dom: dom_out(dom.clone()),
                event: *event,
                detail: *detail,
            };
            match k {
                Kind::DomainLegacy | Kind::DomainAny => {
                    Some(message(P::DomainEventLifecycle, &msg))
                }
                Kind::DomainCallback => Some(message(
                    P::DomainEventCallbackLifecycle,
                    &r::DomainEventCallbackLifecycleMsg {
                        callback_id: reg.id,
                        msg,
                    },
                )),
                _ => None,
            }
        }
        (Event::DomainReboot { dom }, k)
            if reg.event_id == event_id::REBOOT && matches(&reg.filter, &dom.uuid) =>
        {
            let msg = r::DomainEventRebootMsg {
                dom: dom_out(dom.clone()),
            };
            match k {
                Kind::DomainAny => Some(message(P::DomainEventReboot, &msg)),
                Kind::DomainCallback => Some(message(
                    P::DomainEventCallbackReboot,
                    &r::DomainEventCallbackRebootMsg {
                        callback_id: reg.id,
                        msg,
                    },
                )),
                _ => None,
            }
        }
        (
            Event::DomainBlockJob {
                dom,
                path,
                dst,
                kind,
                status,
            },
            k,
        ) if (reg.event_id == event_id::BLOCK_JOB || reg.event_id == event_id::BLOCK_JOB_2)
            && matches(&reg.filter, &dom.uuid) =>
        {
            if reg.event_id == event_id::BLOCK_JOB_2 {
                return match k {
                    Kind::DomainCallback => Some(message(
                        P::DomainEventBlockJob2,
                        &r::DomainEventBlockJob2Msg {
                            callback_id: reg.id,
                            dom: dom_out(dom.clone()),
                            dst: dst.clone(),
                            r#type: *kind,
                            status: *status,
                        },
                    )),
                    _ => None,
                };
            }
            let msg = r::DomainEventBlockJobMsg {
                dom: dom_out(dom.clone()),
                path: path.clone(),
                r#type: *kind,
                status: *status,
            };
            match k {
                Kind::DomainAny => Some(message(P::DomainEventBlockJob, &msg)),
                Kind::DomainCallback => Some(message(
                    P::DomainEventCallbackBlockJob,
                    &r::DomainEventCallbackBlockJobMsg {
                        callback_id: reg.id,
                        msg,
                    },
                )),
                _ => None,
            }
        }
        (Event::DomainDeviceRemoved { dom, alias }, k)
            if reg.event_id == event_id::DEVICE_REMOVED && matches(&reg.filter, &dom.uuid) =>
        {
            let msg = r::DomainEventDeviceRemovedMsg {
                dom: dom_out(dom.clone()),
                dev_alias: alias.clone(),
            };
            match k {
                Kind::DomainAny => Some(message(P::DomainEventDeviceRemoved, &msg)),
                Kind::DomainCallback => Some(message(
                    P::DomainEventCallbackDeviceRemoved,
                    &r::DomainEventCallbackDeviceRemovedMsg {
                        callback_id: reg.id,
                        msg,
                    },
                )),
                _ => None,
            }
        }
        (Event::DomainAgentLifecycle { dom, state, reason }, Kind::DomainCallback)
            if reg.event_id == event_id::AGENT_LIFECYCLE && matches(&reg.filter, &dom.uuid) =>
        {
            Some(message(
                P::DomainEventCallbackAgentLifecycle,
                &r::DomainEventCallbackAgentLifecycleMsg {
                    callback_id: reg.id,
                    dom: dom_out(dom.clone()),
                    state: *state,
                    reason: *reason,
                },
            ))
        }
        (Event::DomainMetadataChange { dom, kind, nsuri }, Kind::DomainCallback)
            if reg.event_id == event_id::METADATA_CHANGE && matches(&reg.filter, &dom.uuid) =>
        {
            Some(message(
                P::DomainEventCallbackMetadataChange,
                &r::DomainEventCallbackMetadataChangeMsg {
                    callback_id: reg.id,
                    dom: dom_out(dom.clone()),
                    r#type: *kind,
                    nsuri: nsuri.clone(),
                },
            ))
        }
        (
            Event::SecretLifecycle {
                secret,
                event,
                detail,
            },
            Kind::Secret,
        ) if reg.event_id == 0 && matches(&reg.filter, &secret.uuid) => Some(message(
            P::SecretEventLifecycle,
            &r::SecretEventLifecycleMsg {
                callback_id: reg.id,
                secret: secret_out(secret.clone()),
                event: *event,
                detail: *detail,
            },
        )),
        (Event::SecretValueChanged { secret }, Kind::Secret)
            if reg.event_id == 1 && matches(&reg.filter, &secret.uuid) =>
        {
            Some(message(
                P::SecretEventValueChanged,
                &r::SecretEventValueChangedMsg {
                    callback_id: reg.id,
                    secret: secret_out(secret.clone()),
                },
            ))
        }
        (Event::NetworkLifecycle { net, event, detail }, Kind::Network)
            if reg.event_id == 0 && matches(&reg.filter, &net.uuid) =>
        {
            Some(message(
                P::NetworkEventLifecycle,
                &r::NetworkEventLifecycleMsg {
                    callback_id: reg.id,
                    net: net_out(net.clone()),
                    event: *event,
                    detail: *detail,
                },
            ))
        }
        (
            Event::StoragePoolLifecycle {
                pool,
                event,
                detail,
            },
            Kind::StoragePool,
        ) if reg.event_id == 0 && matches(&reg.filter, &pool.uuid) => Some(message(
            P::StoragePoolEventLifecycle,
            &r::StoragePoolEventLifecycleMsg {
                callback_id: reg.id,
                pool: pool_out(pool.clone()),
                event: *event,
                detail: *detail,
            },
        )),
        (Event::StoragePoolRefresh { pool }, Kind::StoragePool)
            if reg.event_id == 1 && matches(&reg.filter, &pool.uuid) =>
        {
            Some(message(
                P::StoragePoolEventRefresh,
                &r::StoragePoolEventRefreshMsg {
                    callback_id: reg.id,
                    pool: pool_out(pool.clone()),
                },
            ))
        }
        (Event::NodeDeviceLifecycle { dev, event, detail }, Kind::NodeDevice)
            if reg.event_id == 0 && matches(&reg.filter, dev.name.as_bytes()) =>
        {
            Some(message(
                P::NodeDeviceEventLifecycle,
                &r::NodeDeviceEventLifecycleMsg {
                    callback_id: reg.id,
                    dev: r::NonnullNodeDevice {
                        name: dev.name.clone(),
                    },
                    event: *event,
                    detail: *detail,
                },
            ))
        }
        (Event::NodeDeviceUpdate { dev }, Kind::NodeDevice)
            if reg.event_id == 1 && matches(&reg.filter, dev.name.as_bytes()) =>
        {
            Some(message(
                P::NodeDeviceEventUpdate,
                &r::NodeDeviceEventUpdateMsg {
                    callback_id: reg.id,
                    dev: r::NonnullNodeDevice {
                        name: dev.name.clone(),
                    },
                },
            ))
        }
        _ => None,
    }
}

/// Shared type for the client's registrations.
pub type EventState = Mutex<Registrations>;
