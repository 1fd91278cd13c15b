//! The canonical text of a query: what [`super::parse_query`] reads back to an equal [`Expr`]. Used for logs and
//! for echoing a normalised query to the user.

use std::fmt;

use super::Expr;

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_expr(self, f, false)
    }
}

/// `inside_and`: the parent is an `And`, so an `Or` here needs braces to keep its meaning.
fn write_expr(expr: &Expr, f: &mut fmt::Formatter<'_>, inside_and: bool) -> fmt::Result {
    match expr {
        Expr::Compare { path, op, value } => {
            write!(f, "{path}{op}")?;
            write_value(value, f)
        }
        Expr::And(children) => write_joined(children, " && ", f, true),
        Expr::Or(children) => {
            // A one-child Or is just its child and keeps the caller's context.
            let wrap = inside_and && children.len() > 1;
            if wrap {
                f.write_str("{")?;
            }
            write_joined(children, " || ", f, inside_and && !wrap)?;
            if wrap {
                f.write_str("}")?;
            }
            Ok(())
        }
    }
}

/// Connectives are printed with spaces around them so that a bare value ending in `&` or `|` cannot merge with
/// the connective that follows it.
fn write_joined(
    children: &[Expr],
    separator: &str,
    f: &mut fmt::Formatter<'_>,
    inside_and: bool,
) -> fmt::Result {
    for (index, child) in children.iter().enumerate() {
        if index > 0 {
            f.write_str(separator)?;
        }
        write_expr(child, f, inside_and)?;
    }
    Ok(())
}

fn write_value(value: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if !needs_quotes(value) {
        return f.write_str(value);
    }
    f.write_str("\"")?;
    for c in value.chars() {
        if c == '"' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

/// A bare value would be read back differently if it is empty, would lose whitespace to trimming, would end
/// early at a connective or brace, or would start looking like a quoted value. A leading `=` is quoted too:
/// after `>` or `<` it would be read as part of `>=` or `<=`.
fn needs_quotes(value: &str) -> bool {
    value.is_empty()
        || value.starts_with(char::is_whitespace)
        || value.ends_with(char::is_whitespace)
        || value.starts_with('=')
        || value.contains("&&")
        || value.contains("||")
        || value.contains(['{', '}', '"', '\\'])
}

#[cfg(test)]
mod tests {
    use super::super::{parse_query, Op, Path, MAX_QUERY_LENGTH};
    use super::*;
    use proptest::prelude::*;

    fn cmp(dotted: &str, op: Op, value: &str) -> Expr {
        Expr::Compare {
            path: dotted.parse().unwrap(),
            op,
            value: value.into(),
        }
    }

    #[test]
    fn prints_canonical_text() {
        let expr = parse_query("{a=1||b.c != x y}&&d~\"\" || e>=\" t \"").unwrap();
        assert_eq!(expr.to_string(), r#"{a=1 || b.c!=x y} && d~"" || e>=" t ""#);
    }

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(cmp("a", Op::Eq, "Acme Ltd").to_string(), "a=Acme Ltd");
        assert_eq!(cmp("a", Op::Eq, "Tom & Jerry").to_string(), "a=Tom & Jerry");
        assert_eq!(cmp("a", Op::Eq, "x&&y").to_string(), r#"a="x&&y""#);
        assert_eq!(cmp("a", Op::Eq, "x||y").to_string(), r#"a="x||y""#);
        assert_eq!(cmp("a", Op::Eq, "{x").to_string(), r#"a="{x""#);
        assert_eq!(
            cmp("a", Op::Eq, r#"say "hi""#).to_string(),
            r#"a="say \"hi\"""#
        );
        assert_eq!(cmp("a", Op::Eq, r"c:\x").to_string(), r#"a="c:\\x""#);
        assert_eq!(cmp("a", Op::Gt, "=5").to_string(), r#"a>"=5""#);
        assert_eq!(cmp("a", Op::Eq, "").to_string(), r#"a="""#);
        assert_eq!(cmp("a", Op::Eq, " x").to_string(), r#"a=" x""#);
    }

    #[test]
    fn values_ending_in_a_connective_character_survive() {
        let expr = Expr::And(vec![cmp("a", Op::Eq, "x&"), cmp("b", Op::Eq, "|")]);
        assert_eq!(expr.to_string(), "a=x& && b=|");
        assert_eq!(parse_query(&expr.to_string()), Ok(expr));
    }

    fn value_strategy() -> impl Strategy<Value = String> {
        let charset = vec![
            ' ', '\t', '&', '|', '{', '}', '"', '\\', '=', '~', '!', '<', '>', '.', 'a', 'Z', '0',
            '_', 'é', '日', '€', '\u{a0}',
        ];
        prop::collection::vec(prop::sample::select(charset), 0..8)
            .prop_map(|chars| chars.into_iter().collect())
    }

    fn path_strategy() -> impl Strategy<Value = Path> {
        prop::collection::vec("[A-Za-z0-9_]{1,6}", 1..=3).prop_map(Path)
    }

    fn expr_strategy() -> impl Strategy<Value = Expr> {
        let leaf = (
            path_strategy(),
            prop::sample::select(Op::ALL.to_vec()),
            value_strategy(),
        )
            .prop_map(|(path, op, value)| Expr::Compare { path, op, value });
        leaf.prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..=3).prop_map(Expr::all),
                prop::collection::vec(inner, 2..=3).prop_map(Expr::any),
            ]
        })
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(expr in expr_strategy()) {
            let text = expr.to_string();
            prop_assume!(text.chars().count() <= MAX_QUERY_LENGTH);
            prop_assert_eq!(parse_query(&text), Ok(expr), "text: {}", text);
        }
    }
}
