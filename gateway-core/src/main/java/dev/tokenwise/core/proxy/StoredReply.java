package dev.tokenwise.core.proxy;

import dev.tokenwise.core.model.CacheStatus;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.AdmissionStage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A call an admission stage answered itself (a response cache hit, {@link AdmissionStage.Lease#answer}): its answer
 * is written from memory on the event loop, nothing goes upstream, no budget is reserved or charged, and the call is
 * booked as its own record: cost 0, {@code saved_nanos} what the call that first got the answer cost, tokens as
 * that call's provider reported them, cache status {@link CacheStatus#HIT}. Its admission settles against that
 * record (a rate limit counts it as a request, not as tokens). With {@code storage.sync: strict} the end of the
 * response waits for the record to be durable, as a proxied call's does.
 *
 * <p>Made for a call whose stage has (or will have) an answer; {@link #serveOr} then serves it, or forwards the call
 * when the stage had none after all.
 */
final class StoredReply {
    private static final Logger log = LoggerFactory.getLogger(StoredReply.class);
    private static final long STRICT_WAIT_SECONDS = 30;

    private final ProxyContext proxy;
    private final ClientFrontendHandler frontend;
    private final ChannelHandlerContext client;
    private final Admission admission;
    private final String requestId;
    private final String team;
    private final String keyId;
    private final String requestedModel;
    private final Endpoint endpoint;
    private final boolean stream;
    private final String taskId;
    private final int taskAttempt;
    private final long startNanos;
    private final boolean keepAlive;

    StoredReply(ProxyContext proxy, ClientFrontendHandler frontend, ChannelHandlerContext client, Admission admission,
                String requestId, String team, String keyId, String requestedModel, Endpoint endpoint, boolean stream,
                String taskId, int taskAttempt, long startNanos, boolean keepAlive) {
        this.proxy = proxy;
        this.frontend = frontend;
        this.client = client;
        this.admission = admission;
        this.requestId = requestId;
        this.team = team;
        this.keyId = keyId;
        this.requestedModel = requestedModel;
        this.endpoint = endpoint;
        this.stream = stream;
        this.taskId = taskId;
        this.taskAttempt = taskAttempt;
        this.startNanos = startNanos;
        this.keepAlive = keepAlive;
    }

    /** Serves {@code answer}, or, when it is {@code null}, runs {@code forward} (the call goes upstream after all). */
    void serveOr(AdmissionStage.Answer answer, Runnable forward) {
        if (answer == null) {
            forward.run();
        } else {
            serve(answer);
        }
    }

    private void serve(AdmissionStage.Answer answer) {
        long createdAtMillis = System.currentTimeMillis();
        proxy.accounting().begin(requestId);
        ByteBuf body = Unpooled.wrappedBuffer(answer.body().toArray(new byte[0][]));
        HttpHeaders headers;
        HttpResponse head;
        boolean strict = proxy.durability() != null;
        if (strict) {
            head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, HeaderFilter.ALREADY_VALIDATED);
        } else {
            head = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, body,
                    HeaderFilter.ALREADY_VALIDATED, HeaderFilter.ALREADY_VALIDATED);
        }
        headers = head.headers();
        headers.set(HttpHeaderNames.CONTENT_TYPE, answer.contentType())
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
                .set(ClientFrontendHandler.REQUEST_ID, requestId);
        admission.decorate(headers);
        if (!keepAlive) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        long writtenNanos = System.nanoTime();
        if (!strict) {
            client.writeAndFlush((FullHttpResponse) head).addListener(f -> {
                try {
                    book(answer.original(), f.isSuccess() ? CallStatus.OK : CallStatus.CLIENT_CANCELLED, createdAtMillis,
                            writtenNanos);
                } finally {
                    end(f.isSuccess());
                }
            });
            return;
        }
        // Strict: the head goes out now, the body once the record is durable.
        client.writeAndFlush(head);
        CompletableFuture<Void> durable = proxy.durability().whenDurable(requestId);
        book(answer.original(), CallStatus.OK, createdAtMillis, writtenNanos);
        durable.orTimeout(STRICT_WAIT_SECONDS, TimeUnit.SECONDS).whenComplete((ok, error) -> client.executor().execute(() -> {
            if (error != null) {
                log.error("Record of {} not durable after {} s; completing the response anyway", requestId,
                        STRICT_WAIT_SECONDS);
            }
            client.writeAndFlush(new DefaultLastHttpContent(body)).addListener(f -> end(f.isSuccess()));
        }));
    }

    /** Books the hit: the answer's original usage, cost 0, what the original cost as saved; settles the admission. */
    private void book(UsageRecord original, CallStatus status, long createdAtMillis, long writtenNanos) {
        long now = System.nanoTime();
        UsageRecord record = UsageRecord.builder().id(requestId).team(team).keyId(keyId).model(original.model())
                .provider(original.provider()).endpoint(endpoint).stream(stream).status(status).httpStatus(200)
                .usage(original.usage()).usageFromProvider(original.usageFromProvider())
                .localInputTokens(original.localInputTokens()).localOutputTokens(original.localOutputTokens())
                .localEstimated(original.localEstimated()).taskId(taskId).taskAttempt(taskAttempt)
                .finishReason(original.finishReason()).createdAtMillis(createdAtMillis)
                .latencyMicros((now - startNanos) / 1000).ttftMicros((writtenNanos - startNanos) / 1000)
                .promptHash(original.promptHash()).requestedModel(requestedModel)
                .cache(CacheStatus.HIT).savedNanos(original.costNanos())
                .instance(proxy.config().cluster().instanceId())
                .build();
        UsageRecord booked = record;
        try {
            booked = admission.settle(record, null);
        } finally {
            proxy.accounting().settle(booked);
        }
    }

    private void end(boolean written) {
        if (!keepAlive || !written) {
            client.close();
        } else {
            frontend.replyFinished();
        }
    }
}
