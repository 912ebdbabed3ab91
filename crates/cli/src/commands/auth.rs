//! `bsi sessions [--user REF] [--kind KIND]` and `bsi jwt TOKEN`: sign-in state. Token hashes,
//! session ids and JWT signatures are never printed; `bsi jwt` shows a token's header and
//! claims only.

use std::io::{BufRead, IsTerminal};

use bsi_core::auth::{
    Auth, AuthQuery, BrowserSession, OAuthStatusGroup, OfflineSession, SessionKind, SigningKey,
    UserInfo, decode_token,
};
use bsi_core::{CoreError, Result};
use serde_json::json;

use crate::global::Global;
use crate::{context, output};

#[derive(Debug, clap::Subcommand)]
pub enum AuthCommand {
    /// Sign-in state: refresh-token (offline) sessions, browser sessions, OAuth authorization
    /// sessions, signing keys and user claims, each user linked to the catalog.
    Sessions(SessionsArgs),
    /// Decode a JWT: its header and claims, never its signature (nothing is verified).
    Jwt(JwtArgs),
}

#[derive(Debug, clap::Args)]
pub struct SessionsArgs {
    /// Only this user, or every member of this group (group:default/NAME).
    #[arg(long, value_name = "REF")]
    pub user: Option<String>,
    /// offline, browser, oauth, keys or users (default: all of them).
    #[arg(long)]
    pub kind: Option<String>,
    /// Rows per list (1-1000; default 100 with --kind, else 20).
    #[arg(long)]
    pub limit: Option<usize>,
    /// The next_cursor printed by the previous page (with --kind).
    #[arg(long, requires = "kind")]
    pub cursor: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct JwtArgs {
    /// The token (a `Bearer ` prefix is fine), or `-` to read it from standard input so that it
    /// stays out of the shell history.
    pub token: String,
}

pub async fn run(global: &Global, cmd: AuthCommand) -> Result<()> {
    match cmd {
        AuthCommand::Jwt(a) => jwt(global, a),
        AuthCommand::Sessions(a) => {
            // Validate the kind before connecting: `refresh_tokens` gets its answer offline.
            let kind = a.kind.as_deref().map(SessionKind::parse).transpose()?;
            let conns = context::resolve(global, None).await?.connections();
            let result = async {
                let auth = Auth::open(&conns).await?;
                sessions(global, &auth, kind, a).await
            }
            .await;
            conns.close().await;
            result
        }
    }
}

fn jwt(global: &Global, a: JwtArgs) -> Result<()> {
    let token = if a.token == "-" {
        if std::io::stdin().is_terminal() {
            errln!("Paste the token and press Enter:");
        }
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
            CoreError::config(format!("cannot read the token from standard input: {e}"))
        })?;
        line
    } else {
        a.token
    };
    let t = decode_token(&token)?;
    if global.json {
        return output::json(&t);
    }
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
    outln!("Header:\n{}", pretty(&t.decoded.header));
    outln!("Claims:\n{}", pretty(&t.decoded.claims));
    outln!(
        "Signature: {} (never shown; not verified)",
        t.decoded.signature
    );
    if let Some(iat) = &t.issued_at {
        outln!("Issued:    {iat}");
    }
    if let Some(exp) = &t.expires_at {
        outln!(
            "Expires:   {exp}{}",
            if t.expired == Some(true) {
                " (EXPIRED)"
            } else {
                ""
            }
        );
    }
    if t.backstage_user_token {
        outln!("A Backstage user token (typ vnd.backstage.user).");
    }
    Ok(())
}

fn catalog(c: Option<bool>) -> String {
    match c {
        Some(true) => "yes".into(),
        Some(false) => "MISSING".into(),
        None => "?".into(),
    }
}

fn short_time(iso: &str) -> String {
    iso.get(..19)
        .map(|s| s.replace('T', " "))
        .unwrap_or_else(|| iso.to_string())
}

fn age(secs: i64) -> String {
    let s = secs.max(0);
    if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 86_400 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86_400)
    }
}

