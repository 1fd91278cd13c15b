//! `mqjo`, the accounting platform: a chart of accounts, tax rates, customers, suppliers, items,
//! invoices and bills with their payments, credit notes, journal entries and bank accounts.
//!
//! Style: snake_case fields, amounts as integer minor units in fields ending `_minor` with the
//! record's `currency`, dates `YYYY-MM-DD`, timestamps RFC 3339 UTC.

use serde_json::{json, Value};

use crate::data::model::{
    activity_ms, date, reference_ms, stamp, timestamp, Blocks, Profile, Resource, Size, DAY_MS,
};
use crate::data::rng::Rng;
use crate::data::words;

/// `(code, name, type, sub_type, used by generated records)`.
pub(crate) const CHART: [(&str, &str, &str, &str, bool); 26] = [
    ("1000", "Business Current Account", "asset", "bank", true),
    ("1010", "Business Savings Account", "asset", "bank", true),
    (
        "1020",
        "Company Credit Card",
        "liability",
        "credit_card",
        true,
    ),
    ("1100", "Accounts Receivable", "asset", "receivable", true),
    ("1200", "Inventory", "asset", "inventory", true),
    ("1500", "Office Equipment", "asset", "fixed_asset", true),
    ("2000", "Accounts Payable", "liability", "payable", true),
    ("2100", "Sales Tax Payable", "liability", "tax", true),
    (
        "2200",
        "Accrued Liabilities",
        "liability",
        "current_liability",
        true,
    ),
    ("3000", "Owner's Capital", "equity", "owners_equity", true),
    (
        "3100",
        "Retained Earnings",
        "equity",
        "retained_earnings",
        true,
    ),
    ("4000", "Sales", "revenue", "sales", true),
    ("4010", "Services Revenue", "revenue", "sales", true),
    ("4020", "Other Income", "revenue", "other_income", true),
    (
        "5000",
        "Cost of Goods Sold",
        "expense",
        "cost_of_sales",
        true,
    ),
    ("6000", "Rent", "expense", "overhead", true),
    ("6010", "Utilities", "expense", "overhead", true),
    ("6020", "Office Supplies", "expense", "overhead", true),
    (
        "6030",
        "Software Subscriptions",
        "expense",
        "overhead",
        true,
    ),
    ("6040", "Travel", "expense", "overhead", true),
    ("6050", "Marketing", "expense", "overhead", true),
    ("6060", "Professional Fees", "expense", "overhead", true),
    ("6070", "Bank Fees", "expense", "overhead", true),
    ("6080", "Wages and Salaries", "expense", "payroll", true),
    (
        "6090",
        "Repairs and Maintenance",
        "expense",
        "overhead",
        false,
    ),
    ("6100", "Entertainment", "expense", "overhead", false),
];

pub(crate) const ACCOUNT_TYPES: [&str; 5] = ["asset", "liability", "equity", "revenue", "expense"];

/// The business current account: where customers pay in.
pub(crate) const BANK: u64 = 0;
const SALES: u64 = 11;
const SERVICES: u64 = 12;
const COST_OF_SALES: u64 = 14;
/// Where bought-in services are booked.
const PROFESSIONAL_FEES: u64 = 21;
/// Overheads bills are booked to, with what they are for.
const OVERHEADS: [(u64, &str); 8] = [
    (15, "Office rent"),
    (16, "Electricity and water"),
    (17, "Stationery and printer supplies"),
    (18, "Software licences"),
    (19, "Train and hotel"),
    (20, "Online advertising"),
    (21, "Accountancy fees"),
    (22, "Bank charges"),
];
/// Journal entries move amounts between these (debit, credit, memo).
const JOURNALS: [(u64, u64, &str); 5] = [
    (23, 8, "Payroll accrual"),
    (5, 6, "Equipment purchase on account"),
    (8, 0, "Accrual reversal"),
    (0, 9, "Owner capital injection"),
    (7, 0, "Sales tax settlement"),
];

/// `(name, code, basis points)`.
pub(crate) const TAX_RATES: [(&str, &str, i64); 4] = [
    ("Standard", "STD", 2000),
    ("Reduced", "RED", 500),
    ("Zero rated", "ZERO", 0),
    ("Exempt", "EXEMPT", 0),
];

