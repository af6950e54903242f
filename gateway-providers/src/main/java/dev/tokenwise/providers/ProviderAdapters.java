package dev.tokenwise.providers;

import dev.tokenwise.core.config.ConfigException;
import dev.tokenwise.core.config.ProviderConfig;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.providers.anthropic.AnthropicAdapter;
import dev.tokenwise.providers.azure.AzureOpenAiAdapter;
import dev.tokenwise.providers.gemini.GeminiAdapter;
import dev.tokenwise.providers.openai.OpenAiAdapter;
import java.util.List;

/**
 * Creates the {@link ProviderAdapter} for a configured provider, by its {@link ProviderConfig#type() type}.
 *
 * <pre>{@code
 * for (ProviderConfig provider : config.providers().values()) {
 *     adapters.put(provider.name(), ProviderAdapters.create(provider));
 * }
 * }</pre>
 */
public final class ProviderAdapters {
    /** OpenAI and every OpenAI-compatible server (DeepSeek, Mistral, Groq, OpenRouter, xAI, vLLM, Ollama). */
    public static final String OPENAI = "openai";
    /** Anthropic's native Messages API, and OpenAI chat completions by translation. */
    public static final String ANTHROPIC = "anthropic";
    /** Azure OpenAI deployments; needs the option {@value #API_VERSION}. */
    public static final String AZURE_OPENAI = "azure_openai";
    /** Google's Gemini API ({@code generateContent}), and OpenAI chat completions by translation. */
    public static final String GEMINI = "gemini";
    /** The built-in simulator, which speaks OpenAI's API. */
    public static final String SIMULATOR = "simulator";
    /** The Azure option naming the {@code api-version} query parameter. */
    public static final String API_VERSION = "api_version";

    private static final List<String> TYPES = List.of(OPENAI, ANTHROPIC, AZURE_OPENAI, GEMINI, SIMULATOR);

    private ProviderAdapters() {
    }

    /**
     * The adapter for {@code provider}.
     *
     * @throws ConfigException for a type no adapter speaks, or an Azure provider without {@value #API_VERSION}
     */
    public static ProviderAdapter create(ProviderConfig provider) {
        return switch (provider.type()) {
            case OPENAI -> new OpenAiAdapter(provider.apiKey(), OpenAiAdapter.chatCapFieldFor(
                    provider.baseUrl() == null ? null : provider.baseUrl().getHost()));
            case SIMULATOR -> new OpenAiAdapter(provider.apiKey());
            case ANTHROPIC -> new AnthropicAdapter(provider.apiKey());
            case GEMINI -> new GeminiAdapter(provider.apiKey());
            case AZURE_OPENAI -> {
                String apiVersion = provider.options().get(API_VERSION);
                if (apiVersion == null || apiVersion.isBlank()) {
                    throw new ConfigException("providers." + provider.name() + "." + API_VERSION
                            + ": missing (required for type " + AZURE_OPENAI + ", e.g. 2024-10-21)");
                }
                yield new AzureOpenAiAdapter(provider.apiKey(), apiVersion);
            }
            default -> throw new ConfigException("providers." + provider.name() + ".type: '" + provider.type()
                    + "' (expected one of: " + String.join(", ", TYPES) + ")");
        };
    }
}
