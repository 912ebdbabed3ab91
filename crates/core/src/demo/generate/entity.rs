//! The organisation and catalog entities as JSON: an entity as Backstage's processing leaves
//! it (metadata, annotations, spec by kind), with its ids, the relations stitched into it, the
//! errors of one whose processing fails, and who its users are (the healthy ones, their
//! ownership claims).

use serde_json::{Value, json};

use super::encode::title_case;
use super::plan::{
    API_TYPES, CHILD_OF, COMPONENT_TYPES, CONSUMES, DEPENDS_ON, GROUP_TYPES, Kind, LIFECYCLES,
    MEMBER_OF, OWNED_BY, PART_OF, PROVIDES, Plan, RESOURCE_TYPES,
};
use super::rng::{Rng, STREAM_ENTITY};
use crate::demo::names::{DESCRIPTION_VERBS, TAGS};
/// Relation types: (the direction the originating entity states, the reverse).
pub(super) use crate::refs::RELATION_PAIRS as RELS;

/// The steps of every template (id, name, action), which its tasks run.
pub(super) const STEPS: [(&str, &str, &str); 4] = [
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

/// Components, APIs and resources: the kinds with tags, a system and dependencies.
fn is_software(k: Kind) -> bool {
    matches!(k, Kind::Component | Kind::Api | Kind::Resource)
}

impl Plan {
    /// The entity as the processing loop leaves it (namespace set, processors' annotations).
    pub(super) fn processed(&self, i: usize) -> Value {
        let e = &self.ents[i];
        let mut r = Rng::new(self.seed, STREAM_ENTITY + i as u64);
        let (mut ann, mut meta) = self.metadata(i, &mut r);
        let mut spec = self.spec(i, &mut r, &mut ann, &mut meta);
        if is_software(e.kind) {
            if let Some(s) = self.list(i, PART_OF, Some(Kind::System)).pop() {
                spec["system"] = json!(s);
            }
            put_list(&mut spec, "dependsOn", self.list(i, DEPENDS_ON, None));
        }
        meta["annotations"] = ann;
        let api_version = match e.kind {
            Kind::Template => "scaffolder.backstage.io/v1beta3",
            _ => "backstage.io/v1alpha1",
        };
        json!({"apiVersion": api_version, "kind": e.kind.title(), "metadata": meta, "spec": spec})
    }

    /// The targets of the edges of type `ty` that entity `i` states, as a spec names them.
    fn list(&self, i: usize, ty: u8, k: Option<Kind>) -> Vec<String> {
        self.targets(i, ty).map(|t| self.short(t, k)).collect()
    }

    /// The annotations and the metadata of every kind: where the entity was read from, its
    /// description and tags.
    fn metadata(&self, i: usize, r: &mut Rng) -> (Value, Value) {
        let e = &self.ents[i];
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
        if is_software(e.kind) {
            let mut tags: Vec<String> = (0..r.below(4)).map(|_| r.pick(TAGS).into()).collect();
            tags.sort_unstable();
            tags.dedup();
            put_list(&mut meta, "tags", tags);
        }
        (ann, meta)
    }

    /// The spec of the entity's kind; components and templates add annotations and metadata.
    fn spec(&self, i: usize, r: &mut Rng, ann: &mut Value, meta: &mut Value) -> Value {
        let e = &self.ents[i];
        let target = &self.loc_targets[e.loc as usize];
        let words = e.name.replace(['-', '.'], " ");
        let owner = self.list(i, OWNED_BY, Some(Kind::Group)).pop();
        let part_of = |k| self.list(i, PART_OF, Some(k)).pop();
        let profile = json!({"displayName": title_case(&e.name), "email": format!("{}@acme.example", e.name)});
        let (life, sub) = (LIFECYCLES[e.life as usize], e.sub as usize);
        match e.kind {
            Kind::Location => json!({"type": "url", "target": target, "presence": "required"}),
            Kind::Group => {
                let children: Vec<&str> = (e.inc.iter().filter(|(t, _)| *t == CHILD_OF))
                    .map(|&(_, s)| self.ents[s as usize].name.as_str())
                    .collect();
                let mut spec =
                    json!({"type": GROUP_TYPES[sub], "profile": profile, "children": children});
                if let Some(parent) = self.list(i, CHILD_OF, Some(Kind::Group)).pop() {
                    spec["parent"] = json!(parent);
                }
                spec
            }
            Kind::User => {
                json!({"profile": profile, "memberOf": self.list(i, MEMBER_OF, Some(Kind::Group))})
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
            Kind::Component => self.component_spec(i, r, ann, meta, owner),
            Kind::Template => self.template_spec(i, meta, owner),
        }
    }

    fn component_spec(
        &self,
        i: usize,
        r: &mut Rng,
        ann: &mut Value,
        meta: &mut Value,
        owner: Option<String>,
    ) -> Value {
        let e = &self.ents[i];
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
        let (life, sub) = (LIFECYCLES[e.life as usize], e.sub as usize);
        let mut spec = json!({"type": COMPONENT_TYPES[sub], "lifecycle": life, "owner": owner});
        put_list(
            &mut spec,
            "providesApis",
            self.list(i, PROVIDES, Some(Kind::Api)),
        );
        put_list(
            &mut spec,
            "consumesApis",
            self.list(i, CONSUMES, Some(Kind::Api)),
        );
        spec
    }

    fn template_spec(&self, i: usize, meta: &mut Value, owner: Option<String>) -> Value {
        let e = &self.ents[i];
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
        let sub = e.sub as usize;
        json!({"owner": owner, "type": COMPONENT_TYPES[sub], "parameters": parameters, "steps": steps})
    }

    /// The processed entity with its uid and etag.
    pub(super) fn with_ids(&self, i: usize) -> Value {
        let mut v = self.processed(i);
        v["metadata"]["uid"] = json!(self.ents[i].id);
        v["metadata"]["etag"] = json!(self.etag(i));
        v
    }

    /// The relations stitched into an entity: those it states, and the reverse of those stated
    /// towards it by entities that are not errored.
    pub(super) fn relations(&self, i: usize) -> Vec<(&'static str, String)> {
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
    pub(super) fn error_json(&self, i: usize, unprocessed: &mut Value) -> String {
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

    /// The users whose processing did not fail.
    pub(super) fn healthy_users(&self) -> impl Iterator<Item = usize> + '_ {
        self.of(Kind::User).filter(|&u| !self.ents[u].errored)
    }

    /// The ownership claims of a user token: the user and its groups.
    pub(super) fn ent_claims(&self, u: usize) -> Vec<String> {
        let groups = self.targets(u, MEMBER_OF).map(|g| self.eref(g));
        std::iter::once(self.eref(u)).chain(groups).collect()
    }
}
