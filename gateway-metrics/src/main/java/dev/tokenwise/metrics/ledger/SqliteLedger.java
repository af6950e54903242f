package dev.tokenwise.metrics.ledger;

import dev.tokenwise.core.model.UsageRecord;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Locale;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;

/**
 * The embedded usage ledger: one SQLite file (WAL mode) holding every {@link UsageRecord}, and the teams,
 * budgets and virtual keys changed through the admin API. Its schema is documented in {@code docs/storage.md}.
 *
 * <p>Records arrive through {@link #accept} on the accounting core's dispatcher thread and are written by
 * one writer thread ({@code tokenwise-ledger-writer}) in batched transactions, so neither the event loops
 * nor the dispatcher ever wait for the disk (the dispatcher waits only when 100 000 records are queued).
 * A write that fails (locked file, full disk) is retried with backoff, the batch kept in memory; while it
 * fails {@link #healthy()} is {@code false} and {@link #lastError()} says why. Reads ({@link dev.tokenwise.core.spi.SpendStore},
 * {@link #find}, {@link #usage}) run on the caller's thread on a connection of their own, beside the
 * writer; the {@link dev.tokenwise.core.spi.TeamStore} methods are for admin traffic and are serialised. The
 * queries are the same SQL as {@link PostgresLedger}'s ({@link Ledger}, one contract test for both).
 *
 * <p>Durability: with {@link Sync#NORMAL} a committed transaction survives a kill of the process (not
 * necessarily a power loss); with {@link Sync#STRICT} it also survives a power loss. Records are committed
 * within milliseconds of reaching the ledger because the writer drains continuously.
 *
 * <pre>{@code
 * try (SqliteLedger ledger = SqliteLedger.open(Path.of("data/tokenwise.db"), SqliteLedger.Sync.NORMAL)) {
 *     long spent = ledger.teamSpentNanos("demo", Periods.startMillis(BudgetPeriod.DAILY, now, ZoneOffset.UTC));
 *     AccountingCore accounting = new AccountingCore(List.of(ledger), 65_536, 100_000);
 *     ...
 * }
 * }</pre>
 */
public final class SqliteLedger extends SqlLedger {
    private static final Logger log = LoggerFactory.getLogger(SqliteLedger.class);

    /**
     * How hard a commit is pushed to the disk; on PostgreSQL ({@code storage.sync} there too), {@link #STRICT} holds
     * a response's last bytes until its row is committed, and the commit's durability is the server's.
     */
    public enum Sync {
        /** {@code synchronous=NORMAL}: a committed record survives a process kill, not necessarily a power loss. */
        NORMAL,
        /** {@code synchronous=FULL}: every commit is synced to the disk, so it also survives a power loss. */
        STRICT
    }

    private final Path file;
    private final Sync sync;
    private final LedgerConnections connections;

    private SqliteLedger(Path file, Sync sync, LedgerConnections connections, LedgerWriter writer) {
        super(connections, writer);
        this.file = file;
        this.sync = sync;
        this.connections = connections;
    }

    /**
     * Opens (creating it and its parent directories if needed) the ledger file and starts its writer.
     *
     * @throws IllegalStateException when the file cannot be opened, is not a ledger, or has a newer schema
     */
    public static SqliteLedger open(Path file, Sync sync) {
        return open(file, sync, LedgerSettings.DEFAULTS);
    }

    static SqliteLedger open(Path file, Sync sync, LedgerSettings settings) {
        return open(file, sync, settings, record -> {
        });
    }

    /** @param beforeBind sees each record just before its row is bound (tests make it throw) */
    static SqliteLedger open(Path file, Sync sync, LedgerSettings settings,
                             java.util.function.Consumer<UsageRecord> beforeBind) {
        Objects.requireNonNull(sync, "sync");
        Path absolute = file.toAbsolutePath().normalize();
        try {
            if (absolute.getParent() != null) {
                Files.createDirectories(absolute.getParent());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the directory of ledger file " + absolute, e);
        }
        LedgerConnections connections = new LedgerConnections(absolute, sync, settings.busyTimeoutMillis());
        try (Connection c = connections.open()) {
            String mode = LedgerConnections.enableWal(c);
            if (!"wal".equalsIgnoreCase(mode)) {
                log.warn("Usage ledger {} runs in journal mode {} instead of WAL (does the file system support it?): "
                        + "readers may wait for the writer", absolute, mode);
            }
            LedgerSchema.ensure(c, absolute);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot open ledger file " + absolute + ": " + e.getMessage(), e);
        }
        LedgerWriter writer = new LedgerWriter(connections, settings, beforeBind);
        writer.start();
        log.info("Usage ledger {} open (schema version {}, WAL, sync {})", absolute, LedgerSchema.VERSION,
                sync.name().toLowerCase(Locale.ROOT));
        return new SqliteLedger(absolute, sync, connections, writer);
    }

    public Path file() {
        return file;
    }

    public Sync sync() {
        return sync;
    }

    LedgerConnections connections() {
        return connections;
    }

    /** A read-only connection on the file (in WAL mode it reads beside the writer and never takes the write lock). */
    @Override
    public Connection openReadConnection() throws SQLException {
        SQLiteConfig config = new SQLiteConfig();
        config.setReadOnly(true);
        config.setBusyTimeout(5_000);
        return DriverManager.getConnection("jdbc:sqlite:" + file, config.toProperties());
    }

    @Override
    void closeDatabase() {
        connections.close();
        log.info("Usage ledger {} closed ({} records committed since open)", file, committedRecords());
    }
}
