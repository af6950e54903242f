package dev.tokenwise.core.config;

import java.util.Locale;
import java.util.Objects;

/**
 * The access log ({@code logging:}): one line per finished call on standard output.
 *
 * @param format how each line is written
 * @param access whether the access log is written at all
 */
public record LoggingConfig(Format format, boolean access) {
    /** The default: one human-readable line per call. */
    public static final LoggingConfig DEFAULT = new LoggingConfig(Format.TEXT, true);

    /** How an access-log line is written. */
    public enum Format {
        /** {@code key=value} words a person reads. */
        TEXT,
        /** One JSON object per line, for log pipelines. */
        JSON;

        public static Format parse(String value, String key) {
            try {
                return valueOf(value.trim().toUpperCase(Locale.ROOT));
            } catch (RuntimeException e) {
                throw new ConfigException(key + ": '" + value + "' (expected: text or json)");
            }
        }
    }

    public LoggingConfig {
        Objects.requireNonNull(format, "logging.format");
    }
}