/// `(name, account_type, ledger account)`.
const BANK_ACCOUNTS: [(&str, &str, u64); 3] = [
    ("Business Current Account", "checking", 0),
    ("Business Savings Account", "savings", 1),
    ("Company Credit Card", "credit_card", 2),
];

/// What happened to a generated invoice or bill. One block of ten consecutive documents holds
/// each of these in a per-block shuffled order, so payments can be derived without scanning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DocState {
    Draft,
    Void,
    Open,
    PartlyPaid,
    Paid,
}

const DOC_PATTERN: [DocState; 10] = [
    DocState::Draft,
    DocState::Void,
    DocState::Open,
    DocState::Open,
    DocState::Open,
    DocState::PartlyPaid,
    DocState::Paid,
    DocState::Paid,
    DocState::Paid,
    DocState::Paid,
];

const BLOCK_SALT: u64 = 0x5eed_b10c;

pub(crate) struct Accounting {
    pub profile: Profile,
    customers: u64,
    suppliers: u64,
    items: u64,
    invoices: u64,
    bills: u64,
    credit_notes: u64,
    journal_entries: u64,
}

/// The part of a reference collection that generated documents point at; the rest (20%) is
/// never referenced by generated data, so it can be deleted.
pub(crate) fn active(count: u64) -> u64 {
    (count * 4 / 5).max(1).min(count)
}

/// Tax on `subtotal` at `basis_points`, rounded half up.
pub(crate) fn tax_on(subtotal: i64, basis_points: i64) -> i64 {
    (subtotal * basis_points + 5_000).div_euclid(10_000)
}

struct Line {
    item: Option<u64>,
    description: String,
    quantity: i64,
    unit_minor: i64,
    account: u64,
    tax_rate: u64,
}

struct Doc {
    party: u64,
    lines: Vec<Line>,
    total: i64,
}

pub(crate) struct ItemCore {
    code: String,
    name: String,
    kind: &'static str,
    unit_price: i64,
    purchase_price: Option<i64>,
    sales_account: u64,
    purchase_account: Option<u64>,
    tax_rate: u64,
}

impl Accounting {
    pub(crate) fn new(profile: Profile) -> Self {
        let size = profile.size;
        Self {
            customers: size.count(30, 600, 15, 10, 10_000),
            suppliers: size.count(12, 150, 8, 50, 2_000),
            items: size.count(20, 250, 10, 20, 5_000),
            invoices: size.main(80, 3_000, 40),
            bills: size.count(40, 900, 20, 10, 10_000),
            credit_notes: size.count(8, 150, 5, 50, 2_000),
            journal_entries: size.count(12, 300, 8, 50, 2_000),
            profile,
        }
    }

