//! Options every command takes: where to connect and how to print.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::PathBuf;

use bsi_core::profile::SshSettings;
use clap::Args;

pub use bsi_core::cmdline::shell_word;
use bsi_core::profile::{AuthMethod, CloudsqlIpType, CloudsqlRoute};

/// Options every command takes: where to connect and how to print.
#[derive(Debug, Args, Clone, Default)]
pub struct Global {
    /// Use the saved profile NAME.
    #[arg(long, global = true, env = "BSI_PROFILE", conflicts_with_all = ["url", "app_config"])]
    pub profile: Option<String>,
    /// Connect ad hoc with a libpq URI or key=value string.
    #[arg(long, global = true, conflicts_with = "app_config")]
    pub url: Option<String>,
    /// Connect ad hoc with Backstage's app-config files, merged in order. The files run up to
    /// the next option or command name (`--app-config a.yaml b.yaml databases`).
    #[arg(long = "app-config", global = true, value_name = "FILE")]
    pub app_config: Vec<PathBuf>,
    /// Database name prefix (database mode); default `backstage_plugin_`.
    #[arg(long, global = true)]
    pub prefix: Option<String>,
    /// The plugins are schemas of one database (Backstage's pluginDivisionMode: schema).
    #[arg(long, global = true)]
    pub schema_mode: bool,
    /// The one database: that of the plugin schemas with --schema-mode, else a single plugin
    /// database to inspect alone.
    #[arg(long, global = true, value_name = "NAME")]
    pub database: Option<String>,
    /// Write mode for this run (sessions are read-only otherwise).
    #[arg(long, global = true)]
    pub write: bool,
    /// Read the password from the first line of standard input.
    #[arg(long, global = true)]
    pub password_stdin: bool,
    /// Run CMD (with `sh -c`) and use the first line of its output as the password, for this
    /// run (instead of the profile's own password command).
    #[arg(long, global = true, value_name = "CMD")]
    pub password_command: Option<String>,
    /// Reach the server through an SSH tunnel to DEST (`user@host[:port]` or a host alias of
    /// the ssh config), with the system's `ssh`; "" turns a profile's tunnel off.
    #[arg(long, global = true, value_name = "DEST")]
    pub ssh: Option<String>,
    /// The private key of the SSH tunnel (`ssh -i`); else the agent and the ssh config decide.
    #[arg(long, global = true, value_name = "FILE")]
    pub ssh_identity: Option<PathBuf>,
    /// A jump host of the SSH tunnel (`ssh -J`), `user@host[:port]`; repeat for a chain.
    #[arg(long, global = true, value_name = "DEST")]
    pub ssh_jump: Vec<String>,
    /// An ssh config file read instead of `~/.ssh/config` (`ssh -F`).
    #[arg(long, global = true, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
    /// Sign in with a token the inspector obtains instead of a password: `azure` (Microsoft
    /// Entra ID), `rds` (AWS RDS IAM) or `cloudsql` (Google Cloud SQL IAM, with the connector,
    /// the Cloud SQL Auth Proxy or the instance's IP); `password` turns it off. With `profile add`, saved.
    #[arg(long, global = true, value_name = "METHOD", value_parser = ["password", "azure", "rds", "cloudsql"])]
    pub auth: Option<String>,
    /// The AWS region of RDS IAM tokens (else AWS_REGION); implies --auth rds.
    #[arg(long, global = true, value_name = "REGION")]
    pub aws_region: Option<String>,
    /// The profile of the AWS shared files to sign RDS IAM tokens with (else AWS_PROFILE).
    #[arg(long, global = true, value_name = "NAME")]
    pub aws_profile: Option<String>,
    /// The Entra ID client id: with a tenant id and a client secret (AZURE_CLIENT_SECRET or
    /// the keyring), a service principal; alone, a user-assigned managed identity.
    #[arg(long, global = true, value_name = "ID")]
    pub azure_client_id: Option<String>,
    /// The Entra ID tenant id of the service principal.
    #[arg(long, global = true, value_name = "ID")]
    pub azure_tenant_id: Option<String>,
    /// The Cloud SQL instance connection name (project:region:instance); implies --auth
    /// cloudsql.
    #[arg(long, global = true, value_name = "INSTANCE")]
    pub cloudsql_instance: Option<String>,
    /// How Cloud SQL is reached: `connector` (Google's connector protocol: an ephemeral client
    /// certificate from the Cloud SQL Admin API, TLS to the instance; the host is not used) or
    /// `proxy` (the host and port given: a Cloud SQL Auth Proxy or the instance's IP). Default:
    /// the saved profile's; for a new one `connector` when the URL names no host, else `proxy`.
    #[arg(long, global = true, value_name = "ROUTE", value_parser = ["connector", "proxy"])]
    pub cloudsql_route: Option<String>,
    /// The address of the instance the connector dials: `public` (default), `private` or
    /// `psc`; implies --cloudsql-route connector.
    #[arg(long, global = true, value_name = "TYPE", value_parser = ["public", "private", "psc"])]
    pub cloudsql_ip_type: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

impl Global {
    /// The SSH tunnel this run's `--ssh*` options give, over `saved` (a profile's); `None` when
    /// none was given. An empty destination means no tunnel.
    pub fn ssh_over(&self, saved: Option<&SshSettings>) -> Option<SshSettings> {
        if self.ssh.is_none()
            && self.ssh_identity.is_none()
            && self.ssh_jump.is_empty()
            && self.ssh_config.is_none()
        {
            return None;
        }
        let mut s = saved.cloned().unwrap_or_default();
        if let Some(d) = &self.ssh {
            s.destination = d.trim().to_string();
        }
        if let Some(i) = &self.ssh_identity {
            s.identity_file = Some(i.clone());
        }
        if !self.ssh_jump.is_empty() {
            s.jump = self.ssh_jump.clone();
        }
        if let Some(c) = &self.ssh_config {
            s.config_file = Some(c.clone());
        }
        Some(s)
    }

