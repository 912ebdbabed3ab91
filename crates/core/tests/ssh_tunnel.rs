//! SSH tunnels against a real sshd (the test kit's) in front of the test PostgreSQL: a key
//! reaches the server and runs a query (with `verify-full` through the tunnel), a jump host is
//! used, known_hosts is enforced (unknown and changed keys refused with what to do), refused
//! and passphrase-protected keys are named, an unreachable SSH host or database is told apart,
//! and a tunnel that ended is started again on the next query.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use bsi_core::ErrorCode;
use bsi_core::connect::Connections;
use bsi_core::profile::{Profile, SshSettings};
use bsi_core::secrets::Secret;
use bsi_core::tls::SslMode;
use bsi_testkit::shared;
use bsi_testkit::sshd::{Sshd, client_config, client_keys};

/// A profile for the test server (`localhost`, `verify-full` with its CA) through `ssh`.
fn profile(ssh: SshSettings) -> Profile {
    let s = shared();
    let mut p = Profile::new("tunnel", "localhost", &s.superuser);
    p.port = s.port;
    p.tls.sslmode = SslMode::VerifyFull;
    p.tls.root_cert = Some(s.root_ca.clone());
    p.pool.connect_timeout_secs = 10;
    p.ssh = Some(ssh);
    p
}

fn conns(ssh: SshSettings) -> std::sync::Arc<Connections> {
    Connections::new(profile(ssh), Some(Secret::new(shared().password.clone())))
}

fn settings(sshd: &Sshd, config: &Path, identity: &Path) -> SshSettings {
    SshSettings {
        destination: sshd.destination(),
        identity_file: Some(identity.to_path_buf()),
        jump: vec![],
        config_file: Some(config.to_path_buf()),
    }
}

async fn one(conns: &Connections) -> bsi_core::Result<i32> {
    let pool = conns.database("postgres").await?;
    let v: i32 = sqlx::query_scalar("SELECT 41 + 1")
        .fetch_one(&pool)
        .await
        .map_err(|e| bsi_core::CoreError::Internal(e.to_string()))?;
    Ok(v)
}

#[tokio::test]
async fn a_key_reaches_postgres_through_the_tunnel_with_verify_full() {
    let sshd = Sshd::start("");
    let dir = tempfile::tempdir().unwrap();
    let keys = client_keys();
    let config = client_config(dir.path(), &sshd.known_hosts_line(), &keys.client);
    let conns = conns(settings(&sshd, &config, &keys.client));
    let info = conns
        .test()
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    assert!(info.tls.is_some(), "{info:?}");
    assert_eq!(info.server, format!("localhost:{}", shared().port));
    assert_eq!(one(&conns).await.unwrap(), 42);
    assert!(sshd.log().contains("Accepted publickey"), "{}", sshd.log());
    // The staged test names the tunnel first, then reaches the server through it.
    let staged = conns.test_stages().await;
    let names: Vec<_> = staged.stages.iter().map(|s| s.name).collect();
    use bsi_core::connect::StageName::*;
    assert_eq!(names, [Ssh, Tcp, TlsOffer, Session, Query], "{staged:?}");
    assert!(staged.failure.is_none(), "{staged:?}");
    let ssh = staged.stages[0].detail.clone().unwrap();
    assert!(ssh.contains("127.0.0.1:"), "{ssh}");
    let pid = conns.ssh_pid().expect("ssh runs");
    conns.close().await;
    assert!(conns.ssh_pid().is_none());
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z ")),
        "ssh {pid} still runs after close"
    );
}

