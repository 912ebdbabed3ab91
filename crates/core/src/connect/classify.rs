//! Error classification: every failure of a connection or a query becomes an error the user
//! can act on (authentication, TLS trust or host name, no TLS, unreachable, timeout, read-only,
//! a schema that changed, a missing privilege...), with what to do next: a role or a server out
//! of connection slots, a statement past the profile's timeout, a session the server ended, a
//! port where something else than PostgreSQL answers. Messages carry no library debug
//! formatting or documentation links ([`plain`]).

use std::time::Duration;

use super::endpoint::Endpoint;
use crate::diagnose;
use crate::error::CoreError;
use crate::tls::TlsSettings;

/// Classifies a failure to connect to `ep` with `tls`. An untrusted certificate chain is
/// fetched again (within `timeout`) to say what is wrong with it.
pub(super) async fn connect_error(
    ep: &Endpoint,
    tls: &TlsSettings,
    e: sqlx::Error,
    timeout: Duration,
) -> CoreError {
    let server = ep.server();
    match e {
        sqlx::Error::Tls(inner) => {
            let detail = error_chain(inner.as_ref());
            if detail.contains("does not support TLS") {
                return CoreError::TlsNotSupported {
                    server,
                    sslmode: tls.effective_mode().to_string(),
                };
            }
            classify_tls_detail(ep, tls, detail, timeout).await
        }
        sqlx::Error::Io(io) => {
            let detail = io.to_string();
            if detail.contains("InvalidCertificate") || detail.contains("invalid peer certificate")
            {
                return classify_tls_detail(ep, tls, detail, timeout).await;
            }
            if detail.contains("InvalidContentType")
                || detail.contains("received corrupt message")
                || detail.contains("CorruptMessage")
            {
                // TLS was agreed, then something else than TLS came back.
                return CoreError::NotPostgres { server };
            }
            CoreError::Unreachable {
                server,
                cause: plain(&detail),
            }
        }
        // The first bytes back were not PostgreSQL's (an HTTP server, SSH, another service).
        sqlx::Error::Protocol(_) => CoreError::NotPostgres { server },
        other => map_query_error(other, ep),
    }
}

async fn classify_tls_detail(
    ep: &Endpoint,
    tls: &TlsSettings,
    detail: String,
    timeout: Duration,
) -> CoreError {
    let server = ep.server();
    if detail.contains("NotValidForName") || detail.contains("not valid for name") {
        return CoreError::TlsWrongHost {
            server,
            detail: short_tls(&detail),
        };
    }
    if detail.contains("CaUsedAsEndEntity") {
        return CoreError::TlsUntrusted {
            server,
            detail:
                "the server presents a CA certificate (typically a self-signed one) as its own \
                     certificate, and a CA certificate cannot identify a server"
                    .to_string(),
            hint: format!(
                "give the server a certificate for `{}` issued by a CA (ssl_cert_file) and trust \
                 that CA with sslrootcert and sslmode=verify-full; if this self-signed certificate \
                 is expected on a trusted network, sslmode=require encrypts without verifying it",
                ep.host
            ),
        };
    }
    if detail.contains("Expired") || detail.contains("expired") {
        return CoreError::TlsUntrusted {
            server,
            detail: "the server's certificate has expired (or is not valid yet: check this \
                     machine's clock too)"
                .to_string(),
            hint: "renew the server's certificate (ssl_cert_file); until then, sslmode=require \
                   encrypts without verifying it"
                .to_string(),
        };
    }
    if detail.contains("UnknownIssuer") || detail.contains("BadSignature") {
        let chain = diagnose::fetch_chain(&ep.host, ep.port, timeout).await;
        return diagnose::untrusted(server, tls, short_tls(&detail), chain.ok());
    }
    CoreError::Tls {
        server,
        detail: tls_in_words(&short_tls(&detail)),
    }
}

/// rustls' names for the rarer certificate and handshake failures, in words with what to do.
fn tls_in_words(detail: &str) -> String {
    const WORDS: [(&str, &str); 9] = [
        (
            "NotValidYet",
            "the server's certificate is not valid yet: check this machine's clock, and the \
             certificate's start date",
        ),
        (
            "Revoked",
            "the server's certificate is revoked: the server needs a new one",
        ),
        (
            "UnsupportedSignatureAlgorithm",
            "the server's certificate is signed with an algorithm this client does not accept \
             (only RSA, ECDSA and Ed25519 with SHA-256 or stronger): the server needs a current \
             certificate",
        ),
        (
            "UnhandledCriticalExtension",
            "the server's certificate has a critical extension this client does not know",
        ),
        (
            "InvalidPurpose",
            "the server's certificate is not meant for TLS servers (its extended key usage): \
             the server needs a server certificate",
        ),
        (
            "BadEncoding",
            "the server's certificate is not valid DER: check ssl_cert_file on the server",
        ),
        (
            "HandshakeFailure",
            "the server and this client share no TLS version or cipher: PostgreSQL 12 or later \
             with TLS 1.2 or 1.3 is needed (ssl_min_protocol_version)",
        ),
        (
            "ProtocolVersion",
            "the server offers only TLS versions this client does not speak (TLS 1.2 and 1.3 \
             are spoken): raise ssl_min_protocol_version on the server",
        ),
        (
            "NoCertificatesPresented",
            "the server presented no certificate",
        ),
    ];
    WORDS
        .iter()
        .find(|(name, _)| detail.contains(name))
        .map(|(_, words)| (*words).to_string())
        .unwrap_or_else(|| detail.to_string())
}

