// SPDX-License-Identifier: LGPL-2.1-or-later
//! The lxc program: a container's namespaces as descriptors passed with
//! the reply.

use protocol::lxc as l;
use protocol::procs::LxcProcedures;

use super::{Call, R};
use crate::convert::dom_in;

impl LxcProcedures for Call<'_> {
    fn domain_open_namespace(&self, args: l::DomainOpenNamespaceArgs) -> R<()> {
        let fds = self.driver(|c| c.domain_open_namespace(&dom_in(&args.dom), args.flags))?;
        self.reply_with_fds(fds);
        Ok(())
    }
}
