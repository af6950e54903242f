package dev.tokenwise.server.config;

import dev.tokenwise.core.config.ConfigException;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The provider types the config accepts, and the keys each one takes. This is the one place to add a type;
 * its adapter plugs in through {@code ProviderAdapter}.
 */
enum ProviderType {
    /** An OpenAI-compatible HTTP API: needs {@code base_url}. */
    OPENAI("openai", BaseUrl.REQUIRED, false),
    /** The built-in simulator: runs inside the gateway, takes no URL, every other key is an option. */
    SIMULATOR("simulator", BaseUrl.FORBIDDEN, true);

    /** Whether a type needs, allows or refuses {@code base_url}. */
    enum BaseUrl { REQUIRED, OPTIONAL, FORBIDDEN }

    /** Keys every provider understands, in documentation order. */
    static final List<String> COMMON_KEYS = List.of("type", "base_url", "api_key", "connect_timeout_ms",
            "read_timeout_ms", "max_idle_connections");

    private final String label;
    private final BaseUrl baseUrl;
    private final boolean extraKeysAreOptions;

    ProviderType(String label, BaseUrl baseUrl, boolean extraKeysAreOptions) {
        this.label = label;
        this.baseUrl = baseUrl;
        this.extraKeysAreOptions = extraKeysAreOptions;
    }

    String label() {
        return label;
    }

    BaseUrl baseUrl() {
        return baseUrl;
    }

    /** {@code true} when keys outside {@link #COMMON_KEYS} go to {@code ProviderConfig.options}, else they are errors. */
    boolean extraKeysAreOptions() {
        return extraKeysAreOptions;
    }

    /** The keys this type accepts besides options. */
    List<String> keys() {
        return baseUrl == BaseUrl.FORBIDDEN
                ? COMMON_KEYS.stream().filter(k -> !k.equals("base_url")).toList()
                : COMMON_KEYS;
    }

    static ProviderType parse(String value, String path) {
        for (ProviderType type : values()) {
            if (type.label.equals(value)) {
                return type;
            }
        }
        throw new ConfigException(path + ": '" + value + "' (expected one of: " + labels() + ")");
    }

    static String labels() {
        return Arrays.stream(values()).map(ProviderType::label).collect(Collectors.joining(", "));
    }
}
