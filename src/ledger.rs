//! The decision ledger: every decision a person takes about something halo
//! computed (a payout today; leak confirmations, compliance verdicts and
//! message approvals later), in an append-only, hash-chained log under the
//! output root. One chain per subject kind, `_ledger/<kind>/<seq>.json`, each
//! entry naming its subject; a subject is decided once.
//!
//! Why a chain: finance must be able to show that nobody edited a decision
//! after the fact. Each entry stores the hash of the one before it and its own
//! hash over its content, so changing, removing or reordering an entry breaks
//! the chain at that point. Removing the *newest* entry leaves a valid shorter
//! chain, so the head is anchored twice: a head record
//! (`_ledger/<kind>.head.json`, rewritten after each decision) and the head
//! every `halo run` records in `runs` ([`Head`]); [`Ledger::verify`] checks
//! the chain against both. Entries are written with create-only puts, so two
//! people deciding at once cannot both take the same sequence number.
//!
//! The hash of an entry is SHA-256 over the previous hash, a newline, and the
//! entry's JSON object as stored (keys in stored order) with `hash` empty.
//! The first payout entries, written before this module was generic, hash the
//! same way, so they keep verifying unchanged.

use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use url::Url;

use crate::error::{Error, Result};
use crate::storage::{Storage, store_path};

/// The hash the first entry points back to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A kind of subject people decide on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// Folder under `_ledger/`, and the name in messages and `runs`.
    pub name: &'static str,
    /// The key of the subject's id in an entry (`payout_id` for payouts).
    pub subject_field: &'static str,
    /// The decisions an entry may record.
    pub decisions: &'static [&'static str],
}

/// The newest entry of a chain: what the head record and `runs` anchor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The ledger kind.
    pub kind: String,
    /// Sequence number of the newest entry (0: none).
    pub seq: u64,
    /// Its hash ([`GENESIS`] when there is none).
    pub hash: String,
}

/// A decision to record.
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// Wall-clock time of the decision.
    pub at: DateTime<Utc>,
    /// One of the kind's decisions.
    pub decision: String,
    /// The subject decided on.
    pub subject_id: String,
    /// Who decided.
    pub by: String,
    /// Why (free text).
    pub note: Option<String>,
    /// The run date whose results were decided on.
    pub as_of: NaiveDate,
    /// What was decided on, as the person saw it (kind-specific).
    pub content: Map<String, Value>,
}

/// One entry, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// Wall-clock time of the decision.
    pub at: DateTime<Utc>,
    /// The decision.
    pub decision: String,
    /// The subject decided on.
    pub subject_id: String,
    /// Who decided.
    pub by: String,
    /// Why.
    pub note: Option<String>,
    /// The run date whose results were decided on.
    pub as_of: NaiveDate,
    /// Kind-specific content, in stored order.
    pub content: Map<String, Value>,
    /// Hash of the previous entry ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// SHA-256 of the entry (see the module docs).
    pub hash: String,
    /// The object as stored: what the hash covers.
    raw: Map<String, Value>,
}

const FIXED: &[&str] = &[
    "seq",
    "at",
    "decision",
    "by",
    "note",
    "as_of",
    "prev_hash",
    "hash",
];

fn hash_of(raw: &Map<String, Value>, prev_hash: &str) -> String {
    let mut body = raw.clone();
    body.insert("hash".into(), Value::String(String::new()));
    let text = serde_json::to_string(&Value::Object(body)).expect("JSON serializes");
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(text.as_bytes());
    hex::encode(h.finalize())
}

impl Entry {
    /// The hash this entry's stored content gives.
    pub fn compute_hash(&self) -> String {
        hash_of(&self.raw, &self.prev_hash)
    }

    /// The entry as a JSON object, in stored order.
    pub fn to_json(&self) -> Value {
        Value::Object(self.raw.clone())
    }

