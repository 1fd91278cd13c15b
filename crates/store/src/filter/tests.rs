//! The compiler's output for each kind and source, its errors, and (against in-memory SQLite) that the
//! generated SQL runs and selects the expected rows.

use super::*;
use linkwell_domain::query::{parse_order_by, parse_query};
use proptest::prelude::*;

const STATUSES: &[&str] = &["PendingAuth", "Linked", "Deauthorized", "Unlinked"];

const TAGS: FieldSource = FieldSource::KeyValue {
    from: "tags t",
    join: "t.company_id = c.id",
    key_column: "t.key",
    value_column: "t.value",
};

const fn related(column: &'static str) -> FieldSource {
    FieldSource::Related {
        from: "connections x",
        join: "x.company_id = c.id",
        column,
    }
}

const fn field(path: &'static str, kind: FieldKind, source: FieldSource) -> Field {
    Field { path, kind, source }
}

static COMPANIES: FieldMap = FieldMap {
    resource: "companies",
    fields: &[
        field("id", FieldKind::Text, FieldSource::Column("c.id")),
        field("name", FieldKind::Text, FieldSource::Column("c.name")),
        field(
            "description",
            FieldKind::Text,
            FieldSource::Column("c.description"),
        ),
        field(
            "created",
            FieldKind::Timestamp,
            FieldSource::Column("c.created"),
        ),
        field("rank", FieldKind::Integer, FieldSource::Column("c.rank")),
        field("tags", FieldKind::Text, TAGS),
        // Longer than the "tags" prefix, so it wins for this one path.
        field(
            "tags.special",
            FieldKind::Integer,
            FieldSource::Column("c.rank"),
        ),
        field(
            "dataConnections.status",
            FieldKind::Enum(STATUSES),
            related("x.status"),
        ),
        field(
            "dataConnections.platform",
            FieldKind::Text,
            related("x.platform"),
        ),
    ],
};

static TAG_PARAMETER: FieldMap = FieldMap {
    resource: "company tags",
    fields: &[field("", FieldKind::Text, TAGS)],
};

fn compile(query: &str) -> Result<SqlFragment, String> {
    compile_filter(&parse_query(query).unwrap(), &COMPANIES, 1).map_err(|error| error.message)
}

fn sql(query: &str) -> (String, Vec<SqlParam>) {
    let fragment = compile(query).unwrap();
    (fragment.sql, fragment.params)
}

fn text(value: &str) -> SqlParam {
    SqlParam::Text(value.to_owned())
}

#[test]
fn text_columns() {
    assert_eq!(
        sql("name=Acme Ltd"),
        ("c.name = $1".into(), vec![text("Acme Ltd")])
    );
    assert_eq!(sql("NAME>b").0, "c.name > $1", "property names ignore case");
    assert_eq!(sql("name<b").0, "c.name < $1");
    assert_eq!(sql("name>=b").0, "c.name >= $1");
    assert_eq!(sql("name<=b").0, "c.name <= $1");
    assert_eq!(
        sql("description!=x"),
        (
            "(c.description IS NULL OR c.description <> $1)".into(),
            vec![text("x")]
        )
    );
}

