//! One message of the outbox: what it is about, who it goes to, what it
//! says, and the facts it says it from. The same record is what an approval
//! freezes in the ledger and what a delivery attempt records, so a message
//! can always be shown and sent exactly as it was decided.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A message's content and identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Stable id ([`message_id`]).
    pub message_id: String,
    /// Its kind (`reminder`, ...).
    pub kind: String,
    /// The creator written to.
    pub creator_id: String,
    /// The campaign it is about.
    pub campaign_id: Option<String>,
    /// What it is about.
    pub subject_key: String,
    /// The stage or period.
    pub period: String,
    /// The local date whose facts built it.
    pub built_for: NaiveDate,
    /// `Name <address>`, or none without an email.
    pub recipient: Option<String>,
    /// The locale it is written in.
    pub locale: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body_text: String,
    /// HTML body.
    pub body_html: String,
    /// The facts, as JSON text.
    pub facts: String,
}

/// The id of the message of `kind` about `subject_key` for `period`: the
/// same on every run, so a re-run finds the message it built before.
pub fn message_id(kind: &str, subject_key: &str, period: &str) -> String {
    let mut h = Sha256::new();
    for part in [kind, subject_key, period] {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    format!("m{}", &hex::encode(h.finalize())[..23])
}

impl Message {
    /// SHA-256 over what the creator receives (recipient, subject, both
    /// bodies): what an approval freezes and a delivery attempt records.
    pub fn content_sha256(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            self.recipient.as_deref().unwrap_or(""),
            &self.subject,
            &self.body_text,
            &self.body_html,
        ] {
            h.update(part.as_bytes());
            h.update([0x1f]);
        }
        hex::encode(h.finalize())
    }

    /// The message as a ledger entry's content.
    pub fn to_content(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        // The subject field of the outbox chains carries the id.
        m.remove("message_id");
        m.insert(
            "content_sha256".into(),
            serde_json::Value::String(self.content_sha256()),
        );
        m
    }

    /// The message a ledger entry's content froze.
    pub fn from_content(
        message_id: &str,
        content: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<Message> {
        let mut m = content.clone();
        m.insert(
            "message_id".into(),
            serde_json::Value::String(message_id.into()),
        );
        m.remove("content_sha256");
        serde_json::from_value(serde_json::Value::Object(m)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinguish_every_part() {
        let a = message_id("reminder", "dl_00001", "reminder");
        assert_eq!(a, message_id("reminder", "dl_00001", "reminder"));
        assert_eq!(a.len(), 24);
        assert_ne!(a, message_id("overdue", "dl_00001", "reminder"));
        assert_ne!(
            message_id("k", "ab", "c"),
            message_id("k", "a", "bc"),
            "parts are separated, not concatenated"
        );
    }
}
