//! Codat's `PushOption` document of a pushable data type, made from the same description that checks and
//! maps its pushes, so what linkwell says a push accepts is what it accepts.

use serde_json::{json, Map, Value};

use crate::data::push::{Field, Kind, PushSpec};

/// The `PushOption` of `spec`: an `Object` whose properties are the fields a push accepts, nested as in the
/// standard model, with `options` for fields restricted to a set of values.
pub(crate) fn push_option(spec: &PushSpec) -> Value {
    json!({
        "type": "Object",
        "displayName": spec.display,
        "description": spec.description,
        "required": true,
        "properties": properties(spec.fields),
    })
}

fn properties(fields: &[Field]) -> Value {
    let mut root = Map::new();
    for field in fields {
        let steps: Vec<&str> = field.standard.split('.').collect();
        let (leaf, parents) = steps.split_last().unwrap_or((&"", &[]));
        let mut node = &mut root;
        for parent in parents {
            let (display, description) = group(parent);
            let entry = node.entry((*parent).to_owned()).or_insert_with(|| {
                json!({
                    "type": "Object",
                    "displayName": display,
                    "description": description,
                    "required": false,
                    "properties": {},
                })
            });
            if field.required {
                entry["required"] = json!(true);
            }
            node = match entry.get_mut("properties").and_then(Value::as_object_mut) {
                Some(properties) => properties,
                None => return Value::Object(root),
            };
        }
        node.insert((*leaf).to_owned(), property(field));
    }
    Value::Object(root)
}

fn property(field: &Field) -> Value {
    let kind = match field.kind {
        Kind::Text { .. }
        | Kind::Email
        | Kind::Digits { .. }
        | Kind::Currency
        | Kind::Country
        | Kind::Choice(_) => "String",
        Kind::Amount | Kind::PositiveAmount | Kind::SignedAmount | Kind::Quantity => "Number",
        Kind::Date => "DateTime",
        Kind::Lines(_) | Kind::Address(_) => "Array",
    };
    let mut option = json!({
        "type": kind,
        "displayName": field.display,
        "description": field.description,
        "required": field.required,
    });
    match &field.kind {
        Kind::Choice(choices) => {
            option["options"] = choices
                .values
                .iter()
                .map(|(value, _)| {
                    json!({
                        "value": value,
                        "type": "String",
                        "displayName": value,
                        "required": false,
                    })
                })
                .collect();
        }
        Kind::Lines(lines) => option["properties"] = properties(lines.fields),
        Kind::Address(fields) => option["properties"] = properties(fields),
        _ => {}
    }
    option
}