    fn from_json(kind: &Kind, raw: Map<String, Value>, file: &str) -> Result<Entry> {
        let bad = |what: &str| {
            Error::InvalidInput(format!(
                "{} ledger entry {file} is not a valid entry: {what}",
                kind.name
            ))
        };
        let text = |k: &str| -> Result<String> {
            raw.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| bad(&format!("{k} is missing or not text")))
        };
        let seq = raw
            .get("seq")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("seq is missing"))?;
        let at = DateTime::parse_from_rfc3339(&text("at")?)
            .map_err(|e| bad(&format!("at: {e}")))?
            .with_timezone(&Utc);
        let as_of = NaiveDate::parse_from_str(&text("as_of")?, "%Y-%m-%d")
            .map_err(|e| bad(&format!("as_of: {e}")))?;
        let note = match raw.get("note") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(bad("note is not text")),
        };
        let content = raw
            .iter()
            .filter(|(k, _)| !FIXED.contains(&k.as_str()) && k.as_str() != kind.subject_field)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Entry {
            seq,
            at,
            decision: text("decision")?,
            subject_id: text(kind.subject_field)?,
            by: text("by")?,
            note,
            as_of,
            content,
            prev_hash: text("prev_hash")?,
            hash: text("hash")?,
            raw,
        })
    }
}

/// The ledger of one kind under one output root.
#[derive(Debug, Clone)]
pub struct Ledger {
    /// The kind.
    pub kind: Kind,
    /// Entries in sequence order.
    pub entries: Vec<Entry>,
    /// The head record, if one was written.
    pub head_record: Option<Head>,
}

fn ledger_url(root: &Url, kind: &Kind) -> Result<Url> {
    root.join(&format!("_ledger/{}/", kind.name))
        .map_err(|e| Error::Internal(format!("ledger url: {e}")))
}

fn head_url(root: &Url, kind: &Kind) -> Result<Url> {
    root.join(&format!("_ledger/{}.head.json", kind.name))
        .map_err(|e| Error::Internal(format!("ledger head url: {e}")))
}

fn file_name(seq: u64) -> String {
    format!("{seq:010}.json")
}

impl Ledger {
    /// An empty ledger of `kind`.
    pub fn empty(kind: Kind) -> Ledger {
        Ledger {
            kind,
            entries: Vec::new(),
            head_record: None,
        }
    }

    /// Reads every entry under `root` and verifies the chain against its head
    /// record and `anchors` (the heads runs recorded; those of other kinds
    /// are ignored). A broken chain is invalid data (exit 65): nothing is
    /// decided or paid from an edited ledger.
    pub async fn load(
        storage: &Storage,
        root: &Url,
        kind: Kind,
        anchors: &[Head],
    ) -> Result<Ledger> {
        let ledger = Self::read(storage, root, kind).await?;
        ledger.verify(anchors)?;
        Ok(ledger)
    }

    /// The ledger of `kind` under `output`, verified against its head record
    /// and every head a run recorded in `runs`: what the CLI reads before a
    /// person decides or lists (exit 65 when it was edited).
    pub async fn verified(storage: &Storage, output: &Url, kind: Kind) -> Result<Ledger> {
        let anchors = match crate::tables::ResultStore::new(storage.clone(), output.clone()) {
            Ok(results) => recorded_heads(&results).await?,
            Err(_) => Vec::new(),
        };
        Self::load(storage, output, kind, &anchors).await
    }