    /// The auth method the token flags give, over `current` (a saved profile's settings are
    /// kept unless a flag changes them); `None` when no such flag is given. `new_route` is the
    /// Cloud SQL route of a profile that was not on Cloud SQL before.
    pub fn auth_method(
        &self,
        current: &AuthMethod,
        new_route: CloudsqlRoute,
    ) -> bsi_core::Result<Option<AuthMethod>> {
        let aws = self.aws_region.is_some() || self.aws_profile.is_some();
        let azure = self.azure_client_id.is_some() || self.azure_tenant_id.is_some();
        let gcp = self.cloudsql_instance.is_some()
            || self.cloudsql_route.is_some()
            || self.cloudsql_ip_type.is_some();
        let kind = match (self.auth.as_deref(), aws, azure, gcp) {
            (Some(k), ..) => k,
            (None, true, false, false) => "rds",
            (None, false, true, false) => "azure",
            (None, false, false, true) => "cloudsql",
            (None, false, false, false) => return Ok(None),
            (None, ..) => "several",
        };
        let wrong = |flags: &str| {
            Err(bsi_core::CoreError::config(format!(
                "{flags} belong to another auth method than `{kind}`; give --auth rds with \
                 --aws-region/--aws-profile, --auth azure with --azure-client-id/--azure-tenant-id, \
                 --auth cloudsql with --cloudsql-instance/--cloudsql-route/--cloudsql-ip-type"
            )))
        };
        let some = |flag: &Option<String>, old: &Option<String>| {
            flag.clone()
                .map(|v| Some(v.trim().to_string()).filter(|v| !v.is_empty()))
                .unwrap_or_else(|| old.clone())
        };
        match kind {
            "password" if aws || azure || gcp => wrong("the token flags"),
            "password" => Ok(Some(AuthMethod::Password)),
            "rds" | "azure" if gcp => wrong("the --cloudsql-* flags"),
            "rds" if azure => wrong("--azure-client-id and --azure-tenant-id"),
            "rds" => {
                let (region, profile) = match current {
                    AuthMethod::Rds {
                        region,
                        aws_profile,
                    } => (region.clone(), aws_profile.clone()),
                    _ => (None, None),
                };
                Ok(Some(AuthMethod::Rds {
                    region: some(&self.aws_region, &region),
                    aws_profile: some(&self.aws_profile, &profile),
                }))
            }
            "azure" if aws => wrong("--aws-region and --aws-profile"),
            "azure" => {
                let (client, tenant) = match current {
                    AuthMethod::Azure {
                        client_id,
                        tenant_id,
                    } => (client_id.clone(), tenant_id.clone()),
                    _ => (None, None),
                };
                Ok(Some(AuthMethod::Azure {
                    client_id: some(&self.azure_client_id, &client),
                    tenant_id: some(&self.azure_tenant_id, &tenant),
                }))
            }
            "cloudsql" if aws || azure => wrong("the AWS and Azure flags"),
            "cloudsql" => {
                let (instance, route, ip_type) = match current {
                    AuthMethod::Cloudsql {
                        instance,
                        route,
                        ip_type,
                    } => (instance.clone(), *route, *ip_type),
                    _ => (None, new_route, CloudsqlIpType::default()),
                };
                let ip = self
                    .cloudsql_ip_type
                    .as_deref()
                    .and_then(CloudsqlIpType::parse);
                let route = match self
                    .cloudsql_route
                    .as_deref()
                    .and_then(CloudsqlRoute::parse)
                {
                    Some(r) => r,
                    None if ip.is_some() => CloudsqlRoute::Connector,
                    None => route,
                };
                if route == CloudsqlRoute::Proxy && ip.is_some() {
                    return Err(bsi_core::CoreError::config(
                        "--cloudsql-ip-type chooses the address the connector dials; with \
                         --cloudsql-route proxy the host and port given are dialled",
                    ));
                }
                Ok(Some(AuthMethod::Cloudsql {
                    instance: some(&self.cloudsql_instance, &instance),
                    route,
                    ip_type: ip.unwrap_or(ip_type),
                }))
            }
            _ => wrong("flags of several auth methods"),
        }
    }

