-- What `halo outbox send` recorded: each attempt, then its outcome, from the
-- ledger (registered by the runner).
SELECT * FROM outbox_deliveries
