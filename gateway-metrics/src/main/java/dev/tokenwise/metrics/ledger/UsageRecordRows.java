package dev.tokenwise.metrics.ledger;

import dev.tokenwise.core.model.CacheStatus;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.Locale;

/**
 * Maps a {@link UsageRecord} to a row of {@code usage_rows}, its texts as ids in {@code names}, and back from the
 * view {@code usage_records}.
 *
 * <p>The {@code retry} column is decided by the insert itself: a call is a retry when its
 * {@code X-Task-Attempt} is above 1, when the gateway itself made more than one upstream attempt for it,
 * or when its task (team and task id) already has a row asking for the same model (the model the client named,
 * so a call answered by a fallback and a later one answered by the model asked for are the same attempt) with the
 * same non-zero prompt hash. Rows are inserted in the order the ledger accepted them, so
 * "already" means "committed before, or earlier in the same batch", and a batch retried after a failed
 * commit decides the same way again. {@code docs/efficiency.md} defines it for readers of the file.
 */
final class UsageRecordRows {
    static final String COLUMNS = "id, created_at, team, key_id, model, provider, endpoint, stream, status, http_status, "
            + "input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, "
            + "usage_from_provider, local_input_tokens, local_output_tokens, local_estimated, cost_nanos, "
            + "task_id, task_attempt, finish_reason, latency_micros, upstream_latency_micros, ttft_micros, prompt_hash, "
            + "requested_model, attempts, flags, cache_write_1h_tokens, price_version, cache, saved_nanos, "
            + "prompt_cache_saved_nanos, route, route_reason, instance_id";

    /** Columns of {@link #COLUMNS}. */
    static final int COLUMN_COUNT = 38;

    /** The columns of {@code usage_rows} that {@link #COLUMNS} come from, in the same order. */
    private static final String ROW_COLUMNS = "id, created_at, team_ref, key_ref, model_ref, provider_ref, endpoint_ref, "
            + "stream, status_ref, http_status, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, "
            + "reasoning_tokens, usage_from_provider, local_input_tokens, local_output_tokens, local_estimated, "
            + "cost_nanos, task_id, task_attempt, finish_reason_ref, latency_micros, upstream_latency_micros, ttft_micros, "
            + "prompt_hash, requested_model_ref, attempts, flags, cache_write_1h_tokens, price_version_ref, cache_ref, "
            + "saved_nanos, prompt_cache_saved_nanos, route_ref, route_reason_ref, instance_ref";

    /** Parameters: retry by attempt (0/1), task id, prompt hash, task id, team id, model id, prompt hash. */
    private static final String RETRY = "CASE WHEN ? = 1 THEN 1 WHEN ? IS NULL OR ? = 0 THEN 0 ELSE EXISTS ("
            + "SELECT 1 FROM usage_rows p WHERE p.task_id = ? AND p.team_ref IS ? "
            + "AND COALESCE(p.requested_model_ref, p.model_ref) IS ? AND p.prompt_hash = ?"
            + ") END";

    /**
     * {@code OR IGNORE}: a batch retried after a commit that reported failure but reached the file must not
     * fail forever on its own rows; the writer logs every row the database already had.
     */
    static final String INSERT = "INSERT OR IGNORE INTO usage_rows (" + ROW_COLUMNS + ", retry) SELECT "
            + "?, ".repeat(COLUMN_COUNT) + RETRY;

    /**
     * Rows of calls without a task in one statement: their retry flag depends on nothing else in the table, so
     * it is bound as a value, and {@code rows} rows share one statement execution (a row costs about half as
     * much as through {@link #INSERT}). {@link #bindValues} binds one row's {@code COLUMN_COUNT + 1} parameters.
     */
    static String insertValues(int rows) {
        String row = "(" + "?, ".repeat(COLUMN_COUNT) + "?)";
        StringBuilder sql = new StringBuilder("INSERT OR IGNORE INTO usage_rows (" + ROW_COLUMNS + ", retry) VALUES ");
        for (int r = 0; r < rows; r++) {
            sql.append(r == 0 ? "" : ", ").append(row);
        }
        return sql.toString();
    }