#[test]
fn contains_is_a_case_insensitive_escaped_like() {
    assert_eq!(
        sql(r#"name~"50%_Off\\ACME""#),
        (
            r"LOWER(c.name) LIKE $1 ESCAPE '\'".into(),
            vec![text(r"%50\%\_off\\acme%")]
        )
    );
}

#[test]
fn enums_bind_the_canonical_spelling() {
    assert_eq!(
        sql("dataConnections.status=linked"),
        (
            "EXISTS (SELECT 1 FROM connections x WHERE x.company_id = c.id AND x.status = $1)"
                .into(),
            vec![text("Linked")]
        )
    );
    assert_eq!(
        compile("dataConnections.status=Gone").unwrap_err(),
        "'Gone' is not a valid value for dataConnections.status; expected one of PendingAuth, \
         Linked, Deauthorized, Unlinked"
    );
    assert_eq!(
        compile("dataConnections.status~Link").unwrap_err(),
        "operator '~' cannot be used with dataConnections.status; use = or !="
    );
}

#[test]
fn related_not_equal_means_none_equals() {
    assert_eq!(
        sql("dataConnections.status!=Linked").0,
        "NOT EXISTS (SELECT 1 FROM connections x WHERE x.company_id = c.id AND x.status = $1)"
    );
    assert_eq!(
        sql("dataConnections.platform~xe").0,
        "EXISTS (SELECT 1 FROM connections x WHERE x.company_id = c.id AND LOWER(x.platform) LIKE $1 \
         ESCAPE '\\')"
    );
}

#[test]
fn key_value_fields_bind_key_then_value() {
    assert_eq!(
        sql("tags.Region=uk"),
        (
            "EXISTS (SELECT 1 FROM tags t WHERE t.company_id = c.id AND t.key = $1 AND t.value = $2)".into(),
            vec![text("Region"), text("uk")]
        )
    );
    assert_eq!(
        sql("TAGS.region!=uk").0,
        "NOT EXISTS (SELECT 1 FROM tags t WHERE t.company_id = c.id AND t.key = $1 AND t.value = $2)"
    );
    assert_eq!(
        sql("tags.special=3").1,
        vec![SqlParam::Integer(3)],
        "the longest path wins"
    );
    let fragment = compile_filter(&parse_query("region=uk").unwrap(), &TAG_PARAMETER, 1).unwrap();
    assert_eq!(fragment.params, vec![text("region"), text("uk")]);
    let fragment = compile_filter(&parse_query("a.b~x").unwrap(), &TAG_PARAMETER, 1).unwrap();
    assert_eq!(fragment.params, vec![text("a.b"), text("%x%")]);
}

#[test]
fn integers_and_timestamps() {
    assert_eq!(
        sql("rank>=10"),
        ("c.rank >= $1".into(), vec![SqlParam::Integer(10)])
    );
    assert_eq!(
        compile("rank=ten").unwrap_err(),
        "'ten' is not a whole number for rank"
    );
    assert_eq!(
        compile("rank~1").unwrap_err(),
        "operator '~' cannot be used with rank; use =, !=, >, <, >= or <="
    );
    assert_eq!(
        sql("created>2024-01-31"),
        (
            "c.created > $1".into(),
            vec![text("2024-01-31T00:00:00.000Z")]
        )
    );
    assert_eq!(
        compile("created<xyz").unwrap_err(),
        "'xyz' is not a date or date-time for created"
    );
    assert!(compile("created~2024").is_err());
}

#[test]
fn connectives_and_placeholder_numbering() {
    let expr = parse_query("name=a || tags.region=uk && rank<3").unwrap();
    let fragment = compile_filter(&expr, &COMPANIES, 4).unwrap();
    assert_eq!(
        fragment.sql,
        "(c.name = $4 OR (EXISTS (SELECT 1 FROM tags t WHERE t.company_id = c.id AND t.key = $5 AND \
         t.value = $6) AND c.rank < $7))"
    );
    assert_eq!(fragment.params.len(), 4);
    assert_eq!(
        compile_filter(&Expr::And(vec![]), &COMPANIES, 1)
            .unwrap()
            .sql,
        "(1=1)"
    );
}

#[test]
fn unknown_properties() {
    let known =
        "known properties: id, name, description, created, rank, tags.<key>, tags.special, \
                 dataConnections.status, dataConnections.platform";
    assert_eq!(
        compile("foo=1").unwrap_err(),
        format!("unknown property 'foo' for companies; {known}")
    );
    assert!(compile("tags=1")
        .unwrap_err()
        .starts_with("unknown property 'tags' for companies"));
    assert!(
        compile("tags.a.b=1").is_err(),
        "a key is exactly one segment"
    );
    assert!(compile("dataConnections=1").is_err());
}

#[test]
fn order_by_columns_only() {
    let order = parse_order_by("Name,-created").unwrap();
    assert_eq!(
        compile_order(&order, &COMPANIES).unwrap(),
        "c.name ASC, c.created DESC"
    );
    let order = parse_order_by("-dataConnections.status").unwrap();
    assert_eq!(
        compile_order(&order, &COMPANIES).unwrap_err().message,
        "cannot sort companies by 'dataConnections.status'; sortable properties: id, name, \
         description, created, rank, tags.special"
    );
    let order = parse_order_by("tags.region").unwrap();
    assert!(compile_order(&order, &COMPANIES)
        .unwrap_err()
        .message
        .contains("'tags.region'"));
    let order = parse_order_by("nope").unwrap();
    assert!(compile_order(&order, &COMPANIES)
        .unwrap_err()
        .message
        .starts_with("unknown property 'nope'"));
}

#[test]
fn timestamp_normalisation() {
    let cases = [
        ("2024-02-29", Some("2024-02-29T00:00:00.000Z")),
        ("2024-01-31T10:20:30", Some("2024-01-31T10:20:30.000Z")),
        ("2024-01-31 10:20:30.5Z", Some("2024-01-31T10:20:30.500Z")),
        (
            "2024-01-31T10:20:30.123456789z",
            Some("2024-01-31T10:20:30.123Z"),
        ),
        (
            "2024-01-31T00:30:00+01:00",
            Some("2024-01-30T23:30:00.000Z"),
        ),
        (
            "2024-12-31T23:00:00.25-02:30",
            Some("2025-01-01T01:30:00.250Z"),
        ),
        ("0000-01-01", Some("0000-01-01T00:00:00.000Z")),
        ("0000-01-01T00:00:00+00:01", None),
        ("9999-12-31T23:59:59-00:01", None),
        ("2023-02-29", None),
        ("2024-1-31", None),
        ("2024-01-31T", None),
        ("2024-01-31T24:00:00", None),
        ("2024-01-31T10:20:60", None),
        ("2024-01-31T10:20:30.", None),
        ("2024-01-31T10:20:30+1:00", None),
        ("2024-01-31T10:20:30+24:00", None),
        ("2024-01-31Z", None),
        ("2024-01-31T10:20:30 Z", None),
        ("+2024-01-31", None),
        ("２０２４-01-31", None),
        ("", None),
    ];
    for (literal, expected) in cases {
        assert_eq!(
            normalize_timestamp(literal).as_deref(),
            expected,
            "{literal}"
        );
    }
}

fn leaf_strategy(paths: Vec<&'static str>) -> impl Strategy<Value = Expr> {
    let values = prop::sample::select(vec![
        "",
        "x",
        "Linked",
        "linked",
        "42",
        "-7",
        "2024-01-01",
        "2024-01-01T10:00:00+02:00",
        "50%_\\",
        "' OR 1=1 --",
        "$1",
        "日本",
    ]);
    (
        prop::sample::select(paths),
        prop::sample::select(Op::ALL.to_vec()),
        values,
    )
        .prop_map(|(path, op, value)| Expr::Compare {
            path: path.parse().unwrap(),
            op,
            value: value.to_owned(),
        })
}

/// Mostly text properties, which accept every operator and value, so that many whole trees compile; the
/// rest exercise every kind, source and error.
fn expr_strategy() -> impl Strategy<Value = Expr> {
    let text = leaf_strategy(vec![
        "id",
        "NAME",
        "description",
        "tags.region",
        "dataConnections.platform",
    ]);
    let any = leaf_strategy(vec![
        "created",
        "rank",
        "tags.special",
        "tags",
        "dataConnections.status",
        "unknown",
        "a.b.c",
    ]);
    let leaf = prop_oneof![8 => text, 1 => any];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..=3).prop_map(Expr::And),
            prop::collection::vec(inner, 2..=3).prop_map(Expr::Or),
        ]
    })
}

