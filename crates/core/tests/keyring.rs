//! The OS keyring through the real Secret Service (the test command runs the tests inside
//! `dbus-run-session` with an unlocked gnome-keyring; see scripts/test).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use bsi_core::secrets::{Credentials, Keyring, KeyringAccounts, PasswordSources, Secret};

#[tokio::test]
async fn set_get_delete_round_trip_through_the_secret_service() {
    let status = Keyring::status();
    assert!(
        status.available,
        "no usable Secret Service: {status:?}; run the tests with scripts/test, which starts one"
    );
    let keyring = Keyring::new("backstage-inspector-test");
    let account = format!("roundtrip-{}", std::process::id());
    assert_eq!(keyring.get_async(&account).await.unwrap(), None);
    keyring
        .set_async(&account, Secret::new("s3cr3t-value"))
        .await
        .unwrap();
    assert_eq!(
        keyring.get_async(&account).await.unwrap().unwrap().expose(),
        "s3cr3t-value"
    );

    // It really is in the Secret Service: secret-tool sees it.
    let out = Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            "backstage-inspector-test",
            "username",
            &account,
        ])
        .output()
        .expect("secret-tool (libsecret-tools) is installed by scripts/setup");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "s3cr3t-value");

    keyring
        .set_async(&account, Secret::new("second"))
        .await
        .unwrap();
    assert_eq!(
        keyring.get_async(&account).await.unwrap().unwrap().expose(),
        "second"
    );
    assert!(keyring.delete_async(&account).await.unwrap());
    assert!(!keyring.delete_async(&account).await.unwrap());
    assert_eq!(keyring.get_async(&account).await.unwrap(), None);
}

#[tokio::test]
async fn credentials_come_from_the_keyring_after_the_given_ones() {
    let keyring = Keyring::new("backstage-inspector-test");
    let account = format!("creds-{}", std::process::id());
    let plugin_account = format!("{account}/auth");
    keyring
        .set_async(&account, Secret::new("stored"))
        .await
        .unwrap();
    keyring
        .set_async(&plugin_account, Secret::new("plugin-stored"))
        .await
        .unwrap();
    let accounts = KeyringAccounts {
        account: account.clone(),
        plugins: vec![("auth".to_string(), plugin_account.clone())],
    };
    let c = Credentials::resolve_with(
        &keyring,
        PasswordSources {
            keyring: Some(accounts.clone()),
            ..PasswordSources::default()
        },
        None,
    )
    .await
    .unwrap();
    assert_eq!(c.password.unwrap().expose(), "stored");
    assert_eq!(c.plugin_passwords["auth"].expose(), "plugin-stored");

    // A password given for this run wins; the plugins' own still come from the keyring.
    let c = Credentials::resolve_with(
        &keyring,
        PasswordSources {
            for_run: Some(Secret::new("given")),
            keyring: Some(accounts.clone()),
            ..PasswordSources::default()
        },
        None,
    )
    .await
    .unwrap();
    assert_eq!(c.password.unwrap().expose(), "given");
    assert_eq!(c.plugin_passwords["auth"].expose(), "plugin-stored");

    keyring.delete_async(&account).await.unwrap();
    keyring.delete_async(&plugin_account).await.unwrap();
    // Nothing stored: the prompt is asked, and no keyring error is passed to it.
    let mut prompt = |e: Option<&bsi_core::CoreError>| {
        assert!(e.is_none(), "{e:?}");
        Ok(Some(Secret::new("typed")))
    };
    let c = Credentials::resolve_with(
        &keyring,
        PasswordSources {
            keyring: Some(accounts),
            ..PasswordSources::default()
        },
        Some(&mut prompt),
    )
    .await
    .unwrap();
    assert_eq!(c.password.unwrap().expose(), "typed");
    assert!(c.plugin_passwords.is_empty());
}

/// The password order, first found wins: for this run, with the connection, the password
/// command, `PGPASSWORD`, the keyring, the prompt. Each source is taken away in turn; a later
/// source is never asked (the command never runs, the prompt is never called) while an
/// earlier one has the password.
#[tokio::test]
async fn the_first_source_that_has_the_password_wins_in_the_documented_order() {
    let keyring = Keyring::new("backstage-inspector-test");
    let account = format!("order-{}", std::process::id());
    keyring
        .set_async(&account, Secret::new("from-keyring"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ran = dir.path().join("command-ran");
    let command = format!("touch '{}'; echo from-command", ran.display());
    let all = [
        "from-run",
        "from-connection",
        "from-command",
        "from-pgpassword",
        "from-keyring",
        "from-prompt",
    ];
    for (first, want) in all.iter().enumerate() {
        let has = |i: usize| i >= first;
        let sources = PasswordSources {
            for_run: has(0).then(|| Secret::new("from-run")),
            with_connection: has(1).then(|| Secret::new("from-connection")),
            command: has(2).then(|| command.clone()),
            pg_password: has(3).then(|| Secret::new("from-pgpassword")),
            keyring: has(4).then(|| KeyringAccounts {
                account: account.clone(),
                plugins: vec![],
            }),
            ..PasswordSources::default()
        };
        let _ = std::fs::remove_file(&ran);
        let mut prompted = false;
        let mut prompt = |_: Option<&bsi_core::CoreError>| {
            prompted = true;
            Ok(Some(Secret::new("from-prompt")))
        };
        let c = Credentials::resolve_with(&keyring, sources, Some(&mut prompt))
            .await
            .unwrap();
        assert_eq!(c.password.unwrap().expose(), *want, "from source {first}");
        assert_eq!(
            prompted,
            first == 5,
            "prompt asked with source {first} first"
        );
        assert_eq!(
            ran.exists(),
            first == 2,
            "command run with source {first} first"
        );
    }
    // An empty password counts as none: the next source answers.
    let c = Credentials::resolve_with(
        &keyring,
        PasswordSources {
            for_run: Some(Secret::new("")),
            pg_password: Some(Secret::new("from-pgpassword")),
            ..PasswordSources::default()
        },
        None,
    )
    .await
    .unwrap();
    assert_eq!(c.password.unwrap().expose(), "from-pgpassword");
    keyring.delete_async(&account).await.unwrap();
}
