//! In-memory evaluation of a query against a JSON document, for lists that are not in the database (the
//! integrations catalogue). The semantics mirror the SQL the store generates: arrays are existential (like
//! `EXISTS` over related rows), `!=` means "no element equals" (like `NOT EXISTS`), and a missing or null
//! property matches only `!=` (like a NULL column).

use std::cmp::Ordering;

use serde_json::Value;

use super::{Expr, Op, Path};

/// Whether `doc` satisfies `expr`.
pub fn eval_json(expr: &Expr, doc: &Value) -> bool {
    match expr {
        Expr::Compare { path, op, value } => compare_path(doc, path, *op, value),
        Expr::And(children) => children.iter().all(|child| eval_json(child, doc)),
        Expr::Or(children) => children.iter().any(|child| eval_json(child, doc)),
    }
}

fn compare_path(doc: &Value, path: &Path, op: Op, literal: &str) -> bool {
    let mut leaves = Vec::new();
    collect_leaves(doc, path.segments(), &mut leaves);
    match op {
        Op::Ne => !leaves
            .iter()
            .any(|leaf| compare_value(leaf, Op::Eq, literal)),
        _ => leaves.iter().any(|leaf| compare_value(leaf, op, literal)),
    }
}

/// Every non-null value the path reaches; arrays anywhere along the way (or at the end) fan out.
fn collect_leaves<'a>(value: &'a Value, segments: &[String], leaves: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => {
            for item in items {
                collect_leaves(item, segments, leaves);
            }
        }
        Value::Null => {}
        _ => match segments.split_first() {
            None => leaves.push(value),
            Some((segment, rest)) => {
                if let Some(child) = property(value, segment) {
                    collect_leaves(child, rest, leaves);
                }
            }
        },
    }
}

/// Users write `Name` as often as `name`, and the SQL side matches property names case-insensitively too; an
/// exact key still wins when a document has both spellings.
fn property<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    let object = value.as_object()?;
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, child)| child)
    })
}

fn compare_value(value: &Value, op: Op, literal: &str) -> bool {
    match value {
        Value::Number(number) => match (number.as_f64(), literal.trim().parse::<f64>()) {
            (Some(actual), Ok(expected)) if op != Op::Contains => {
                holds(actual.partial_cmp(&expected), op)
            }
            _ => compare_text(&number.to_string(), op, literal),
        },
        Value::Bool(flag) => {
            let text = if *flag { "true" } else { "false" };
            compare_text(text, op, &literal.to_ascii_lowercase())
        }
        Value::String(text) => compare_text(text, op, literal),
        // Objects (and nulls, which never get here) equal no literal.
        _ => false,
    }
}

fn compare_text(actual: &str, op: Op, literal: &str) -> bool {
    match op {
        Op::Contains => actual.to_lowercase().contains(&literal.to_lowercase()),
        _ => holds(Some(actual.cmp(literal)), op),
    }
}

/// Whether an ordering of actual against expected satisfies `op`; an unordered pair (NaN) satisfies none.
fn holds(ordering: Option<Ordering>, op: Op) -> bool {
    let Some(ordering) = ordering else {
        return false;
    };
    match op {
        Op::Eq => ordering == Ordering::Equal,
        Op::Ne => ordering != Ordering::Equal,
        Op::Gt => ordering == Ordering::Greater,
        Op::Lt => ordering == Ordering::Less,
        Op::Ge => ordering != Ordering::Less,
        Op::Le => ordering != Ordering::Greater,
        Op::Contains => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_query;
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "key": "mqjo",
            "name": "Sandbox Ledger",
            "rank": 3,
            "ratio": 0.5,
            "enabled": true,
            "note": null,
            "sourceTypes": ["Accounting", "Banking"],
            "meta": { "region": "uk", "tier": { "level": 2 } },
            "connections": [
                { "status": "Linked", "scopes": ["read", "write"] },
                { "status": "Deauthorized", "scopes": [] }
            ]
        })
    }

    fn matches(query: &str) -> bool {
        eval_json(&parse_query(query).unwrap(), &doc())
    }

    #[test]
    fn string_operators() {
        assert!(matches("name=Sandbox Ledger"));
        assert!(!matches("name=sandbox ledger"));
        assert!(matches("name!=Other"));
        assert!(!matches("name!=Sandbox Ledger"));
        assert!(matches("name~LEDGER"));
        assert!(!matches("name~xero"));
        assert!(matches("name>Sand"));
        assert!(matches("name<T"));
        assert!(matches("name>=Sandbox Ledger"));
        assert!(matches("name<=Sandbox Ledger"));
        assert!(!matches("name<Sandbox Ledger"));
    }

    #[test]
    fn numbers_compare_numerically_when_the_literal_is_a_number() {
        assert!(matches("rank=3"));
        assert!(matches("rank=3.0"));
        assert!(matches("rank>2.5"));
        assert!(matches("rank<10"), "10 would sort before 3 as text");
        assert!(matches("rank>=3 && rank<=3"));
        assert!(matches("rank!=4"));
        assert!(!matches("rank!=3"));
        assert!(matches("ratio<1"));
        assert!(matches("rank~3"), "contains works on the number's text");
        assert!(!matches("rank=three"));
        assert!(!matches("rank=NaN"));
    }

    #[test]
    fn booleans_compare_case_insensitively() {
        assert!(matches("enabled=true"));
        assert!(matches("enabled=TRUE"));
        assert!(!matches("enabled=false"));
        assert!(matches("enabled!=False"));
    }

    #[test]
    fn nested_objects_and_arrays() {
        assert!(matches("meta.region=uk"));
        assert!(matches("meta.tier.level>1"));
        assert!(matches("sourceTypes=Banking"));
        assert!(matches("sourceTypes~account"));
        assert!(!matches("sourceTypes=Commerce"));
        assert!(matches("sourceTypes!=Commerce"));
        assert!(
            !matches("sourceTypes!=Banking"),
            "!= holds only if no element equals"
        );
        assert!(matches("connections.status=Deauthorized"));
        assert!(!matches("connections.status!=Linked"));
        assert!(matches("connections.scopes=write"));
    }

    #[test]
    fn missing_and_null_properties_match_only_not_equal() {
        for op in ["=", "~", ">", "<", ">=", "<="] {
            assert!(!matches(&format!("missing{op}x")), "{op}");
            assert!(!matches(&format!("note{op}x")), "{op}");
            assert!(!matches(&format!("name.deeper{op}x")), "{op}");
        }
        assert!(matches("missing!=x"));
        assert!(matches("note!=x"));
        assert!(matches("meta!=x"), "an object equals no literal");
    }

    #[test]
    fn property_names_fall_back_to_case_insensitive() {
        assert!(matches("Name=Sandbox Ledger"));
        assert!(matches("META.Region=uk"));
        let both = json!({ "name": "lower", "Name": "upper" });
        assert!(eval_json(&parse_query("Name=upper").unwrap(), &both));
        assert!(eval_json(&parse_query("name=lower").unwrap(), &both));
    }

    #[test]
    fn connectives() {
        assert!(matches("key=mqjo && {rank=1 || meta.region=uk}"));
        assert!(!matches("key=mqjo && {rank=1 || meta.region=fr}"));
        assert!(matches("key=xxxx || rank=1 || enabled=true"));
    }
}
