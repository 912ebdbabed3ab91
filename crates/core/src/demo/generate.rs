//! The demo data generator: fills migrated plugin databases the way a real Backstage would,
//! deterministically from a seed (timestamps count back from a fixed epoch, never from now).
//!
//! Only the small entity graph (kinds, names, ids, edges) is kept in memory; each entity's JSON is
//! built as it is written. Every table is filled with `COPY ... FROM STDIN` (text format) in chunks
//! of about 1 MB, each chunk its own statement and transaction, flushed in foreign-key order.

use std::collections::HashSet;
use std::time::Instant;

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgPool, PgPoolCopyExt};

use super::names::*;
use crate::error::{CoreError, Result};
/// Relation types: (the direction the originating entity states, the reverse).
use crate::refs::RELATION_PAIRS as RELS;
use crate::refs::time::civil;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub seed: u64,
    pub entities: usize,
    pub tasks: usize,
    pub events_per_task: usize,
    /// The moment the data is generated "at", in microseconds since the Unix epoch: the
    /// newest tasks, sessions and refreshes lie just before it, expiries just after. Fixed by
    /// default (2026-11-01) so that a seed always gives the same data; the demo sets the
    /// current time so that its data looks alive (recent failures, active sessions).
    pub epoch_us: i64,
}

impl GenerateOptions {
    /// The default demo: a few hundred entities.
    pub fn small() -> Self {
        Self::size(300)
    }

    /// Everything scaled from the number of entities: 100,000 entities give about 700,000
    /// relation rows, 100,000 tasks and 1,000,000 task events.
    pub fn size(entities: usize) -> Self {
        Self {
            seed: 42,
            entities,
            tasks: entities,
            events_per_task: 10,
            epoch_us: EPOCH,
        }
    }
}

/// Pools on migrated, empty plugin databases (or schemas).
#[derive(Debug, Clone)]
pub struct Targets {
    pub catalog: PgPool,
    pub scaffolder: PgPool,
    pub auth: PgPool,
    pub search: PgPool,
    pub notifications: Option<PgPool>,
    pub events: Option<PgPool>,
}

/// What was written.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct GenerateReport {
    pub entities: usize,
    pub final_entities: usize,
    pub errored_entities: usize,
    pub orphans: usize,
    pub relations: usize,
    pub search_rows: usize,
    pub locations: usize,
    pub tasks: usize,
    pub task_events: usize,
    pub sessions: usize,
    pub offline_sessions: usize,
    pub signing_keys: usize,
    pub users: usize,
    pub documents: usize,
    pub elapsed_ms: u64,
}

type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Send + Sync);

/// Fills the targets. `progress(phase, done, total)` is called as phases advance.
pub async fn generate(
    targets: &Targets,
    opts: &GenerateOptions,
    progress: &(dyn Fn(&str, u64, u64) + Send + Sync),
) -> Result<GenerateReport> {
    let started = Instant::now();
    let mut plan = Plan::build(opts.seed, opts.entities)?;
    plan.epoch = opts.epoch_us;
    let (mut r, sc, auth, docs, ()) = tokio::try_join!(
        write_catalog(&targets.catalog, &plan, progress),
        write_scaffolder(&targets.scaffolder, &plan, opts, progress),
        write_auth(&targets.auth, &plan, progress),
        write_documents(&targets.search, &plan, progress),
        write_notifications(targets, &plan, opts, progress),
    )?;
    (r.tasks, r.task_events) = (sc.tasks, sc.task_events);
    (r.sessions, r.offline_sessions) = (auth.sessions, auth.offline_sessions);
    (r.signing_keys, r.users, r.documents) = (auth.signing_keys, auth.users, docs.documents);
    r.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(r)
}

// ---------------------------------------------------------------------------------------------
// Small tools: a splitmix64 generator, time, encodings, the COPY writer.

const STREAM_PLAN: u64 = 1;
const STREAM_CATALOG: u64 = 2;
const STREAM_AUTH: u64 = 3;
const STREAM_DOCS: u64 = 4;
const STREAM_NOTIFY: u64 = 5;
const STREAM_ENTITY: u64 = 1 << 40;
const STREAM_ETAG: u64 = 2 << 40;
const STREAM_TASK: u64 = 3 << 40;
const STREAM_KID: u64 = 4 << 40;

