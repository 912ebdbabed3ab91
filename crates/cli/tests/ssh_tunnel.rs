//! `--ssh`, `--ssh-identity`, `--ssh-jump` and `--ssh-config`: `bsi` reaches the test
//! PostgreSQL through a real sshd; a profile saved with them keeps them; an unknown host key
//! exits 6 with the `ssh_host_key` code and the fingerprint.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use bsi_testkit::shared;
use bsi_testkit::sshd::{Sshd, client_config, client_keys};
use common::text;

#[test]
fn bsi_connects_through_an_ssh_tunnel_and_a_jump_host() {
    let s = shared();
    let target = Sshd::start("");
    let jump = Sshd::start(&format!("PermitOpen 127.0.0.1:{}", target.port));
    let dir = tempfile::tempdir().unwrap();
    let keys = client_keys();
    let known = format!("{}{}", target.known_hosts_line(), jump.known_hosts_line());
    let ssh_config = client_config(dir.path(), &known, &keys.client);
    let url = format!(
        "postgresql://postgres@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        s.port,
        s.root_ca.display()
    );
    let identity = keys.client.to_string_lossy().into_owned();
    let ssh_config = ssh_config.to_string_lossy().into_owned();
    let dest = target.destination();
    let hop = jump.destination();
    let ssh_args = [
        "--ssh",
        dest.as_str(),
        "--ssh-identity",
        identity.as_str(),
        "--ssh-jump",
        hop.as_str(),
        "--ssh-config",
        ssh_config.as_str(),
    ];
    let config = tempfile::tempdir().unwrap();
    let mut args = vec!["--url", url.as_str(), "--json"];
    args.extend(ssh_args);
    args.extend(["profile", "test"]);
    let out = run_in(config.path(), &args);
    assert!(out.status.success(), "{}\n{}", text(&out), jump.log());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["server"], format!("localhost:{}", s.port), "{v}");
    assert!(v["tls"].is_string(), "{v}");
    assert!(jump.log().contains("Accepted publickey"), "{}", jump.log());

    // Saved with a profile, the tunnel is used by every later run.
    let mut args = vec!["profile", "add", "tunnelled", "--from-url", url.as_str()];
    args.extend(ssh_args);
    let out = run_in(config.path(), &args);
    assert!(out.status.success(), "{}", text(&out));
    let out = run_in(config.path(), &["profile", "show", "tunnelled"]);
    assert!(
        text(&out).contains(&format!("destination = \"{dest}\"")),
        "{}",
        text(&out)
    );
    let out = run_in(config.path(), &["--profile", "tunnelled", "databases"]);
    assert!(out.status.success(), "{}", text(&out));
    // `--ssh ""` turns it off for a run: localhost:PORT is reached directly then.
    let out = run_in(
        config.path(),
        &["--profile", "tunnelled", "--ssh", "", "profile", "test"],
    );
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn an_unknown_host_key_exits_6_with_its_fingerprint() {
    let s = shared();
    let sshd = Sshd::start("");
    let dir = tempfile::tempdir().unwrap();
    let keys = client_keys();
    let ssh_config = client_config(dir.path(), "", &keys.client);
    let url = format!(
        "postgresql://postgres@localhost:{}/postgres?sslmode=require",
        s.port
    );
    let config = tempfile::tempdir().unwrap();
    let out = run_in(
        config.path(),
        &[
            "--url",
            &url,
            "--json",
            "--ssh",
            &sshd.destination(),
            "--ssh-config",
            &ssh_config.to_string_lossy(),
            "profile",
            "test",
        ],
    );
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "ssh_host_key", "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains(&sshd.fingerprint()), "{msg}");
}

fn run_in(config: &Path, args: &[&str]) -> std::process::Output {
    common::bsi_in(config, args, Some(&shared().password))
}
