//! Generated time: the default epoch, units in microseconds, and the two ways instants are
//! written (a `timestamptz` literal for COPY, JavaScript's ISO form inside JSON).

use crate::refs::time::civil;

/// 2026-11-01T00:00:00Z in microseconds since the Unix epoch: the default
/// [`super::GenerateOptions::epoch_us`].
pub(super) const EPOCH: i64 = 1_793_491_200_000_000;
pub(super) const SEC: i64 = 1_000_000;
pub(super) const MIN: i64 = 60 * SEC;
pub(super) const HOUR: i64 = 60 * MIN;
pub(super) const DAY: i64 = 24 * HOUR;

/// A `timestamptz` literal for COPY.
pub(super) fn ts(us: i64) -> String {
    let [y, m, d, h, mi, s, f] = civil(us);
    format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{f:06}+00")
}

/// An instant as JavaScript's `toISOString` prints it.
pub(super) fn iso(us: i64) -> String {
    let [y, m, d, h, mi, s, f] = civil(us);
    let ms = f / 1000;
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}
