package dev.tokenwise.providers.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.spi.TokenCounter;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the simulated OpenAI API on one connection, one request at a time.
 *
 * <p>Reads are explicit (autoRead is off): the handler asks for the next request only once the previous
 * response is fully written, so a slow client holds back its own connection and nothing else. Requests a
 * client pipelines anyway wait in a queue, already copied out of their buffers. Token counting may complete
 * on another thread; its result hops back to the event loop before anything is written.
 */
final class SimulatorHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private static final Logger log = LoggerFactory.getLogger(SimulatorHandler.class);

    private static final String CHAT_PATH = Endpoint.CHAT_COMPLETIONS.clientPath();
    private static final String EMBEDDINGS_PATH = Endpoint.EMBEDDINGS.clientPath();
    private static final String MODELS_PATH = "/v1/models";

    private final SimulatorSettings settings;
    private final TokenCounter counter;
    private final StreamStats stats;
    private final SkilledAnswers skilled;
    private final Queue<Call> waiting = new ArrayDeque<>();

    private boolean busy;
    private ChatCompletionStream stream;

    SimulatorHandler(SimulatorSettings settings, TokenCounter counter, StreamStats stats, SkilledAnswers skilled) {
        this.settings = settings;
        this.counter = counter;
        this.stats = stats;
        this.skilled = skilled;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        ctx.read();
        super.channelActive(ctx);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        waiting.add(Call.of(request));
        if (!busy) {
            serveNext(ctx);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        if (stream != null) {
            stream.writabilityChanged();
        }
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (stream != null) {
            stream.abort();
            stream = null;
        }
        waiting.clear();
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("Simulator connection {} failed; closing it", ctx.channel(), cause);
        ctx.close();
    }

    private void serveNext(ChannelHandlerContext ctx) {
        Call call = waiting.poll();
        if (call == null) {
            busy = false;
            ctx.read();
            return;
        }
        busy = true;
        try {
            dispatch(ctx, call);
        } catch (InvalidRequestException e) {
            sendError(ctx, call, HttpResponseStatus.BAD_REQUEST, e.getMessage(), "invalid_request_error",
                    e.param(), e.code());
        } catch (RuntimeException e) {
            // E.g. a token counter that throws instead of failing its future.
            log.warn("Simulator failed to serve {} {}", call.method, call.path, e);
            sendError(ctx, call.withoutKeepAlive(), HttpResponseStatus.INTERNAL_SERVER_ERROR,
                    "The simulator failed to serve this request.", "server_error", null, null);
        }
    }

    private void dispatch(ChannelHandlerContext ctx, Call call) {
        if (call.undecodable) {
            sendError(ctx, call.withoutKeepAlive(), HttpResponseStatus.BAD_REQUEST,
                    "The request could not be decoded as HTTP.", "invalid_request_error", null, null);
            return;
        }
        String path = call.path;
        if (path.equals(CHAT_PATH)) {
            if (requireMethod(ctx, call, HttpMethod.POST)) {
                chatCompletion(ctx, call, ChatRequest.parse(call.jsonBody()));
            }
        } else if (path.equals(EMBEDDINGS_PATH)) {
            if (requireMethod(ctx, call, HttpMethod.POST)) {
                embeddings(ctx, call, EmbeddingRequest.parse(call.jsonBody(), settings.embeddingDimensions()));
            }
        } else if (path.equals(MODELS_PATH)) {
            if (requireMethod(ctx, call, HttpMethod.GET)) {
                sendJson(ctx, call, HttpResponseStatus.OK, SimulatorJson.models(settings.models()));
            }
        } else if (path.startsWith(MODELS_PATH + "/")) {
            if (requireMethod(ctx, call, HttpMethod.GET)) {
                String id = QueryStringDecoder.decodeComponent(path.substring(MODELS_PATH.length() + 1));
                if (settings.models().contains(id)) {
                    sendJson(ctx, call, HttpResponseStatus.OK, SimulatorJson.model(id));
                } else {
                    sendError(ctx, call, HttpResponseStatus.NOT_FOUND, "The model '" + id + "' does not exist",
                            "invalid_request_error", "model", "model_not_found");
                }
            }
        } else {
            sendError(ctx, call, HttpResponseStatus.NOT_FOUND, "Invalid URL (" + call.method + " " + path + ")",
                    "invalid_request_error", null, null);
        }
    }

    private boolean requireMethod(ChannelHandlerContext ctx, Call call, HttpMethod allowed) {
        if (call.method.equals(allowed)) {
            return true;
        }
        FullHttpResponse response = jsonResponse(ctx, HttpResponseStatus.METHOD_NOT_ALLOWED,
                SimulatorJson.error("Method " + call.method + " is not allowed for " + call.path + " (expected: "
                        + allowed + ")", "invalid_request_error", null, "method_not_allowed"));
        response.headers().set(HttpHeaderNames.ALLOW, allowed.name());
        send(ctx, call, response);
        return false;
    }

    private void chatCompletion(ChannelHandlerContext ctx, Call call, ChatRequest request) {
        CompletableFuture<SimulatedCompletion> answer = skilled.answer(request)
                .map(pieces -> SimulatedCompletion.compute(request, pieces, counter))
                .orElseGet(() -> SimulatedCompletion.compute(request, settings.maxOutputWords(), counter));
        onEventLoop(ctx, call, answer, completion -> {
            String id = "chatcmpl-sim-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
            long created = System.currentTimeMillis() / 1000;
            if (!request.stream()) {
                sendJson(ctx, call, HttpResponseStatus.OK,
                        SimulatorJson.chatCompletion(id, created, request.model(), completion));
                return;
            }
            HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
            head.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE);
            HttpUtil.setTransferEncodingChunked(head, true);
            HttpUtil.setKeepAlive(head, call.keepAlive);
            stream = new ChatCompletionStream(ctx, id, created, request.model(), completion,
                    request.includeUsage(), settings, stats, () -> {
                        stream = null;
                        responseWritten(ctx, call);
                    });
            stream.start(head);
        });
    }

    private void embeddings(ChannelHandlerContext ctx, Call call, EmbeddingRequest request) {
        CompletableFuture<Long> promptTokens = counter.countInput(request.model(), Endpoint.EMBEDDINGS, request.body())
                .thenApply(count -> count.tokens());
        onEventLoop(ctx, call, promptTokens, tokens -> {
            List<float[]> vectors = new ArrayList<>(request.inputs().size());
            for (String input : request.inputs()) {
                vectors.add(EmbeddingVectors.of(input, request.dimensions()));
            }
            sendJson(ctx, call, HttpResponseStatus.OK, SimulatorJson.embeddings(request, vectors, tokens));
        });
    }

    /** Runs {@code then} on the channel's event loop once {@code future} completes, unless the client left. */
    private <T> void onEventLoop(ChannelHandlerContext ctx, Call call, CompletableFuture<T> future,
                                 Consumer<T> then) {
        future.whenComplete((value, failure) -> {
            try {
                ctx.executor().execute(() -> {
                    if (!ctx.channel().isActive()) {
                        return;
                    }
                    if (failure != null) {
                        log.warn("Simulator could not count tokens", failure);
                        sendError(ctx, call.withoutKeepAlive(), HttpResponseStatus.INTERNAL_SERVER_ERROR,
                                "The simulator could not count tokens.", "server_error", null, null);
                        return;
                    }
                    try {
                        then.accept(value);
                    } catch (RuntimeException e) {
                        // Part of a response may be written already: the connection cannot be reused.
                        log.warn("Simulator failed to answer {} {}", call.method, call.path, e);
                        ctx.close();
                    }
                });
            } catch (RejectedExecutionException e) {
                // The simulator is shutting down; its channels close with it.
            }
        });
    }

    private void sendJson(ChannelHandlerContext ctx, Call call, HttpResponseStatus status, JsonNode body) {
        send(ctx, call, jsonResponse(ctx, status, body));
    }

    private void sendError(ChannelHandlerContext ctx, Call call, HttpResponseStatus status, String message,
                           String type, String param, String code) {
        sendJson(ctx, call, status, SimulatorJson.error(message, type, param, code));
    }

    private static FullHttpResponse jsonResponse(ChannelHandlerContext ctx, HttpResponseStatus status,
                                                 JsonNode body) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                SimulatorJson.write(ctx.alloc(), body));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        HttpUtil.setContentLength(response, response.content().readableBytes());
        return response;
    }

    private void send(ChannelHandlerContext ctx, Call call, FullHttpResponse response) {
        HttpUtil.setKeepAlive(response, call.keepAlive);
        ctx.writeAndFlush(response).addListener((ChannelFutureListener) f -> {
            if (f.isSuccess()) {
                responseWritten(ctx, call);
            } else {
                f.channel().close();
            }
        });
    }

    private void responseWritten(ChannelHandlerContext ctx, Call call) {
        if (call.keepAlive) {
            serveNext(ctx);
        } else {
            ctx.close();
        }
    }

    /** A request copied out of its buffers, so it can wait in the queue after the request is released. */
    private static final class Call {
        final HttpMethod method;
        final String path;
        final boolean keepAlive;
        final boolean undecodable;
        private final JsonNode body;
        private final boolean malformedBody;

        private Call(HttpMethod method, String path, boolean keepAlive, boolean undecodable, JsonNode body,
                     boolean malformedBody) {
            this.method = method;
            this.path = path;
            this.keepAlive = keepAlive;
            this.undecodable = undecodable;
            this.body = body;
            this.malformedBody = malformedBody;
        }

        static Call of(FullHttpRequest request) {
            String path = new QueryStringDecoder(request.uri()).path();
            boolean keepAlive = HttpUtil.isKeepAlive(request);
            if (request.decoderResult().isFailure()) {
                return new Call(request.method(), path, false, true, null, false);
            }
            if (!request.method().equals(HttpMethod.POST)) {
                return new Call(request.method(), path, keepAlive, false, null, false);
            }
            try {
                JsonNode body = SimulatorJson.parse(request.content());
                return new Call(request.method(), path, keepAlive, false, body, body == null || body.isMissingNode());
            } catch (IOException e) {
                return new Call(request.method(), path, keepAlive, false, null, true);
            }
        }

        Call withoutKeepAlive() {
            return new Call(method, path, false, undecodable, body, malformedBody);
        }

        /** The body as a JSON object, or an {@link InvalidRequestException} in OpenAI's words. */
        ObjectNode jsonBody() {
            if (malformedBody) {
                throw new InvalidRequestException("We could not parse the JSON body of your request. The API "
                        + "expects a JSON payload, but what was sent was not valid JSON.", null, null);
            }
            if (!body.isObject()) {
                throw new InvalidRequestException("The request body must be a JSON object.", null, null);
            }
            return (ObjectNode) body;
        }
    }
}
