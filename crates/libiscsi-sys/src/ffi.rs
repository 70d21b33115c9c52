// SPDX-License-Identifier: LGPL-2.1-or-later
//! The libiscsi 1.19 declarations the safe wrapper uses, transcribed by
//! hand from `<iscsi/iscsi.h>` and `<iscsi/scsi-lowlevel.h>`: function
//! signatures, enum values, and the leading fields of the structures that
//! are read (a prefix of a `repr(C)` structure has the C layout of the
//! same prefix, so only what is read is declared).

use std::ffi::{c_char, c_int, c_uchar, c_void};

/// `struct iscsi_context` (opaque).
#[repr(C)]
pub struct IscsiContext {
    _private: [u8; 0],
}

/// `enum iscsi_transport_type`.
pub const TCP_TRANSPORT: c_int = 0;
/// `enum iscsi_session_type`.
pub const ISCSI_SESSION_DISCOVERY: c_int = 1;
pub const ISCSI_SESSION_NORMAL: c_int = 2;
/// `enum scsi_status`.
pub const SCSI_STATUS_GOOD: c_int = 0;
pub const SCSI_STATUS_CHECK_CONDITION: c_int = 2;
/// `enum scsi_sense_key`.
pub const SCSI_SENSE_UNIT_ATTENTION: c_int = 0x06;
/// ASC/ASCQ 29h/00h (power on, reset or bus device reset), as libiscsi
/// packs them.
pub const SCSI_SENSE_ASCQ_BUS_RESET: c_int = 0x2900;
/// `enum scsi_inquiry_peripheral_device_type`.
pub const SCSI_INQUIRY_PERIPHERAL_DEVICE_TYPE_DIRECT_ACCESS: c_int = 0;

/// `struct scsi_sense`, up to `ascq`.
#[repr(C)]
pub struct ScsiSenseHead {
    pub error_type: c_uchar,
    pub key: c_int,
    pub ascq: c_int,
}

/// `struct scsi_data`.
#[repr(C)]
pub struct ScsiData {
    pub size: c_int,
    pub data: *mut c_uchar,
}

/// `struct scsi_task`, up to `datain`. `sense` is followed in C by the
/// sense-specific bit fields and pointers; they are declared here as the
/// padding that keeps `datain` where C has it.
#[repr(C)]
pub struct ScsiTaskHead {
    pub status: c_int,
    pub cdb_size: c_int,
    pub xfer_dir: c_int,
    pub expxferlen: c_int,
    pub cdb: [c_uchar; 16],
    pub residual_status: c_int,
    pub residual: usize,
    pub sense: ScsiSenseHead,
    /// `sense_specific`.. `field_pointer` of `struct scsi_sense`: three
    /// bit fields, an `unsigned char` and a `uint16_t` sharing one 4-byte
    /// word.
    pub sense_rest: u32,
    pub datain: ScsiData,
}

/// `struct scsi_reportluns_list`.
#[repr(C)]
pub struct ScsiReportLunsList {
    pub num: u32,
    pub luns: [u16; 0],
}

/// `struct scsi_readcapacity16`, up to `block_length`.
#[repr(C)]
pub struct ScsiReadCapacity16Head {
    pub returned_lba: u64,
    pub block_length: u32,
}

/// `struct scsi_inquiry_standard`, up to `device_type`.
#[repr(C)]
pub struct ScsiInquiryStandardHead {
    pub qualifier: c_int,
    pub device_type: c_int,
}

/// `struct iscsi_discovery_address`, up to `target_name`.
#[repr(C)]
pub struct IscsiDiscoveryAddress {
    pub next: *mut IscsiDiscoveryAddress,
    pub target_name: *const c_char,
}

type Ctx = *mut IscsiContext;
type Task = *mut ScsiTaskHead;

