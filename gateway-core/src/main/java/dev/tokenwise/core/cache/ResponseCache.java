package dev.tokenwise.core.cache;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.tokenwise.core.config.CacheConfig;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.CacheStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.AdmissionStage;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.io.IOException;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The exact response cache, as the admission stage after the rate limits and before the budget: a call that asks
 * exactly what an earlier one asked is answered with that one's answer, from memory on the event loop, without
 * calling the provider or reserving budget.
 *
 * <p><b>What is cached.</b> {@code POST /v1/chat/completions} (also when a provider of another API answers it: the
 * client's answer is OpenAI's shape) and {@code POST /v1/embeddings}; every other endpoint is {@code skip}. In mode
 * {@code deterministic} only chat calls that ask for determinism ({@code temperature: 0}, or a {@code seed}) and all
 * embeddings; in mode {@code all} every such call. Per call, {@code X-Tokenwise-Cache: skip} neither reads nor
 * writes, {@code refresh} calls upstream and stores the answer, {@code use} caches a call the mode would not; any
 * other value is a 400. Every answered call says {@code X-Tokenwise-Cache: hit}, {@code miss} or {@code skip}.
 *
 * <p><b>Key.</b> The team (unless {@code cache.scope: global}), the endpoint and the body normalised by
 * {@link CanonicalRequest}. The whole normalised body is the key (compared byte for byte, not by a hash), so two
 * different requests can never share an answer.
 *
 * <p><b>What is stored.</b> Only whole, successful answers (see {@link StoredAnswer#of}): never an error, a stream
 * cut short or a {@code content_filter} finish. A streamed answer is kept when its text says it whole: one choice, no
 * tools, no log probabilities, no audio, finished with {@code stop} or {@code length}. Entries live
 * {@code cache.ttl_seconds} after they are stored; the cache holds at most {@code cache.max_mib} (keys and answers
 * weighed in bytes), evicting by Caffeine's policy (least recently and frequently used); an answer larger than an
 * eighth of that is not stored.
 *
 * <p><b>Concurrency.</b> Identical calls on a cold cache coalesce: the first goes upstream and registers itself as
 * in flight; the others wait for it without holding an event loop ({@link Lease#answer} is a future), and are
 * answered as hits when it stores its answer. When it cannot (an error, an answer that is not kept, a call that never
 * went upstream), they go upstream themselves. A call that waited is booked as a hit when it was answered so.
 *
 * <pre>{@code
 * ResponseCache cache = new ResponseCache(config.cache(), new ObjectMapper());
 * GatewayServer.start(..., List.of(rateLimiter, cache));
 * }</pre>
 */
public final class ResponseCache implements AdmissionStage {
    /** The request header a client steers the cache with, and the response header that says what it did. */
    public static final AsciiString HEADER = AsciiString.cached("x-tokenwise-cache");
    private static final AsciiString HIT = AsciiString.cached(CacheStatus.HIT.label());
    private static final AsciiString MISS = AsciiString.cached(CacheStatus.MISS.label());
    private static final AsciiString SKIP = AsciiString.cached(CacheStatus.SKIP.label());

    /** What the client asks of the cache for one call. */
    enum Directive { DEFAULT, SKIP, REFRESH, USE }

    private final CacheConfig config;
    private final ObjectMapper json;
    private final Cache<Key, StoredAnswer> entries;
    private final long maxEntryBytes;
    private final ConcurrentHashMap<Key, CompletableFuture<StoredAnswer>> inFlight = new ConcurrentHashMap<>();
    private final LongAdder hits = new LongAdder();
    private final LongAdder coalesced = new LongAdder();
    private final LongAdder stored = new LongAdder();

    /** A cache on the system clock. */
    public ResponseCache(CacheConfig config, ObjectMapper json) {
        this(config, json, Ticker.systemTicker());
    }

    /** A cache whose entries age by {@code ticker} (tests). */
    ResponseCache(CacheConfig config, ObjectMapper json, Ticker ticker) {
        this.config = Objects.requireNonNull(config, "config");
        this.json = Objects.requireNonNull(json, "json");
        this.maxEntryBytes = Math.min(Integer.MAX_VALUE, config.maxBytes() / 8);
        // Maintenance on the calling thread, as the token counter's caches do: no pool thread woken per write.
        this.entries = Caffeine.newBuilder()
                .maximumWeight(config.maxBytes())
                .weigher((Key k, StoredAnswer v) -> k.body.length + v.weight)
                .expireAfterWrite(config.ttl())
                .ticker(ticker)
                .executor(Runnable::run)
                .build();
    }

    @Override
    public Lease admit(Call call) {
        if (call.body() == null || (call.endpoint() != Endpoint.CHAT_COMPLETIONS && call.endpoint() != Endpoint.EMBEDDINGS)) {
            return Skipped.LEASE;
        }
        Directive directive = directive(call.headers());
        if (directive == Directive.SKIP) {
            return Skipped.LEASE;
        }
        CanonicalRequest request;
        try {
            request = CanonicalRequest.read(json.getFactory(), call.body());
        } catch (IOException | RuntimeException unreadable) {
            return Skipped.LEASE; // the frontend read it; nothing this cache should decide on
        }
        if (call.endpoint() == Endpoint.CHAT_COMPLETIONS && config.mode() == CacheConfig.Mode.DETERMINISTIC
                && !request.deterministic && directive != Directive.USE) {
            return Skipped.LEASE;
        }
        Key key = new Key(config.scope() == CacheConfig.Scope.TEAM ? call.team() : "", call.endpoint(), request.bytes);
        if (directive != Directive.REFRESH) {
            StoredAnswer answer = entries.getIfPresent(key);
            if (answer != null) {
                hits.increment();
                return new Hit(answer.answer(call.stream(), request.includeUsage));
            }
        }
        CompletableFuture<StoredAnswer> mine = new CompletableFuture<>();
        CompletableFuture<StoredAnswer> first = inFlight.putIfAbsent(key, mine);
        if (first == null) {
            return new Miss(key, request, call.endpoint(), call.stream(), mine, null);
        }
        if (directive == Directive.REFRESH) {
            return new Miss(key, request, call.endpoint(), call.stream(), null, null); // goes anyway, stores at the end
        }
        coalesced.increment();
        return new Miss(key, request, call.endpoint(), call.stream(), null, first);
    }

    /** The client's {@code X-Tokenwise-Cache}; any other value than skip, refresh or use is a 400. */
    static Directive directive(HttpHeaders headers) {
        String value = headers == null ? null : headers.get(HEADER);
        if (value == null) {
            return Directive.DEFAULT;
        }
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "skip" -> Directive.SKIP;
            case "refresh" -> Directive.REFRESH;
            case "use" -> Directive.USE;
            default -> throw new GatewayException(ErrorType.BAD_REQUEST, "X-Tokenwise-Cache: '" + value
                    + "' (expected: skip, refresh or use)");
        };
    }

    /** Answers currently stored (approximate). */
    public long size() {
        entries.cleanUp();
        return entries.estimatedSize();
    }

    /** Bytes currently stored, as weighed. */
    public long weightedBytes() {
        entries.cleanUp();
        return entries.policy().eviction().map(e -> e.weightedSize().orElse(0)).orElse(0L);
    }

    /** Calls answered at once from the cache (not counting those that waited for an identical call). */
    public long hits() {
        return hits.sum();
    }

    /** Calls that waited for an identical call in flight instead of going upstream at once. */
    public long coalesced() {
        return coalesced.sum();
    }

    /** Answers stored since start. */
    public long stored() {
        return stored.sum();
    }

    /** Runs pending maintenance (expiry, eviction) now; for tests. */
    void cleanUp() {
        entries.cleanUp();
    }

    /** The key of an answer: who may share it, the endpoint, the normalised body (compared whole). */
    static final class Key {
        final String team;
        final Endpoint endpoint;
        final byte[] body;
        private final int hash;

        Key(String team, Endpoint endpoint, byte[] body) {
            this.team = team;
            this.endpoint = endpoint;
            this.body = body;
            this.hash = (team.hashCode() * 31 + endpoint.hashCode()) * 31 + Arrays.hashCode(body);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && hash == k.hash && endpoint == k.endpoint && team.equals(k.team)
                    && Arrays.equals(body, k.body);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /** A call the cache does not touch. */
    private static final class Skipped implements Lease {
        static final Skipped LEASE = new Skipped();

        @Override
        public void decorate(HttpHeaders responseHeaders) {
            responseHeaders.set(HEADER, SKIP);
        }

        @Override
        public UsageRecord amend(UsageRecord record) {
            return record.withCache(CacheStatus.SKIP);
        }
    }

    /** A call answered from the cache at once. */
    private static final class Hit implements Lease {
        private final CompletableFuture<Answer> answer;

        Hit(Answer answer) {
            this.answer = CompletableFuture.completedFuture(answer);
        }

        @Override
        public CompletableFuture<Answer> answer() {
            return answer;
        }

        @Override
        public void decorate(HttpHeaders responseHeaders) {
            responseHeaders.set(HEADER, HIT);
        }

        @Override
        public UsageRecord amend(UsageRecord record) {
            return record.withCache(CacheStatus.HIT);
        }
    }

    /**
     * A call not found in the cache. It goes upstream and stores what it gets, and, when it is the first of its key
     * ({@code registered}), tells the calls waiting for it. A call that found another in flight ({@code first})
     * waits for it: answered from what that one stored, or upstream on its own when it stored nothing.
     */
    private final class Miss implements Lease {
        private final Key key;
        private final CanonicalRequest request;
        private final Endpoint endpoint;
        private final boolean stream;
        private final CompletableFuture<StoredAnswer> registered;
        private final CompletableFuture<StoredAnswer> first;
        private CompletableFuture<Answer> answer;
        /** Set (before the waiting call resumes) when it was answered from what the first call stored. */
        private volatile boolean servedByFirst;
        private volatile Delivered delivered;
        private boolean ended;

        Miss(Key key, CanonicalRequest request, Endpoint endpoint, boolean stream,
             CompletableFuture<StoredAnswer> registered, CompletableFuture<StoredAnswer> first) {
            this.key = key;
            this.request = request;
            this.endpoint = endpoint;
            this.stream = stream;
            this.registered = registered;
            this.first = first;
        }

        @Override
        public CompletableFuture<Answer> answer() {
            if (first == null) {
                return null;
            }
            if (answer == null) {
                answer = first.handle((stored, error) -> {
                    if (stored == null) {
                        return null;
                    }
                    servedByFirst = true;
                    return stored.answer(stream, request.includeUsage);
                });
            }
            return answer;
        }

        @Override
        public void decorate(HttpHeaders responseHeaders) {
            responseHeaders.set(HEADER, servedByFirst ? HIT : MISS);
        }

        @Override
        public boolean wantsAnswer() {
            return !servedByFirst;
        }

        @Override
        public void answered(Delivered answer) {
            delivered = answer;
        }

        @Override
        public UsageRecord amend(UsageRecord record) {
            return record.withCache(servedByFirst ? CacheStatus.HIT : CacheStatus.MISS);
        }

        @Override
        public void settle(UsageRecord record) {
            if (servedByFirst) {
                end(null);
                return;
            }
            StoredAnswer answer = null;
            try {
                answer = StoredAnswer.of(json, endpoint, record, delivered, request.streamReplayable);
                if (answer != null && answer.weight + key.body.length <= maxEntryBytes) {
                    entries.put(key, answer);
                    stored.increment();
                } else {
                    answer = null;
                }
            } finally {
                end(answer);
            }
        }

        @Override
        public void abort() {
            end(null);
        }

        /** Tells the calls waiting for this one what it stored (nothing: they go upstream), once. */
        private void end(StoredAnswer answer) {
            if (ended) {
                return;
            }
            ended = true;
            delivered = null;
            if (registered != null) {
                inFlight.remove(key, registered);
                registered.complete(answer);
            }
        }
    }
}