    /// The Cloud SQL route of a profile new to Cloud SQL: `connector` when the host is not
    /// given (`host_given` false, or a URL without one), else `proxy`.
    pub fn default_cloudsql_route(&self, host_given: bool) -> CloudsqlRoute {
        let url_host = self
            .url
            .as_deref()
            .map(|u| bsi_core::conninfo::ConnInfo::parse(u).map_or(true, |ci| ci.host.is_some()));
        if host_given && url_host != Some(false) {
            CloudsqlRoute::Proxy
        } else {
            CloudsqlRoute::Connector
        }
    }

    /// The connection options of this run (`--profile`, `--url` without its password, or
    /// `--app-config`), as shell words that can be pasted into another command line.
    pub fn connection_args(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(p) = &self.profile {
            out.extend(["--profile".to_string(), shell_word(p)]);
        } else if let Some(url) = &self.url {
            out.extend(["--url".to_string(), shell_word(&url_without_password(url))]);
        } else if !self.app_config.is_empty() {
            out.push("--app-config".to_string());
            out.extend(
                self.app_config
                    .iter()
                    .map(|f| shell_word(&f.to_string_lossy())),
            );
        }
        out
    }

    /// The layout options of this run (`--prefix`, `--schema-mode`, `--database`).
    pub fn layout_args(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(p) = &self.prefix {
            out.extend(["--prefix".to_string(), shell_word(p)]);
        }
        if self.schema_mode {
            out.push("--schema-mode".to_string());
        }
        if let Some(d) = &self.database {
            out.extend(["--database".to_string(), shell_word(d)]);
        }
        out
    }

    /// This run's own command line, pasteable: its connection and layout options as
    /// [`Global::same_run_line`] gives them, then its other arguments as typed, without the
    /// options in `drop` (with their values) and `--password-stdin`, then `add`.
    pub fn rerun_line(&self, drop: &[&str], add: &[&str]) -> String {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let with_value = ["--profile", "--url", "--prefix", "--database"];
        let flags = ["--schema-mode", "--password-stdin"];
        let mut rest: Vec<String> = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let a = args[i].as_str();
            let name = a.split_once('=').map_or(a, |(n, _)| n);
            if a == "--app-config" {
                // Its files run up to the next option or command name.
                i += 1;
                while i < args.len()
                    && !args[i].starts_with('-')
                    && std::path::Path::new(&args[i]).is_file()
                {
                    i += 1;
                }
                continue;
            }
            if with_value.contains(&name) || drop.contains(&name) {
                i += if a.contains('=') { 1 } else { 2 };
                continue;
            }
            if flags.contains(&a) {
                i += 1;
                continue;
            }
            rest.push(shell_word(a));
            i += 1;
        }
        rest.extend(add.iter().map(|a| shell_word(a)));
        self.same_run_line(&rest)
    }

