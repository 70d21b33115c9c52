// SPDX-License-Identifier: LGPL-2.1-or-later
//! Domain definition → libxl domain configuration (JSON).
use crate::error::XenConfigError;
use conf::DomainDef;

/// Host settings the configuration builder needs.
#[derive(Debug, Clone, Default)]
pub struct LibxlOptions {}

impl LibxlOptions {
    /// The settings of libvirt's test harness.
    pub fn test_harness() -> Self {
        LibxlOptions {}
    }
}

/// Builds the configuration.
pub fn build_domain_config(
    _def: &DomainDef,
    _o: &LibxlOptions,
) -> Result<serde_json::Value, XenConfigError> {
    Err(XenConfigError::internal("todo"))
}
