package dev.tokenwise.metrics.ledger;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteOpenMode;

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
 *
 * <p>A passive checkpoint alone never lets the log start over under steady load: the writer commits more
 * frames while it copies, so the log is never found wholly copied and grows without end (hundreds of MB a
 * minute, each new frame also extending the file). So each tick is a passive checkpoint, which copies the
 * bulk beside the writer, then a {@code RESTART} one, which holds the writer off only while it copies the
 * frames committed meanwhile; the next commit then writes the log from its beginning again, into pages the
 * OS already has. The restart waits at most {@link #RESTART_WAIT_MILLIS} for a reader still on the old log
 * (a long usage query) and otherwise gives up until the next tick.
 *
 * <p>The restart takes the writer's turn ({@link #writerTurn}) rather than racing the writer for SQLite's write
 * lock: SQLite's busy handler polls, and a writer that is never idle takes the lock again the moment it commits,
 * so under a backlog the restart lost most of its tries and the log grew to the size limit. The writer holds
 * the turn around each transaction; it waits, once a tick, while the restart copies what the passive
 * checkpoint left. {@code journal_size_limit} trims a log that
 * a burst made large back to {@link #WAL_SIZE_LIMIT_BYTES} when it starts over.
 */
final class LedgerConnections implements LedgerDatabase, AutoCloseable {
    private static final int MAX_IDLE_READERS = 4;
    /** How long a checkpoint that restarts the log waits for the writer and for readers still on the log. */
    static final int RESTART_WAIT_MILLIS = 20;
    /** The size a log is trimmed to when it starts over. */
    static final long WAL_SIZE_LIMIT_BYTES = 64L * 1024 * 1024;

    private final Path file;
    private final String url;
    /**
     * Opened without SQLite's own per-connection mutex ({@code SQLITE_OPEN_NOMUTEX}): sqlite-jdbc already
     * serializes every native call on a connection in Java, and a connection here serves one thread at a time.
     * The mutex was taken and released around every bound parameter, about 6 % of the writer's time.
     */
    private final Properties openProperties;
    private final SqliteLedger.Sync sync;
    private final int busyTimeoutMillis;
    private final Queue<Connection> idleReaders = new ConcurrentLinkedQueue<>();
    private final ScheduledExecutorService checkpointer;
    private final ReentrantLock writerTurn = new ReentrantLock();
    private Connection checkpointConnection;
    private volatile boolean closed;

    LedgerConnections(Path file, SqliteLedger.Sync sync, int busyTimeoutMillis) {
        this.file = file;
        this.url = "jdbc:sqlite:" + file;
        SQLiteConfig config = new SQLiteConfig();
        config.setOpenMode(SQLiteOpenMode.NOMUTEX);
        this.openProperties = config.toProperties();
        this.sync = sync;
        this.busyTimeoutMillis = busyTimeoutMillis;
        this.checkpointer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tokenwise-ledger-checkpoint");
            t.setDaemon(true);
            return t;
        });
        checkpointer.scheduleWithFixedDelay(this::checkpoint, 1, 1, TimeUnit.SECONDS);
    }

    /** A passive checkpoint, then a restarting one for the frames committed meanwhile (see the class comment). */
    void checkpoint() {
        if (closed) {
            return;
        }
        try {
            if (checkpointConnection == null) {
                checkpointConnection = open(RESTART_WAIT_MILLIS);
            }
            try (Statement s = checkpointConnection.createStatement()) {
                s.execute("PRAGMA wal_checkpoint(PASSIVE)");
                // Busy (a reader on the old log past the wait) is not an error: the log then starts over after a
                // later tick.
                writerTurn.lock();
                try {
                    s.execute("PRAGMA wal_checkpoint(RESTART)");
                } finally {
                    writerTurn.unlock();
                }
            }
        } catch (Throwable e) {
            // Whatever it was (an Error too: a periodic task that throws is never run again, and the log would
            // grow without end), retried on the next tick; the writer is unaffected.
            closeQuietly(checkpointConnection);
            checkpointConnection = null;
        }
    }

    /** Held by the writer around each transaction, and by the checkpointer while it restarts the log. */
    ReentrantLock writerTurn() {
        return writerTurn;
    }

    SqliteLedger.Sync sync() {
        return sync;
    }

    Path file() {
        return file;
    }

    @Override
    public String name() {
        return file.toString();
    }

    @Override
    public Dialect dialect() {
        return Dialect.SQLITE;
    }

    /** A new connection in auto-commit mode with the ledger's pragmas applied. */
    @Override
    public Connection open() throws SQLException {
        return open(busyTimeoutMillis);
    }

    private Connection open(int busyMillis) throws SQLException {
        Connection connection = DriverManager.getConnection(url, openProperties);
        try (Statement s = connection.createStatement()) {
            s.execute("PRAGMA busy_timeout = " + busyMillis);
            // synchronous is a per-connection setting; in WAL mode NORMAL syncs at checkpoints only,
            // FULL also syncs the WAL at every commit.
            s.execute("PRAGMA synchronous = " + (sync == SqliteLedger.Sync.STRICT ? "FULL" : "NORMAL"));
            s.execute("PRAGMA foreign_keys = OFF");
            // Checkpoints are the checkpointer thread's job (see the class comment).
            s.execute("PRAGMA wal_autocheckpoint = 0");
            s.execute("PRAGMA journal_size_limit = " + WAL_SIZE_LIMIT_BYTES);
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
    @Override
    public <T> T read(String what, SqlWork<T> work) {
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

    /** A {@code BEGIN IMMEDIATE} transaction ({@link #immediateTransaction}). */
    @Override
    public void transaction(Connection connection, SqlStep step) throws SQLException {
        try (Statement s = connection.createStatement()) {
            immediateTransaction(s, step);
        }
    }

    /**
     * Runs {@code step} in a {@code BEGIN IMMEDIATE} transaction on {@code s}'s connection (the write lock taken at
     * once, so two writers never both start): committed when it returns, rolled back when it throws.
     */
    static void immediateTransaction(Statement s, SqlStep step) throws SQLException {
        s.execute("BEGIN IMMEDIATE");
        try {
            step.run();
            s.execute("COMMIT");
        } catch (SQLException | RuntimeException e) {
            try {
                s.execute("ROLLBACK");
            } catch (SQLException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /**
     * {@code held} while it still works, else a new connection of {@code db} ({@code held} closed): a connection kept
     * for rare admin writes may have been cut since its last use (a PostgreSQL restart), and the first write after
     * that must not fail for it.
     */
    static Connection usable(Connection held, LedgerDatabase db) throws SQLException {
        if (held != null) {
            if (held.isValid(2)) {
                return held;
            }
            closeQuietly(held);
        }
        return db.open();
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
