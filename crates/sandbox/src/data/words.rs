//! Word lists the generators draw names, addresses and descriptions from.

use crate::data::rng::Rng;

pub(crate) const FIRST_NAMES: [&str; 32] = [
    "Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Arthur", "Ivy", "Leo", "Freya",
    "Oscar", "Lily", "Harry", "Grace", "Jack", "Sofia", "Theo", "Ella", "Finn", "Chloe", "Liam",
    "Maya", "Lucas", "Nora", "Elias", "Hannah", "Mateo", "Zara", "Ravi", "Aisha", "Tomas",
];

pub(crate) const LAST_NAMES: [&str; 32] = [
    "Smith", "Jones", "Patel", "Williams", "Brown", "Taylor", "Davies", "Evans", "Wilson",
    "Thomas", "Johnson", "Roberts", "Khan", "Walker", "Wright", "Robinson", "Thompson", "White",
    "Hughes", "Edwards", "Green", "Hall", "Wood", "Harris", "Lewis", "Martin", "Jackson", "Clarke",
    "Novak", "Schmidt", "Garcia", "Okafor",
];

const COMPANY_WORDS: [&str; 30] = [
    "Acorn",
    "Beacon",
    "Copper",
    "Delta",
    "Ember",
    "Fable",
    "Granite",
    "Harbour",
    "Indigo",
    "Juniper",
    "Kestrel",
    "Lantern",
    "Meadow",
    "Northwind",
    "Orchard",
    "Pinnacle",
    "Quarry",
    "Riverside",
    "Summit",
    "Thistle",
    "Upland",
    "Vantage",
    "Willow",
    "Yarrow",
    "Zenith",
    "Bramble",
    "Cobalt",
    "Falcon",
    "Heron",
    "Maple",
];

const COMPANY_TRADES: [&str; 16] = [
    "Design",
    "Logistics",
    "Consulting",
    "Bakery",
    "Engineering",
    "Media",
    "Analytics",
    "Builders",
    "Coffee",
    "Print",
    "Dental",
    "Architects",
    "Outfitters",
    "Foods",
    "Software",
    "Events",
];

const COMPANY_SUFFIXES: [&str; 6] = ["Ltd", "Limited", "& Co", "Group", "LLP", "Partners"];

const STREETS: [&str; 16] = [
    "High", "Station", "Church", "Victoria", "Park", "Mill", "King", "Queen", "Market", "Bridge",
    "Green", "Elm", "Oak", "North", "Albert", "Castle",
];

const STREET_KINDS: [&str; 5] = ["Street", "Road", "Lane", "Avenue", "Way"];

const CITIES: [(&str, &[&str]); 3] = [
    (
        "GB",
        &[
            "London",
            "Manchester",
            "Bristol",
            "Leeds",
            "Glasgow",
            "Cardiff",
        ],
    ),
    (
        "US",
        &[
            "Austin", "Denver", "Portland", "Chicago", "Boston", "Raleigh",
        ],
    ),
    (
        "DE",
        &[
            "Berlin",
            "Hamburg",
            "Munich",
            "Cologne",
            "Amsterdam",
            "Utrecht",
        ],
    ),
];

pub(crate) fn company_name(rng: &mut Rng) -> String {
    format!(
        "{} {} {}",
        rng.pick(&COMPANY_WORDS),
        rng.pick(&COMPANY_TRADES),
        rng.pick(&COMPANY_SUFFIXES)
    )
}

pub(crate) fn person(rng: &mut Rng) -> (&'static str, &'static str) {
    (*rng.pick(&FIRST_NAMES), *rng.pick(&LAST_NAMES))
}

/// Lower-case words of `text`, joined by dashes: for e-mail addresses, domains and handles.
pub(crate) fn slug(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

/// A fictional phone number (Ofcom's and NANP's drama ranges).
pub(crate) fn phone(rng: &mut Rng, country: &str) -> String {
    match country {
        "US" => format!("+1 555 01{:02}", rng.below(100)),
        _ => format!("+44 20 7946 0{:03}", rng.below(1000)),
    }
}

/// `(line1, city, postal_code)` in `country`.
pub(crate) fn address(rng: &mut Rng, country: &str) -> (String, &'static str, String) {
    let line1 = format!(
        "{} {} {}",
        rng.between(1, 240),
        rng.pick(&STREETS),
        rng.pick(&STREET_KINDS)
    );
    let cities = CITIES
        .iter()
        .find(|(code, _)| *code == country)
        .map_or(CITIES[2].1, |(_, cities)| cities);
    let city = *rng.pick(cities);
    let postal_code = match country {
        "GB" => format!(
            "{}{} {}{}{}",
            ["EC", "SW", "M", "BS", "LS", "G"][rng.below(6) as usize],
            rng.between(1, 20),
            rng.between(1, 9),
            (b'A' + rng.below(26) as u8) as char,
            (b'A' + rng.below(26) as u8) as char
        ),
        "US" => format!("{:05}", rng.between(10_000, 99_999)),
        "NL" => format!(
            "{} {}{}",
            rng.between(1000, 9999),
            (b'A' + rng.below(26) as u8) as char,
            (b'A' + rng.below(26) as u8) as char
        ),
        _ => format!("{:05}", rng.between(10_000, 99_999)),
    };
    (line1, city, postal_code)
}

pub(crate) const PRODUCT_ADJECTIVES: [&str; 16] = [
    "Classic",
    "Organic",
    "Deluxe",
    "Compact",
    "Everyday",
    "Premium",
    "Recycled",
    "Handmade",
    "Lightweight",
    "Vintage",
    "Heavy-duty",
    "Mini",
    "Studio",
    "Travel",
    "Modular",
    "Eco",
];

pub(crate) const PRODUCT_NOUNS: [&str; 20] = [
    "Notebook",
    "Mug",
    "Backpack",
    "Desk Lamp",
    "Water Bottle",
    "T-Shirt",
    "Hoodie",
    "Candle",
    "Tote Bag",
    "Coffee Beans",
    "Tea Blend",
    "Phone Case",
    "Headphones",
    "Plant Pot",
    "Blanket",
    "Socks",
    "Sunglasses",
    "Cutting Board",
    "Scarf",
    "Wallet",
];

pub(crate) const SERVICES: [&str; 12] = [
    "Consulting (hour)",
    "Design work (day)",
    "Support plan (month)",
    "Installation",
    "Training session",
    "Maintenance visit",
    "Bookkeeping (month)",
    "Workshop",
    "Audit",
    "Copywriting (page)",
    "Photography (half day)",
    "Delivery",
];
