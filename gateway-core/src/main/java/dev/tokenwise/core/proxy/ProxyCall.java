package dev.tokenwise.core.proxy;

import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.RecordFlag;
import dev.tokenwise.core.model.TokenCount;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.ResponseObserver;
import dev.tokenwise.core.sse.SseEventSplitter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
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
 * <p>The call has three parts besides itself: its {@link CallPolicy} decides where each attempt goes (retries,
 * backoff, fallbacks, breakers); one {@link UpstreamExchange} per attempt carries it out (acquire a connection, write,
 * time limits, release); the call relays the answer (client writes, backpressure, translation, body capture); its
 * {@link CallSettlement} books it exactly once, on completion, upstream failure, timeout or client disconnect, with one
 * {@link UsageRecord}, whatever throws on the way.
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
    private boolean sse;
    private SseEventSplitter splitter;
    private CompositeByteBuf relayedEvents;
    private ByteBuf captured;
    private boolean captureOverflowed;
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
    /** Where the call is: its attempts, draining an answer to retry, relaying, or ended. */
    private Phase phase = Phase.ATTEMPTING;
    /** Prices, charges and books the call once, when it ends. */
    private final CallSettlement settlement;

    /** The phases of a call, in the order it goes through them (a retry goes back from DISCARDING to ATTEMPTING). */
    private enum Phase {
        /** Nothing reached the client yet: connecting, writing, waiting for an answer, or holding an error answer whole. */
        ATTEMPTING,
        /** Draining an error answer (429/5xx) that is retried or falls back instead of being relayed. */
        DISCARDING,
        /** The answer's head went to the client: no retry or fallback is possible any more. */
        RELAYING,
        /** The call ended; what still arrives is released, and its settlement is under way or done. */
        ENDED
    }

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
            inputCount = countFor(deployment.model().name(), fallbackRequests.pristineCopy());
            log.info("Falling back from {} to {} for {}", from.model().name(), deployment.model().name(), requestId);
            return true;
        }
        return false;
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
                        c.bounded(), c.features(), c.textBytes(), c.prefixHash())));
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
                "could not reach provider " + deployment.provider().name() + ": " + reason(cause));
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
            CallPolicy.Step recovery = planRecovery(retryAfterMillis(head.headers()));
            if (recovery != CallPolicy.Step.GIVE_UP) {
                // Nothing has reached the client: drain this answer, then retry or fall back.
                log.warn("Provider {} answered {} to {}", deployment.provider().name(), status, requestId);
                phase = Phase.DISCARDING;
                recoveryAfterDiscard = recovery;
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
        phase = Phase.RELAYING;
        client.write(out);
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
                exchange.pauseReading();
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
        phase = Phase.ENDED;
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
        exchange.releaseAfterAnswer();
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
        if (phase == Phase.ENDED) {
            return;
        }
        phase = Phase.ENDED;
        closeUpstream();
        keepPartialBody();
        releaseBuffers();
        settle(CallStatus.CLIENT_CANCELLED, 499);
    }

    void onClientWritable() {
        if (exchange != null && client.channel().isWritable()) {
            exchange.resumeReading();
        }
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
        heldErrorHead = null;
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
        keepPartialBody();
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
        policy.health().onFailure();
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
        policy.health().onObserverError();
        log.warn("Could not {} of {} from {}: {}", what, requestId, deployment.provider().name(), e.toString());
    }

    /** Ends the current attempt's hold on its connection without reusing it ({@link UpstreamExchange#close}). */
    private void closeUpstream() {
        if (exchange != null) {
            exchange.close();
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
                policy.totalAttempts(), observer, inputCount, flags, requestSent, status, success, sse, encoded,
                latencyMicros, upstreamMicros, ttftMicros, partialBody, answerBody));
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