    fn payments(&self, documents: Resource) -> Blocks<impl Fn(u64) -> [bool; 10] + '_> {
        let parents = if documents == Resource::Bills {
            self.bills
        } else {
            self.invoices
        };
        Blocks {
            parents,
            has_child: move |block| {
                let order = self.block_order(documents, block);
                order.map(|slot| {
                    matches!(
                        DOC_PATTERN[usize::from(slot)],
                        DocState::Paid | DocState::PartlyPaid
                    )
                })
            },
        }
    }

    fn block_order(&self, documents: Resource, block: u64) -> [u8; 10] {
        Rng::for_record(self.profile.seed, documents.salt() ^ BLOCK_SALT, block).permutation()
    }

    fn state(&self, documents: Resource, index: u64) -> DocState {
        DOC_PATTERN[usize::from(self.block_order(documents, index / 10)[(index % 10) as usize])]
    }

    pub(crate) fn count(&self, resource: Resource) -> u64 {
        match resource {
            Resource::Accounts => CHART.len() as u64,
            Resource::TaxRates => TAX_RATES.len() as u64,
            Resource::BankAccounts => BANK_ACCOUNTS.len() as u64,
            Resource::Customers => self.customers,
            Resource::Suppliers => self.suppliers,
            Resource::Items => self.items,
            Resource::Invoices => self.invoices,
            Resource::Bills => self.bills,
            Resource::CreditNotes => self.credit_notes,
            Resource::JournalEntries => self.journal_entries,
            Resource::Payments => self.payments(Resource::Invoices).count(),
            Resource::BillPayments => self.payments(Resource::Bills).count(),
            _ => 0,
        }
    }

    pub(crate) fn updated_ms(&self, resource: Resource, index: u64) -> i64 {
        let count = self.count(resource);
        match resource {
            Resource::Invoices
            | Resource::Bills
            | Resource::CreditNotes
            | Resource::JournalEntries => activity_ms(count, index),
            Resource::Payments => {
                let end = self.payments(Resource::Invoices).block_end(index);
                activity_ms(self.invoices, end) + 14 * DAY_MS
            }
            Resource::BillPayments => {
                let end = self.payments(Resource::Bills).block_end(index);
                activity_ms(self.bills, end) + 21 * DAY_MS
            }
            _ => reference_ms(count, index),
        }
    }

    /// Whether generated records point at base record `index` (so deleting it is refused).
    pub(crate) fn base_referenced(&self, resource: Resource, index: u64) -> bool {
        match resource {
            Resource::Customers => index < active(self.customers),
            Resource::Suppliers => index < active(self.suppliers),
            Resource::Items => index < active(self.items),
            Resource::Accounts => CHART.get(index as usize).is_some_and(|account| account.4),
            Resource::TaxRates | Resource::BankAccounts => true,
            Resource::Invoices | Resource::Bills => matches!(
                self.state(resource, index),
                DocState::Paid | DocState::PartlyPaid
            ),
            _ => false,
        }
    }

    pub(crate) fn record(&self, resource: Resource, index: u64) -> Value {
        let updated = timestamp(self.updated_ms(resource, index));
        let mut record = match resource {
            Resource::Accounts => self.account(index),
            Resource::TaxRates => self.tax_rate(index),
            Resource::BankAccounts => self.bank_account(index),
            Resource::Customers | Resource::Suppliers => self.party(resource, index),
            Resource::Items => self.item_json(index),
            Resource::Invoices | Resource::Bills => self.document(resource, index),
            Resource::CreditNotes => self.credit_note(index),
            Resource::Payments | Resource::BillPayments => self.payment(resource, index),
            Resource::JournalEntries => self.journal_entry(index),
            _ => json!({}),
        };
        stamp(&mut record, &resource.id(index), &updated);
        record
    }

    pub(crate) fn base_name(&self, resource: Resource, index: u64) -> Option<String> {
        let name = match resource {
            Resource::Accounts => CHART[index as usize % CHART.len()].1.to_owned(),
            Resource::TaxRates => TAX_RATES[index as usize % TAX_RATES.len()].0.to_owned(),
            Resource::Customers | Resource::Suppliers => self.party_core(resource, index).0,
            Resource::Items => self.item(index).name,
            _ => return None,
        };
        Some(name)
    }

    pub(crate) fn company(&self) -> Value {
        let profile = &self.profile;
        let mut rng = Rng::new(profile.seed);
        let name = match profile.size {
            Size::Small => "Demo Small Ltd".to_owned(),
            Size::Medium => "Demo Medium Ltd".to_owned(),
            Size::Bench(n) => format!("Bench {n} Ltd"),
            Size::Other(_) => words::company_name(&mut rng),
        };
        let (line1, city, postal_code) = words::address(&mut rng, profile.country);
        let created = timestamp(reference_ms(1, 0));
        json!({
            "id": format!("cmp_{:016x}", profile.seed),
            "name": name,
            "legal_name": name,
            "organisation": profile.name,
            "base_currency": profile.currency,
            "country": profile.country,
            "registration_number": format!("{:08}", rng.below(100_000_000)),
            "tax_number": format!("{}{:09}", profile.country, rng.below(1_000_000_000)),
            "financial_year_end": "12-31",
            "address": { "line1": line1, "city": city, "postal_code": postal_code, "country": profile.country },
            "created_at": created,
            "updated_at": created,
        })
    }

    fn account(&self, index: u64) -> Value {
        let (code, name, kind, sub_type, _) = CHART[index as usize % CHART.len()];
        json!({
            "code": code,
            "name": name,
            "type": kind,
            "sub_type": sub_type,
            "description": null,
            "currency": self.profile.currency,
            "status": "active",
        })
    }

    fn tax_rate(&self, index: u64) -> Value {
        let (name, code, basis_points) = TAX_RATES[index as usize % TAX_RATES.len()];
        json!({
            "name": name,
            "code": code,
            "rate_basis_points": basis_points,
            "applies_to": ["sales", "purchases"],
            "status": "active",
        })
    }

    fn bank_account(&self, index: u64) -> Value {
        let (name, kind, ledger) = BANK_ACCOUNTS[index as usize % BANK_ACCOUNTS.len()];
        let mut rng = self.profile.rng(Resource::BankAccounts, index);
        json!({
            "name": name,
            "account_type": kind,
            "bank_name": "Sandbox Bank",
            "account_number_last4": format!("{:04}", rng.below(10_000)),
            "currency": self.profile.currency,
            "ledger_account_id": Resource::Accounts.id(ledger),
            "status": "active",
        })
    }

    /// A customer's or supplier's name and payment terms, cheap enough for every document.
    fn party_core(&self, resource: Resource, index: u64) -> (String, i64, Rng) {
        let mut rng = self.profile.rng(resource, index);
        let terms = *rng.pick(&[7, 14, 30, 30, 30, 45, 60]);
        let name = words::company_name(&mut rng);
        (name, terms, rng)
    }

    fn party(&self, resource: Resource, index: u64) -> Value {
        let (name, terms, mut rng) = self.party_core(resource, index);
        let (first, last) = words::person(&mut rng);
        let country = self.profile.country;
        let (line1, city, postal_code) = words::address(&mut rng, country);
        let has_tax_number = rng.chance(60);
        json!({
            "name": name,
            "contact_name": format!("{first} {last}"),
            "email": format!("{}@{}.example.com", words::slug(first), words::slug(&name)),
            "phone": words::phone(&mut rng, country),
            "billing_address": {
                "line1": line1,
                "city": city,
                "postal_code": postal_code,
                "country": country,
            },
            "currency": self.profile.currency,
            "tax_number": has_tax_number.then(|| format!("{country}{:09}", rng.below(1_000_000_000))),
            "payment_terms_days": terms,
            "status": "active",
        })
    }

    pub(crate) fn item(&self, index: u64) -> ItemCore {
        let mut rng = self.profile.rng(Resource::Items, index);
        let inventory = rng.chance(60);
        let name = if inventory {
            format!(
                "{} {}",
                rng.pick(&words::PRODUCT_ADJECTIVES),
                rng.pick(&words::PRODUCT_NOUNS)
            )
        } else {
            (*rng.pick(&words::SERVICES)).to_owned()
        };
        let unit_price = if inventory {
            rng.between(3, 150) * 100 - 1
        } else {
            rng.between(50, 1_500) * 100
        };
        let tax_rate = match rng.below(10) {
            0 => 1,
            1 | 2 => 2,
            _ => 0,
        };
        ItemCore {
            code: format!("SKU-{:05}", index + 1),
            name,
            kind: if inventory { "inventory" } else { "service" },
            unit_price,
            purchase_price: inventory.then(|| unit_price * rng.between(50, 70) / 100),
            sales_account: if inventory { SALES } else { SERVICES },
            purchase_account: inventory.then_some(COST_OF_SALES),
            tax_rate,
        }
    }

    fn item_json(&self, index: u64) -> Value {
        let item = self.item(index);
        json!({
            "code": item.code,
            "name": item.name,
            "type": item.kind,
            "description": format!("{} ({})", item.name, item.kind),
            "unit_price_minor": item.unit_price,
            "purchase_price_minor": item.purchase_price,
            "currency": self.profile.currency,
            "sales_account_id": Resource::Accounts.id(item.sales_account),
            "purchase_account_id": item.purchase_account.map(|account| Resource::Accounts.id(account)),
            "tax_rate_id": Resource::TaxRates.id(item.tax_rate),
            "status": "active",
        })
    }

    /// The lines and counterparty of invoice, bill or credit note `index`.
    fn doc(&self, resource: Resource, index: u64) -> Doc {
        let mut rng = self.profile.rng(resource, index);
        let purchases = resource == Resource::Bills;
        let party = if purchases {
            rng.below(active(self.suppliers))
        } else {
            rng.below(active(self.customers))
        };
        let line_count = rng.between(1, 4);
        let lines: Vec<Line> = (0..line_count)
            .map(|_| {
                let quantity = *rng.pick(&[1, 1, 1, 2, 3, 5, 10]);
                if purchases && rng.chance(50) {
                    let (account, description) = *rng.pick(&OVERHEADS);
                    return Line {
                        item: None,
                        description: description.to_owned(),
                        quantity: 1,
                        unit_minor: rng.between(20, 2_000) * 100,
                        account,
                        tax_rate: 0,
                    };
                }
                let item_index = rng.below(active(self.items));
                let item = self.item(item_index);
                Line {
                    item: Some(item_index),
                    description: item.name,
                    quantity,
                    unit_minor: if purchases {
                        item.purchase_price.unwrap_or(item.unit_price / 2)
                    } else {
                        item.unit_price
                    },
                    account: if purchases {
                        item.purchase_account.unwrap_or(PROFESSIONAL_FEES)
                    } else {
                        item.sales_account
                    },
                    tax_rate: item.tax_rate,
                }
            })
            .collect();
        let total = lines
            .iter()
            .map(|line| {
                let subtotal = line.quantity * line.unit_minor;
                subtotal + tax_on(subtotal, TAX_RATES[line.tax_rate as usize].2)
            })
            .sum();
        Doc {
            party,
            lines,
            total,
        }
    }

    fn document(&self, resource: Resource, index: u64) -> Value {
        let doc = self.doc(resource, index);
        let issued = self.updated_ms(resource, index);
        let bills = resource == Resource::Bills;
        let party_resource = if bills {
            Resource::Suppliers
        } else {
            Resource::Customers
        };
        let (_, terms, _) = self.party_core(party_resource, doc.party);
        let (status, paid) = match self.state(resource, index) {
            DocState::Draft => ("draft", 0),
            DocState::Void => ("void", 0),
            DocState::Open => ("open", 0),
            DocState::PartlyPaid => ("open", doc.total / 2),
            DocState::Paid => ("paid", doc.total),
        };
        let mut rng = self.profile.rng(resource, index ^ 0xffff_ffff);
        let mut record = document_json(
            &DocumentFields {
                number: if bills {
                    format!("BILL-{:07}", index + 1)
                } else {
                    format!("INV-{:07}", index + 1)
                },
                status,
                issue_date: date(issued),
                due_date: date(issued + terms * DAY_MS),
                currency: self.profile.currency,
                reference: rng
                    .chance(40)
                    .then(|| format!("PO-{:05}", rng.below(100_000))),
            },
            &doc.lines,
        );
        let amount_due = if status == "void" {
            0
        } else {
            doc.total - paid
        };
        if let Some(fields) = record.as_object_mut() {
            let party_field = if bills { "supplier_id" } else { "customer_id" };
            fields.insert(party_field.into(), json!(party_resource.id(doc.party)));
            fields.insert("amount_paid_minor".into(), json!(paid));
            fields.insert("amount_due_minor".into(), json!(amount_due));
        }
        record
    }

    fn credit_note(&self, index: u64) -> Value {
        let doc = self.doc(Resource::CreditNotes, index);
        let issued = self.updated_ms(Resource::CreditNotes, index);
        let mut rng = self.profile.rng(Resource::CreditNotes, index ^ 0xffff_ffff);
        let status = *rng.pick(&["open", "open", "applied", "applied", "void"]);
        let mut record = document_json(
            &DocumentFields {
                number: format!("CN-{:07}", index + 1),
                status,
                issue_date: date(issued),
                due_date: date(issued),
                currency: self.profile.currency,
                reference: Some("Returned goods".to_owned()),
            },
            &doc.lines,
        );
        if let Some(fields) = record.as_object_mut() {
            fields.remove("due_date");
            fields.insert(
                "customer_id".into(),
                json!(Resource::Customers.id(doc.party)),
            );
            let remaining = if status == "open" { doc.total } else { 0 };
            fields.insert("remaining_credit_minor".into(), json!(remaining));
        }
        record
    }

    fn payment(&self, resource: Resource, index: u64) -> Value {
        let documents = if resource == Resource::BillPayments {
            Resource::Bills
        } else {
            Resource::Invoices
        };
        let (document, _) = self.payments(documents).parent(index).unwrap_or((0, 0));
        let doc = self.doc(documents, document);
        let amount = match self.state(documents, document) {
            DocState::PartlyPaid => doc.total / 2,
            _ => doc.total,
        };
        let mut rng = self.profile.rng(resource, index);
        let paid_on = date(self.updated_ms(resource, index));
        let method = *rng.pick(&["bank_transfer", "bank_transfer", "card", "direct_debit"]);
        if documents == Resource::Bills {
            json!({
                "bill_id": Resource::Bills.id(document),
                "supplier_id": Resource::Suppliers.id(doc.party),
                "amount_minor": amount,
                "currency": self.profile.currency,
                "paid_on": paid_on,
                "method": method,
                "account_id": Resource::Accounts.id(BANK),
                "reference": format!("BILL-{:07}", document + 1),
            })
        } else {
            json!({
                "invoice_id": Resource::Invoices.id(document),
                "customer_id": Resource::Customers.id(doc.party),
                "amount_minor": amount,
                "currency": self.profile.currency,
                "paid_on": paid_on,
                "method": method,
                "account_id": Resource::Accounts.id(BANK),
                "reference": format!("INV-{:07}", document + 1),
            })
        }
    }

    fn journal_entry(&self, index: u64) -> Value {
        let mut rng = self.profile.rng(Resource::JournalEntries, index);
        let (debit, credit, memo) = *rng.pick(&JOURNALS);
        let split = rng.chance(30);
        let amount = rng.between(100, 20_000) * 100;
        let mut lines = Vec::new();
        if split {
            let first = amount / 3;
            lines.push(journal_line(debit, memo, first, 0));
            let (other, other_memo) = *rng.pick(&OVERHEADS);
            lines.push(journal_line(other, other_memo, amount - first, 0));
        } else {
            lines.push(journal_line(debit, memo, amount, 0));
        }
        lines.push(journal_line(credit, memo, 0, amount));
        json!({
            "number": format!("JE-{:06}", index + 1),
            "entry_date": date(self.updated_ms(Resource::JournalEntries, index)),
            "memo": memo,
            "currency": self.profile.currency,
            "lines": lines,
            "total_minor": amount,
        })
    }
}

