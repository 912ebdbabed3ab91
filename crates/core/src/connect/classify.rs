//! Error classification: every failure of a connection or a query becomes an error the user
//! can act on (authentication, TLS trust or host name, no TLS, unreachable, timeout, read-only,
//! a schema that changed, a missing privilege...), with what to do next.

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
            CoreError::Unreachable {
                server,
                cause: detail,
            }
        }
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
    if detail.contains("UnknownIssuer") || detail.contains("BadSignature") {
        let chain = diagnose::fetch_chain(&ep.host, ep.port, timeout).await;
        return diagnose::untrusted(server, tls, short_tls(&detail), chain.ok());
    }
    CoreError::Tls {
        server,
        detail: short_tls(&detail),
    }
}

fn short_tls(detail: &str) -> String {
    detail
        .trim()
        .trim_start_matches("error communicating with database: ")
        .to_string()
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
                Some("28000") => CoreError::Authentication {
                    user: ep.user.clone(),
                    server: ep.server(),
                    message: format!("{message} (the server's pg_hba.conf does not let this user in from here)"),
                },
                Some("3D000") => CoreError::NotFound {
                    what: "database",
                    name: ep.database.clone(),
                    hint: Some(format!("it does not exist on {}; `bsi databases` lists the Backstage databases there", ep.server())),
                },
                Some("25006") => CoreError::ReadOnly { message },
                Some("57014") if message.contains("user request") => CoreError::Cancelled,
                // A table or column that was read with the schema is gone (an upgrade or a
                // manual change since): the view degrades; callers read the schema again.
                Some("42P01" | "42703") => CoreError::SchemaDegraded {
                    view: format!("this view of {}", ep.database),
                    reason: format!("{message}; the schema changed since it was read, try again"),
                },
                Some("57014") => CoreError::Timeout {
                    what: "the query".to_string(),
                    after: Duration::ZERO,
                    hint: Some(format!("{message}; the profile's statement timeout stopped it")),
                },
                Some("42501") => CoreError::Database {
                    code,
                    message: format!("{message}; the user `{}` lacks a privilege for this", ep.user),
                },
                _ => CoreError::Database { code, message },
            }
        }
        sqlx::Error::PoolTimedOut => CoreError::Timeout {
            what: format!("waiting for a connection to {} / {}", ep.server(), ep.database),
            after: Duration::ZERO,
            hint: Some("all pooled connections are busy or the server stopped answering; raise pool.max_connections or acquire_timeout_secs".to_string()),
        },
        sqlx::Error::PoolClosed => CoreError::Cancelled,
        sqlx::Error::Io(io) => CoreError::Unreachable {
            server: ep.server(),
            cause: io.to_string(),
        },
        sqlx::Error::Tls(t) => CoreError::Tls {
            server: ep.server(),
            detail: error_chain(t.as_ref()),
        },
        sqlx::Error::RowNotFound => CoreError::not_found("row", ep.database.clone()),
        other => CoreError::Database {
            code: None,
            message: other.to_string(),
        },
    }
}
