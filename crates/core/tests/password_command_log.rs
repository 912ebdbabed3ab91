//! The password command's first line of output is the password (the test PostgreSQL accepts
//! it), and the value never reaches a log line, at trace level included. Alone in its test
//! binary: tracing caches each call site's interest process-wide, and a test on another thread
//! without a subscriber could hide events from this one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use bsi_core::connect::Connections;
use bsi_core::profile::Profile;
use bsi_core::secrets::{Credentials, PasswordSources};
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
    // Other tests of this binary may have met these call sites first, with no subscriber: their
    // cached interest ("never") would hide the events from this one.
    tracing::callsite::rebuild_interest_cache();
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
