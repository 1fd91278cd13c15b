//! The query language over pulled records. A few properties live in columns (`id`, `modifiedDate`,
//! `sourceModifiedDate`, `metadata.isDeleted`); every other dotted path addresses the record's JSON body, read
//! with each database's JSON functions. Paths are checked by the parser to be runs of `[A-Za-z0-9_]`, so they
//! can be spelled into the SQL text; every literal is a `$n` parameter.
//!
//! Literals are compared the way they look: `true`/`false` with booleans, numbers numerically, anything else
//! as text (ISO dates compare in time order as text).

use linkwell_domain::query::{Expr, Op, OrderBy, Path, QueryError};

use crate::database::Backend;
use crate::filter::{escape_like, normalize_timestamp, SqlFragment, SqlParam};

/// How record rows are named in the listing query (`r.`).
const ALIAS: &str = "r";

enum Target {
    Column(&'static str, ColumnKind),
    Json(Vec<String>),
}

#[derive(Clone, Copy)]
enum ColumnKind {
    Text,
    Timestamp,
    Boolean,
}

fn target(path: &Path) -> Target {
    let dotted = path.dotted();
    match dotted.to_ascii_lowercase().as_str() {
        "id" => Target::Column("r.record_id", ColumnKind::Text),
        "modifieddate" => Target::Column("r.modified", ColumnKind::Timestamp),
        "sourcemodifieddate" => Target::Column("r.source_modified", ColumnKind::Timestamp),
        "metadata.isdeleted" => Target::Column("r.is_deleted", ColumnKind::Boolean),
        _ => Target::Json(path.segments().to_vec()),
    }
}

/// The record's value at `segments`, as SQL. `as_text`: PostgreSQL's text form (SQLite's `json_extract` keeps
/// the JSON type, which is what comparisons need there).
fn json_value(backend: Backend, segments: &[String]) -> String {
    match backend {
        Backend::Sqlite => format!("json_extract({ALIAS}.body, '$.{}')", segments.join(".")),
        Backend::Postgres => format!(
            "(CAST({ALIAS}.body AS jsonb) #>> '{{{}}}')",
            segments.join(",")
        ),
    }
}

/// The value to sort by: typed, so numbers sort as numbers (SQLite's `json_extract` keeps the JSON type;
/// PostgreSQL's jsonb values order numbers numerically and strings as text).
fn json_sort_key(backend: Backend, segments: &[String]) -> String {
    match backend {
        Backend::Sqlite => json_value(backend, segments),
        Backend::Postgres => format!(
            "(CAST({ALIAS}.body AS jsonb) #> '{{{}}}')",
            segments.join(",")
        ),
    }
}

fn json_number(backend: Backend, segments: &[String]) -> String {
    match backend {
        Backend::Sqlite => format!(
            "(CASE WHEN json_type({ALIAS}.body, '$.{path}') IN ('integer', 'real') \
             THEN json_extract({ALIAS}.body, '$.{path}') END)",
            path = segments.join(".")
        ),
        Backend::Postgres => format!(
            "(CASE WHEN jsonb_typeof(CAST({ALIAS}.body AS jsonb) #> '{{{path}}}') = 'number' \
             THEN CAST(CAST({ALIAS}.body AS jsonb) #>> '{{{path}}}' AS double precision) END)",
            path = segments.join(",")
        ),
    }
}

fn json_boolean(backend: Backend, segments: &[String]) -> String {
    match backend {
        // json_extract answers 1/0 for JSON true/false.
        Backend::Sqlite => format!(
            "(CASE WHEN json_type({ALIAS}.body, '$.{path}') IN ('true', 'false') \
             THEN CASE WHEN json_extract({ALIAS}.body, '$.{path}') THEN 'true' ELSE 'false' END END)",
            path = segments.join(".")
        ),
        Backend::Postgres => json_value(backend, segments),
    }
}

fn json_text(backend: Backend, segments: &[String]) -> String {
    match backend {
        Backend::Sqlite => format!(
            "(CASE WHEN json_type({ALIAS}.body, '$.{path}') = 'text' \
             THEN json_extract({ALIAS}.body, '$.{path}') END)",
            path = segments.join(".")
        ),
        Backend::Postgres => format!(
            "(CASE WHEN jsonb_typeof(CAST({ALIAS}.body AS jsonb) #> '{{{path}}}') = 'string' \
             THEN CAST({ALIAS}.body AS jsonb) #>> '{{{path}}}' END)",
            path = segments.join(",")
        ),
    }
}

/// Compiles a record query; `first_placeholder` is the number of the first `$n` to use.
pub fn compile_record_filter(
    expr: &Expr,
    backend: Backend,
    first_placeholder: usize,
) -> Result<SqlFragment, QueryError> {
    let mut compiler = RecordCompiler {
        backend,
        first_placeholder,
        params: Vec::new(),
    };
    let sql = compiler.expr(expr)?;
    Ok(SqlFragment {
        sql,
        params: compiler.params,
    })
}

/// The ORDER BY keys of an `orderBy` over records (without the tie-break).
pub fn compile_record_order(order: &OrderBy, backend: Backend) -> String {
    order
        .0
        .iter()
        .map(|key| {
            let direction = if key.descending { "DESC" } else { "ASC" };
            let expression = match target(&key.path) {
                Target::Column(column, _) => column.to_owned(),
                Target::Json(segments) => json_sort_key(backend, &segments),
            };
            format!("{expression} {direction}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

struct RecordCompiler {
    backend: Backend,
    first_placeholder: usize,
    params: Vec<SqlParam>,
}

impl RecordCompiler {
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
        let name = path.dotted();
        match target(path) {
            Target::Column(column, ColumnKind::Text) => Ok(self.text_condition(column, op, value)),
            Target::Column(column, ColumnKind::Timestamp) => {
                if op == Op::Contains {
                    return Err(refuse(&name, op, "=, !=, >, <, >= or <="));
                }
                let literal = normalize_timestamp(value).ok_or_else(|| {
                    QueryError::new(format!("'{value}' is not a date or date-time for {name}"))
                })?;
                let placeholder = self.bind(SqlParam::Text(literal));
                Ok(comparison(column, op, &placeholder))
            }
            Target::Column(column, ColumnKind::Boolean) => {
                let flag = boolean_literal(&name, op, value)?;
                let placeholder = self.bind(SqlParam::Integer(i64::from(flag)));
                Ok(comparison(column, op, &placeholder))
            }
            Target::Json(segments) => {
                let trimmed = value.trim();
                if trimmed.eq_ignore_ascii_case("true") || trimmed.eq_ignore_ascii_case("false") {
                    let flag = boolean_literal(&name, op, value)?;
                    let expression = json_boolean(self.backend, &segments);
                    let placeholder = self.bind(SqlParam::Text(flag.to_string()));
                    return Ok(comparison(&expression, op, &placeholder));
                }
                if op != Op::Contains {
                    if let Ok(number) = trimmed.parse::<f64>() {
                        if number.is_finite() {
                            let expression = json_number(self.backend, &segments);
                            let placeholder = self.bind(SqlParam::Real(number));
                            return Ok(comparison(&expression, op, &placeholder));
                        }
                    }
                }
                let expression = json_text(self.backend, &segments);
                Ok(self.text_condition(&expression, op, value))
            }
        }
    }

    fn text_condition(&mut self, expression: &str, op: Op, value: &str) -> String {
        if op == Op::Contains {
            let pattern = format!("%{}%", escape_like(&value.to_ascii_lowercase()));
            let placeholder = self.bind(SqlParam::Text(pattern));
            return format!("LOWER({expression}) LIKE {placeholder} ESCAPE '\\'");
        }
        let placeholder = self.bind(SqlParam::Text(value.to_owned()));
        comparison(expression, op, &placeholder)
    }
}

fn refuse(name: &str, op: Op, allowed: &str) -> QueryError {
    QueryError::new(format!(
        "operator '{}' cannot be used with {name}; use {allowed}",
        op.symbol()
    ))
}

fn boolean_literal(name: &str, op: Op, value: &str) -> Result<bool, QueryError> {
    if !matches!(op, Op::Eq | Op::Ne) {
        return Err(refuse(name, op, "= or !="));
    }
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(QueryError::new(format!(
            "'{value}' is not true or false for {name}"
        ))),
    }
}

/// `expression <op> placeholder`; `!=` also matches a missing value.
fn comparison(expression: &str, op: Op, placeholder: &str) -> String {
    match op {
        Op::Ne => format!("({expression} IS NULL OR {expression} <> {placeholder})"),
        Op::Eq => format!("{expression} = {placeholder}"),
        Op::Gt => format!("{expression} > {placeholder}"),
        Op::Lt => format!("{expression} < {placeholder}"),
        Op::Ge => format!("{expression} >= {placeholder}"),
        Op::Le => format!("{expression} <= {placeholder}"),
        Op::Contains => format!("{expression} LIKE {placeholder}"),
    }
}
