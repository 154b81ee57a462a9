//! The approval ledger: every decision a person makes about a payout, in an
//! append-only, hash-chained log under the output root
//! (`_ledger/payouts/<seq>.json`, one object per entry).
//!
//! Why a chain: finance must be able to show that nobody edited a decision
//! after the fact. Each entry stores the hash of the one before it and its own
//! hash over its content, so changing, removing or reordering any entry breaks
//! the chain at that point ([`Ledger::verify`]). Entries are written with
//! create-only puts, so two people deciding at once cannot both take the same
//! sequence number.

use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

use crate::error::{Error, Result};
use crate::storage::{Storage, store_path};

/// Where the entries live, under the output root.
pub const LEDGER_DIR: &str = "_ledger/payouts/";

/// The hash the first entry points back to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a person decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Pay it as computed.
    Approve,
    /// Do not pay it; its lines are never paid.
    Reject,
}

impl Decision {
    /// The payout status a decision leads to.
    pub fn status(self) -> &'static str {
        match self {
            Decision::Approve => "approved",
            Decision::Reject => "rejected",
        }
    }
}

/// One ledger entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// Wall-clock time of the decision.
    pub at: DateTime<Utc>,
    /// The decision.
    pub decision: Decision,
    /// The payout decided on.
    pub payout_id: String,
    /// Who decided.
    pub by: String,
    /// Why (free text).
    pub note: Option<String>,
    /// The run date whose `payouts` partition was decided on.
    pub as_of: NaiveDate,
    /// The payout row as decided (decimals as text).
    pub payout: serde_json::Value,
    /// Its lines as decided (decimals as text).
    pub lines: Vec<serde_json::Value>,
    /// Hash of the previous entry ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// SHA-256 of this entry's content (every field but this one) and `prev_hash`.
    pub hash: String,
}

impl Entry {
    /// The hash this entry should carry.
    pub fn compute_hash(&self) -> String {
        let mut body = self.clone();
        body.hash = String::new();
        let text = serde_json::to_string(&body).expect("entry serializes");
        let mut h = Sha256::new();
        h.update(self.prev_hash.as_bytes());
        h.update(b"\n");
        h.update(text.as_bytes());
        hex::encode(h.finalize())
    }
}

/// The ledger of one output root, read and verified.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// Entries in sequence order.
    pub entries: Vec<Entry>,
}

fn ledger_url(root: &Url) -> Result<Url> {
    root.join(LEDGER_DIR)
        .map_err(|e| Error::Internal(format!("ledger url: {e}")))
}

impl Ledger {
    /// Reads every entry under `root` and verifies the chain. A broken chain
    /// is invalid data (exit 65): nothing is paid from a ledger that was edited.
    pub async fn load(storage: &Storage, root: &Url) -> Result<Ledger> {
        let ledger = Self::read(storage, root).await?;
        ledger.verify()?;
        Ok(ledger)
    }

