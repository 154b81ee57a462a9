-- Approvals and rejections of messages (halo outbox approve | reject), from
-- the ledger (registered by the runner): an approved message's content is
-- the one frozen in its ledger entry.
SELECT * FROM outbox_decisions
