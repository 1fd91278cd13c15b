//! Configuration from the environment, validated before anything starts: a bad setting stops start-up with
//! one line that names it.

use std::net::SocketAddr;

use linkwell_store::Backend;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://linkwell.db?mode=rwc";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

pub const DEFAULT_SANDBOX_LISTEN: &str = "127.0.0.1:8090";

#[derive(Clone)]
pub struct Config {
    /// May hold a password: never printed (see the Debug impl).
    pub database_url: String,
    pub listen: SocketAddr,
    pub public_url: String,
    /// `LINKWELL_ENCRYPTION_KEY`: base64 keys, the first current. Never printed.
    pub encryption_keys: Option<String>,
    /// `LINKWELL_ENCRYPTION_KEY_FILE`, or the default beside the SQLite database.
    pub encryption_key_file: std::path::PathBuf,
    pub sandbox: SandboxSettings,
    pub webhooks: WebhookConfig,
    /// `LINKWELL_DAILY_QUOTA`: requests each client may make per UTC day (unset: no limit).
    pub daily_quota: Option<i64>,
}

/// Webhook delivery.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// `LINKWELL_WEBHOOKS_ALLOW_PRIVATE`: deliver to private, loopback and link-local addresses (tests and
    /// local development only).
    pub allow_private: bool,
    /// `LINKWELL_WEBHOOKS_RETRY_SCHEDULE`: delays before each retry, e.g. `5s,5m,30m,2h,5h,10h,10h`.
    pub retries: linkwell_webhooks::RetrySchedule,
}

/// The built-in sandbox platforms: served under `/sandbox` unless switched off, and how linkwell reaches them.
#[derive(Clone)]
pub struct SandboxSettings {
    /// `LINKWELL_SANDBOX`: serve the sandbox platforms under `/sandbox` (default true).
    pub serve: bool,
    /// `LINKWELL_SANDBOX_URL`: where linkwell reaches the sandbox platforms; by default its own `/sandbox`.
    /// None when the sandbox is off and no URL is set: the sandbox platforms cannot be linked.
    pub url: Option<String>,
    pub client_id: String,
    /// `LINKWELL_SANDBOX_CLIENT_SECRET`; by default a random one per start (the sandbox keeps its grants in
    /// memory, so nothing outlives a restart anyway). Never printed.
    pub client_secret: Option<String>,
    pub access_token_ttl: std::time::Duration,
    pub refresh_token_idle_ttl: std::time::Duration,
    /// `LINKWELL_SANDBOX_LISTEN`, for `linkwell sandbox` on its own.
    pub listen: SocketAddr,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database", &self.backend())
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("encryption_key_file", &self.encryption_key_file)
            .field("sandbox", &self.sandbox.serve)
            .finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{setting}: {problem}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub problem: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let database_url = lookup("LINKWELL_DATABASE_URL")
            .filter(|value| !value.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let database_url = normalise_database_url(&database_url).ok_or_else(|| ConfigError {
            setting: "LINKWELL_DATABASE_URL",
            problem: "must be a postgres://... URL, a sqlite:... URL or a path to a SQLite file"
                .to_owned(),
        })?;
        let listen_text = lookup("LINKWELL_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen: SocketAddr = listen_text.trim().parse().map_err(|_| ConfigError {
            setting: "LINKWELL_LISTEN",
            problem: format!("'{listen_text}' is not an address and port such as 127.0.0.1:8080"),
        })?;
        let public_url =
            match lookup("LINKWELL_PUBLIC_URL").filter(|value| !value.trim().is_empty()) {
                None => format!("http://{listen}"),
                Some(value) => check_http_url("LINKWELL_PUBLIC_URL", &value)?,
            };
        let encryption_keys =
            lookup("LINKWELL_ENCRYPTION_KEY").filter(|value| !value.trim().is_empty());
        if let Some(keys) = &encryption_keys {
            linkwell_connectors::keys::parse_key_list(keys, "LINKWELL_ENCRYPTION_KEY").map_err(
                |error| ConfigError {
                    setting: "LINKWELL_ENCRYPTION_KEY",
                    problem: match error {
                        linkwell_connectors::KeyError::Invalid {
                            position, error, ..
                        } => {
                            format!("key {position}: {error}")
                        }
                        other => other.to_string(),
                    },
                },
            )?;
        }
        let encryption_key_file =
            match lookup("LINKWELL_ENCRYPTION_KEY_FILE").filter(|value| !value.trim().is_empty()) {
                Some(path) => std::path::PathBuf::from(path.trim()),
                None => default_key_file(&database_url),
            };
        let serve = parse_bool(&lookup, "LINKWELL_SANDBOX", true)?;
        let url = match lookup("LINKWELL_SANDBOX_URL").filter(|value| !value.trim().is_empty()) {
            Some(url) => Some(check_http_url("LINKWELL_SANDBOX_URL", &url)?),
            None => serve.then(|| format!("{public_url}/sandbox")),
        };
        let sandbox_listen_text =
            lookup("LINKWELL_SANDBOX_LISTEN").unwrap_or_else(|| DEFAULT_SANDBOX_LISTEN.to_owned());
        let sandbox = SandboxSettings {
            serve,
            url,
            client_id: lookup("LINKWELL_SANDBOX_CLIENT_ID")
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
                .unwrap_or_else(|| "linkwell".to_owned()),
            client_secret: lookup("LINKWELL_SANDBOX_CLIENT_SECRET")
                .filter(|value| !value.trim().is_empty()),
            access_token_ttl: parse_seconds(&lookup, "LINKWELL_SANDBOX_ACCESS_TOKEN_TTL", 30 * 60)?,
            refresh_token_idle_ttl: parse_seconds(
                &lookup,
                "LINKWELL_SANDBOX_REFRESH_TOKEN_TTL",
                30 * 24 * 60 * 60,
            )?,
            listen: sandbox_listen_text
                .trim()
                .parse()
                .map_err(|_| ConfigError {
                    setting: "LINKWELL_SANDBOX_LISTEN",
                    problem: format!(
                        "'{sandbox_listen_text}' is not an address and port such as 127.0.0.1:8090"
                    ),
                })?,
        };
        let webhooks = WebhookConfig {
            allow_private: parse_bool(&lookup, "LINKWELL_WEBHOOKS_ALLOW_PRIVATE", false)?,
            retries: match lookup("LINKWELL_WEBHOOKS_RETRY_SCHEDULE")
                .filter(|value| !value.trim().is_empty())
            {
                None => linkwell_webhooks::RetrySchedule::default(),
                Some(value) => {
                    linkwell_webhooks::RetrySchedule::parse(&value).map_err(|error| {
                        ConfigError {
                            setting: "LINKWELL_WEBHOOKS_RETRY_SCHEDULE",
                            problem: error.to_string(),
                        }
                    })?
                }
            },
        };
        let daily_quota = match lookup("LINKWELL_DAILY_QUOTA")
            .filter(|value| !value.trim().is_empty())
        {
            None => None,
            Some(value) => Some(
                value
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|quota| *quota > 0)
                    .ok_or_else(|| ConfigError {
                        setting: "LINKWELL_DAILY_QUOTA",
                        problem: format!("'{}' is not a positive number of requests", value.trim()),
                    })?,
            ),
        };
        Ok(Self {
            database_url,
            listen,
            public_url,
            encryption_keys,
            encryption_key_file,
            sandbox,
            webhooks,
            daily_quota,
        })
    }

    /// The file of a SQLite database (None for PostgreSQL or an in-memory database).
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        sqlite_file(&self.database_url)
    }

    pub fn backend(&self) -> Backend {
        Backend::of_url(&self.database_url).unwrap_or(Backend::Sqlite)
    }
}

