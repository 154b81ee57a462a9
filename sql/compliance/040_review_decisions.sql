-- Verdicts reviewers gave on flags (halo review resolve), from the ledger
-- (registered by the runner; only decisions on results computed for the run
-- date or earlier).
SELECT * FROM review_decisions
