package dev.tokenwise.core.proxy;

import dev.tokenwise.core.error.ErrorResponses;
import dev.tokenwise.core.error.ErrorShape;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.spi.ResponseObserver;
import dev.tokenwise.core.sse.SseEventSplitter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay of one call's answer to its client, from the answer's head to the end of its body: the head relayed (or,
 * for an error answer, held until its body is in and cleaned), the body captured for the observer within its limit,
 * server-sent events split, observed, translated and gathered into one chunk per upstream read, the upstream paused
 * while the client cannot take more and resumed when it can, and the last piece held as the end of the response. One
 * per {@link ProxyCall}, made with it; it relays the answer of the attempt that reached the client (a drained error
 * answer that is retried never reaches it). What it learns of the answer ({@link #sse}, {@link #encoded}, the
 * {@link #partialBody} and {@link #answerBody}) goes into the call's settlement.
 *
 * <p>Threading: lives on the client channel's event loop, like its call; no method may be called from another thread.
 *
 * <p>Buffer ownership: each piece of content handed to {@link #content} is the relay's and is released before that
 * method returns; what goes to the client is a retained slice, duplicate or new buffer, released by the client's
 * pipeline once written. The relay owns three buffers of its own between calls: the captured body ({@code captured},
 * a heap copy, at most {@link #MAX_CAPTURED_BODY} bytes, or {@link #MAX_ERROR_BODY} for an error answer), the events
 * of the current upstream read ({@code relayedEvents}, handed to the client at the end of each {@link #content}) and
 * the splitter's partial event; {@link #release} frees them, and is idempotent. The held tail is owned apart: it
 * passes to the caller with {@link #end}, or is freed by {@link #releaseTail} when the client is gone, because the
 * end of the response may wait for the call's record to be durable after everything else was released.
 */
final class AnswerRelay {
    private static final Logger log = LoggerFactory.getLogger(AnswerRelay.class);
    /** Largest non-streamed response body kept to read its usage; larger ones fall back to local counts. */
    static final int MAX_CAPTURED_BODY = 16 * 1024 * 1024;
    /** Largest error answer relayed (held whole to take out what it must not tell the client). */
    static final int MAX_ERROR_BODY = 1024 * 1024;

    private final ProxyCall call;
    private final ChannelHandlerContext client;
    private final String requestId;
    private final Endpoint endpoint;
    private final boolean keepAlive;
    /** What admission acquired for the call: its headers decorate the answer; it may want the body the client got. */
    private final Admission admission;

    /** The deployment and observer of the attempt whose answer is relayed (set by {@link #head}). */
    private Deployment deployment;
    private ResponseObserver observer;
    private int status;
    private boolean success;
    private boolean sse;
    /** The answer has a content encoding: relayed as it came, never read. */
    private boolean encoded;
    private SseEventSplitter splitter;
    private CompositeByteBuf relayedEvents;
    private ByteBuf captured;
    private boolean captureOverflowed;
    /** The last piece of a relayed body, sent as the end of the response (held until durable in strict sync). */
    private ByteBuf heldTail;
    /** The head of an error answer, written once its whole body is in and cleaned (see {@link #finishErrorAnswer}). */
    private HttpResponse heldErrorHead;
    /** The part of a non-streamed answer that arrived before it was cut short, counted as its output. */
    private String partialBody;
    /** The whole body a non-streamed answer's client received, kept only when an admission stage wants it. */
    private byte[] answerBody;

    AnswerRelay(ProxyCall call, ChannelHandlerContext client, String requestId, Endpoint endpoint, boolean keepAlive,
                Admission admission) {
        this.call = call;
        this.client = client;
        this.requestId = requestId;
        this.endpoint = endpoint;
        this.keepAlive = keepAlive;
        this.admission = admission;
    }

    /**
     * The head of the answer to relay, of {@code status}, from {@code deployment} read by {@code observer}: written to
     * the client (not flushed) with the gateway's headers when it is a success, else held with its body until
     * {@link #finish}. Returns whether it went out: from then on nothing may be retried.
     */
    boolean head(HttpResponse head, int status, Deployment deployment, ResponseObserver observer) {
        this.deployment = deployment;
        this.observer = observer;
        this.status = status;
        this.success = status >= 200 && status < 300;
        String contentType = head.headers().get(HttpHeaderNames.CONTENT_TYPE, "");
        String encoding = head.headers().get(HttpHeaderNames.CONTENT_ENCODING);
        // The gateway asks for identity; an answer encoded all the same is relayed as it came, and not read.
        encoded = encoding != null && !HttpHeaderValues.IDENTITY.contentEqualsIgnoreCase(encoding.trim());
        if (encoded && success) {
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
            heldErrorHead = out; // held with its body, which is cleaned before it goes out (finishErrorAnswer)
            return false;
        }
        client.write(out);
        return true;
    }

    /** Whether the answer is relayed as server-sent events. */
    boolean sse() {
        return sse;
    }

    /** Whether the answer came in a content encoding, relayed as it came and never read. */
    boolean encoded() {
        return encoded;
    }

    /** What arrived of a non-streamed answer cut short ({@link #keepPartialBody}), or {@code null}. */
    String partialBody() {
        return partialBody;
    }

    /** The body the client received, when an admission stage wants it, or {@code null}. */
    byte[] answerBody() {
        return answerBody;
    }

    /**
     * One piece of the answer's body ({@code last}: its end), released here: relayed (events gathered, written once per
     * piece), captured, or held. When more is to come and the client cannot take it, {@code exchange} stops reading
     * until {@link #clientWritable}.
     */
    void content(HttpContent content, boolean last, UpstreamExchange exchange) {
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
                    // Held whole in `captured` and translated when complete (finish).
                } else if (last) {
                    // The final bytes go out as the end of the response (end): one encoder pass and one outbound
                    // message fewer. With storage.sync strict they wait until the call's record is durable.
                    heldTail = bytes.isReadable() ? bytes.retain() : null;
                } else if (bytes.isReadable()) {
                    client.write(new DefaultHttpContent(bytes.retain()));
                }
            }
        } finally {
            content.release();
        }
        // Flushed once per upstream read batch (flush), not per piece: one write system call carries everything that
        // arrived together.
        if (!last && !client.channel().isWritable()) {
            // The client is slower than the provider: stop reading upstream until it catches up.
            exchange.pauseReading();
        }
    }

    /** The upstream read batch ended: sends what was relayed. */
    void flush() {
        client.flush();
    }

    /** The client's channel became writable (or not): {@code exchange} reads again once it can take more. */
    void clientWritable(UpstreamExchange exchange) {
        if (exchange != null && client.channel().isWritable()) {
            exchange.resumeReading();
        }
    }

    private void relayEvent(ByteBuf event) {
        boolean forward;
        try {
            forward = observer.onEvent(event);
        } catch (RuntimeException e) {
            call.observerFailed("read an event", e);
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
            call.observerFailed("translate an event", e);
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
     * Gathers the events of one upstream read to be written as one chunk ({@link #writeRelayed}): a chunk per event
     * would cost an encoder pass, a chunk header and an iovec each.
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

    /**
     * The answer's body is complete: the observer reads a captured body, a translated body or a held error answer is
     * written (not flushed), and every buffer but the tail is released. The response ends with {@link #end}.
     */
    void finish() {
        if (!sse && success && !encoded && captured != null && captured.isReadable()) {
            try {
                observer.onBody(captured);
            } catch (RuntimeException e) {
                call.observerFailed("read the answer", e);
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
        release();
    }

    /** The end of the response, carrying the held tail if there is one; the caller owns it (writing it releases it). */
    LastHttpContent end() {
        ByteBuf tail = heldTail;
        heldTail = null;
        return tail == null ? LastHttpContent.EMPTY_LAST_CONTENT : new DefaultLastHttpContent(tail);
    }

    /**
     * Writes the head of an error answer held by {@link #head} and keeps its body, cleaned by
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
            body = ErrorResponses.body(ErrorShape.forPath(endpoint.clientPath()), ErrorType.UPSTREAM_FAILED, "provider "
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
            call.observerFailed("translate the answer", e);
            translated = null;
        }
        if (translated == null) {
            // Nothing to translate (or it failed): the client still gets a well-formed JSON error.
            translated = Unpooled.wrappedBuffer(ErrorResponses.body(ErrorType.UPSTREAM_FAILED,
                    "could not translate the answer of provider " + deployment.provider().name()));
        } else if (admission.wantsAnswer()) {
            answerBody = ByteBufUtil.getBytes(translated);
        }
        client.write(new DefaultHttpContent(translated));
    }

    /** The call ends before its answer is relayed: a held error head is dropped (it holds no buffer). */
    void dropHeldHead() {
        heldErrorHead = null;
    }

    /**
     * Keeps, as text, the part of a non-streamed answer that arrived before the call ended early: the observer reads
     * a body only whole, so this part stands for what was produced (the settlement counts it as the output).
     */
    void keepPartialBody() {
        if (!sse && success && captured != null && captured.isReadable()) {
            partialBody = captured.toString(StandardCharsets.UTF_8);
        }
    }

    /** Releases the relay's buffers but the held tail (see the class comment). Idempotent. */
    void release() {
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
    }

    /** The client is gone: the held tail will never be written. Idempotent. */
    void releaseTail() {
        if (heldTail != null) {
            heldTail.release();
            heldTail = null;
        }
    }
}
