//! The notifications backend's tables (notifications to users, broadcasts and who read them,
//! user settings) and the event bus that carried them (events and subscriptions).

use serde_json::json;
use sqlx::postgres::PgPool;

use super::copy::{NULL, Writer};
use super::encode::sha256;
use super::options::{GenerateOptions, Progress, Targets};
use super::plan::Plan;
use super::rng::{Rng, STREAM_NOTIFY};
use super::time::{DAY, HOUR, MIN, ts};
use crate::error::Result;

/// A notification as sent: its id, its recipient (none for a broadcast) and when.
type Sent<'a> = (String, Option<&'a String>, i64);

/// Fills the notifications and the event bus, each when its pool is there.
pub(super) async fn write_notifications(
    t: &Targets,
    p: &Plan,
    o: &GenerateOptions,
    progress: Progress<'_>,
) -> Result<()> {
    let mut rng = Rng::new(p.seed, STREAM_NOTIFY);
    let users: Vec<String> = p.healthy_users().take(12).map(|u| p.eref(u)).collect();
    let subs: Vec<String> = (0..3).map(|_| format!("signals.{}", rng.uuid())).collect();
    let mut sent: Vec<Sent<'_>> = Vec::new();
    if let Some(pool) = &t.notifications {
        sent = write_sent(pool, p, o, &mut rng, &users).await?;
        progress("notifications", 1, 1);
    }
    if let Some(pool) = &t.events {
        write_event_bus(pool, p, &subs, &mut sent).await?;
        progress("events", 1, 1);
    }
    Ok(())
}

/// Notifications to the first users (finished tasks, on-call handovers), two broadcasts with
/// who read them, and one user's settings; returns what was sent.
async fn write_sent<'a>(
    pool: &PgPool,
    p: &Plan,
    o: &GenerateOptions,
    rng: &mut Rng,
    users: &'a [String],
) -> Result<Vec<Sent<'a>>> {
    let mut sent = Vec::new();
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
    Ok(sent)
}

/// The event bus: one signal per notification sent (in time order), and three subscriptions,
/// the last one caught up.
async fn write_event_bus(
    pool: &PgPool,
    p: &Plan,
    subs: &[String],
    sent: &mut [Sent<'_>],
) -> Result<()> {
    let cols = "created_by, created_at, topic, data_json, notified_subscribers";
    let mut ev = Writer::new(pool, "event_bus_events", cols);
    sent.sort_by_key(|s| s.2);
    let (by, notified) = ("service=plugin:notifications", format!("{{{}}}", subs[2]));
    for (id, user, at) in sent.iter() {
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
    Ok(())
}