    /// Reads the entries and the head record without verifying them.
    pub async fn read(storage: &Storage, root: &Url, kind: Kind) -> Result<Ledger> {
        let url = ledger_url(root, &kind)?;
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
            let name = m.location.filename().unwrap_or_default().to_string();
            let raw: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|e| {
                Error::InvalidInput(format!(
                    "{} ledger entry {} is not a valid entry: {e}",
                    kind.name, m.location
                ))
            })?;
            let entry = Entry::from_json(&kind, raw, m.location.as_ref())?;
            if name != file_name(entry.seq) {
                return Err(Error::InvalidInput(format!(
                    "{} ledger: file {name} holds entry seq {}; entries were moved or renamed",
                    kind.name, entry.seq
                )));
            }
            entries.push(entry);
        }
        let head_url = head_url(root, &kind)?;
        let head_record = match store.get(&store_path(&head_url)?).await {
            Ok(r) => {
                let bytes = r.bytes().await?;
                Some(serde_json::from_slice(&bytes).map_err(|e| {
                    Error::InvalidInput(format!(
                        "{} ledger head {head_url} is not valid: {e}",
                        kind.name
                    ))
                })?)
            }
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        Ok(Ledger {
            kind,
            entries,
            head_record,
        })
    }

    /// The newest entry, as a head.
    pub fn head(&self) -> Head {
        match self.entries.last() {
            Some(e) => Head {
                kind: self.kind.name.into(),
                seq: e.seq,
                hash: e.hash.clone(),
            },
            None => Head {
                kind: self.kind.name.into(),
                seq: 0,
                hash: GENESIS.into(),
            },
        }
    }

    /// Checks the chain: sequence numbers 1..n without gaps, each entry's
    /// `prev_hash` equal to the previous hash, each hash equal to its
    /// content's, no subject decided twice; then that the head record and
    /// every anchor of this kind are entries of the chain (so no newest entry
    /// was removed).
    pub fn verify(&self, anchors: &[Head]) -> Result<()> {
        let name = self.kind.name;
        let mut prev = GENESIS.to_string();
        let mut decided = std::collections::HashSet::new();
        for (i, e) in self.entries.iter().enumerate() {
            let want = i as u64 + 1;
            if e.seq != want {
                return Err(Error::InvalidInput(format!(
                    "{name} ledger: expected entry {want}, found {}; an entry was removed or added out of order",
                    e.seq
                )));
            }
            if e.prev_hash != prev {
                return Err(Error::InvalidInput(format!(
                    "{name} ledger: entry {} does not point to the hash of entry {}; the chain was edited",
                    e.seq,
                    e.seq - 1
                )));
            }
            let h = e.compute_hash();
            if h != e.hash {
                return Err(Error::InvalidInput(format!(
                    "{name} ledger: entry {} ({} of {} by {}) was changed after it was written: its hash is {h}, it records {}",
                    e.seq, e.decision, e.subject_id, e.by, e.hash
                )));
            }
            if !self.kind.decisions.contains(&e.decision.as_str()) {
                return Err(Error::InvalidInput(format!(
                    "{name} ledger: entry {} records '{}', which is not a decision on {name} ({})",
                    e.seq,
                    e.decision,
                    self.kind.decisions.join(", ")
                )));
            }
            if !decided.insert(e.subject_id.clone()) {
                return Err(Error::InvalidInput(format!(
                    "{name} ledger: entry {} decides {} a second time",
                    e.seq, e.subject_id
                )));
            }
            prev = h;
        }
        let n = self.entries.len() as u64;
        if let Some(h) = &self.head_record {
            // A decision writes its entry, then the head: a crash in between
            // leaves the head one entry behind, which the next decision mends.
            self.anchored("its head record", h)?;
            if n > h.seq + 1 {
                return Err(Error::InvalidInput(format!(
                    "{name} ledger: the head record names entry {}, but the chain goes on to entry {n}: entries were added without halo",
                    h.seq
                )));
            }
        }
        for a in anchors.iter().filter(|a| a.kind == name) {
            self.anchored("a head recorded in runs", a)?;
        }
        Ok(())
    }

    fn anchored(&self, by: &str, head: &Head) -> Result<()> {
        let name = self.kind.name;
        if head.seq == 0 {
            return Ok(());
        }
        match self.entries.get(head.seq as usize - 1) {
            Some(e) if e.hash == head.hash => Ok(()),
            Some(e) => Err(Error::InvalidInput(format!(
                "{name} ledger: {by} names entry {} with hash {}, but entry {} has hash {}: the chain was rewritten",
                head.seq, head.hash, e.seq, e.hash
            ))),
            None => Err(Error::InvalidInput(format!(
                "{name} ledger: {by} names entry {} (hash {}), but the chain ends at entry {}: decisions were removed",
                head.seq,
                head.hash,
                self.entries.len()
            ))),
        }
    }

    /// The entry that decided `subject_id`, if any.
    pub fn decision(&self, subject_id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.subject_id == subject_id)
    }

    /// Decisions that a run for `date` sees: those taken on results computed
    /// for `date` or earlier, so a backfill of an older date shows that
    /// date's state.
    pub fn as_of(&self, date: NaiveDate) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.as_of <= date)
    }

    /// Appends an entry with a create-only write, then rewrites the head
    /// record. Losing a race to another writer is transient (exit 75).
    pub async fn append(&mut self, storage: &Storage, root: &Url, new: NewEntry) -> Result<Entry> {
        let name = self.kind.name;
        if !self.kind.decisions.contains(&new.decision.as_str()) {
            return Err(Error::Internal(format!(
                "'{}' is not a decision on {name}",
                new.decision
            )));
        }
        let seq = self.entries.len() as u64 + 1;
        let prev_hash = self.head().hash;
        let mut raw = Map::new();
        raw.insert("seq".into(), Value::from(seq));
        raw.insert(
            "at".into(),
            serde_json::to_value(new.at).map_err(|e| Error::Internal(e.to_string()))?,
        );
        raw.insert("decision".into(), Value::String(new.decision));
        raw.insert(
            self.kind.subject_field.into(),
            Value::String(new.subject_id),
        );
        raw.insert("by".into(), Value::String(new.by));
        raw.insert(
            "note".into(),
            new.note.map(Value::String).unwrap_or(Value::Null),
        );
        raw.insert(
            "as_of".into(),
            Value::String(new.as_of.format("%Y-%m-%d").to_string()),
        );
        for (k, v) in new.content {
            if FIXED.contains(&k.as_str()) || k == self.kind.subject_field {
                return Err(Error::Internal(format!(
                    "{name} ledger content may not use the key {k}"
                )));
            }
            raw.insert(k, v);
        }
        raw.insert("prev_hash".into(), Value::String(prev_hash.clone()));
        let hash = hash_of(&raw, &prev_hash);
        raw.insert("hash".into(), Value::String(hash));
        let entry = Entry::from_json(&self.kind, raw, &file_name(seq))?;
        let url = ledger_url(root, &self.kind)?;
        let store = storage.store_for(&url)?;
        let path = store_path(&url)?.clone().join(file_name(entry.seq));
        let bytes = serde_json::to_vec_pretty(&entry.to_json())
            .map_err(|e| Error::Internal(e.to_string()))?;
        store
            .put_opts(
                &path,
                PutPayload::from(bytes),
                PutOptions {
                    mode: PutMode::Create,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| match e {
                object_store::Error::AlreadyExists { .. } => Error::Transient(format!(
                    "{name} ledger entry {} was written by someone else at the same time; run the command again",
                    entry.seq
                )),
                other => other.into(),
            })?;
        self.entries.push(entry.clone());
        let head = self.head();
        let head_url = head_url(root, &self.kind)?;
        let body = serde_json::to_vec_pretty(&head).map_err(|e| Error::Internal(e.to_string()))?;
        store
            .put(&store_path(&head_url)?, PutPayload::from(body))
            .await?;
        self.head_record = Some(head);
        Ok(entry)
    }
}

