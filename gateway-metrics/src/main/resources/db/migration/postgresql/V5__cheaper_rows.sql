-- Cheaper rows: every index of usage_records is written for every row, and the writer's rows cost PostgreSQL most of
-- its CPU (docs/cluster.md). Two savings, measured together with the writer's COPY:
--
-- 1. The unique index on rowid goes: nothing reads a row by its rowid on PostgreSQL (the live feed pages by
--    (txid, rowid), its own index; old rows are deleted by their primary key), and rowid stays unique by its sequence.
-- 2. The text keys of the indexes every row enters (id, team, key_id) compare bytes (COLLATE "C") rather than by the
--    database's locale: a comparison is a memcmp, not a strcoll, and they sort as on SQLite (which compares bytes),
--    so both stores list teams and keys in the same order. Changing a column's collation rebuilds its indexes (not
--    the table) under a lock that holds the writers back meanwhile: their records wait in the writers' queues.
DROP INDEX usage_records_rowid;
ALTER TABLE usage_records ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE usage_records ALTER COLUMN team TYPE TEXT COLLATE "C";
ALTER TABLE usage_records ALTER COLUMN key_id TYPE TEXT COLLATE "C";
