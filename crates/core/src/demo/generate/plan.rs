//! The catalog graph the generator plans before writing anything: kinds, names, ids and edges
//! of every entity (the organisation's groups and users, domains, systems, resources, APIs,
//! templates, components and their locations), a few references to entities that do not
//! exist, and which entities are errored or orphaned. Everything else is derived from it when
//! written.

use std::collections::HashSet;

use super::encode::sha256;
use super::rng::{Rng, STREAM_ETAG, STREAM_PLAN};
use super::time::EPOCH;
use crate::demo::names::*;
use crate::error::{CoreError, Result};

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(super) enum Kind {
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

pub(super) const KIND_NAMES: [(&str, &str); 9] = [
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
    pub(super) fn title(self) -> &'static str {
        KIND_NAMES[self as usize].0
    }
    pub(super) fn lower(self) -> &'static str {
        KIND_NAMES[self as usize].1
    }
}

pub(super) const OWNED_BY: u8 = 0;
pub(super) const DEPENDS_ON: u8 = 1;
pub(super) const PART_OF: u8 = 2;
pub(super) const PROVIDES: u8 = 3;
pub(super) const CONSUMES: u8 = 4;
pub(super) const MEMBER_OF: u8 = 5;
pub(super) const CHILD_OF: u8 = 6;
/// Marks an edge target that indexes `Plan::missing` (an entity that does not exist).
pub(super) const MISSING: u32 = 1 << 31;

pub(super) const LIFECYCLES: [&str; 3] = ["production", "experimental", "deprecated"];
pub(super) const COMPONENT_TYPES: [&str; 3] = ["service", "website", "library"];
pub(super) const API_TYPES: [&str; 4] = ["openapi", "grpc", "graphql", "asyncapi"];
pub(super) const RESOURCE_TYPES: [&str; 5] =
    ["database", "s3-bucket", "queue", "cache", "kafka-topic"];
pub(super) const RESOURCE_SUFFIXES: [&str; 5] = ["db", "bucket", "queue", "cache", "topic"];
pub(super) const GROUP_TYPES: [&str; 3] = ["organization", "department", "team"];
pub(super) const LANGS: [&str; 8] = [
    "java", "go", "python", "nodejs", "react", "kotlin", "rust", "dotnet",
];

#[derive(Default)]
pub(super) struct Ent {
    pub(super) kind: Kind,
    pub(super) sub: u8,
    pub(super) life: u8,
    pub(super) loc: u32,
    pub(super) errored: bool,
    pub(super) orphan: bool,
    pub(super) techdocs: bool,
    pub(super) template: Option<u32>,
    pub(super) name: String,
    pub(super) id: String,
    /// Edges this entity states (relation type, target).
    pub(super) out: Vec<(u8, u32)>,
    /// Edges other entities state towards this one (relation type, source).
    pub(super) inc: Vec<(u8, u32)>,
}

pub(super) struct Plan {
    pub(super) seed: u64,
    /// The generated "now": [`super::GenerateOptions::epoch_us`].
    pub(super) epoch: i64,
    pub(super) ents: Vec<Ent>,
    pub(super) missing: Vec<(Kind, &'static str)>,
    pub(super) loc_targets: Vec<String>,
    pub(super) start: [usize; 10],
}

pub(super) type Span = std::ops::Range<usize>;

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
    pub(super) fn of(&self, k: Kind) -> Span {
        self.start[k as usize]..self.start[k as usize + 1]
    }
    pub(super) fn kn(&self, t: u32) -> (Kind, &str) {
        match self.missing.get((t & !MISSING) as usize) {
            Some(&(k, n)) if t & MISSING != 0 => (k, n),
            _ => (self.ents[t as usize].kind, &self.ents[t as usize].name),
        }
    }
    pub(super) fn eref(&self, t: impl TryInto<u32>) -> String {
        let (k, n) = self.kn(t.try_into().unwrap_or(0));
        format!("{}:default/{n}", k.lower())
    }
    /// The short reference a spec uses: the bare name when the kind is the field's default.
    pub(super) fn short(&self, t: u32, default: Option<Kind>) -> String {
        match self.kn(t) {
            (k, n) if Some(k) == default => n.to_string(),
            (k, n) => format!("{}:{n}", k.lower()),
        }
    }
    pub(super) fn targets(&self, i: usize, ty: u8) -> impl Iterator<Item = u32> + '_ {
        let out = &self.ents[i].out;
        out.iter().filter(move |e| e.0 == ty).map(|e| e.1)
    }
    pub(super) fn etag(&self, i: usize) -> String {
        Rng::new(self.seed, STREAM_ETAG + i as u64).hex(40)
    }
    /// A name of kind `k` that no entity has, if the word lists know one.
    pub(super) fn missing_of(&self, rng: &mut Rng, k: Kind) -> Option<u32> {
        let of_kind = |m: &usize| self.missing[*m].0 == k;
        let idx: Vec<usize> = (0..self.missing.len()).filter(of_kind).collect();
        idx.get(rng.below(idx.len())).map(|&m| m as u32 | MISSING)
    }

    /// The graph of `n` entities for `seed` (the epoch is the default one until set).
    pub(super) fn build(seed: u64, n: usize) -> Result<Plan> {
        if n < 20 {
            return Err(CoreError::config("the demo needs at least 20 entities"));
        }
        let start = Self::starts(n);
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
        b.locations();
        let (depts, teams) = b.groups();
        b.users(&teams);
        b.domains_and_systems(&depts, &teams);
        b.resources_and_apis(&teams);
        b.templates(&teams);
        let by_type = b.components(&teams);
        b.providers(&by_type);
        Ok(b.finish())
    }

    /// Where each kind's entities start, in the order of [`Kind`] (and where they end).
    fn starts(n: usize) -> [usize; 10] {
        // Locations, groups, users, domains, systems, resources, APIs, templates, components.
        let mut counts = [4, 3, 25, 1, 5, 10, 15, 2, 0].map(|p| (n * p / 100).max(1));
        counts[1] = counts[1].max(3);
        counts[8] = n - counts[..8].iter().sum::<usize>();
        let mut start = [0usize; 10];
        for k in 0..9 {
            start[k + 1] = start[k] + counts[k];
        }
        start
    }
}