    /// Reads the entries without verifying them.
    pub async fn read(storage: &Storage, root: &Url) -> Result<Ledger> {
        let url = ledger_url(root)?;
        let store = storage.store_for(&url)?;
        let prefix = store_path(&url)?;
        let mut objects: Vec<_> = match store.list(Some(&prefix)).try_collect().await {
            Ok(o) => o,
            Err(object_store::Error::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        objects.retain(|m: &object_store::ObjectMeta| {
            m.location.filename().is_some_and(|f| f.ends_with(".json"))
        });
        objects.sort_by(|a, b| a.location.cmp(&b.location));
        let mut entries = Vec::with_capacity(objects.len());
        for m in objects {
            let bytes = store.get(&m.location).await?.bytes().await?;
            let entry: Entry = serde_json::from_slice(&bytes).map_err(|e| {
                Error::InvalidInput(format!(
                    "payout ledger entry {} is not a valid entry: {e}",
                    m.location
                ))
            })?;
            let name = m.location.filename().unwrap_or_default().to_string();
            if name != file_name(entry.seq) {
                return Err(Error::InvalidInput(format!(
                    "payout ledger: file {name} holds entry seq {}; entries were moved or renamed",
                    entry.seq
                )));
            }
            entries.push(entry);
        }
        Ok(Ledger { entries })
    }

    /// Checks the chain: sequence numbers 1..n without gaps, each entry's
    /// `prev_hash` equal to the previous hash, each hash equal to its content's,
    /// and no payout decided twice.
    pub fn verify(&self) -> Result<()> {
        let mut prev = GENESIS.to_string();
        let mut decided = std::collections::HashSet::new();
        for (i, e) in self.entries.iter().enumerate() {
            let want = i as u64 + 1;
            if e.seq != want {
                return Err(Error::InvalidInput(format!(
                    "payout ledger: expected entry {want}, found {}; an entry was removed or added out of order",
                    e.seq
                )));
            }
            if e.prev_hash != prev {
                return Err(Error::InvalidInput(format!(
                    "payout ledger: entry {} does not point to the hash of entry {}; the chain was edited",
                    e.seq,
                    e.seq - 1
                )));
            }
            let h = e.compute_hash();
            if h != e.hash {
                return Err(Error::InvalidInput(format!(
                    "payout ledger: entry {} ({} of {} by {}) was changed after it was written: its hash is {h}, it records {}",
                    e.seq,
                    e.decision.status(),
                    e.payout_id,
                    e.by,
                    e.hash
                )));
            }
            if !decided.insert(e.payout_id.clone()) {
                return Err(Error::InvalidInput(format!(
                    "payout ledger: entry {} decides payout {} a second time",
                    e.seq, e.payout_id
                )));
            }
            prev = h;
        }
        Ok(())
    }

    /// The decision (approve or reject) on `payout_id`, if any.
    pub fn decision(&self, payout_id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.payout_id == payout_id)
    }

    /// Decisions that a run for `date` sees: those taken on payouts computed
    /// for `date` or earlier, so a backfill of an older date shows that date's
    /// state.
    pub fn decisions_as_of(&self, date: NaiveDate) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.as_of <= date)
    }

    /// Appends an entry (filling `seq`, `prev_hash` and `hash`) with a
    /// create-only write. Losing a race to another writer is transient (exit 75).
    pub async fn append(
        &mut self,
        storage: &Storage,
        root: &Url,
        mut entry: Entry,
    ) -> Result<Entry> {
        entry.seq = self.entries.len() as u64 + 1;
        entry.prev_hash = self
            .entries
            .last()
            .map(|e| e.hash.clone())
            .unwrap_or_else(|| GENESIS.to_string());
        entry.hash = entry.compute_hash();
        let url = ledger_url(root)?;
        let store = storage.store_for(&url)?;
        let path = store_path(&url)?.clone().join(file_name(entry.seq));
        let bytes =
            serde_json::to_vec_pretty(&entry).map_err(|e| Error::Internal(e.to_string()))?;
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        store
            .put_opts(&path, PutPayload::from(bytes), opts)
            .await
            .map_err(|e| match e {
                object_store::Error::AlreadyExists { .. } => Error::Transient(format!(
                    "payout ledger entry {} was written by someone else at the same time; run the command again",
                    entry.seq
                )),
                other => other.into(),
            })?;
        self.entries.push(entry.clone());
        Ok(entry)
    }
}

fn file_name(seq: u64) -> String {
    format!("{seq:010}.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(payout: &str) -> Entry {
        Entry {
            seq: 0,
            at: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            decision: Decision::Approve,
            payout_id: payout.into(),
            by: "ana".into(),
            note: None,
            as_of: NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
            payout: serde_json::json!({"net": "12.30"}),
            lines: vec![],
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[tokio::test]
    async fn an_edit_anywhere_in_the_chain_is_detected() {
        let root = Url::parse("memory://ledger-test/").unwrap();
        let storage = Storage::new().with_store(
            &root,
            std::sync::Arc::new(object_store::memory::InMemory::new()),
        );
        let mut ledger = Ledger::load(&storage, &root).await.unwrap();
        for p in ["a", "b", "c"] {
            ledger.append(&storage, &root, entry(p)).await.unwrap();
        }
        let read = Ledger::load(&storage, &root).await.unwrap();
        assert_eq!(read.entries, ledger.entries);

        let mut edited = read.clone();
        edited.entries[1].payout["net"] = serde_json::json!("99.00");
        let e = edited.verify().unwrap_err().to_string();
        assert!(e.contains("entry 2") && e.contains("changed"), "{e}");

        let mut rehashed = edited.clone();
        rehashed.entries[1].hash = rehashed.entries[1].compute_hash();
        let e = rehashed.verify().unwrap_err().to_string();
        assert!(e.contains("entry 3 does not point"), "{e}");

        let mut removed = read.clone();
        removed.entries.remove(1);
        assert!(
            removed
                .verify()
                .unwrap_err()
                .to_string()
                .contains("expected entry 2")
        );

        let mut twice = read.clone();
        twice.entries[2].payout_id = "a".into();
        twice.entries[2].hash = twice.entries[2].compute_hash();
        assert!(
            twice
                .verify()
                .unwrap_err()
                .to_string()
                .contains("second time")
        );
    }
}
