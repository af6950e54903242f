package dev.tokenwise.metrics.ledger;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * The PostgreSQL ledger's connections: one HikariCP pool for the readers, the admin API, tasks and the audit, and
 * plain connections from the same pool for the writer. A connection that fails is closed by the caller and evicted
 * by the pool, so a database that went away and came back is reconnected without a restart. A caller waits at most
 * {@link #CONNECT_TIMEOUT_MILLIS} for a connection, so a database that is down fails a read fast rather than hangs.
 */
final class PostgresConnections implements LedgerDatabase, AutoCloseable {
    /** How long a caller waits for a connection from the pool, and a new connection for the server. */
    static final long CONNECT_TIMEOUT_MILLIS = 2_000;
    private static final int POOL_SIZE = 8;

    private final String name;
    private final HikariDataSource pool;

    PostgresConnections(String url) {
        this.name = withoutPassword(url);
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setPoolName("tokenwise-ledger");
        config.setMaximumPoolSize(POOL_SIZE);
        config.setMinimumIdle(1);
        config.setConnectionTimeout(CONNECT_TIMEOUT_MILLIS);
        // Start even while the database is down: the writer keeps the records and retries.
        config.setInitializationFailTimeout(-1);
        // Multi-row INSERTs from the writer's batches (one statement per 128 rows rather than one per row).
        config.addDataSourceProperty("reWriteBatchedInserts", "true");
        config.addDataSourceProperty("connectTimeout", String.valueOf(CONNECT_TIMEOUT_MILLIS / 1000));
        config.addDataSourceProperty("ApplicationName", "tokenwise");
        this.pool = new HikariDataSource(config);
    }

    /** {@code url} with the value of a {@code password} parameter and of a password in the authority hidden. */
    static String withoutPassword(String url) {
        return url.replaceAll("(?i)(password=)[^&]*", "$1***").replaceAll("//([^/@:]+):[^/@]*@", "//$1:***@");
    }

    @Override
    public <T> T read(String what, SqlWork<T> work) {
        try (Connection c = pool.getConnection()) {
            return work.apply(c);
        } catch (SQLException e) {
            throw new IllegalStateException("ledger " + name + ": " + what + " failed: " + e.getMessage(), e);
        }
    }

    @Override
    public Connection open() throws SQLException {
        return pool.getConnection();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Dialect dialect() {
        return Dialect.POSTGRESQL;
    }

    @Override
    public void transaction(Connection connection, SqlStep step) throws SQLException {
        connection.setAutoCommit(false);
        try {
            step.run();
            connection.commit();
        } catch (SQLException | RuntimeException e) {
            try {
                connection.rollback();
            } catch (SQLException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        } finally {
            connection.setAutoCommit(true);
        }
    }

    /** The pool, for Flyway. */
    javax.sql.DataSource dataSource() {
        return pool;
    }

    @Override
    public void close() {
        pool.close();
    }
}