    /// A `bsi` command line with this run's connection and layout options, then `rest`.
    pub fn same_run_line(&self, rest: &[String]) -> String {
        let mut words = self.layout_args();
        words.extend(rest.iter().cloned());
        self.command_line(&words)
    }

    /// `text` with each `` `bsi ...` `` command it names made pasteable for this run: the run's
    /// connection and layout options after `bsi` (unless the command has its own), and for
    /// `bsi profile ...` the profile's name in place of `NAME`.
    pub fn pasteable(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("`bsi ") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let Some(len) = after.find('`') else {
                rest = &rest[start..];
                break;
            };
            let command = &after[..len];
            out.push('`');
            out.push_str(&self.pasteable_command(command));
            out.push('`');
            rest = &after[len + 1..];
        }
        out.push_str(rest);
        out
    }

    fn pasteable_command(&self, command: &str) -> String {
        let words: Vec<&str> = command.split_whitespace().collect();
        if words.get(1) == Some(&"profile") {
            return match &self.profile {
                Some(p) => words
                    .iter()
                    .map(|w| {
                        if *w == "NAME" {
                            shell_word(p)
                        } else {
                            w.to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                None => command.to_string(),
            };
        }
        let own = ["--profile", "--url", "--app-config"];
        if words.iter().any(|w| own.iter().any(|o| w.starts_with(o))) {
            return command.to_string();
        }
        let rest: Vec<String> = words[1..].iter().map(|w| w.to_string()).collect();
        self.same_run_line(&rest)
    }

    /// A `bsi` command line with this run's connection options, then `rest` (already shell
    /// words), ready to paste.
    pub fn command_line(&self, rest: &[String]) -> String {
        let mut words = vec!["bsi".to_string()];
        words.extend(self.connection_args());
        words.extend(rest.iter().cloned());
        words.join(" ")
    }
}

/// `url` with any password taken out (the pasted command asks for it or finds it in
/// `PGPASSWORD` or the keyring).
fn url_without_password(url: &str) -> String {
    let Ok(ci) = bsi_core::conninfo::ConnInfo::parse(url) else {
        return url.to_string();
    };
    if ci.password.is_none() {
        return url.to_string();
    }
    let host = ci.host.clone().unwrap_or_else(|| "localhost".into());
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    let mut s = String::from("postgresql://");
    if let Some(u) = &ci.user {
        s.push_str(
            &percent_encoding::utf8_percent_encode(u, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        );
        s.push('@');
    }
    s.push_str(&host);
    if let Some(p) = ci.port {
        s.push_str(&format!(":{p}"));
    }
    s.push('/');
    if let Some(db) = &ci.dbname {
        s.push_str(
            &percent_encoding::utf8_percent_encode(db, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        );
    }
    let mut params = Vec::new();
    if let Some(m) = ci.sslmode {
        params.push(format!("sslmode={}", m.as_str()));
    }
    if let Some(c) = &ci.sslrootcert {
        params.push(format!(
            "sslrootcert={}",
            percent_encoding::utf8_percent_encode(
                &c.to_string_lossy(),
                percent_encoding::NON_ALPHANUMERIC
            )
        ));
    }
    if let Some(t) = ci.connect_timeout {
        params.push(format!("connect_timeout={t}"));
    }
    if !params.is_empty() {
        s.push('?');
        s.push_str(&params.join("&"));
    }
    s
}

/// Rewrites `--app-config A B C` into `--app-config A --app-config B --app-config C`, so that
/// the files end at the next option or at the first word that names a command: the command
/// line `bsi --app-config a.yaml b.yaml databases` names two files and the command
/// `databases`. The first word after `--app-config` is always a file (`./databases` names a
/// file called like a command in the later places).
pub fn expand_app_config(args: Vec<OsString>, commands: &HashSet<String>) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut iter = args.into_iter().peekable();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            out.push(arg);
            out.extend(iter);
            break;
        }
        if arg != "--app-config" {
            out.push(arg);
            continue;
        }
        out.push(arg);
        let Some(first) = iter.next() else { break };
        out.push(first);
        while let Some(next) = iter.peek() {
            let word = next.to_string_lossy();
            if word.starts_with('-') || commands.contains(word.as_ref()) {
                break;
            }
            out.push(OsString::from("--app-config"));
            out.extend(iter.next());
        }
    }
    out
}

/// The names (and aliases) of all commands and subcommands of `cmd`.
pub fn command_names(cmd: &clap::Command) -> HashSet<String> {
    let mut names = HashSet::new();
    let mut stack = vec![cmd];
    while let Some(c) = stack.pop() {
        for sub in c.get_subcommands() {
            names.insert(sub.get_name().to_string());
            names.extend(sub.get_all_aliases().map(str::to_string));
            stack.push(sub);
        }
    }
    names.insert("help".to_string());
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_named_in_a_message_get_this_runs_options() {
        let g = Global {
            profile: Some("prod eu".into()),
            prefix: Some("acme_".into()),
            ..Global::default()
        };
        assert_eq!(
            g.pasteable("no such task; `bsi tasks` lists them, `bsi knex status` too"),
            "no such task; `bsi --profile 'prod eu' --prefix acme_ tasks` lists them, \
             `bsi --profile 'prod eu' --prefix acme_ knex status` too"
        );
        assert_eq!(
            g.pasteable("read-only: (`bsi profile add --update NAME --write`)"),
            "read-only: (`bsi profile add --update 'prod eu' --write`)"
        );
        // A command with its own connection options, other code spans and an open backtick
        // stay as they are.
        let own = "`bsi --url postgres://h/db databases` and `psql` and `bsi tables";
        assert_eq!(g.pasteable(own), own);
        // With --url, the URL without its password; `NAME` stays a placeholder.
        let u = Global {
            url: Some("postgresql://u:secret@h/postgres".into()),
            ..Global::default()
        };
        let t = u.pasteable("`bsi databases` and `bsi profile add --update NAME`");
        assert!(!t.contains("secret"), "{t}");
        assert!(t.starts_with("`bsi --url "), "{t}");
        assert!(t.ends_with("`bsi profile add --update NAME`"), "{t}");
    }

    #[test]
    fn token_flags_make_an_auth_method_over_the_saved_one() {
        let g = |auth: Option<&str>, region: Option<&str>, client: Option<&str>| Global {
            auth: auth.map(String::from),
            aws_region: region.map(String::from),
            azure_client_id: client.map(String::from),
            ..Global::default()
        };
        let saved = AuthMethod::Rds {
            region: Some("eu-west-1".into()),
            aws_profile: Some("prod".into()),
        };
        let proxy = CloudsqlRoute::Proxy;
        assert_eq!(
            g(None, None, None).auth_method(&saved, proxy).unwrap(),
            None
        );
        assert_eq!(
            g(None, Some("us-east-1"), None)
                .auth_method(&saved, proxy)
                .unwrap(),
            Some(AuthMethod::Rds {
                region: Some("us-east-1".into()),
                aws_profile: Some("prod".into()),
            })
        );
        assert_eq!(
            g(None, None, Some("cid"))
                .auth_method(&saved, proxy)
                .unwrap(),
            Some(AuthMethod::Azure {
                client_id: Some("cid".into()),
                tenant_id: None,
            })
        );
        assert_eq!(
            g(Some("password"), None, None)
                .auth_method(&saved, proxy)
                .unwrap(),
            Some(AuthMethod::Password)
        );
        assert!(
            g(Some("azure"), Some("r"), None)
                .auth_method(&saved, proxy)
                .is_err()
        );
        assert!(
            g(None, Some("r"), Some("c"))
                .auth_method(&saved, proxy)
                .is_err()
        );

        let gcp = |auth: Option<&str>, instance: Option<&str>| Global {
            auth: auth.map(String::from),
            cloudsql_instance: instance.map(String::from),
            ..Global::default()
        };
        assert_eq!(
            gcp(None, Some("p:r:i")).auth_method(&saved, proxy).unwrap(),
            Some(AuthMethod::Cloudsql {
                instance: Some("p:r:i".into()),
                route: CloudsqlRoute::Proxy,
                ip_type: CloudsqlIpType::Public,
            })
        );
        let saved_gcp = AuthMethod::Cloudsql {
            instance: Some("p:r:old".into()),
            route: CloudsqlRoute::Connector,
            ip_type: CloudsqlIpType::Private,
        };
        assert_eq!(
            gcp(Some("cloudsql"), None)
                .auth_method(&saved_gcp, proxy)
                .unwrap(),
            Some(saved_gcp.clone())
        );
        assert_eq!(
            gcp(Some("cloudsql"), None)
                .auth_method(&saved, proxy)
                .unwrap(),
            Some(AuthMethod::Cloudsql {
                instance: None,
                route: CloudsqlRoute::Proxy,
                ip_type: CloudsqlIpType::Public,
            })
        );
        let ip = Global {
            cloudsql_instance: Some("p:r:i".into()),
            cloudsql_ip_type: Some("psc".into()),
            ..Global::default()
        };
        assert_eq!(
            ip.auth_method(&saved, proxy).unwrap(),
            Some(AuthMethod::Cloudsql {
                instance: Some("p:r:i".into()),
                route: CloudsqlRoute::Connector,
                ip_type: CloudsqlIpType::Psc,
            })
        );
        let both = Global {
            cloudsql_route: Some("proxy".into()),
            ..ip.clone()
        };
        assert!(both.auth_method(&saved, proxy).is_err());
        let no_host = Global {
            url: Some("postgresql://sa%40p.iam@/postgres".into()),
            ..Global::default()
        };
        assert_eq!(
            no_host.default_cloudsql_route(true),
            CloudsqlRoute::Connector
        );
        let host = Global {
            url: Some("postgresql://sa%40p.iam@127.0.0.1:6432/postgres".into()),
            ..Global::default()
        };
        assert_eq!(host.default_cloudsql_route(true), CloudsqlRoute::Proxy);
        assert!(
            gcp(Some("rds"), Some("p:r:i"))
                .auth_method(&saved, proxy)
                .is_err()
        );
        let mixed = Global {
            aws_region: Some("r".into()),
            cloudsql_instance: Some("p:r:i".into()),
            ..Global::default()
        };
        assert!(mixed.auth_method(&saved, proxy).is_err());
    }

    fn expand(args: &[&str]) -> Vec<String> {
        let commands: HashSet<String> = ["databases", "entities"].map(String::from).into();
        expand_app_config(args.iter().map(OsString::from).collect(), &commands)
            .into_iter()
            .map(|a| a.into_string().unwrap_or_default())
            .collect()
    }

    #[test]
    fn pasted_options_carry_no_password() {
        let g = Global {
            url: Some("postgresql://bs:s3cret@db.example.com:5433/postgres?sslmode=require".into()),
            ..Global::default()
        };
        let line = g.command_line(&["--prefix".into(), "acme_".into(), "databases".into()]);
        assert_eq!(
            line,
            "bsi --url 'postgresql://bs@db.example.com:5433/postgres?sslmode=require' --prefix acme_ databases"
        );
        let g = Global {
            url: Some("host=h user=u sslmode=require".into()),
            ..Global::default()
        };
        assert_eq!(
            g.command_line(&[]),
            "bsi --url 'host=h user=u sslmode=require'"
        );
        let g = Global {
            profile: Some("prod".into()),
            ..Global::default()
        };
        assert_eq!(
            g.command_line(&["databases".into()]),
            "bsi --profile prod databases"
        );
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }

    #[test]
    fn app_config_files_end_at_a_command_or_an_option() {
        assert_eq!(
            expand(&["bsi", "--app-config", "a.yaml", "b.yaml", "databases"]),
            [
                "bsi",
                "--app-config",
                "a.yaml",
                "--app-config",
                "b.yaml",
                "databases"
            ]
        );
        assert_eq!(
            expand(&["bsi", "entities", "--app-config", "a", "b", "--json"]),
            [
                "bsi",
                "entities",
                "--app-config",
                "a",
                "--app-config",
                "b",
                "--json"
            ]
        );
        assert_eq!(
            expand(&["bsi", "--app-config", "databases", "databases"]),
            ["bsi", "--app-config", "databases", "databases"]
        );
        assert_eq!(
            expand(&["bsi", "--app-config=a", "databases"]),
            ["bsi", "--app-config=a", "databases"]
        );
        assert_eq!(expand(&["bsi", "--app-config"]), ["bsi", "--app-config"]);
    }
}