/// Every ledger head a `runs` row recorded (its `ledger_heads`): each must
/// still be an entry of its ledger, so a removed decision is found even when
/// the head record was rewritten too.
pub async fn recorded_heads(results: &crate::tables::ResultStore) -> Result<Vec<Head>> {
    use arrow::array::{Array, Int64Array, StringArray};
    use arrow::datatypes::DataType;
    let Some(table) = results.open("runs").await? else {
        return Ok(Vec::new());
    };
    let ctx = datafusion::prelude::SessionContext::new();
    table.update_datafusion_session(&ctx.state())?;
    ctx.register_table("runs", table.table_provider().await?)?;
    let has_column = ctx
        .table("runs")
        .await?
        .schema()
        .has_column_with_unqualified_name("ledger_heads");
    if !has_column {
        return Ok(Vec::new());
    }
    let sql = "SELECT DISTINCT CAST(h['kind'] AS VARCHAR) AS kind, CAST(h['seq'] AS BIGINT) AS seq, \
               CAST(h['hash'] AS VARCHAR) AS hash \
               FROM (SELECT unnest(ledger_heads) AS h FROM runs WHERE ledger_heads IS NOT NULL) \
               ORDER BY kind, seq, hash";
    let batches = ctx.sql(sql).await?.collect().await?;
    let mut heads = Vec::new();
    for b in &batches {
        let kind = arrow::compute::cast(b.column(0), &DataType::Utf8)?;
        let seq = arrow::compute::cast(b.column(1), &DataType::Int64)?;
        let hash = arrow::compute::cast(b.column(2), &DataType::Utf8)?;
        let kind = kind.as_any().downcast_ref::<StringArray>();
        let seq = seq.as_any().downcast_ref::<Int64Array>();
        let hash = hash.as_any().downcast_ref::<StringArray>();
        let (Some(kind), Some(seq), Some(hash)) = (kind, seq, hash) else {
            return Err(Error::Internal("runs.ledger_heads".into()));
        };
        for i in 0..b.num_rows() {
            if kind.is_null(i) || seq.is_null(i) || hash.is_null(i) {
                continue;
            }
            heads.push(Head {
                kind: kind.value(i).to_string(),
                seq: seq.value(i) as u64,
                hash: hash.value(i).to_string(),
            });
        }
    }
    Ok(heads)
}