    static final String SELECT_BY_ID = "SELECT " + COLUMNS + " FROM usage_records WHERE id = ?";

    private UsageRecordRows() {
    }

    /** Binds one row for {@link #INSERT}. */
    static void bind(PreparedStatement ps, UsageRecord r, NameIds names) throws SQLException {
        int i = bindColumns(ps, 1, r, names);
        // the retry flag
        ps.setInt(i++, retriedByAttempt(r) ? 1 : 0);
        ps.setString(i++, r.taskId());
        ps.setLong(i++, r.promptHash());
        ps.setString(i++, r.taskId());
        setRef(ps, i++, names.id(r.team()));
        setRef(ps, i++, names.id(r.requestedModel()));
        ps.setLong(i, r.promptHash());
    }

    /** Binds one row of {@link #insertValues} from parameter {@code first}; only for calls without a task. */
    static void bindValues(PreparedStatement ps, int first, UsageRecord r, NameIds names) throws SQLException {
        int i = bindColumns(ps, first, r, names);
        ps.setInt(i, retriedByAttempt(r) ? 1 : 0);
    }

    static boolean retriedByAttempt(UsageRecord r) {
        return r.taskAttempt() > 1 || r.gatewayRetried();
    }

    /** How a store writes a name column: SQLite as the id of the name in its names table, PostgreSQL as text. */
    @FunctionalInterface
    interface NameColumn {
        void set(PreparedStatement ps, int index, String name) throws SQLException;
    }

    /**
     * Where a record's columns go, in the order of {@link #COLUMNS}: a statement's parameters, or a line of
     * {@code COPY} text ({@link PostgresCopyText}). {@link #columns} is the one definition of what each column holds.
     */
    interface ColumnSink {
        /** A name column: a team, a model, a status... (SQLite stores the id of the name in its names table). */
        void name(String value) throws SQLException;

        /** A text column that is not a name (the record's id, its task id); {@code null} is NULL. */
        void text(String value) throws SQLException;

        void bigint(long value) throws SQLException;

        void integer(int value) throws SQLException;

        /** NULL in an integer column. */
        void nullInteger() throws SQLException;
    }

    /** Hands the record's columns of {@link #COLUMNS} to {@code out}, in order. Both stores write a record here. */
    static void columns(UsageRecord r, ColumnSink out) throws SQLException {
        TokenUsage u = r.usage();
        out.text(r.id());
        out.bigint(r.createdAtMillis());
        out.name(r.team());
        out.name(r.keyId());
        out.name(r.model());
        out.name(r.provider());
        out.name(r.endpoint() == null ? null : r.endpoint().clientPath());
        out.integer(r.stream() ? 1 : 0);
        out.name(r.status() == null ? null : r.status().label());
        out.integer(r.httpStatus());
        out.bigint(u.inputTokens());
        out.bigint(u.cachedInputTokens());
        out.bigint(u.cacheWriteTokens());
        out.bigint(u.outputTokens());
        out.bigint(u.reasoningTokens());
        out.integer(r.usageFromProvider() ? 1 : 0);
        out.bigint(r.localInputTokens());
        out.bigint(r.localOutputTokens());
        out.integer(r.localEstimated() ? 1 : 0);
        out.bigint(r.costNanos());
        out.text(r.taskId());
        if (r.taskAttempt() > 0) {
            out.integer(r.taskAttempt());
        } else {
            out.nullInteger();
        }
        out.name(r.finishReason());
        out.bigint(r.latencyMicros());
        out.bigint(r.upstreamLatencyMicros());
        out.bigint(r.ttftMicros());
        out.bigint(r.promptHash());
        out.name(r.requestedModel());
        out.integer(r.attempts());
        out.integer(r.flags());
        out.bigint(u.cacheWrite1hTokens());
        out.name(r.priceVersion());
        out.name(r.cache() == null ? null : r.cache().label());
        out.bigint(r.savedNanos());
        out.bigint(r.promptCacheSavedNanos());
        out.name(r.route());
        out.name(r.routeReason());
        out.name(r.instance());
    }

