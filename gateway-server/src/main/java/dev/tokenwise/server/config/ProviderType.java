package dev.tokenwise.server.config;

import dev.tokenwise.core.config.ConfigException;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The provider types the config accepts, and the keys each one takes. This is the one place to add a type;
 * its adapter plugs in through {@code ProviderAdapter}.
 */
enum ProviderType {
    /**
     * An OpenAI-compatible HTTP API (OpenAI, DeepSeek, Mistral, Groq, OpenRouter, xAI, or a local vLLM, Ollama or
     * llama.cpp server): needs {@code base_url}; a local server needs no {@code api_key}.
     */
    OPENAI("openai", BaseUrl.REQUIRED, "https://api.openai.com/v1", false, List.of(), false),
    /** Anthropic's Messages API: {@code base_url} defaults to Anthropic's, {@code api_key} is required. */
    ANTHROPIC("anthropic", BaseUrl.OPTIONAL, "https://api.anthropic.com/v1", true, List.of(), false),
    /**
     * Azure OpenAI: {@code base_url} is the resource endpoint, {@code api_key} and {@code api_version} are
     * required; a model's {@code upstream_name} is its deployment name.
     */
    AZURE_OPENAI("azure_openai", BaseUrl.REQUIRED, "https://my-resource.openai.azure.com", true,
            List.of("api_version"), false),
    /**
     * Google's Gemini API: {@code base_url} defaults to {@code https://generativelanguage.googleapis.com/v1beta},
     * {@code api_key} is required.
     */
    GEMINI("gemini", BaseUrl.OPTIONAL, "https://generativelanguage.googleapis.com/v1beta", true, List.of(), false),
    /** The built-in simulator: runs inside the gateway, takes no URL, every other key is an option. */
    SIMULATOR("simulator", BaseUrl.FORBIDDEN, null, false, List.of(), true);

    /** Whether a type needs, allows (with a default) or refuses {@code base_url}. */
    enum BaseUrl { REQUIRED, OPTIONAL, FORBIDDEN }

    /** Keys every provider understands, in documentation order. */
    static final List<String> COMMON_KEYS = List.of("type", "base_url", "api_key", "connect_timeout_ms",
            "read_timeout_ms", "max_idle_connections", "max_retries", "retry_backoff_ms", "retry_budget_percent",
            "breaker_failures", "breaker_cooldown_ms", "first_byte_timeout_ms", "total_timeout_ms",
            "forward_client_org_headers");

    private final String label;
    private final BaseUrl baseUrl;
    private final String baseUrlExample;
    private final boolean apiKeyRequired;
    private final List<String> requiredOptions;
    private final boolean extraKeysAreOptions;

    ProviderType(String label, BaseUrl baseUrl, String baseUrlExample, boolean apiKeyRequired,
                 List<String> requiredOptions, boolean extraKeysAreOptions) {
        this.label = label;
        this.baseUrl = baseUrl;
        this.baseUrlExample = baseUrlExample;
        this.apiKeyRequired = apiKeyRequired;
        this.requiredOptions = requiredOptions;
        this.extraKeysAreOptions = extraKeysAreOptions;
    }

    String label() {
        return label;
    }

    BaseUrl baseUrl() {
        return baseUrl;
    }

    /**
     * For {@link BaseUrl#OPTIONAL}, the base URL used when none is given; otherwise an example for error
     * messages; {@code null} for {@link BaseUrl#FORBIDDEN}.
     */
    String baseUrlExample() {
        return baseUrlExample;
    }

    /** {@code true} when the provider cannot work without a key, so an absent {@code api_key} entry is an error. */
    boolean apiKeyRequired() {
        return apiKeyRequired;
    }

    /** Type-specific keys that must be set; they go to {@code ProviderConfig.options}. */
    List<String> requiredOptions() {
        return requiredOptions;
    }

    /** {@code true} when keys outside {@link #COMMON_KEYS} go to {@code ProviderConfig.options}, else they are errors. */
    boolean extraKeysAreOptions() {
        return extraKeysAreOptions;
    }

    /** The keys this type accepts besides options. */
    List<String> keys() {
        List<String> common = baseUrl == BaseUrl.FORBIDDEN
                ? COMMON_KEYS.stream().filter(k -> !k.equals("base_url")).toList()
                : COMMON_KEYS;
        return requiredOptions.isEmpty() ? common
                : Stream.concat(common.stream(), requiredOptions.stream()).toList();
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
