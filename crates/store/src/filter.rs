//! Compiles the query language ([`Expr`], [`OrderBy`]) into parameterized SQL that runs unchanged on SQLite and
//! PostgreSQL. Each list declares the properties users may address in a [`FieldMap`]; only the map's static
//! strings ever become SQL text, every literal becomes a `$n` parameter, so no user input is pasted into SQL.
//!
//! Both databases get the same semantics because everything is compared as text or integers: timestamps are
//! fixed-width UTC text (`linkwell_domain::time`), whose text order is time order, and PostgreSQL's columns use
//! the "C" collation, whose order is SQLite's byte order.

use chrono::{NaiveDate, NaiveTime, TimeDelta};
use linkwell_domain::query::{Expr, Op, OrderBy, Path, QueryError};
use linkwell_domain::time::Timestamp;

/// How a property's literals are parsed and which operators make sense for it.
#[derive(Debug, Clone, Copy)]
pub enum FieldKind {
    Text,
    /// Fixed-width UTC text; literals are dates or date-times, normalised by [`normalize_timestamp`].
    Timestamp,
    Integer,
    /// One of a closed set of names, matched case-insensitively and bound in this canonical spelling.
    Enum(&'static [&'static str]),
}

/// Where a property's value lives.
#[derive(Debug, Clone, Copy)]
pub enum FieldSource {
    /// A column (or SQL expression) of the row being listed, e.g. "c.name".
    Column(&'static str),
    /// A field of related rows: EXISTS (SELECT 1 FROM {from} WHERE {join} AND {column} <op> $n)
    Related {
        from: &'static str,
        join: &'static str,
        column: &'static str,
    },
    /// Key/value rows, addressed as `{prefix}.{key}` (e.g. tags.region):
    /// EXISTS (SELECT 1 FROM {from} WHERE {join} AND {key_column} = $k AND {value_column} <op> $v)
    KeyValue {
        from: &'static str,
        join: &'static str,
        key_column: &'static str,
        value_column: &'static str,
    },
}

/// One addressable property. `path` is the dotted name users write ("name", "dataConnections.status"); for a
/// `KeyValue` source it is the prefix ("tags"), and an empty prefix makes every path a key (the `tags`
/// parameter, where `region=uk` means the tag named region).
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub path: &'static str,
    pub kind: FieldKind,
    pub source: FieldSource,
}

/// The properties of one listed resource; `resource` names it in error messages.
#[derive(Debug, Clone, Copy)]
pub struct FieldMap {
    pub resource: &'static str,
    pub fields: &'static [Field],
}

#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    Text(String),
    Integer(i64),
    Real(f64),
}

/// A boolean SQL condition and the parameters its placeholders refer to, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlFragment {
    pub sql: String,
    pub params: Vec<SqlParam>,
}

/// Compiles `expr` into a condition over the map's fields. first_placeholder: the number of the first `$n` to
/// use (the caller already binds $1..$(first_placeholder-1)).
pub fn compile_filter(
    expr: &Expr,
    map: &FieldMap,
    first_placeholder: usize,
) -> Result<SqlFragment, QueryError> {
    let mut compiler = Compiler {
        map,
        first_placeholder,
        params: Vec::new(),
    };
    let sql = compiler.expr(expr)?;
    Ok(SqlFragment {
        sql,
        params: compiler.params,
    })
}

/// An "ORDER BY"-less list like "c.name ASC, c.created DESC". Only `Column` fields are sortable: sorting by
/// related or key/value rows has no single value per row.
pub fn compile_order(order: &OrderBy, map: &FieldMap) -> Result<String, QueryError> {
    let mut keys = Vec::with_capacity(order.0.len());
    for key in &order.0 {
        let resolved = resolve(map, &key.path)?;
        let FieldSource::Column(column) = resolved.field.source else {
            let sortable: Vec<&str> = map
                .fields
                .iter()
                .filter(|field| matches!(field.source, FieldSource::Column(_)))
                .map(|field| field.path)
                .collect();
            return Err(QueryError::new(format!(
                "cannot sort {} by '{}'; sortable properties: {}",
                map.resource,
                resolved.name,
                sortable.join(", ")
            )));
        };
        let direction = if key.descending { "DESC" } else { "ASC" };
        keys.push(format!("{column} {direction}"));
    }
    Ok(keys.join(", "))
}