#[tokio::test]
async fn a_tunnel_that_ended_is_started_again_on_the_next_query() {
    let sshd = Sshd::start("");
    let dir = tempfile::tempdir().unwrap();
    let keys = client_keys();
    let config = client_config(dir.path(), &sshd.known_hosts_line(), &keys.client);
    let conns = conns(settings(&sshd, &config, &keys.client));
    assert_eq!(one(&conns).await.unwrap(), 42);
    let first = conns.ssh_pid().expect("ssh runs");
    let killed = std::process::Command::new("kill")
        .args(["-9", &first.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // The pool's connections died with the tunnel; the next query starts it again.
    assert_eq!(one(&conns).await.unwrap(), 42);
    let second = conns.ssh_pid().expect("ssh runs again");
    assert_ne!(first, second);
    conns.close().await;
}

#[tokio::test]
async fn a_jump_host_is_used() {
    let target = Sshd::start("");
    let jump = Sshd::start(&format!("PermitOpen 127.0.0.1:{}", target.port));
    let dir = tempfile::tempdir().unwrap();
    let keys = client_keys();
    let known = format!("{}{}", target.known_hosts_line(), jump.known_hosts_line());
    let config = client_config(dir.path(), &known, &keys.client);
    let mut ssh = settings(&target, &config, &keys.client);
    ssh.jump = vec![jump.destination()];
    let conns = conns(ssh);
    assert_eq!(
        one(&conns)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", jump.log())),
        42
    );
    // The jump host opened the way to the target's sshd, and only there.
    let log = jump.log();
    assert!(log.contains("Accepted publickey"), "{log}");
    assert!(
        target.log().contains("Accepted publickey"),
        "{}",
        target.log()
    );
    conns.close().await;

    // A jump host that may not open the way to the target stops the tunnel.
    let closed = Sshd::start("PermitOpen 127.0.0.1:1");
    let config = client_config(
        dir.path(),
        &format!("{}{}", target.known_hosts_line(), closed.known_hosts_line()),
        &keys.client,
    );
    let mut ssh = settings(&target, &config, &keys.client);
    ssh.jump = vec![closed.destination()];
    let err = conns_err(ssh).await;
    assert_eq!(err.code(), ErrorCode::Unreachable, "{err}");

    // The jump host's own key is checked strictly too.
    let config = client_config(dir.path(), &target.known_hosts_line(), &keys.client);
    let mut ssh = settings(&target, &config, &keys.client);
    ssh.jump = vec![jump.destination()];
    let err = conns_err(ssh).await;
    assert_eq!(err.code(), ErrorCode::SshHostKey, "{err}");
    assert!(err.to_string().contains(&jump.fingerprint()), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("[127.0.0.1]:{}", jump.port)),
        "{err}"
    );
}

async fn conns_err(ssh: SshSettings) -> bsi_core::CoreError {
    let conns = conns(ssh);
    let err = conns.test().await.unwrap_err();
    conns.close().await;
    err
}

#[tokio::test]
async fn an_unknown_host_key_is_refused_with_its_fingerprint_and_how_to_accept_it() {
    let sshd = Sshd::start("");
    let dir = tempfile::tempdir().unwrap();
    let keys = client_keys();
    let config = client_config(dir.path(), "", &keys.client);
    let err = conns_err(settings(&sshd, &config, &keys.client)).await;
    assert_eq!(err.code(), ErrorCode::SshHostKey, "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&sshd.fingerprint()), "{msg}");
    assert!(
        msg.contains(&format!(
            "ssh-keyscan -p {} 127.0.0.1 >> ~/.ssh/known_hosts",
            sshd.port
        )),
        "{msg}"
    );
    assert!(msg.contains("StrictHostKeyChecking=accept-new"), "{msg}");
    assert!(!sshd.log().contains("Accepted publickey"), "{}", sshd.log());
    // In a staged test the SSH stage is the one that fails, and nothing comes after it.
    let conns = conns(settings(&sshd, &config, &keys.client));
    let staged = conns.test_stages().await;
    conns.close().await;
    assert_eq!(staged.stages.len(), 1, "{staged:?}");
    assert_eq!(staged.stages[0].name, bsi_core::connect::StageName::Ssh);
    assert_eq!(
        staged.stages[0].error.as_ref().unwrap().code,
        ErrorCode::SshHostKey
    );
}

#[tokio::test]
async fn a_changed_host_key_is_refused_loudly() {
    let sshd = Sshd::start("");
    let other = Sshd::start("");
    let dir = tempfile::tempdir().unwrap();
    let keys = client_keys();
    // known_hosts holds another server's key for this one's address.
    let line = format!("[127.0.0.1]:{} {}\n", sshd.port, other.host_key);
    let config = client_config(dir.path(), &line, &keys.client);
    let err = conns_err(settings(&sshd, &config, &keys.client)).await;
    assert_eq!(err.code(), ErrorCode::SshHostKey, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("HAS CHANGED"), "{msg}");
    assert!(msg.contains(&sshd.fingerprint()), "{msg}");
    let kh = dir.path().join("known_hosts");
    assert!(msg.contains(&format!("{}:1", kh.display())), "{msg}");
    assert!(msg.contains("man-in-the-middle"), "{msg}");
}

#[tokio::test]
async fn refused_and_locked_keys_are_named() {
    let sshd = Sshd::start("");
    let dir = tempfile::tempdir().unwrap();
    let keys = client_keys();
    let config = client_config(dir.path(), &sshd.known_hosts_line(), &keys.stranger);
    let err = conns_err(settings(&sshd, &config, &keys.stranger)).await;
    assert_eq!(err.code(), ErrorCode::Authentication, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("Permission denied (publickey)"), "{msg}");
    assert!(msg.contains(&keys.stranger.display().to_string()), "{msg}");

    let config = client_config(dir.path(), &sshd.known_hosts_line(), &keys.locked);
    let err = conns_err(settings(&sshd, &config, &keys.locked)).await;
    assert_eq!(err.code(), ErrorCode::Authentication, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("passphrase"), "{msg}");
    assert!(
        msg.contains(&format!("ssh-add {}", keys.locked.display())),
        "{msg}"
    );
}

#[tokio::test]
async fn an_unreachable_ssh_host_or_database_is_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let keys = client_keys();
    let config = client_config(dir.path(), "", &keys.client);
    let ssh = SshSettings {
        destination: format!("root@127.0.0.1:{}", bsi_testkit::closed_port()),
        identity_file: None,
        jump: vec![],
        config_file: Some(config),
    };
    let err = conns_err(ssh).await;
    assert_eq!(err.code(), ErrorCode::Unreachable, "{err}");
    assert!(err.to_string().contains("SSH host"), "{err}");
    assert!(err.to_string().contains("Connection refused"), "{err}");

    // The SSH host is fine, the database behind it is not there.
    let sshd = Sshd::start("");
    let config = client_config(dir.path(), &sshd.known_hosts_line(), &keys.client);
    let mut p = profile(settings(&sshd, &config, &keys.client));
    p.port = bsi_testkit::closed_port();
    let conns = Connections::new(p, None);
    let err = conns.test().await.unwrap_err();
    conns.close().await;
    assert_eq!(err.code(), ErrorCode::Unreachable, "{err}");
    assert!(err.to_string().contains("could not connect to it"), "{err}");
}