#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo).max(1) as usize) as i64
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64) / ((1u64 << 53) as f64) < p
    }
    fn pick<'a>(&mut self, s: &[&'a str]) -> &'a str {
        s[self.below(s.len())]
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn hex(&mut self, n: usize) -> String {
        hex(&self.bytes(n.div_ceil(2)))[..n].to_string()
    }
    fn b64(&mut self, n: usize) -> String {
        b64(&self.bytes(n), true)
    }
    fn uuid(&mut self) -> String {
        let (h, v) = (self.hex(32), ["8", "9", "a", "b"][self.below(4)]);
        let (a, b, c, d, e) = (&h[..8], &h[8..12], &h[13..16], &h[17..20], &h[20..]);
        format!("{a}-{b}-4{c}-{v}{d}-{e}")
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sha256(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

/// Base64, URL-safe without padding (JWT, ids) or standard with padding.
fn b64(data: &[u8], url: bool) -> String {
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

/// 2026-11-01T00:00:00Z in microseconds since the Unix epoch: the default
/// [`GenerateOptions::epoch_us`].
const EPOCH: i64 = 1_793_491_200_000_000;
const SEC: i64 = 1_000_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// A `timestamptz` literal for COPY.
fn ts(us: i64) -> String {
    let [y, m, d, h, mi, s, f] = civil(us);
    format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{f:06}+00")
}

/// An instant as JavaScript's `toISOString` prints it.
fn iso(us: i64) -> String {
    let [y, m, d, h, mi, s, f] = civil(us);
    let ms = f / 1000;
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

fn title_case(name: &str) -> String {
    let words = name.split(['-', '.', '_']).filter(|w| !w.is_empty());
    let cap = |w: &str| w[..1].to_uppercase() + &w[1..];
    words.map(cap).collect::<Vec<_>>().join(" ")
}

fn db_err(table: &str, e: sqlx::Error) -> CoreError {
    let (code, message) = match e {
        sqlx::Error::Database(d) => (d.code().map(|c| c.to_string()), d.message().to_string()),
        other => (None, other.to_string()),
    };
    let message = format!("cannot fill {table}: {message}");
    CoreError::Database { code, message }
}

/// A value of a COPY row (text format): escaped text, or `\N` for NULL.
trait Field {
    fn put(&self, buf: &mut Vec<u8>);
}

impl Field for str {
    fn put(&self, buf: &mut Vec<u8>) {
        for &c in self.as_bytes() {
            match c {
                b'\\' => buf.extend_from_slice(b"\\\\"),
                b'\t' => buf.extend_from_slice(b"\\t"),
                b'\n' => buf.extend_from_slice(b"\\n"),
                b'\r' => buf.extend_from_slice(b"\\r"),
                _ => buf.push(c),
            }
        }
    }
}

impl Field for String {
    fn put(&self, buf: &mut Vec<u8>) {
        self.as_str().put(buf)
    }
}

impl<T: Field + ?Sized> Field for &T {
    fn put(&self, buf: &mut Vec<u8>) {
        (**self).put(buf)
    }
}

impl<T: Field> Field for Option<T> {
    fn put(&self, buf: &mut Vec<u8>) {
        match self {
            Some(v) => v.put(buf),
            None => buf.extend_from_slice(b"\\N"),
        }
    }
}

const NULL: Option<&str> = None;
const CHUNK: usize = 1 << 20;

/// Rows of one table, sent in chunks of about 1 MB: one COPY statement (and transaction) each.
struct Writer {
    pool: PgPool,
    table: &'static str,
    stmt: String,
    buf: Vec<u8>,
    rows: usize,
}

impl Writer {
    fn new(pool: &PgPool, table: &'static str, columns: &str) -> Self {
        let stmt = format!("COPY {table} ({columns}) FROM STDIN");
        let buf = Vec::with_capacity(CHUNK + CHUNK / 4);
        Writer {
            pool: pool.clone(),
            table,
            stmt,
            buf,
            rows: 0,
        }
    }
    fn row(&mut self, fields: &[&dyn Field]) {
        for (k, f) in fields.iter().enumerate() {
            if k > 0 {
                self.buf.push(b'\t');
            }
            f.put(&mut self.buf);
        }
        self.buf.push(b'\n');
        self.rows += 1;
    }
    fn full(&self) -> bool {
        self.buf.len() >= CHUNK
    }
    async fn flush(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let (t, data) = (self.table, self.buf.as_slice());
        let err = move |e| db_err(t, e);
        let mut copy = self.pool.copy_in_raw(&self.stmt).await.map_err(err)?;
        copy.send(data).await.map_err(err)?;
        copy.finish().await.map_err(err)?;
        self.buf.clear();
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The catalog graph: kinds, names, ids and edges; everything else is derived when written.

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
enum Kind {
    #[default]
    Location,
    Group,
    User,
    Domain,
    System,
    Resource,
    Api,
    Template,
    Component,
}

const KIND_NAMES: [(&str, &str); 9] = [
    ("Location", "location"),
    ("Group", "group"),
    ("User", "user"),
    ("Domain", "domain"),
    ("System", "system"),
    ("Resource", "resource"),
    ("API", "api"),
    ("Template", "template"),
    ("Component", "component"),
];

impl Kind {
    fn title(self) -> &'static str {
        KIND_NAMES[self as usize].0
    }
    fn lower(self) -> &'static str {
        KIND_NAMES[self as usize].1
    }
}

const OWNED_BY: u8 = 0;
const DEPENDS_ON: u8 = 1;
const PART_OF: u8 = 2;
const PROVIDES: u8 = 3;
const CONSUMES: u8 = 4;
const MEMBER_OF: u8 = 5;
const CHILD_OF: u8 = 6;
/// Marks an edge target that indexes `Plan::missing` (an entity that does not exist).
const MISSING: u32 = 1 << 31;

const LIFECYCLES: [&str; 3] = ["production", "experimental", "deprecated"];
const COMPONENT_TYPES: [&str; 3] = ["service", "website", "library"];
const API_TYPES: [&str; 4] = ["openapi", "grpc", "graphql", "asyncapi"];
const RESOURCE_TYPES: [&str; 5] = ["database", "s3-bucket", "queue", "cache", "kafka-topic"];
const RESOURCE_SUFFIXES: [&str; 5] = ["db", "bucket", "queue", "cache", "topic"];
const GROUP_TYPES: [&str; 3] = ["organization", "department", "team"];
const LANGS: [&str; 8] = [
    "java", "go", "python", "nodejs", "react", "kotlin", "rust", "dotnet",
];

#[derive(Default)]
struct Ent {
    kind: Kind,
    sub: u8,
    life: u8,
    loc: u32,
    errored: bool,
    orphan: bool,
    techdocs: bool,
    template: Option<u32>,
    name: String,
    id: String,
    /// Edges this entity states (relation type, target).
    out: Vec<(u8, u32)>,
    /// Edges other entities state towards this one (relation type, source).
    inc: Vec<(u8, u32)>,
}

struct Plan {
    seed: u64,
    /// [`GenerateOptions::epoch_us`].
    epoch: i64,
    ents: Vec<Ent>,
    missing: Vec<(Kind, &'static str)>,
    loc_targets: Vec<String>,
    start: [usize; 10],
}

type Span = std::ops::Range<usize>;

struct Builder {
    p: Plan,
    rng: Rng,
    used: HashSet<String>,
}

impl Builder {
    fn unique(&mut self, ns: &str, base: String) -> String {
        let mut name = base.clone();
        for k in 2.. {
            if self.used.insert(format!("{ns}/{name}")) {
                break;
            }
            name = format!("{base}-{k}");
        }
        name
    }
    fn add(&mut self, kind: Kind, base: String, sub: usize) -> usize {
        let name = self.unique(kind.lower(), base);
        let i = self.p.ents.len();
        let own = usize::from(kind == Kind::Location);
        let loc = [self.rng.below(self.p.loc_targets.len()), i][own];
        let (sub, loc, id) = (sub as u8, loc as u32, self.rng.uuid());
        self.p.ents.push(Ent {
            kind,
            sub,
            loc,
            name,
            id,
            ..Ent::default()
        });
        i
    }
    fn w(&mut self, words: &[&'static str]) -> &'static str {
        self.rng.pick(words)
    }
    fn any(&mut self, s: &Span) -> usize {
        s.start + self.rng.below(s.len())
    }
    /// With probability `p`, an edge from `i` to a random entity of `s`, or about 1% of the time
    /// to an entity that does not exist.
    fn edge(&mut self, i: usize, ty: u8, s: &Span, p: f64) {
        if s.is_empty() || !self.rng.chance(p) {
            return;
        }
        let real = self.any(s);
        let gone = self.rng.chance(0.01);
        let missing = gone.then(|| self.p.missing_of(&mut self.rng, self.p.ents[real].kind));
        let t = missing.flatten().unwrap_or(real as u32);
        if !self.p.ents[i].out.contains(&(ty, t)) {
            self.p.ents[i].out.push((ty, t));
        }
    }
}

impl Plan {
    fn of(&self, k: Kind) -> Span {
        self.start[k as usize]..self.start[k as usize + 1]
    }
    fn kn(&self, t: u32) -> (Kind, &str) {
        match self.missing.get((t & !MISSING) as usize) {
            Some(&(k, n)) if t & MISSING != 0 => (k, n),
            _ => (self.ents[t as usize].kind, &self.ents[t as usize].name),
        }
    }
    fn eref(&self, t: impl TryInto<u32>) -> String {
        let (k, n) = self.kn(t.try_into().unwrap_or(0));
        format!("{}:default/{n}", k.lower())
    }
    /// The short reference a spec uses: the bare name when the kind is the field's default.
    fn short(&self, t: u32, default: Option<Kind>) -> String {
        match self.kn(t) {
            (k, n) if Some(k) == default => n.to_string(),
            (k, n) => format!("{}:{n}", k.lower()),
        }
    }
    fn targets(&self, i: usize, ty: u8) -> impl Iterator<Item = u32> + '_ {
        let out = &self.ents[i].out;
        out.iter().filter(move |e| e.0 == ty).map(|e| e.1)
    }
    fn etag(&self, i: usize) -> String {
        Rng::new(self.seed, STREAM_ETAG + i as u64).hex(40)
    }
    /// A name of kind `k` that no entity has, if the word lists know one.
    fn missing_of(&self, rng: &mut Rng, k: Kind) -> Option<u32> {
        let of_kind = |m: &usize| self.missing[*m].0 == k;
        let idx: Vec<usize> = (0..self.missing.len()).filter(of_kind).collect();
        idx.get(rng.below(idx.len())).map(|&m| m as u32 | MISSING)
    }

    fn build(seed: u64, n: usize) -> Result<Plan> {
        if n < 20 {
            return Err(CoreError::config("the demo needs at least 20 entities"));
        }
        // Locations, groups, users, domains, systems, resources, APIs, templates, components.
        let mut counts = [4, 3, 25, 1, 5, 10, 15, 2, 0].map(|p| (n * p / 100).max(1));
        counts[1] = counts[1].max(3);
        counts[8] = n - counts[..8].iter().sum::<usize>();
        let mut start = [0usize; 10];
        for k in 0..9 {
            start[k + 1] = start[k] + counts[k];
        }
        let missing = [
            (Kind::Group, MISSING_GROUPS),
            (Kind::System, MISSING_SYSTEMS),
            (Kind::Api, MISSING_APIS),
            (Kind::Resource, MISSING_RESOURCES),
            (Kind::Component, MISSING_COMPONENTS),
            (Kind::User, MISSING_USERS),
        ];
        let missing = missing.iter().flat_map(|(k, l)| l.iter().map(|m| (*k, *m)));
        let (missing, ents, loc_targets) = (missing.collect(), Vec::with_capacity(n), Vec::new());
        let p = Plan {
            seed,
            epoch: EPOCH,
            ents,
            missing,
            loc_targets,
            start,
        };
        let (rng, used) = (Rng::new(seed, STREAM_PLAN), HashSet::new());
        let mut b = Builder { p, rng, used };
        let span = |k: Kind| start[k as usize]..start[k as usize + 1];
        let count = |k: Kind| span(k).len();
        for _ in 0..count(Kind::Location) {
            let repo = format!("{}-{}", b.w(BUSINESS), b.w(NOUNS));
            let repo = b.unique("repo", repo);
            let target = format!("https://github.com/acme/{repo}/blob/main/catalog-info.yaml");
            let name = format!("generated-{}", &sha256(&format!("url:{target}"))[..40]);
            b.p.loc_targets.push(target);
            b.add(Kind::Location, name, 0);
        }
        // Groups: one organisation, departments under it, teams under departments or teams.
        let g = count(Kind::Group);
        let root = b.add(Kind::Group, "acme".into(), 0);
        let depts = root + 1..root + 1 + ((g - 1) / 12).clamp(1, g - 2);
        for _ in depts.clone() {
            let name = b.w(DEPARTMENTS).to_string();
            let i = b.add(Kind::Group, name, 1);
            b.edge(i, CHILD_OF, &(root..root + 1), 1.0);
        }
        while b.p.ents.len() < span(Kind::Group).end {
            let name = format!("team-{}-{}", b.w(TEAM_ADJECTIVES), b.w(TEAM_ANIMALS));
            let i = b.add(Kind::Group, name, 2);
            let sub_team = i > depts.end && b.rng.chance(0.15);
            let parents = [depts.clone(), depts.end..i][usize::from(sub_team)].clone();
            b.edge(i, CHILD_OF, &parents, 1.0);
        }
        let teams = depts.end..span(Kind::Group).end;
        for _ in span(Kind::User) {
            let name = format!("{}.{}", b.w(FIRST_NAMES), b.w(LAST_NAMES));
            let i = b.add(Kind::User, name, 0);
            b.edge(i, MEMBER_OF, &teams, 1.0);
            b.edge(i, MEMBER_OF, &teams, 0.25);
        }
        for _ in span(Kind::Domain) {
            let name = b.w(BUSINESS).to_string();
            let i = b.add(Kind::Domain, name, 0);
            let owners = [&depts, &teams][b.rng.below(2)].clone();
            b.edge(i, OWNED_BY, &owners, 1.0);
        }
        for _ in span(Kind::System) {
            let name = format!("{}-{}", b.w(BUSINESS), b.w(SYSTEM_SUFFIXES));
            let i = b.add(Kind::System, name, 0);
            b.edge(i, OWNED_BY, &teams, 1.0);
            b.edge(i, PART_OF, &span(Kind::Domain), 1.0);
        }
        for _ in span(Kind::Resource) {
            let sub = b.rng.below(RESOURCE_TYPES.len());
            let (area, noun, suffix) = (b.w(BUSINESS), b.w(NOUNS), RESOURCE_SUFFIXES[sub]);
            let name = format!("{area}-{noun}-{suffix}");
            let i = b.add(Kind::Resource, name, sub);
            b.edge(i, OWNED_BY, &teams, 1.0);
            b.edge(i, PART_OF, &span(Kind::System), 0.85);
            b.edge(i, DEPENDS_ON, &(span(Kind::Resource).start..i), 0.1);
        }
        for _ in span(Kind::Api) {
            let sub = b.rng.below(API_TYPES.len());
            let name = format!("{}-{}-api", b.w(BUSINESS), b.w(NOUNS));
            let i = b.add(Kind::Api, name, sub);
            b.p.ents[i].life = [0, 0, 0, 1, 2][b.rng.below(5)];
            b.edge(i, OWNED_BY, &teams, 1.0);
            b.edge(i, PART_OF, &span(Kind::System), 0.9);
        }
        for _ in span(Kind::Template) {
            let sub = b.rng.below(3);
            let name = format!("{}-{}-template", b.w(&LANGS), COMPONENT_TYPES[sub]);
            let i = b.add(Kind::Template, name, sub);
            b.edge(i, OWNED_BY, &teams, 1.0);
        }
        // Components by type (service, website, library).
        let mut by_type: [Vec<usize>; 3] = Default::default();
        for _ in span(Kind::Component) {
            let sub = [0, 0, 0, 0, 0, 0, 1, 1, 2, 2][b.rng.below(10)];
            let suffix = b.w([SERVICE_SUFFIXES, WEBSITE_SUFFIXES, LIBRARY_SUFFIXES][sub]);
            let name = format!("{}-{}-{suffix}", b.w(BUSINESS), b.w(NOUNS));
            let i = b.add(Kind::Component, name, sub);
            b.p.ents[i].life = [0, 0, 0, 0, 1, 1, 2][b.rng.below(7)];
            b.p.ents[i].techdocs = b.rng.chance(0.3);
            if b.rng.chance(0.2) {
                b.p.ents[i].template = Some(b.any(&span(Kind::Template)) as u32);
            }
            let owners = [&teams, &span(Kind::User)][usize::from(b.rng.chance(0.03))].clone();
            b.edge(i, OWNED_BY, &owners, 1.0);
            b.edge(i, PART_OF, &span(Kind::System), 0.9);
            for _ in 0..b.rng.below(6) {
                b.edge(i, CONSUMES, &span(Kind::Api), 1.0);
            }
            for _ in 0..b.rng.below(5) {
                b.edge(i, DEPENDS_ON, &span(Kind::Resource), 1.0);
            }
            if let Some(&l) = by_type[2].get(b.rng.below(by_type[2].len())) {
                b.edge(i, DEPENDS_ON, &(l..l + 1), 0.5);
            }
            by_type[sub].push(i);
        }
        for a in span(Kind::Api) {
            let k = b.rng.below(by_type[0].len());
            let c = by_type[0]
                .get(k)
                .copied()
                .unwrap_or(span(Kind::Component).start);
            b.edge(c, PROVIDES, &(a..a + 1), 0.9);
        }
        let mut p = b.p;
        // At least one reference to an entity that is gone, one errored entity and one orphan.
        let c = p.of(Kind::Component).start;
        let gone = p.missing_of(&mut b.rng, Kind::Resource).unwrap_or(MISSING);
        if !p.ents[c + 1].out.contains(&(DEPENDS_ON, gone)) {
            p.ents[c + 1].out.push((DEPENDS_ON, gone));
        }
        for e in &mut p.ents[start[1]..] {
            e.errored = b.rng.chance(0.02);
            e.orphan = !e.errored && b.rng.chance(0.01);
        }
        p.ents[c].errored = true;
        p.ents[c + 1].errored = false;
        (p.ents[c + 2].errored, p.ents[c + 2].orphan) = (false, true);
        for i in 0..p.ents.len() {
            for k in 0..p.ents[i].out.len() {
                let (ty, t) = p.ents[i].out[k];
                if t & MISSING == 0 {
                    p.ents[t as usize].inc.push((ty, i as u32));
                }
            }
        }
        Ok(p)
    }
}

// ---------------------------------------------------------------------------------------------
// Entities as JSON, and the catalog's tables.

const STEPS: [(&str, &str, &str); 4] = [
    ("fetch-base", "Fetch Base", "fetch:template"),
    ("publish", "Publish", "publish:github"),
    ("register", "Register", "catalog:register"),
    ("notify", "Notify the team", "debug:log"),
];

fn put_list(v: &mut Value, key: &str, list: Vec<String>) {
    if !list.is_empty() {
        v[key] = json!(list);
    }
}

impl Plan {
    /// The entity as the processing loop leaves it (namespace set, processors' annotations).
    fn processed(&self, i: usize) -> Value {
        let e = &self.ents[i];
        let mut r = Rng::new(self.seed, STREAM_ENTITY + i as u64);
        let target = &self.loc_targets[e.loc as usize];
        let url = format!("url:{target}");
        let mut ann = json!({"backstage.io/managed-by-location": url, "backstage.io/managed-by-origin-location": url});
        let mut meta = json!({"name": e.name, "namespace": "default"});
        let words = e.name.replace(['-', '.'], " ");
        if e.kind != Kind::Location {
            ann["backstage.io/view-url"] = json!(target);
            ann["backstage.io/edit-url"] = json!(target.replace("/blob/", "/edit/"));
        }
        if !matches!(e.kind, Kind::Location | Kind::User | Kind::Group) {
            meta["description"] = json!(format!("{} {words}", r.pick(DESCRIPTION_VERBS)));
        }
        let software = matches!(e.kind, Kind::Component | Kind::Api | Kind::Resource);
        if software {
            let mut tags: Vec<String> = (0..r.below(4)).map(|_| r.pick(TAGS).into()).collect();
            tags.sort_unstable();
            tags.dedup();
            put_list(&mut meta, "tags", tags);
        }
        let list = |ty: u8, k: Option<Kind>| -> Vec<String> {
            self.targets(i, ty).map(|t| self.short(t, k)).collect()
        };
        let owner = list(OWNED_BY, Some(Kind::Group)).pop();
        let part_of = |k| list(PART_OF, Some(k)).pop();
        let profile = json!({"displayName": title_case(&e.name), "email": format!("{}@acme.example", e.name)});
        let (life, sub) = (LIFECYCLES[e.life as usize], e.sub as usize);
        let mut spec = match e.kind {
            Kind::Location => json!({"type": "url", "target": target, "presence": "required"}),
            Kind::Group => {
                let children: Vec<&str> = (e.inc.iter().filter(|(t, _)| *t == CHILD_OF))
                    .map(|&(_, s)| self.ents[s as usize].name.as_str())
                    .collect();
                let mut spec =
                    json!({"type": GROUP_TYPES[sub], "profile": profile, "children": children});
                if let Some(parent) = list(CHILD_OF, Some(Kind::Group)).pop() {
                    spec["parent"] = json!(parent);
                }
                spec
            }
            Kind::User => {
                json!({"profile": profile, "memberOf": list(MEMBER_OF, Some(Kind::Group))})
            }
            Kind::Domain => json!({ "owner": owner }),
            Kind::System => json!({"owner": owner, "domain": part_of(Kind::Domain)}),
            Kind::Resource => json!({"type": RESOURCE_TYPES[sub], "owner": owner}),
            Kind::Api => {
                let (ty, v) = (API_TYPES[sub], r.below(9));
                let name = title_case(&e.name).replace(' ', "");
                let definition = match ty {
                    "grpc" => format!("syntax = \"proto3\";\nservice {name}V{v} {{}}\n"),
                    "graphql" => format!("# {words}\ntype Query {{\n  version: String\n}}\n"),
                    _ => format!("{ty}: 3.0.0\ninfo:\n  title: {words}\n  version: 1.{v}.0\n"),
                };
                json!({"type": ty, "lifecycle": life, "owner": owner, "definition": definition})
            }
            Kind::Component => {
                ann["github.com/project-slug"] = json!(format!("acme/{}", e.name));
                if e.techdocs {
                    ann["backstage.io/techdocs-ref"] = json!("dir:.");
                }
                if let Some(t) = e.template {
                    ann["backstage.io/source-template"] = json!(self.eref(t));
                }
                if r.chance(0.5) {
                    let site = format!("https://{}.acme.example", e.name);
                    meta["links"] = json!([{"url": site, "title": "Website", "icon": "web"}]);
                }
                let mut spec =
                    json!({"type": COMPONENT_TYPES[sub], "lifecycle": life, "owner": owner});
                put_list(&mut spec, "providesApis", list(PROVIDES, Some(Kind::Api)));
                put_list(&mut spec, "consumesApis", list(CONSUMES, Some(Kind::Api)));
                spec
            }
            Kind::Template => {
                meta["title"] = json!(title_case(&e.name));
                meta["tags"] = json!([e.name.split('-').next(), "recommended"]);
                let steps: Vec<Value> = (STEPS.iter())
                    .map(|(id, name, action)| json!({"id": id, "name": name, "action": action}))
                    .collect();
                let parameters = json!([
                    {"title": "Provide some simple information", "required": ["name", "owner"],
                     "properties": {"name": {"title": "Name", "type": "string", "ui:autofocus": true},
                                    "owner": {"title": "Owner", "type": "string", "ui:field": "OwnerPicker"}}},
                    {"title": "Choose a location", "required": ["repoUrl"],
                     "properties": {"repoUrl": {"title": "Repository Location", "type": "string", "ui:field": "RepoUrlPicker"}}}
                ]);
                json!({"owner": owner, "type": COMPONENT_TYPES[sub], "parameters": parameters, "steps": steps})
            }
        };
        if software {
            if let Some(s) = part_of(Kind::System) {
                spec["system"] = json!(s);
            }
            put_list(&mut spec, "dependsOn", list(DEPENDS_ON, None));
        }
        meta["annotations"] = ann;
        let api_version = match e.kind {
            Kind::Template => "scaffolder.backstage.io/v1beta3",
            _ => "backstage.io/v1alpha1",
        };
        json!({"apiVersion": api_version, "kind": e.kind.title(), "metadata": meta, "spec": spec})
    }

    /// The processed entity with its uid and etag.
    fn with_ids(&self, i: usize) -> Value {
        let mut v = self.processed(i);
        v["metadata"]["uid"] = json!(self.ents[i].id);
        v["metadata"]["etag"] = json!(self.etag(i));
        v
    }

    /// The relations stitched into an entity: those it states, and the reverse of those stated
    /// towards it by entities that are not errored.
    fn relations(&self, i: usize) -> Vec<(&'static str, String)> {
        let e = &self.ents[i];
        let mut rels = Vec::new();
        for &(t, x) in &e.out {
            rels.push((RELS[t as usize].0, self.eref(x)));
        }
        for &(t, s) in &e.inc {
            if !self.ents[s as usize].errored {
                rels.push((RELS[t as usize].1, self.eref(s)));
            }
        }
        rels.sort();
        rels.dedup();
        rels
    }

    /// The `errors` of an entity whose processing fails; drops the owner it then lacks.
    fn error_json(&self, i: usize, unprocessed: &mut Value) -> String {
        let e = &self.ents[i];
        let (message, cause) = if e.kind == Kind::Api {
            let name = &e.name;
            let url = format!("https://raw.githubusercontent.com/acme/{name}/main/openapi.yaml");
            let c = format!("Placeholder $text could not read location {url}, 404 Not Found");
            let m = "Processor PlaceholderProcessor threw an error while preprocessing";
            (format!("{m}; caused by Error: {c}"), ("Error", c))
        } else {
            // A required property is missing: the one each kind cannot do without.
            let prop = match e.kind {
                Kind::User => "memberOf",
                Kind::Group => "children",
                Kind::Template => "type",
                _ => "owner",
            };
            if let Some(spec) = unprocessed["spec"].as_object_mut() {
                spec.remove(prop);
            }
            let c = format!("/spec must have required property '{prop}' - missingProperty: {prop}");
            let m = "Processor BuiltinKindsEntityProcessor threw an error while validating";
            let eref = self.eref(i);
            (
                format!("{m} the entity {eref}; caused by TypeError: {c}"),
                ("TypeError", c),
            )
        };
        let cause = json!({"name": cause.0, "message": cause.1});
        json!([{"name": "InputError", "message": message, "cause": cause}]).to_string()
    }
}

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

async fn write_catalog(pool: &PgPool, p: &Plan, progress: Progress<'_>) -> Result<GenerateReport> {
    let mut rng = Rng::new(p.seed, STREAM_CATALOG);
    // Registered locations (the location entities stand for them) and their update log.
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

    let cols = "entity_id, entity_ref, unprocessed_entity, processed_entity, cache, errors, \
                next_update_at, last_discovery_at, location_key, result_hash, unprocessed_hash";
    let mut rs = Writer::new(pool, "refresh_state", cols);
    let cols = "entity_id, hash, final_entity, last_updated_at, entity_ref";
    let mut fe = Writer::new(pool, "final_entities", cols);
    let cols = "originating_entity_id, source_entity_ref, type, target_entity_ref";
    let mut rel = Writer::new(pool, "relations", cols);
    // The catalog's search rows (most of the rows) go through three streams at once.
    let cols = "entity_id, key, value, original_value";
    let mut se = [(); 3].map(|_| Writer::new(pool, "search", cols));
    let cols = "source_key, source_entity_ref, target_entity_ref";
    let mut refs = Writer::new(pool, "refresh_state_references", cols);
    let mut keys = Writer::new(pool, "refresh_keys", "entity_id, key");
    let n = p.ents.len();
    for (i, e) in p.ents.iter().enumerate() {
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
        rs.row(&[
            &e.id, &eref, &raw, &done, &cache, &errors, &next, &seen, &key, &h1, &h2,
        ]);
        if e.kind == Kind::Location {
            refs.row(&[&"DefaultLocationStore", &NULL, &eref]);
            keys.row(&[&e.id, &location_key]);
        } else if !e.orphan {
            refs.row(&[&NULL, &p.eref(e.loc), &eref]);
        }
        if !e.errored {
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
            fe.row(&[&e.id, &etag, &fin.to_string(), &updated, &eref]);
            for &(t, x) in &e.out {
                let (target, (fwd, rev)) = (p.eref(x), RELS[t as usize]);
                rel.row(&[&e.id, &eref, &fwd, &target]);
                rel.row(&[&e.id, &target, &rev, &eref]);
            }
            for (k, v, o) in search_rows(&fin, &rels) {
                se[i % 3].row(&[&e.id, &k, &v, &o]);
            }
        }
        if rs.full() || fe.full() || rel.full() || se[0].full() || i + 1 == n {
            rs.flush().await?;
            tokio::try_join!(fe.flush(), rel.flush(), refs.flush(), keys.flush())?;
            let [a, b, c] = &mut se;
            tokio::try_join!(a.flush(), b.flush(), c.flush())?;
            progress("catalog", (i + 1) as u64, n as u64);
        }
    }
    Ok(GenerateReport {
        entities: rs.rows,
        final_entities: fe.rows,
        errored_entities: p.ents.iter().filter(|e| e.errored).count(),
        orphans: p.ents.iter().filter(|e| e.orphan).count(),
        relations: rel.rows,
        search_rows: se.iter().map(|w| w.rows).sum(),
        locations: locs.rows,
        ..Default::default()
    })
}

// ---------------------------------------------------------------------------------------------
// Scaffolder tasks and their events.

const OPEN: u8 = 0;
const PROCESSING: u8 = 1;
const COMPLETED: u8 = 2;
const FAILED: u8 = 3;
const CANCELLED: u8 = 4;
const INFO: &str = "\u{1b}[32minfo\u{1b}[39m: ";
const WARN: &str = "\u{1b}[33mwarn\u{1b}[39m: ";
const STACK: &str = "\n    at Object.handler (/app/node_modules/@backstage/plugin-scaffolder-backend/dist/scaffolder/actions/builtin/index.cjs.js:58:17)\
\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)\
\n    at async NunjucksWorkflowRunner.executeStep (/app/node_modules/@backstage/plugin-scaffolder-backend/dist/scaffolder/tasks/NunjucksWorkflowRunner.cjs.js:446:9)\
\n    at async NunjucksWorkflowRunner.execute (/app/node_modules/@backstage/plugin-scaffolder-backend/dist/scaffolder/tasks/NunjucksWorkflowRunner.cjs.js:657:29)\
\n    at async TaskWorker.runOneTask (/app/node_modules/@backstage/plugin-scaffolder-backend/dist/scaffolder/tasks/TaskWorker.cjs.js:196:26)";

/// The id of the k-th signing key (auth), which user tokens name.
fn kid(seed: u64, k: u64) -> String {
    Rng::new(seed, STREAM_KID + k).uuid()
}

/// Task events as they are written: (event_type, body, created_at).
struct Events {
    list: Vec<(&'static str, String, i64)>,
    at: i64,
    rng: Rng,
}

impl Events {
    fn push(&mut self, ty: &'static str, body: Value) {
        self.at += self.rng.range(1_000, 900_000);
        self.list.push((ty, body.to_string(), self.at));
    }
    fn log(&mut self, message: String, step: &str, status: &str) {
        let mut body = json!({ "message": message });
        for (k, v) in [("stepId", step), ("status", status)] {
            if !v.is_empty() {
                body[k] = json!(v);
            }
        }
        self.push("log", body);
    }
}

struct Task {
    id: String,
    status: u8,
    user: String,
    user_idx: Option<usize>,
    template: usize,
    created: i64,
    name: String,
    owner: String,
    steps: usize,
    /// The step that fails, is cancelled or is running (`steps` when none).
    stop: usize,
    logs: Vec<usize>,
    rng: Rng,
}

impl Plan {
    fn healthy_users(&self) -> impl Iterator<Item = usize> + '_ {
        self.of(Kind::User).filter(|&u| !self.ents[u].errored)
    }

    /// The ownership claims of a user token: the user and its groups.
    fn ent_claims(&self, u: usize) -> Vec<String> {
        let groups = self.targets(u, MEMBER_OF).map(|g| self.eref(g));
        std::iter::once(self.eref(u)).chain(groups).collect()
    }

    fn task(&self, o: &GenerateOptions, i: usize) -> Task {
        let mut rng = Rng::new(self.seed, STREAM_TASK + i as u64);
        let roll = rng.below(1000);
        let status = match i {
            0..5 => [OPEN, PROCESSING, FAILED, CANCELLED, COMPLETED][i],
            _ if roll < 5 => OPEN,
            _ if roll < 10 => PROCESSING,
            _ if roll < 130 => FAILED,
            _ if roll < 150 => CANCELLED,
            _ => COMPLETED,
        };
        // Finished tasks spread over 90 days, by id; open and running ones are recent.
        let step = (90 * DAY - 3 * HOUR) / o.tasks.max(1) as i64;
        let created = match status {
            OPEN | PROCESSING => self.epoch - rng.range(MIN, 2 * HOUR),
            _ => self.epoch - 90 * DAY + step * i as i64 + rng.range(0, HOUR),
        };
        let (templates, groups) = (self.of(Kind::Template), self.of(Kind::Group));
        let users = self.of(Kind::User);
        // Most completed tasks created a component that is in the catalog now, one whose
        // `backstage.io/source-template` names the task's template; the rest made something
        // that was never registered.
        let mut made = None;
        let comps = self.of(Kind::Component);
        if status == COMPLETED && !comps.is_empty() {
            for _ in 0..8 {
                let c = comps.start + rng.below(comps.len());
                let e = &self.ents[c];
                if made.is_none() && !e.errored && !e.orphan {
                    made = e.template.map(|t| (c, t as usize));
                }
            }
        }
        let template = match made {
            Some((_, t)) => t,
            None => templates.start + rng.below(templates.len()),
        };
        let sub = self.ents[template].sub as usize;
        let steps = if sub == 0 { 4 } else { 3 };
        let mut logs = vec![0; steps];
        for _ in 0..o.events_per_task.saturating_sub(2 + 2 * steps).max(1) + rng.below(2) {
            logs[rng.below(steps)] += 1;
        }
        let suffix = rng.pick([SERVICE_SUFFIXES, WEBSITE_SUFFIXES, LIBRARY_SUFFIXES][sub]);
        let (area, noun) = (rng.pick(BUSINESS), rng.pick(NOUNS));
        let name = match made {
            Some((c, _)) => self.ents[c].name.clone(),
            None => format!("{area}-{noun}-{suffix}"),
        };
        let owner = self.eref(groups.start + rng.below(groups.len()));
        let mut user_idx = None;
        for _ in 0..8 {
            let u = users.start + rng.below(users.len());
            user_idx = user_idx.or((!self.ents[u].errored).then_some(u));
        }
        let user = user_idx.map_or("user:default/guest".into(), |u| self.eref(u));
        let stop = [rng.below(steps), steps][usize::from(status == COMPLETED)];
        let id = rng.uuid();
        Task {
            id,
            status,
            user,
            user_idx,
            template,
            created,
            name,
            owner,
            steps,
            stop,
            logs,
            rng,
        }
    }

    fn task_spec(&self, t: &Task) -> String {
        let mut user = json!({"ref": t.user});
        if let Some(u) = t.user_idx {
            let mut e = self.with_ids(u);
            let rel = |g| json!({"type": "memberOf", "targetRef": self.eref(g)});
            e["relations"] = Value::Array(self.targets(u, MEMBER_OF).map(rel).collect());
            user["entity"] = e;
        }
        let tname = &self.ents[t.template].name;
        let steps = STEPS[..t.steps].iter().map(|(id, name, action)| {
            let input = match *id {
                "fetch-base" => json!({"url": "./skeleton", "values": {"name": "${{ parameters.name }}", "owner": "${{ parameters.owner }}"}}),
                "publish" => json!({"allowedHosts": ["github.com"], "description": "This is ${{ parameters.name }}",
                    "repoUrl": "${{ parameters.repoUrl }}", "token": "${{ secrets.githubToken }}"}),
                "register" => json!({"repoContentsUrl": "${{ steps['publish'].output.repoContentsUrl }}", "catalogInfoPath": "/catalog-info.yaml"}),
                _ => json!({"message": "Created ${{ parameters.name }} for ${{ user.ref }} with token ${{ secrets.backstageToken }}"}),
            };
            json!({"id": id, "name": name, "action": action, "input": input})
        });
        json!({
            "apiVersion": "scaffolder.backstage.io/v1beta3",
            "steps": steps.collect::<Vec<_>>(),
            "output": {"links": [
                {"title": "Repository", "url": "${{ steps['publish'].output.remoteUrl }}"},
                {"title": "Open in catalog", "icon": "catalog", "entityRef": "${{ steps['register'].output.entityRef }}"}]},
            "parameters": {"name": t.name, "owner": t.owner, "repoUrl": format!("github.com?owner=acme&repo={}", t.name),
                "description": format!("{} for {}", title_case(&t.name), t.owner)},
            "user": user,
            "templateInfo": {"entityRef": self.eref(t.template),
                "baseUrl": format!("https://github.com/acme/software-templates/blob/main/{tname}/template.yaml"),
                "entity": {"metadata": self.with_ids(t.template)["metadata"]}},
        })
        .to_string()
    }

    /// The events of a task.
    fn task_events(&self, t: &Task) -> Events {
        let mut ev = Events {
            list: Vec::new(),
            at: t.created,
            rng: t.rng.clone(),
        };
        if t.status == OPEN {
            return ev;
        }
        ev.log(format!("Starting up task with {} steps", t.steps), "", "");
        let (name, repo) = (&t.name, format!("https://github.com/acme/{}", t.name));
        let (tname, (stop_id, stop_name, _)) = (&self.ents[t.template].name, STEPS[t.stop.min(3)]);
        let error = match stop_id {
            _ if t.status == CANCELLED => {
                let task = &t.id;
                format!("Step {stop_id} ({stop_name}) of task {task} has been cancelled.")
            }
            "fetch-base" => format!("Failed to fetch the skeleton of {tname}, 404 Not Found"),
            "publish" => format!("Repository acme/{name} already exists"),
            "register" => format!("Conflict: location url:{repo}/catalog-info.yaml exists"),
            _ => "Request failed with status code 502".to_string(),
        };
        for (s, &(id, step, _)) in STEPS[..t.steps].iter().enumerate() {
            if s > t.stop {
                if t.status == PROCESSING {
                    break;
                }
                let msg = format!("Skipping step {id} because a previous step failed");
                ev.log(msg, id, "skipped");
                continue;
            }
            ev.log(format!("Beginning step {step}"), id, "processing");
            for l in 0..t.logs[s] {
                let user = &t.user;
                let line = match (id, l % 3) {
                    ("fetch-base", 0) => format!("{INFO}Fetching template content from remote URL"),
                    ("fetch-base", 1) => format!("{INFO}Processing 14 template files/directories"),
                    ("fetch-base", _) => {
                        format!("{INFO}Writing file catalog-info.yaml with mode 33188.")
                    }
                    ("publish", 0) => {
                        format!("{INFO}Creating repository acme/{name} with token ***")
                    }
                    ("publish", 1) => {
                        format!("{WARN}Branch protection is not enabled for acme/{name}")
                    }
                    ("publish", _) => format!("{INFO}Pushing 15 files to {repo}"),
                    ("register", _) => {
                        format!("{INFO}Registering {repo}/blob/main/catalog-info.yaml")
                    }
                    _ => format!("{INFO}Created {name} for {user} with token ***"),
                };
                ev.log(line, id, "");
            }
            match t.status {
                _ if s < t.stop => ev.log(format!("Finished step {step}"), id, "completed"),
                PROCESSING => break,
                CANCELLED => {
                    let body = json!({"message": format!("Step {id} has been cancelled."), "stepId": id, "status": "cancelled"});
                    ev.push("cancelled", body);
                    ev.log(format!("Error: {error}{STACK}"), id, "failed");
                }
                _ => ev.log(format!("Error: {error}{STACK}"), id, "failed"),
            }
        }
        let entity_ref = format!("component:default/{name}");
        let links = json!([{"title": "Repository", "url": repo}, {"title": "Open in catalog", "icon": "catalog", "entityRef": entity_ref}]);
        match t.status {
            COMPLETED => ev.push("completion", json!({"message": "Run completed with status: completed", "output": {"links": links}})),
            PROCESSING => {}
            _ => ev.push("completion", json!({"message": "Run completed with status: failed", "error": {"name": "Error", "message": error}})),
        }
        ev
    }

    /// The secrets of the one task that still holds them: a fake user token (header.payload.
    /// signature, signed by nothing) and the initiator's credentials.
    fn task_secrets(&self, t: &mut Task) -> String {
        let ent = t
            .user_idx
            .map_or(vec![t.user.clone()], |u| self.ent_claims(u));
        let header = json!({"typ": "vnd.backstage.user", "alg": "ES256", "kid": kid(self.seed, 0)});
        let payload = json!({"iss": "http://localhost:7007/api/auth", "sub": t.user, "ent": ent, "aud": "backstage",
            "iat": t.created / SEC, "exp": t.created / SEC + 3600, "uip": t.rng.b64(48)});
        let enc = |v: &Value| b64(v.to_string().as_bytes(), true);
        let token = format!("{}.{}.{}", enc(&header), enc(&payload), t.rng.b64(64));
        let creds = json!({"$$type": "@backstage/BackstageCredentials",
            "principal": {"type": "user", "userEntityRef": t.user}, "token": token});
        let github = format!("ghp_{}", t.rng.b64(27));
        json!({"githubToken": github, "backstageToken": token, "__initiatorCredentials": creds.to_string()}).to_string()
    }
}

async fn write_scaffolder(
    pool: &PgPool,
    p: &Plan,
    o: &GenerateOptions,
    progress: Progress<'_>,
) -> Result<GenerateReport> {
    let cols = "id, spec, status, created_at, last_heartbeat_at, secrets, created_by";
    let mut tasks = Writer::new(pool, "tasks", cols);
    let mut events = Writer::new(pool, "task_events", "task_id, body, event_type, created_at");
    for i in 0..o.tasks {
        let mut t = p.task(o, i);
        let (spec, evs) = (p.task_spec(&t), p.task_events(&t).list);
        // Only the first task, which is open, still holds its secrets.
        let secrets = (i == 0).then(|| p.task_secrets(&mut t));
        let status = ["open", "processing", "completed", "failed", "failed"][t.status as usize];
        let (beat, created) = (evs.last().map(|e| ts(e.2)), ts(t.created));
        tasks.row(&[&t.id, &spec, &status, &created, &beat, &secrets, &t.user]);
        for (ty, body, at) in &evs {
            events.row(&[&t.id, body, ty, &ts(*at)]);
        }
        if tasks.full() || events.full() || i + 1 == o.tasks {
            tasks.flush().await?;
            events.flush().await?;
            progress("scaffolder", (i + 1) as u64, o.tasks as u64);
        }
    }
    let mut report = GenerateReport::default();
    (report.tasks, report.task_events) = (tasks.rows, events.rows);
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// Auth, search documents, notifications and the event bus.

async fn write_auth(pool: &PgPool, p: &Plan, progress: Progress<'_>) -> Result<GenerateReport> {
    let mut rng = Rng::new(p.seed, STREAM_AUTH);
    let mut keys = Writer::new(pool, "signing_keys", "kid, created_at, key");
    for k in 0..3 {
        let kid = kid(p.seed, k);
        let (x, y) = (rng.b64(32), rng.b64(32));
        let key = json!({"kty": "EC", "x": x, "y": y, "crv": "P-256", "kid": kid, "alg": "ES256"});
        let at = ts(p.epoch - k as i64 * 3 * HOUR - rng.range(0, HOUR));
        keys.row(&[&kid, &at, &key.to_string()]);
    }
    keys.flush().await?;
    let cols = "user_entity_ref, user_info, updated_at, created_at";
    let mut info = Writer::new(pool, "user_info", cols);
    let mut sessions = Writer::new(pool, "sessions", "sid, sess, expired");
    let cols = "id, user_entity_ref, oidc_client_id, token_hash, created_at, last_used_at";
    let mut offline = Writer::new(pool, "offline_sessions", cols);
    let users: Vec<usize> = p.healthy_users().collect();
    for (k, &u) in users.iter().enumerate() {
        let (uref, name) = (p.eref(u), &p.ents[u].name);
        let created = p.epoch - rng.range(30 * DAY, 300 * DAY);
        let updated = p.epoch - rng.range(0, 30 * DAY);
        let claims = json!({"claims": {"sub": uref, "ent": p.ent_claims(u)}}).to_string();
        info.row(&[&uref, &claims, &ts(updated), &ts(created)]);
        if rng.chance(0.3) {
            // connect-session-knex: the cookie and the passport user of a sign-in in progress.
            let expires = p.epoch + rng.range(-3 * DAY, DAY);
            let cookie = json!({"originalMaxAge": 86_400_000, "expires": iso(expires), "secure": true,
                "httpOnly": true, "path": "/", "sameSite": "lax"});
            let user = json!({"provider": "github", "id": rng.range(100_000, 99_999_999).to_string(),
                "username": name.replace('.', "-"), "displayName": title_case(name)});
            let sess = json!({"cookie": cookie, "passport": {"user": user}}).to_string();
            sessions.row(&[&rng.b64(24), &sess, &ts(expires)]);
        }
        for (client, share) in [("backstage-cli", 0.4), ("vscode-backstage", 0.15)] {
            if rng.chance(share) {
                let (salt, key) = (b64(&rng.bytes(16), false), b64(&rng.bytes(64), false));
                let hash = format!("{salt}.{key}");
                let created = ts(updated - rng.range(0, 20 * DAY));
                offline.row(&[&rng.uuid(), &uref, &client, &hash, &created, &ts(updated)]);
            }
        }
        if info.full() || sessions.full() || offline.full() || k + 1 == users.len() {
            tokio::try_join!(info.flush(), sessions.flush(), offline.flush())?;
            progress("auth", (k + 1) as u64, users.len() as u64);
        }
    }
    // A few OIDC authorization sessions (CLI sign-ins) and the codes of the approved ones.
    let cols = "id, client_id, user_entity_ref, redirect_uri, scope, state, response_type, \
                code_challenge, code_challenge_method, nonce, status, expires_at";
    let mut oauth = Writer::new(pool, "oauth_authorization_sessions", cols);
    let cols = "code, session_id, expires_at, used";
    let mut codes = Writer::new(pool, "oidc_authorization_codes", cols);
    let statuses = ["approved", "approved", "pending", "rejected", "expired"];
    for (k, status) in statuses.into_iter().enumerate() {
        let (id, at) = (rng.uuid(), p.epoch - rng.range(MIN, 3 * DAY) / SEC * SEC);
        let user = (status != "pending").then(|| users.get(k).map(|&u| p.eref(u)));
        let (state, nonce) = (format!("st-{}", rng.hex(12)), format!("n-{}", rng.hex(12)));
        let (uri, scope) = ("http://127.0.0.1:9999/callback", "openid offline_access");
        let (challenge, expires) = (rng.b64(32), ts(at + HOUR));
        let client = "backstage-cli";
        oauth.row(&[
            &id, &client, &user, &uri, &scope, &state, &"code", &challenge, &"S256", &nonce,
            &status, &expires,
        ]);
        if status == "approved" {
            codes.row(&[&rng.b64(32), &id, &ts(at + 10 * MIN), &"t"]);
        }
    }
    oauth.flush().await?;
    codes.flush().await?;
    Ok(GenerateReport {
        sessions: sessions.rows,
        offline_sessions: offline.rows,
        signing_keys: keys.rows,
        users: info.rows,
        ..Default::default()
    })
}

async fn write_documents(pool: &PgPool, p: &Plan, report: Progress<'_>) -> Result<GenerateReport> {
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

async fn write_notifications(
    t: &Targets,
    p: &Plan,
    o: &GenerateOptions,
    progress: Progress<'_>,
) -> Result<()> {
    let mut rng = Rng::new(p.seed, STREAM_NOTIFY);
    let users: Vec<String> = p.healthy_users().take(12).map(|u| p.eref(u)).collect();
    let subs: Vec<String> = (0..3).map(|_| format!("signals.{}", rng.uuid())).collect();
    // (notification id, recipient or none for a broadcast, created_at)
    let mut sent: Vec<(String, Option<&String>, i64)> = Vec::new();
    if let Some(pool) = &t.notifications {
        let cols = "id, \"user\", title, description, severity, link, origin, topic, created, read";
        let mut nt = Writer::new(pool, "notification", cols);
        for (k, user) in users.iter().enumerate() {
            let (id, at) = (rng.uuid(), p.epoch - rng.range(MIN, 14 * DAY));
            let (created, read) = (ts(at), rng.chance(0.5).then(|| ts(at + HOUR)));
            let (task, oncall) = (p.task(o, k), k % 3 == 2);
            let desc = (!oncall).then(|| format!("{} was created", task.name));
            let link = (!oncall).then(|| format!("/create/tasks/{}", task.id));
            let (title, sev, origin, topic) = match oncall {
                true => ("On-call handover", "low", "pagerduty", "oncall"),
                false => ("Task finished", "normal", "plugin:scaffolder", "scaffolder"),
            };
            nt.row(&[
                &id, user, &title, &desc, &sev, &link, &origin, &topic, &created, &read,
            ]);
            sent.push((id, Some(user), at));
        }
        let mut bc = Writer::new(pool, "broadcast", "id, title, severity, origin, created");
        let cols = "broadcast_id, \"user\", read, saved";
        let mut status = Writer::new(pool, "broadcast_user_status", cols);
        for (title, sev) in [
            ("Backstage maintenance on Sunday", "high"),
            ("New templates", "normal"),
        ] {
            let (id, at) = (rng.uuid(), p.epoch - rng.range(HOUR, 7 * DAY));
            bc.row(&[&id, &title, &sev, &"plugin:notifications", &ts(at)]);
            for user in users.iter().take(3) {
                status.row(&[&id, user, &ts(at + rng.range(MIN, DAY)), &NULL]);
            }
            sent.push((id, None, at));
        }
        let cols = "\"user\", channel, origin, enabled, topic, settings_key_hash";
        let mut settings = Writer::new(pool, "user_settings", cols);
        for (user, topic) in users
            .iter()
            .take(1)
            .flat_map(|u| [(u, None), (u, Some("oncall"))])
        {
            let key = format!("{user}|Web|plugin:scaffolder|{}", topic.unwrap_or(""));
            let (origin, hash) = ("plugin:scaffolder", sha256(&key));
            settings.row(&[user, &"Web", &origin, &"f", &topic, &hash]);
        }
        for w in [&mut nt, &mut bc, &mut status, &mut settings] {
            w.flush().await?;
        }
        progress("notifications", 1, 1);
    }
    if let Some(pool) = &t.events {
        let cols = "created_by, created_at, topic, data_json, notified_subscribers";
        let mut ev = Writer::new(pool, "event_bus_events", cols);
        sent.sort_by_key(|s| s.2);
        let (by, notified) = ("service=plugin:notifications", format!("{{{}}}", subs[2]));
        for (id, user, at) in &sent {
            let recipients = match user {
                Some(u) => json!({"type": "user", "entityRef": [u]}),
                None => json!({"type": "broadcast"}),
            };
            let message = json!({"action": "new_notification", "notification_id": id});
            let data = json!({"payload": {"recipients": recipients, "message": message, "channel": "notifications"}});
            let (at, data) = (ts(at + 30_000), data.to_string());
            ev.row(&[&by, &at, &"signals", &data, &notified]);
        }
        let cols = "id, created_by, created_at, updated_at, read_until, topics";
        let mut sub = Writer::new(pool, "event_bus_subscriptions", cols);
        for (k, id) in subs.iter().enumerate() {
            let at = ts(p.epoch - (30 - k as i64 * 10) * DAY);
            let read = [0, sent.len()][usize::from(k == 2)].to_string();
            sub.row(&[id, &"service=plugin:signals", &at, &at, &read, &"{signals}"]);
        }
        ev.flush().await?;
        sub.flush().await?;
        progress("events", 1, 1);
    }
    Ok(())
}
