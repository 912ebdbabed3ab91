//! The generator's randomness: a splitmix64 generator, seeded per stream so that each area's
//! data depends only on the seed, never on the order the areas are written in.

use super::encode::{b64, hex};

pub(super) const STREAM_PLAN: u64 = 1;
pub(super) const STREAM_CATALOG: u64 = 2;
pub(super) const STREAM_AUTH: u64 = 3;
pub(super) const STREAM_DOCS: u64 = 4;
pub(super) const STREAM_NOTIFY: u64 = 5;
pub(super) const STREAM_ENTITY: u64 = 1 << 40;
pub(super) const STREAM_ETAG: u64 = 2 << 40;
pub(super) const STREAM_TASK: u64 = 3 << 40;
pub(super) const STREAM_KID: u64 = 4 << 40;

#[derive(Clone)]
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64, stream: u64) -> Self {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        r.next();
        r
    }
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub(super) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo).max(1) as usize) as i64
    }
    pub(super) fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64) / ((1u64 << 53) as f64) < p
    }
    pub(super) fn pick<'a>(&mut self, s: &[&'a str]) -> &'a str {
        s[self.below(s.len())]
    }
    pub(super) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    pub(super) fn hex(&mut self, n: usize) -> String {
        hex(&self.bytes(n.div_ceil(2)))[..n].to_string()
    }
    pub(super) fn b64(&mut self, n: usize) -> String {
        b64(&self.bytes(n), true)
    }
    pub(super) fn uuid(&mut self) -> String {
        let (h, v) = (self.hex(32), ["8", "9", "a", "b"][self.below(4)]);
        let (a, b, c, d, e) = (&h[..8], &h[8..12], &h[13..16], &h[17..20], &h[20..]);
        format!("{a}-{b}-4{c}-{v}{d}-{e}")
    }
}
