//! The password command: its first line of output is the password (the test PostgreSQL accepts
//! it), a failure reports the exit status and what the command said, an empty answer is
//! refused, sources before it win without running it, and the value never reaches a log line,
//! at trace level included.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

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

/// Every event and span field at every level, as text.
#[derive(Clone, Default)]
struct Everything(Arc<Mutex<Vec<String>>>);

struct Text(String);
impl tracing::field::Visit for Text {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Everything {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut t = Text(String::new());
        event.record(&mut t);
        self.0.lock().unwrap().push(t.0);
    }
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut t = Text(String::new());
        attrs.record(&mut t);
        self.0.lock().unwrap().push(t.0);
    }
}

#[tokio::test]
async fn its_first_line_is_the_password_and_never_logged() {
    use tracing_subscriber::layer::SubscriberExt;
    let everything = Everything::default();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::TRACE)
            .with(everything.clone()),
    );
    let pw = shared().password.clone();
    let cmd = format!("printf '%s\\n%s\\n' '{pw}' 'a second line'");
    let creds = Credentials::resolve(with_command(&cmd), None)
        .await
        .unwrap();
    assert_eq!(creds.password.as_ref().unwrap().expose(), pw);
    let c = Connections::new(profile(), creds.password);
    let info = c.test().await.unwrap();
    assert_eq!(info.user, "postgres");
    c.close().await;
    let logged = everything.0.lock().unwrap().clone();
    assert!(!logged.is_empty(), "the subscriber saw the run");
    assert!(
        logged.iter().all(|l| !l.contains(&pw)),
        "the password reached a log line"
    );
    assert!(
        logged.iter().any(|l| l.contains("password command")),
        "{logged:?}"
    );
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