fn check_http_url(setting: &'static str, value: &str) -> Result<String, ConfigError> {
    let value = value.trim().trim_end_matches('/').to_owned();
    let rest = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"));
    if !rest.is_some_and(|host| !host.is_empty() && !host.contains(char::is_whitespace)) {
        return Err(ConfigError {
            setting,
            problem: format!("'{value}' is not an http:// or https:// URL"),
        });
    }
    Ok(value)
}

fn parse_bool(
    lookup: &impl Fn(&str) -> Option<String>,
    setting: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match lookup(setting).map(|value| value.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(value) if value.is_empty() => Ok(default),
        Some(value) => match value.as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(ConfigError {
                setting,
                problem: format!("'{value}' is not true or false"),
            }),
        },
    }
}

fn parse_seconds(
    lookup: &impl Fn(&str) -> Option<String>,
    setting: &'static str,
    default: u64,
) -> Result<std::time::Duration, ConfigError> {
    match lookup(setting).filter(|value| !value.trim().is_empty()) {
        None => Ok(std::time::Duration::from_secs(default)),
        Some(value) => value
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|seconds| *seconds > 0)
            .map(std::time::Duration::from_secs)
            .ok_or_else(|| ConfigError {
                setting,
                problem: format!("'{}' is not a positive number of seconds", value.trim()),
            }),
    }
}

/// The key file beside a SQLite database (`linkwell.db` → `linkwell.db.key`), or `linkwell.key` in the
/// working directory for PostgreSQL and in-memory databases.
fn default_key_file(database_url: &str) -> std::path::PathBuf {
    match sqlite_file(database_url) {
        Some(path) => {
            let mut name = path.into_os_string();
            name.push(".key");
            std::path::PathBuf::from(name)
        }
        None => std::path::PathBuf::from("linkwell.key"),
    }
}

fn sqlite_file(database_url: &str) -> Option<std::path::PathBuf> {
    let rest = database_url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| std::path::PathBuf::from(path))
}

