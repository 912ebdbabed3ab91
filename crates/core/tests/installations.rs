//! Every Backstage installation on a real server: plugin databases under three prefixes and
//! plugin schemas in three databases, built by our migrations, beside databases that are not
//! Backstage's and one the role may not connect to.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use bsi_core::connect::Connections;
use bsi_core::demo::migrate_areas;
use bsi_core::installations::{Installation, Installations, installations};
use bsi_core::profile::{DivisionMode, Profile};
use bsi_core::secrets::Secret;
use bsi_core::tls::SslMode;
use bsi_testkit::shared;

fn profile(mode: DivisionMode, prefix: &str, database: Option<&str>) -> Profile {
    let s = shared();
    let mut p = Profile::new("inst", "localhost", "postgres");
    p.port = s.port;
    p.prefix = prefix.to_string();
    p.mode = mode;
    p.database = database.map(str::to_string);
    p.tls.sslmode = SslMode::Require;
    p
}

fn conns(p: Profile) -> Arc<Connections> {
    Connections::new(p, Some(Secret::new(shared().password.clone())))
}

async fn migrate(p: Profile, areas: &[&str]) {
    let mut p = p;
    p.write_mode = true;
    p.pool.statement_timeout_secs = 600;
    let c = conns(p);
    let areas: Vec<String> = areas.iter().map(|a| a.to_string()).collect();
    migrate_areas(&c, &areas).await.unwrap();
    c.close().await;
}

fn plugins(i: &Installation) -> Vec<String> {
    i.plugins.iter().map(|p| p.label()).collect()
}

/// The installations whose name starts with `tag` (the server is shared with other tests).
fn ours<'a>(list: &'a Installations, tag: &str) -> Vec<&'a Installation> {
    list.installations
        .iter()
        .filter(|i| {
            i.prefix.starts_with(tag) || i.database.as_deref().is_some_and(|d| d.starts_with(tag))
        })
        .collect()
}

