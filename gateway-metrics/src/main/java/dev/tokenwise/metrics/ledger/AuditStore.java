package dev.tokenwise.metrics.ledger;

import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The billing audit's memory in the ledger file (schema version 8), so that a restart does not reset it: the windows
 * of per-call differences between provider and local token counts ({@code audit_differences}) and the hourly buckets
 * of provider input tokens and prompt text bytes ({@code audit_inflation}). Also reads, from the usage records, the
 * input each team sent a model, which the token-inflation alert prices.
 *
 * <p>Writes go through a connection of its own in one transaction per {@link #save}; reads borrow a read connection.
 * Call it from a scheduler or worker thread, never from an event loop. A hook registered with {@link #beforeClose}
 * runs when the ledger closes, before this store's connection does (the ledger closes after the last record reached
 * every sink, so a final save there loses nothing).
 */
public final class AuditStore {

    /**
     * One saved window of differences.
     *
     * @param endpoint the name of the {@link dev.tokenwise.core.model.Endpoint} the calls went to
     * @param side {@code input} or {@code output}
     * @param features the group's request features (bitset)
     * @param exact whether the group's local counts were exact
     * @param baselineShare the baseline share of differing calls, NaN when not learnt yet
     * @param baselineMedian the baseline median relative difference, NaN when not learnt yet
     * @param diffs per call {@code provider − local} in tokens, oldest first
     * @param relativePpm per call the same relative to the local count, in parts per million
     */
    public record DifferenceRow(String model, String endpoint, String side, int features, boolean exact,
                                double baselineShare, double baselineMedian, int[] diffs, int[] relativePpm) {
        public DifferenceRow {
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(endpoint, "endpoint");
            Objects.requireNonNull(side, "side");
            if (diffs.length != relativePpm.length) {
                throw new IllegalArgumentException("diffs: " + diffs.length + " samples, relativePpm: "
                        + relativePpm.length + " (expected: as many)");
            }
        }
    }

    /**
     * One hour of a model's calls: how many, their provider input tokens and prompt text bytes, and the sums of
     * squares and products the significance test needs.
     */
    public record InflationRow(String model, long hourMillis, long calls, long tokens, long bytes, double tokensSquared,
                               double bytesSquared, double tokensBytes) {
    }

    /** What one team sent a model over a period (calls with the provider's usage). */
    public record TeamInput(String team, long calls, long inputTokens, long cachedInputTokens, long cacheWriteTokens,
                            long firstAtMillis) {
    }

    private static final byte FORMAT = 1;

    private final LedgerDatabase connections;
    private Connection writer;
    private boolean closed;
    private Runnable beforeClose;

    AuditStore(LedgerDatabase connections) {
        this.connections = connections;
    }

    /** Every saved window. */
    public List<DifferenceRow> differences() {
        return connections.read("audit windows", c -> {
            List<DifferenceRow> rows = new ArrayList<>();
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT model, endpoint, side, features, "
                    + "exact, baseline_share, baseline_median, samples FROM audit_differences "
                    + "ORDER BY model, endpoint, side, features, exact")) {
                while (rs.next()) {
                    double share = rs.getDouble(6);
                    if (rs.wasNull()) {
                        share = Double.NaN;
                    }
                    double median = rs.getDouble(7);
                    if (rs.wasNull()) {
                        median = Double.NaN;
                    }
                    ByteBuffer samples = ByteBuffer.wrap(rs.getBytes(8));
                    if (samples.remaining() < 1 || samples.get() != FORMAT || samples.remaining() % 8 != 0) {
                        continue; // not a window this version wrote: start that one afresh
                    }
                    int n = samples.remaining() / 8;
                    int[] diffs = new int[n];
                    int[] ppm = new int[n];
                    for (int i = 0; i < n; i++) {
                        diffs[i] = samples.getInt();
                        ppm[i] = samples.getInt();
                    }
                    rows.add(new DifferenceRow(rs.getString(1), rs.getString(2), rs.getString(3), rs.getInt(4),
                            rs.getInt(5) != 0, share, median, diffs, ppm));
                }
            }
            return rows;
        });
    }

    /** The hourly buckets from {@code fromMillis} on, oldest first. */
    public List<InflationRow> inflation(long fromMillis) {
        return connections.read("audit buckets", c -> {
            List<InflationRow> rows = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT model, hour, calls, tokens, bytes, tokens_sq, bytes_sq, "
                    + "tokens_bytes FROM audit_inflation WHERE hour >= ? ORDER BY hour, model")) {
                ps.setLong(1, fromMillis);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows.add(new InflationRow(rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getLong(4),
                                rs.getLong(5), rs.getDouble(6), rs.getDouble(7), rs.getDouble(8)));
                    }
                }
            }
            return rows;
        });
    }

    /**
     * Stores windows and buckets (replacing the stored ones with the same key) and drops buckets older than
     * {@code dropInflationBeforeMillis}, in one transaction.
     *
     * @throws IllegalStateException when the ledger is closed or the write fails
     */
    public synchronized void save(List<DifferenceRow> differences, List<InflationRow> inflation,
                                  long dropInflationBeforeMillis, long nowMillis) {
        if (closed) {
            throw new IllegalStateException("ledger " + connections.name() + " is closed");
        }
        try {
            writer = LedgerConnections.usable(writer, connections);
            connections.transaction(writer, () -> write(differences, inflation, dropInflationBeforeMillis, nowMillis));
        } catch (SQLException e) {
            LedgerConnections.closeQuietly(writer);
            writer = null;
            throw new IllegalStateException("ledger " + connections.name() + ": saving the billing audit failed: "
                    + e.getMessage(), e);
        }
    }

    private void write(List<DifferenceRow> differences, List<InflationRow> inflation, long dropBefore, long now)
            throws SQLException {
        try (PreparedStatement ps = writer.prepareStatement("INSERT INTO audit_differences (model, endpoint, "
                + "side, features, exact, baseline_share, baseline_median, samples, saved_at) "
                + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (model, endpoint, side, features, exact) DO UPDATE SET "
                + "baseline_share = excluded.baseline_share, baseline_median = excluded.baseline_median, "
                + "samples = excluded.samples, saved_at = excluded.saved_at")) {
            for (DifferenceRow r : differences) {
                ByteBuffer samples = ByteBuffer.allocate(1 + 8 * r.diffs().length);
                samples.put(FORMAT);
                for (int i = 0; i < r.diffs().length; i++) {
                    samples.putInt(r.diffs()[i]).putInt(r.relativePpm()[i]);
                }
                ps.setString(1, r.model());
                ps.setString(2, r.endpoint());
                ps.setString(3, r.side());
                ps.setInt(4, r.features());
                ps.setInt(5, r.exact() ? 1 : 0);
                real(ps, 6, r.baselineShare());
                real(ps, 7, r.baselineMedian());
                ps.setBytes(8, samples.array());
                ps.setLong(9, now);
                ps.addBatch();
            }
            ps.executeBatch();
        }
        try (PreparedStatement ps = writer.prepareStatement("INSERT INTO audit_inflation (model, hour, calls, "
                + "tokens, bytes, tokens_sq, bytes_sq, tokens_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                + "ON CONFLICT (model, hour) DO UPDATE SET calls = excluded.calls, tokens = excluded.tokens, "
                + "bytes = excluded.bytes, tokens_sq = excluded.tokens_sq, bytes_sq = excluded.bytes_sq, "
                + "tokens_bytes = excluded.tokens_bytes")) {
            for (InflationRow r : inflation) {
                ps.setString(1, r.model());
                ps.setLong(2, r.hourMillis());
                ps.setLong(3, r.calls());
                ps.setLong(4, r.tokens());
                ps.setLong(5, r.bytes());
                ps.setDouble(6, r.tokensSquared());
                ps.setDouble(7, r.bytesSquared());
                ps.setDouble(8, r.tokensBytes());
                ps.addBatch();
            }
            ps.executeBatch();
        }
        try (PreparedStatement ps = writer.prepareStatement("DELETE FROM audit_inflation WHERE hour < ?")) {
            ps.setLong(1, dropBefore);
            ps.executeUpdate();
        }
    }

    private static void real(PreparedStatement ps, int index, double value) throws SQLException {
        if (Double.isNaN(value)) {
            ps.setNull(index, Types.REAL);
        } else {
            ps.setDouble(index, value);
        }
    }

    /**
     * What each team sent {@code model} in {@code [fromMillis, toMillis)}, from the calls whose usage came from the
     * provider, largest input first.
     */
    public List<TeamInput> teamInput(String model, long fromMillis, long toMillis) {
        return connections.read("team input of " + model, c -> {
            List<TeamInput> rows = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT team, COUNT(*), SUM(input_tokens), "
                    + "SUM(cached_input_tokens), SUM(cache_write_tokens), MIN(created_at) FROM usage_records "
                    + "WHERE model = ? AND created_at >= ? AND created_at < ? AND usage_from_provider = 1 "
                    + "AND team IS NOT NULL GROUP BY team ORDER BY SUM(input_tokens) DESC, team")) {
                ps.setString(1, model);
                ps.setLong(2, fromMillis);
                ps.setLong(3, toMillis);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows.add(new TeamInput(rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getLong(4),
                                rs.getLong(5), rs.getLong(6)));
                    }
                }
            }
            return rows;
        });
    }

    /** Runs {@code hook} when the ledger closes, before this store closes (a final save). One hook; a second replaces it. */
    public synchronized void beforeClose(Runnable hook) {
        this.beforeClose = hook;
    }

    void close() {
        Runnable hook;
        synchronized (this) {
            hook = beforeClose;
            beforeClose = null;
        }
        if (hook != null) {
            try {
                hook.run();
            } catch (RuntimeException e) {
                org.slf4j.LoggerFactory.getLogger(AuditStore.class).warn("The billing audit could not be saved at close: {}",
                        e.getMessage());
            }
        }
        synchronized (this) {
            closed = true;
            LedgerConnections.closeQuietly(writer);
            writer = null;
        }
    }
}
