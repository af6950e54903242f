package dev.tokenwise.providers.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.knuddels.jtokkit.api.Encoding;
import dev.tokenwise.core.json.RawArrayNode;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenCount;
import dev.tokenwise.core.spi.TokenCounter;
import dev.tokenwise.providers.tokenizer.PromptPlan.Piece;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * A {@link TokenCounter} on jtokkit, the Java port of OpenAI's tiktoken, with the encoding chosen by
 * {@link TokenizerTable}.
 *
 * <p>Input accounting per endpoint:
 * <ul>
 *   <li>{@link Endpoint#CHAT_COMPLETIONS}: OpenAI's documented rule (3 tokens per message, plus the
 *       tokens of role, content and name, plus 1 per name, plus 3 priming the reply); equal to
 *       {@code usage.prompt_tokens} for text messages. Image, audio and file parts are estimates: an image
 *       costs 85 tokens at {@code detail: low}, else a fixed 765 (OpenAI's figure for 1024×1024, as the
 *       real size is unknown), audio about 10 tokens a second judged from its size, a file 765. {@code tools}
 *       definitions are rendered as OpenAI renders them into the system prompt ({@link FunctionDefinitions}):
 *       exact for the models and schema shapes published API numbers prove
 *       ({@link TokenizerTable#toolRenderingProven}), an estimate otherwise. Tool calls and tool results in the
 *       conversation, a forced {@code tool_choice}, a {@code response_format} schema and a {@code prediction} are
 *       counted as estimates (their rendering is not documented). A body without a
 *       {@code messages} array counts 3, the reply priming; validating the body is done elsewhere.</li>
 *   <li>{@link Endpoint#EMBEDDINGS}: the tokens of {@code input} (a string, strings, token ids, or
 *       arrays of token ids, which count their length).</li>
 *   <li>{@link Endpoint#RESPONSES}: a string {@code input} is one user message under the chat rule;
 *       item arrays reuse the chat rule and are estimates.</li>
 *   <li>{@link Endpoint#MESSAGES}: Anthropic's {@code system} and {@code messages} under the chat rule,
 *       always an estimate (Claude's tokenizer is not public).</li>
 * </ul>
 * User text is always counted as ordinary text ({@code countTokensOrdinary}), so a prompt containing
 * {@code <|endoftext|>} is counted like the API counts it instead of throwing. Every input count also carries the
 * request's {@link dev.tokenwise.core.model.RequestFeature}s and the UTF-8 bytes of the text it tokenized
 * ({@link TokenCount#features()}, {@link TokenCount#textBytes()}), for every model, tokenizer or not.
 *
 * <p>Never blocks the caller for long: each message's token count is cached under a 64-bit hash of
 * the encoding and the message's texts, or, for chat messages the body reader left as bytes
 * ({@link RawArrayNode}), of the encoding and the message's bytes: a cached message is then neither decoded
 * nor parsed, only hashed (a message re-sent with other spacing or escapes is counted again, once). When every message is cached, or the uncached text is shorter
 * than {@link #SYNC_CHAR_LIMIT} characters, the count is done on the calling thread and the returned
 * future is already complete; otherwise it is done on the worker executor. An encoding that is not
 * loaded yet is always loaded on the worker. If the worker rejects the task, the future completes with
 * a rough estimate (a token per 4 characters) rather than failing.
 *
 * <p>The work of one count is bounded ({@link CountBudget}): a pre-tokenized piece too long to merge (a hostile
 * "word" of megabytes) or beyond the call's share of merging is counted by its UTF-8 length, an upper bound, and
 * the count is then {@linkplain TokenCount#bounded() bounded} and {@linkplain TokenCount#estimated() estimated}. Input and output are bounded alike; ordinary
 * text stays exact.
 *
 * <pre>{@code
 * TokenCounter counter = new JtokkitTokenCounter(workerPool);
 * counter.countInput("gpt-4o-mini", Endpoint.CHAT_COMPLETIONS, body)
 *        .thenAcceptAsync(count -> reserve(count.tokens()), channel.eventLoop());
 * }</pre>
 */
public final class JtokkitTokenCounter implements TokenCounter {

    /** Uncached text shorter than this many characters is counted on the calling thread. */
    public static final int SYNC_CHAR_LIMIT = 4096;
    /** Default number of cached per-message counts. */
    public static final long DEFAULT_CACHE_ENTRIES = 50_000;
    /**
     * Pre-tokenized pieces whose counts are kept (see {@link PieceCounter}): about 100 bytes each in its entry
     * table, plus its two slot arrays of 524,288 references and longs (6 MB) per encoding in use.
     */
    static final int MAX_CACHED_PIECES = 200_000;

    private static final int CHARS_PER_TOKEN_FALLBACK = 4;

    private final TokenizerTable table;
    private final Executor workerPool;
    /**
     * Per-message text tokens (the high 32 bits) and UTF-8 bytes of the texts (the low 32), under a hash of the
     * encoding and the message's texts.
     */
    private final Cache<Long, Long> cache;
    /** Per-message counts of messages counted from their bytes, under a hash of the encoding and those bytes. */
    private final Cache<Long, MessageCount> messageCache;
    private final java.util.Map<com.knuddels.jtokkit.api.EncodingType, PieceCounter> pieceCounters =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final long hashSeed;

    /**
     * A counter on the process's shared encodings ({@link TokenizerTable#TokenizerTable()}) with
     * {@link #DEFAULT_CACHE_ENTRIES} cache entries.
     */
    public JtokkitTokenCounter(Executor workerPool) {
        this(new TokenizerTable(), workerPool, DEFAULT_CACHE_ENTRIES);
    }

    /** A counter on the process's shared encodings ({@link TokenizerTable#TokenizerTable()}). */
    public JtokkitTokenCounter(Executor workerPool, long cacheEntries) {
        this(new TokenizerTable(), workerPool, cacheEntries);
    }

    /**
     * @param table the model-to-encoding table (shared, so encodings load once)
     * @param workerPool runs counts too long for the calling thread; must not be an event loop
     * @param cacheEntries how many per-message counts to keep in each of the two caches (by texts, by bytes), {@code >= 0}
     */
    public JtokkitTokenCounter(TokenizerTable table, Executor workerPool, long cacheEntries) {
        if (cacheEntries < 0) {
            throw new IllegalArgumentException("cacheEntries: " + cacheEntries + " (expected: >= 0)");
        }
        this.table = Objects.requireNonNull(table, "table");
        this.workerPool = Objects.requireNonNull(workerPool, "workerPool");
        // Maintenance on the calling thread: handing it to the common pool woke a worker thread on many puts.
        this.cache = Caffeine.newBuilder().maximumSize(cacheEntries).executor(Runnable::run).build();
        this.messageCache = Caffeine.newBuilder().maximumSize(cacheEntries).executor(Runnable::run).build();
        this.hashSeed = new SecureRandom().nextLong();
    }

    @Override
    public CompletableFuture<TokenCount> countInput(String model, Endpoint endpoint, JsonNode body) {
        Objects.requireNonNull(endpoint, "endpoint");
        PromptPlan plan = switch (endpoint) {
            case CHAT_COMPLETIONS -> PromptPlan.ofChat(body, table.toolRenderingProven(model));
            case EMBEDDINGS -> PromptPlan.ofEmbeddings(body);
            case RESPONSES -> PromptPlan.ofResponses(body);
            case MESSAGES, MESSAGES_COUNT_TOKENS -> PromptPlan.ofAnthropicMessages(body);
            case GEMINI_GENERATE, GEMINI_STREAM_GENERATE, GEMINI_COUNT_TOKENS -> PromptPlan.ofGemini(body);
            case GEMINI_EMBED, GEMINI_BATCH_EMBED -> PromptPlan.ofGeminiEmbeddings(body);
        };
        // A provider's prompt cache serves chat-like prompts, not embeddings: no prefix to watch there.
        return count(table.resolve(model), plan, true,
                endpoint != Endpoint.EMBEDDINGS && endpoint != Endpoint.GEMINI_EMBED
                        && endpoint != Endpoint.GEMINI_BATCH_EMBED);
    }

    /** Counts {@code text} as ordinary text; output is not cached, as completions rarely repeat. */
    @Override
    public CompletableFuture<TokenCount> countOutput(String model, String text) {
        return count(table.resolve(model), PromptPlan.ofText(text), false, false);
    }

    @Override
    public boolean isExact(String model) {
        return table.isExact(model);
    }

    /** The number of cached per-message counts (approximate). */
    public long cachedEntries() {
        return cache.estimatedSize() + messageCache.estimatedSize();
    }

    /**
     * One chat message counted from its bytes.
     *
     * @param tokens framing and texts under the chat rule
     * @param paddedTokens the same when the message is the {@code system} message tool definitions join
     *     ({@link PromptPlan#toolsJoinSystem}); equal to {@code tokens} for other roles
     * @param textBytes the UTF-8 bytes of its texts (one more when padded)
     * @param features its {@link dev.tokenwise.core.model.RequestFeature}s
     * @param system whether its role is {@code system}
     */
    private record MessageCount(long tokens, long paddedTokens, long textBytes, int features, boolean estimated,
                                boolean system) {
    }

    private CompletableFuture<TokenCount> count(TokenizerTable.Resolution resolution, PromptPlan plan, boolean cacheable,
                                                boolean prefix) {
        boolean estimated = plan.estimated || !resolution.exact();
        long tokens = plan.fixedTokens;
        long bytes = 0;
        List<Piece> pending = plan.pieces;
        long pendingChars = 0;
        long contentHash = 0;
        String encodingName = resolution.encodingType().getName();
        RawArrayNode raw = plan.rawMessages;
        MessageCount[] messages = null;
        int[] rawPending = null;
        long[] rawKeys = null;
        int rawMisses = 0;
        if (raw != null) {
            byte[] source = raw.source();
            int n = raw.rawSize();
            messages = new MessageCount[n];
            for (int i = 0; i < n; i++) {
                int start = raw.elementStart(i);
                int length = raw.elementEnd(i) - start;
                long key = new Hash64(hashSeed).add(encodingName).add(source, start, length).finish();
                // The prompt's hash: the message keys in order (equal prompts, equal hashes).
                contentHash = (contentHash ^ key) * 0x9E3779B97F4A7C15L + 1;
                MessageCount cached = messageCache.getIfPresent(key);
                if (cached != null) {
                    messages[i] = cached;
                } else {
                    if (rawPending == null) {
                        rawPending = new int[n - i];
                        rawKeys = new long[n - i];
                    }
                    rawPending[rawMisses] = i;
                    rawKeys[rawMisses++] = key;
                    pendingChars += length; // bytes: at least the characters
                }
            }
        }
        if (cacheable) {
            pending = new ArrayList<>(plan.pieces.size());
            for (Piece piece : plan.pieces) {
                piece.key = key(encodingName, piece);
                contentHash = (contentHash ^ piece.key) * 0x9E3779B97F4A7C15L + 1;
                Long cached = cache.getIfPresent(piece.key);
                if (cached != null) {
                    tokens += cached >>> 32;
                    bytes += cached & 0xFFFF_FFFFL;
                } else {
                    pending.add(piece);
                    pendingChars += piece.chars;
                }
            }
        } else {
            for (Piece piece : pending) {
                pendingChars += piece.chars;
            }
        }
        Work work = new Work(resolution, plan, tokens, estimated, contentHash, prefix ? prefixHash(plan) : 0, bytes,
                pending, cacheable, messages, rawPending, rawKeys, rawMisses);
        if (pending.isEmpty() && rawMisses == 0) {
            return CompletableFuture.completedFuture(work.finish(tokens, 0, false));
        }
        if (pendingChars < SYNC_CHAR_LIMIT && table.isLoaded(resolution.encodingType())) {
            return CompletableFuture.completedFuture(work.get());
        }
        try {
            return CompletableFuture.supplyAsync(work, workerPool);
        } catch (RejectedExecutionException e) {
            long rough = (pendingChars + CHARS_PER_TOKEN_FALLBACK - 1) / CHARS_PER_TOKEN_FALLBACK;
            return CompletableFuture.completedFuture(work.rough(tokens + rough));
        }
    }

    /** What is left to count once the caches answered: uncached pieces and messages still as bytes. */
    private final class Work implements java.util.function.Supplier<TokenCount> {
        private final TokenizerTable.Resolution resolution;
        private final PromptPlan plan;
        private final long known;
        private final boolean estimated;
        private final long contentHash;
        private final long prefixHash;
        private final long bytes;
        private final List<Piece> pieces;
        private final boolean cacheable;
        private final MessageCount[] messages;
        private final int[] rawPending;
        private final long[] rawKeys;
        private final int rawMisses;

        Work(TokenizerTable.Resolution resolution, PromptPlan plan, long known, boolean estimated, long contentHash,
             long prefixHash, long bytes, List<Piece> pieces, boolean cacheable, MessageCount[] messages,
             int[] rawPending, long[] rawKeys, int rawMisses) {
            this.resolution = resolution;
            this.plan = plan;
            this.known = known;
            this.estimated = estimated;
            this.contentHash = contentHash;
            this.prefixHash = prefixHash;
            this.bytes = bytes;
            this.pieces = pieces;
            this.cacheable = cacheable;
            this.messages = messages;
            this.rawPending = rawPending;
            this.rawKeys = rawKeys;
            this.rawMisses = rawMisses;
        }

        @Override
        public TokenCount get() {
            PieceCounter counter = pieceCounter(resolution);
            // One budget for the whole call, input or output: no text makes a count merge without end.
            CountBudget budget = new CountBudget();
            long total = known;
            long pieceBytes = 0;
            for (Piece piece : pieces) {
                int boundedBefore = budget.boundedPieces();
                long tokens = count(counter, piece, budget);
                if (cacheable) {
                    long b = Math.min(piece.bytes(), 0xFFFF_FFFFL);
                    pieceBytes += b;
                    // Only exact counts are cached: a bound would outlive the call that could not afford the merging.
                    if (budget.boundedPieces() == boundedBefore) {
                        cache.put(piece.key, tokens << 32 | b); // exact: at most the piece's bytes, below 2^31
                    }
                }
                total += tokens;
            }
            RawArrayNode raw = plan.rawMessages;
            for (int k = 0; k < rawMisses; k++) {
                // The message alone, as a tree: framing and texts under the chat rule, cached with its facts.
                PromptPlan message = PromptPlan.ofChatMessage(raw.parseElement(rawPending[k]));
                int boundedBefore = budget.boundedPieces();
                long tokens = message.fixedTokens;
                long textBytes = 0;
                long last = 0;
                for (Piece piece : message.pieces) {
                    last = count(counter, piece, budget);
                    tokens += last;
                    textBytes += piece.bytes();
                }
                long padded = message.paddedPiece == null ? tokens
                        : tokens - last + count(counter, message.paddedPiece, budget);
                MessageCount m = new MessageCount(tokens, padded, textBytes, message.features, message.estimated,
                        message.systemMessage);
                if (cacheable && budget.boundedPieces() == boundedBefore) {
                    messageCache.put(rawKeys[k], m);
                }
                messages[rawPending[k]] = m;
            }
            return finish(total, pieceBytes, budget.boundedPieces() > 0);
        }

        /**
         * The count with the messages read as bytes added in order: the first {@code system} message padded when the
         * tool definitions join it, and the tokens a shared system message saves.
         *
         * @param bounded whether part of the text was counted by a safe upper bound
         */
        TokenCount finish(long total, long pieceBytes, boolean bounded) {
            boolean anyEstimated = estimated || bounded;
            long textBytes = bytes + pieceBytes;
            int features = plan.features;
            if (messages != null) {
                boolean systemSeen = false;
                for (MessageCount m : messages) {
                    boolean pad = plan.toolsJoinSystem && m.system() && !systemSeen;
                    total += pad ? m.paddedTokens() : m.tokens();
                    textBytes += m.textBytes() + (pad ? 1 : 0);
                    anyEstimated |= m.estimated();
                    features |= m.features();
                    if (plan.toolsJoinSystem && !m.system()
                            && dev.tokenwise.core.model.RequestFeature.SYSTEM_PROMPT.in(m.features())) {
                        anyEstimated = true; // a developer message: whether the tools join it is not documented
                    }
                    systemSeen |= m.system();
                }
                if (plan.toolsJoinSystem && systemSeen) {
                    total -= FunctionDefinitions.SHARED_SYSTEM_TOKENS;
                }
            }
            return new TokenCount(total, anyEstimated, contentHash, bounded, features, textBytes, prefixHash);
        }

        /**
         * A rough count when the worker refused the work: {@code tokens} (what the caches knew plus a rough figure for
         * the rest) and the cached messages, with the facts known without counting.
         */
        TokenCount rough(long tokens) {
            int features = plan.features;
            long textBytes = bytes;
            if (cacheable) {
                for (Piece piece : pieces) {
                    textBytes += piece.bytes();
                }
            }
            if (messages != null) {
                for (int i = 0; i < messages.length; i++) {
                    MessageCount m = messages[i];
                    if (m != null) {
                        tokens += m.tokens();
                        features |= m.features();
                        textBytes += m.textBytes();
                    } else {
                        // Not read: its JSON bytes stand for its text's.
                        textBytes += plan.rawMessages.elementEnd(i) - plan.rawMessages.elementStart(i);
                    }
                }
            }
            return new TokenCount(tokens, true, contentHash, false, features, textBytes, prefixHash);
        }
    }

    private static long count(PieceCounter counter, Piece piece, CountBudget budget) {
        long tokens = 0;
        for (String text : piece.texts) {
            tokens += counter.count(text, budget);
        }
        return tokens;
    }

    /**
     * The {@link TokenCount#prefixHash} of a prompt: its messages' bytes as the client sent them when they are still
     * bytes, else the texts of its pieces in order (system prompt first). Hashes at most
     * {@link TokenCount#PREFIX_BYTES} bytes, and nothing for a shorter prompt.
     */
    private long prefixHash(PromptPlan plan) {
        RawArrayNode raw = plan.rawMessages;
        int rawBytes = 0;
        if (raw != null && raw.rawSize() > 0) {
            rawBytes = raw.elementEnd(raw.rawSize() - 1) - raw.elementStart(0);
        }
        // A char is at most three bytes of UTF-8: a prompt that cannot fill the prefix has no hash, and most do not.
        long mostBytes = rawBytes;
        for (Piece piece : plan.pieces) {
            mostBytes += 3 * piece.chars;
        }
        if (mostBytes < TokenCount.PREFIX_BYTES) {
            return 0;
        }
        PromptPrefix prefix = PromptPrefix.reset();
        if (rawBytes > 0) {
            prefix.add(raw.source(), raw.elementStart(0), rawBytes);
        }
        for (Piece piece : plan.pieces) {
            for (String text : piece.texts) {
                if (prefix.full()) {
                    return prefix.hash(hashSeed);
                }
                prefix.add(text);
            }
        }
        return prefix.hash(hashSeed);
    }

    private PieceCounter pieceCounter(TokenizerTable.Resolution resolution) {
        return pieceCounters.computeIfAbsent(resolution.encodingType(),
                type -> new PieceCounter(table.encoding(type), MAX_CACHED_PIECES));
    }

    private long key(String encodingName, Piece piece) {
        Hash64 hash = new Hash64(hashSeed).add(encodingName);
        for (String text : piece.texts) {
            hash.add(text);
        }
        return hash.finish();
    }
}