#[tokio::test]
async fn three_prefixes_in_database_mode_and_three_databases_in_schema_mode() {
    let s = shared();
    let tag = format!("bsiinst{}_", std::process::id());
    let (plugin, staging, prod) = (
        format!("{tag}plugin_"),
        format!("{tag}acme_staging_"),
        format!("{tag}acme_prod_"),
    );
    migrate(
        profile(DivisionMode::Database, &plugin, None),
        &["catalog", "scaffolder", "auth"],
    )
    .await;
    migrate(
        profile(DivisionMode::Database, &staging, None),
        &["catalog", "scaffolder"],
    )
    .await;
    migrate(
        profile(DivisionMode::Database, &prod, None),
        &["catalog", "search"],
    )
    .await;
    // A plugin without an area of ours: Knex tables only, named under a found prefix.
    s.psql("postgres", &format!("CREATE DATABASE {staging}proxy"));
    s.psql(
        &format!("{staging}proxy"),
        "CREATE TABLE knex_migrations (id serial PRIMARY KEY, name varchar(255), batch integer, migration_time timestamptz)",
    );
    // Not Backstage: a table called `tasks` alone, and Backstage-like names without the tables.
    s.psql("postgres", &format!("CREATE DATABASE {tag}shop_catalog"));
    s.psql(
        &format!("{tag}shop_catalog"),
        "CREATE TABLE tasks (id int); CREATE TABLE orders (id int)",
    );
    for n in 1..=3 {
        let db = format!("{tag}schemas{n}");
        s.psql("postgres", &format!("CREATE DATABASE {db}"));
        let areas: &[&str] = if n == 1 {
            &["catalog", "scaffolder", "auth"]
        } else {
            &["catalog", "scaffolder"]
        };
        migrate(profile(DivisionMode::Schema, "unused_", Some(&db)), areas).await;
    }
    // A schema that is not a plugin's, in a schema-mode database.
    s.psql(
        &format!("{tag}schemas1"),
        "CREATE SCHEMA billing; CREATE TABLE billing.invoices (id int)",
    );

    // Database mode, pointed at the staging installation.
    let c = conns(profile(DivisionMode::Database, &staging, None));
    let list = installations(&c).await.unwrap();
    c.close().await;
    let found = ours(&list, &tag);
    let labels: Vec<String> = found.iter().map(|i| i.label()).collect();
    assert_eq!(
        labels,
        [
            prod.clone(),
            staging.clone(),
            plugin.clone(),
            format!("{tag}schemas1 (schemas)"),
            format!("{tag}schemas2 (schemas)"),
            format!("{tag}schemas3 (schemas)"),
        ],
        "{list:#?}"
    );
    assert_eq!(
        plugins(found[0]),
        [format!("{prod}catalog"), format!("{prod}search")]
    );
    assert_eq!(
        plugins(found[1]),
        [
            format!("{staging}catalog"),
            format!("{staging}proxy"),
            format!("{staging}scaffolder")
        ]
    );
    assert_eq!(
        found[1]
            .plugins
            .iter()
            .map(|p| p.plugin.as_str())
            .collect::<Vec<_>>(),
        ["catalog", "proxy", "scaffolder"]
    );
    assert_eq!(
        plugins(found[2]),
        [
            format!("{plugin}auth"),
            format!("{plugin}catalog"),
            format!("{plugin}scaffolder")
        ]
    );
    assert_eq!(
        plugins(found[3]),
        [
            format!("{tag}schemas1.auth"),
            format!("{tag}schemas1.catalog"),
            format!("{tag}schemas1.scaffolder")
        ]
    );
    assert!(found.iter().all(|i| i.size_bytes > 0));
    assert_eq!(found[0].mode, DivisionMode::Database);
    assert_eq!(found[3].mode, DivisionMode::Schema);
    assert_eq!(found[3].prefix, "");
    let current: Vec<&str> = list
        .installations
        .iter()
        .filter(|i| i.current)
        .map(|i| i.prefix.as_str())
        .collect();
    assert_eq!(current, [staging.as_str()]);
    assert!(
        !list.suggest_others,
        "the profile finds its installation whole"
    );
    assert!(
        !list
            .installations
            .iter()
            .any(|i| i.plugins.iter().any(|p| p.database.contains("shop"))),
        "not Backstage: {list:#?}"
    );

    // A prefix that finds nothing: the others are suggested.
    let c = conns(profile(
        DivisionMode::Database,
        &format!("{tag}nothing_"),
        None,
    ));
    let list = installations(&c).await.unwrap();
    c.close().await;
    assert!(list.suggest_others);
    assert!(list.installations.iter().all(|i| !i.current));

    // A prefix that takes in two installations' databases (`acme_staging_catalog` as a plugin
    // `staging_catalog`): only part of one, so the others are suggested too.
    let c = conns(profile(
        DivisionMode::Database,
        &format!("{tag}acme_"),
        None,
    ));
    let list = installations(&c).await.unwrap();
    c.close().await;
    assert!(list.suggest_others);

    // Schema mode, pointed at the second database.
    let db2 = format!("{tag}schemas2");
    let c = conns(profile(DivisionMode::Schema, "unused_", Some(&db2)));
    let list = installations(&c).await.unwrap();
    c.close().await;
    let current: Vec<Option<&str>> = list
        .installations
        .iter()
        .filter(|i| i.current)
        .map(|i| i.database.as_deref())
        .collect();
    assert_eq!(current, [Some(db2.as_str())]);
    assert!(!list.suggest_others);
    assert_eq!(ours(&list, &tag).len(), 6);
}

#[tokio::test]
async fn databases_the_role_may_not_connect_to_are_named_not_read() {
    let s = shared();
    let prefix = format!("bsiinstro{}_", std::process::id());
    migrate(profile(DivisionMode::Database, &prefix, None), &["catalog"]).await;
    let hidden = format!("{prefix}scaffolder");
    s.psql("postgres", &format!("CREATE DATABASE {hidden}"));
    s.psql(
        "postgres",
        &format!("REVOKE CONNECT ON DATABASE {hidden} FROM PUBLIC"),
    );
    let (user, password) = s.create_role("bsi_inst_reader", "");
    let mut p = profile(DivisionMode::Database, &prefix, None);
    p.user = user.clone();
    let c = Connections::new(p, Some(Secret::new(password)));
    let list = installations(&c).await.unwrap();
    c.close().await;
    let unread = list
        .unread
        .iter()
        .find(|u| u.database == hidden)
        .expect("named");
    assert!(
        unread.error.message.contains("may not connect"),
        "{}",
        unread.error.message
    );
    assert!(unread.error.message.contains(&user));
    let mine = list
        .installations
        .iter()
        .find(|i| i.prefix == prefix)
        .unwrap();
    assert_eq!(plugins(mine), [format!("{prefix}catalog")]);
    assert!(mine.current);
}
