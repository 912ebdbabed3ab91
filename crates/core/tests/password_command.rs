//! The password command: a failure reports the exit status and what the command said, an
//! empty answer is refused, a wrong answer is the server's authentication error, and sources
//! before it win without running it. (`password_command_log.rs` connects with its answer and
//! scans the trace-level log, alone in its binary so that no other test races its subscriber.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bsi_core::ErrorCode;
use bsi_core::connect::Connections;
use bsi_core::profile::Profile;
use bsi_core::secrets::{Credentials, PasswordSources, Secret};
use bsi_core::tls::SslMode;
use bsi_testkit::shared;

fn profile() -> Profile {
    let s = shared();
    let mut p = Profile::new("passcmd", "localhost", "postgres");
    p.port = s.port;
    p.tls.sslmode = SslMode::Require;
    p
}

fn with_command(cmd: &str) -> PasswordSources {
    PasswordSources {
        command: Some(cmd.to_string()),
        ..PasswordSources::default()
    }
}

#[tokio::test]
async fn a_failing_command_says_its_status_and_its_message() {
    let err = Credentials::resolve(
        with_command("echo 'vault: permission denied for secret/db' >&2; exit 3"),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Config);
    let msg = err.to_string();
    assert!(msg.contains("exit status 3"), "{msg}");
    assert!(
        msg.contains("vault: permission denied for secret/db"),
        "{msg}"
    );

    let err = Credentials::resolve(with_command("true"), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("printed nothing"), "{err}");

    // A wrong password from the command is the server's authentication error.
    let creds = Credentials::resolve(with_command("echo not-the-password"), None)
        .await
        .unwrap();
    let err = Connections::new(profile(), creds.password)
        .test()
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Authentication, "{err}");
}

#[tokio::test]
async fn a_password_given_for_the_run_wins_without_running_it() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let cmd = format!("touch '{}'; echo from-command", marker.display());
    let creds = Credentials::resolve(
        PasswordSources {
            for_run: Some(Secret::new("given".to_string())),
            ..with_command(&cmd)
        },
        None,
    )
    .await
    .unwrap();
    assert_eq!(creds.password.unwrap().expose(), "given");
    assert!(!marker.exists(), "the command ran");
    // Without one, the command wins over PGPASSWORD's place.
    let creds = Credentials::resolve(
        PasswordSources {
            pg_password: Some(Secret::new("from-env".to_string())),
            ..with_command(&cmd)
        },
        None,
    )
    .await
    .unwrap();
    assert_eq!(creds.password.unwrap().expose(), "from-command");
    assert!(marker.exists());
}
