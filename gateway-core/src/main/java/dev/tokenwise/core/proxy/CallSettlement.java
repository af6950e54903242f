package dev.tokenwise.core.proxy;

import dev.tokenwise.core.budget.BudgetBook;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.RecordFlag;
import dev.tokenwise.core.model.ServiceTier;
import dev.tokenwise.core.model.TokenCount;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.AdmissionStage;
import dev.tokenwise.core.spi.ResponseObserver;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The end of one call: reads what the observer learned, prices the call, charges the budgets, settles its admission and
 * hands one {@link UsageRecord} to the accounting core, exactly once ({@link #settle}).
 *
 * <p>It is total: whatever throws on the way (an observer, the counter, pricing, the budget book), the call is still
 * booked once, with what could be known, and its reservation settled, so that no call stays in flight and no client
 * waits for an end that never comes. Usage the provider reports is billed when it can be believed; else the local
 * counts are, scaled by the calibration when they are estimates; a provider that never received the request, refused
 * it or failed before answering is paid nothing.
 *
 * <p>Threading: {@link #settle} runs on the call's event loop. When a local count is not ready yet, the booking
 * finishes on the thread that completes it, reading only the immutable {@link Ended} and this object's final fields.
 */
final class CallSettlement {
    private static final Logger log = LoggerFactory.getLogger(CallSettlement.class);

    private final ProxyContext proxy;
    private final String requestId;
    private final String team;
    private final String keyId;
    private final Endpoint endpoint;
    private final String taskId;
    private final int taskAttempt;
    private final long createdAtMillis;
    /** What admission acquired for the call (stage leases, the reservation); settled with the record. */
    private final Admission admission;
    /** The {@link RecordFlag}s admission decided (stored context, unpriced), added to the record. */
    private final int admissionFlags;
    private boolean settled;

    CallSettlement(ProxyContext proxy, String requestId, String team, String keyId, Endpoint endpoint, String taskId,
                   int taskAttempt, long createdAtMillis, Admission admission, int admissionFlags) {
        this.proxy = proxy;
        this.requestId = requestId;
        this.team = team;
        this.keyId = keyId;
        this.endpoint = endpoint;
        this.taskId = taskId;
        this.taskAttempt = taskAttempt;
        this.createdAtMillis = createdAtMillis;
        this.admission = admission;
        this.admissionFlags = admissionFlags;
    }

    /**
     * What the call knew when it ended, about its last attempt and its client.
     *
     * @param callStatus how the call ended
     * @param httpStatus the status the client got (499 when it left)
     * @param deployment the model last tried, which is billed
     * @param requestedModel the model the client asked for
     * @param attempts upstream attempts over the whole chain
     * @param observer the last attempt's observer; read unless the answer was {@code encoded}
     * @param inputCount the local count of the request, for {@code deployment}'s tokenizer
     * @param flags the {@link RecordFlag}s the call earned
     * @param requestSent the last attempt's request was written upstream
     * @param upstreamStatus the last attempt's HTTP status, {@code 0} when none came
     * @param success that status is a 2xx
     * @param sse the answer was relayed as server-sent events
     * @param encoded the answer had a content encoding and was not read
     * @param partialBody the part of a non-streamed answer that arrived before the call ended early, or {@code null}
     * @param answerBody the whole non-streamed body the client received, when an admission stage wants it, or {@code null}
     */
    record Ended(CallStatus callStatus, int httpStatus, Deployment deployment, String requestedModel, int attempts,
                 ResponseObserver observer, CompletableFuture<TokenCount> inputCount, int flags, boolean requestSent,
                 int upstreamStatus, boolean success, boolean sse, boolean encoded, long latencyMicros,
                 long upstreamMicros, long ttftMicros, String partialBody, byte[] answerBody) {
    }

    /** Whether {@link #settle} was called. */
    boolean settled() {
        return settled;
    }

    /**
     * Books the call once: usage from the provider when it reported any that can be believed, else from the local
     * counts. Total: whatever throws on the way, one record is booked and the reservation settled. Later calls do
     * nothing.
     */
    void settle(Ended ended) {
        if (settled) {
            return;
        }
        settled = true;
        Observed observed = new Observed(null, true, null, ended.flags, null, null, 0);
        try {
            observed = observe(ended);
            String text = observed.outputText;
            CompletableFuture<TokenCount> outputCount = text == null || text.isEmpty()
                    ? CompletableFuture.completedFuture(TokenCount.ZERO)
                    : proxy.counter().countOutput(ended.deployment.model().name(), text);
            Observed o = observed;
            CompletableFuture<TokenCount> inputCount = ended.inputCount;
            if (inputCount.isDone() && outputCount.isDone()) {
                // Both counts were taken on this thread (the usual case): no futures to chain.
                book(ended, o, outputCount, null);
            } else {
                CompletableFuture.allOf(inputCount, outputCount)
                        .whenComplete((done, error) -> book(ended, o, outputCount, error));
            }
        } catch (RuntimeException e) {
            log.error("Could not settle {}; booking it without local counts", requestId, e);
            charge(recordWithoutCounts(ended, observed), null);
        }
    }

    /**
     * What the observer read: the usage (when it can be believed), the finish reason and the text produced (or the
     * part of a body that arrived, when the answer was cut short). A call to the observer that throws counts as an
     * observer error and adds nothing.
     */
    private Observed observe(Ended e) {
        int flags = e.flags;
        TokenUsage reported = null;
        long rejectedPrediction = 0;
        boolean usageFinal = true;
        String finishReason = null;
        String text = null;
        ServiceTier served = null;
        if (!e.encoded) {
            ResponseObserver observer = e.observer;
            try {
                reported = observer.usage();
                if (observer.usageRejected()) {
                    flags |= RecordFlag.USAGE_REJECTED.bit();
                    reported = null;
                }
                rejectedPrediction = reported == null ? 0
                        : Math.min(Math.max(0, observer.rejectedPredictionTokens()), reported.outputTokens());
                usageFinal = observer.usageFinal();
            } catch (RuntimeException x) {
                flags |= observerFailed(e, "read the usage", x);
            }
            try {
                finishReason = observer.finishReason();
            } catch (RuntimeException x) {
                flags |= observerFailed(e, "read the finish reason", x);
            }
            try {
                served = observer.serviceTier();
            } catch (RuntimeException x) {
                flags |= observerFailed(e, "read the service tier", x);
            }
            try {
                text = observer.outputText();
            } catch (RuntimeException x) {
                flags |= observerFailed(e, "read the text", x);
            }
        }
        if (reported != null && !reported.plausible()) {
            log.warn("Provider {} reported impossible usage for {}: {}; billed on the local count",
                    e.deployment.provider().name(), requestId, reported);
            flags |= RecordFlag.USAGE_REJECTED.bit();
            reported = null;
        }
        if ((text == null || text.isEmpty()) && e.partialBody != null) {
            text = e.partialBody;
        }
        return new Observed(reported, usageFinal, finishReason, flags, text, served,
                reported == null ? 0 : rejectedPrediction);
    }

    /** One failure of the observer: counted by the provider's health and logged; returns the flag it earns the record. */
    private int observerFailed(Ended e, String what, RuntimeException x) {
        ProviderHealth health = proxy.health().get(e.deployment.provider().name());
        if (health != null) {
            health.onObserverError();
        }
        log.warn("Could not {} of {} from {}: {}", what, requestId, e.deployment.provider().name(), x.toString());
        return RecordFlag.OBSERVER_ERROR.bit();
    }

    /**
     * Books the record made from the input count and {@code outputCount}, both complete, or, when a count or the
     * record failed, one without local counts. Never throws.
     */
    private void book(Ended e, Observed o, CompletableFuture<TokenCount> outputCount, Throwable error) {
        UsageRecord record = null;
        if (error == null) {
            try {
                record = record(e, o, e.inputCount.join(), outputCount.join());
            } catch (RuntimeException x) {
                error = x;
            }
        }
        if (record == null) {
            log.error("Could not settle {}; booking it without local counts", requestId, error);
            charge(recordWithoutCounts(e, o), null);
            return;
        }
        charge(record, delivered(e, o));
    }

    /** The whole answer the client received, for the admission stages that want it; {@code null} when there is none. */
    private static AdmissionStage.Delivered delivered(Ended e, Observed o) {
        if (e.callStatus != CallStatus.OK || !e.success || e.encoded || RecordFlag.OBSERVER_ERROR.in(o.flags)) {
            return null;
        }
        if (e.sse) {
            return new AdmissionStage.Delivered(true, null, o.outputText);
        }
        return e.answerBody == null ? null : new AdmissionStage.Delivered(false, e.answerBody, null);
    }

    /**
     * What the observer read when the call ended, for the record made once the local counts are in.
     *
     * @param usageFinal {@code reported} is the provider's final figure, not a running one ({@link
     *     ResponseObserver#usageFinal})
     * @param served the service tier the provider says it served ({@link ResponseObserver#serviceTier}), or {@code null}
     */
    private record Observed(TokenUsage reported, boolean usageFinal, String finishReason, int flags, String outputText,
                            ServiceTier served, long rejectedPredictionTokens) {
        /** This reading billing {@code usage}, with {@code more} flags. */
        Observed billing(TokenUsage usage, int more) {
            return new Observed(usage, true, finishReason, flags | more, outputText, served, rejectedPredictionTokens);
        }
    }

    /**
     * The provider's usage, its cost on the tier the provider served and the price version it was charged at, or no
     * usage (and the flag) when it prices beyond a {@code long}.
     */
    private record PricedUsage(TokenUsage usage, long costNanos, int flags, String priceVersion) {
        static PricedUsage of(Observed o, ModelPrice price) {
            if (o.reported == null || price == null) {
                return new PricedUsage(o.reported, 0, o.flags, null);
            }
            try {
                return new PricedUsage(o.reported, price.costNanos(o.reported, o.served), o.flags,
                        price.version(o.reported, o.served));
            } catch (ArithmeticException e) {
                // Over $9.2 billion: no provider bills that for one call.
                return new PricedUsage(null, 0, o.flags | RecordFlag.USAGE_REJECTED.bit(), null);
            }
        }
    }

    private UsageRecord record(Ended e, Observed o, TokenCount in, TokenCount out) {
        ModelPrice price = e.deployment.model().price();
        String model = e.deployment.model().name();
        if (!endpoint.billed()) {
            // A token count: free upstream, so nothing is billed and nothing is taken as the provider's usage.
            return recordOf(e, o).usage(TokenUsage.ZERO).localInputTokens(in.tokens()).localOutputTokens(out.tokens())
                    .localEstimated(in.estimated() || out.estimated()).promptHash(in.contentHash()).flags(o.flags)
                    .build();
        }
        if (o.reported != null && !o.usageFinal) {
            // The answer ended before the provider's final usage: bill what was produced, the larger of its running
            // figure and the local count of what was relayed.
            long relayed = out.estimated() ? proxy.calibration().output(model, out.tokens()) : out.tokens();
            o = o.billing(PartialUsage.billed(o.reported, relayed), RecordFlag.PARTIAL_USAGE.bit());
        }
        PricedUsage priced = PricedUsage.of(o, price);
        int recordFlags = priced.flags();
        if (in.bounded() || out.bounded()) {
            recordFlags |= RecordFlag.COUNT_BOUNDED.bit();
        }
        TokenUsage usage = priced.usage();
        long costNanos = priced.costNanos();
        String priceVersion = priced.priceVersion();
        boolean fromProvider = usage != null;
        if (!fromProvider) {
            if (e.callStatus == CallStatus.UPSTREAM_ERROR || !e.requestSent
                    || e.upstreamStatus == 0 && e.callStatus != CallStatus.CLIENT_CANCELLED) {
                // Providers do not bill rejected requests, requests they never received, nor calls they failed
                // before answering at all. A client that left may still be billed for what the provider began.
                usage = TokenUsage.ZERO;
            } else {
                // Estimates of inexactly tokenized models are scaled by what the provider usually bills.
                long input = in.estimated() ? proxy.calibration().input(model, in.tokens()) : in.tokens();
                long output = out.estimated() ? proxy.calibration().output(model, out.tokens()) : out.tokens();
                usage = TokenUsage.of(input, output);
            }
            costNanos = price == null ? 0 : price.costNanos(usage, o.served);
            priceVersion = price == null ? null : price.version(usage, o.served);
        }
        return recordOf(e, o).usage(usage).usageFromProvider(fromProvider)
                .localInputTokens(in.tokens()).localOutputTokens(out.tokens())
                .localEstimated(in.estimated() || out.estimated()).costNanos(costNanos).promptHash(in.contentHash())
                .flags(recordFlags).priceVersion(priceVersion).requestFeatures(in.features())
                .inputTextBytes(in.textBytes()).rejectedPredictionTokens(fromProvider ? o.rejectedPredictionTokens : 0)
                .promptCacheSavedNanos(price == null ? 0 : price.promptCacheSavedNanos(usage, o.served))
                .promptPrefixHash(in.prefixHash())
                .build();
    }

    /** A record of this call as it ended: who, what, how it ended and how long it took. */
    private UsageRecord.Builder recordOf(Ended e, Observed o) {
        return UsageRecord.builder().id(requestId).team(team).keyId(keyId).model(e.deployment.model().name())
                .provider(e.deployment.provider().name()).endpoint(endpoint).stream(e.sse).status(e.callStatus)
                .httpStatus(e.httpStatus).taskId(taskId).taskAttempt(taskAttempt).finishReason(o.finishReason)
                .createdAtMillis(createdAtMillis).latencyMicros(e.latencyMicros).upstreamLatencyMicros(e.upstreamMicros)
                .ttftMicros(e.ttftMicros).requestedModel(e.requestedModel).attempts(e.attempts)
                .instance(proxy.config().cluster().instanceId());
    }

    /**
     * The record of a call whose local counts could not all be had: the provider's usage when it can be priced, else
     * none, and what the input count told when it was taken (the prompt's hashes, features and size), so that the
     * record of a call that went wrong still says what was asked.
     */
    private UsageRecord recordWithoutCounts(Ended e, Observed o) {
        ModelPrice price = e.deployment.model().price();
        PricedUsage priced = PricedUsage.of(o, price);
        TokenUsage usage = priced.usage();
        UsageRecord.Builder record = recordOf(e, o).usage(usage == null ? TokenUsage.ZERO : usage)
                .usageFromProvider(usage != null).localEstimated(true).costNanos(priced.costNanos())
                .flags(priced.flags()).priceVersion(priced.priceVersion())
                .promptCacheSavedNanos(usage == null || price == null ? 0 : price.promptCacheSavedNanos(usage, o.served));
        CompletableFuture<TokenCount> inputCount = e.inputCount;
        TokenCount in = inputCount.isDone() && !inputCount.isCompletedExceptionally() ? inputCount.getNow(null) : null;
        if (in != null) {
            record.localInputTokens(in.tokens()).promptHash(in.contentHash()).promptPrefixHash(in.prefixHash())
                    .requestFeatures(in.features()).inputTextBytes(in.textBytes());
        }
        return record.build();
    }

    /**
     * Settles the reservation (or charges the budgets), settles the admission stages (handing them {@code delivered},
     * the answer the client received, when there is one) and hands the record to the accounting core, whatever fails.
     */
    private void charge(UsageRecord record, AdmissionStage.Delivered delivered) {
        BudgetBook.Reservation reservation = admission.reservation();
        int flags = admissionFlags;
        if (reservation != null && record.costNanos() > reservation.reservedNanos()) {
            flags |= RecordFlag.RESERVATION_EXCEEDED.bit(); // settled all the same: the provider billed it
        }
        record = record.withFlags(flags);
        try {
            if (reservation != null) {
                proxy.budgets().settle(reservation, record.costNanos());
            } else {
                proxy.budgets().charge(team, keyId, record.costNanos());
            }
        } catch (RuntimeException e) {
            log.error("Could not charge the budgets for {}", requestId, e);
        } finally {
            UsageRecord booked = record;
            try {
                booked = admission.settle(record, delivered);
            } finally {
                proxy.accounting().settle(booked);
            }
        }
    }
}
