// SPDX-License-Identifier: LGPL-2.1-or-later
//! The QEMU program: a command for a guest's QEMU guest agent.

use protocol::procs::QemuProcedures;
use protocol::qemu as q;

use super::{Call, R};
use crate::convert::dom_in;

impl QemuProcedures for Call<'_> {
    fn domain_agent_command(&self, args: q::DomainAgentCommandArgs) -> R<q::DomainAgentCommandRet> {
        let result = self.driver(|c| {
            c.domain_qemu_agent_command(&dom_in(&args.dom), &args.cmd, args.timeout, args.flags)
        })?;
        Ok(q::DomainAgentCommandRet { result })
    }
}
