package dev.tokenwise.metrics.ledger;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;

/**
 * The ids of texts in the ledger's {@code names} table, for the writer: looked up once, then remembered. A text
 * the table does not have yet is inserted in the writer's open transaction, so its id is only as durable as that
 * transaction; {@link #forget} after a failed one drops every remembered id, as one of them may have been rolled
 * back. Confined to the writer thread.
 */
final class NameIds {
    /**
     * Ids remembered at most; past that the memory starts over (texts come from clients too, a requested model
     * among them, so their number has no bound of its own).
     */
    static final int MAX_REMEMBERED = 10_000;
    private final Map<String, Long> ids = new HashMap<>();
    private Connection connection;
    private PreparedStatement select;
    private PreparedStatement insert;

    /** Starts over on a new connection (the file may be another one, recreated under the same path). */
    void use(Connection connection) throws SQLException {
        forget();
        this.connection = connection;
        select = connection.prepareStatement("SELECT id FROM names WHERE value = ?");
        insert = connection.prepareStatement("INSERT INTO names (value) VALUES (?)");
    }

    /** The id of {@code value}, inserting it when new; {@code null} for {@code null}. */
    Long id(String value) throws SQLException {
        if (value == null) {
            return null;
        }
        Long id = ids.get(value);
        if (id == null) {
            id = lookUp(value);
            if (ids.size() >= MAX_REMEMBERED) {
                ids.clear();
            }
            ids.put(value, id);
        }
        return id;
    }

    private long lookUp(String value) throws SQLException {
        select.setString(1, value);
        try (ResultSet rs = select.executeQuery()) {
            if (rs.next()) {
                return rs.getLong(1);
            }
        }
        insert.setString(1, value);
        insert.executeUpdate();
        try (var s = connection.createStatement(); ResultSet rs = s.executeQuery("SELECT last_insert_rowid()")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Ids remembered now. */
    int remembered() {
        return ids.size();
    }

    /** Drops every remembered id and the statements (after a failed transaction, or with the connection). */
    void forget() {
        ids.clear();
        LedgerConnections.closeQuietly(select);
        LedgerConnections.closeQuietly(insert);
        select = null;
        insert = null;
        connection = null;
    }
}
