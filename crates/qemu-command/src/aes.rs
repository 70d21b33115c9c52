// SPDX-License-Identifier: LGPL-2.1-or-later
//! AES-256-CBC encryption with PKCS#7 padding (FIPS 197, SP 800-38A): how
//! secrets are handed to QEMU, encrypted with the per-guest master key
//! (QEMU's `secret` object with `keyid` and `iv`). Encryption only; small
//! and table-driven, not hardened against timing side channels (the key
//! is the guest's master key, on the local host).

/// The S-box.
const SBOX: [u8; 256] = {
    // Built at compile time from the multiplicative inverse in GF(2^8) and
    // the affine transform.
    let mut sbox = [0u8; 256];
    let mut p: u8 = 1;
    let mut q: u8 = 1;
    loop {
        // p := p * 3
        p = p ^ (p << 1) ^ (if p & 0x80 != 0 { 0x1b } else { 0 });
        // q := q / 3
        q ^= q << 1;
        q ^= q << 2;
        q ^= q << 4;
        if q & 0x80 != 0 {
            q ^= 0x09;
        }
        let x = q ^ q.rotate_left(1) ^ q.rotate_left(2) ^ q.rotate_left(3) ^ q.rotate_left(4);
        sbox[p as usize] = x ^ 0x63;
        if p == 1 {
            break;
        }
    }
    sbox[0] = 0x63;
    sbox
};

fn xtime(b: u8) -> u8 {
    (b << 1) ^ (if b & 0x80 != 0 { 0x1b } else { 0 })
}

/// The 15 round keys of a 256-bit key.
fn expand_key(key: &[u8; 32]) -> [[u8; 16]; 15] {
    let mut w = [[0u8; 4]; 60];
    for (i, word) in w.iter_mut().take(8).enumerate() {
        word.copy_from_slice(&key[4 * i..4 * i + 4]);
    }
    let mut rcon: u8 = 1;
    for i in 8..60 {
        let mut t = w[i - 1];
        if i % 8 == 0 {
            t = [
                SBOX[t[1] as usize] ^ rcon,
                SBOX[t[2] as usize],
                SBOX[t[3] as usize],
                SBOX[t[0] as usize],
            ];
            rcon = xtime(rcon);
        } else if i % 8 == 4 {
            t = t.map(|b| SBOX[b as usize]);
        }
        for j in 0..4 {
            w[i][j] = w[i - 8][j] ^ t[j];
        }
    }
    let mut rk = [[0u8; 16]; 15];
    for (r, k) in rk.iter_mut().enumerate() {
        for c in 0..4 {
            k[4 * c..4 * c + 4].copy_from_slice(&w[4 * r + c]);
        }
    }
    rk
}

fn encrypt_block(rk: &[[u8; 16]; 15], block: &mut [u8; 16]) {
    for (b, k) in block.iter_mut().zip(rk[0].iter()) {
        *b ^= k;
    }
    for (round, key) in rk.iter().enumerate().skip(1) {
        // SubBytes and ShiftRows (state is column-major: byte r + 4c).
        let mut s = [0u8; 16];
        for c in 0..4 {
            for r in 0..4 {
                s[r + 4 * c] = SBOX[block[r + 4 * ((c + r) % 4)] as usize];
            }
        }
        if round != 14 {
            for c in 0..4 {
                let col = [s[4 * c], s[4 * c + 1], s[4 * c + 2], s[4 * c + 3]];
                let all = col[0] ^ col[1] ^ col[2] ^ col[3];
                for r in 0..4 {
                    s[4 * c + r] = col[r] ^ all ^ xtime(col[r] ^ col[(r + 1) % 4]);
                }
            }
        }
        for (i, b) in block.iter_mut().enumerate() {
            *b = s[i] ^ key[i];
        }
    }
}

/// `data` encrypted with AES-256-CBC under `key` and `iv`, PKCS#7 padded.
pub fn encrypt_cbc(key: &[u8; 32], iv: &[u8; 16], data: &[u8]) -> Vec<u8> {
    let rk = expand_key(key);
    let pad = 16 - data.len() % 16;
    let mut buf = data.to_vec();
    buf.extend(std::iter::repeat_n(pad as u8, pad));
    let mut prev = *iv;
    for chunk in buf.chunks_mut(16) {
        let mut block = [0u8; 16];
        for i in 0..16 {
            block[i] = chunk[i] ^ prev[i];
        }
        encrypt_block(&rk, &mut block);
        chunk.copy_from_slice(&block);
        prev = block;
    }
    buf
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fips197_aes256_vector() {
        // FIPS 197 appendix C.3.
        let key: [u8; 32] = std::array::from_fn(|i| i as u8);
        let rk = expand_key(&key);
        let mut block: [u8; 16] = std::array::from_fn(|i| (i as u8) * 0x11);
        encrypt_block(&rk, &mut block);
        let hex: String = block.iter().map(|b| format!("{b:02x}")).collect();
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
