-- The usage ledger on PostgreSQL: the tables of the SQLite ledger (schema version 10, docs/storage.md) in
-- PostgreSQL types. Money is integer nano-USD (BIGINT), times are epoch milliseconds (BIGINT), flags that SQLite
-- keeps as 0/1 integers stay integers so both stores are read by the same queries. usage_records is a plain table
-- with its texts inline (SQLite's names table is a CPU saving of its own writer); rowid numbers rows in the order
-- they were written, as SQLite's rowid does.

CREATE TABLE usage_records (
    rowid                    BIGSERIAL NOT NULL,
    id                       TEXT NOT NULL PRIMARY KEY,
    created_at               BIGINT NOT NULL,
    team                     TEXT,
    key_id                   TEXT,
    model                    TEXT,
    provider                 TEXT,
    endpoint                 TEXT,
    stream                   INTEGER NOT NULL,
    status                   TEXT,
    http_status              INTEGER NOT NULL,
    input_tokens             BIGINT NOT NULL,
    cached_input_tokens      BIGINT NOT NULL,
    cache_write_tokens       BIGINT NOT NULL,
    output_tokens            BIGINT NOT NULL,
    reasoning_tokens         BIGINT NOT NULL,
    usage_from_provider      INTEGER NOT NULL,
    local_input_tokens       BIGINT NOT NULL,
    local_output_tokens      BIGINT NOT NULL,
    local_estimated          INTEGER NOT NULL,
    cost_nanos               BIGINT NOT NULL,
    task_id                  TEXT,
    task_attempt             INTEGER,
    finish_reason            TEXT,
    latency_micros           BIGINT NOT NULL,
    upstream_latency_micros  BIGINT NOT NULL,
    ttft_micros              BIGINT NOT NULL,
    prompt_hash              BIGINT NOT NULL DEFAULT 0,
    retry                    INTEGER NOT NULL DEFAULT 0,
    requested_model          TEXT,
    attempts                 INTEGER NOT NULL DEFAULT 1,
    flags                    INTEGER NOT NULL DEFAULT 0,
    cache_write_1h_tokens    BIGINT NOT NULL DEFAULT 0,
    price_version            TEXT,
    cache                    TEXT,
    saved_nanos              BIGINT NOT NULL DEFAULT 0,
    prompt_cache_saved_nanos BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX usage_records_rowid ON usage_records (rowid);
CREATE INDEX usage_records_created_at ON usage_records (created_at);
CREATE INDEX usage_records_team_created_at ON usage_records (team, created_at);
CREATE INDEX usage_records_key_created_at ON usage_records (key_id, created_at);
-- Finds an earlier call of the same task and prompt when a call is inserted (its retry flag), and a task's calls.
CREATE INDEX usage_records_task_prompt ON usage_records (task_id, team, prompt_hash) WHERE task_id IS NOT NULL;

CREATE TABLE teams (
    name        TEXT NOT NULL PRIMARY KEY,
    limit_nanos BIGINT,
    period      TEXT,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT NOT NULL PRIMARY KEY,
    team        TEXT NOT NULL,
    hash_hex    TEXT NOT NULL,
    models      TEXT NOT NULL,
    limit_nanos BIGINT,
    period      TEXT,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    CONSTRAINT api_keys_hash_hex UNIQUE (hash_hex)
);
CREATE INDEX api_keys_team ON api_keys (team);

CREATE TABLE task_outcomes (
    team    TEXT NOT NULL,
    task_id TEXT NOT NULL,
    key_id  TEXT,
    success INTEGER NOT NULL,
    score   DOUBLE PRECISION,
    note    TEXT,
    at      BIGINT NOT NULL,
    PRIMARY KEY (team, task_id)
);

CREATE TABLE rate_limits (
    kind                TEXT NOT NULL,
    name                TEXT NOT NULL,
    requests_per_minute BIGINT NOT NULL,
    tokens_per_minute   BIGINT NOT NULL,
    concurrent_requests INTEGER NOT NULL,
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (kind, name)
);

CREATE TABLE adjustments (
    id            BIGSERIAL PRIMARY KEY,
    record_id     TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    team          TEXT,
    key_id        TEXT,
    model         TEXT,
    delta_nanos   BIGINT NOT NULL,
    price_version TEXT,
    reprice_id    TEXT NOT NULL,
    applied_at    BIGINT NOT NULL
);
CREATE INDEX adjustments_created_at ON adjustments (created_at);
CREATE INDEX adjustments_record_id ON adjustments (record_id);
CREATE INDEX adjustments_team_created_at ON adjustments (team, created_at);
CREATE INDEX adjustments_key_created_at ON adjustments (key_id, created_at);

CREATE TABLE audit_differences (
    model           TEXT NOT NULL,
    endpoint        TEXT NOT NULL,
    side            TEXT NOT NULL,
    features        INTEGER NOT NULL,
    exact           INTEGER NOT NULL,
    baseline_share  DOUBLE PRECISION,
    baseline_median DOUBLE PRECISION,
    samples         BYTEA NOT NULL,
    saved_at        BIGINT NOT NULL,
    PRIMARY KEY (model, endpoint, side, features, exact)
);

CREATE TABLE audit_inflation (
    model        TEXT NOT NULL,
    hour         BIGINT NOT NULL,
    calls        BIGINT NOT NULL,
    tokens       BIGINT NOT NULL,
    bytes        BIGINT NOT NULL,
    tokens_sq    DOUBLE PRECISION NOT NULL,
    bytes_sq     DOUBLE PRECISION NOT NULL,
    tokens_bytes DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (model, hour)
);

CREATE TABLE drift_references (
    source     TEXT NOT NULL,
    model      TEXT NOT NULL,
    from_ms    BIGINT NOT NULL,
    to_ms      BIGINT NOT NULL,
    changed_at BIGINT NOT NULL,
    note       TEXT,
    PRIMARY KEY (source, model)
);