fn journal_line(account: u64, description: &str, debit: i64, credit: i64) -> Value {
    json!({
        "account_id": Resource::Accounts.id(account),
        "description": description,
        "debit_minor": debit,
        "credit_minor": credit,
    })
}

struct DocumentFields {
    number: String,
    status: &'static str,
    issue_date: String,
    due_date: String,
    currency: &'static str,
    reference: Option<String>,
}

fn document_json(fields: &DocumentFields, lines: &[Line]) -> Value {
    let mut subtotal = 0;
    let mut tax = 0;
    let lines: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(position, line)| {
            let line_subtotal = line.quantity * line.unit_minor;
            let line_tax = tax_on(line_subtotal, TAX_RATES[line.tax_rate as usize].2);
            subtotal += line_subtotal;
            tax += line_tax;
            json!({
                "line_number": position + 1,
                "item_id": line.item.map(|item| Resource::Items.id(item)),
                "description": line.description,
                "quantity": line.quantity,
                "unit_price_minor": line.unit_minor,
                "account_id": Resource::Accounts.id(line.account),
                "tax_rate_id": Resource::TaxRates.id(line.tax_rate),
                "subtotal_minor": line_subtotal,
                "tax_minor": line_tax,
                "total_minor": line_subtotal + line_tax,
            })
        })
        .collect();
    let mut document = json!({
        "number": fields.number,
        "status": fields.status,
        "issue_date": fields.issue_date,
        "due_date": fields.due_date,
        "currency": fields.currency,
        "reference": fields.reference,
        "subtotal_minor": subtotal,
        "tax_minor": tax,
        "total_minor": subtotal + tax,
    });
    // Moved in, not copied as `json!` would copy it.
    document["lines"] = Value::Array(lines);
    document
}
