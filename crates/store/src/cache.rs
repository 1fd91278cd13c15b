//! An in-process read cache for connection records, used when this process is the only writer of its
//! database (the embedded SQLite mode, where `linkwell serve` holds an exclusive lock on the file). Reading a
//! connection is the hottest path of the API, and with SQLite the database round trip costs far more than the
//! lookup itself.
//!
//! Coherence: every committed change to companies or connections goes through [`Store::commit`] (or calls
//! [`ReadCache::changed`] itself), which bumps a generation. An entry is served only while the generation is
//! the one that was current *before* the entry was read from the database, so an entry read concurrently with
//! a change is never served after that change is committed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use linkwell_domain::ids::{ClientId, CompanyId, ConnectionId};

use crate::records::ConnectionRecord;

const CAPACITY: usize = 100_000;

#[derive(Default, Debug)]
pub(crate) struct ReadCache {
    generation: AtomicU64,
    connections: RwLock<HashMap<ConnectionId, (u64, ClientId, ConnectionRecord)>>,
}

impl ReadCache {
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
