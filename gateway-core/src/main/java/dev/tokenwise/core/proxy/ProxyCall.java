package dev.tokenwise.core.proxy;

import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.RecordFlag;
import dev.tokenwise.core.model.TokenCount;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.ResponseObserver;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.nio.channels.ClosedChannelException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One proxied call, from the accepted request to its settlement. Lives on the client channel's event
 * loop; every method runs there.
 *
 * <p>Buffer ownership: the call owns the upstream request until it ends (each attempt writes a retained duplicate;
 * the call's own reference is released when it ends). Response content handed in by {@link UpstreamBackendHandler}
 * is owned by the call: released here while an error answer is drained for a retry, else handed to the
 * {@link AnswerRelay}, which forwards or releases it.
 *
 * <p>The call has four parts besides itself: its {@link CallPolicy} decides where each attempt goes (retries,
 * backoff, fallbacks, breakers); one {@link UpstreamExchange} per attempt carries it out (acquire a connection, write,
 * time limits, release); its {@link AnswerRelay} relays the answer (client writes, backpressure, translation, body
 * capture, the held tail); its {@link CallSettlement} books it exactly once, on completion, upstream failure, timeout
 * or client disconnect, with one {@link UsageRecord}, whatever throws on the way. The call itself keeps the call's
 * life: its {@link Phase}, what each answer's status means for the policy, the end of the response and its timing.
 *
 * <p>What a provider says is not trusted blindly: usage it cannot have meant is billed on the local count
 * ({@link RecordFlag#USAGE_REJECTED}), an answer that is not valid HTTP is a 502, an error answer is held whole and
 * relayed without our key or its address ({@link ErrorBodyRedactor}), and the gateway's own messages name the
 * provider by its configured name only.
 */
final class ProxyCall {
    private static final Logger log = LoggerFactory.getLogger(ProxyCall.class);
    /** Longest a strict-sync response waits for its record to be committed. */
    private static final long STRICT_WAIT_SECONDS = 30;

    private final ProxyContext proxy;
    private final ClientFrontendHandler frontend;
    private final ChannelHandlerContext client;
    private final String requestId;
    private final long startNanos;
    /** Where each attempt goes (the model asked for, then its fallbacks), and when to retry or give up. */
    private final CallPolicy policy;
    private final UpstreamRequests fallbackRequests;
    /** The deployment being tried: {@link CallPolicy#deployment()}, built into {@link #upstreamRequest}. */
    private Deployment deployment;
    /** What follows the answer being drained: {@link CallPolicy.Step#WAIT} (a retry) or {@link CallPolicy.Step#FALL_BACK}. */
    private CallPolicy.Step recoveryAfterDiscard;
    private final boolean stream;
    private final Endpoint endpoint;
    private final boolean keepAlive;
    /** The request's local count; counted again with a fallback's tokenizer when a fallback is tried. */
    private CompletableFuture<TokenCount> inputCount;
    private ResponseObserver observer;
    /** The request's bytes (see {@link UpstreamRequests}). */
    private ByteBuf upstreamRequest;
    /** What admission acquired for the call: its headers decorate the answer; settled with the record. */
    private final Admission admission;

    /** The current (or last) attempt: its connection, its time limits and their one release. */
    private UpstreamExchange exchange;
    private boolean retried;
    private long upstreamStartNanos;
    private long upstreamEndNanos;
    private long firstByteNanos;
    private boolean requestSent;
    private int status;
    private boolean success;
    /** Relays the answer that reaches the client: head, body, events, backpressure, the held tail. */
    private final AnswerRelay relay;
    /** The {@link RecordFlag} bits the call has earned so far. */
    private int flags;
    /** Where the call is: its attempts, draining an answer to retry, relaying, or ended. */
    private Phase phase = Phase.ATTEMPTING;
    /** Prices, charges and books the call once, when it ends. */
    private final CallSettlement settlement;

    ProxyCall(ProxyContext proxy, ClientFrontendHandler frontend, ChannelHandlerContext client, String requestId,
              long startNanos, long createdAtMillis, String team, String keyId, List<Deployment> chain,
              UpstreamRequests fallbackRequests, Endpoint endpoint, boolean keepAlive, String taskId, int taskAttempt,
              CompletableFuture<TokenCount> inputCount, ProviderAdapter.Rewrite rewrite, boolean stream,
              ByteBuf upstreamRequest, Admission admission, int admissionFlags) {
        this.proxy = proxy;
        this.frontend = frontend;
        this.client = client;
        this.requestId = requestId;
        this.startNanos = startNanos;
        this.policy = new CallPolicy(chain, proxy.health(), proxy.config().rateLimits().upstreamMaxWait().toNanos());
        this.fallbackRequests = fallbackRequests;
        this.deployment = policy.deployment();
        this.stream = stream;
        this.endpoint = endpoint;
        this.keepAlive = keepAlive;
        this.inputCount = inputCount;
        this.observer = deployment.adapter().observer(endpoint, stream, rewrite);
        this.upstreamRequest = upstreamRequest;
        this.admission = admission;
        this.relay = new AnswerRelay(this, client, requestId, endpoint, keepAlive, admission);
        this.settlement = new CallSettlement(proxy, requestId, team, keyId, endpoint, taskId, taskAttempt,
                createdAtMillis, admission, admissionFlags);
    }

    String requestId() {
        return requestId;
    }

    /** Connects (or reuses a connection) and sends the request upstream. */
    void start() {
        attempt();
    }

    /** {@link #start} threw: the call ends as a gateway failure before any response, booked and released once. */
    void failToStart(RuntimeException cause) {
        log.error("Call {} failed to start", requestId, cause);
        failBeforeResponse(CallStatus.UPSTREAM_UNREACHABLE, ErrorType.INTERNAL, "internal error");
    }

    /** One attempt on the current deployment, unless {@link CallPolicy#beforeAttempt} sends the call elsewhere. */
    private void attempt() {
        if (phase == Phase.ENDED) {
            return;
        }
        CallPolicy.Step step = policy.beforeAttempt();
        switch (step) {
            case GO -> {
                resetAttemptState();
                acquireAndSend(false);
            }
            case WAIT -> client.executor().schedule(this::attempt, policy.delayNanos(), TimeUnit.NANOSECONDS);
            case FALL_BACK -> {
                Deployment refused = deployment;
                ProviderHealth refusedHealth = policy.health();
                if (nextDeployment()) {
                    attempt();
                } else {
                    refuse(policy.refusal(), refused, refusedHealth); // no fallback could take the request
                }
            }
            default -> refuse(step, deployment, policy.health());
        }
    }

    /**
     * Ends the call before any attempt could go: the breaker of {@code deployment}'s provider is open, or its announced
     * hold too long ({@code why}).
     */
    private void refuse(CallPolicy.Step why, Deployment deployment, ProviderHealth health) {
        if (why == CallPolicy.Step.REFUSE_HELD) {
            long heldNanos = policy.delayNanos();
            long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(heldNanos + TimeUnit.SECONDS.toNanos(1) - 1));
            failBeforeResponse(CallStatus.UPSTREAM_UNREACHABLE, ErrorType.RATE_LIMITED, "provider "
                    + deployment.provider().name() + " announced that its rate limit is reached; it resets in " + seconds
                    + " s", seconds);
            return;
        }
        failBeforeResponse(CallStatus.UPSTREAM_UNREACHABLE, ErrorType.UNAVAILABLE, "provider "
                + deployment.provider().name() + " is unavailable: its circuit breaker is open after "
                + health.consecutiveFailures() + " consecutive failures (next probe in " + health.retryInMillis()
                + " ms)");
    }

    private void resetAttemptState() {
        requestSent = false;
        retried = false;
        status = 0;
        success = false;
    }

    /**
     * After a failure before anything reached the client: what {@link CallPolicy#afterFailure} decides ({@link
     * CallPolicy.Step#WAIT} for a retry, {@link CallPolicy.Step#FALL_BACK} or {@link CallPolicy.Step#GIVE_UP}).
     */
    private CallPolicy.Step planRecovery(long retryAfterMillis) {
        CallPolicy.Step step = policy.afterFailure(retryAfterMillis);
        if (step == CallPolicy.Step.WAIT) {
            log.info("Retrying {} on provider {} in {} ms (attempt {} of {})", requestId, deployment.provider().name(),
                    TimeUnit.NANOSECONDS.toMillis(policy.delayNanos()), policy.attemptsOnDeployment() + 1,
                    policy.health().resilience().maxRetries() + 1);
        }
        return step;
    }

    /**
     * Carries out a recovery {@link #planRecovery} planned: the retry, or the next fallback that can take the request.
     * {@code false} when no fallback could: the caller ends the call.
     */
    private boolean recover(CallPolicy.Step step) {
        if (step == CallPolicy.Step.WAIT) {
            client.executor().schedule(this::attempt, policy.delayNanos(), TimeUnit.NANOSECONDS);
            return true;
        }
        if (nextDeployment()) {
            attempt();
            return true;
        }
        return false;
    }

    /**
     * Moves to the next model of the chain that can take the request, with the request built for it; {@code false}
     * when there is none.
     */
    private boolean nextDeployment() {
        if (fallbackRequests == null) {
            return false;
        }
        Deployment from = deployment;
        for (Deployment next = policy.advance(); next != null; next = policy.advance()) {
            UpstreamRequests.Built built;
            try {
                built = fallbackRequests.forFallback(next, client.alloc());
            } catch (RuntimeException e) {
                // This fallback cannot take the request (e.g. its translation refuses a field): try the next one.
                log.info("Fallback {} cannot serve {}: {}", next.model().name(), requestId, e.getMessage());
                continue;
            }
            deployment = next;
            ReferenceCountUtil.release(upstreamRequest);
            upstreamRequest = built.request();
            observer = deployment.adapter().observer(endpoint, stream, built.rewrite());
            inputCount = fallbackRequests.recount(deployment.model().name(), inputCount, proxy.counter());
            log.info("Falling back from {} to {} for {}", from.model().name(), deployment.model().name(), requestId);
            return true;
        }
        return false;
    }

    /** A new {@link UpstreamExchange} for this attempt ({@code fresh}: on a new connection, never a pooled one). */
    private void acquireAndSend(boolean fresh) {
        exchange = new UpstreamExchange(this, proxy, client, deployment, requestId);
        exchange.open(upstreamRequest, fresh);
    }

    /** Whether the call ended: what its exchange still hears of is then dropped. */
    boolean ended() {
        return phase == Phase.ENDED;
    }

    /** The exchange has its connection, bound to this call, at {@code nanos}; its request is being written. */
    void onConnected(long nanos) {
        upstreamStartNanos = nanos;
    }

    /** The request reached the provider's socket. */
    void onRequestWritten() {
        requestSent = true;
    }

    /** Whether the provider has sent nothing of an answer yet: its first-byte timeout applies, not the read timeout. */
    boolean awaitingFirstByte() {
        return firstByteNanos == 0 && phase != Phase.RELAYING && status == 0;
    }

    /** The exchange could not get a connection: retry or fall back as the policy says, or fail. */
    void onAcquireFailed(Throwable cause) {
        log.warn("Upstream {} unreachable for {}: {}", deployment.provider().name(), requestId, cause.toString());
        policy.health().onFailure();
        CallPolicy.Step recovery = planRecovery(0);
        if (recovery != CallPolicy.Step.GIVE_UP && recover(recovery)) {
            return;
        }
        failBeforeResponse(CallStatus.UPSTREAM_UNREACHABLE, ErrorType.UPSTREAM_FAILED,
                "could not reach provider " + deployment.provider().name() + ": " + ErrorBodyRedactor.reason(cause));
    }

    /** The exchange gave up on a silent or too slow provider ({@code why}); its connection is closed. */
    void onUpstreamTimeout(String why) {
        if (phase != Phase.RELAYING) {
            failBeforeResponse(CallStatus.UPSTREAM_TIMEOUT, ErrorType.UPSTREAM_TIMEOUT,
                    "provider " + deployment.provider().name() + " " + why);
        } else {
            abortStream(CallStatus.UPSTREAM_TIMEOUT);
        }
    }

    void onResponseHead(HttpResponse head) {
        if (phase == Phase.ENDED) {
            return;
        }
        if (head.decoderResult().isFailure()) {
            refuseMalformedAnswer(head.decoderResult().cause());
            return;
        }
        exchange.touch();
        status = head.status().code();
        success = status >= 200 && status < 300;
        exchange.answerHead(HttpUtil.isKeepAlive(head));
        if (success) {
            policy.health().onSuccess();
        } else if (status >= 500) {
            policy.health().onFailure();
        }
        policy.health().holdFor(UpstreamLimits.holdNanos(status, head.headers(), System.currentTimeMillis()));
        if (status == 429 || status >= 500) {
            CallPolicy.Step recovery = planRecovery(UpstreamLimits.retryAfterMillis(head.headers()));
            if (recovery != CallPolicy.Step.GIVE_UP) {
                // Nothing has reached the client: drain this answer, then retry or fall back.
                log.warn("Provider {} answered {} to {}", deployment.provider().name(), status, requestId);
                phase = Phase.DISCARDING;
                recoveryAfterDiscard = recovery;
                return;
            }
        }
        boolean relaying = relay.head(head, status, deployment, observer);
        if (relay.encoded() && success) {
            flags |= RecordFlag.UPSTREAM_ENCODED.bit();
        }
        if (relaying) {
            phase = Phase.RELAYING;
        }
    }

    /** The upstream's answer is not HTTP (or its head was cut short): the client gets a 502, the provider is not paid. */
    private void refuseMalformedAnswer(Throwable cause) {
        boolean cutShort = cause instanceof PrematureChannelClosureException;
        log.warn("Provider {} sent {} an answer that is not valid HTTP: {}", deployment.provider().name(), requestId,
                cause == null ? "?" : cause.toString());
        policy.health().onFailure();
        failBeforeResponse(cutShort ? CallStatus.UPSTREAM_RESET : CallStatus.UPSTREAM_ERROR, ErrorType.UPSTREAM_FAILED,
                "provider " + deployment.provider().name() + (cutShort ? " closed the connection inside its answer's head"
                        : " sent an answer that is not valid HTTP"));
    }

    /** The answer's body turned out malformed (a bad chunk): the call ends as a reset, the connection is not reused. */
    private void answerBroken(Throwable cause) {
        log.warn("Provider {} broke off its answer to {}: {}", deployment.provider().name(), requestId,
                cause == null ? "?" : cause.toString());
        exchange.close();
        if (phase != Phase.RELAYING) {
            policy.health().onFailure();
            failBeforeResponse(CallStatus.UPSTREAM_RESET, ErrorType.UPSTREAM_FAILED,
                    "provider " + deployment.provider().name() + " broke off its answer");
        } else {
            abortStream(CallStatus.UPSTREAM_RESET);
        }
    }

    void onResponseContent(HttpContent content) {
        if (phase == Phase.ENDED) {
            content.release();
            return;
        }
        if (phase == Phase.DISCARDING) {
            boolean end = content instanceof LastHttpContent;
            if (content.decoderResult().isFailure()) {
                exchange.outOfStep(); // never pooled
            }
            content.release();
            if (end) {
                phase = Phase.ATTEMPTING;
                exchange.releaseAfterAnswer();
                recoverAfterDiscard();
            }
            return;
        }
        if (content.decoderResult().isFailure()) {
            content.release();
            answerBroken(content.decoderResult().cause());
            return;
        }
        long now = exchange.touch();
        if (firstByteNanos == 0 && content.content().isReadable()) {
            firstByteNanos = now;
        }
        boolean last = content instanceof LastHttpContent;
        relay.content(content, last, exchange);
        if (last) {
            finishResponse();
        }
    }

    private void finishResponse() {
        upstreamEndNanos = System.nanoTime();
        phase = Phase.ENDED;
        relay.finish();
        releaseBuffers();
        exchange.releaseAfterAnswer();
        CallStatus callStatus = success ? afterStreamError(CallStatus.OK) : CallStatus.UPSTREAM_ERROR;
        if (proxy.durability() == null) {
            client.writeAndFlush(relay.end()).addListener(f -> {
                try {
                    settle(f.isSuccess() ? callStatus : CallStatus.CLIENT_CANCELLED, status);
                } finally {
                    endExchange(f.isSuccess());
                }
            });
            return;
        }
        // Strict: book the call first, and complete the response once its record is durable.
        client.flush();
        CompletableFuture<Void> durable = proxy.durability().whenDurable(requestId);
        settle(callStatus, status);
        durable.orTimeout(STRICT_WAIT_SECONDS, TimeUnit.SECONDS).whenComplete((ok, error) -> client.executor().execute(() -> {
            if (error != null) {
                log.error("Record of {} not durable after {} s; completing the response anyway", requestId,
                        STRICT_WAIT_SECONDS);
            }
            client.writeAndFlush(relay.end()).addListener(f -> endExchange(f.isSuccess()));
        }));
    }

    private void endExchange(boolean written) {
        if (!keepAlive || !written) {
            client.close();
        } else {
            frontend.callFinished(this);
        }
    }

    /** The error answer that was drained is gone: retry or fall back as planned, or fail when no fallback can serve. */
    private void recoverAfterDiscard() {
        CallPolicy.Step recovery = recoveryAfterDiscard;
        recoveryAfterDiscard = null;
        if (!recover(recovery)) {
            failBeforeResponse(CallStatus.UPSTREAM_ERROR, ErrorType.UPSTREAM_FAILED, "provider "
                    + deployment.provider().name() + " answered " + status + " and no fallback could take the request");
        }
    }

    /** The upstream read batch ended: send what was relayed. */
    void onUpstreamReadComplete() {
        if (phase != Phase.ENDED) {
            relay.flush();
        }
    }

    /**
     * The upstream connection closed or failed while this call was bound to it.
     *
     * @param answerBegan whether the connection delivered any byte of an answer: then the provider has the request
     *     and may have done the work, so it is never sent again
     */
    void onUpstreamClosed(Throwable cause, boolean answerBegan) {
        if (phase == Phase.ENDED) {
            return;
        }
        exchange.close();
        if (phase == Phase.DISCARDING) {
            // The error answer we were draining was cut short: recover as planned.
            phase = Phase.ATTEMPTING;
            recoverAfterDiscard();
            return;
        }
        if (phase != Phase.RELAYING && status == 0 && !retried && exchange.reused() && !answerBegan) {
            // A keep-alive connection the server closed as we reused it: try once on a fresh one.
            retried = true;
            log.debug("Reused upstream connection closed before answering {}; retrying on a new one", requestId);
            policy.reconnected();
            acquireAndSend(true);
            return;
        }
        if (phase != Phase.RELAYING) {
            log.warn("Provider {} closed the connection of {} before its answer was relayed: {}",
                    deployment.provider().name(), requestId, cause == null ? "connection closed" : describe(cause));
            policy.health().onFailure();
            failBeforeResponse(requestSent || answerBegan ? CallStatus.UPSTREAM_RESET : CallStatus.UPSTREAM_UNREACHABLE,
                    ErrorType.UPSTREAM_FAILED, "provider " + deployment.provider().name()
                            + (status == 0 ? " failed before answering: " : " broke off its answer: ")
                            + (cause == null ? "connection closed" : ErrorBodyRedactor.reason(cause)));
        } else {
            log.warn("Provider {} dropped {} mid-response: {}", deployment.provider().name(), requestId,
                    cause == null ? "connection closed" : describe(cause));
            abortStream(CallStatus.UPSTREAM_RESET);
        }
    }

    /** The client went away: cancel upstream at once and settle for what was produced. */
    void onClientClosed() {
        relay.releaseTail();
        if (phase == Phase.ENDED) {
            return;
        }
        phase = Phase.ENDED;
        closeUpstream();
        relay.keepPartialBody();
        releaseBuffers();
        settle(CallStatus.CLIENT_CANCELLED, 499);
    }

    void onClientWritable() {
        relay.clientWritable(exchange);
    }

    private void failBeforeResponse(CallStatus callStatus, ErrorType type, String message) {
        failBeforeResponse(callStatus, type, message, 0);
    }

    /** As above, telling the client to retry after {@code retryAfterSeconds} when that is positive. */
    private void failBeforeResponse(CallStatus callStatus, ErrorType type, String message, long retryAfterSeconds) {
        if (settlement.settled()) {
            return;
        }
        phase = Phase.ENDED;
        relay.dropHeldHead();
        closeUpstream();
        releaseBuffers();
        upstreamEndNanos = System.nanoTime();
        frontend.sendError(client, type, message, requestId, keepAlive, retryAfterSeconds).addListener(f -> {
            settle(callStatus, type.status());
            if (f.isSuccess() && keepAlive) {
                frontend.callFinished(this);
            }
        });
    }

    /** Ends a response whose head was already sent: the client sees the connection close mid-body. */
    private void abortStream(CallStatus callStatus) {
        phase = Phase.ENDED;
        closeUpstream(); // already closed by whoever ended the answer; this only makes sure
        upstreamEndNanos = System.nanoTime();
        relay.keepPartialBody();
        releaseBuffers();
        // Closed once what was relayed has been written: a close right after a flush that could not finish (a
        // full socket buffer) would drop the events the client has not received yet.
        client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        settle(callStatus == CallStatus.UPSTREAM_RESET ? afterStreamError(callStatus) : callStatus, status);
    }

    /**
     * {@code ended}, or {@link CallStatus#UPSTREAM_STREAM_ERROR} when the provider reported an error inside an answer
     * that began as a success (an error event mid-stream): a failure of the provider, counted by its policy.health().
     */
    private CallStatus afterStreamError(CallStatus ended) {
        String error = null;
        if (!relay.encoded()) {
            try {
                error = observer.streamError();
            } catch (RuntimeException e) {
                observerFailed("read a stream error", e);
            }
        }
        if (error == null) {
            return ended;
        }
        log.warn("Provider {} reported an error inside its answer to {}: {}", deployment.provider().name(), requestId,
                error);
        policy.health().onFailure();
        return CallStatus.UPSTREAM_STREAM_ERROR;
    }

    /** One failure of the observer: counted, flagged on the record, and the call goes on without what it would have read. */
    void observerFailed(String what, RuntimeException e) {
        flags |= RecordFlag.OBSERVER_ERROR.bit();
        policy.health().onObserverError();
        log.warn("Could not {} of {} from {}: {}", what, requestId, deployment.provider().name(), e.toString());
    }

    /** Ends the current attempt's hold on its connection without reusing it ({@link UpstreamExchange#close}). */
    private void closeUpstream() {
        if (exchange != null) {
            exchange.close();
        }
    }

    /** Releases the relay's buffers and the call's own reference to the upstream request. Idempotent. */
    private void releaseBuffers() {
        relay.release();
        if (upstreamRequest != null) {
            ReferenceCountUtil.release(upstreamRequest);
            upstreamRequest = null;
        }
    }

    /** Ends the call's books once ({@link CallSettlement}): its buffers go first, then what it knew is settled. */
    private void settle(CallStatus callStatus, int httpStatus) {
        if (settlement.settled()) {
            return;
        }
        long endNanos = System.nanoTime();
        long latencyMicros = (endNanos - startNanos) / 1000;
        long upstreamMicros = upstreamStartNanos == 0 ? 0
                : ((upstreamEndNanos == 0 ? endNanos : upstreamEndNanos) - upstreamStartNanos) / 1000;
        long ttftMicros = firstByteNanos == 0 ? 0 : (firstByteNanos - startNanos) / 1000;
        try {
            releaseBuffers();
        } catch (RuntimeException e) {
            log.error("Could not release the buffers of {}", requestId, e);
        }
        settlement.settle(new CallSettlement.Ended(callStatus, httpStatus, deployment, policy.requested().model().name(),
                policy.totalAttempts(), observer, inputCount, flags, requestSent, status, success, relay.sse(),
                relay.encoded(), latencyMicros, upstreamMicros, ttftMicros, relay.partialBody(), relay.answerBody()));
    }

    /** The whole story of a failure, for the log. */
    private static String describe(Throwable cause) {
        String message = cause.getMessage();
        return message == null ? cause.getClass().getSimpleName() : message;
    }
}
