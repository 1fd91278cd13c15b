//! `aiwb`, the commerce platform: the store, locations, customers, products with variants,
//! orders, their payments and the money movements (sales and refunds) behind them.
//!
//! Style: snake_case fields, amounts as integer cents in fields ending `_cents` with the
//! record's `currency_code`, addresses in `address1`/`zip`/`country_code` form, timestamps RFC
//! 3339 UTC.

use serde_json::{json, Value};

use crate::data::accounting::active;
use crate::data::model::{
    activity_ms, reference_ms, stamp, timestamp, Blocks, Profile, Resource, Size,
};
use crate::data::rng::Rng;
use crate::data::words;

const BLOCK_SALT: u64 = 0x0bde_b10c;
const HOUR_MS: i64 = 3_600_000;

/// What happened to a generated order; each block of ten orders holds one pending, one
/// refunded and eight paid orders, shuffled per block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrderState {
    Pending,
    Refunded,
    Paid,
}

const ORDER_PATTERN: [OrderState; 10] = [
    OrderState::Pending,
    OrderState::Refunded,
    OrderState::Paid,
    OrderState::Paid,
    OrderState::Paid,
    OrderState::Paid,
    OrderState::Paid,
    OrderState::Paid,
    OrderState::Paid,
    OrderState::Paid,
];

const LOCATION_NAMES: [(&str, &str); 4] = [
    ("Main Warehouse", "warehouse"),
    ("High Street Shop", "retail"),
    ("Pop-up Market Stall", "retail"),
    ("Overflow Storage", "warehouse"),
];

const PRODUCT_TYPES: [&str; 5] = [
    "Home",
    "Apparel",
    "Food & Drink",
    "Accessories",
    "Stationery",
];
const VARIANT_TITLES: [&[&str]; 3] = [&["Default"], &["Small", "Large"], &["Red", "Green", "Blue"]];

pub(crate) struct Commerce {
    pub profile: Profile,
    customers: u64,
    products: u64,
    orders: u64,
    locations: u64,
}

/// A product's title, type and variants `(title, price)`.
pub(crate) struct ProductCore {
    pub title: String,
    pub product_type: &'static str,
    pub variants: Vec<(&'static str, i64)>,
}

pub(crate) fn variant_id(product: &str, position: usize) -> String {
    format!("{}_v{}", product.replacen("prod_", "var_", 1), position + 1)
}

/// Sales tax in basis points by country, added on top of prices.
pub(crate) fn tax_basis_points(country: &str) -> i64 {
    match country {
        "GB" => 2000,
        "DE" => 1900,
        "NL" => 2100,
        _ => 800,
    }
}

impl Commerce {
    pub(crate) fn new(profile: Profile) -> Self {
        let size = profile.size;
        let locations = match size {
            Size::Small => 2,
            Size::Medium => 4,
            Size::Other(seed) => 1 + seed % 3,
            Size::Bench(n) => (2 + n / 1_000_000).min(4),
        };
        Self {
            customers: size.count(30, 600, 15, 10, 10_000),
            products: size.count(15, 200, 10, 20, 5_000),
            orders: size.main(80, 3_000, 40),
            locations,
            profile,
        }
    }

    fn block_order(&self, block: u64) -> [u8; 10] {
        Rng::for_record(
            self.profile.seed,
            Resource::Orders.salt() ^ BLOCK_SALT,
            block,
        )
        .permutation()
    }

    fn state(&self, order: u64) -> OrderState {
        ORDER_PATTERN[usize::from(self.block_order(order / 10)[(order % 10) as usize])]
    }

    /// Paid and refunded orders each have one payment.
    fn payments(&self) -> Blocks<impl Fn(u64) -> [bool; 10] + '_> {
        Blocks {
            parents: self.orders,
            has_child: move |block| {
                self.block_order(block)
                    .map(|slot| ORDER_PATTERN[usize::from(slot)] != OrderState::Pending)
            },
        }
    }

