//! Codat's query language, parsed once at the edge into an [`Expr`] that cannot hold a malformed condition.
//!
//! `query=name~acme && {status=Linked || status=PendingAuth}`: comparisons of a dotted property path with a
//! literal (`=`, `!=`, `~`, `>`, `<`, `>=`, `<=`), joined by `&&` (binds tighter) and `||`, grouped with `{ }`.
//! The store compiles an [`Expr`] to parameterized SQL; [`eval_json`] evaluates it in memory for data that is
//! not in the database (the integrations catalogue). Errors are written for the API user: they become 400s.

mod eval;
mod parser;
mod printer;

use std::fmt;
use std::str::FromStr;

pub use eval::eval_json;
pub use parser::parse_query;

/// Longer queries are refused before parsing, which also bounds the work a single request can cause.
pub const MAX_QUERY_LENGTH: usize = 2048;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    /// Case-insensitive "contains".
    Contains,
    Gt,
    Lt,
    Ge,
    Le,
}

impl Op {
    pub const ALL: [Op; 7] = [Op::Eq, Op::Ne, Op::Contains, Op::Gt, Op::Lt, Op::Ge, Op::Le];

    pub fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Contains => "~",
            Op::Gt => ">",
            Op::Lt => "<",
            Op::Ge => ">=",
            Op::Le => "<=",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// A dotted property path (`dataConnections.status`); every segment is a non-empty run of `[A-Za-z0-9_]`, so a
/// path can always be printed back unquoted and never carries characters that mean something in SQL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path(Vec<String>);

impl Path {
    pub fn new(segments: Vec<String>) -> Result<Path, QueryError> {
        if segments.is_empty() {
            return Err(QueryError::new("empty property name"));
        }
        if let Some(bad) = segments.iter().find(|segment| !is_valid_segment(segment)) {
            return Err(QueryError::new(format!(
                "'{bad}' is not a valid property name part; use letters, digits and '_'"
            )));
        }
        Ok(Path(segments))
    }

    pub fn segments(&self) -> &[String] {
        &self.0
    }

    pub fn dotted(&self) -> String {
        self.0.join(".")
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.dotted())
    }
}

impl FromStr for Path {
    type Err = QueryError;

    /// Parses `a.b.c`; no whitespace is allowed inside.
    fn from_str(dotted: &str) -> Result<Path, QueryError> {
        if dotted.is_empty() {
            return Err(QueryError::new("empty property name"));
        }
        if !dotted.split('.').all(is_valid_segment) {
            return Err(QueryError::new(format!(
                "'{dotted}' is not a property name; use letters, digits and '_', with '.' between parts"
            )));
        }
        Ok(Path(dotted.split('.').map(str::to_owned).collect()))
    }
}

pub(crate) fn is_segment_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_valid_segment(segment: &str) -> bool {
    !segment.is_empty() && segment.chars().all(is_segment_char)
}

/// A parsed query. `And` and `Or` always have at least two children and never directly contain a node of
/// their own kind: the parser flattens them, so equal queries have equal trees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Compare { path: Path, op: Op, value: String },
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

impl Expr {
    /// Every path the query mentions, in order of appearance, so callers can validate them.
    pub fn paths(&self) -> Vec<&Path> {
        let mut paths = Vec::new();
        self.collect_paths(&mut paths);
        paths
    }

    fn collect_paths<'a>(&'a self, paths: &mut Vec<&'a Path>) {
        match self {
            Expr::Compare { path, .. } => paths.push(path),
            Expr::And(children) | Expr::Or(children) => {
                for child in children {
                    child.collect_paths(paths);
                }
            }
        }
    }

    /// `&&` of the children, keeping the invariants: nested `And`s are flattened and a single child stands
    /// alone.
    pub(crate) fn all(children: Vec<Expr>) -> Expr {
        Self::combine(children, true)
    }

    /// `||` of the children, with the same normalisation as [`Expr::all`].
    pub(crate) fn any(children: Vec<Expr>) -> Expr {
        Self::combine(children, false)
    }

    fn combine(children: Vec<Expr>, is_and: bool) -> Expr {
        let mut flat = Vec::with_capacity(children.len());
        for child in children {
            match child {
                Expr::And(inner) if is_and => flat.extend(inner),
                Expr::Or(inner) if !is_and => flat.extend(inner),
                other => flat.push(other),
            }
        }
        if flat.len() == 1 {
            if let Some(only) = flat.pop() {
                return only;
            }
        }
        if is_and {
            Expr::And(flat)
        } else {
            Expr::Or(flat)
        }
    }
}

/// A user-facing description of what is wrong with a query or sort order, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    pub message: String,
}

