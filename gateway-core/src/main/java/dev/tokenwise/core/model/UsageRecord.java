package dev.tokenwise.core.model;

/**
 * One finished call: what was asked, what the provider billed, what the gateway counted, what it cost.
 * Immutable; produced exactly once per call when the call settles.
 *
 * @param id the request id (also in the {@code X-Request-Id} response header)
 * @param team the team that paid
 * @param keyId the id of the virtual key used (never the key itself)
 * @param model the client-facing model id
 * @param provider the provider name that served the call
 * @param endpoint the endpoint called
 * @param stream whether the response was streamed
 * @param status how the call ended
 * @param httpStatus the status the client received
 * @param usage the billed usage: provider-reported, or the local count when the provider reported none
 * @param usageFromProvider {@code true} when {@code usage} came from the provider
 * @param localInputTokens tokens the gateway counted in the request
 * @param localOutputTokens tokens the gateway counted in the response text
 * @param localEstimated {@code true} when the local count is an estimate (no exact tokenizer, or non-text parts)
 * @param costNanos the cost in nano-USD
 * @param taskId the client's {@code X-Task-Id}, or {@code null}
 * @param taskAttempt the client's {@code X-Task-Attempt}, {@code 0} when absent
 * @param finishReason the provider's finish reason, or {@code null}
 * @param createdAtMillis when the request arrived (epoch milliseconds)
 * @param latencyMicros from request arrival to the last byte written to the client
 * @param upstreamLatencyMicros from the upstream request written to the last upstream byte
 * @param ttftMicros from request arrival to the first response byte written (streams), {@code 0} if none
 * @param promptHash the {@link TokenCount#contentHash} of the request's prompt, {@code 0} when unknown
 * @param requestedModel the model the client asked for; differs from {@code model} when a fallback answered
 * @param attempts upstream attempts the gateway made for this call (1 when the first one answered)
 * @param flags the {@link RecordFlag}s of the call, as a bitset ({@code 0} for a call billed the ordinary way)
 * @param priceVersion the {@link ModelPrice#version price version} the call was charged at (the price's id, the
 *     service tier and the input-size tier applied, e.g. {@code 3fa2c1d0.flex}); {@code null} for a model without a
 *     price, and for records written before versions were kept
 * @param requestFeatures the {@link RequestFeature}s of the request, as a bitset (what the local input count had
 *     to account for besides plain text), {@code 0} when unknown
 * @param inputTextBytes the UTF-8 bytes of the prompt text the gateway tokenized ({@link TokenCount#textBytes}),
 *     {@code 0} when unknown
 * @param rejectedPredictionTokens output tokens the provider billed for a predicted output it did not use
 *     ({@code completion_tokens_details.rejected_prediction_tokens}; part of the billed output, never in the
 *     answer's text)
 * @param cache what the exact response cache did with the call, {@code null} when no cache is in use
 * @param savedNanos for a {@link CacheStatus#HIT}: what the call whose answer was served cost, in nano-USD (the hit
 *     itself costs 0); {@code 0} otherwise
 * @param promptCacheSavedNanos what the provider's prompt cache saved on this call: cached input tokens times the
 *     difference between the input and the cached-input rate it was charged at, in nano-USD
 *     ({@link ModelPrice#promptCacheSavedNanos(TokenUsage, ServiceTier)})
 * @param promptPrefixHash a hash of the first bytes of the prompt's text ({@link TokenCount#prefixHash}), {@code 0}
 *     when the prompt is shorter or it was not computed; read by analytics while the record is delivered, not stored
 * @param route the efficiency route the client called (then {@code requestedModel} is the route too, and {@code model}
 *     the candidate that answered), {@code null} for a call to a model
 * @param routeReason why the route chose its candidate: {@code exploit} or {@code explore}; {@code null} without a route
 * @param instance the {@code instance_id} of the gateway instance that served the call; {@code null} for records
 *     written before instances were kept
 */
