package dev.tokenwise.core.proxy;

import dev.tokenwise.core.budget.BudgetBook;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.RecordFlag;
import dev.tokenwise.core.model.ServiceTier;
import dev.tokenwise.core.model.TokenCount;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.AdmissionStage;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.ResponseObserver;
import dev.tokenwise.core.sse.SseEventSplitter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One proxied call, from the accepted request to its settlement. Lives on the client channel's event
 * loop; every method runs there.
 *
 * <p>Buffer ownership: the call owns the upstream request until it is written (each attempt writes a
 * retained duplicate; the call's own reference is released when it ends). Response content handed
 * in by {@link UpstreamBackendHandler} is owned by the call, which forwards it to the client (the
 * client pipeline then releases it) or releases it. SSE events are forwarded as retained slices.
 *
 * <p>Settlement happens exactly once ({@link #settled}), on completion, upstream failure, timeout or
 * client disconnect, and hands one {@link UsageRecord} to the accounting core. It is total: whatever throws on the
 * way (an observer, the counter, pricing, the budget book), the call is still booked once, with what could be
 * known, and its reservation settled, so that no call stays in flight and no client waits for an end that never
 * comes.
 *
 * <p>What a provider says is not trusted blindly: usage it cannot have meant is billed on the local count
 * ({@link RecordFlag#USAGE_REJECTED}), an answer that is not valid HTTP is a 502, an error answer is held whole and
 * relayed without our key or its address ({@link ErrorBodyRedactor}), and the gateway's own messages name the
 * provider by its configured name only.
 */
final class ProxyCall {
    private static final Logger log = LoggerFactory.getLogger(ProxyCall.class);
    /** Largest non-streamed response body kept to read its usage; larger ones fall back to local counts. */
    private static final int MAX_CAPTURED_BODY = 16 * 1024 * 1024;
    /** Longest a strict-sync response waits for its record to be committed. */
    private static final long STRICT_WAIT_SECONDS = 30;
    /** Largest error answer relayed (held whole to take out what it must not tell the client). */
    private static final int MAX_ERROR_BODY = 1024 * 1024;
    /** A Retry-After longer than this is not waited for: the call falls back or fails instead. */
    private static final long MAX_RETRY_AFTER_MILLIS = 10_000;
    /** How long after a first sight of an upstream silence it is checked again, with a pass of I/O between. */
    private static final long SILENCE_CONFIRM_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final ProxyContext proxy;
    private final ClientFrontendHandler frontend;
    private final ChannelHandlerContext client;
    private final String requestId;
    private final long startNanos;
    private final long createdAtMillis;
    private final String team;
    private final String keyId;
    /** The model asked for, then its fallbacks; {@link #deployment} is the one being tried. */
    private final List<Deployment> chain;
    private final UpstreamRequests fallbackRequests;
    private int chainIndex;
    private Deployment deployment;
    private ProviderHealth health;
    private int attemptsOnDeployment;
    private int totalAttempts;
    /** Draining an error answer (429/5xx) that will be retried instead of relayed. */
    private boolean discarding;
    private Runnable afterDiscard;
    private final boolean stream;
    private final Endpoint endpoint;
    private final boolean keepAlive;
    private final String taskId;
    private final int taskAttempt;
    /** The request's local count; counted again with a fallback's tokenizer when a fallback is tried. */
    private CompletableFuture<TokenCount> inputCount;
    private ResponseObserver observer;
    /** The request's bytes (see {@link UpstreamRequests}). */
    private ByteBuf upstreamRequest;
    /** The budget reserved for this call, or {@code null} when no budget applies. */
    private final BudgetBook.Reservation reservation;
    /** How long this call has waited, in all, for its providers' announced rate-limit resets. */
    private long heldTotalNanos;
    /** What admission acquired for the call (stage leases, the reservation); settled with the record. */
    private final Admission admission;
    /** The {@link RecordFlag}s admission decided (stored context, unpriced), added to the record. */
    private final int admissionFlags;

    private Channel upstream;
    private boolean retried;
    private boolean reused;
    private long upstreamStartNanos;
    private long upstreamEndNanos;
    private long firstByteNanos;
    private long lastUpstreamActivityNanos;
    private ScheduledFuture<?> readTimeoutCheck;
    private boolean requestSent;
    private boolean headSent;
    private int status;
    private boolean success;
    private boolean sse;
    private SseEventSplitter splitter;
    private CompositeByteBuf relayedEvents;
    private ByteBuf captured;
    private boolean captureOverflowed;
    private boolean upstreamKeepAlive;
    private boolean pausedForClient;
    /** The {@code lastUpstreamActivityNanos} at which the limit was last seen passed; new activity outdates it. */
    private long silenceSeenSince;
    /** The last piece of a relayed body, sent as the end of the response (held until durable in strict sync). */
    private ByteBuf heldTail;
    /** The head of an error answer, written once its whole body is in and cleaned (see {@link #finishErrorAnswer}). */
    private HttpResponse heldErrorHead;
    /** The answer has a content encoding: relayed as it came, never read (see {@link RecordFlag#UPSTREAM_ENCODED}). */
    private boolean encoded;
    /** The part of a non-streamed answer that arrived before it was cut short, counted as its output. */
    private String partialBody;
    /** The whole body a non-streamed answer's client received, kept only when an admission stage wants it. */
    private byte[] answerBody;
    /** The {@link RecordFlag} bits the call has earned so far. */
    private int flags;
    private boolean done;
    private boolean settled;

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
        this.createdAtMillis = createdAtMillis;
        this.team = team;
        this.keyId = keyId;
        this.chain = chain;
        this.fallbackRequests = fallbackRequests;
        this.deployment = chain.get(0);
        this.stream = stream;
        this.endpoint = endpoint;
        this.keepAlive = keepAlive;
        this.taskId = taskId;
        this.taskAttempt = taskAttempt;
        this.inputCount = inputCount;
        this.observer = deployment.adapter().observer(endpoint, stream, rewrite);
        this.upstreamRequest = upstreamRequest;
        this.admission = admission;
        this.reservation = admission.reservation();
        this.admissionFlags = admissionFlags;
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

    /** One attempt on the current deployment, unless its provider's circuit breaker is open. */
    private void attempt() {
        if (done) {
            return;
        }
        health = proxy.health().get(deployment.provider().name());
        if (!health.allowRequest()) {
            if (nextDeployment()) {
                attempt();
                return;
            }
            failBeforeResponse(CallStatus.UPSTREAM_UNREACHABLE, ErrorType.UNAVAILABLE, "provider "
                    + deployment.provider().name() + " is unavailable: its circuit breaker is open after "
                    + health.consecutiveFailures() + " consecutive failures (next probe in " + health.retryInMillis()
                    + " ms)");
            return;
        }
        long heldNanos = health.heldForNanos();
        if (heldNanos > 0) {
            // The provider said its own limit is reached: wait for its reset when that is short, else go elsewhere.
            health.onHeld();
            if (heldTotalNanos + heldNanos <= proxy.config().rateLimits().upstreamMaxWait().toNanos()) {
                heldTotalNanos += heldNanos; // however often the provider extends its hold, one call waits this long at most
                client.executor().schedule(this::attempt, heldNanos, TimeUnit.NANOSECONDS);
                return;
            }
            if (nextDeployment()) {
                attempt();
                return;
            }
            long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(heldNanos + TimeUnit.SECONDS.toNanos(1) - 1));
            failBeforeResponse(CallStatus.UPSTREAM_UNREACHABLE, ErrorType.RATE_LIMITED, "provider "
                    + deployment.provider().name() + " announced that its rate limit is reached; it resets in " + seconds
                    + " s", seconds);
            return;
        }
        if (attemptsOnDeployment == 0) {
            health.onFirstAttempt();
        }
        attemptsOnDeployment++;
        totalAttempts++;
        resetAttemptState();
        acquireAndSend(false);
    }

    private void resetAttemptState() {
        requestSent = false;
        reused = false;
        retried = false;
        status = 0;
        success = false;
    }

    /**
     * After a failure before anything reached the client: a retry on the same provider (backoff with full
     * jitter, or the provider's Retry-After), else the next fallback, else {@code null} (give up).
     * Consumes the retry budget when it plans a retry.
     */
    private Runnable planRecovery(long retryAfterMillis) {
        if (attemptsOnDeployment <= health.resilience().maxRetries() && retryAfterMillis <= MAX_RETRY_AFTER_MILLIS
                && health.tryRetry()) {
            long base = health.resilience().retryBackoff().toMillis() << Math.min(10, attemptsOnDeployment - 1);
            long delay = retryAfterMillis > 0 ? retryAfterMillis
                    : java.util.concurrent.ThreadLocalRandom.current().nextLong(base + 1);
            log.info("Retrying {} on provider {} in {} ms (attempt {} of {})", requestId, deployment.provider().name(),
                    delay, attemptsOnDeployment + 1, health.resilience().maxRetries() + 1);
            return () -> client.executor().schedule(this::attempt, delay, TimeUnit.MILLISECONDS);
        }
        if (chainIndex + 1 < chain.size()) {
            return () -> {
                if (nextDeployment()) {
                    attempt();
                }
            };
        }
        return null;
    }

    /** Moves to the next fallback model; {@code false} when there is none. */
    private boolean nextDeployment() {
        if (fallbackRequests == null || chainIndex + 1 >= chain.size()) {
            return false;
        }
        Deployment from = deployment;
        chainIndex++;
        deployment = chain.get(chainIndex);
        attemptsOnDeployment = 0;
        UpstreamRequests.Built built;
        try {
            built = fallbackRequests.forFallback(deployment, client.alloc());
        } catch (RuntimeException e) {
            // This fallback cannot take the request (e.g. its translation refuses a field): try the next one.
            log.info("Fallback {} cannot serve {}: {}", deployment.model().name(), requestId, e.getMessage());
            return nextDeployment();
        }
        ReferenceCountUtil.release(upstreamRequest);
        upstreamRequest = built.request();
        observer = deployment.adapter().observer(endpoint, stream, built.rewrite());
        inputCount = countFor(deployment.model().name(), fallbackRequests.pristineCopy());
        log.info("Falling back from {} to {} for {}", from.model().name(), deployment.model().name(), requestId);
        return true;
    }

    /**
     * The input counted again for the model now tried (its tokenizer may be another, or exact where the first was
     * not), keeping the first count's content hash: the prompt is the same, and the retry flag compares the hashes of
     * calls that asked for the same model. {@code body} is the counter's own copy.
     */
    private CompletableFuture<TokenCount> countFor(String model, com.fasterxml.jackson.databind.node.ObjectNode body) {
        return inputCount.handle((first, error) -> first).thenCompose(first -> proxy.counter()
                .countInput(model, endpoint, body)
                .thenApply(c -> first == null ? c : new TokenCount(c.tokens(), c.estimated(), first.contentHash(),
                        c.bounded(), c.features(), c.textBytes())));
    }

    private void acquireAndSend(boolean fresh) {
        Future<Channel> acquired = proxy.pool().acquire(deployment.origin(), client.channel().eventLoop(),
                (int) deployment.provider().connectTimeout().toMillis(), fresh);
        if (acquired.isDone()) {
            onAcquired(acquired);
        } else {
            acquired.addListener(f -> onAcquired(acquired));
        }
    }

    private void onAcquired(Future<Channel> acquired) {
        if (done) {
            // The client left while we were connecting.
            if (acquired.isSuccess()) {
                acquired.getNow().close();
            }
            return;
        }
        if (!acquired.isSuccess()) {
            Throwable cause = acquired.cause();
            log.warn("Upstream {} unreachable for {}: {}", deployment.provider().name(), requestId, cause.toString());
            health.onFailure();
            Runnable recovery = planRecovery(0);
            if (recovery != null) {
                recovery.run();
                return;
            }
            failBeforeResponse(CallStatus.UPSTREAM_UNREACHABLE, ErrorType.UPSTREAM_FAILED,
                    "could not reach provider " + deployment.provider().name() + ": " + reason(cause));
            return;
        }
        upstream = acquired.getNow();
        reused = Boolean.TRUE.equals(upstream.attr(UpstreamPool.REUSED).get());
        upstream.pipeline().get(UpstreamBackendHandler.class).bind(this);
        upstreamStartNanos = System.nanoTime();
        lastUpstreamActivityNanos = upstreamStartNanos;
        ProviderConfigView limits = limits();
        scheduleReadTimeout(limits.totalNanos > 0 ? Math.min(limits.firstByteNanos, limits.totalNanos) : limits.firstByteNanos);
        upstream.writeAndFlush(upstreamRequest.retainedDuplicate()).addListener(f -> {
            if (f.isSuccess()) {
                requestSent = true;
            }
            // A failed write closes the channel; onUpstreamClosed decides about a retry.
        });
    }

    private void scheduleReadTimeout(long delayNanos) {
        readTimeoutCheck = client.executor().schedule(this::checkReadTimeout, delayNanos, TimeUnit.NANOSECONDS);
    }

    /**
     * The upstream's time limits, checked by one rescheduled task per call: before the first byte the
     * first-byte timeout (default: the read timeout), after it the read timeout between pieces, and over
     * everything the total timeout when one is set. While reading is paused for a slow client, the
     * upstream's silence is ours, not its, and does not count.
     */
    private void checkReadTimeout() {
        if (done) {
            return;
        }
        ProviderConfigView limits = limits();
        long now = System.nanoTime();
        long silentNanos = now - lastUpstreamActivityNanos;
        long silenceLimit = firstByteNanos == 0 && !headSent && status == 0 ? limits.firstByteNanos : limits.readNanos;
        boolean totalExceeded = limits.totalNanos > 0 && now - upstreamStartNanos >= limits.totalNanos;
        if (!totalExceeded && (pausedForClient || silentNanos < silenceLimit)) {
            long next = pausedForClient ? silenceLimit : silenceLimit - silentNanos;
            if (limits.totalNanos > 0) {
                next = Math.min(next, limits.totalNanos - (now - upstreamStartNanos));
            }
            scheduleReadTimeout(Math.max(1, next));
            return;
        }
        if (!totalExceeded && silenceSeenSince != lastUpstreamActivityNanos) {
            // This check runs among the loop's tasks, after its I/O. If the loop itself was held up (a GC
            // pause, a starved CPU), what the provider sent meanwhile is still unread in the socket. So a
            // silence counts only once it has outlasted one more pass of I/O.
            silenceSeenSince = lastUpstreamActivityNanos;
            scheduleReadTimeout(SILENCE_CONFIRM_NANOS);
            return;
        }
        String why = totalExceeded ? "took longer than its total limit of " + TimeUnit.NANOSECONDS.toMillis(limits.totalNanos) + " ms"
                : "sent nothing for " + TimeUnit.NANOSECONDS.toMillis(silentNanos) + " ms";
        log.warn("Upstream {} {} on {}; giving up", deployment.provider().name(), why, requestId);
        closeUpstream();
        if (!headSent) {
            failBeforeResponse(CallStatus.UPSTREAM_TIMEOUT, ErrorType.UPSTREAM_TIMEOUT,
                    "provider " + deployment.provider().name() + " " + why);
        } else {
            abortStream(CallStatus.UPSTREAM_TIMEOUT);
        }
    }

    /** The current deployment's time limits in nanoseconds. */
    private ProviderConfigView limits() {
        var provider = deployment.provider();
        long read = provider.readTimeout().toNanos();
        var firstByte = provider.resilience().firstByteTimeout();
        return new ProviderConfigView(read, firstByte == null ? read : firstByte.toNanos(),
                provider.resilience().totalTimeout().toNanos());
    }

    private record ProviderConfigView(long readNanos, long firstByteNanos, long totalNanos) {
    }

    void onResponseHead(HttpResponse head) {
        if (done) {
            return;
        }
        if (head.decoderResult().isFailure()) {
            refuseMalformedAnswer(head.decoderResult().cause());
            return;
        }
        lastUpstreamActivityNanos = System.nanoTime();
        status = head.status().code();
        success = status >= 200 && status < 300;
        upstreamKeepAlive = HttpUtil.isKeepAlive(head);
        if (success) {
            health.onSuccess();
        } else if (status >= 500) {
            health.onFailure();
        }
        health.holdFor(UpstreamLimits.holdNanos(status, head.headers(), System.currentTimeMillis()));
        if (status == 429 || status >= 500) {
            Runnable recovery = planRecovery(retryAfterMillis(head.headers()));
            if (recovery != null) {
                // Nothing has reached the client: drain this answer, then retry or fall back.
                log.warn("Provider {} answered {} to {}", deployment.provider().name(), status, requestId);
                discarding = true;
                afterDiscard = recovery;
                return;
            }
        }
        String contentType = head.headers().get(HttpHeaderNames.CONTENT_TYPE, "");
        String encoding = head.headers().get(HttpHeaderNames.CONTENT_ENCODING);
        // The gateway asks for identity; an answer encoded all the same is relayed as it came, and not read.
        encoded = encoding != null && !HttpHeaderValues.IDENTITY.contentEqualsIgnoreCase(encoding.trim());
        if (encoded && success) {
            flags |= RecordFlag.UPSTREAM_ENCODED.bit();
            log.warn("Provider {} answered {} in encoding {}, unasked; billed on the local count",
                    deployment.provider().name(), requestId, encoding);
        }
        sse = success && !encoded && contentType.toLowerCase(Locale.ROOT).startsWith("text/event-stream");

        // The upstream's headers were validated by its decoder; ours are the gateway's own.
        HttpResponse out = new DefaultHttpResponse(HttpVersion.HTTP_1_1, head.status(), HeaderFilter.ALREADY_VALIDATED);
        HttpHeaders headers = out.headers();
        HeaderFilter.copyResponseHeaders(head.headers(), headers);
        headers.set(ClientFrontendHandler.REQUEST_ID, requestId);
        admission.decorate(headers);
        if (sse) {
            // Events may be dropped (the injected usage chunk), so the length is not known up front.
            headers.remove(HttpHeaderNames.CONTENT_LENGTH);
            headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            splitter = new SseEventSplitter(client.alloc());
        } else if (success && observer.translatesBody()) {
            // The body is rewritten into the client's API: its length is known only at the end.
            headers.remove(HttpHeaderNames.CONTENT_LENGTH);
            headers.remove(HttpHeaderNames.CONTENT_ENCODING);
            headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            headers.set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        } else if (!headers.contains(HttpHeaderNames.CONTENT_LENGTH)) {
            headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        }
        if (!keepAlive) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        if (!success) {
            // Held with its body, which is cleaned before it goes out (finishErrorAnswer).
            heldErrorHead = out;
            return;
        }
        headSent = true;
        client.write(out);
    }

    /** The upstream's answer is not HTTP (or its head was cut short): the client gets a 502, the provider is not paid. */
    private void refuseMalformedAnswer(Throwable cause) {
        boolean cutShort = cause instanceof PrematureChannelClosureException;
        log.warn("Provider {} sent {} an answer that is not valid HTTP: {}", deployment.provider().name(), requestId,
                cause == null ? "?" : cause.toString());
        health.onFailure();
        failBeforeResponse(cutShort ? CallStatus.UPSTREAM_RESET : CallStatus.UPSTREAM_ERROR, ErrorType.UPSTREAM_FAILED,
                "provider " + deployment.provider().name() + (cutShort ? " closed the connection inside its answer's head"
                        : " sent an answer that is not valid HTTP"));
    }

    /** The answer's body turned out malformed (a bad chunk): the call ends as a reset, the connection is not reused. */
    private void answerBroken(Throwable cause) {
        log.warn("Provider {} broke off its answer to {}: {}", deployment.provider().name(), requestId,
                cause == null ? "?" : cause.toString());
        closeUpstream();
        if (!headSent) {
            health.onFailure();
            failBeforeResponse(CallStatus.UPSTREAM_RESET, ErrorType.UPSTREAM_FAILED,
                    "provider " + deployment.provider().name() + " broke off its answer");
        } else {
            abortStream(CallStatus.UPSTREAM_RESET);
        }
    }

    void onResponseContent(HttpContent content) {
        if (done) {
            content.release();
            return;
        }
        if (discarding) {
            boolean end = content instanceof LastHttpContent;
            if (content.decoderResult().isFailure()) {
                upstreamKeepAlive = false; // the connection is out of step: never pooled
            }
            content.release();
            if (end) {
                discarding = false;
                cancelReadTimeout();
                Channel up = upstream;
                upstream = null;
                if (up != null) {
                    up.pipeline().get(UpstreamBackendHandler.class).unbind();
                    if (upstreamKeepAlive) {
                        proxy.pool().release(up, deployment.provider().maxIdlePerLoop());
                    } else {
                        up.close();
                    }
                }
                Runnable recovery = afterDiscard;
                afterDiscard = null;
                recovery.run();
            }
            return;
        }
        if (content.decoderResult().isFailure()) {
            content.release();
            answerBroken(content.decoderResult().cause());
            return;
        }
        lastUpstreamActivityNanos = System.nanoTime();
        if (firstByteNanos == 0 && content.content().isReadable()) {
            firstByteNanos = lastUpstreamActivityNanos;
        }
        boolean last = content instanceof LastHttpContent;
        try {
            if (sse) {
                splitter.feed(content.content(), this::relayEvent);
                if (last) {
                    ByteBuf rest = splitter.drain();
                    if (rest != null) {
                        relayEvent(rest);
                    }
                }
                writeRelayed();
            } else {
                ByteBuf bytes = content.content();
                if (heldErrorHead != null) {
                    capture(bytes, MAX_ERROR_BODY); // held whole, relayed by finishErrorAnswer
                } else if (success && !encoded) {
                    capture(bytes, MAX_CAPTURED_BODY);
                }
                if (heldErrorHead != null) {
                    // Nothing goes out before the whole error answer is in.
                } else if (success && observer.translatesBody()) {
                    // Held whole in `captured` and translated when complete (finishResponse).
                } else if (last) {
                    // The final bytes go out as the end of the response (finishResponse): one encoder pass and one
                    // outbound message fewer. With storage.sync strict they wait until the call's record is durable.
                    heldTail = bytes.isReadable() ? bytes.retain() : null;
                } else if (bytes.isReadable()) {
                    client.write(new DefaultHttpContent(bytes.retain()));
                }
            }
        } finally {
            content.release();
        }
        if (last) {
            finishResponse();
        } else {
            // Flushed once per upstream read batch (onUpstreamReadComplete), not per piece: one write
            // system call carries everything that arrived together.
            if (!client.channel().isWritable()) {
                // The client is slower than the provider: stop reading upstream until it catches up.
                pausedForClient = true;
                upstream.config().setAutoRead(false);
            }
        }
    }

    private void relayEvent(ByteBuf event) {
        boolean forward;
        try {
            forward = observer.onEvent(event);
        } catch (RuntimeException e) {
            observerFailed("read an event", e);
            forward = true;
        }
        if (!forward) {
            event.release();
            return;
        }
        ByteBuf translated;
        try {
            translated = observer.translateEvent(event, client.alloc());
        } catch (RuntimeException e) {
            observerFailed("translate an event", e);
            translated = client.alloc().buffer(0);
        }
        if (translated == null) {
            relayed(event);
            return;
        }
        event.release();
        if (translated.isReadable()) {
            relayed(translated);
        } else {
            translated.release();
        }
    }

    /**
     * Gathers the events of one upstream read to be written as one chunk ({@link #writeRelayed}): a chunk
     * per event would cost an encoder pass, a chunk header and an iovec each.
     */
    private void relayed(ByteBuf event) {
        if (relayedEvents == null) {
            relayedEvents = client.alloc().compositeBuffer(64);
        }
        relayedEvents.addComponent(true, event);
    }

    private void writeRelayed() {
        CompositeByteBuf events = relayedEvents;
        relayedEvents = null;
        if (events != null) {
            // No promise: the encoder then writes the chunk's size line, events and CRLF without combining three
            // promises into one. A failed write reaches exceptionCaught, which closes the client channel.
            client.write(new DefaultHttpContent(events), client.voidPromise());
        }
    }

    private void capture(ByteBuf bytes, int limit) {
        if (captureOverflowed) {
            return;
        }
        if (captured == null) {
            captured = client.alloc().heapBuffer(Math.max(256, bytes.readableBytes()));
        }
        if (captured.readableBytes() + bytes.readableBytes() > limit) {
            log.warn("Response of {} exceeds {} bytes; {}", requestId, limit,
                    heldErrorHead != null ? "it is not relayed" : "its usage is counted locally");
            captureOverflowed = true;
            captured.release();
            captured = null;
            return;
        }
        captured.writeBytes(bytes, bytes.readerIndex(), bytes.readableBytes());
    }

    private void finishResponse() {
        upstreamEndNanos = System.nanoTime();
        done = true;
        cancelReadTimeout();
        if (!sse && success && !encoded && captured != null && captured.isReadable()) {
            try {
                observer.onBody(captured);
            } catch (RuntimeException e) {
                observerFailed("read the answer", e);
            }
        }
        if (!sse && success && observer.translatesBody()) {
            writeTranslatedBody();
        } else if (!sse && success && !encoded && captured != null && admission.wantsAnswer()) {
            answerBody = ByteBufUtil.getBytes(captured); // relayed as it came: what the client received
        }
        if (heldErrorHead != null) {
            finishErrorAnswer();
        }
        releaseBuffers();
        Channel up = upstream;
        upstream = null;
        if (up != null) {
            up.pipeline().get(UpstreamBackendHandler.class).unbind();
            if (upstreamKeepAlive) {
                proxy.pool().release(up, deployment.provider().maxIdlePerLoop());
            } else {
                up.close();
            }
        }
        CallStatus callStatus = success ? afterStreamError(CallStatus.OK) : CallStatus.UPSTREAM_ERROR;
        if (proxy.durability() == null) {
            ByteBuf tail = heldTail;
            heldTail = null;
            LastHttpContent end = tail == null ? LastHttpContent.EMPTY_LAST_CONTENT : new DefaultLastHttpContent(tail);
            client.writeAndFlush(end).addListener(f -> {
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
            ByteBuf tail = heldTail;
            heldTail = null;
            LastHttpContent end = tail == null ? LastHttpContent.EMPTY_LAST_CONTENT : new DefaultLastHttpContent(tail);
            client.writeAndFlush(end).addListener(f -> endExchange(f.isSuccess()));
        }));
    }

    private void endExchange(boolean written) {
        if (!keepAlive || !written) {
            client.close();
        } else {
            frontend.callFinished(this);
        }
    }

    /**
     * Writes the head of an error answer held by {@link #onResponseHead} and keeps its body, cleaned by
     * {@link ErrorBodyRedactor}, as the end of the response. A body too large to hold, or in an encoding the gateway
     * cannot read, is replaced by a JSON error of the gateway's own, under the provider's status.
     */
    private void finishErrorAnswer() {
        HttpResponse head = heldErrorHead;
        heldErrorHead = null;
        byte[] body;
        if (captureOverflowed || encoded) {
            head.headers().remove(HttpHeaderNames.CONTENT_ENCODING)
                    .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
            body = dev.tokenwise.core.error.ErrorResponses.body(
                    dev.tokenwise.core.error.ErrorShape.forPath(endpoint.clientPath()), ErrorType.UPSTREAM_FAILED, "provider "
                    + deployment.provider().name() + " answered " + status + (encoded ? " in an encoding the gateway cannot read"
                    : " with an error body over " + MAX_ERROR_BODY + " bytes"));
        } else {
            byte[] raw = captured == null ? new byte[0] : ByteBufUtil.getBytes(captured);
            body = ErrorBodyRedactor.redact(raw, deployment.provider().apiKey(), deployment.origin());
        }
        head.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
        if (status != 204 && status != 304) {
            head.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        }
        headSent = true;
        client.write(head);
        heldTail = body.length == 0 ? null : Unpooled.wrappedBuffer(body);
    }

    /** Sends the whole translated body of a non-streamed answer (the upstream's was held in {@code captured}). */
    private void writeTranslatedBody() {
        ByteBuf translated;
        try {
            translated = captured == null ? null : observer.translateBody(captured, client.alloc());
        } catch (RuntimeException e) {
            observerFailed("translate the answer", e);
            translated = null;
        }
        if (translated == null) {
            // Nothing to translate (or it failed): the client still gets a well-formed JSON error.
            translated = io.netty.buffer.Unpooled.wrappedBuffer(dev.tokenwise.core.error.ErrorResponses.body(
                    ErrorType.UPSTREAM_FAILED, "could not translate the answer of provider " + deployment.provider().name()));
        } else if (admission.wantsAnswer()) {
            answerBody = ByteBufUtil.getBytes(translated);
        }
        client.write(new DefaultHttpContent(translated));
    }

    /** The upstream read batch ended: send what was relayed. */
    void onUpstreamReadComplete() {
        if (!done) {
            client.flush();
        }
    }

    /**
     * The upstream connection closed or failed while this call was bound to it.
     *
     * @param answerBegan whether the connection delivered any byte of an answer: then the provider has the request
     *     and may have done the work, so it is never sent again
     */
    void onUpstreamClosed(Throwable cause, boolean answerBegan) {
        if (done) {
            return;
        }
        upstream = null;
        if (discarding) {
            // The error answer we were draining was cut short: recover as planned.
            discarding = false;
            cancelReadTimeout();
            Runnable recovery = afterDiscard;
            afterDiscard = null;
            recovery.run();
            return;
        }
        if (!headSent && status == 0 && !retried && reused && !answerBegan) {
            // A keep-alive connection the server closed as we reused it: try once on a fresh one.
            retried = true;
            cancelReadTimeout();
            log.debug("Reused upstream connection closed before answering {}; retrying on a new one", requestId);
            totalAttempts++;
            acquireAndSend(true);
            return;
        }
        if (!headSent) {
            log.warn("Provider {} closed the connection of {} before its answer was relayed: {}",
                    deployment.provider().name(), requestId, cause == null ? "connection closed" : describe(cause));
            health.onFailure();
            failBeforeResponse(requestSent || answerBegan ? CallStatus.UPSTREAM_RESET : CallStatus.UPSTREAM_UNREACHABLE,
                    ErrorType.UPSTREAM_FAILED, "provider " + deployment.provider().name()
                            + (status == 0 ? " failed before answering: " : " broke off its answer: ")
                            + (cause == null ? "connection closed" : reason(cause)));
        } else {
            log.warn("Provider {} dropped {} mid-response: {}", deployment.provider().name(), requestId,
                    cause == null ? "connection closed" : describe(cause));
            abortStream(CallStatus.UPSTREAM_RESET);
        }
    }

    /** The client went away: cancel upstream at once and settle for what was produced. */
    void onClientClosed() {
        if (heldTail != null) {
            heldTail.release();
            heldTail = null;
        }
        if (done) {
            return;
        }
        done = true;
        cancelReadTimeout();
        closeUpstream();
        keepPartialBody();
        releaseBuffers();
        settle(CallStatus.CLIENT_CANCELLED, 499);
    }

    void onClientWritable() {
        if (upstream != null && pausedForClient && client.channel().isWritable()) {
            pausedForClient = false;
            // The upstream was silent because we stopped reading it; its read timeout starts again now.
            lastUpstreamActivityNanos = System.nanoTime();
            upstream.config().setAutoRead(true);
        }
    }

    private void failBeforeResponse(CallStatus callStatus, ErrorType type, String message) {
        failBeforeResponse(callStatus, type, message, 0);
    }

    /** As above, telling the client to retry after {@code retryAfterSeconds} when that is positive. */
    private void failBeforeResponse(CallStatus callStatus, ErrorType type, String message, long retryAfterSeconds) {
        if (settled) {
            return;
        }
        done = true;
        heldErrorHead = null;
        cancelReadTimeout();
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
        done = true;
        cancelReadTimeout();
        upstreamEndNanos = System.nanoTime();
        keepPartialBody();
        releaseBuffers();
        // Closed once what was relayed has been written: a close right after a flush that could not finish (a
        // full socket buffer) would drop the events the client has not received yet.
        client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        settle(callStatus == CallStatus.UPSTREAM_RESET ? afterStreamError(callStatus) : callStatus, status);
    }

    /**
     * {@code ended}, or {@link CallStatus#UPSTREAM_STREAM_ERROR} when the provider reported an error inside an answer
     * that began as a success (an error event mid-stream): a failure of the provider, counted by its health.
     */
    private CallStatus afterStreamError(CallStatus ended) {
        String error = null;
        if (!encoded) {
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
        if (health != null) {
            health.onFailure();
        }
        return CallStatus.UPSTREAM_STREAM_ERROR;
    }

    /**
     * Keeps, as text, the part of a non-streamed answer that arrived before the call ended early: the observer reads
     * a body only whole, so this part stands for what was produced ({@link #settle} counts it as the output).
     */
    private void keepPartialBody() {
        if (!sse && success && captured != null && captured.isReadable()) {
            partialBody = captured.toString(StandardCharsets.UTF_8);
        }
    }

    /** One failure of the observer: counted, flagged on the record, and the call goes on without what it would have read. */
    private void observerFailed(String what, RuntimeException e) {
        flags |= RecordFlag.OBSERVER_ERROR.bit();
        if (health != null) {
            health.onObserverError();
        }
        log.warn("Could not {} of {} from {}: {}", what, requestId, deployment.provider().name(), e.toString());
    }

    private void closeUpstream() {
        Channel up = upstream;
        upstream = null;
        if (up != null) {
            up.pipeline().get(UpstreamBackendHandler.class).unbind();
            up.close();
        }
    }

    private void cancelReadTimeout() {
        if (readTimeoutCheck != null) {
            readTimeoutCheck.cancel(false);
            readTimeoutCheck = null;
        }
    }

    private void releaseBuffers() {
        if (relayedEvents != null) {
            relayedEvents.release();
            relayedEvents = null;
        }
        if (splitter != null) {
            splitter.release();
        }
        if (captured != null) {
            captured.release();
            captured = null;
        }
        if (upstreamRequest != null) {
            ReferenceCountUtil.release(upstreamRequest);
            upstreamRequest = null;
        }
    }

    /**
     * Books the call once: usage from the provider when it reported any that can be believed, else from the local
     * counts. Total: whatever throws on the way, one record is booked and the reservation settled.
     */
    private void settle(CallStatus callStatus, int httpStatus) {
        if (settled) {
            return;
        }
        settled = true;
        long endNanos = System.nanoTime();
        long latencyMicros = (endNanos - startNanos) / 1000;
        long upstreamMicros = upstreamStartNanos == 0 ? 0
                : ((upstreamEndNanos == 0 ? endNanos : upstreamEndNanos) - upstreamStartNanos) / 1000;
        long ttftMicros = firstByteNanos == 0 ? 0 : (firstByteNanos - startNanos) / 1000;
        Settlement settlement = new Settlement(callStatus, httpStatus, latencyMicros, upstreamMicros, ttftMicros, null,
                true, null, flags, null, null, 0);
        try {
            releaseBuffers();
            settlement = observed(settlement);
            String text = settlement.outputText;
            CompletableFuture<TokenCount> outputCount = text == null || text.isEmpty()
                    ? CompletableFuture.completedFuture(TokenCount.ZERO)
                    : proxy.counter().countOutput(deployment.model().name(), text);
            Settlement s = settlement;
            if (inputCount.isDone() && outputCount.isDone()) {
                // Both counts were taken on this thread (the usual case): no futures to chain.
                book(s, outputCount, null);
            } else {
                CompletableFuture.allOf(inputCount, outputCount)
                        .whenComplete((done, error) -> book(s, outputCount, error));
            }
        } catch (RuntimeException e) {
            log.error("Could not settle {}; booking it without local counts", requestId, e);
            charge(recordWithoutCounts(settlement), null);
        }
    }

    /**
     * {@code s} with what the observer read: the usage (when it can be believed), the finish reason and the text
     * produced (or the part of a body that arrived, when the answer was cut short). A call to the observer that
     * throws counts as an observer error and adds nothing.
     */
    private Settlement observed(Settlement s) {
        TokenUsage reported = null;
        long rejectedPrediction = 0;
        boolean usageFinal = true;
        String finishReason = null;
        String text = null;
        ServiceTier served = null;
        if (!encoded) {
            try {
                reported = observer.usage();
                if (observer.usageRejected()) {
                    flags |= RecordFlag.USAGE_REJECTED.bit();
                    reported = null;
                }
                rejectedPrediction = reported == null ? 0
                        : Math.min(Math.max(0, observer.rejectedPredictionTokens()), reported.outputTokens());
                usageFinal = observer.usageFinal();
            } catch (RuntimeException e) {
                observerFailed("read the usage", e);
            }
            try {
                finishReason = observer.finishReason();
            } catch (RuntimeException e) {
                observerFailed("read the finish reason", e);
            }
            try {
                served = observer.serviceTier();
            } catch (RuntimeException e) {
                observerFailed("read the service tier", e);
            }
            try {
                text = observer.outputText();
            } catch (RuntimeException e) {
                observerFailed("read the text", e);
            }
        }
        if (reported != null && !reported.plausible()) {
            log.warn("Provider {} reported impossible usage for {}: {}; billed on the local count",
                    deployment.provider().name(), requestId, reported);
            flags |= RecordFlag.USAGE_REJECTED.bit();
            reported = null;
        }
        if ((text == null || text.isEmpty()) && partialBody != null) {
            text = partialBody;
        }
        return new Settlement(s.callStatus, s.httpStatus, s.latencyMicros, s.upstreamMicros, s.ttftMicros, reported,
                usageFinal, finishReason, flags, text, served, reported == null ? 0 : rejectedPrediction);
    }

    /**
     * Books the record made from the input count and {@code outputCount}, both complete, or, when a count or the
     * record failed, one without local counts. Never throws.
     */
    private void book(Settlement settlement, CompletableFuture<TokenCount> outputCount, Throwable error) {
        UsageRecord record = null;
        if (error == null) {
            try {
                record = record(settlement, inputCount.join(), outputCount.join());
            } catch (RuntimeException e) {
                error = e;
            }
        }
        if (record == null) {
            log.error("Could not settle {}; booking it without local counts", requestId, error);
            charge(recordWithoutCounts(settlement), null);
            return;
        }
        charge(record, delivered(settlement));
    }

    /** The whole answer the client received, for the admission stages that want it; {@code null} when there is none. */
    private AdmissionStage.Delivered delivered(Settlement s) {
        if (s.callStatus != CallStatus.OK || !success || encoded || RecordFlag.OBSERVER_ERROR.in(s.flags)) {
            return null;
        }
        if (sse) {
            return new AdmissionStage.Delivered(true, null, s.outputText);
        }
        return answerBody == null ? null : new AdmissionStage.Delivered(false, answerBody, null);
    }

    /**
     * What {@link #settle} knew when the call ended, for the record made once the local counts are in.
     *
     * @param usageFinal {@code reported} is the provider's final figure, not a running one ({@link
     *     ResponseObserver#usageFinal})
     * @param served the service tier the provider says it served ({@link ResponseObserver#serviceTier}), or {@code null}
     */
    private record Settlement(CallStatus callStatus, int httpStatus, long latencyMicros, long upstreamMicros,
                              long ttftMicros, TokenUsage reported, boolean usageFinal, String finishReason, int flags,
                              String outputText, ServiceTier served, long rejectedPredictionTokens) {
        /** This settlement billing {@code usage}, with {@code more} flags. */
        Settlement billing(TokenUsage usage, int more) {
            return new Settlement(callStatus, httpStatus, latencyMicros, upstreamMicros, ttftMicros, usage, true,
                    finishReason, flags | more, outputText, served, rejectedPredictionTokens);
        }
    }

    /**
     * The provider's usage, its cost on the tier the provider served and the price version it was charged at, or no
     * usage (and the flag) when it prices beyond a {@code long}.
     */
    private record PricedUsage(TokenUsage usage, long costNanos, int flags, String priceVersion) {
        static PricedUsage of(Settlement s, ModelPrice price) {
            if (s.reported == null || price == null) {
                return new PricedUsage(s.reported, 0, s.flags, null);
            }
            try {
                return new PricedUsage(s.reported, price.costNanos(s.reported, s.served), s.flags,
                        price.version(s.reported, s.served));
            } catch (ArithmeticException e) {
                // Over $9.2 billion: no provider bills that for one call.
                return new PricedUsage(null, 0, s.flags | RecordFlag.USAGE_REJECTED.bit(), null);
            }
        }
    }

    private UsageRecord record(Settlement s, TokenCount in, TokenCount out) {
        ModelPrice price = deployment.model().price();
        String model = deployment.model().name();
        if (!endpoint.billed()) {
            // A token count: free upstream, so nothing is billed and nothing is taken as the provider's usage.
            return recordOf(s).usage(TokenUsage.ZERO).localInputTokens(in.tokens()).localOutputTokens(out.tokens())
                    .localEstimated(in.estimated() || out.estimated()).promptHash(in.contentHash()).flags(s.flags)
                    .build();
        }
        if (s.reported != null && !s.usageFinal) {
            // The answer ended before the provider's final usage: bill what was produced, the larger of its running
            // figure and the local count of what was relayed.
            long relayed = out.estimated() ? proxy.calibration().output(model, out.tokens()) : out.tokens();
            s = s.billing(PartialUsage.billed(s.reported, relayed), RecordFlag.PARTIAL_USAGE.bit());
        }
        PricedUsage priced = PricedUsage.of(s, price);
        int recordFlags = priced.flags();
        if (in.bounded() || out.bounded()) {
            recordFlags |= RecordFlag.COUNT_BOUNDED.bit();
        }
        TokenUsage usage = priced.usage();
        long costNanos = priced.costNanos();
        String priceVersion = priced.priceVersion();
        boolean fromProvider = usage != null;
        if (!fromProvider) {
            if (s.callStatus == CallStatus.UPSTREAM_ERROR || !requestSent
                    || status == 0 && s.callStatus != CallStatus.CLIENT_CANCELLED) {
                // Providers do not bill rejected requests, requests they never received, nor calls they failed
                // before answering at all. A client that left may still be billed for what the provider began.
                usage = TokenUsage.ZERO;
            } else {
                // Estimates of inexactly tokenized models are scaled by what the provider usually bills.
                long input = in.estimated() ? proxy.calibration().input(model, in.tokens()) : in.tokens();
                long output = out.estimated() ? proxy.calibration().output(model, out.tokens()) : out.tokens();
                usage = TokenUsage.of(input, output);
            }
            costNanos = price == null ? 0 : price.costNanos(usage, s.served);
            priceVersion = price == null ? null : price.version(usage, s.served);
        }
        return recordOf(s).usage(usage).usageFromProvider(fromProvider)
                .localInputTokens(in.tokens()).localOutputTokens(out.tokens())
                .localEstimated(in.estimated() || out.estimated()).costNanos(costNanos).promptHash(in.contentHash())
                .flags(recordFlags).priceVersion(priceVersion).requestFeatures(in.features())
                .inputTextBytes(in.textBytes()).rejectedPredictionTokens(fromProvider ? s.rejectedPredictionTokens : 0)
                .promptCacheSavedNanos(price == null ? 0 : price.promptCacheSavedNanos(usage, s.served))
                .promptPrefixHash(in.prefixHash())
                .build();
    }

    /** A record of this call as {@code s} ended it: who, what, how it ended and how long it took. */
    private UsageRecord.Builder recordOf(Settlement s) {
        return UsageRecord.builder().id(requestId).team(team).keyId(keyId).model(deployment.model().name())
                .provider(deployment.provider().name()).endpoint(endpoint).stream(sse).status(s.callStatus)
                .httpStatus(s.httpStatus).taskId(taskId).taskAttempt(taskAttempt).finishReason(s.finishReason)
                .createdAtMillis(createdAtMillis).latencyMicros(s.latencyMicros).upstreamLatencyMicros(s.upstreamMicros)
                .ttftMicros(s.ttftMicros).requestedModel(chain.get(0).model().name()).attempts(totalAttempts);
    }

    /** The record of a call whose local counts could not be had: the provider's usage when it can be priced, else none. */
    private UsageRecord recordWithoutCounts(Settlement s) {
        ModelPrice price = deployment.model().price();
        PricedUsage priced = PricedUsage.of(s, price);
        TokenUsage usage = priced.usage();
        long costNanos = priced.costNanos();
        int recordFlags = priced.flags();
        return recordOf(s).usage(usage == null ? TokenUsage.ZERO : usage).usageFromProvider(usage != null)
                .localEstimated(true).costNanos(costNanos).flags(recordFlags).priceVersion(priced.priceVersion())
                .promptCacheSavedNanos(usage == null || price == null ? 0 : price.promptCacheSavedNanos(usage, s.served))
                .build();
    }

    /**
     * Settles the reservation (or charges the budgets), settles the admission stages (handing them {@code delivered},
     * the answer the client received, when there is one) and hands the record to the accounting core, whatever fails.
     */
    private void charge(UsageRecord record, AdmissionStage.Delivered delivered) {
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

    /** Retry-After in milliseconds (seconds or an HTTP date), 0 when absent or unreadable. */
    static long retryAfterMillis(HttpHeaders headers) {
        String value = headers.get(HttpHeaderNames.RETRY_AFTER);
        if (value == null || value.isBlank()) {
            return 0;
        }
        try {
            return Math.max(0, Long.parseLong(value.trim()) * 1000);
        } catch (NumberFormatException notSeconds) {
            try {
                long at = java.time.ZonedDateTime.parse(value.trim(),
                        java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli();
                return Math.max(0, at - System.currentTimeMillis());
            } catch (java.time.DateTimeException notADate) {
                return 0;
            }
        }
    }

    /** The whole story of a failure, for the log. */
    private static String describe(Throwable cause) {
        String message = cause.getMessage();
        return message == null ? cause.getClass().getSimpleName() : message;
    }

    /**
     * What a client may read of a connection failure: its kind, never its message, which names the provider's
     * address ("Connection refused: /10.0.3.7:8443").
     */
    static String reason(Throwable cause) {
        if (cause instanceof io.netty.channel.ConnectTimeoutException) {
            return "connect timed out";
        }
        if (cause instanceof ConnectException) {
            return "connection refused";
        }
        if (cause instanceof UnknownHostException) {
            return "host name not found";
        }
        if (cause instanceof javax.net.ssl.SSLException || cause instanceof io.netty.handler.ssl.SslHandshakeTimeoutException) {
            return "TLS failed";
        }
        if (cause instanceof ClosedChannelException) {
            return "connection closed";
        }
        if (cause instanceof IOException) {
            return "connection failed";
        }
        return "unexpected " + cause.getClass().getSimpleName();
    }
}