/// The storage form (`YYYY-MM-DDTHH:MM:SS.mmmZ`, UTC) of a date (`2024-01-31`, meaning its midnight UTC) or a
/// date-time (`2024-01-31T10:00:00`, optional fraction, optional `Z` or `±HH:MM` offset, UTC if none).
/// Fractions beyond milliseconds are truncated, as stored timestamps are. `None` if it is neither.
pub fn normalize_timestamp(literal: &str) -> Option<String> {
    let text = literal.trim().as_bytes();
    if text.len() < 10 || text[4] != b'-' || text[7] != b'-' {
        return None;
    }
    let year = i32::try_from(digits(&text[0..4])?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, digits(&text[5..7])?, digits(&text[8..10])?)?;
    let mut time = NaiveTime::MIN;
    let mut offset_seconds = 0;
    let rest = &text[10..];
    if !rest.is_empty() {
        if rest.len() < 9
            || !matches!(rest[0], b'T' | b't' | b' ')
            || rest[3] != b':'
            || rest[6] != b':'
        {
            return None;
        }
        let (hour, minute, second) = (
            digits(&rest[1..3])?,
            digits(&rest[4..6])?,
            digits(&rest[7..9])?,
        );
        let mut zone = &rest[9..];
        let mut nanos = 0;
        if let Some(fraction) = zone.strip_prefix(b".") {
            let count = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
            if count == 0 || count > 9 {
                return None;
            }
            nanos = digits(&fraction[..count])? * 10u32.pow(9 - count as u32);
            zone = &fraction[count..];
        }
        time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
        offset_seconds = match zone {
            [] | [b'Z'] | [b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let (hours, minutes) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
                if hours > 23 || minutes > 59 {
                    return None;
                }
                let seconds = i64::from(hours * 3600 + minutes * 60);
                if *sign == b'-' {
                    -seconds
                } else {
                    seconds
                }
            }
            _ => return None,
        };
    }
    // Local time minus its offset is UTC.
    let utc = date
        .and_time(time)
        .checked_sub_signed(TimeDelta::seconds(offset_seconds))?;
    // Outside four-digit years the storage form would lose its fixed width, and with it its text order.
    if !(0..=9999).contains(&chrono::Datelike::year(&utc)) {
        return None;
    }
    Some(Timestamp::from_datetime(utc.and_utc()).to_storage())
}

/// A non-empty run of ASCII digits as a number.
fn digits(text: &[u8]) -> Option<u32> {
    if text.is_empty() || text.len() > 9 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        text.iter()
            .fold(0, |acc, digit| acc * 10 + u32::from(digit - b'0')),
    )
}

/// A user's path matched to a field: `name` is the property as messages show it, `key` the key of a
/// key/value field.
struct Resolved<'m> {
    field: &'m Field,
    name: String,
    key: Option<String>,
}

/// The longest field whose path is the user's path, or (key/value) a prefix of it followed by exactly one key
/// segment. Property names match case-insensitively (Codat users write `Name` as often as `name`); keys are
/// data and keep their case.
fn resolve<'m>(map: &'m FieldMap, path: &Path) -> Result<Resolved<'m>, QueryError> {
    let dotted = path.dotted();
    let segments = path.segments();
    let mut best: Option<(usize, Resolved<'m>)> = None;
    for field in map.fields {
        let candidate = match field.source {
            FieldSource::KeyValue { .. } if field.path.is_empty() => Resolved {
                field,
                name: dotted.clone(),
                key: Some(dotted.clone()),
            },
            FieldSource::KeyValue { .. } => {
                let Some((key, prefix)) = segments.split_last() else {
                    continue;
                };
                if prefix.is_empty() || !prefix.join(".").eq_ignore_ascii_case(field.path) {
                    continue;
                }
                Resolved {
                    field,
                    name: format!("{}.{key}", field.path),
                    key: Some(key.clone()),
                }
            }
            _ if dotted.eq_ignore_ascii_case(field.path) => Resolved {
                field,
                name: field.path.to_owned(),
                key: None,
            },
            _ => continue,
        };
        if best
            .as_ref()
            .is_none_or(|(length, _)| field.path.len() > *length)
        {
            best = Some((field.path.len(), candidate));
        }
    }
    best.map(|(_, resolved)| resolved)
        .ok_or_else(|| unknown_property(map, &dotted))
}

fn unknown_property(map: &FieldMap, dotted: &str) -> QueryError {
    let known: Vec<String> = map
        .fields
        .iter()
        .filter(|field| !field.path.is_empty())
        .map(|field| match field.source {
            FieldSource::KeyValue { .. } => format!("{}.<key>", field.path),
            _ => field.path.to_owned(),
        })
        .collect();
    QueryError::new(format!(
        "unknown property '{dotted}' for {}; known properties: {}",
        map.resource,
        known.join(", ")
    ))
}

struct Compiler<'m> {
    map: &'m FieldMap,
    first_placeholder: usize,
    params: Vec<SqlParam>,
}

