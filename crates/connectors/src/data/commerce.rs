//! The commerce platform's records (`aiwb`) in Codat's commerce model: the store, customers, locations,
//! products, orders, payments and transactions.

use serde_json::{json, Value};

use crate::data::standard::{amount, compact, named_reference, timestamp};

/// A platform address (`{address1, city, zip, country_code}`) in the standard model, typed `type`.
fn address(value: &Value, kind: &str) -> Value {
    if !value.is_object() {
        return Value::Null;
    }
    json!({
        "type": kind,
        "line1": value["address1"],
        "city": value["city"],
        "postalCode": value["zip"],
        "country": value["country_code"],
    })
}

/// The store as Codat's commerce company info. Codat's company info has no `id`; the store's id travels in
/// the [`SourceRecord`](crate::data::SourceRecord) and in `commercePlatformRef`.
pub(crate) fn company_info(record: &Value) -> Value {
    let website = record["domain"].as_str().map_or(
        Value::Null,
        |domain| json!([{"type": "Website", "url": format!("https://{domain}")}]),
    );
    let country = record["country_code"].as_str().map_or(
        Value::Null,
        |country| json!([{"type": "Unknown", "country": country}]),
    );
    compact(json!({
        "companyName": record["name"],
        "commercePlatformRef": record["id"],
        "addresses": country,
        "webLinks": website,
        "baseCurrency": record["currency_code"],
        "createdDate": timestamp(&record["created_at"]),
        "sourceModifiedDate": timestamp(&record["updated_at"]),
    }))
}

pub(crate) fn customer(record: &Value) -> Value {
    let name: Vec<&str> = [&record["first_name"], &record["last_name"]]
        .into_iter()
        .filter_map(Value::as_str)
        .filter(|part| !part.is_empty())
        .collect();
    let name = if name.is_empty() {
        Value::Null
    } else {
        json!(name.join(" "))
    };
    let addresses = match address(&record["default_address"], "Billing") {
        Value::Null => Value::Null,
        billing => json!([billing]),
    };
    compact(json!({
        "id": record["id"],
        "customerName": name,
        "emailAddress": record["email"],
        "phone": record["phone"],
        "addresses": addresses,
        "createdDate": timestamp(&record["created_at"]),
        "sourceModifiedDate": timestamp(&record["updated_at"]),
    }))
}

pub(crate) fn location(record: &Value) -> Value {
    compact(json!({
        "id": record["id"],
        "name": record["name"],
        "address": address(&record["address"], "Inventory"),
        "sourceModifiedDate": timestamp(&record["updated_at"]),
    }))
}

