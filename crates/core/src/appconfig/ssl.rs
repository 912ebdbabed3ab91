//! `ssl` of a connection object, as node-postgres and Node's TLS read it: `true`/`false`,
//! `no-verify`, or a mapping whose `rejectUnauthorized` and `ca` (PEM text, usually from
//! `$file`, or a list of them) become the profile's sslmode and root certificates; client
//! certificates and unknown keys are warned about.

use std::path::{Path, PathBuf};

use super::report::Cx;
use super::resolve::TlsGiven;
use super::tree::{Leaf, Node, Scalar, Via, file_of};
use crate::error::{CoreError, Result};
use crate::tls::{SslMode, TlsSettings};

/// `ssl` of a connection object, as node-postgres and Node's TLS read it.
pub(super) fn tls_from_node(node: &Node, key: &str, cx: &mut Cx<'_>) -> Result<TlsGiven> {
    let file = file_of(node);
    let mut settings = TlsSettings::default();
    match node {
        Node::Leaf(leaf) => {
            cx.record(key, &node.display(), node.source());
            settings.sslmode = match &leaf.value {
                Scalar::Bool(true) => SslMode::VerifyFull,
                Scalar::Bool(false) | Scalar::Null => SslMode::Disable,
                Scalar::Number(n) if n.parse::<f64>().is_ok_and(|v| v == 0.0) => SslMode::Disable,
                Scalar::Number(_) => SslMode::VerifyFull,
                Scalar::Str(s) if s.is_empty() => SslMode::Disable,
                Scalar::Str(s) if s == "true" => SslMode::VerifyFull,
                Scalar::Str(s) if s == "no-verify" => SslMode::Require,
                Scalar::Str(s) => {
                    cx.warn(format!(
                        "{key} is the string `{s}` in {file}: node-postgres treats any string \
                         other than `no-verify` as on, so Backstage uses TLS with certificate \
                         checks; imported as sslmode verify-full (write `ssl: false` to turn TLS \
                         off)"
                    ));
                    SslMode::VerifyFull
                }
            };
        }
        Node::Map(map) => {
            let mut reject_unauthorized = true;
            let mut ca: Option<(Option<PathBuf>, Option<String>)> = None;
            for (k, v) in map {
                let sub = format!("{key}.{k}");
                match k.as_str() {
                    "rejectUnauthorized" => {
                        cx.record(&sub, &v.display(), v.source());
                        match v {
                            Node::Leaf(Leaf {
                                value: Scalar::Bool(b),
                                ..
                            }) => reject_unauthorized = *b,
                            Node::Leaf(Leaf {
                                value: Scalar::Null,
                                ..
                            }) => {}
                            other => cx.warn(format!(
                                "{sub}{} is {}, not a boolean: Node only skips certificate \
                                 checks for the boolean `false`, so Backstage checks them",
                                other.in_file(),
                                other.kind()
                            )),
                        }
                    }
                    "ca" => ca = ca_from_node(v, &sub, cx)?,
                    "cert" | "key" | "pfx" | "passphrase" => cx.warn(format!(
                        "{key} has a client certificate (`{k}`){}: the inspector does not send \
                         client certificates, so a server that requires one will refuse it",
                        v.in_file()
                    )),
                    // `require` appears in Backstage's docs but node-postgres ignores it.
                    "require" | "servername" | "minVersion" | "maxVersion" | "ciphers" => {}
                    _ => cx.warn(format!(
                        "{sub} is not a TLS setting the inspector uses; ignored"
                    )),
                }
            }
            if reject_unauthorized {
                settings.sslmode = SslMode::VerifyFull;
                if let Some((path, pem)) = ca {
                    settings.root_cert = path;
                    settings.root_cert_pem = pem;
                }
            } else {
                settings.sslmode = SslMode::Require;
                if ca.is_some() {
                    cx.warn(format!(
                        "{key}.ca is ignored because {key}.rejectUnauthorized is false: Node \
                         checks no certificate then, and neither does the inspector (sslmode \
                         require)"
                    ));
                }
            }
        }
        Node::Seq(_) => {
            return Err(CoreError::config(format!(
                "{key}{} is a list; use `true`, `false` or a mapping such as \
                 `{{ rejectUnauthorized: false }}` or `{{ ca: {{ $file: ca.pem }} }}`",
                node.in_file()
            )));
        }
    }
    Ok(TlsGiven { settings })
}

/// `ssl.ca`: PEM text (a path when it came from `$file`), or a list of them.
fn ca_from_node(
    node: &Node,
    key: &str,
    cx: &mut Cx<'_>,
) -> Result<Option<(Option<PathBuf>, Option<String>)>> {
    let leaves: Vec<&Leaf> = match node {
        Node::Leaf(Leaf {
            value: Scalar::Null,
            ..
        }) => return Ok(None),
        Node::Leaf(l) => vec![l],
        Node::Seq(items) => {
            let mut leaves = Vec::new();
            for item in items {
                match item {
                    Node::Leaf(l) => leaves.push(l),
                    other => {
                        return Err(CoreError::config(format!(
                            "{key}{} holds {}; expected PEM certificates",
                            other.in_file(),
                            other.kind()
                        )));
                    }
                }
            }
            leaves
        }
        Node::Map(_) => {
            return Err(CoreError::config(format!(
                "{key}{} is a mapping; give the CA certificate as PEM text, usually \
                 `ca: {{ $file: path/to/ca.pem }}`",
                node.in_file()
            )));
        }
    };
    let mut pems = Vec::new();
    let mut paths = Vec::new();
    for leaf in &leaves {
        let Scalar::Str(text) = &leaf.value else {
            return Err(CoreError::config(format!(
                "{key} in {} is not text; give the CA certificate as PEM text, usually \
                 `ca: {{ $file: path/to/ca.pem }}`",
                leaf.origin.file.display()
            )));
        };
        let certificates = text.matches("-----BEGIN CERTIFICATE-----").count();
        match &leaf.origin.via {
            Via::File(path) => {
                if certificates == 0 {
                    cx.warn(format!(
                        "{key}: {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                        path.display()
                    ));
                }
                cx.record(
                    key,
                    &format!("{} ({certificates} certificate(s))", path.display()),
                    leaf.origin.source(),
                );
                paths.push(path.clone());
            }
            _ if certificates == 0 && !text.contains('\n') => {
                // A path written where Node expects the certificate itself: a common slip.
                let joined = leaf
                    .origin
                    .file
                    .parent()
                    .unwrap_or(Path::new(""))
                    .join(text);
                cx.warn(format!(
                    "{key} in {} looks like a file path, but Backstage (Node) expects the PEM \
                     text itself, as `ca: {{ $file: {text} }}` gives it; the inspector uses it \
                     as a file path",
                    leaf.origin.file.display()
                ));
                cx.record(key, &joined.display().to_string(), leaf.origin.source());
                paths.push(joined);
            }
            _ => {
                cx.record(
                    key,
                    &format!("inline PEM ({certificates} certificate(s))"),
                    leaf.origin.source(),
                );
                pems.push(text.clone());
            }
        }
    }
    Ok(match (paths.len(), pems.len()) {
        (0, 0) => None,
        (1, 0) => paths.pop().map(|p| (Some(p), None)),
        _ => {
            // Several CAs: one PEM bundle.
            let mut bundle = pems;
            for path in &paths {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    CoreError::config(format!("cannot read {} ({key}): {e}", path.display()))
                })?;
                bundle.push(text.trim_end().to_string());
            }
            Some((None, Some(bundle.join("\n"))))
        }
    })
}
