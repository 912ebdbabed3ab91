//! The catalog's own tables: registered locations and their update log, the refresh state of
//! every entity, final entities, relation rows, the key/value search rows, and the references
//! and keys the processing loop keeps.

use std::collections::HashSet;

use serde_json::{Value, json};
use sqlx::postgres::PgPool;

use super::copy::{NULL, Writer};
use super::entity::RELS;
use super::options::{GenerateReport, Progress};
use super::plan::{Kind, Plan};
use super::rng::{Rng, STREAM_CATALOG};
use super::time::{DAY, MIN, SEC, ts};
use crate::error::Result;

type SearchRow = (String, Option<String>, Option<String>);

/// The catalog's own key/value index of an entity (as buildEntitySearch makes it): one row per
/// flattened field, keys and values lower-cased, values over 200 characters left out.
fn search_rows(entity: &Value, rels: &[(&str, String)]) -> Vec<SearchRow> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        const SKIP: &str = "relations status attachments metadata.name metadata.namespace metadata.uid metadata.etag";
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let key = format!("{prefix}.{k}").trim_start_matches('.').to_string();
                    if !SKIP.split(' ').any(|s| s == key) {
                        walk(&key, v, out);
                    }
                }
            }
            Value::Array(a) => {
                for item in a {
                    walk(prefix, item, out);
                    if let Value::String(s) = item {
                        out.push((format!("{prefix}.{s}"), "true".into()));
                    }
                }
            }
            Value::Null => {}
            Value::String(s) => out.push((prefix.to_string(), s.clone())),
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    let mut raw = Vec::with_capacity(32);
    walk("", entity, &mut raw);
    for k in ["name", "namespace", "uid"] {
        let v = entity["metadata"][k].as_str().unwrap_or_default();
        raw.push((format!("metadata.{k}"), v.to_string()));
    }
    for (t, target) in rels {
        raw.push((format!("relations.{t}"), target.clone()));
    }
    let mut seen = HashSet::new();
    let mut rows = Vec::with_capacity(raw.len());
    for (k, v) in raw {
        let key = k.to_lowercase();
        let (value, original) = match v.len() {
            0..=200 => (Some(v.to_lowercase()), Some(v)),
            _ => (None, None),
        };
        if key.len() <= 200 && seen.insert((key.clone(), value.clone())) {
            rows.push((key, value, original));
        }
    }
    rows
}

/// Fills the catalog's tables.
pub(super) async fn write_catalog(
    pool: &PgPool,
    p: &Plan,
    progress: Progress<'_>,
) -> Result<GenerateReport> {
    let mut rng = Rng::new(p.seed, STREAM_CATALOG);
    let locations = write_locations(pool, p, &mut rng).await?;
    let mut w = EntityRows::new(pool);
    let n = p.ents.len();
    for i in 0..n {
        w.entity(p, i, &mut rng);
        if w.full() || i + 1 == n {
            w.flush().await?;
            progress("catalog", (i + 1) as u64, n as u64);
        }
    }
    Ok(GenerateReport {
        entities: w.rs.rows,
        final_entities: w.fe.rows,
        errored_entities: p.ents.iter().filter(|e| e.errored).count(),
        orphans: p.ents.iter().filter(|e| e.orphan).count(),
        relations: w.rel.rows,
        search_rows: w.se.iter().map(|w| w.rows).sum(),
        locations,
        ..Default::default()
    })
}

/// Registered locations (the location entities stand for them) and their update log; returns
/// the number of locations.
async fn write_locations(pool: &PgPool, p: &Plan, rng: &mut Rng) -> Result<usize> {
    let mut locs = Writer::new(pool, "locations", "id, type, target, location_entity_ref");
    let cols = "status, created_at, message, location_id, entity_name";
    let mut log = Writer::new(pool, "location_update_log", cols);
    locs.row(&[&rng.uuid(), &"bootstrap", &"bootstrap", &""]);
    for i in p.of(Kind::Location) {
        let (id, target) = (rng.uuid(), &p.loc_targets[i]);
        locs.row(&[&id, &"url", target, &p.eref(i)]);
        let fail = rng.chance(0.03);
        let msg = fail.then(|| format!("NotFoundError: 404 Not Found: {target}"));
        let status = ["success", "fail"][usize::from(fail)];
        let at = ts(p.epoch - rng.range(0, DAY));
        log.row(&[&status, &at, &msg, &id, &NULL]);
    }
    locs.flush().await?;
    log.flush().await?;
    Ok(locs.rows)
}

/// The writers of the per-entity tables.
struct EntityRows {
    rs: Writer,
    fe: Writer,
    rel: Writer,
    /// The catalog's search rows (most of the rows) go through three streams at once.
    se: [Writer; 3],
    refs: Writer,
    keys: Writer,
}

