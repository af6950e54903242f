package dev.tokenwise.providers.simulator;

import dev.tokenwise.core.config.ConfigException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How the {@link SimulatorServer} behaves. Built from a provider's {@code options} map with
 * {@link #fromOptions(String, Map)}; every value has a default, so an empty map is a valid configuration.
 *
 * <pre>{@code
 * SimulatorSettings settings = SimulatorSettings.fromOptions("sim", Map.of("chunk_delay_ms", "5"));
 * }</pre>
 *
 * @param port the loopback port to listen on; {@code 0} picks a free one (option {@code port})
 * @param firstTokenDelay pause before the first content delta of a stream (option {@code first_token_delay_ms})
 * @param chunkDelay pause between later stream chunks (option {@code chunk_delay_ms})
 * @param wordsPerChunk words carried by one content delta (option {@code words_per_chunk})
 * @param maxOutputWords upper bound of an answer's length; answers have between
 *     {@code min(20, maxOutputWords)} and this many words (option {@code max_output_words})
 * @param embeddingDimensions the native length of embedding vectors (option {@code embedding_dimensions})
 * @param models the model ids {@code GET /v1/models} lists (option {@code models}, comma-separated)
 * @param ioThreads event loop threads (option {@code io_threads})
 * @param skills how well each model (by the id the simulator is asked for) answers builtin-suite tasks; a model
 *     without one answers every prompt with synthetic text (options {@code simulate.<model>}, which the config
 *     loader writes from a model entry's {@code simulate} block, see {@link SimulatedSkill})
 */
public record SimulatorSettings(int port, Duration firstTokenDelay, Duration chunkDelay, int wordsPerChunk,
                                int maxOutputWords, int embeddingDimensions, List<String> models, int ioThreads,
                                Map<String, SimulatedSkill> skills) {

    public static final Duration DEFAULT_FIRST_TOKEN_DELAY = Duration.ofMillis(120);
    public static final Duration DEFAULT_CHUNK_DELAY = Duration.ofMillis(15);
    public static final int DEFAULT_WORDS_PER_CHUNK = 1;
    public static final int DEFAULT_MAX_OUTPUT_WORDS = 120;
    public static final int DEFAULT_EMBEDDING_DIMENSIONS = 256;
    public static final List<String> DEFAULT_MODELS = List.of("sim-small", "sim-large", "sim-embed");

    static final int MAX_OUTPUT_WORDS_LIMIT = 100_000;
    static final int EMBEDDING_DIMENSIONS_LIMIT = 8192;

    /** The option keys {@link #fromOptions} understands. */
    public static final Set<String> OPTION_KEYS = Set.of("port", "first_token_delay_ms", "chunk_delay_ms",
            "words_per_chunk", "max_output_words", "embedding_dimensions", "models", "io_threads");

    public SimulatorSettings {
        if (port < 0 || port > 65535) {
            throw new ConfigException("port: " + port + " (expected: 0..65535)");
        }
        checkNonNegative(firstTokenDelay, "first_token_delay_ms");
        checkNonNegative(chunkDelay, "chunk_delay_ms");
        if (wordsPerChunk <= 0) {
            throw new ConfigException("words_per_chunk: " + wordsPerChunk + " (expected: > 0)");
        }
        if (maxOutputWords <= 0 || maxOutputWords > MAX_OUTPUT_WORDS_LIMIT) {
            throw new ConfigException("max_output_words: " + maxOutputWords
                    + " (expected: 1.." + MAX_OUTPUT_WORDS_LIMIT + ")");
        }
        if (embeddingDimensions <= 0 || embeddingDimensions > EMBEDDING_DIMENSIONS_LIMIT) {
            throw new ConfigException("embedding_dimensions: " + embeddingDimensions
                    + " (expected: 1.." + EMBEDDING_DIMENSIONS_LIMIT + ")");
        }
        if (models == null || models.isEmpty() || models.stream().anyMatch(m -> m == null || m.isBlank())) {
            throw new ConfigException("models: " + models + " (expected: one or more non-empty model ids)");
        }
        models = List.copyOf(models);
        if (ioThreads <= 0) {
            throw new ConfigException("io_threads: " + ioThreads + " (expected: > 0)");
        }
        skills = skills == null ? Map.of() : Map.copyOf(skills);
    }

    /** Settings without skills: every prompt gets synthetic text. */
    public SimulatorSettings(int port, Duration firstTokenDelay, Duration chunkDelay, int wordsPerChunk,
                             int maxOutputWords, int embeddingDimensions, List<String> models, int ioThreads) {
        this(port, firstTokenDelay, chunkDelay, wordsPerChunk, maxOutputWords, embeddingDimensions, models, ioThreads,
                Map.of());
    }

    /** The same settings serving {@code newModels} with {@code newSkills}. */
    public SimulatorSettings withModels(List<String> newModels, Map<String, SimulatedSkill> newSkills) {
        return new SimulatorSettings(port, firstTokenDelay, chunkDelay, wordsPerChunk, maxOutputWords,
                embeddingDimensions, newModels, ioThreads, newSkills);
    }

    /** All defaults: an ephemeral port, one event loop thread. */
    public static SimulatorSettings defaults() {
        return new SimulatorSettings(0, DEFAULT_FIRST_TOKEN_DELAY, DEFAULT_CHUNK_DELAY, DEFAULT_WORDS_PER_CHUNK,
                DEFAULT_MAX_OUTPUT_WORDS, DEFAULT_EMBEDDING_DIMENSIONS, DEFAULT_MODELS, 1);
    }

    /**
     * Reads the settings from a provider's options; absent keys take their defaults.
     *
     * @param providerName the key under {@code providers:}, used in error messages
     * @throws ConfigException naming the full key, e.g. {@code "providers.sim.chunk_delay_ms: -1 (expected: >= 0)"}
     */
    public static SimulatorSettings fromOptions(String providerName, Map<String, String> options) {
        String prefix = "providers." + providerName + ".";
        Map<String, SimulatedSkill> skills = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : options.entrySet()) {
            String key = e.getKey();
            if (key.startsWith(SimulatedSkill.OPTION_PREFIX) && key.length() > SimulatedSkill.OPTION_PREFIX.length()) {
                String model = key.substring(SimulatedSkill.OPTION_PREFIX.length());
                try {
                    skills.put(model, SimulatedSkill.parse(e.getValue(), SimulatedSkill.defaultSeed(model)));
                } catch (ConfigException problem) {
                    throw new ConfigException(prefix + key + "." + problem.getMessage(), problem);
                }
                continue;
            }
            if (!OPTION_KEYS.contains(key)) {
                throw new ConfigException(prefix + key + ": unknown option (expected one of: "
                        + String.join(", ", OPTION_KEYS.stream().sorted().toList()) + ")");
            }
        }
        try {
            return new SimulatorSettings(
                    intOption(options, "port", 0),
                    Duration.ofMillis(intOption(options, "first_token_delay_ms",
                            (int) DEFAULT_FIRST_TOKEN_DELAY.toMillis())),
                    Duration.ofMillis(intOption(options, "chunk_delay_ms", (int) DEFAULT_CHUNK_DELAY.toMillis())),
                    intOption(options, "words_per_chunk", DEFAULT_WORDS_PER_CHUNK),
                    intOption(options, "max_output_words", DEFAULT_MAX_OUTPUT_WORDS),
                    intOption(options, "embedding_dimensions", DEFAULT_EMBEDDING_DIMENSIONS),
                    listOption(options, "models", DEFAULT_MODELS),
                    intOption(options, "io_threads", 1),
                    skills);
        } catch (ConfigException e) {
            // The record names its fields by option key; the caller knows under which provider they sit.
            throw new ConfigException(prefix + e.getMessage(), e);
        }
    }

    private static void checkNonNegative(Duration value, String key) {
        if (value == null || value.isNegative()) {
            throw new ConfigException(key + ": " + (value == null ? "null" : value.toMillis()) + " (expected: >= 0)");
        }
    }

    private static int intOption(Map<String, String> options, String key, int defaultValue) {
        String raw = options.get(key);
        if (raw == null) {
            return defaultValue;
        }
        try {
            return Integer.parseInt(raw.trim());
        } catch (NumberFormatException e) {
            throw new ConfigException(key + ": " + raw + " (expected: an integer)");
        }
    }

    private static List<String> listOption(Map<String, String> options, String key, List<String> defaultValue) {
        String raw = options.get(key);
        if (raw == null) {
            return defaultValue;
        }
        List<String> values = new ArrayList<>();
        for (String part : raw.split(",")) {
            String value = part.trim();
            if (!value.isEmpty()) {
                values.add(value);
            }
        }
        return values;
    }
}
