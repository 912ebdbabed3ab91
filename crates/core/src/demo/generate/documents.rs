//! The search backend's documents: one software-catalog document per entity that processed,
//! and the TechDocs pages of the entities that have them.

use serde_json::{Value, json};
use sqlx::postgres::PgPool;

use super::copy::Writer;
use super::encode::sha256;
use super::options::{GenerateReport, Progress};
use super::plan::Plan;
use super::rng::{Rng, STREAM_DOCS};
use crate::demo::names::{DESCRIPTION_VERBS, NOUNS};
use crate::error::Result;

/// Fills the search documents.
pub(super) async fn write_documents(
    pool: &PgPool,
    p: &Plan,
    report: Progress<'_>,
) -> Result<GenerateReport> {
    let mut rng = Rng::new(p.seed, STREAM_DOCS);
    let mut docs = Writer::new(pool, "documents", "type, document, hash");
    let put = |docs: &mut Writer, ty: &str, d: Value| {
        let text = d.to_string();
        docs.row(&[&ty, &text, &format!("\\x{}", sha256(&text))]);
    };
    let pages = [
        ("", "Overview"),
        ("start/", "Getting started"),
        ("runbook/", "Runbook"),
    ];
    let n = p.ents.len();
    for (i, e) in p.ents.iter().enumerate() {
        if !e.errored {
            let v = p.processed(i);
            let (meta, spec) = (&v["metadata"], &v["spec"]);
            let (kind, eref, words) = (e.kind.lower(), p.eref(i), e.name.replace('-', " "));
            let s = |x: &Value| x.as_str().unwrap_or_default().to_string();
            let ty = spec["type"].as_str().unwrap_or("other");
            let (life, owner) = (s(&spec["lifecycle"]), s(&spec["owner"]));
            let auth = json!({ "resourceRef": eref });
            let doc = json!({"title": meta.get("title").unwrap_or(&meta["name"]), "text": s(&meta["description"]),
                "location": format!("/catalog/default/{kind}/{}", e.name), "kind": e.kind.title(), "namespace": "default",
                "type": ty, "componentType": ty, "lifecycle": life, "owner": owner, "authorization": auth});
            put(&mut docs, "software-catalog", doc);
            for (path, title) in &pages[..usize::from(e.techdocs) * (1 + rng.below(3))] {
                let (verb, noun) = (rng.pick(DESCRIPTION_VERBS), rng.pick(NOUNS));
                let text = format!("{title} of {words}. {verb} {words} for {owner}. See {noun}.");
                let doc = json!({"title": title, "text": text, "location": format!("/docs/default/{kind}/{}/{path}", e.name),
                    "path": path, "kind": kind, "namespace": "default", "name": e.name, "entityTitle": e.name,
                    "componentType": ty, "lifecycle": life, "owner": owner, "authorization": auth});
                put(&mut docs, "techdocs", doc);
            }
        }
        if docs.full() || i + 1 == n {
            docs.flush().await?;
            report("search", (i + 1) as u64, n as u64);
        }
    }
    Ok(GenerateReport {
        documents: docs.rows,
        ..Default::default()
    })
}
