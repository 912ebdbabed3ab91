//! The scaffolder's tables: tasks in every status (each with the spec its template gave it),
//! their events (step logs, cancellations, completions with their output or error), and the
//! one open task that still holds its secrets.

use serde_json::{Value, json};
use sqlx::postgres::PgPool;

use super::auth::kid;
use super::copy::Writer;
use super::encode::{b64, title_case};
use super::entity::STEPS;
use super::options::{GenerateOptions, GenerateReport, Progress};
use super::plan::{Kind, MEMBER_OF, Plan};
use super::rng::{Rng, STREAM_TASK};
use super::time::{DAY, HOUR, MIN, SEC, ts};
use crate::demo::names::{BUSINESS, LIBRARY_SUFFIXES, NOUNS, SERVICE_SUFFIXES, WEBSITE_SUFFIXES};
use crate::error::Result;

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

/// A task as planned; its spec, events and secrets are derived from it.
pub(super) struct Task {
    pub(super) id: String,
    status: u8,
    user: String,
    user_idx: Option<usize>,
    template: usize,
    created: i64,
    pub(super) name: String,
    owner: String,
    steps: usize,
    /// The step that fails, is cancelled or is running (`steps` when none).
    stop: usize,
    logs: Vec<usize>,
    rng: Rng,
}

impl Plan {
    /// Task `i`: its status, who ran which template when, and what it made.
    pub(super) fn task(&self, o: &GenerateOptions, i: usize) -> Task {
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
        let made = self.made(&mut rng, status);
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

    /// What a task made, as (component, template). Most completed tasks created a component
    /// that is in the catalog now, one whose `backstage.io/source-template` names the task's
    /// template; the rest made something that was never registered.
    fn made(&self, rng: &mut Rng, status: u8) -> Option<(usize, usize)> {
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
        made
    }

    /// The spec a task runs: its template's steps, the parameters, the user and the template.
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
        let repo = format!("https://github.com/acme/{}", t.name);
        let error = self.task_error(t, &repo);
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
                ev.log(step_line(t, id, l, &repo), id, "");
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
        let entity_ref = format!("component:default/{}", t.name);
        let links = json!([{"title": "Repository", "url": repo}, {"title": "Open in catalog", "icon": "catalog", "entityRef": entity_ref}]);
        match t.status {
            COMPLETED => ev.push("completion", json!({"message": "Run completed with status: completed", "output": {"links": links}})),
            PROCESSING => {}
            _ => ev.push("completion", json!({"message": "Run completed with status: failed", "error": {"name": "Error", "message": error}})),
        }
        ev
    }

    /// The error of a task that did not complete, at the step it stopped at.
    fn task_error(&self, t: &Task, repo: &str) -> String {
        let name = &t.name;
        let (tname, (stop_id, stop_name, _)) = (&self.ents[t.template].name, STEPS[t.stop.min(3)]);
        match stop_id {
            _ if t.status == CANCELLED => {
                let task = &t.id;
                format!("Step {stop_id} ({stop_name}) of task {task} has been cancelled.")
            }
            "fetch-base" => format!("Failed to fetch the skeleton of {tname}, 404 Not Found"),
            "publish" => format!("Repository acme/{name} already exists"),
            "register" => format!("Conflict: location url:{repo}/catalog-info.yaml exists"),
            _ => "Request failed with status code 502".to_string(),
        }
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

/// The `l`-th log line of step `id` of task `t`.
fn step_line(t: &Task, id: &str, l: usize, repo: &str) -> String {
    let (name, user) = (&t.name, &t.user);
    match (id, l % 3) {
        ("fetch-base", 0) => format!("{INFO}Fetching template content from remote URL"),
        ("fetch-base", 1) => format!("{INFO}Processing 14 template files/directories"),
        ("fetch-base", _) => format!("{INFO}Writing file catalog-info.yaml with mode 33188."),
        ("publish", 0) => format!("{INFO}Creating repository acme/{name} with token ***"),
        ("publish", 1) => format!("{WARN}Branch protection is not enabled for acme/{name}"),
        ("publish", _) => format!("{INFO}Pushing 15 files to {repo}"),
        ("register", _) => format!("{INFO}Registering {repo}/blob/main/catalog-info.yaml"),
        _ => format!("{INFO}Created {name} for {user} with token ***"),
    }
}

/// Fills the scaffolder's tables.
pub(super) async fn write_scaffolder(
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