/// Rows of `batches` as JSON objects, as an entry stores what a person saw:
/// decimals as text (never a float), `dt` dropped.
pub fn rows_json(batches: &[arrow::array::RecordBatch]) -> Result<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    for b in batches {
        let mut fields = Vec::new();
        let mut cols = Vec::new();
        for (f, c) in b.schema().fields().iter().zip(b.columns()) {
            if f.name() == crate::tables::PARTITION_COL {
                continue;
            }
            match f.data_type() {
                arrow::datatypes::DataType::Decimal128(_, _) => {
                    fields.push(arrow::datatypes::Field::new(
                        f.name(),
                        arrow::datatypes::DataType::Utf8,
                        true,
                    ));
                    cols.push(arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8)?);
                }
                _ => {
                    fields.push(f.as_ref().clone().with_nullable(true));
                    cols.push(c.clone());
                }
            }
        }
        let batch = arrow::array::RecordBatch::try_new(
            std::sync::Arc::new(arrow::datatypes::Schema::new(fields)),
            cols,
        )?;
        let mut w = arrow::json::ArrayWriter::new(Vec::new());
        w.write(&batch)?;
        w.finish()?;
        let bytes = w.into_inner();
        if bytes.is_empty() {
            continue;
        }
        let rows: Vec<serde_json::Value> =
            serde_json::from_slice(&bytes).map_err(|e| Error::Internal(e.to_string()))?;
        out.extend(rows);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIND: Kind = Kind {
        name: "things",
        subject_field: "thing_id",
        decisions: &["approve", "reject"],
    };

    fn entry(subject: &str) -> NewEntry {
        let mut content = Map::new();
        content.insert("payout".into(), serde_json::json!({"net": "12.30"}));
        NewEntry {
            at: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            decision: "approve".into(),
            subject_id: subject.into(),
            by: "ana".into(),
            note: None,
            as_of: NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
            content,
        }
    }

    #[tokio::test]
    async fn entries_round_trip_and_an_edit_is_detected() {
        let root = Url::parse("memory://ledger-test/").unwrap();
        let storage = Storage::new().with_store(
            &root,
            std::sync::Arc::new(object_store::memory::InMemory::new()),
        );
        let mut ledger = Ledger::load(&storage, &root, KIND, &[]).await.unwrap();
        for p in ["a", "b", "c"] {
            ledger.append(&storage, &root, entry(p)).await.unwrap();
        }
        let read = Ledger::load(&storage, &root, KIND, &[]).await.unwrap();
        assert_eq!(read.entries, ledger.entries);
        assert_eq!(read.head_record, Some(ledger.head()));
        assert_eq!(read.entries[1].subject_id, "b");
        assert_eq!(read.entries[1].content["payout"]["net"], "12.30");

        let mut edited = read.clone();
        edited.entries[1].raw["payout"]["net"] = serde_json::json!("99.00");
        let e = edited.verify(&[]).unwrap_err().to_string();
        assert!(e.contains("entry 2") && e.contains("changed"), "{e}");

        let mut twice = read.clone();
        twice.entries[2].raw["thing_id"] = serde_json::json!("a");
        twice.entries[2].subject_id = "a".into();
        let h = twice.entries[2].compute_hash();
        twice.entries[2].raw["hash"] = serde_json::json!(h.clone());
        twice.entries[2].hash = h;
        twice.head_record = None;
        let e = twice.verify(&[]).unwrap_err().to_string();
        assert!(e.contains("second time"), "{e}");
    }
}