async fn sessions(
    global: &Global,
    auth: &Auth,
    kind: Option<SessionKind>,
    a: SessionsArgs,
) -> Result<()> {
    if let Err(why) = auth.catalog_status() {
        errln!("note: users cannot be checked against the catalog: {why}");
    }
    // A user or group, all kinds: everything about them.
    if let (Some(user), None) = (&a.user, kind) {
        let s = auth.sessions_for(user).await?;
        if global.json {
            return output::json(&s);
        }
        outln!("{} {} · {} user(s)", s.kind, s.subject, s.users.len());
        if s.kind == "group" {
            output::table(
                &["member", "in catalog"],
                s.users
                    .iter()
                    .map(|u| vec![u.entity_ref.clone(), catalog(u.in_catalog)])
                    .collect(),
            );
        }
        section(
            "Offline sessions (refresh tokens)",
            s.offline.is_empty(),
            || offline_table(&s.offline),
        );
        section("Browser sessions", s.browser.is_empty(), || {
            browser_table(&s.browser)
        });
        section("OAuth authorization sessions", s.oauth.is_empty(), || {
            let g = OAuthStatusGroup {
                status: None,
                count: s.oauth.len() as i64,
                sessions: s.oauth.clone(),
            };
            oauth_table(std::slice::from_ref(&g));
        });
        section("User info", s.user_info.is_empty(), || {
            users_table(&s.user_info)
        });
        for n in &s.notes {
            errln!("note: {n}");
        }
        return Ok(());
    }
    let users = a.user.as_ref().map(|u| vec![u.clone()]);
    let q = |default: usize| AuthQuery {
        users: users.clone(),
        limit: Some(a.limit.unwrap_or(default)),
        cursor: a.cursor.clone(),
    };
    match kind {
        Some(k) => {
            if users.is_some() && k == SessionKind::Keys {
                return Err(CoreError::config(
                    "signing keys belong to no user: drop --user for --kind keys",
                ));
            }
            let q = q(100);
            let next = match k {
                SessionKind::Offline => {
                    let p = auth.offline_sessions(&q).await?;
                    if global.json {
                        return output::json(&p);
                    }
                    offline_table(&p.items);
                    p.next_cursor
                }
                SessionKind::Browser => {
                    let p = auth.browser_sessions(&q).await?;
                    if global.json {
                        return output::json(&p);
                    }
                    browser_table(&p.items);
                    p.next_cursor
                }
                SessionKind::Oauth => {
                    let g = auth.oauth_sessions(&q).await?;
                    if global.json {
                        return output::json(&g);
                    }
                    oauth_table(&g);
                    None
                }
                SessionKind::Keys => {
                    let k = auth.signing_keys().await?;
                    if global.json {
                        return output::json(&k);
                    }
                    keys_table(&k);
                    None
                }
                SessionKind::Users => {
                    let p = auth.user_info(&q).await?;
                    if global.json {
                        return output::json(&p);
                    }
                    users_table(&p.items);
                    p.next_cursor
                }
            };
            if let Some(c) = next {
                outln!(
                    "\nMore: {}",
                    global.rerun_line(&["--cursor"], &["--cursor", &c])
                );
            }
            Ok(())
        }
        None => {
            // An overview: the first rows of every list; a missing table is a note, not an error.
            let q = q(20);
            use bsi_core::schema::or_note as soft;
            let mut notes = Vec::new();
            let summary = soft(auth.summary().await, &mut notes)?;
            let offline = soft(auth.offline_sessions(&q).await, &mut notes)?;
            let browser = soft(auth.browser_sessions(&q).await, &mut notes)?;
            let oauth = soft(auth.oauth_sessions(&q).await, &mut notes)?;
            let keys = soft(auth.signing_keys().await, &mut notes)?;
            let users = soft(auth.user_info(&q).await, &mut notes)?;
            if global.json {
                return output::json(&json!({
                    "summary": summary,
                    "offline": offline, "browser": browser, "oauth": oauth,
                    "keys": keys, "users": users, "notes": notes,
                }));
            }
            if let Some(s) = &summary {
                for l in &s.lines {
                    outln!("{l}");
                }
            }
            if let Some(p) = &offline {
                section(
                    "Offline sessions (refresh tokens; more with --kind offline)",
                    p.items.is_empty(),
                    || offline_table(&p.items),
                );
            }
            if let Some(p) = &browser {
                section(
                    "Browser sessions (more with --kind browser)",
                    p.items.is_empty(),
                    || browser_table(&p.items),
                );
            }
            if let Some(g) = &oauth {
                section("OAuth authorization sessions", g.is_empty(), || {
                    oauth_table(g)
                });
            }
            if let Some(k) = &keys {
                section("Signing keys", k.is_empty(), || keys_table(k));
            }
            if let Some(p) = &users {
                section(
                    "User info (more with --kind users)",
                    p.items.is_empty(),
                    || users_table(&p.items),
                );
            }
            for n in &notes {
                errln!("note: {n}");
            }
            Ok(())
        }
    }
}