/// A product with its variants. Codat's product has no change date of its own; each variant carries the
/// product's. Variants of an active product are published, others not.
pub(crate) fn product(record: &Value) -> Value {
    let status = match record["status"].as_str() {
        Some("active") => "Published",
        Some("draft" | "archived") => "Unpublished",
        _ => "Unknown",
    };
    let variants: Vec<Value> = record["variants"]
        .as_array()
        .map(|variants| {
            variants
                .iter()
                .map(|variant| {
                    json!({
                        "id": variant["id"],
                        "name": variant["title"],
                        "sku": variant["sku"],
                        "prices": [{
                            "currency": record["currency_code"],
                            "unitPrice": amount(&variant["price_cents"]),
                        }],
                        "inventory": {"totalQuantity": variant["inventory_quantity"]},
                        "status": status,
                        "createdDate": timestamp(&record["created_at"]),
                        "sourceModifiedDate": timestamp(&record["updated_at"]),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    compact(json!({
        "id": record["id"],
        "name": record["title"],
        "categorization": record["product_type"],
        "variants": variants,
    }))
}

/// An order. Shipping is a service charge; a refunded order's refund is its whole total, negative as Codat
/// records refunds.
pub(crate) fn order(record: &Value) -> Value {
    let lines: Vec<Value> = record["line_items"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .map(|line| {
                    json!({
                        "id": line["id"],
                        "quantity": line["quantity"],
                        "unitPrice": amount(&line["price_cents"]),
                        "totalAmount": amount(&line["total_cents"]),
                        "productRef": {"id": line["product_id"], "name": line["title"]},
                        "productVariantRef": {"id": line["variant_id"], "name": line["variant_title"]},
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let shipping = match record["shipping_cents"].as_i64() {
        Some(cents) if cents > 0 => json!([{
            "description": "Shipping",
            "totalAmount": amount(&json!(cents)),
            "quantity": 1,
            "type": "Shipping",
        }]),
        _ => Value::Null,
    };
    let refund = match (
        record["financial_status"].as_str(),
        record["total_cents"].as_i64(),
    ) {
        (Some("refunded"), Some(total)) => amount(&json!(-total)),
        _ => Value::Null,
    };
    compact(json!({
        "id": record["id"],
        "orderNumber": record["order_number"].as_i64().map_or(Value::Null, |number| json!(number.to_string())),
        "currency": record["currency_code"],
        "totalAmount": amount(&record["total_cents"]),
        "totalRefund": refund,
        "totalTaxAmount": amount(&record["tax_cents"]),
        "orderLineItems": lines,
        "serviceCharges": shipping,
        "locationRef": named_reference(&record["location_id"], "name", &record["location_name"]),
        "customerRef": named_reference(&record["customer_id"], "name", &record["customer_name"]),
        "createdDate": timestamp(&record["placed_at"]),
        "sourceModifiedDate": timestamp(&record["updated_at"]),
    }))
}

/// A payment. A refunded payment was paid first; its refund is a transaction of its own.
pub(crate) fn payment(record: &Value) -> Value {
    let method = match record["gateway"].as_str() {
        Some(gateway) => {
            let name = match (record["card_brand"].as_str(), record["card_last4"].as_str()) {
                (Some(brand), Some(last4)) => format!("{brand} ending {last4}"),
                _ => gateway.to_owned(),
            };
            json!({"id": gateway, "name": name})
        }
        None => Value::Null,
    };
    let status = match record["status"].as_str() {
        Some("captured" | "refunded") => "Paid",
        _ => "Unknown",
    };
    compact(json!({
        "id": record["id"],
        "amount": amount(&record["amount_cents"]),
        "currency": record["currency_code"],
        "paymentMethodRef": method,
        "status": status,
        "paymentProvider": record["gateway"],
        "createdDate": timestamp(&record["processed_at"]),
        "sourceModifiedDate": timestamp(&record["updated_at"]),
    }))
}

/// A sale or refund: a movement of money caused by a payment.
pub(crate) fn transaction(record: &Value) -> Value {
    let kind = match record["kind"].as_str() {
        Some("sale") => "Payment",
        Some("refund") => "Refund",
        _ => "Unknown",
    };
    let source = match record["payment_id"].as_str() {
        Some(payment) => json!({"id": payment, "type": "Payment"}),
        None => Value::Null,
    };
    compact(json!({
        "id": record["id"],
        "totalAmount": amount(&record["amount_cents"]),
        "currency": record["currency_code"],
        "type": kind,
        "subType": record["kind"],
        "transactionSourceRef": source,
        "createdDate": timestamp(&record["created_at"]),
        "sourceCreatedDate": timestamp(&record["processed_at"]),
        "sourceModifiedDate": timestamp(&record["updated_at"]),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPDATED: &str = "2023-04-02T10:15:00.000Z";

    #[test]
    fn the_store_maps_to_company_info() {
        let record = json!({
            "id": "store_00000000deadbeef", "name": "Demo Small Shop", "organisation": "demo-small",
            "domain": "demo-small-shop.aiwb.example", "email": "hello@demo-small-shop.example.com",
            "currency_code": "GBP", "country_code": "GB", "timezone": "Europe/London", "plan": "basic",
            "created_at": "2022-01-01T00:00:00.000Z", "updated_at": "2022-01-01T00:00:00.000Z",
        });
        assert_eq!(
            company_info(&record),
            json!({
                "companyName": "Demo Small Shop",
                "commercePlatformRef": "store_00000000deadbeef",
                "addresses": [{"type": "Unknown", "country": "GB"}],
                "webLinks": [{"type": "Website", "url": "https://demo-small-shop.aiwb.example"}],
                "baseCurrency": "GBP",
                "createdDate": "2022-01-01T00:00:00.000Z",
                "sourceModifiedDate": "2022-01-01T00:00:00.000Z",
            })
        );
    }

    #[test]
    fn a_customer_and_a_location_map_to_the_standard_model() {
        let record = json!({
            "id": "scus_0000000002", "first_name": "Ada", "last_name": "Byrne",
            "email": "ada.byrne2@mail.example.com", "phone": null, "accepts_marketing": true, "state": "enabled",
            "default_address": {"address1": "4 Quay Street", "city": "Bristol", "zip": "BS1 4DJ", "country_code": "GB"},
            "tags": ["vip"], "created_at": UPDATED, "updated_at": UPDATED,
        });
        assert_eq!(
            customer(&record),
            json!({
                "id": "scus_0000000002",
                "customerName": "Ada Byrne",
                "emailAddress": "ada.byrne2@mail.example.com",
                "addresses": [{"type": "Billing", "line1": "4 Quay Street", "city": "Bristol", "postalCode": "BS1 4DJ", "country": "GB"}],
                "createdDate": UPDATED,
                "sourceModifiedDate": UPDATED,
            })
        );
        let place = json!({
            "id": "loc_0000000000", "name": "Main Warehouse", "kind": "warehouse", "active": true,
            "address": {"address1": "Unit 3, Dock Road", "city": "Hull", "zip": "HU1 2AA", "country_code": "GB"},
            "created_at": UPDATED, "updated_at": UPDATED,
        });
        assert_eq!(
            location(&place),
            json!({
                "id": "loc_0000000000",
                "name": "Main Warehouse",
                "address": {"type": "Inventory", "line1": "Unit 3, Dock Road", "city": "Hull", "postalCode": "HU1 2AA", "country": "GB"},
                "sourceModifiedDate": UPDATED,
            })
        );
    }

    #[test]
    fn a_product_maps_with_its_variants() {
        let record = json!({
            "id": "prod_0000000003", "title": "Linen Tote", "handle": "linen-tote", "product_type": "Accessories",
            "vendor": "Sandbox Supply Co", "status": "draft", "tags": ["accessories"], "currency_code": "GBP",
            "variants": [{
                "id": "var_0000000003_v1", "title": "Default", "sku": "P000004-1", "price_cents": 1899,
                "compare_at_price_cents": null, "inventory_quantity": 42, "weight_grams": 300,
            }],
            "created_at": UPDATED, "updated_at": UPDATED,
        });
        assert_eq!(
            product(&record),
            json!({
                "id": "prod_0000000003",
                "name": "Linen Tote",
                "categorization": "Accessories",
                "variants": [{
                    "id": "var_0000000003_v1",
                    "name": "Default",
                    "sku": "P000004-1",
                    "prices": [{"currency": "GBP", "unitPrice": 18.99}],
                    "inventory": {"totalQuantity": 42},
                    "status": "Unpublished",
                    "createdDate": UPDATED,
                    "sourceModifiedDate": UPDATED,
                }],
            })
        );
    }

    #[test]
    fn a_refunded_order_maps_to_the_standard_model() {
        let record = json!({
            "id": "ord_0000000010", "order_number": 1011, "name": "#1011", "customer_id": "scus_0000000007",
            "email": "x@mail.example.com", "location_id": "loc_0000000001", "currency_code": "GBP",
            "financial_status": "refunded", "fulfillment_status": "unfulfilled",
            "line_items": [{
                "id": "li_0000000010_l1", "product_id": "prod_0000000003", "variant_id": "var_0000000003_v1",
                "title": "Linen Tote", "variant_title": "Default", "sku": "P000004-1", "quantity": 2,
                "price_cents": 1899, "total_cents": 3798,
            }],
            "subtotal_cents": 3798, "shipping_cents": 495, "tax_cents": 859, "total_cents": 5152,
            "placed_at": "2023-04-02T09:00:00.000Z", "cancelled_at": null,
            "created_at": UPDATED, "updated_at": UPDATED,
        });
        assert_eq!(
            order(&record),
            json!({
                "id": "ord_0000000010",
                "orderNumber": "1011",
                "currency": "GBP",
                "totalAmount": 51.52,
                "totalRefund": -51.52,
                "totalTaxAmount": 8.59,
                "orderLineItems": [{
                    "id": "li_0000000010_l1",
                    "quantity": 2,
                    "unitPrice": 18.99,
                    "totalAmount": 37.98,
                    "productRef": {"id": "prod_0000000003", "name": "Linen Tote"},
                    "productVariantRef": {"id": "var_0000000003_v1", "name": "Default"},
                }],
                "serviceCharges": [{"description": "Shipping", "totalAmount": 4.95, "quantity": 1, "type": "Shipping"}],
                "locationRef": {"id": "loc_0000000001"},
                "customerRef": {"id": "scus_0000000007"},
                "createdDate": "2023-04-02T09:00:00.000Z",
                "sourceModifiedDate": UPDATED,
            })
        );
    }

    #[test]
    fn payments_and_transactions_map_to_the_standard_model() {
        let paid = json!({
            "id": "spay_0000000008", "order_id": "ord_0000000010", "amount_cents": 5152, "currency_code": "GBP",
            "gateway": "card", "status": "refunded", "card_brand": "visa", "card_last4": "4242",
            "processed_at": "2023-04-02T10:00:00.000Z", "created_at": UPDATED, "updated_at": UPDATED,
        });
        assert_eq!(
            payment(&paid),
            json!({
                "id": "spay_0000000008",
                "amount": 51.52,
                "currency": "GBP",
                "paymentMethodRef": {"id": "card", "name": "visa ending 4242"},
                "status": "Paid",
                "paymentProvider": "card",
                "createdDate": "2023-04-02T10:00:00.000Z",
                "sourceModifiedDate": UPDATED,
            })
        );
        let refund = json!({
            "id": "stxn_0000000009", "kind": "refund", "order_id": "ord_0000000010",
            "payment_id": "spay_0000000008", "amount_cents": -5152, "fee_cents": 0, "net_cents": -5152,
            "currency_code": "GBP", "status": "settled", "processed_at": "2023-04-02T11:00:00.000Z",
            "created_at": UPDATED, "updated_at": UPDATED,
        });
        assert_eq!(
            transaction(&refund),
            json!({
                "id": "stxn_0000000009",
                "totalAmount": -51.52,
                "currency": "GBP",
                "type": "Refund",
                "subType": "refund",
                "transactionSourceRef": {"id": "spay_0000000008", "type": "Payment"},
                "createdDate": UPDATED,
                "sourceCreatedDate": "2023-04-02T11:00:00.000Z",
                "sourceModifiedDate": UPDATED,
            })
        );
    }
}
