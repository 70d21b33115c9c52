// SPDX-License-Identifier: LGPL-2.1-or-later
//! Xen configuration conversions: xl.cfg and xm config ↔ domain XML, and
//! domain XML → libxl's domain configuration (its JSON form).
//!
//! Role: the pure half of the Xen driver. Everything here is a function of
//! its input and of [`XenCaps`], so `domxml-from-native` and
//! `domxml-to-native` work on hosts without Xen.
//!
//! Must not depend on: libxl, the RPC layer, drivers, the host (no I/O,
//! no FFI; `#![forbid(unsafe_code)]`).
//!
//! Invariants: no input makes a converter panic; errors carry libvirt's
//! error code, domain and wording (VIR_ERR_INTERNAL_ERROR "config value X
//! was malformed", VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_CONF_SYNTAX ...).
#![forbid(unsafe_code)]

pub mod caps;
pub mod diskspec;
pub mod error;
mod format;
pub mod libxl;
mod numa;
mod parse;
mod value;

pub use caps::{XenCaps, XenGuestCaps};
pub use error::XenConfigError;
pub use libxl::{build_domain_config, LibxlOptions};

use conf::{DomainDef, FormatFlags, ParseFlags};

/// The two native formats libvirt's Xen driver converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NativeFormat {
    /// `xen-xl`: xl.cfg(5).
    Xl,
    /// `xen-xm`: the older xm/xend format.
    Xm,
}

impl NativeFormat {
    /// The format for a `domxml-*-native` format name.
    pub fn from_name(name: &str) -> Option<NativeFormat> {
        match name {
            "xen-xl" => Some(NativeFormat::Xl),
            "xen-xm" => Some(NativeFormat::Xm),
            _ => None,
        }
    }

    /// The format's name as clients pass it.
    pub fn name(self) -> &'static str {
        match self {
            NativeFormat::Xl => "xen-xl",
            NativeFormat::Xm => "xen-xm",
        }
    }

    fn vif_typename(self) -> &'static str {
        match self {
            NativeFormat::Xl => "vif",
            NativeFormat::Xm => "netfront",
        }
    }

    fn error_domain(self) -> error::ErrorDomain {
        match self {
            NativeFormat::Xl => error::FROM_XENXL,
            NativeFormat::Xm => error::FROM_XENXM,
        }
    }
}

/// Parses native config text into a domain definition (xenParseXL /
/// xenParseXM after virConfReadString).
pub fn native_to_domain(
    text: &str,
    format: NativeFormat,
    caps: &XenCaps,
) -> Result<DomainDef, XenConfigError> {
    let conf = virconf::Conf::parse(text, virconf::MEMORY_CONF_NAME)?;
    parse::parse_native(&conf, caps, format)
}

/// Native config text → domain XML, as `domxml-from-native` returns it.
pub fn native_to_domain_xml(
    text: &str,
    format: NativeFormat,
    caps: &XenCaps,
) -> Result<String, XenConfigError> {
    let def = native_to_domain(text, format, caps)?;
    Ok(domain_to_xml(&def))
}

/// Formats a definition as libvirt does for the Xen driver (inactive,
/// secure): PV guests keep their historical OS type name `linux`.
pub fn domain_to_xml(def: &DomainDef) -> String {
    let xml = def.to_xml(&FormatFlags {
        inactive: true,
        secure: true,
        ..Default::default()
    });
    if def.virt_type == "xen" && def.os.os_type == "xen" {
        xml.replacen(">xen</type>", ">linux</type>", 1)
    } else {
        xml
    }
}

/// Parses domain XML for conversion (inactive definition).
pub fn parse_domain_xml(xml: &str) -> Result<DomainDef, XenConfigError> {
    xml_options()
        .parse_str(
            xml,
            &ParseFlags {
                inactive: true,
                validate_schema: false,
            },
        )
        .map_err(|e| XenConfigError {
            code: e.code,
            domain: e.domain,
            detail: e.detail,
        })
}

/// How the libxl driver reads domain XML: its defaults
/// ([`libxl::post_parse_video`]) before the common ones.
pub fn xml_options() -> conf::domain::XmlOptions {
    conf::domain::XmlOptions {
        post_parse: Some(std::sync::Arc::new(|def: &mut DomainDef| {
            libxl::post_parse_video(def);
            Ok(())
        })),
        ..Default::default()
    }
}

/// A domain definition → native config settings (xenFormatXL / xenFormatXM).
pub fn domain_to_native_conf(
    def: &DomainDef,
    format: NativeFormat,
) -> Result<virconf::Conf, XenConfigError> {
    format::format_native(def, format).map_err(|e| {
        if e.domain == error::FROM_XEN {
            e.in_domain(format.error_domain())
        } else {
            e
        }
    })
}

/// Domain XML → native config text, as `domxml-to-native` returns it.
pub fn domain_xml_to_native(xml: &str, format: NativeFormat) -> Result<String, XenConfigError> {
    let def = parse_domain_xml(xml)?;
    Ok(domain_to_native_conf(&def, format)?.write())
}
