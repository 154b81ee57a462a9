//! Payout decisions, recorded in the engine's hash-chained decision ledger
//! (`crate::ledger`) under `_ledger/payouts/`: each entry holds the payout
//! row and all its lines as the person saw them when deciding.

use crate::error::{Error, Result};
use crate::ledger::Kind;

/// The payouts' chain in the decision ledger.
pub const KIND: Kind = Kind {
    name: "payouts",
    subject_field: "payout_id",
    decisions: &["approve", "reject"],
};

/// What a person decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Pay it as computed.
    Approve,
    /// Do not pay it; its lines are never paid.
    Reject,
}

impl Decision {
    /// The word the ledger records.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }

    /// The decision a ledger entry records.
    pub fn parse(word: &str) -> Result<Decision> {
        match word {
            "approve" => Ok(Decision::Approve),
            "reject" => Ok(Decision::Reject),
            other => Err(Error::InvalidInput(format!(
                "payouts ledger: '{other}' is not a payout decision"
            ))),
        }
    }

    /// The payout status a decision leads to.
    pub fn status(self) -> &'static str {
        match self {
            Decision::Approve => "approved",
            Decision::Reject => "rejected",
        }
    }
}
