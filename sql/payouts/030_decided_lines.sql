-- The lines of the decided payouts, as the ledger recorded them.
SELECT * FROM payout_decided_lines