/// The steps of [`Plan::build`], in the order they draw from the plan's generator.
impl Builder {
    fn span(&self, k: Kind) -> Span {
        self.p.of(k)
    }

    fn locations(&mut self) {
        for _ in 0..self.span(Kind::Location).len() {
            let repo = format!("{}-{}", self.w(BUSINESS), self.w(NOUNS));
            let repo = self.unique("repo", repo);
            let target = format!("https://github.com/acme/{repo}/blob/main/catalog-info.yaml");
            let name = format!("generated-{}", &sha256(&format!("url:{target}"))[..40]);
            self.p.loc_targets.push(target);
            self.add(Kind::Location, name, 0);
        }
    }

    /// Groups: one organisation, departments under it, teams under departments or teams.
    /// Returns the departments and the teams.
    fn groups(&mut self) -> (Span, Span) {
        let g = self.span(Kind::Group).len();
        let root = self.add(Kind::Group, "acme".into(), 0);
        let depts = root + 1..root + 1 + ((g - 1) / 12).clamp(1, g - 2);
        for _ in depts.clone() {
            let name = self.w(DEPARTMENTS).to_string();
            let i = self.add(Kind::Group, name, 1);
            self.edge(i, CHILD_OF, &(root..root + 1), 1.0);
        }
        while self.p.ents.len() < self.span(Kind::Group).end {
            let name = format!("team-{}-{}", self.w(TEAM_ADJECTIVES), self.w(TEAM_ANIMALS));
            let i = self.add(Kind::Group, name, 2);
            let sub_team = i > depts.end && self.rng.chance(0.15);
            let parents = [depts.clone(), depts.end..i][usize::from(sub_team)].clone();
            self.edge(i, CHILD_OF, &parents, 1.0);
        }
        let teams = depts.end..self.span(Kind::Group).end;
        (depts, teams)
    }

    fn users(&mut self, teams: &Span) {
        for _ in self.span(Kind::User) {
            let name = format!("{}.{}", self.w(FIRST_NAMES), self.w(LAST_NAMES));
            let i = self.add(Kind::User, name, 0);
            self.edge(i, MEMBER_OF, teams, 1.0);
            self.edge(i, MEMBER_OF, teams, 0.25);
        }
    }

    fn domains_and_systems(&mut self, depts: &Span, teams: &Span) {
        for _ in self.span(Kind::Domain) {
            let name = self.w(BUSINESS).to_string();
            let i = self.add(Kind::Domain, name, 0);
            let owners = [depts, teams][self.rng.below(2)].clone();
            self.edge(i, OWNED_BY, &owners, 1.0);
        }
        for _ in self.span(Kind::System) {
            let name = format!("{}-{}", self.w(BUSINESS), self.w(SYSTEM_SUFFIXES));
            let i = self.add(Kind::System, name, 0);
            self.edge(i, OWNED_BY, teams, 1.0);
            self.edge(i, PART_OF, &self.span(Kind::Domain), 1.0);
        }
    }