impl Compiler<'_> {
    /// Records a parameter and returns its placeholder. Placeholders are handed out in the order they appear
    /// in the SQL text, so they are numbered consecutively.
    fn bind(&mut self, param: SqlParam) -> String {
        self.params.push(param);
        format!("${}", self.first_placeholder + self.params.len() - 1)
    }

    fn expr(&mut self, expr: &Expr) -> Result<String, QueryError> {
        match expr {
            Expr::Compare { path, op, value } => self.compare(path, *op, value),
            Expr::And(children) => self.join(children, " AND ", "1=1"),
            Expr::Or(children) => self.join(children, " OR ", "1=0"),
        }
    }

    /// `empty` is the identity of the connective; the parser never produces an empty node, but a hand-built
    /// one still compiles to valid SQL.
    fn join(
        &mut self,
        children: &[Expr],
        connective: &str,
        empty: &str,
    ) -> Result<String, QueryError> {
        if children.is_empty() {
            return Ok(format!("({empty})"));
        }
        let parts = children
            .iter()
            .map(|child| self.expr(child))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(format!("({})", parts.join(connective)))
    }

    fn compare(&mut self, path: &Path, op: Op, value: &str) -> Result<String, QueryError> {
        let resolved = resolve(self.map, path)?;
        let literal = literal(resolved.field.kind, &resolved.name, op, value)?;
        Ok(match resolved.field.source {
            FieldSource::Column(column) => {
                let placeholder = self.bind(literal);
                condition(column, op, &placeholder)
            }
            // `!=` over related rows means "none of them equals", so that `dataConnections.status!=Linked`
            // finds companies without a linked connection rather than any company with another connection.
            FieldSource::Related { from, join, column } => {
                let placeholder = self.bind(literal);
                if op == Op::Ne {
                    format!("NOT EXISTS (SELECT 1 FROM {from} WHERE {join} AND {column} = {placeholder})")
                } else {
                    let condition = condition(column, op, &placeholder);
                    format!("EXISTS (SELECT 1 FROM {from} WHERE {join} AND {condition})")
                }
            }
            FieldSource::KeyValue {
                from,
                join,
                key_column,
                value_column,
            } => {
                let key = self.bind(SqlParam::Text(resolved.key.unwrap_or_default()));
                let placeholder = self.bind(literal);
                if op == Op::Ne {
                    format!(
                        "NOT EXISTS (SELECT 1 FROM {from} WHERE {join} AND {key_column} = {key} \
                         AND {value_column} = {placeholder})"
                    )
                } else {
                    let condition = condition(value_column, op, &placeholder);
                    format!("EXISTS (SELECT 1 FROM {from} WHERE {join} AND {key_column} = {key} AND {condition})")
                }
            }
        })
    }
}

/// `column <op> placeholder`, with `!=` also matching NULL (a company without a description is not named
/// "x", so it belongs in `description!=x`).
fn condition(column: &str, op: Op, placeholder: &str) -> String {
    match op {
        Op::Contains => format!("LOWER({column}) LIKE {placeholder} ESCAPE '\\'"),
        Op::Ne => format!("({column} IS NULL OR {column} <> {placeholder})"),
        Op::Eq => format!("{column} = {placeholder}"),
        Op::Gt => format!("{column} > {placeholder}"),
        Op::Lt => format!("{column} < {placeholder}"),
        Op::Ge => format!("{column} >= {placeholder}"),
        Op::Le => format!("{column} <= {placeholder}"),
    }
}

/// Parses the literal as the field's kind says, refusing operators that mean nothing for it.
fn literal(kind: FieldKind, name: &str, op: Op, value: &str) -> Result<SqlParam, QueryError> {
    let refuse = |allowed: &str| {
        QueryError::new(format!(
            "operator '{}' cannot be used with {name}; use {allowed}",
            op.symbol()
        ))
    };
    match kind {
        // Both databases fold only ASCII here (SQLite's LOWER always, PostgreSQL's under the "C" collation of
        // our columns), so the literal is folded the same way and both backends agree on every match.
        FieldKind::Text if op == Op::Contains => Ok(SqlParam::Text(format!(
            "%{}%",
            escape_like(&value.to_ascii_lowercase())
        ))),
        FieldKind::Text => Ok(SqlParam::Text(value.to_owned())),
        FieldKind::Enum(names) => {
            if !matches!(op, Op::Eq | Op::Ne) {
                return Err(refuse("= or !="));
            }
            let canonical = names
                .iter()
                .find(|candidate| candidate.eq_ignore_ascii_case(value.trim()))
                .ok_or_else(|| {
                    QueryError::new(format!(
                        "'{value}' is not a valid value for {name}; expected one of {}",
                        names.join(", ")
                    ))
                })?;
            Ok(SqlParam::Text((*canonical).to_owned()))
        }
        FieldKind::Integer => {
            if op == Op::Contains {
                return Err(refuse("=, !=, >, <, >= or <="));
            }
            value
                .trim()
                .parse::<i64>()
                .map(SqlParam::Integer)
                .map_err(|_| QueryError::new(format!("'{value}' is not a whole number for {name}")))
        }
        FieldKind::Timestamp => {
            if op == Op::Contains {
                return Err(refuse("=, !=, >, <, >= or <="));
            }
            normalize_timestamp(value)
                .map(SqlParam::Text)
                .ok_or_else(|| {
                    QueryError::new(format!("'{value}' is not a date or date-time for {name}"))
                })
        }
    }
}

/// Makes `%`, `_` and the escape character itself match literally in a `LIKE ... ESCAPE '\'` pattern.
pub(crate) fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests;