public record UsageRecord(String id, String team, String keyId, String model, String provider, Endpoint endpoint,
                          boolean stream, CallStatus status, int httpStatus, TokenUsage usage,
                          boolean usageFromProvider, long localInputTokens, long localOutputTokens,
                          boolean localEstimated, long costNanos, String taskId, int taskAttempt,
                          String finishReason, long createdAtMillis, long latencyMicros,
                          long upstreamLatencyMicros, long ttftMicros, long promptHash, String requestedModel,
                          int attempts, int flags, String priceVersion, int requestFeatures, long inputTextBytes,
                          long rejectedPredictionTokens, CacheStatus cache, long savedNanos, long promptCacheSavedNanos,
                          long promptPrefixHash, String route, String routeReason, String instance) {

    public UsageRecord {
        if (requestedModel == null) {
            requestedModel = model;
        }
        attempts = Math.max(1, attempts);
        if (inputTextBytes < 0) {
            throw new IllegalArgumentException("inputTextBytes: " + inputTextBytes + " (expected: >= 0)");
        }
        if (rejectedPredictionTokens < 0) {
            throw new IllegalArgumentException("rejectedPredictionTokens: " + rejectedPredictionTokens
                    + " (expected: >= 0)");
        }
        if (savedNanos < 0 || promptCacheSavedNanos < 0) {
            throw new IllegalArgumentException("savedNanos: " + savedNanos + ", promptCacheSavedNanos: "
                    + promptCacheSavedNanos + " (expected: >= 0)");
        }
    }





    /** This record with {@code more} flags added to its own. */
    public UsageRecord withFlags(int more) {
        if ((flags | more) == flags) {
            return this;
        }
        return toBuilder().flags(flags | more).build();
    }

    /** This record with {@code status} as what the response cache did with it. */
    public UsageRecord withCache(CacheStatus status) {
        if (status == cache) {
            return this;
        }
        return toBuilder().cache(status).build();
    }

    /** {@code true} when the call was answered from the response cache. */
    public boolean cacheHit() {
        return cache == CacheStatus.HIT;
    }

    /** {@code true} when the request had {@code feature}. */
    public boolean has(RequestFeature feature) {
        return feature.in(requestFeatures);
    }

    /** {@code true} when the record carries {@code flag}. */
    public boolean has(RecordFlag flag) {
        return flag.in(flags);
    }


    /** {@code true} when the gateway retried or fell back for this call. */
    public boolean gatewayRetried() {
        return attempts > 1;
    }


    /** A builder for a record: stages add what they learn, {@link Builder#build} freezes it once. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this record's values, to make a changed copy. */
    public Builder toBuilder() {
        Builder b = new Builder();
            b.id = id;
            b.team = team;
            b.keyId = keyId;
            b.model = model;
            b.provider = provider;
            b.endpoint = endpoint;
            b.stream = stream;
            b.status = status;
            b.httpStatus = httpStatus;
            b.usage = usage;
            b.usageFromProvider = usageFromProvider;
            b.localInputTokens = localInputTokens;
            b.localOutputTokens = localOutputTokens;
            b.localEstimated = localEstimated;
            b.costNanos = costNanos;
            b.taskId = taskId;
            b.taskAttempt = taskAttempt;
            b.finishReason = finishReason;
            b.createdAtMillis = createdAtMillis;
            b.latencyMicros = latencyMicros;
            b.upstreamLatencyMicros = upstreamLatencyMicros;
            b.ttftMicros = ttftMicros;
            b.promptHash = promptHash;
            b.requestedModel = requestedModel;
            b.attempts = attempts;
            b.flags = flags;
            b.priceVersion = priceVersion;
            b.requestFeatures = requestFeatures;
            b.inputTextBytes = inputTextBytes;
            b.rejectedPredictionTokens = rejectedPredictionTokens;
            b.cache = cache;
            b.savedNanos = savedNanos;
            b.promptCacheSavedNanos = promptCacheSavedNanos;
            b.promptPrefixHash = promptPrefixHash;
            b.route = route;
            b.routeReason = routeReason;
            b.instance = instance;
        return b;
    }

    /**
     * Accumulates a record's values by name; unset values are {@code null}, {@code false} or {@code 0} (attempts: 1,
     * requested model: the model). Not thread-safe; {@link #build} validates and freezes.
     */
    public static final class Builder {
        private String id;
        private String team;
        private String keyId;
        private String model;
        private String provider;
        private Endpoint endpoint;
        private boolean stream;
        private CallStatus status;
        private int httpStatus;
        private TokenUsage usage;
        private boolean usageFromProvider;
        private long localInputTokens;
        private long localOutputTokens;
        private boolean localEstimated;
        private long costNanos;
        private String taskId;
        private int taskAttempt;
        private String finishReason;
        private long createdAtMillis;
        private long latencyMicros;
        private long upstreamLatencyMicros;
        private long ttftMicros;
        private long promptHash;
        private String requestedModel;
        private int attempts = 1;
        private int flags;
        private String priceVersion;
        private int requestFeatures;
        private long inputTextBytes;
        private long rejectedPredictionTokens;
        private CacheStatus cache;
        private long savedNanos;
        private long promptCacheSavedNanos;
        private long promptPrefixHash;
        private String route;
        private String routeReason;
        private String instance;

        private Builder() {
        }

        public Builder id(String id) {
            this.id = id;
            return this;
        }

        public Builder team(String team) {
            this.team = team;
            return this;
        }

        public Builder keyId(String keyId) {
            this.keyId = keyId;
            return this;
        }

        public Builder model(String model) {
            this.model = model;
            return this;
        }

        public Builder provider(String provider) {
            this.provider = provider;
            return this;
        }

        public Builder endpoint(Endpoint endpoint) {
            this.endpoint = endpoint;
            return this;
        }

        public Builder stream(boolean stream) {
            this.stream = stream;
            return this;
        }

        public Builder status(CallStatus status) {
            this.status = status;
            return this;
        }

        public Builder httpStatus(int httpStatus) {
            this.httpStatus = httpStatus;
            return this;
        }

        public Builder usage(TokenUsage usage) {
            this.usage = usage;
            return this;
        }

        public Builder usageFromProvider(boolean usageFromProvider) {
            this.usageFromProvider = usageFromProvider;
            return this;
        }

        public Builder localInputTokens(long localInputTokens) {
            this.localInputTokens = localInputTokens;
            return this;
        }

        public Builder localOutputTokens(long localOutputTokens) {
            this.localOutputTokens = localOutputTokens;
            return this;
        }

        public Builder localEstimated(boolean localEstimated) {
            this.localEstimated = localEstimated;
            return this;
        }

        public Builder costNanos(long costNanos) {
            this.costNanos = costNanos;
            return this;
        }

        public Builder taskId(String taskId) {
            this.taskId = taskId;
            return this;
        }

        public Builder taskAttempt(int taskAttempt) {
            this.taskAttempt = taskAttempt;
            return this;
        }

        public Builder finishReason(String finishReason) {
            this.finishReason = finishReason;
            return this;
        }

        public Builder createdAtMillis(long createdAtMillis) {
            this.createdAtMillis = createdAtMillis;
            return this;
        }

        public Builder latencyMicros(long latencyMicros) {
            this.latencyMicros = latencyMicros;
            return this;
        }

        public Builder upstreamLatencyMicros(long upstreamLatencyMicros) {
            this.upstreamLatencyMicros = upstreamLatencyMicros;
            return this;
        }

        public Builder ttftMicros(long ttftMicros) {
            this.ttftMicros = ttftMicros;
            return this;
        }

        public Builder promptHash(long promptHash) {
            this.promptHash = promptHash;
            return this;
        }

        public Builder requestedModel(String requestedModel) {
            this.requestedModel = requestedModel;
            return this;
        }

        public Builder attempts(int attempts) {
            this.attempts = attempts;
            return this;
        }

        public Builder flags(int flags) {
            this.flags = flags;
            return this;
        }

        public Builder priceVersion(String priceVersion) {
            this.priceVersion = priceVersion;
            return this;
        }

        public Builder requestFeatures(int requestFeatures) {
            this.requestFeatures = requestFeatures;
            return this;
        }

        public Builder inputTextBytes(long inputTextBytes) {
            this.inputTextBytes = inputTextBytes;
            return this;
        }

        public Builder rejectedPredictionTokens(long rejectedPredictionTokens) {
            this.rejectedPredictionTokens = rejectedPredictionTokens;
            return this;
        }

        public Builder cache(CacheStatus cache) {
            this.cache = cache;
            return this;
        }

        public Builder savedNanos(long savedNanos) {
            this.savedNanos = savedNanos;
            return this;
        }

        public Builder promptCacheSavedNanos(long promptCacheSavedNanos) {
            this.promptCacheSavedNanos = promptCacheSavedNanos;
            return this;
        }

        public Builder promptPrefixHash(long promptPrefixHash) {
            this.promptPrefixHash = promptPrefixHash;
            return this;
        }

        public Builder route(String route) {
            this.route = route;
            return this;
        }

        public Builder routeReason(String routeReason) {
            this.routeReason = routeReason;
            return this;
        }

        public Builder instance(String instance) {
            this.instance = instance;
            return this;
        }

        public UsageRecord build() {
            return new UsageRecord(id, team, keyId, model, provider, endpoint, stream, status, httpStatus, usage, usageFromProvider, localInputTokens, localOutputTokens, localEstimated, costNanos, taskId, taskAttempt, finishReason, createdAtMillis, latencyMicros, upstreamLatencyMicros, ttftMicros, promptHash, requestedModel, attempts, flags, priceVersion, requestFeatures, inputTextBytes, rejectedPredictionTokens, cache, savedNanos, promptCacheSavedNanos, promptPrefixHash, route, routeReason, instance);
        }
    }
}