    fn resources_and_apis(&mut self, teams: &Span) {
        for _ in self.span(Kind::Resource) {
            let sub = self.rng.below(RESOURCE_TYPES.len());
            let (area, noun, suffix) = (self.w(BUSINESS), self.w(NOUNS), RESOURCE_SUFFIXES[sub]);
            let name = format!("{area}-{noun}-{suffix}");
            let i = self.add(Kind::Resource, name, sub);
            self.edge(i, OWNED_BY, teams, 1.0);
            self.edge(i, PART_OF, &self.span(Kind::System), 0.85);
            self.edge(i, DEPENDS_ON, &(self.span(Kind::Resource).start..i), 0.1);
        }
        for _ in self.span(Kind::Api) {
            let sub = self.rng.below(API_TYPES.len());
            let name = format!("{}-{}-api", self.w(BUSINESS), self.w(NOUNS));
            let i = self.add(Kind::Api, name, sub);
            self.p.ents[i].life = [0, 0, 0, 1, 2][self.rng.below(5)];
            self.edge(i, OWNED_BY, teams, 1.0);
            self.edge(i, PART_OF, &self.span(Kind::System), 0.9);
        }
    }

    fn templates(&mut self, teams: &Span) {
        for _ in self.span(Kind::Template) {
            let sub = self.rng.below(3);
            let name = format!("{}-{}-template", self.w(&LANGS), COMPONENT_TYPES[sub]);
            let i = self.add(Kind::Template, name, sub);
            self.edge(i, OWNED_BY, teams, 1.0);
        }
    }

    /// Components; returns them by type (service, website, library).
    fn components(&mut self, teams: &Span) -> [Vec<usize>; 3] {
        let mut by_type: [Vec<usize>; 3] = Default::default();
        for _ in self.span(Kind::Component) {
            let sub = [0, 0, 0, 0, 0, 0, 1, 1, 2, 2][self.rng.below(10)];
            let suffix = self.w([SERVICE_SUFFIXES, WEBSITE_SUFFIXES, LIBRARY_SUFFIXES][sub]);
            let name = format!("{}-{}-{suffix}", self.w(BUSINESS), self.w(NOUNS));
            let i = self.add(Kind::Component, name, sub);
            self.p.ents[i].life = [0, 0, 0, 0, 1, 1, 2][self.rng.below(7)];
            self.p.ents[i].techdocs = self.rng.chance(0.3);
            if self.rng.chance(0.2) {
                self.p.ents[i].template = Some(self.any(&self.span(Kind::Template)) as u32);
            }
            let users = self.span(Kind::User);
            let owners = [teams, &users][usize::from(self.rng.chance(0.03))].clone();
            self.edge(i, OWNED_BY, &owners, 1.0);
            self.edge(i, PART_OF, &self.span(Kind::System), 0.9);
            for _ in 0..self.rng.below(6) {
                self.edge(i, CONSUMES, &self.span(Kind::Api), 1.0);
            }
            for _ in 0..self.rng.below(5) {
                self.edge(i, DEPENDS_ON, &self.span(Kind::Resource), 1.0);
            }
            if let Some(&l) = by_type[2].get(self.rng.below(by_type[2].len())) {
                self.edge(i, DEPENDS_ON, &(l..l + 1), 0.5);
            }
            by_type[sub].push(i);
        }
        by_type
    }

    /// Each API provided by a service, most of the time.
    fn providers(&mut self, by_type: &[Vec<usize>; 3]) {
        for a in self.span(Kind::Api) {
            let k = self.rng.below(by_type[0].len());
            let c = by_type[0]
                .get(k)
                .copied()
                .unwrap_or(self.span(Kind::Component).start);
            self.edge(c, PROVIDES, &(a..a + 1), 0.9);
        }
    }

    /// At least one reference to an entity that is gone, one errored entity and one orphan;
    /// then every edge recorded at its target too.
    fn finish(self) -> Plan {
        let Builder { mut p, mut rng, .. } = self;
        let c = p.of(Kind::Component).start;
        let gone = p.missing_of(&mut rng, Kind::Resource).unwrap_or(MISSING);
        if !p.ents[c + 1].out.contains(&(DEPENDS_ON, gone)) {
            p.ents[c + 1].out.push((DEPENDS_ON, gone));
        }
        let first_group = p.start[1];
        for e in &mut p.ents[first_group..] {
            e.errored = rng.chance(0.02);
            e.orphan = !e.errored && rng.chance(0.01);
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
        p
    }
}
