package dev.tokenwise.providers;

import dev.tokenwise.core.config.ConfigException;
import dev.tokenwise.core.config.ProviderConfig;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.providers.anthropic.AnthropicAdapter;
import dev.tokenwise.providers.azure.AzureOpenAiAdapter;
import dev.tokenwise.providers.gemini.GeminiAdapter;
import dev.tokenwise.providers.openai.OpenAiAdapter;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The registry of provider types: each type is listed here once, with its config label, its {@code base_url}
 * rule and default, its key variable, its type-specific keys and the factory of its {@link ProviderAdapter}.
 * The config loader validates a provider against its type, {@link ProviderAdapters} builds the adapter, and a
 * test checks every type is documented in {@code docs/configuration.md}. Adding a type is one constant here.
 */
public enum ProviderType {
    /**
     * An OpenAI-compatible HTTP API (OpenAI, DeepSeek, Mistral, Groq, OpenRouter, xAI, or a local vLLM, Ollama or
     * llama.cpp server): needs {@code base_url}; a local server needs no {@code api_key}.
     */
    OPENAI("openai", BaseUrl.REQUIRED, "https://api.openai.com/v1", false, List.of(), false,
            p -> new OpenAiAdapter(p.apiKey(),
                    OpenAiAdapter.chatCapFieldFor(p.baseUrl() == null ? null : p.baseUrl().getHost()))),
    /** Anthropic's Messages API: {@code base_url} defaults to Anthropic's, {@code api_key} is required. */
    ANTHROPIC("anthropic", BaseUrl.OPTIONAL, "https://api.anthropic.com/v1", true, List.of(), false,
            p -> new AnthropicAdapter(p.apiKey())),
    /**
     * Azure OpenAI: {@code base_url} is the resource endpoint, {@code api_key} and {@value #API_VERSION} are
     * required; a model's {@code upstream_name} is its deployment name.
     */
    AZURE_OPENAI("azure_openai", BaseUrl.REQUIRED, "https://my-resource.openai.azure.com", true,
            List.of(ProviderType.API_VERSION), false, ProviderType::azure),
    /** Google's Gemini API ({@code generateContent}): {@code base_url} defaults to Google's, {@code api_key} is required. */
    GEMINI("gemini", BaseUrl.OPTIONAL, "https://generativelanguage.googleapis.com/v1beta", true, List.of(), false,
            p -> new GeminiAdapter(p.apiKey())),
    /** The built-in simulator, which speaks OpenAI's API inside the gateway: no URL, every other key is an option. */
    SIMULATOR("simulator", BaseUrl.FORBIDDEN, null, false, List.of(), true, p -> new OpenAiAdapter(p.apiKey()));

    /** The Azure option naming the {@code api-version} query parameter. */
    public static final String API_VERSION = "api_version";

    /** Keys every provider understands, in documentation order. */
    public static final List<String> COMMON_KEYS = List.of("type", "base_url", "api_key", "connect_timeout_ms",
            "read_timeout_ms", "max_idle_connections", "max_retries", "retry_backoff_ms", "retry_budget_percent",
            "breaker_failures", "breaker_cooldown_ms", "first_byte_timeout_ms", "total_timeout_ms",
            "forward_client_org_headers");

    /** Whether a type needs, allows (with a default) or refuses {@code base_url}. */
    public enum BaseUrl { REQUIRED, OPTIONAL, FORBIDDEN }

    private final String label;
    private final BaseUrl baseUrl;
    private final String baseUrlExample;
    private final boolean apiKeyRequired;
    private final List<String> requiredOptions;
    private final boolean extraKeysAreOptions;
    private final Function<ProviderConfig, ProviderAdapter> adapterFactory;

    ProviderType(String label, BaseUrl baseUrl, String baseUrlExample, boolean apiKeyRequired,
                 List<String> requiredOptions, boolean extraKeysAreOptions,
                 Function<ProviderConfig, ProviderAdapter> adapterFactory) {
        this.label = label;
        this.baseUrl = baseUrl;
        this.baseUrlExample = baseUrlExample;
        this.apiKeyRequired = apiKeyRequired;
        this.requiredOptions = requiredOptions;
        this.extraKeysAreOptions = extraKeysAreOptions;
        this.adapterFactory = adapterFactory;
    }

    /** The value of {@code type:} in the config, e.g. {@code azure_openai}. */
    public String label() {
        return label;
    }

    public BaseUrl baseUrl() {
        return baseUrl;
    }

    /** An example {@code base_url} for error messages; for {@link BaseUrl#FORBIDDEN}, {@code null}. */
    public String baseUrlExample() {
        return baseUrlExample;
    }

    /** For {@link BaseUrl#OPTIONAL}, the provider's public API used when no {@code base_url} is given; else {@code null}. */
    public String defaultBaseUrl() {
        return baseUrl == BaseUrl.OPTIONAL ? baseUrlExample : null;
    }

    /** The environment variable a config conventionally reads the key from, e.g. {@code ANTHROPIC_API_KEY}. */
    public String keyVariable() {
        return label.toUpperCase(java.util.Locale.ROOT) + "_API_KEY";
    }

    /** {@code true} when the provider cannot work without a key, so an absent {@code api_key} entry is an error. */
    public boolean apiKeyRequired() {
        return apiKeyRequired;
    }

    /** Type-specific keys that must be set; they go to {@code ProviderConfig.options}. */
    public List<String> requiredOptions() {
        return requiredOptions;
    }

    /** {@code true} when keys outside {@link #COMMON_KEYS} go to {@code ProviderConfig.options}, else they are errors. */
    public boolean extraKeysAreOptions() {
        return extraKeysAreOptions;
    }

    /** The keys this type accepts besides options. */
    public List<String> keys() {
        List<String> common = baseUrl == BaseUrl.FORBIDDEN
                ? COMMON_KEYS.stream().filter(k -> !k.equals("base_url")).toList()
                : COMMON_KEYS;
        return requiredOptions.isEmpty() ? common
                : Stream.concat(common.stream(), requiredOptions.stream()).toList();
    }

    /**
     * The adapter for {@code provider}, a provider of this type.
     *
     * @throws ConfigException when a required option is missing
     */
    public ProviderAdapter adapter(ProviderConfig provider) {
        return adapterFactory.apply(provider);
    }

    /**
     * The type labelled {@code value}.
     *
     * @param path the YAML path named in the error, e.g. {@code providers.claude.type}
     * @throws ConfigException naming every registered label when none matches
     */
    public static ProviderType parse(String value, String path) {
        for (ProviderType type : values()) {
            if (type.label.equals(value)) {
                return type;
            }
        }
        throw new ConfigException(path + ": '" + value + "' (expected one of: " + labels() + ")");
    }

    /** Every label, comma-separated, in declaration order. */
    public static String labels() {
        return Arrays.stream(values()).map(ProviderType::label).collect(Collectors.joining(", "));
    }

    private static ProviderAdapter azure(ProviderConfig provider) {
        String apiVersion = provider.options().get(API_VERSION);
        if (apiVersion == null || apiVersion.isBlank()) {
            throw new ConfigException("providers." + provider.name() + "." + API_VERSION
                    + ": missing (required for type azure_openai, e.g. 2024-10-21)");
        }
        return new AzureOpenAiAdapter(provider.apiKey(), apiVersion);
    }
}
