package dev.tokenwise.metrics.ledger;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Opens connections to the ledger file with the same pragmas, and lends read connections to callers.
 *
 * <p>A JDBC connection of sqlite-jdbc serves one thread at a time, so each reader borrows its own
 * connection from a small idle pool (WAL lets readers run beside the writer). A connection that failed
 * is closed rather than returned, so a broken one is never reused.
 *
 * <p>WAL checkpoints (copying the log back into the database file, with an fsync) are made by a
 * checkpointer thread of their own, once a second, never by the writer: a commit that happened to cross
 * the automatic checkpoint threshold would otherwise stall the writer behind an fsync, and records of
 * calls that already completed would wait in memory meanwhile.
 */
final class LedgerConnections implements AutoCloseable {
    private static final int MAX_IDLE_READERS = 4;

    /** Work on a borrowed connection. */
    interface SqlWork<T> {
        T apply(Connection connection) throws SQLException;
    }

    private final Path file;
    private final String url;
    private final SqliteLedger.Sync sync;
    private final int busyTimeoutMillis;
    private final Queue<Connection> idleReaders = new ConcurrentLinkedQueue<>();
    private final ScheduledExecutorService checkpointer;
    private Connection checkpointConnection;
    private volatile boolean closed;

    LedgerConnections(Path file, SqliteLedger.Sync sync, int busyTimeoutMillis) {
        this.file = file;
        this.url = "jdbc:sqlite:" + file;
        this.sync = sync;
        this.busyTimeoutMillis = busyTimeoutMillis;
        this.checkpointer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tokenwise-ledger-checkpoint");
            t.setDaemon(true);
            return t;
        });
        checkpointer.scheduleWithFixedDelay(this::checkpoint, 1, 1, TimeUnit.SECONDS);
    }

    /** A passive checkpoint: copies what it can without waiting for readers or the writer. */
    private void checkpoint() {
        if (closed) {
            return;
        }
        try {
            if (checkpointConnection == null) {
                checkpointConnection = open();
            }
            try (Statement s = checkpointConnection.createStatement()) {
                s.execute("PRAGMA wal_checkpoint(PASSIVE)");
            }
        } catch (SQLException | RuntimeException e) {
            closeQuietly(checkpointConnection);
            checkpointConnection = null; // retried on the next tick; the writer is unaffected
        }
    }

    SqliteLedger.Sync sync() {
        return sync;
    }

    Path file() {
        return file;
    }

    /** A new connection in auto-commit mode with the ledger's pragmas applied. */
    Connection open() throws SQLException {
        Connection connection = DriverManager.getConnection(url);
        try (Statement s = connection.createStatement()) {
            s.execute("PRAGMA busy_timeout = " + busyTimeoutMillis);
            // synchronous is a per-connection setting; in WAL mode NORMAL syncs at checkpoints only,
            // FULL also syncs the WAL at every commit.
            s.execute("PRAGMA synchronous = " + (sync == SqliteLedger.Sync.STRICT ? "FULL" : "NORMAL"));
            s.execute("PRAGMA foreign_keys = OFF");
            // Checkpoints are the checkpointer thread's job (see the class comment).
            s.execute("PRAGMA wal_autocheckpoint = 0");
        } catch (SQLException | RuntimeException e) {
            closeQuietly(connection);
            throw e;
        }
        return connection;
    }

    /** Switches the file to WAL mode (persistent in the file) and returns the mode now in effect. */
    static String enableWal(Connection connection) throws SQLException {
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery("PRAGMA journal_mode = WAL")) {
            return rs.next() ? rs.getString(1) : "unknown";
        }
    }

    /** Runs {@code work} on a pooled read connection, on the caller's thread. */
    <T> T read(String what, SqlWork<T> work) {
        if (closed) {
            throw new IllegalStateException("ledger " + file + " is closed");
        }
        Connection connection = idleReaders.poll();
        try {
            if (connection == null) {
                connection = open();
                try (Statement s = connection.createStatement()) {
                    s.execute("PRAGMA query_only = ON");
                }
            }
            T result = work.apply(connection);
            release(connection);
            return result;
        } catch (SQLException e) {
            closeQuietly(connection);
            throw new IllegalStateException("ledger " + file + ": " + what + " failed: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(connection);
            throw e;
        }
    }

    private void release(Connection connection) {
        if (closed || idleReaders.size() >= MAX_IDLE_READERS) {
            closeQuietly(connection);
            return;
        }
        idleReaders.offer(connection);
        if (closed) {
            closeIdle(); // close() ran between the check and the offer
        }
    }

    private void closeIdle() {
        Connection c;
        while ((c = idleReaders.poll()) != null) {
            closeQuietly(c);
        }
    }

    static void closeQuietly(AutoCloseable closeable) {
        if (closeable == null) {
            return;
        }
        try {
            closeable.close();
        } catch (Exception ignored) {
            // nothing left to do with a connection that cannot even be closed
        }
    }

    @Override
    public void close() {
        closed = true;
        checkpointer.shutdown();
        try {
            checkpointer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeQuietly(checkpointConnection);
        closeIdle();
    }
}
