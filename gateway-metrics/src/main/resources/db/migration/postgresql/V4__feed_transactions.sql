-- The live feed's cursor (GET /api/v1/requests?after=): the id of the transaction that wrote each row. Instances commit
-- their batches concurrently, so a batch with lower row ids can become visible after one with higher ids; a reader
-- that pages by transaction id, below the oldest transaction still running, never steps over a row.
ALTER TABLE usage_records ADD COLUMN txid BIGINT NOT NULL DEFAULT txid_current();
CREATE INDEX usage_records_txid ON usage_records (txid, rowid);
