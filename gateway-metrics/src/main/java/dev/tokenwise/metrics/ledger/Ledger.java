package dev.tokenwise.metrics.ledger;

import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.SpendStore;
import dev.tokenwise.core.spi.TeamStore;
import dev.tokenwise.core.spi.UsageSink;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The usage ledger: every {@link UsageRecord}, the teams, budgets, keys and rate limits changed through the admin
 * API, tasks and their outcomes, the billing audit's memory and reprice adjustments. Two stores implement it with
 * the same behaviour, checked by one contract test: {@link SqliteLedger} (one file, the default) and
 * {@link PostgresLedger} (one database shared by every instance of a cluster).
 *
 * <p>Records arrive through {@link #accept} and are written by one writer thread per instance in batched
 * transactions, so the request path never waits for the database; while the database fails they wait in a bounded
 * queue ({@link #pendingRecords}) and {@link #healthy} is {@code false}. Reads run on the caller's thread: call them
 * from a worker, never from an event loop.
 *
 * <pre>{@code
 * try (Ledger ledger = config.storage().postgres()
 *         ? PostgresLedger.open(config.storage().url(), SqliteLedger.Sync.NORMAL)
 *         : SqliteLedger.open(Path.of(config.storagePath()), SqliteLedger.Sync.NORMAL)) {
 *     long spent = ledger.teamSpentNanos("demo", periodStartMillis);
 *     List<UsageRow> byTeam = ledger.usage(GroupBy.TEAM, from, to, null);
 * }
 * }</pre>
 */
public interface Ledger extends UsageSink, SpendStore, TeamStore, AutoCloseable {

    /**
     * What the calls served by instance {@code instanceId} cost, of the team (with {@code keyId} {@code null}) or of
     * the key, created in {@code [fromMillis, toMillis)}, adjustments left out. Cluster mode reads it from a shared
     * ledger to book what an instance that died had not yet booked in Redis.
     */
    long instanceSpentNanos(String instanceId, String team, String keyId, long fromMillis, long toMillis);

    /** The ledger as log lines and errors name it: the SQLite file, or the PostgreSQL URL without its password. */
    String name();

    // ---- writes -------------------------------------------------------------------------------------

    /** Waits until every record accepted before this call is committed; {@code false} when the timeout passed first. */
    boolean flush(Duration timeout);

    /**
     * A future completed when the record with this id is committed, for {@code storage.sync: strict} (release a
     * response's last bytes only once its record is durable). Register <em>before</em> the record is settled, or the
     * commit may come first. The future completes on the writer thread, and fails if the ledger closes first.
     * Cancel it when the call ends without a record.
     */
    CompletableFuture<Void> whenCommitted(String id);

    /** {@code false} while writes fail and records wait in memory. */
    boolean healthy();

    /** Why writes fail, while they do. */
    Optional<String> lastError();

    /** Records accepted but not committed yet (queued, or in a batch being written or retried). */
    long pendingRecords();

    /** Records committed since this ledger was opened. */
    long committedRecords();

    /** Records left out since this ledger was opened because writing each failed on its own, try after try. */
    long rejectedRecords();

    /** Records deleted by {@code storage.retention_days} since this ledger was opened. */
    long expiredRecords();

    // ---- reads --------------------------------------------------------------------------------------

    /** Tasks, their outcomes and the sums behind the efficiency figures. */
    TaskLedger tasks();

    /** The billing audit's saved windows and buckets, and the per-team input it prices. */
    AuditStore audit();

    /** The committed record of a call, if the ledger has it. */
    Optional<UsageRecord> find(String id);

    /**
     * Usage totals of the committed records created in {@code [fromMillis, toMillis)}, grouped and ordered by
     * {@code groupBy}'s fields. Costs include the {@link Adjustment}s applied to those records.
     *
     * @param teamFilter only this team's records, or {@code null} for all teams
     */
    List<UsageRow> usage(GroupBy groupBy, long fromMillis, long toMillis, String teamFilter);

    /** Hands the times of {@code team}'s completed calls created in {@code [fromMillis, toMillis)} to {@code each}. */
    void timings(String team, long fromMillis, long toMillis, Consumer<CallTiming> each);

    /** The cost of every committed record, adjustments included, in nano-USD. */
    long totalCostNanos();

    /** Hands every committed record created in {@code [fromMillis, toMillis)} to {@code each}, in the order written. */
    void forEachRecord(long fromMillis, long toMillis, Consumer<UsageRecord> each);

    /** The sum of the adjustments applied to each record created in {@code [fromMillis, toMillis)}, by record id. */
    Map<String, Long> adjustmentsByRecord(long fromMillis, long toMillis);

    /** Writes {@code adjustments} in one transaction, all or none; returns how many were written. */
    int applyAdjustments(String repriceId, List<Adjustment> adjustments, long appliedAtMillis);

    /**
     * A read-only connection of the caller's own, for the dashboard's queries on {@code usage_records} (the same
     * columns on both stores); the caller closes it.
     */
    Connection openReadConnection() throws SQLException;

    /**
     * Deletes records and adjustments created before {@code beforeMillis}, at most {@code batchSize} rows to a
     * transaction, so that writers never wait long behind it.
     *
     * @return how many records were deleted
     */
    long deleteBefore(long beforeMillis, int batchSize);

    /**
     * Starts deleting records older than {@code retentionDays} days ({@code storage.retention_days}) now and every
     * {@code every}, on a thread of its own whose death stops the ledger ({@link #stoppedReason}).
     */
    void startRetention(int retentionDays, Duration every);

    /** Stops intake, commits every record accepted so far (retrying a failing write for a while), and closes. */
    @Override
    void close();

    /**
     * A correction of one call's cost, written by {@code tokenwise reprice --apply} into {@code adjustments}: the call's
     * own row is never edited. It carries the call's time, team, key and model, so that every total over the calls
     * includes it.
     *
     * @param recordId the call corrected
     * @param createdAtMillis the call's {@code created_at}
     * @param deltaNanos what is added to the call's cost (negative when it was overcharged)
     * @param priceVersion the price version the call is re-rated at
     */
    record Adjustment(String recordId, long createdAtMillis, String team, String keyId, String model,
                      long deltaNanos, String priceVersion) {
        public Adjustment {
            Objects.requireNonNull(recordId, "recordId");
        }
    }
}
