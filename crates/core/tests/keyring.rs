//! The OS keyring through the real Secret Service (the test command runs the tests inside
//! `dbus-run-session` with an unlocked gnome-keyring; see scripts/test).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use bsi_core::secrets::{Keyring, Secret};

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
