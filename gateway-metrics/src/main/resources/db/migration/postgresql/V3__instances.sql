-- Instances (SQLite schema version 12): the instance_id of the gateway instance that served a call.
ALTER TABLE usage_records ADD COLUMN instance_id TEXT;