/// Display name and description of an object that groups fields.
fn group(name: &str) -> (&str, &str) {
    match name {
        "customerRef" => ("Customer", "Reference to a customer."),
        "supplierRef" => ("Supplier", "Reference to a supplier."),
        "accountRef" => (
            "Account",
            "Reference to an account in the chart of accounts.",
        ),
        "itemRef" => ("Item", "Reference to an item."),
        "taxRateRef" => ("Tax rate", "Reference to a tax rate."),
        "paymentMethodRef" => ("Payment method", "How the payment was made."),
        "invoiceItem" => ("Invoice item", "How the item is sold on invoices."),
        "billItem" => ("Bill item", "How the item is bought on bills."),
        other => (other, "A group of fields."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::push::{Choices, Lines};
    use crate::data::DataType;

    static STATUS: Choices = Choices {
        values: &[("Active", "active"), ("Archived", "archived")],
        update_only: &[],
    };
    static LINES: Lines = Lines {
        fields: &[Field {
            standard: "accountRef.id",
            platform: Some("account_id"),
            kind: Kind::Text { max: 64 },
            required: true,
            display: "Account id",
            description: "The account.",
        }],
        min: 1,
        max: 10,
        check: None,
    };
    static SPEC: PushSpec = PushSpec {
        data_type: DataType::Customers,
        display: "Customer",
        description: "A customer.",
        fields: &[
            Field {
                standard: "customerRef.id",
                platform: Some("customer_id"),
                kind: Kind::Text { max: 64 },
                required: true,
                display: "Customer id",
                description: "The customer.",
            },
            Field {
                standard: "status",
                platform: Some("status"),
                kind: Kind::Choice(&STATUS),
                required: false,
                display: "Status",
                description: "The status.",
            },
            Field {
                standard: "lines",
                platform: Some("lines"),
                kind: Kind::Lines(&LINES),
                required: false,
                display: "Lines",
                description: "The lines.",
            },
        ],
        rule: None,
        rule_paths: &[],
    };

    /// Checks one `PushOption` (or `PushOptionProperty`) node and its children against Codat's schema:
    /// the required members, an option type Codat knows, and complete choices.
    fn check_node(node: &Value, path: &str, problems: &mut Vec<String>) {
        const TYPES: [&str; 8] = [
            "Array",
            "Object",
            "String",
            "Number",
            "Boolean",
            "DateTime",
            "File",
            "MultiPart",
        ];
        if !node["type"]
            .as_str()
            .is_some_and(|kind| TYPES.contains(&kind))
        {
            problems.push(format!("{path}: type {}", node["type"]));
        }
        if node["displayName"].as_str().is_none_or(str::is_empty) {
            problems.push(format!("{path}: displayName"));
        }
        if node["description"].as_str().is_none_or(str::is_empty) {
            problems.push(format!("{path}: description"));
        }
        if !node["required"].is_boolean() {
            problems.push(format!("{path}: required"));
        }
        for choice in node["options"].as_array().into_iter().flatten() {
            let complete = choice["value"]
                .as_str()
                .is_some_and(|value| !value.is_empty())
                && choice["type"] == "String"
                && choice["displayName"].is_string()
                && choice["required"].is_boolean();
            if !complete {
                problems.push(format!("{path}: option {choice}"));
            }
        }
        for (name, child) in node["properties"].as_object().into_iter().flatten() {
            check_node(child, &format!("{path}.{name}"), problems);
        }
    }

    #[test]
    fn every_accounting_push_option_has_codats_shape() {
        let mut problems = Vec::new();
        for data_type in DataType::ALL {
            if let Some(spec) = crate::data::accounting::push::spec(data_type) {
                let option = push_option(spec);
                assert!(option["properties"]
                    .as_object()
                    .is_some_and(|fields| !fields.is_empty()));
                check_node(&option, data_type.as_str(), &mut problems);
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        let invoices = push_option(&crate::data::accounting::push::INVOICES);
        let line = &invoices["properties"]["lineItems"];
        assert_eq!(line["type"], "Array");
        assert_eq!(line["properties"]["quantity"]["type"], "Number");
        assert_eq!(
            line["properties"]["itemRef"]["properties"]["id"]["required"],
            false
        );
        assert_eq!(invoices["properties"]["customerRef"]["required"], true);
        assert_eq!(invoices["properties"]["issueDate"]["type"], "DateTime");
        let statuses: Vec<&Value> = invoices["properties"]["status"]["options"]
            .as_array()
            .map(|options| options.iter().map(|option| &option["value"]).collect())
            .unwrap_or_default();
        assert_eq!(
            statuses,
            [&json!("Draft"), &json!("Submitted"), &json!("Void")]
        );
    }

    #[test]
    fn fields_nest_as_in_the_standard_model() {
        assert_eq!(
            push_option(&SPEC),
            json!({
                "type": "Object",
                "displayName": "Customer",
                "description": "A customer.",
                "required": true,
                "properties": {
                    "customerRef": {
                        "type": "Object",
                        "displayName": "Customer",
                        "description": "Reference to a customer.",
                        "required": true,
                        "properties": {
                            "id": {"type": "String", "displayName": "Customer id", "description": "The customer.", "required": true},
                        },
                    },
                    "status": {
                        "type": "String",
                        "displayName": "Status",
                        "description": "The status.",
                        "required": false,
                        "options": [
                            {"value": "Active", "type": "String", "displayName": "Active", "required": false},
                            {"value": "Archived", "type": "String", "displayName": "Archived", "required": false},
                        ],
                    },
                    "lines": {
                        "type": "Array",
                        "displayName": "Lines",
                        "description": "The lines.",
                        "required": false,
                        "properties": {
                            "accountRef": {
                                "type": "Object",
                                "displayName": "Account",
                                "description": "Reference to an account in the chart of accounts.",
                                "required": true,
                                "properties": {
                                    "id": {"type": "String", "displayName": "Account id", "description": "The account.", "required": true},
                                },
                            },
                        },
                    },
                },
            })
        );
    }
}