proptest! {
    #[test]
    fn placeholders_are_consecutive_and_match_params(expr in expr_strategy(), first in 1usize..20) {
        let Ok(fragment) = compile_filter(&expr, &COMPANIES, first) else { return Ok(()) };
        let numbers: Vec<usize> = fragment
            .sql
            .split('$')
            .skip(1)
            .map(|rest| {
                let number: String = rest.chars().take_while(char::is_ascii_digit).collect();
                number.parse().unwrap()
            })
            .collect();
        let expected: Vec<usize> = (first..first + fragment.params.len()).collect();
        prop_assert_eq!(numbers, expected);
        // The only quote in the SQL is the static LIKE escape clause: no literal reached the text.
        prop_assert!(!fragment.sql.replace("ESCAPE '\\'", "").contains('\''));
    }
}

/// Runs compiled fragments on in-memory SQLite through the same `Any` driver the store uses.
mod sqlite {
    use super::*;
    use sqlx::any::{AnyPoolOptions, AnyRow};
    use sqlx::{AnyPool, Row};

    async fn database() -> AnyPool {
        sqlx::any::install_default_drivers();
        // One connection: every connection to `sqlite::memory:` is a database of its own.
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let setup = [
            "CREATE TABLE companies (id TEXT NOT NULL, name TEXT NOT NULL, description TEXT, \
             created TEXT NOT NULL, rank INTEGER)",
            "CREATE TABLE tags (company_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL)",
            "CREATE TABLE connections (company_id TEXT NOT NULL, status TEXT NOT NULL, platform TEXT NOT NULL)",
            "INSERT INTO companies VALUES \
             ('a', 'Acme Ltd', 'anvils', '2024-01-01T00:00:00.000Z', 1), \
             ('b', 'Bolt 50% Off', NULL, '2024-06-01T12:00:00.000Z', 20), \
             ('c', 'Crate_Co', 'crates', '2025-01-01T00:00:00.000Z', NULL)",
            "INSERT INTO tags VALUES ('a', 'region', 'uk'), ('a', 'tier', 'gold'), ('b', 'region', 'fr')",
            "INSERT INTO connections VALUES ('a', 'Linked', 'Xero'), ('a', 'Deauthorized', 'QuickBooks'), \
             ('b', 'PendingAuth', 'Xero')",
        ];
        for statement in setup {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        pool
    }

    /// The ids the query selects; `$1` is taken by the caller's own condition, as in the store.
    async fn select(pool: &AnyPool, map: &FieldMap, query: &str) -> Vec<String> {
        let fragment = compile_filter(&parse_query(query).unwrap(), map, 2).unwrap();
        run(pool, fragment).await.unwrap()
    }

    async fn run(pool: &AnyPool, fragment: SqlFragment) -> Result<Vec<String>, sqlx::Error> {
        let sql = format!(
            "SELECT c.id FROM companies c WHERE c.id <> $1 AND {} ORDER BY c.id",
            fragment.sql
        );
        let mut statement = sqlx::query(&sql).bind("nobody");
        for param in fragment.params {
            statement = match param {
                SqlParam::Text(value) => statement.bind(value),
                SqlParam::Integer(value) => statement.bind(value),
                SqlParam::Real(value) => statement.bind(value),
            };
        }
        let rows: Vec<AnyRow> = statement.fetch_all(pool).await?;
        Ok(rows.iter().map(|row| row.get::<String, _>(0)).collect())
    }

    #[tokio::test]
    async fn compiled_filters_select_the_expected_rows() {
        let pool = database().await;
        let cases: &[(&str, &[&str])] = &[
            ("name=Acme Ltd", &["a"]),
            ("name~LTD", &["a"]),
            ("name~50%", &["b"]),
            ("name~%", &["b"]),
            ("name~_", &["c"]),
            ("name~e_c", &["c"]),
            ("name>B", &["b", "c"]),
            ("description=anvils", &["a"]),
            ("description!=anvils", &["b", "c"]),
            ("description~s", &["a", "c"]),
            ("created>=2024-06-01T14:00:00+02:00", &["b", "c"]),
            ("created<2024-06-01", &["a"]),
            ("rank>5", &["b"]),
            ("rank!=1", &["b", "c"]),
            ("tags.region=uk", &["a"]),
            ("tags.region!=uk", &["b", "c"]),
            ("tags.region~U", &["a"]),
            ("dataConnections.status=linked", &["a"]),
            ("dataConnections.status!=Linked", &["b", "c"]),
            ("dataConnections.platform=Xero", &["a", "b"]),
            (
                "dataConnections.platform=Xero && dataConnections.status=PendingAuth",
                &["b"],
            ),
            ("name~acme || rank>10 && tags.region=fr", &["a", "b"]),
            ("{name~acme || rank>10} && tags.region=fr", &["b"]),
        ];
        for (query, expected) in cases {
            assert_eq!(select(&pool, &COMPANIES, query).await, *expected, "{query}");
        }
        assert_eq!(select(&pool, &TAG_PARAMETER, "tier=gold").await, ["a"]);
        assert_eq!(
            select(&pool, &TAG_PARAMETER, "region=fr || tier=gold").await,
            ["a", "b"]
        );
    }

    #[tokio::test]
    async fn compiled_order_runs() {
        let pool = database().await;
        let order = compile_order(&parse_order_by("-created").unwrap(), &COMPANIES).unwrap();
        let rows = sqlx::query(&format!("SELECT c.id FROM companies c ORDER BY {order}"))
            .fetch_all(&pool)
            .await
            .unwrap();
        let ids: Vec<String> = rows.iter().map(|row| row.get::<String, _>(0)).collect();
        assert_eq!(ids, ["c", "b", "a"]);
    }

    /// Every shape the compiler can produce is valid SQL, not just the hand-picked ones above.
    #[test]
    fn random_compiled_filters_execute() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let pool = runtime.block_on(database());
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(128));
        runner
            .run(&expr_strategy(), |expr| {
                if let Ok(fragment) = compile_filter(&expr, &COMPANIES, 2) {
                    let sql = fragment.sql.clone();
                    let result = runtime.block_on(run(&pool, fragment));
                    prop_assert!(result.is_ok(), "{sql}: {result:?}");
                }
                Ok(())
            })
            .unwrap();
    }
}
