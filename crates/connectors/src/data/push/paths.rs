//! The platform's names of a pushed record's fields translated back into the standard model's paths, so
//! a platform's field errors name the fields the client sent.

use serde_json::Value;

use crate::data::push::{billing_index, lookup, Field, Kind, PushSpec};

/// The platform's path of a field (`lines[2].item_id`) as its path in the standard model
/// (`lineItems[2].itemRef.id`), for the record that was pushed. A path the description does not know is
/// answered as the nearest known parent, or as it is.
pub(crate) fn standard_path(spec: &PushSpec, record: &Value, platform_path: &str) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    collect_paths(spec.fields, "", "", record, &mut pairs);
    pairs.extend(
        spec.rule_paths
            .iter()
            .map(|(platform, standard)| ((*platform).to_owned(), (*standard).to_owned())),
    );
    let (pattern, indexes) = index_pattern(platform_path);
    let mut candidate = pattern.as_str();
    loop {
        if let Some((_, standard)) = pairs.iter().find(|(platform, _)| platform == candidate) {
            return fill_indexes(standard, &indexes);
        }
        match candidate.rfind(['.', '[']) {
            Some(cut) => candidate = &candidate[..cut],
            None => return platform_path.to_owned(),
        }
    }
}

/// Pairs of (platform path pattern, standard path pattern) for `fields`; addresses use the index of the
/// billing address in `record`.
fn collect_paths(
    fields: &[Field],
    platform_prefix: &str,
    standard_prefix: &str,
    record: &Value,
    pairs: &mut Vec<(String, String)>,
) {
    for field in fields {
        let Some(name) = field.platform else {
            continue;
        };
        let platform = format!("{platform_prefix}{name}");
        let standard = format!("{standard_prefix}{}", field.standard);
        pairs.push((platform.clone(), standard.clone()));
        match &field.kind {
            Kind::Lines(lines) => {
                pairs.push((format!("{platform}[]"), format!("{standard}[]")));
                collect_paths(
                    lines.fields,
                    &format!("{platform}[]."),
                    &format!("{standard}[]."),
                    &Value::Null,
                    pairs,
                );
            }
            Kind::Address(address) => {
                let chosen = lookup(record, field.standard)
                    .ok()
                    .flatten()
                    .map_or(0, billing_index);
                collect_paths(
                    address,
                    &format!("{platform}."),
                    &format!("{standard}[{chosen}]."),
                    &Value::Null,
                    pairs,
                );
            }
            _ => {}
        }
    }
}

/// `lines[2].item_id` → (`lines[].item_id`, [2]).
fn index_pattern(path: &str) -> (String, Vec<String>) {
    let mut pattern = String::with_capacity(path.len());
    let mut indexes = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('[') {
        pattern.push_str(&rest[..=open]);
        let after = &rest[open + 1..];
        let close = after.find(']').unwrap_or(after.len());
        indexes.push(after[..close].to_owned());
        rest = &after[close..];
    }
    pattern.push_str(rest);
    (pattern, indexes)
}

/// `lineItems[].itemRef.id` with [2] → `lineItems[2].itemRef.id`.
fn fill_indexes(pattern: &str, indexes: &[String]) -> String {
    let mut filled = String::with_capacity(pattern.len() + 4);
    let mut next = indexes.iter();
    let mut rest = pattern;
    while let Some(open) = rest.find("[]") {
        filled.push_str(&rest[..=open]);
        filled.push_str(next.next().map_or("0", String::as_str));
        filled.push(']');
        rest = &rest[open + 2..];
    }
    filled.push_str(rest);
    filled
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::data::push::tests::SPEC;

    #[test]
    fn platform_paths_translate_to_standard_paths() {
        let record = json!({"addresses": [{"type": "Delivery"}, {"type": "Billing"}]});
        for (platform, standard) in [
            ("customer_id", "customerRef.id"),
            ("lines[3].item_id", "lineItems[3].itemRef.id"),
            ("lines[1].unit_price_minor", "lineItems[1].unitAmount"),
            ("lines[1].something_new", "lineItems[1]"),
            ("lines", "lineItems"),
            ("billing_address.country", "addresses[1].country"),
            ("invoice_id", "lines[0].links[0].id"),
            ("unknown_field", "unknown_field"),
        ] {
            assert_eq!(
                standard_path(&SPEC, &record, platform),
                standard,
                "{platform}"
            );
        }
    }
}