fn short_tls(detail: &str) -> String {
    plain(
        detail
            .trim()
            .trim_start_matches("error communicating with database: "),
    )
}

/// `text` without the libraries' debug formatting and documentation links: no `Other(...)`
/// wrappers, no `https://docs.rs/...` addresses.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, part) in text.split(' ').enumerate() {
        if part.starts_with("https://") || part.starts_with("http://") {
            continue;
        }
        if i > 0 && !out.is_empty() {
            out.push(' ');
        }
        out.push_str(part);
    }
    let mut s = out;
    let mut debug = false;
    for wrapper in [
        "Other(",
        "OtherError(",
        "InvalidCertificate(",
        "InvalidMessage(",
        "PeerMisbehaved(",
        "General(",
        "Io(",
        "Custom {",
        "kind:",
    ] {
        if s.contains(wrapper) {
            debug = true;
            s = s.replace(wrapper, "");
        }
    }
    if debug {
        // The brackets of the wrappers removed: none of a debug string's are worth keeping.
        s = s.replace(['(', ')', '{', '}', '"'], "");
    }
    s.trim().trim_end_matches(':').trim().to_string()
}

/// Whether a failure on an open connection means the connection ended (closed by the server,
/// reset, or cut) rather than that the server could not be reached.
fn connection_ended(io: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        io.kind(),
        K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe
    ) || io.to_string().contains("close_notify")
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let t = src.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = src.source();
    }
    s
}
/// Maps an error from a query or a connection to the core's error, with what to do next.
pub fn map_query_error(e: sqlx::Error, ep: &Endpoint) -> CoreError {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string());
            let message = db.message().to_string();
            match code.as_deref() {
                Some("28P01") => CoreError::Authentication {
                    user: ep.user.clone(),
                    server: ep.server(),
                    message,
                },
                Some("28000") if message.contains("no encryption") => CoreError::TlsRequired {
                    server: ep.server(),
                    message,
                },
                // pg_hba.conf's `clientcert=verify-ca|verify-full` or `cert` method.
                Some("28000") if message.contains("client certificate") => CoreError::Tls {
                    server: ep.server(),
                    detail: format!(
                        "the server requires a client certificate for user \"{}\" on database \
                         \"{}\" ({message}), and the inspector does not present one; ask for a \
                         pg_hba.conf `hostssl` line without `clientcert` for this user, or connect \
                         through a proxy that presents the certificate (such as PgBouncer with \
                         server_tls_cert_file, or the Cloud SQL Auth Proxy)",
                        ep.user, ep.database
                    ),
                },
                Some("28000") => CoreError::Authentication {
                    user: ep.user.clone(),
                    server: ep.server(),
                    message: format!(
                        "{message} (the server's pg_hba.conf does not let this user in from here)"
                    ),
                },
                Some("3D000") => CoreError::NotFound {
                    what: "database",
                    name: ep.database.clone(),
                    hint: Some(format!(
                        "it does not exist on {}; `bsi databases` lists the Backstage databases there",
                        ep.server()
                    )),
                },
                Some("25006") => CoreError::ReadOnly { message },
                Some("57014") if message.contains("user request") => CoreError::Cancelled,
                // A table or column that was read with the schema is gone (an upgrade or a
                // manual change since): the view degrades; callers read the schema again.
                Some("42P01" | "42703") => CoreError::SchemaDegraded {
                    view: format!("this view of {}", ep.database),
                    reason: format!("{message}; the schema changed since it was read, try again"),
                },
                Some("57014") => {
                    let secs = Some(ep.timeouts.statement_secs).filter(|s| *s > 0);
                    tracing::debug!(database = %ep.database, %message, "statement stopped by the server");
                    CoreError::Timeout {
                        what: "the statement".to_string(),
                        after: Duration::from_secs(secs.unwrap_or(0)),
                        hint: Some(format!(
                            "it ran past the profile's statement timeout ({}) and the server stopped it; \
                             raise the timeout (`bsi profile add --update NAME --statement-timeout SECS`) \
                             or ask for less at a time",
                            secs.map(|s| format!("{s} s"))
                                .unwrap_or_else(|| "statement_timeout".to_string())
                        )),
                    }
                }
                Some("55P03") => {
                    let secs = super::endpoint::lock_timeout_secs(ep.timeouts.statement_secs);
                    tracing::debug!(database = %ep.database, %message, "lock wait stopped by the server");
                    CoreError::Timeout {
                        what: format!("waiting for a lock in {}", ep.database),
                        after: Duration::from_secs(secs),
                        hint: Some(
                            "another session holds a lock on a table this reads (a migration, an ALTER TABLE, \
                             a VACUUM FULL or a transaction left open); `bsi doctor` lists lock waits and the \
                             sessions holding them (pg_locks, pg_stat_activity); try again when it is released"
                                .to_string(),
                        ),
                    }
                }
                Some("53300") if message.contains("for role") => CoreError::Database {
                    code,
                    message: format!(
                        "the role `{}` reached its connection limit on {} (the server said: {message}); \
                         wait for its other sessions to end or close them (pg_stat_activity lists them), \
                         or raise the role's limit (ALTER ROLE \"{}\" CONNECTION LIMIT n)",
                        ep.user,
                        ep.server(),
                        ep.user
                    ),
                },
                Some("53300") => CoreError::Database {
                    code,
                    message: format!(
                        "{} accepts no more connections: the server's max_connections is reached \
                         (the server said: {message}); wait for other sessions to end or close idle \
                         ones, lower pool.max_connections of the profiles using it, or raise \
                         max_connections in the server's postgresql.conf",
                        ep.server()
                    ),
                },
                Some("57P01" | "57P02") => CoreError::ConnectionLost {
                    server: ep.server(),
                    cause: format!("the server said: {message}"),
                },
                Some("57P03") => CoreError::Database {
                    code,
                    message: format!(
                        "{} is starting up or shutting down and accepts no connections now \
                         (the server said: {message}); try again in a moment",
                        ep.server()
                    ),
                },
                Some("42501") => CoreError::Database {
                    code,
                    message: format!(
                        "{message}; the user `{}` lacks a privilege for this",
                        ep.user
                    ),
                },
                _ => CoreError::Database { code, message },
            }
        }
        sqlx::Error::PoolTimedOut => CoreError::PoolTimeout {
            server: ep.server(),
            database: ep.database.clone(),
            user: ep.user.clone(),
            after_secs: ep.timeouts.acquire_secs,
        },
        sqlx::Error::PoolClosed => CoreError::Cancelled,
        sqlx::Error::Io(io) if connection_ended(&io) => CoreError::ConnectionLost {
            server: ep.server(),
            cause: plain(&io.to_string()),
        },
        sqlx::Error::Io(io) => CoreError::Unreachable {
            server: ep.server(),
            cause: plain(&io.to_string()),
        },
        sqlx::Error::Protocol(_) => CoreError::NotPostgres {
            server: ep.server(),
        },
        sqlx::Error::Tls(t) => CoreError::Tls {
            server: ep.server(),
            detail: plain(&error_chain(t.as_ref())),
        },
        sqlx::Error::RowNotFound => CoreError::not_found("row", ep.database.clone()),
        other => CoreError::Database {
            code: None,
            message: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::{plain, short_tls, tls_in_words};

    #[test]
    fn rarer_tls_failures_are_said_in_words() {
        for (rustls, words) in [
            (
                "error communicating with database: invalid peer certificate: NotValidYet",
                "not valid yet: check this machine's clock",
            ),
            (
                "invalid peer certificate: UnsupportedSignatureAlgorithm",
                "signed with an algorithm this client does not accept",
            ),
            (
                "received fatal alert: HandshakeFailure",
                "share no TLS version or cipher",
            ),
            (
                "received fatal alert: ProtocolVersion",
                "ssl_min_protocol_version",
            ),
        ] {
            let said = tls_in_words(&short_tls(rustls));
            assert!(said.contains(words), "{rustls} -> {said}");
            assert!(!said.contains("invalid peer certificate"), "{said}");
        }
        // Anything else keeps its own (plain) text.
        assert_eq!(
            tls_in_words("unexpected end of file"),
            "unexpected end of file"
        );
    }

    #[test]
    fn plain_drops_debug_wrappers_and_links_but_keeps_plain_text() {
        assert_eq!(
            plain("invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))"),
            "invalid peer certificate: CaUsedAsEndEntity"
        );
        assert_eq!(
            plain(
                "peer closed connection without sending TLS close_notify: \
                 https://docs.rs/rustls/latest/rustls/manual/_03_howto/index.html#unexpected-eof"
            ),
            "peer closed connection without sending TLS close_notify"
        );
        assert_eq!(
            plain("Custom { kind: Other, error: \"boom\" }"),
            "Other, error: boom"
        );
        assert_eq!(
            plain("Connection refused (os error 111)"),
            "Connection refused (os error 111)"
        );
    }
}
