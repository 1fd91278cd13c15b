//! An in-process read cache, used when this process is the only writer of its database (the embedded SQLite
//! mode, where `linkwell serve` holds an exclusive lock on the file). It holds two things:
//!
//! - connection records, for `GET /companies/{c}/connections/{x}`, the hottest read of the API;
//! - rendered company listings (the response bytes of `GET /companies`), keyed by client and the normalised
//!   list parameters. A page of 100 companies is about 87 KB of JSON, and building it costs far more than
//!   sending it.
//!
//! Coherence: every committed change to companies or connections goes through [`Store::commit`] (or calls
//! [`ReadCache::changed`] itself), which bumps a generation. An entry is served only while the generation is
//! the one that was current *before* the entry was read from the database, so an entry read concurrently with
//! a change is never served after that change is committed.
//!
//! [`Store::commit`]: crate::Store

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use linkwell_domain::ids::{ClientId, CompanyId, ConnectionId};

use crate::records::ConnectionRecord;

const CAPACITY: usize = 100_000;

/// At most this many rendered listings are kept...
pub(crate) const LISTING_ENTRIES: usize = 1024;
/// ...holding at most this many bytes of response bodies in all...
pub(crate) const LISTING_BYTES: usize = 64 << 20;
/// ...and no single listing larger than this (a page of 5,000 companies is about 4.4 MB).
pub(crate) const LISTING_ENTRY_BYTES: usize = 8 << 20;

#[derive(Debug)]
pub(crate) struct ReadCache {
    generation: AtomicU64,
    connections: RwLock<HashMap<ConnectionId, (u64, ClientId, ConnectionRecord)>>,
    listings: RwLock<Listings>,
    limits: ListingLimits,
    /// A clock for least-recently-used eviction: one tick per listing read or stored.
    ticks: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ListingLimits {
    pub(crate) entries: usize,
    pub(crate) bytes: usize,
    pub(crate) entry_bytes: usize,
}

impl Default for ListingLimits {
    fn default() -> Self {
        Self {
            entries: LISTING_ENTRIES,
            bytes: LISTING_BYTES,
            entry_bytes: LISTING_ENTRY_BYTES,
        }
    }
}

/// The rendered listings of one generation. A listing is looked up by client first, so an entry can only ever
/// be found by the client it was rendered for.
#[derive(Debug, Default)]
struct Listings {
    generation: u64,
    by_client: HashMap<ClientId, HashMap<String, Listing>>,
    entries: usize,
    bytes: usize,
}

#[derive(Debug)]
struct Listing {
    body: Arc<[u8]>,
    last_used: AtomicU64,
}

/// How the listing cache is doing; for tests and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListingCacheStats {
    /// Listings held (of the current generation or an older one not yet dropped).
    pub entries: usize,
    /// Bytes held: response bodies and their keys.
    pub bytes: usize,
    pub hits: u64,
    pub misses: u64,
}

impl Default for ReadCache {
    fn default() -> Self {
        Self::with_listing_limits(ListingLimits::default())
    }
}

