package dev.tokenwise.providers.tokenizer;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The one table that says which tokenizer encoding a model uses.
 *
 * <p>A model id is matched by its longest listed prefix, after a provider prefix such as
 * {@code openai/} (everything up to the last {@code /}) and a fine-tune prefix {@code ft:} are removed:
 * <ul>
 *   <li>{@code o200k_base}: {@code gpt-4o*}, {@code gpt-4.1*}, {@code gpt-4.5*}, {@code gpt-5*},
 *       {@code o1*}, {@code o3*}, {@code o4*}, {@code chatgpt-4o*}, and the built-in simulator's {@code sim*};</li>
 *   <li>{@code cl100k_base}: {@code gpt-4*} (the longer prefixes above win), {@code gpt-3.5*},
 *       {@code text-embedding-3-*}, {@code text-embedding-ada-002}.</li>
 * </ul>
 * Any other model (Anthropic, Gemini, open models) has no exact tokenizer here: it is estimated with
 * {@code o200k_base} and {@link Resolution#exact()} is {@code false}.
 *
 * <p>Encodings are loaded lazily from jtokkit's {@linkplain Encodings#newLazyEncodingRegistry() lazy
 * registry}; loading one takes a noticeable fraction of a second, so callers on an event loop check
 * {@link #isLoaded} and leave loading to a worker, or call {@link #warmUp()} at startup off the event loop.
 */
public final class TokenizerTable {

    /**
     * The encoding chosen for a model.
     *
     * @param encodingType the jtokkit encoding
     * @param exact {@code true} when it is the model's own tokenizer, {@code false} for an estimate
     */
    public record Resolution(EncodingType encodingType, boolean exact) {
        public Resolution {
            Objects.requireNonNull(encodingType, "encodingType");
        }
    }

    /** The encoding used for models without a known tokenizer. */
    public static final EncodingType FALLBACK = EncodingType.O200K_BASE;

    private static final Resolution ESTIMATE = new Resolution(FALLBACK, false);

    private record Rule(String prefix, Resolution resolution) {
    }

    // Longest prefix first, so that "gpt-4o" wins over "gpt-4".
    private static final List<Rule> RULES = List.of(
            o200k("gpt-4o"), o200k("gpt-4.1"), o200k("gpt-4.5"), o200k("gpt-5"),
            o200k("o1"), o200k("o3"), o200k("o4"), o200k("chatgpt-4o"), o200k("sim"),
            cl100k("gpt-4"), cl100k("gpt-3.5"), cl100k("text-embedding-3-"), cl100k("text-embedding-ada-002"))
            .stream()
            .sorted(Comparator.comparingInt((Rule r) -> r.prefix().length()).reversed())
            .toList();

    /**
     * The encodings of the process, loaded once and shared by every table: an encoding is immutable and safe to use
     * from many threads, and holds some 20 MB of merge tables, which each gateway of a process (tests and benchmarks
     * run several) would otherwise load again.
     */
    private static final Map<EncodingType, Encoding> SHARED = new ConcurrentHashMap<>();
    private static final EncodingRegistry SHARED_REGISTRY = Encodings.newLazyEncodingRegistry();

    /** Model names whose facts are kept; a name past them is worked out at each call. */
    private static final int MAX_KNOWN_MODELS = 4096;

    private final EncodingRegistry registry;
    private final Map<EncodingType, Encoding> loaded;
    private final Map<String, ModelFacts> known = new ConcurrentHashMap<>();

    /** A table backed by the process's shared lazy jtokkit registry. */
    public TokenizerTable() {
        this.registry = SHARED_REGISTRY;
        this.loaded = SHARED;
    }

    /** A table backed by its own registry (tests that count loads). */
    TokenizerTable(EncodingRegistry registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.loaded = new ConcurrentHashMap<>();
    }

    /** The encoding for {@code model}; never {@code null} (unknown or {@code null} models get the estimate). */
    public Resolution resolve(String model) {
        return facts(model).resolution();
    }

    /** {@code true} when the table has the model's own tokenizer. */
    public boolean isExact(String model) {
        return resolve(model).exact();
    }

    /**
     * {@code true} when published API numbers prove the chat tool rendering ({@link FunctionDefinitions}) for the
     * model: the families of the examples, {@code gpt-4o} and {@code gpt-4o-mini} (o200k), {@code gpt-4} and
     * {@code gpt-3.5-turbo} (cl100k), with their dated versions. Newer families ({@code gpt-4.1}, {@code gpt-5},
     * the o-series) may render tools otherwise: their counts with tools stay estimates.
     */
    public boolean toolRenderingProven(String model) {
        return facts(model).toolRenderingProven();
    }

    /** What the table knows of a model, worked out once per name (a call asks several times; names are few). */
    private ModelFacts facts(String model) {
        if (model == null) {
            return ModelFacts.NONE;
        }
        ModelFacts facts = known.get(model);
        if (facts == null) {
            facts = ModelFacts.of(baseModelId(model));
            if (known.size() < MAX_KNOWN_MODELS) {
                known.put(model, facts);
            }
        }
        return facts;
    }

    private record ModelFacts(Resolution resolution, boolean toolRenderingProven) {
        static final ModelFacts NONE = new ModelFacts(ESTIMATE, false);

        static ModelFacts of(String id) {
            if (id == null) {
                return NONE;
            }
            Resolution resolution = ESTIMATE;
            for (Rule rule : RULES) {
                if (id.startsWith(rule.prefix())) {
                    resolution = rule.resolution();
                    break;
                }
            }
            boolean proven = resolution.exact() && (id.startsWith("gpt-4o") || id.startsWith("gpt-3.5-turbo")
                    || id.equals("gpt-4")
                    || id.startsWith("gpt-4-") && !id.startsWith("gpt-4-turbo") && !id.contains("preview")
                    && !id.contains("vision"));
            return new ModelFacts(resolution, proven);
        }
    }

    /** The encoding itself, loading it on first use (slow: never call this on an event loop unless {@link #isLoaded}). */
    public Encoding encoding(EncodingType type) {
        return loaded.computeIfAbsent(type, registry::getEncoding);
    }

    /** {@code true} when {@link #encoding} would return without loading. */
    public boolean isLoaded(EncodingType type) {
        return loaded.containsKey(type);
    }

    /** Loads every encoding this table can return; call once at startup from a thread that may block. */
    public void warmUp() {
        encoding(EncodingType.O200K_BASE);
        encoding(EncodingType.CL100K_BASE);
    }

    /** The id without provider and fine-tune prefixes, lower case; {@code null} for a blank id. */
    static String baseModelId(String model) {
        if (model == null) {
            return null;
        }
        String id = model.strip();
        int slash = id.lastIndexOf('/');
        if (slash >= 0) {
            id = id.substring(slash + 1);
        }
        if (id.startsWith("ft:")) {
            id = id.substring(3);
        }
        return id.isEmpty() ? null : id.toLowerCase(Locale.ROOT);
    }

    private static Rule o200k(String prefix) {
        return new Rule(prefix, new Resolution(EncodingType.O200K_BASE, true));
    }

    private static Rule cl100k(String prefix) {
        return new Rule(prefix, new Resolution(EncodingType.CL100K_BASE, true));
    }
}