impl EntityRows {
    fn new(pool: &PgPool) -> Self {
        let cols = "entity_id, entity_ref, unprocessed_entity, processed_entity, cache, errors, \
                    next_update_at, last_discovery_at, location_key, result_hash, unprocessed_hash";
        let rs = Writer::new(pool, "refresh_state", cols);
        let cols = "entity_id, hash, final_entity, last_updated_at, entity_ref";
        let fe = Writer::new(pool, "final_entities", cols);
        let cols = "originating_entity_id, source_entity_ref, type, target_entity_ref";
        let rel = Writer::new(pool, "relations", cols);
        let cols = "entity_id, key, value, original_value";
        let se = [(); 3].map(|_| Writer::new(pool, "search", cols));
        let cols = "source_key, source_entity_ref, target_entity_ref";
        let refs = Writer::new(pool, "refresh_state_references", cols);
        let keys = Writer::new(pool, "refresh_keys", "entity_id, key");
        EntityRows {
            rs,
            fe,
            rel,
            se,
            refs,
            keys,
        }
    }

    /// The rows of entity `i`: its refresh state and references and, unless its processing
    /// failed, its final entity, relations and search rows.
    fn entity(&mut self, p: &Plan, i: usize, rng: &mut Rng) {
        let e = &p.ents[i];
        let eref = p.eref(i);
        let processed = p.processed(i);
        let mut unprocessed = processed.clone();
        if let Some(m) = unprocessed["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        if let Some(a) = unprocessed["metadata"]["annotations"].as_object_mut() {
            a.remove("backstage.io/view-url");
            a.remove("backstage.io/edit-url");
        }
        let (errors, cache) = match e.errored {
            true => (p.error_json(i, &mut unprocessed), "{}"),
            false => ("[]".to_string(), "{\"ttl\":5,\"cache\":{}}"),
        };
        let location_key = format!("url:{}", p.loc_targets[e.loc as usize]);
        let key = (e.kind != Kind::Location).then_some(&location_key);
        let raw = unprocessed.to_string();
        let done = (!e.errored).then(|| processed.to_string());
        let next = ts(p.epoch + rng.range(10 * SEC, 5 * MIN));
        let seen = ts(p.epoch - rng.range(0, 5 * MIN));
        let (h1, h2) = (rng.hex(40), rng.hex(40));
        self.rs.row(&[
            &e.id, &eref, &raw, &done, &cache, &errors, &next, &seen, &key, &h1, &h2,
        ]);
        if e.kind == Kind::Location {
            self.refs.row(&[&"DefaultLocationStore", &NULL, &eref]);
            self.keys.row(&[&e.id, &location_key]);
        } else if !e.orphan {
            self.refs.row(&[&NULL, &p.eref(e.loc), &eref]);
        }
        if !e.errored {
            self.final_entity(p, i, processed, rng);
        }
    }

    /// The final entity of `i` (stitched: ids, relations, the orphan mark), its relation rows
    /// in both directions and its search rows.
    fn final_entity(&mut self, p: &Plan, i: usize, processed: Value, rng: &mut Rng) {
        let (e, eref) = (&p.ents[i], p.eref(i));
        let (rels, etag) = (p.relations(i), p.etag(i));
        let mut fin = processed;
        fin["metadata"]["uid"] = json!(e.id);
        fin["metadata"]["etag"] = json!(etag);
        if e.orphan {
            fin["metadata"]["annotations"]["backstage.io/orphan"] = json!("true");
        }
        let list = rels.iter().map(|(t, r)| json!({"type": t, "targetRef": r}));
        fin["relations"] = Value::Array(list.collect());
        let updated = ts(p.epoch - rng.range(0, 30 * DAY));
        self.fe
            .row(&[&e.id, &etag, &fin.to_string(), &updated, &eref]);
        for &(t, x) in &e.out {
            let (target, (fwd, rev)) = (p.eref(x), RELS[t as usize]);
            self.rel.row(&[&e.id, &eref, &fwd, &target]);
            self.rel.row(&[&e.id, &target, &rev, &eref]);
        }
        for (k, v, o) in search_rows(&fin, &rels) {
            self.se[i % 3].row(&[&e.id, &k, &v, &o]);
        }
    }

    fn full(&self) -> bool {
        self.rs.full() || self.fe.full() || self.rel.full() || self.se[0].full()
    }

    /// Sends what is buffered, in foreign-key order: refresh state first.
    async fn flush(&mut self) -> Result<()> {
        self.rs.flush().await?;
        let (fe, rel, refs, keys) = (&mut self.fe, &mut self.rel, &mut self.refs, &mut self.keys);
        tokio::try_join!(fe.flush(), rel.flush(), refs.flush(), keys.flush())?;
        let [a, b, c] = &mut self.se;
        tokio::try_join!(a.flush(), b.flush(), c.flush())?;
        Ok(())
    }
}