/// Accepts `postgres://`, `sqlite:` URLs, or a bare file path (a SQLite file, created when missing).
fn normalise_database_url(value: &str) -> Option<String> {
    let value = value.trim();
    if value.starts_with("postgres://") || value.starts_with("postgresql://") {
        return Some(value.to_owned());
    }
    if value.starts_with("sqlite:") {
        if value.contains("mode=") || value.contains(":memory:") {
            return Some(value.to_owned());
        }
        let separator = if value.contains('?') { '&' } else { '?' };
        return Some(format!("{value}{separator}mode=rwc"));
    }
    if value.contains("://") {
        return None;
    }
    Some(format!("sqlite://{value}?mode=rwc"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_are_a_local_sqlite_file_on_8080() {
        let config = config(&[]).unwrap();
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config.public_url, "http://127.0.0.1:8080");
        assert_eq!(config.backend(), Backend::Sqlite);
    }

    #[test]
    fn bad_settings_are_named() {
        assert_eq!(
            config(&[("LINKWELL_LISTEN", "nowhere")])
                .unwrap_err()
                .setting,
            "LINKWELL_LISTEN"
        );
        assert_eq!(
            config(&[("LINKWELL_DATABASE_URL", "mysql://x")])
                .unwrap_err()
                .setting,
            "LINKWELL_DATABASE_URL"
        );
        assert_eq!(
            config(&[("LINKWELL_PUBLIC_URL", "ftp://x")])
                .unwrap_err()
                .setting,
            "LINKWELL_PUBLIC_URL"
        );
    }

    #[test]
    fn paths_and_urls_are_accepted() {
        assert_eq!(
            config(&[("LINKWELL_DATABASE_URL", "data/l.db")])
                .unwrap()
                .database_url,
            "sqlite://data/l.db?mode=rwc"
        );
        let pg = config(&[("LINKWELL_DATABASE_URL", "postgres://u@h/db")]).unwrap();
        assert_eq!(pg.backend(), Backend::Postgres);
        assert!(pg.sqlite_path().is_none());
        assert!(!format!("{pg:?}").contains("u@h"));
        let public = config(&[("LINKWELL_PUBLIC_URL", "https://link.example.com/")]).unwrap();
        assert_eq!(public.public_url, "https://link.example.com");
    }

    #[test]
    fn encryption_keys_default_to_a_file_beside_the_database() {
        let default = config(&[]).unwrap();
        assert_eq!(
            default.encryption_key_file,
            std::path::PathBuf::from("linkwell.db.key")
        );
        assert!(default.encryption_keys.is_none());
        let pg = config(&[("LINKWELL_DATABASE_URL", "postgres://u@h/db")]).unwrap();
        assert_eq!(
            pg.encryption_key_file,
            std::path::PathBuf::from("linkwell.key")
        );
        let error = config(&[("LINKWELL_ENCRYPTION_KEY", "short")]).unwrap_err();
        assert_eq!(error.setting, "LINKWELL_ENCRYPTION_KEY");
        assert!(!error.problem.contains("short"), "{}", error.problem);
        let key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let set = config(&[("LINKWELL_ENCRYPTION_KEY", key)]).unwrap();
        assert!(!format!("{set:?}").contains(key));
    }

    #[test]
    fn a_daily_quota_is_optional_and_positive() {
        assert_eq!(config(&[]).unwrap().daily_quota, None);
        assert_eq!(
            config(&[("LINKWELL_DAILY_QUOTA", "1000")])
                .unwrap()
                .daily_quota,
            Some(1000)
        );
        assert_eq!(
            config(&[("LINKWELL_DAILY_QUOTA", "0")])
                .unwrap_err()
                .setting,
            "LINKWELL_DAILY_QUOTA"
        );
    }

    #[test]
    fn webhook_settings_are_read() {
        let default = config(&[]).unwrap();
        assert!(!default.webhooks.allow_private);
        assert_eq!(default.webhooks.retries.delays().len(), 7);
        let set = config(&[
            ("LINKWELL_WEBHOOKS_ALLOW_PRIVATE", "true"),
            ("LINKWELL_WEBHOOKS_RETRY_SCHEDULE", "1s,2s"),
        ])
        .unwrap();
        assert!(set.webhooks.allow_private);
        assert_eq!(set.webhooks.retries.delays().len(), 2);
        assert_eq!(
            config(&[("LINKWELL_WEBHOOKS_RETRY_SCHEDULE", "soon")])
                .unwrap_err()
                .setting,
            "LINKWELL_WEBHOOKS_RETRY_SCHEDULE"
        );
    }

    #[test]
    fn the_sandbox_is_served_unless_switched_off() {
        let default = config(&[]).unwrap();
        assert!(default.sandbox.serve);
        assert_eq!(
            default.sandbox.url.as_deref(),
            Some("http://127.0.0.1:8080/sandbox")
        );
        let off = config(&[("LINKWELL_SANDBOX", "false")]).unwrap();
        assert!(!off.sandbox.serve);
        assert!(off.sandbox.url.is_none());
        assert_eq!(
            config(&[("LINKWELL_SANDBOX", "maybe")])
                .unwrap_err()
                .setting,
            "LINKWELL_SANDBOX"
        );
        assert_eq!(
            config(&[("LINKWELL_SANDBOX_ACCESS_TOKEN_TTL", "0")])
                .unwrap_err()
                .setting,
            "LINKWELL_SANDBOX_ACCESS_TOKEN_TTL"
        );
    }
}
