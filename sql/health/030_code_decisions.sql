-- Decisions people took on codes (halo codes confirm-leak | dismiss), from
-- the ledger (registered by the runner; only decisions on results computed
-- for the run date or earlier).
SELECT * FROM code_decisions
