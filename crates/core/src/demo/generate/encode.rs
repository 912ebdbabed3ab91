//! Encodings and text shapes the generated rows use: hex, SHA-256, base64 and title case.

use sha2::{Digest, Sha256};

pub(super) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(super) fn sha256(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

/// Base64, URL-safe without padding (JWT, ids) or standard with padding.
pub(super) fn b64(data: &[u8], url: bool) -> String {
    let abc = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let (a, b) = if url { (b'-', b'_') } else { (b'+', b'/') };
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = u32::from(c[0]) << 16
            | u32::from(*c.get(1).unwrap_or(&0)) << 8
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..=c.len() {
            let x = (n >> (18 - 6 * k) & 63) as usize;
            out.push(*abc.get(x).unwrap_or(if x == 62 { &a } else { &b }) as char);
        }
        if !url {
            out.push_str(&"=="[..3 - c.len()]);
        }
    }
    out
}

pub(super) fn title_case(name: &str) -> String {
    let words = name.split(['-', '.', '_']).filter(|w| !w.is_empty());
    let cap = |w: &str| w[..1].to_uppercase() + &w[1..];
    words.map(cap).collect::<Vec<_>>().join(" ")
}