    /**
     * Binds the record's columns of the {@link #COLUMNS} but {@code retry}, from parameter {@code i}, the names as
     * {@code names} writes them; returns the next parameter's index.
     */
    static int bindColumns(PreparedStatement ps, int i, UsageRecord r, NameColumn names) throws SQLException {
        Parameters parameters = new Parameters(ps, i, names);
        columns(r, parameters);
        return parameters.next;
    }

    /** A statement's parameters as a {@link ColumnSink}, from a first index on. */
    private static final class Parameters implements ColumnSink {
        private final PreparedStatement ps;
        private final NameColumn names;
        private int next;

        Parameters(PreparedStatement ps, int first, NameColumn names) {
            this.ps = ps;
            this.next = first;
            this.names = names;
        }

        @Override
        public void name(String value) throws SQLException {
            names.set(ps, next++, value);
        }

        @Override
        public void text(String value) throws SQLException {
            ps.setString(next++, value);
        }

        @Override
        public void bigint(long value) throws SQLException {
            ps.setLong(next++, value);
        }

        @Override
        public void integer(int value) throws SQLException {
            ps.setInt(next++, value);
        }

        @Override
        public void nullInteger() throws SQLException {
            ps.setNull(next++, Types.INTEGER);
        }
    }

    /** Binds the {@code usage_rows} columns from parameter {@code i}, names as their ids; returns the next index. */
    private static int bindColumns(PreparedStatement ps, int i, UsageRecord r, NameIds names) throws SQLException {
        return bindColumns(ps, i, r, (statement, index, name) -> setRef(statement, index, names.id(name)));
    }

    private static void setRef(PreparedStatement ps, int i, Long id) throws SQLException {
        if (id == null) {
            ps.setNull(i, Types.INTEGER);
        } else {
            ps.setLong(i, id);
        }
    }

    /** The record of the current row of a result set selected with {@link #COLUMNS}. */
    static UsageRecord read(ResultSet rs) throws SQLException {
        String endpoint = rs.getString("endpoint");
        String status = rs.getString("status");
        TokenUsage usage = new TokenUsage(rs.getLong("input_tokens"), rs.getLong("cached_input_tokens"),
                rs.getLong("cache_write_tokens"), rs.getLong("output_tokens"), rs.getLong("reasoning_tokens"),
                rs.getLong("cache_write_1h_tokens"));
        return UsageRecord.builder().id(rs.getString("id")).team(rs.getString("team")).keyId(rs.getString("key_id"))
                .model(rs.getString("model")).provider(rs.getString("provider"))
                .endpoint(endpoint == null ? null : Endpoint.ofPath(endpoint)).stream(rs.getInt("stream") != 0)
                .status(status == null ? null : CallStatus.valueOf(status.toUpperCase(Locale.ROOT)))
                .httpStatus(rs.getInt("http_status")).usage(usage).usageFromProvider(rs.getInt("usage_from_provider") != 0)
                .localInputTokens(rs.getLong("local_input_tokens")).localOutputTokens(rs.getLong("local_output_tokens"))
                .localEstimated(rs.getInt("local_estimated") != 0).costNanos(rs.getLong("cost_nanos"))
                .taskId(rs.getString("task_id")).taskAttempt(rs.getInt("task_attempt"))
                .finishReason(rs.getString("finish_reason")).createdAtMillis(rs.getLong("created_at"))
                .latencyMicros(rs.getLong("latency_micros")).upstreamLatencyMicros(rs.getLong("upstream_latency_micros"))
                .ttftMicros(rs.getLong("ttft_micros")).promptHash(rs.getLong("prompt_hash"))
                .requestedModel(rs.getString("requested_model")).attempts(rs.getInt("attempts")).flags(rs.getInt("flags"))
                .priceVersion(rs.getString("price_version")).cache(CacheStatus.ofLabel(rs.getString("cache")))
                .savedNanos(rs.getLong("saved_nanos")).promptCacheSavedNanos(rs.getLong("prompt_cache_saved_nanos"))
                .route(rs.getString("route")).routeReason(rs.getString("route_reason"))
                .instance(rs.getString("instance_id"))
                .build();
    }
}
