package dev.tokenwise.metrics.ledger;

import dev.tokenwise.core.model.UsageRecord;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Objects;
import java.util.function.Consumer;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The usage ledger on PostgreSQL ({@code storage.url: jdbc:postgresql://...}): one database that every instance of a
 * cluster writes its records into and reads the books from. Same records, same queries and same behaviour as
 * {@link SqliteLedger} (one contract test runs against both).
 *
 * <p>The schema is created and migrated by Flyway from the versioned SQL files in {@code db/migration/postgresql}
 * when the ledger opens; a database migrated by a newer gateway is refused. Records are written by one writer thread
 * per instance ({@link LedgerWriter} with a {@link PostgresBatchInserter}): the request path never waits for the
 * database. While PostgreSQL is down, records wait in the writer's bounded queue (its depth is
 * {@link #pendingRecords}, {@code tokenwise_ledger_queue_depth} and {@code /healthz}'s {@code ledger_pending}), the
 * ledger is unhealthy, and they land in order when it is back. With {@link SqliteLedger.Sync#STRICT} a response's
 * last bytes wait for its row's commit ({@link #whenCommitted}).
 *
 * <pre>{@code
 * try (PostgresLedger ledger = PostgresLedger.open("jdbc:postgresql://db:5432/tokenwise?user=tokenwise",
 *         SqliteLedger.Sync.NORMAL)) {
 *     ledger.accept(record);
 * }
 * }</pre>
 */
public final class PostgresLedger extends SqlLedger {
    private static final Logger log = LoggerFactory.getLogger(PostgresLedger.class);
    /** Where the migrations are, on the class path. */
    static final String MIGRATIONS = "classpath:db/migration/postgresql";

    private final PostgresConnections connections;

    private PostgresLedger(PostgresConnections connections, LedgerWriter writer) {
        super(connections, writer);
        this.connections = connections;
    }

    /**
     * Connects, creates or migrates the schema and starts the writer.
     *
     * @throws IllegalStateException when the database cannot be reached or migrated
     */
    public static PostgresLedger open(String url, SqliteLedger.Sync sync) {
        return open(url, sync, LedgerSettings.DEFAULTS, record -> {
        });
    }

    static PostgresLedger open(String url, SqliteLedger.Sync sync, LedgerSettings settings,
                               Consumer<UsageRecord> beforeBind) {
        Objects.requireNonNull(url, "url");
        Objects.requireNonNull(sync, "sync");
        if (!url.startsWith("jdbc:postgresql:")) {
            throw new IllegalArgumentException("storage.url: " + PostgresConnections.withoutPassword(url)
                    + " (expected: jdbc:postgresql://host:port/database)");
        }
        PostgresConnections connections = new PostgresConnections(url);
        try {
            MigrateResult result = Flyway.configure().dataSource(connections.dataSource())
                    .locations(MIGRATIONS).validateMigrationNaming(true).load().migrate();
            log.info("Usage ledger {} open (schema version {}{}, sync {})", connections.name(),
                    result.targetSchemaVersion != null ? result.targetSchemaVersion : current(connections),
                    result.migrationsExecuted > 0 ? ", " + result.migrationsExecuted + " migrations applied" : "",
                    sync.name().toLowerCase(java.util.Locale.ROOT));
        } catch (FlywayException | IllegalStateException e) {
            connections.close();
            throw new IllegalStateException("cannot open ledger " + connections.name() + ": " + e.getMessage(), e);
        }
        boolean strict = sync == SqliteLedger.Sync.STRICT;
        // The writer's intervals are SQLite's: a transaction start every 20 ms at most (1 ms in strict mode). Each commit
        // costs the server a fixed share (its WAL flush, the COPY's start): 5 ms made batches of 390-400 rows under
        // load against 470 at 20 ms, and cost it 0.4-1.3 µs more a row (docs/cluster.md); 20 ms is well inside the
        // promise that a call completed 100 ms before a kill -9 is in the database.
        LedgerWriter writer = new LedgerWriter(new PostgresBatchInserter(connections), strict, settings, beforeBind);
        writer.start();
        return new PostgresLedger(connections, writer);
    }

    private static String current(PostgresConnections connections) {
        return connections.read("schema version", c -> {
            try (var s = c.createStatement();
                 var rs = s.executeQuery("SELECT max(version) FROM flyway_schema_history WHERE success")) {
                return rs.next() ? rs.getString(1) : "?";
            }
        });
    }

    @Override
    public Connection openReadConnection() throws SQLException {
        Connection c = connections.open();
        try {
            c.setReadOnly(true);
        } catch (SQLException e) {
            LedgerConnections.closeQuietly(c);
            throw e;
        }
        return c;
    }

    @Override
    void closeDatabase() {
        connections.close();
        log.info("Usage ledger {} closed ({} records committed since open)", connections.name(), committedRecords());
    }
}
