package dev.tokenwise.core.config;

/**
 * Where the ledger lives beyond {@code storage.path} and {@code storage.sync}: a PostgreSQL database shared by every
 * instance ({@code storage.url}, instead of the SQLite file), and how long records are kept
 * ({@code storage.retention_days}, either store).
 *
 * @param url a {@code jdbc:postgresql://} URL, or {@code null} for the SQLite file at {@code storage.path}
 * @param retentionDays records older than this many days are deleted; 0 keeps them forever
 */
public record StorageConfig(String url, int retentionDays) {
    /** The SQLite file, records kept forever. */
    public static final StorageConfig DEFAULT = new StorageConfig(null, 0);

    public StorageConfig {
        if (url != null && url.isBlank()) {
            url = null;
        }
        if (url != null && !url.startsWith("jdbc:postgresql://")) {
            throw new ConfigException("storage.url: '" + url.replaceAll("(?i)(password=)[^&]*", "$1***")
                    + "' (expected: jdbc:postgresql://host:port/database)");
        }
        if (retentionDays < 0) {
            throw new ConfigException("storage.retention_days: " + retentionDays + " (expected: >= 0, 0 keeps every record)");
        }
    }

    /** {@code true} when the ledger is on PostgreSQL. */
    public boolean postgres() {
        return url != null;
    }
}