impl QueryError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// One sort key of an `orderBy` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderKey {
    pub path: Path,
    pub descending: bool,
}

/// A parsed `orderBy`: keys in priority order, never empty when it comes from [`parse_order_by`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy(pub Vec<OrderKey>);

/// Parses `name`, `-created`, `name,-created`: comma-separated paths, `-` meaning descending.
pub fn parse_order_by(input: &str) -> Result<OrderBy, QueryError> {
    if input.chars().count() > MAX_QUERY_LENGTH {
        return Err(QueryError::new(format!(
            "orderBy is longer than {MAX_QUERY_LENGTH} characters"
        )));
    }
    let mut keys = Vec::new();
    let mut position = 0;
    for entry in input.split(',') {
        let trimmed = entry.trim();
        if trimmed.is_empty() {
            return Err(QueryError::new(format!(
                "orderBy has an empty entry at position {position}; expected e.g. 'name' or '-created'"
            )));
        }
        let (descending, dotted) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let path = dotted.parse::<Path>().map_err(|_| {
            QueryError::new(format!(
                "'{trimmed}' in orderBy is not a property name; expected e.g. 'name' or '-created'"
            ))
        })?;
        keys.push(OrderKey { path, descending });
        position += entry.chars().count() + 1;
    }
    Ok(OrderBy(keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(dotted: &str) -> Path {
        dotted.parse().unwrap()
    }

    #[test]
    fn path_validates_segments() {
        assert_eq!(
            Path::new(vec!["a".into(), "b_2".into()]).unwrap().dotted(),
            "a.b_2"
        );
        assert_eq!(
            Path::new(vec![]).unwrap_err().message,
            "empty property name"
        );
        assert!(Path::new(vec!["".into()]).is_err());
        assert!(Path::new(vec!["a b".into()]).is_err());
        assert!(Path::new(vec!["a.b".into()]).is_err());
        assert!("a..b".parse::<Path>().is_err());
        assert!("a.".parse::<Path>().is_err());
        assert!("".parse::<Path>().is_err());
        assert_eq!(path("x.y.z").segments(), ["x", "y", "z"]);
    }

    #[test]
    fn op_symbols() {
        let symbols: Vec<_> = Op::ALL.iter().map(|op| op.symbol()).collect();
        assert_eq!(symbols, ["=", "!=", "~", ">", "<", ">=", "<="]);
    }

    #[test]
    fn paths_lists_every_path_in_order() {
        let expr = parse_query("a=1 || {b.c=2 && a=3}").unwrap();
        let dotted: Vec<_> = expr.paths().iter().map(|p| p.dotted()).collect();
        assert_eq!(dotted, ["a", "b.c", "a"]);
    }

    #[test]
    fn order_by_parses_keys_and_directions() {
        assert_eq!(
            parse_order_by(" name , -created,a.b ").unwrap(),
            OrderBy(vec![
                OrderKey {
                    path: path("name"),
                    descending: false
                },
                OrderKey {
                    path: path("created"),
                    descending: true
                },
                OrderKey {
                    path: path("a.b"),
                    descending: false
                },
            ])
        );
    }

    #[test]
    fn order_by_errors() {
        assert_eq!(
            parse_order_by("name,,x").unwrap_err().message,
            "orderBy has an empty entry at position 5; expected e.g. 'name' or '-created'"
        );
        assert!(parse_order_by("").is_err());
        assert!(parse_order_by("name,").is_err());
        assert_eq!(
            parse_order_by("-na me").unwrap_err().message,
            "'-na me' in orderBy is not a property name; expected e.g. 'name' or '-created'"
        );
        assert!(parse_order_by("--name").is_err());
        assert!(parse_order_by("-").is_err());
        assert!(parse_order_by(&"a".repeat(MAX_QUERY_LENGTH + 1)).is_err());
    }

    #[test]
    fn combine_flattens_and_unwraps() {
        let leaf = |v: &str| Expr::Compare {
            path: path("a"),
            op: Op::Eq,
            value: v.into(),
        };
        assert_eq!(Expr::all(vec![leaf("1")]), leaf("1"));
        assert_eq!(
            Expr::all(vec![Expr::And(vec![leaf("1"), leaf("2")]), leaf("3")]),
            Expr::And(vec![leaf("1"), leaf("2"), leaf("3")])
        );
        assert_eq!(
            Expr::any(vec![Expr::And(vec![leaf("1"), leaf("2")]), leaf("3")]),
            Expr::Or(vec![Expr::And(vec![leaf("1"), leaf("2")]), leaf("3")])
        );
    }
}
