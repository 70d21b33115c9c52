// SPDX-License-Identifier: LGPL-2.1-or-later
//! Secrets handed to QEMU encrypted under the domain's master key, as
//! libvirt passes them (`-object secret,...,format=base64,iv=...`):
//! AES-256-CBC with PKCS#7 padding (RustCrypto's `aes` and `cbc`), values
//! and IVs in standard base64.

use base64::Engine as _;
use cbc::cipher::{block_padding::Pkcs7, BlockEncryptMut, KeyIvInit};

/// `data` encrypted with AES-256-CBC under `key` and `iv`, PKCS#7 padded.
pub fn encrypt_cbc(key: &[u8; 32], iv: &[u8; 16], data: &[u8]) -> Vec<u8> {
    cbc::Encryptor::<aes::Aes256>::new(key.into(), iv.into()).encrypt_padded_vec_mut::<Pkcs7>(data)
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fips197_aes256_vector() {
        // FIPS 197 appendix C.3, as the first block of a CBC run with a zero IV.
        let key: [u8; 32] = std::array::from_fn(|i| i as u8);
        let block: [u8; 16] = std::array::from_fn(|i| (i as u8) * 0x11);
        let enc = encrypt_cbc(&key, &[0; 16], &block);
        let hex: String = enc[..16].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "8ea2b7ca516745bfeafc49904b496089");
    }

    #[test]
    fn cbc_and_base64() {
        let key: [u8; 32] = std::array::from_fn(|i| i as u8);
        let iv: [u8; 16] = std::array::from_fn(|i| i as u8);
        let enc = encrypt_cbc(&key, &iv, b"AQCVn5hO6HzFAhAAq0NCv8jtJcIcE+HOBlMQ1A");
        assert_eq!(
            base64(&enc),
            "9eao5F8qtkGt+seB1HYivWIxbtwUu6MQtg1zpj/oDtUsPr1q8wBYM91uEHCn6j/1"
        );
        assert_eq!(base64(&iv), "AAECAwQFBgcICQoLDA0ODw==");
    }
}
