-- Payouts people decided on (approved or rejected), from the ledger
-- (registered by the runner; only decisions on payouts computed for the run
-- date or earlier). They are emitted exactly as decided.
SELECT * FROM payout_decisions
