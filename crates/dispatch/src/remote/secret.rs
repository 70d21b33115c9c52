// SPDX-License-Identifier: LGPL-2.1-or-later
//! Secret procedures: listing, lookup by UUID and usage, definition,
//! XML, value and undefinition, answered by the shared secret driver when
//! the client's driver uses it, else by the client's own.

use driver::objlist::uuid_string;
use protocol::procs::RemoteSecret;
use protocol::remote as r;

use super::events::Kind;
use super::{list_all, names_of, Call, R};
use crate::convert::{secret_in, secret_out};

impl RemoteSecret for Call<'_> {
    fn connect_list_all_secrets(
        &self,
        args: r::ConnectListAllSecretsArgs,
    ) -> R<r::ConnectListAllSecretsRet> {
        let v = self.secret(|c| c.list_all_secrets(args.flags))?;
        let (secrets, ret) = list_all(
            v,
            args.need_results,
            r::SECRET_LIST_MAX,
            "secrets",
            secret_out,
        )?;
        Ok(r::ConnectListAllSecretsRet { secrets, ret })
    }

    fn connect_num_of_secrets(&self) -> R<r::ConnectNumOfSecretsRet> {
        let v = self.secret(|c| c.list_all_secrets(0))?;
        Ok(r::ConnectNumOfSecretsRet {
            num: v.len() as i32,
        })
    }

    fn connect_list_secrets(&self, args: r::ConnectListSecretsArgs) -> R<r::ConnectListSecretsRet> {
        let v = self.secret(|c| c.list_all_secrets(0))?;
        Ok(r::ConnectListSecretsRet {
            uuids: names_of(v, args.maxuuids, |s| uuid_string(&s.uuid)),
        })
    }

    fn secret_lookup_by_uuid(
        &self,
        args: r::SecretLookupByUuidArgs,
    ) -> R<r::SecretLookupByUuidRet> {
        let s = self.secret(|c| c.secret_lookup_by_uuid(&args.uuid))?;
        Ok(r::SecretLookupByUuidRet {
            secret: secret_out(s),
        })
    }

    fn secret_lookup_by_usage(
        &self,
        args: r::SecretLookupByUsageArgs,
    ) -> R<r::SecretLookupByUsageRet> {
        let s = self.secret(|c| c.secret_lookup_by_usage(args.usage_type, &args.usage_id))?;
        Ok(r::SecretLookupByUsageRet {
            secret: secret_out(s),
        })
    }

    fn secret_define_xml(&self, args: r::SecretDefineXmlArgs) -> R<r::SecretDefineXmlRet> {
        let s = self.secret(|c| c.secret_define_xml(&args.xml, args.flags))?;
        Ok(r::SecretDefineXmlRet {
            secret: secret_out(s),
        })
    }

    fn secret_get_xml_desc(&self, args: r::SecretGetXmlDescArgs) -> R<r::SecretGetXmlDescRet> {
        let xml = self.secret(|c| c.secret_get_xml_desc(&secret_in(&args.secret), args.flags))?;
        Ok(r::SecretGetXmlDescRet { xml })
    }

    fn secret_set_value(&self, args: r::SecretSetValueArgs) -> R<()> {
        self.secret(|c| c.secret_set_value(&secret_in(&args.secret), &args.value.0, args.flags))
    }

    fn secret_get_value(&self, args: r::SecretGetValueArgs) -> R<r::SecretGetValueRet> {
        let value = self.secret(|c| c.secret_get_value(&secret_in(&args.secret), args.flags))?;
        Ok(r::SecretGetValueRet {
            value: xdr::Opaque(value),
        })
    }

    fn secret_undefine(&self, args: r::SecretUndefineArgs) -> R<()> {
        self.secret(|c| c.secret_undefine(&secret_in(&args.secret)))
    }

    // ---- event registrations ----

    fn connect_secret_event_register_any(
        &self,
        args: r::ConnectSecretEventRegisterAnyArgs,
    ) -> R<r::ConnectSecretEventRegisterAnyRet> {
        let filter = args.secret.map(|s| s.uuid.to_vec());
        let callback_id = self.register(Kind::Secret, args.event_id, filter)?;
        Ok(r::ConnectSecretEventRegisterAnyRet { callback_id })
    }

    fn connect_secret_event_deregister_any(
        &self,
        args: r::ConnectSecretEventDeregisterAnyArgs,
    ) -> R<()> {
        self.deregister_id(args.callback_id)
    }
}