impl ReadCache {
    pub(crate) fn with_listing_limits(limits: ListingLimits) -> Self {
        Self {
            generation: AtomicU64::new(0),
            connections: RwLock::default(),
            listings: RwLock::default(),
            limits,
            ticks: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The generation to tag a database read with; take it before reading.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Called after a change to companies or connections is committed.
    pub(crate) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn connection(
        &self,
        client: ClientId,
        company: CompanyId,
        connection: ConnectionId,
    ) -> Option<ConnectionRecord> {
        let current = self.generation();
        let entries = self.connections.read().ok()?;
        let (generation, owner, record) = entries.get(&connection)?;
        (*generation == current && *owner == client && record.company_id == company)
            .then(|| record.clone())
    }

    pub(crate) fn remember_connection(
        &self,
        generation: u64,
        client: ClientId,
        record: &ConnectionRecord,
    ) {
        if generation != self.generation() {
            return;
        }
        if let Ok(mut entries) = self.connections.write() {
            if entries.len() >= CAPACITY {
                let current = self.generation();
                entries.retain(|_, (entry, _, _)| *entry == current);
                if entries.len() >= CAPACITY {
                    entries.clear();
                }
            }
            entries.insert(record.id, (generation, client, record.clone()));
        }
    }
}

impl ReadCache {
    /// The rendered listing `key` of `client`, if one was stored in the current generation.
    pub(crate) fn listing(&self, client: ClientId, key: &str) -> Option<Arc<[u8]>> {
        let current = self.generation();
        let found = self.listings.read().ok().and_then(|listings| {
            if listings.generation != current {
                return None;
            }
            let entry = listings.by_client.get(&client)?.get(key)?;
            entry.last_used.store(
                self.ticks.fetch_add(1, Ordering::Relaxed),
                Ordering::Relaxed,
            );
            Some(Arc::clone(&entry.body))
        });
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps a listing rendered from a database read that started at `generation`. Dropped when a change was
    /// committed since, or when the body is larger than one entry may be. Storing the first listing of a new
    /// generation drops every older one; past the bounds, the least recently used listings go.
    pub(crate) fn remember_listing(
        &self,
        generation: u64,
        client: ClientId,
        key: String,
        body: Arc<[u8]>,
    ) {
        let size = key.len() + body.len();
        if generation != self.generation() || size > self.limits.entry_bytes {
            return;
        }
        let Ok(mut listings) = self.listings.write() else {
            return;
        };
        if generation < listings.generation {
            return;
        }
        if generation > listings.generation {
            *listings = Listings {
                generation,
                ..Listings::default()
            };
        }
        let key_len = key.len();
        let entry = Listing {
            body,
            last_used: AtomicU64::new(self.ticks.fetch_add(1, Ordering::Relaxed)),
        };
        match listings
            .by_client
            .entry(client)
            .or_default()
            .insert(key, entry)
        {
            Some(replaced) => listings.bytes -= key_len + replaced.body.len(),
            None => listings.entries += 1,
        }
        listings.bytes += size;
        while listings.entries > self.limits.entries || listings.bytes > self.limits.bytes {
            if !listings.evict_least_recently_used() {
                break;
            }
        }
    }

    pub(crate) fn listing_stats(&self) -> ListingCacheStats {
        let (entries, bytes) = self
            .listings
            .read()
            .map(|listings| (listings.entries, listings.bytes))
            .unwrap_or_default();
        ListingCacheStats {
            entries,
            bytes,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

impl Listings {
    /// Drops the listing used longest ago; false when there is none.
    fn evict_least_recently_used(&mut self) -> bool {
        let oldest = self
            .by_client
            .iter()
            .flat_map(|(client, keys)| {
                keys.iter()
                    .map(move |(key, entry)| (entry.last_used.load(Ordering::Relaxed), client, key))
            })
            .min_by_key(|(used, _, _)| *used)
            .map(|(_, client, key)| (*client, key.clone()));
        let Some((client, key)) = oldest else {
            return false;
        };
        if let Some(keys) = self.by_client.get_mut(&client) {
            if let Some(entry) = keys.remove(&key) {
                self.entries -= 1;
                self.bytes -= key.len() + entry.body.len();
            }
            if keys.is_empty() {
                self.by_client.remove(&client);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(size: usize, fill: u8) -> Arc<[u8]> {
        vec![fill; size].into()
    }

    fn small_cache() -> ReadCache {
        ReadCache::with_listing_limits(ListingLimits {
            entries: 4,
            bytes: 1000,
            entry_bytes: 600,
        })
    }

    #[test]
    fn listings_stay_within_their_bounds() {
        let cache = small_cache();
        let client = ClientId::new();
        let generation = cache.generation();
        for i in 0..50 {
            cache.remember_listing(generation, client, format!("page {i:02}"), body(93, 1));
            let stats = cache.listing_stats();
            assert!(stats.entries <= 4, "{stats:?}");
            assert!(stats.bytes <= 1000, "{stats:?}");
        }
        assert_eq!(cache.listing_stats().entries, 4);
        assert_eq!(cache.listing_stats().bytes, 400, "keys count too");
        // By bytes: three entries of 300 fit in 1000, a fourth does not.
        for i in 0..10 {
            cache.remember_listing(generation, client, format!("big {i}"), body(295, 2));
            let stats = cache.listing_stats();
            assert!(stats.entries <= 4 && stats.bytes <= 1000, "{stats:?}");
        }
        assert_eq!(cache.listing_stats().bytes, 900);
        // Larger than one entry may be: not kept at all, whether by its body or by its key.
        cache.remember_listing(generation, client, "huge".into(), body(597, 3));
        assert!(cache.listing(client, "huge").is_none());
        cache.remember_listing(generation, client, "k".repeat(601), body(0, 3));
        assert!(cache.listing(client, &"k".repeat(601)).is_none());
        assert_eq!(cache.listing_stats().bytes, 900);
        // Replacing a listing counts its bytes once.
        cache.remember_listing(generation, client, "big 9".into(), body(45, 4));
        assert_eq!(cache.listing_stats().bytes, 650);
        assert_eq!(cache.listing_stats().entries, 3);
    }

    #[test]
    fn the_least_recently_used_listing_goes_first() {
        let cache = small_cache();
        let client = ClientId::new();
        let generation = cache.generation();
        for i in 0..4 {
            cache.remember_listing(generation, client, format!("page {i}"), body(10, i));
        }
        assert!(cache.listing(client, "page 0").is_some());
        cache.remember_listing(generation, client, "page 4".into(), body(10, 4));
        assert!(cache.listing(client, "page 0").is_some(), "recently read");
        assert!(
            cache.listing(client, "page 1").is_none(),
            "least recently used"
        );
        for i in 2..5 {
            assert_eq!(cache.listing(client, &format!("page {i}")).unwrap()[0], i);
        }
    }

    #[test]
    fn a_change_invalidates_every_listing() {
        let cache = small_cache();
        let client = ClientId::new();
        let before = cache.generation();
        cache.remember_listing(before, client, "page 1".into(), body(10, 1));
        assert!(cache.listing(client, "page 1").is_some());
        cache.changed();
        assert!(cache.listing(client, "page 1").is_none());
        // A listing read before the change is not kept after it.
        cache.remember_listing(before, client, "page 1".into(), body(10, 1));
        assert!(cache.listing(client, "page 1").is_none());
        // The first listing of the new generation drops the old ones.
        cache.remember_listing(cache.generation(), client, "page 2".into(), body(10, 2));
        assert_eq!(cache.listing_stats().entries, 1);
        assert_eq!(cache.listing_stats().bytes, "page 2".len() + 10);
        let stats = cache.listing_stats();
        assert_eq!((stats.hits, stats.misses), (1, 2));
    }

    #[test]
    fn a_client_never_sees_another_clients_listing() {
        let cache = small_cache();
        let (first, second) = (ClientId::new(), ClientId::new());
        let generation = cache.generation();
        cache.remember_listing(generation, first, "page 1".into(), body(10, 1));
        assert!(cache.listing(second, "page 1").is_none());
        cache.remember_listing(generation, second, "page 1".into(), body(10, 2));
        assert_eq!(cache.listing(first, "page 1").unwrap()[0], 1);
        assert_eq!(cache.listing(second, "page 1").unwrap()[0], 2);
    }
}