fn section(title: &str, empty: bool, print: impl FnOnce()) {
    outln!("\n{title}:");
    if empty {
        outln!("  (none)");
    } else {
        print();
    }
}

fn offline_table(items: &[OfflineSession]) {
    output::table(
        &[
            "id",
            "user",
            "client",
            "created",
            "last used",
            "age",
            "in catalog",
        ],
        items
            .iter()
            .map(|s| {
                vec![
                    s.id.clone(),
                    s.user_entity_ref.clone(),
                    s.oidc_client_id.clone().unwrap_or_else(|| "-".into()),
                    short_time(&s.created_at),
                    short_time(&s.last_used_at),
                    age(s.age_seconds),
                    catalog(s.in_catalog),
                ]
            })
            .collect(),
    );
}

fn browser_table(items: &[BrowserSession]) {
    output::table(
        &[
            "sid",
            "user",
            "provider",
            "expires",
            "cookie expires",
            "in catalog",
        ],
        items
            .iter()
            .map(|s| {
                vec![
                    s.sid.clone(),
                    match (&s.user, &s.user_ref) {
                        (Some(u), Some(r)) if u != r => format!("{u} ({r})"),
                        (_, Some(r)) => r.clone(),
                        (Some(u), None) => u.clone(),
                        (None, None) => "-".into(),
                    },
                    s.provider.clone().unwrap_or_else(|| "-".into()),
                    format!(
                        "{}{}",
                        short_time(&s.expires_at),
                        if s.is_expired { " (expired)" } else { "" }
                    ),
                    s.cookie_expires
                        .as_deref()
                        .map(short_time)
                        .unwrap_or_else(|| "-".into()),
                    catalog(s.in_catalog),
                ]
            })
            .collect(),
    );
}

fn oauth_table(groups: &[OAuthStatusGroup]) {
    for g in groups {
        if let Some(st) = &g.status {
            outln!("{st}: {}", g.count);
        }
        output::table(
            &[
                "id",
                "client",
                "user",
                "status",
                "scope",
                "expires",
                "codes used",
            ],
            g.sessions
                .iter()
                .map(|s| {
                    vec![
                        s.id.clone(),
                        s.client_id.clone(),
                        s.user_entity_ref.clone().unwrap_or_else(|| "-".into()),
                        s.status.clone().unwrap_or_else(|| "-".into()),
                        s.scope.clone().unwrap_or_default(),
                        format!(
                            "{}{}",
                            short_time(&s.expires_at),
                            if s.expired { " (expired)" } else { "" }
                        ),
                        match (s.codes_used, s.codes) {
                            (Some(u), Some(n)) => format!("{u}/{n}"),
                            _ => "-".into(),
                        },
                    ]
                })
                .collect(),
        );
    }
}

fn keys_table(keys: &[SigningKey]) {
    output::table(
        &["kid", "alg", "kty", "crv", "created", "age"],
        keys.iter()
            .map(|k| {
                vec![
                    format!(
                        "{}{}",
                        k.kid,
                        if k.private_material {
                            " (HAS PRIVATE PARTS, not shown)"
                        } else {
                            ""
                        }
                    ),
                    k.alg.clone().unwrap_or_default(),
                    k.kty.clone().unwrap_or_default(),
                    k.crv.clone().unwrap_or_default(),
                    short_time(&k.created_at),
                    age(k.age_seconds),
                ]
            })
            .collect(),
    );
}

fn users_table(users: &[UserInfo]) {
    output::table(
        &["user", "ownership (ent)", "updated", "in catalog"],
        users
            .iter()
            .map(|u| {
                let ent = u.claims["claims"]["ent"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                vec![
                    u.user_entity_ref.clone(),
                    ent,
                    short_time(&u.updated_at),
                    catalog(u.in_catalog),
                ]
            })
            .collect(),
    );
}