    fn refunds(&self) -> Blocks<impl Fn(u64) -> [bool; 10] + '_> {
        Blocks {
            parents: self.orders,
            has_child: move |block| {
                self.block_order(block)
                    .map(|slot| ORDER_PATTERN[usize::from(slot)] == OrderState::Refunded)
            },
        }
    }

    /// Transaction `index`: each block of ten orders has the sales of its payments, then the
    /// refund of its refunded order. Returns (order, payment index, is refund).
    fn transaction_parts(&self, index: u64) -> Option<(u64, u64, bool)> {
        let payments = self.payments();
        let block = index / 10;
        let rank = index % 10;
        let sales_in_block = payments.count().saturating_sub(block * 9).min(9);
        if rank < sales_in_block {
            let payment = block * 9 + rank;
            let (order, _) = payments.parent(payment)?;
            return Some((order, payment, false));
        }
        if rank > sales_in_block {
            return None;
        }
        let (order, _) = self.refunds().parent(block)?;
        let payment = (block * 9..block * 9 + sales_in_block).find(|payment| {
            payments
                .parent(*payment)
                .is_some_and(|(parent, _)| parent == order)
        })?;
        Some((order, payment, true))
    }

    pub(crate) fn count(&self, resource: Resource) -> u64 {
        match resource {
            Resource::ShopCustomers => self.customers,
            Resource::Products => self.products,
            Resource::Orders => self.orders,
            Resource::Locations => self.locations,
            Resource::ShopPayments => self.payments().count(),
            Resource::ShopTransactions => self.payments().count() + self.refunds().count(),
            _ => 0,
        }
    }

    pub(crate) fn updated_ms(&self, resource: Resource, index: u64) -> i64 {
        match resource {
            Resource::Orders => activity_ms(self.orders, index),
            Resource::ShopPayments => {
                activity_ms(self.orders, self.payments().block_end(index)) + HOUR_MS
            }
            Resource::ShopTransactions => {
                let last = (index / 10 * 10 + 9).min(self.orders.saturating_sub(1));
                activity_ms(self.orders, last) + 2 * HOUR_MS
            }
            other => reference_ms(self.count(other), index),
        }
    }

    pub(crate) fn base_referenced(&self, resource: Resource, index: u64) -> bool {
        match resource {
            Resource::ShopCustomers => index < active(self.customers),
            Resource::Products => index < active(self.products),
            Resource::Locations => true,
            Resource::Orders => self.state(index) != OrderState::Pending,
            _ => false,
        }
    }

    pub(crate) fn record(&self, resource: Resource, index: u64) -> Value {
        let updated_ms = self.updated_ms(resource, index);
        let mut record = match resource {
            Resource::ShopCustomers => self.customer(index),
            Resource::Products => self.product_json(index),
            Resource::Orders => self.order(index, updated_ms),
            Resource::Locations => self.location(index),
            Resource::ShopPayments => self.payment(index, updated_ms),
            Resource::ShopTransactions => self.transaction(index, updated_ms),
            _ => json!({}),
        };
        stamp(&mut record, &resource.id(index), &timestamp(updated_ms));
        record
    }

    pub(crate) fn store(&self) -> Value {
        let profile = &self.profile;
        let mut rng = Rng::new(profile.seed);
        let name = match profile.size {
            Size::Small => "Demo Small Shop".to_owned(),
            Size::Medium => "Demo Medium Shop".to_owned(),
            Size::Bench(n) => format!("Bench {n} Shop"),
            Size::Other(_) => words::company_name(&mut rng),
        };
        let created = timestamp(reference_ms(1, 0));
        json!({
            "id": format!("store_{:016x}", profile.seed),
            "name": name,
            "organisation": profile.name,
            "domain": format!("{}.aiwb.example", words::slug(&name)),
            "email": format!("hello@{}.example.com", words::slug(&name)),
            "currency_code": profile.currency,
            "country_code": profile.country,
            "timezone": if profile.country == "US" { "America/Chicago" } else { "Europe/London" },
            "plan": "basic",
            "created_at": created,
            "updated_at": created,
        })
    }

    pub(crate) fn base_name(&self, resource: Resource, index: u64) -> Option<String> {
        match resource {
            Resource::Locations => Some(
                LOCATION_NAMES[index as usize % LOCATION_NAMES.len()]
                    .0
                    .to_owned(),
            ),
            Resource::ShopCustomers => {
                let (first, last, _, _) = self.customer_core(index);
                Some(format!("{first} {last}"))
            }
            _ => None,
        }
    }

    fn location(&self, index: u64) -> Value {
        let mut rng = self.profile.rng(Resource::Locations, index);
        let (name, kind) = LOCATION_NAMES[index as usize % LOCATION_NAMES.len()];
        let (line1, city, postal_code) = words::address(&mut rng, self.profile.country);
        json!({
            "name": name,
            "kind": kind,
            "address": { "address1": line1, "city": city, "zip": postal_code, "country_code": self.profile.country },
            "active": true,
        })
    }

    fn customer_core(&self, index: u64) -> (&'static str, &'static str, String, Rng) {
        let mut rng = self.profile.rng(Resource::ShopCustomers, index);
        let (first, last) = words::person(&mut rng);
        let email = format!(
            "{}.{}{}@mail.example.com",
            words::slug(first),
            words::slug(last),
            index
        );
        (first, last, email, rng)
    }

    fn customer(&self, index: u64) -> Value {
        let (first, last, email, mut rng) = self.customer_core(index);
        let (line1, city, postal_code) = words::address(&mut rng, self.profile.country);
        let tags: Vec<&str> = [("vip", 10), ("wholesale", 5), ("newsletter", 40)]
            .into_iter()
            .filter(|(_, percent)| rng.chance(*percent))
            .map(|(tag, _)| tag)
            .collect();
        json!({
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": words::phone(&mut rng, self.profile.country),
            "accepts_marketing": rng.chance(45),
            "state": "enabled",
            "default_address": { "address1": line1, "city": city, "zip": postal_code, "country_code": self.profile.country },
            "tags": tags,
        })
    }

    pub(crate) fn product(&self, index: u64) -> ProductCore {
        let mut rng = self.profile.rng(Resource::Products, index);
        let title = format!(
            "{} {}",
            rng.pick(&words::PRODUCT_ADJECTIVES),
            rng.pick(&words::PRODUCT_NOUNS)
        );
        let product_type = *rng.pick(&PRODUCT_TYPES);
        let base = rng.between(4, 120) * 100 - 1;
        let titles = *rng.pick(&VARIANT_TITLES);
        let variants = titles
            .iter()
            .enumerate()
            .map(|(position, title)| (*title, base + position as i64 * 200))
            .collect();
        ProductCore {
            title,
            product_type,
            variants,
        }
    }

    fn product_json(&self, index: u64) -> Value {
        let product = self.product(index);
        let id = Resource::Products.id(index);
        let mut rng = self.profile.rng(Resource::Products, index ^ 0xffff_ffff);
        let status = if index < active(self.products) {
            "active"
        } else {
            *rng.pick(&["draft", "archived"])
        };
        let variants: Vec<Value> = product
            .variants
            .iter()
            .enumerate()
            .map(|(position, (title, price))| {
                json!({
                    "id": variant_id(&id, position),
                    "title": title,
                    "sku": format!("P{:06}-{}", index + 1, position + 1),
                    "price_cents": price,
                    "compare_at_price_cents": rng.chance(20).then_some(price + 500),
                    "inventory_quantity": rng.between(0, 250),
                    "weight_grams": rng.between(50, 2_000),
                })
            })
            .collect();
        json!({
            "title": product.title,
            "handle": words::slug(&product.title),
            "product_type": product.product_type,
            "vendor": "Sandbox Supply Co",
            "status": status,
            "tags": [product.product_type.to_lowercase()],
            "currency_code": self.profile.currency,
            "variants": variants,
        })
    }

    /// The lines and total of order `index`: `(lines, subtotal, shipping, tax, total)`.
    fn order_lines(&self, index: u64) -> (Vec<Value>, u64, i64, i64, i64, i64) {
        let mut rng = self.profile.rng(Resource::Orders, index);
        let customer = rng.below(active(self.customers));
        let count = rng.between(1, 3);
        let mut subtotal = 0;
        let order_id = Resource::Orders.id(index);
        let lines = (0..count)
            .map(|position| {
                let product_index = rng.below(active(self.products));
                let product = self.product(product_index);
                let variant = rng.below(product.variants.len() as u64) as usize;
                let (variant_title, price) = product.variants[variant];
                let quantity = *rng.pick(&[1, 1, 1, 2, 2, 3]);
                subtotal += price * quantity;
                let product_id = Resource::Products.id(product_index);
                json!({
                    "id": format!("{}_l{}", order_id.replacen("ord_", "li_", 1), position + 1),
                    "product_id": product_id,
                    "variant_id": variant_id(&product_id, variant),
                    "title": product.title,
                    "variant_title": variant_title,
                    "sku": format!("P{:06}-{}", product_index + 1, variant + 1),
                    "quantity": quantity,
                    "price_cents": price,
                    "total_cents": price * quantity,
                })
            })
            .collect();
        let shipping = if subtotal >= 5_000 { 0 } else { 495 };
        let tax = crate::data::accounting::tax_on(
            subtotal + shipping,
            tax_basis_points(self.profile.country),
        );
        (
            lines,
            customer,
            subtotal,
            shipping,
            tax,
            subtotal + shipping + tax,
        )
    }

    fn order(&self, index: u64, placed_ms: i64) -> Value {
        let (lines, customer, subtotal, shipping, tax, total) = self.order_lines(index);
        let (_, _, email, _) = self.customer_core(customer);
        let state = self.state(index);
        let mut rng = self.profile.rng(Resource::Orders, index ^ 0xffff_ffff);
        json!({
            "order_number": 1001 + index,
            "name": format!("#{}", 1001 + index),
            "customer_id": Resource::ShopCustomers.id(customer),
            "email": email,
            "location_id": Resource::Locations.id(rng.below(self.locations)),
            "currency_code": self.profile.currency,
            "financial_status": match state {
                OrderState::Pending => "pending",
                OrderState::Refunded => "refunded",
                OrderState::Paid => "paid",
            },
            "fulfillment_status": if state == OrderState::Paid && rng.chance(90) { "fulfilled" } else { "unfulfilled" },
            "line_items": lines,
            "subtotal_cents": subtotal,
            "shipping_cents": shipping,
            "tax_cents": tax,
            "total_cents": total,
            "placed_at": timestamp(placed_ms),
            "cancelled_at": null,
        })
    }

    fn payment(&self, index: u64, processed_ms: i64) -> Value {
        let (order, _) = self.payments().parent(index).unwrap_or((0, 0));
        let (_, _, _, _, _, total) = self.order_lines(order);
        let mut rng = self.profile.rng(Resource::ShopPayments, index);
        let gateway = *rng.pick(&["card", "card", "card", "paypal", "gift_card"]);
        let card = gateway == "card";
        json!({
            "order_id": Resource::Orders.id(order),
            "amount_cents": total,
            "currency_code": self.profile.currency,
            "gateway": gateway,
            "status": if self.state(order) == OrderState::Refunded { "refunded" } else { "captured" },
            "card_brand": card.then(|| *rng.pick(&["visa", "mastercard", "amex"])),
            "card_last4": card.then(|| format!("{:04}", rng.below(10_000))),
            "processed_at": timestamp(processed_ms),
        })
    }

    fn transaction(&self, index: u64, processed_ms: i64) -> Value {
        let (order, payment, refund) = self.transaction_parts(index).unwrap_or((0, 0, false));
        let (_, _, _, _, _, total) = self.order_lines(order);
        transaction_json(&self.profile, order, payment, refund, total, processed_ms)
    }
}

/// A sale (positive) or refund (negative) money movement, with the processor's fee.
pub(crate) fn transaction_json(
    profile: &Profile,
    order: u64,
    payment: u64,
    refund: bool,
    total: i64,
    processed_ms: i64,
) -> Value {
    let (amount, fee) = if refund {
        (-total, 0)
    } else {
        (total, total * 15 / 1000 + 20)
    };
    json!({
        "kind": if refund { "refund" } else { "sale" },
        "order_id": Resource::Orders.id(order),
        "payment_id": Resource::ShopPayments.id(payment),
        "amount_cents": amount,
        "fee_cents": fee,
        "net_cents": amount - fee,
        "currency_code": profile.currency,
        "status": "settled",
        "processed_at": timestamp(processed_ms),
    })
}
