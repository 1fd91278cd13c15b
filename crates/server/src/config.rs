//! Configuration from the environment, validated before anything starts: a bad setting stops start-up with
//! one line that names it.

use std::net::SocketAddr;

use linkwell_store::Backend;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://linkwell.db?mode=rwc";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[derive(Clone)]
pub struct Config {
    /// May hold a password: never printed (see the Debug impl).
    pub database_url: String,
    pub listen: SocketAddr,
    pub public_url: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database", &self.backend())
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
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
        let public_url = match lookup("LINKWELL_PUBLIC_URL")
            .filter(|value| !value.trim().is_empty())
        {
            None => format!("http://{listen}"),
            Some(value) => {
                let value = value.trim().trim_end_matches('/').to_owned();
                let rest = value
                    .strip_prefix("http://")
                    .or_else(|| value.strip_prefix("https://"));
                if !rest.is_some_and(|host| !host.is_empty() && !host.contains(char::is_whitespace))
                {
                    return Err(ConfigError {
                        setting: "LINKWELL_PUBLIC_URL",
                        problem: format!("'{value}' is not an http:// or https:// URL"),
                    });
                }
                value
            }
        };
        Ok(Self {
            database_url,
            listen,
            public_url,
        })
    }

    /// The file of a SQLite database (None for PostgreSQL or an in-memory database).
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        let rest = self.database_url.strip_prefix("sqlite:")?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty() && !path.contains(":memory:")).then(|| std::path::PathBuf::from(path))
    }

    pub fn backend(&self) -> Backend {
        Backend::of_url(&self.database_url).unwrap_or(Backend::Sqlite)
    }
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
}
