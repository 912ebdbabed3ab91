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