/// The functions, looked up once in the loaded library.
pub struct LibIscsi {
    _lib: libloading::Library,
    pub iscsi_create_context: unsafe extern "C" fn(*const c_char) -> Ctx,
    pub iscsi_destroy_context: unsafe extern "C" fn(Ctx) -> c_int,
    pub iscsi_get_error: unsafe extern "C" fn(Ctx) -> *const c_char,
    pub iscsi_init_transport: unsafe extern "C" fn(Ctx, c_int) -> c_int,
    pub iscsi_set_targetname: unsafe extern "C" fn(Ctx, *const c_char) -> c_int,
    pub iscsi_set_session_type: unsafe extern "C" fn(Ctx, c_int) -> c_int,
    pub iscsi_set_initiator_username_pwd:
        unsafe extern "C" fn(Ctx, *const c_char, *const c_char) -> c_int,
    pub iscsi_connect_sync: unsafe extern "C" fn(Ctx, *const c_char) -> c_int,
    pub iscsi_login_sync: unsafe extern "C" fn(Ctx) -> c_int,
    pub iscsi_logout_sync: unsafe extern "C" fn(Ctx) -> c_int,
    pub iscsi_disconnect: unsafe extern "C" fn(Ctx) -> c_int,
    pub iscsi_discovery_sync: unsafe extern "C" fn(Ctx) -> *mut IscsiDiscoveryAddress,
    pub iscsi_free_discovery_data: unsafe extern "C" fn(Ctx, *mut IscsiDiscoveryAddress),
    pub iscsi_reportluns_sync: unsafe extern "C" fn(Ctx, c_int, c_int) -> Task,
    pub iscsi_testunitready_sync: unsafe extern "C" fn(Ctx, c_int) -> Task,
    pub iscsi_inquiry_sync: unsafe extern "C" fn(Ctx, c_int, c_int, c_int, c_int) -> Task,
    pub iscsi_readcapacity16_sync: unsafe extern "C" fn(Ctx, c_int) -> Task,
    #[allow(clippy::type_complexity)]
    pub iscsi_write16_sync: unsafe extern "C" fn(
        Ctx,
        c_int,
        u64,
        *mut c_uchar,
        u32,
        c_int,
        c_int,
        c_int,
        c_int,
        c_int,
        c_int,
    ) -> Task,
    pub scsi_datain_getfullsize: unsafe extern "C" fn(Task) -> c_int,
    pub scsi_datain_unmarshall: unsafe extern "C" fn(Task) -> *mut c_void,
    pub scsi_free_scsi_task: unsafe extern "C" fn(Task),
}

impl LibIscsi {
    /// Opens `soname` and looks up every function; a library that lacks
    /// one is refused as a whole.
    pub fn load(soname: &str) -> Result<LibIscsi, String> {
        // SAFETY: loading runs libiscsi's initialisers, which only set up
        // its own state.
        let lib = unsafe { libloading::Library::new(soname) }
            .map_err(|e| format!("cannot load {soname}: {e}"))?;
        macro_rules! sym {
            ($name:ident) => {{
                // SAFETY: the symbol is looked up with the signature
                // transcribed from libiscsi 1.x's header (soname 7).
                let s = unsafe { lib.get(concat!(stringify!($name), "\0").as_bytes()) }
                    .map_err(|e| format!("{soname}: {}: {e}", stringify!($name)))?;
                *s
            }};
        }
        Ok(LibIscsi {
            iscsi_create_context: sym!(iscsi_create_context),
            iscsi_destroy_context: sym!(iscsi_destroy_context),
            iscsi_get_error: sym!(iscsi_get_error),
            iscsi_init_transport: sym!(iscsi_init_transport),
            iscsi_set_targetname: sym!(iscsi_set_targetname),
            iscsi_set_session_type: sym!(iscsi_set_session_type),
            iscsi_set_initiator_username_pwd: sym!(iscsi_set_initiator_username_pwd),
            iscsi_connect_sync: sym!(iscsi_connect_sync),
            iscsi_login_sync: sym!(iscsi_login_sync),
            iscsi_logout_sync: sym!(iscsi_logout_sync),
            iscsi_disconnect: sym!(iscsi_disconnect),
            iscsi_discovery_sync: sym!(iscsi_discovery_sync),
            iscsi_free_discovery_data: sym!(iscsi_free_discovery_data),
            iscsi_reportluns_sync: sym!(iscsi_reportluns_sync),
            iscsi_testunitready_sync: sym!(iscsi_testunitready_sync),
            iscsi_inquiry_sync: sym!(iscsi_inquiry_sync),
            iscsi_readcapacity16_sync: sym!(iscsi_readcapacity16_sync),
            iscsi_write16_sync: sym!(iscsi_write16_sync),
            scsi_datain_getfullsize: sym!(scsi_datain_getfullsize),
            scsi_datain_unmarshall: sym!(scsi_datain_unmarshall),
            scsi_free_scsi_task: sym!(scsi_free_scsi_task),
            _lib: lib,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    /// Offsets gcc gives these fields on x86_64 with libiscsi 1.19's
    /// headers (`offsetof` in a small C program).
    #[test]
    fn prefixes_have_the_c_offsets() {
        assert_eq!(offset_of!(ScsiTaskHead, sense), 48);
        assert_eq!(
            offset_of!(ScsiTaskHead, sense) + offset_of!(ScsiSenseHead, key),
            52
        );
        assert_eq!(
            offset_of!(ScsiTaskHead, sense) + offset_of!(ScsiSenseHead, ascq),
            56
        );
        assert_eq!(offset_of!(ScsiTaskHead, datain), 64);
        assert_eq!(offset_of!(ScsiReadCapacity16Head, block_length), 8);
        assert_eq!(offset_of!(ScsiInquiryStandardHead, device_type), 4);
        assert_eq!(offset_of!(IscsiDiscoveryAddress, target_name), 8);
    }
}
