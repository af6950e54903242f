package dev.tokenwise.core.proxy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.auth.KeyRegistry;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.budget.BudgetBook;
import dev.tokenwise.core.error.ErrorResponses;
import dev.tokenwise.core.error.ErrorShape;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.json.ChatBodyReader;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.RecordFlag;
import dev.tokenwise.core.model.TokenCount;
import dev.tokenwise.core.spi.AdmissionStage;
import dev.tokenwise.core.spi.ApiRoute;
import dev.tokenwise.core.spi.ProviderAdapter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client end of every connection: HTTP framing (one request at a time, pipelining, the gateway's own answers and
 * errors), authentication ({@link Credentials}), parsing and dispatch. A proxied call is resolved to where it may go
 * ({@link CallTarget}), admitted ({@link Admission}: the {@link dev.tokenwise.core.spi.AdmissionStage}s, then the
 * budget, {@link BudgetAdmission}) and started as a {@link ProxyCall}, or answered by a stage ({@link StoredReply});
 * anything else is answered locally or by an {@link ApiRoute}.
 *
 * <p>One request per connection is in progress at a time. A request that arrives while another is in
 * progress (HTTP/1.1 pipelining) waits in order, and the channel stops reading (autoRead off) until the
 * queue is empty again; the common case of one request at a time never touches the channel's interest set. Every request
 * buffer is released on every path: forwarded upstream as a retained duplicate, or released here.
 */
final class ClientFrontendHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ClientFrontendHandler.class);
    static final AsciiString REQUEST_ID = AsciiString.cached("x-request-id");
    private static final AsciiString X_TASK_ID = AsciiString.cached("x-task-id");
    private static final AsciiString X_TASK_ATTEMPT = AsciiString.cached("x-task-attempt");
    private static final int MAX_TASK_ID_LENGTH = 128;
    private static final HttpMethod[] ROUTE_METHODS = {HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT,
            HttpMethod.PATCH, HttpMethod.DELETE};

    private final ProxyContext proxy;
    private final ArrayDeque<FullHttpRequest> pipelined = new ArrayDeque<>();
    private boolean busy;
    /** The request being read missed {@code server.request_read_timeout_ms}: 408 and close when its turn comes. */
    private boolean requestTimedOut;
    private ProxyCall current;
    private ChannelHandlerContext ctx;
    /** Reserves each billed call's worst case before it goes upstream. */
    private BudgetAdmission budget;
    /** The shape of the gateway's own errors for the request in progress: the API its route belongs to. */
    private ErrorShape shape = ErrorShape.OPENAI;

    ClientFrontendHandler(ProxyContext proxy) {
        this.proxy = proxy;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.budget = new BudgetAdmission(proxy, this, ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest request)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (busy) {
            // A pipelined request: it waits its turn, and the connection stops reading until then, so a
            // client cannot queue an unbounded number of requests.
            pipelined.add(request);
            ctx.channel().config().setAutoRead(false);
            return;
        }
        handle(request);
    }

    private void handle(FullHttpRequest request) {
        busy = true;
        long startNanos = System.nanoTime();
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        shape = ErrorShape.OPENAI;
        try {
            DecoderResult decoded = request.decoderResult();
            if (decoded.isFailure()) {
                rejectUndecodable(decoded.cause());
                return;
            }
            String uri = request.uri();
            int q = uri.indexOf('?');
            String path = q < 0 ? uri : uri.substring(0, q);
            shape = ErrorShape.forPath(path);
            Endpoint endpoint = Endpoint.ofPath(path);
            if (endpoint != null) {
                String requestId = RequestIds.next();
                try {
                    startCall(request, endpoint, path, requestId, startNanos, keepAlive);
                } catch (GatewayException e) {
                    sendError(ctx, e, requestId, keepAlive).addListener(f -> requestFinished());
                }
                return;
            }
            handleLocal(request, path, q < 0 ? "" : uri.substring(q), keepAlive);
        } catch (GatewayException e) {
            sendError(ctx, e, null, keepAlive).addListener(f -> requestFinished());
        } catch (RuntimeException e) {
            log.error("Unexpected failure handling {} {}", request.method(), request.uri(), e);
            sendError(ctx, ErrorType.INTERNAL, "internal error", null, false);
        } finally {
            request.release();
        }
    }

    private void rejectUndecodable(Throwable cause) {
        ErrorType type = ErrorType.BAD_REQUEST;
        String message = "malformed HTTP request";
        if (cause instanceof TooLongHttpHeaderException) {
            type = ErrorType.HEADERS_TOO_LARGE;
            message = "request headers are too large";
        } else if (cause instanceof TooLongHttpLineException) {
            type = ErrorType.URI_TOO_LONG;
            message = "request line is too long";
        } else if (cause instanceof TooLongFrameException) {
            type = ErrorType.REQUEST_TOO_LARGE;
            message = cause.getMessage() != null ? cause.getMessage() : "request is too large";
        }
        sendError(ctx, type, message, null, false);
    }

    private void startCall(FullHttpRequest request, Endpoint endpoint, String path, String requestId,
                           long startNanos, boolean keepAlive) {
        if (!HttpMethod.POST.equals(request.method())) {
            throw GatewayException.methodNotAllowed(request.method().name(), endpoint.clientPath(), "POST");
        }
        KeyRegistry.KeyEntry key = Credentials.authenticate(proxy, request.headers());
        proxy.accounting().requireRecording(); // a call that could not be booked is not served (503)
        ObjectNode body = parseBody(request.content(), endpoint);
        String model;
        if (endpoint.modelInPath()) {
            model = endpoint.modelOf(path);
            if (model == null) {
                throw new GatewayException(ErrorType.BAD_REQUEST, "the path names no model: " + path);
            }
        } else {
            JsonNode modelNode = body.get("model");
            if (modelNode == null || modelNode.isNull()) {
                throw new GatewayException(ErrorType.BAD_REQUEST, "missing required field: model");
            }
            if (!modelNode.isTextual()) {
                throw new GatewayException(ErrorType.BAD_REQUEST, "field model must be a string");
            }
            model = modelNode.textValue();
        }
        CallTarget target = CallTarget.resolve(proxy, key, model, endpoint, request);
        model = target.model();
        Deployment deployment = target.deployment();
        ProviderAdapter adapter = deployment.adapter();
        boolean stream = endpoint.alwaysStreams() || booleanField(body, "stream");
        String taskId = taskId(request);
        int taskAttempt = taskAttempt(request);

        String upstreamModel = deployment.model().upstreamName();
        List<Deployment> chain = target.chain();
        boolean translated = adapter.translates(endpoint);
        ObjectNode pristine = chain.size() > 1 || translated ? body.deepCopy() : null;
        RequestedOutput requested = RequestedOutput.of(body, endpoint);
        int admissionFlags = (requested.storedContext() ? RecordFlag.STORED_CONTEXT.bit() : 0)
                | (target.unpriced() ? RecordFlag.UNPRICED.bit() : 0);
        ProviderAdapter.Rewrite rewrite = adapter.rewrite(endpoint, body, upstreamModel, stream);
        // Counted after the rewrite: the counter may read the body on a worker thread, so nothing may change it
        // now. A translated call is counted as the client sent it (the pristine copy, never rewritten).
        // A token count is free upstream: nothing to count or reserve, booked at cost 0; rate limits count it as a
        // request, with no tokens.
        CompletableFuture<TokenCount> inputCount = !endpoint.billed() ? CompletableFuture.completedFuture(TokenCount.ZERO)
                : proxy.counter().countInput(model, endpoint, translated ? pristine : body);
        long inputBound = endpoint.billed()
                ? BudgetAdmission.inputTokensBound(inputCount, request.content().readableBytes()) : 0;

        // From here on the call holds what admission acquires; every exit before the call starts gives it back.
        Admission admission = new Admission(requestId);
        admission.hold(target.routed() == null ? null : target.routed().lease());
        admission.run(proxy.stages(), new AdmissionStage.Call(requestId, key.team(), key.id(), model, endpoint,
                inputBound, endpoint.billed() ? budget.outputTokensBound(chain, requested) : 0, startNanos, stream,
                request.headers(), request.content(), requested.maxOutputTokens()));
        java.util.function.Consumer<BudgetBook.Reservation> start = reservation -> {
            ByteBuf upstreamRequest = null;
            boolean begun = false;
            try {
                admission.reserved(proxy.budgets(), reservation);
                ByteBuf upstreamBody;
                if (rewrite.bodyChanged()) {
                    try {
                        upstreamBody = Unpooled.wrappedBuffer(proxy.json().writeValueAsBytes(body));
                    } catch (JsonProcessingException e) {
                        throw new GatewayException(ErrorType.INTERNAL, "could not re-encode the request body");
                    }
                } else {
                    upstreamBody = request.content().retainedDuplicate();
                }
                HttpHeaders forwarded = HeaderFilter.ALREADY_VALIDATED.newHeaders();
                HeaderFilter.copyRequestHeaders(request.headers(), forwarded);
                admission.decorateUpstream(forwarded);
                upstreamRequest = UpstreamRequests.build(deployment, endpoint, rewrite, upstreamBody, forwarded, ctx.alloc());
                UpstreamRequests fallbacks = pristine == null ? null
                        : new UpstreamRequests(endpoint, pristine, forwarded, stream, proxy.json());

                proxy.accounting().begin(requestId);
                begun = true;
                ProxyCall call = new ProxyCall(proxy, this, ctx, requestId, startNanos, System.currentTimeMillis(),
                        key.team(), key.id(), chain, fallbacks, endpoint, keepAlive, taskId, taskAttempt, inputCount,
                        rewrite, stream, upstreamRequest, admission, admissionFlags);
                upstreamRequest = null; // the call owns it, and its admission, now
                current = call;
                try {
                    call.start();
                } catch (RuntimeException e) {
                    call.failToStart(e); // booked and answered like any call that failed before a response
                }
            } catch (RuntimeException e) {
                // The call never existed: nothing went upstream, so nothing is booked and everything is given back.
                admission.abort();
                if (upstreamRequest != null) {
                    upstreamRequest.release();
                }
                if (begun) {
                    proxy.accounting().abandon(requestId);
                }
                throw e;
            }
        };
        Runnable forward = () -> {
            if (endpoint.billed()) {
                budget.reserve(request, admission, requestId, keepAlive, key, chain, inputBound, requested, start);
            } else {
                start.accept(null); // a token count: nothing to reserve
            }
        };
        CompletableFuture<AdmissionStage.Answer> answer = admission.answer();
        if (answer == null) {
            forward.run();
            return;
        }
        // A stage answers the call itself (a cache hit), or will say whether it does once an identical call ends.
        StoredReply reply = new StoredReply(proxy, this, ctx, admission, requestId, key.team(), key.id(), model,
                endpoint, stream, taskId, taskAttempt, startNanos, keepAlive);
        if (answer.isDone()) {
            GatewayException refused = Admission.refusal(answer);
            if (refused != null) {
                admission.abort();
                throw refused;
            }
            reply.serveOr(answer.exceptionally(e -> null).join(), forward);
            return;
        }
        request.retain(); // kept, and the connection busy, until the stage has decided
        answer.whenComplete((stored, error) -> {
            try {
                ctx.executor().execute(() -> resume(request, admission, reply, error == null ? stored : null,
                        Admission.refusal(answer), forward, requestId, keepAlive));
            } catch (RejectedExecutionException shuttingDown) {
                request.release();
            }
        });
    }

    /**
     * Serves the answer a stage decided on for a call that waited, or forwards the call, or answers the refusal a
     * stage made; releases its request.
     */
    private void resume(FullHttpRequest request, Admission admission, StoredReply reply, AdmissionStage.Answer stored,
                        GatewayException refused, Runnable forward, String requestId, boolean keepAlive) {
        try {
            if (!ctx.channel().isActive()) {
                admission.abort(); // the client left while its call waited
                return;
            }
            if (refused != null) {
                admission.abort();
                throw refused;
            }
            reply.serveOr(stored, forward);
        } catch (RuntimeException e) {
            admissionFailed(e, requestId, keepAlive);
        } finally {
            request.release();
        }
    }

    /**
     * A call that waited during its admission (for an identical call, or for the shared budgets) failed when it
     * resumed: a refusal is answered as such and the connection reads on; anything else is a 500 and the close.
     */
    void admissionFailed(RuntimeException e, String requestId, boolean keepAlive) {
        if (e instanceof GatewayException refused) {
            sendError(ctx, refused, requestId, keepAlive).addListener(f -> requestFinished());
        } else {
            log.error("Unexpected failure starting {}", requestId, e);
            sendError(ctx, ErrorType.INTERNAL, "internal error", requestId, false);
        }
    }

    private ObjectNode parseBody(ByteBuf content, Endpoint endpoint) {
        if (!content.isReadable()) {
            throw new GatewayException(ErrorType.BAD_REQUEST, "request body is empty (expected a JSON object)");
        }
        JsonNode node;
        try {
            byte[] bytes = ByteBufUtil.getBytes(content, content.readerIndex(), content.readableBytes(), true);
            ChatBodyReader.requireUtf8(bytes);
            // Chat messages stay as bytes until read (the counter hashes them): a copy the tree may keep.
            node = endpoint == Endpoint.CHAT_COMPLETIONS ? ChatBodyReader.read(proxy.json().getFactory(), bytes)
                    : ChatBodyReader.readStrict(proxy.json().getFactory(), bytes);
        } catch (JsonProcessingException e) {
            // Some failures (nesting or size limits) carry no location.
            String where = e.getLocation() == null ? ""
                    : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw new GatewayException(ErrorType.BAD_REQUEST, "malformed JSON body: " + e.getOriginalMessage() + where);
        } catch (IOException e) {
            throw new GatewayException(ErrorType.BAD_REQUEST, "unreadable request body: " + e.getMessage());
        }
        if (!(node instanceof ObjectNode object)) {
            throw new GatewayException(ErrorType.BAD_REQUEST, "request body must be a JSON object");
        }
        return object;
    }

    private static boolean booleanField(ObjectNode body, String field) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return false;
        }
        if (!node.isBoolean()) {
            throw new GatewayException(ErrorType.BAD_REQUEST, "field " + field + " must be a boolean");
        }
        return node.booleanValue();
    }

    /** The call's {@code X-Task-Id}, or {@code null}; a 400 when it is not 1 to 128 printable characters. */
    static String taskId(FullHttpRequest request) {
        String taskId = request.headers().get(X_TASK_ID);
        if (taskId == null) {
            return null;
        }
        if (taskId.isEmpty() || taskId.length() > MAX_TASK_ID_LENGTH) {
            throw new GatewayException(ErrorType.BAD_REQUEST,
                    "X-Task-Id must be 1 to " + MAX_TASK_ID_LENGTH + " printable characters");
        }
        for (int i = 0; i < taskId.length(); i++) {
            char c = taskId.charAt(i);
            if (c < 0x20 || c > 0x7E) {
                throw new GatewayException(ErrorType.BAD_REQUEST,
                        "X-Task-Id must be 1 to " + MAX_TASK_ID_LENGTH + " printable characters");
            }
        }
        return taskId;
    }

    private static int taskAttempt(FullHttpRequest request) {
        String attempt = request.headers().get(X_TASK_ATTEMPT);
        if (attempt == null) {
            return 0;
        }
        try {
            int n = Integer.parseInt(attempt.trim());
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // answered below
        }
        throw new GatewayException(ErrorType.BAD_REQUEST, "X-Task-Attempt must be a positive integer");
    }

    private void handleLocal(FullHttpRequest request, String path, String query, boolean keepAlive) {
        HttpMethod method = request.method();
        boolean oneModel = path.startsWith(ModelList.PATH_PREFIX) && path.length() > ModelList.PATH_PREFIX.length();
        if (oneModel || "/v1/models".equals(path)) {
            if (!HttpMethod.GET.equals(method)) {
                throw GatewayException.methodNotAllowed(method.name(), path, "GET");
            }
            Principal principal = Credentials.principal(proxy, request.headers());
            if (principal == null) {
                Credentials.authenticate(proxy, request.headers()); // throws the precise 401
            }
            writeLocal(ApiRoute.Response.json(200, oneModel ? ModelList.one(proxy, principal, path)
                    : ModelList.json(proxy, principal)), keepAlive);
            return;
        }
        java.util.Set<String> allowed = new java.util.LinkedHashSet<>();
        for (ApiRoute route : proxy.routes()) {
            if (route.matches(method, path)) {
                byte[] body = new byte[request.content().readableBytes()];
                request.content().getBytes(request.content().readerIndex(), body);
                ApiRoute.Request apiRequest = new ApiRoute.Request(method, path,
                        new QueryStringDecoder(query, false).parameters(), request.headers().copy(), body,
                        Credentials.principal(proxy, request.headers()));
                CompletableFuture<ApiRoute.Response> answer;
                try {
                    answer = route.handle(apiRequest);
                } catch (RuntimeException e) {
                    answer = CompletableFuture.failedFuture(e);
                }
                answer.whenComplete((response, error) -> {
                    if (ctx.executor().inEventLoop()) {
                        writeRouteAnswer(response, error, keepAlive);
                    } else {
                        ctx.executor().execute(() -> writeRouteAnswer(response, error, keepAlive));
                    }
                });
                return;
            }
            for (HttpMethod candidate : ROUTE_METHODS) {
                if (route.matches(candidate, path)) {
                    allowed.add(candidate.name());
                }
            }
        }
        if (!allowed.isEmpty()) {
            throw GatewayException.methodNotAllowed(method.name(), path, String.join(", ", allowed));
        }
        if ("/healthz".equals(path)) {
            // The built-in answer when no route reports health in more detail.
            if (HttpMethod.GET.equals(method) || HttpMethod.HEAD.equals(method)) {
                writeLocal(ApiRoute.Response.json(200, "{\"status\":\"ok\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                        keepAlive);
                return;
            }
            throw GatewayException.methodNotAllowed(method.name(), path, "GET, HEAD");
        }
        throw new GatewayException(ErrorType.NOT_FOUND, "no such endpoint: " + method + " " + path);
    }

    private void writeRouteAnswer(ApiRoute.Response response, Throwable error, boolean keepAlive) {
        if (error != null) {
            Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
            if (cause instanceof GatewayException e) {
                sendError(ctx, e, null, keepAlive).addListener(f -> requestFinished());
            } else {
                log.error("Local route failed", cause);
                sendError(ctx, ErrorType.INTERNAL, "internal error", null, false);
            }
            return;
        }
        writeLocal(response, keepAlive);
    }

    private void writeLocal(ApiRoute.Response answer, boolean keepAlive) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.valueOf(answer.status()), Unpooled.wrappedBuffer(answer.body()));
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, answer.contentType())
                .setInt(HttpHeaderNames.CONTENT_LENGTH, answer.body().length);
        answer.headers().forEach(response.headers()::set);
        write(response, keepAlive).addListener(f -> requestFinished());
    }

    /** Writes a JSON error; closes the connection after it unless {@code keepAlive}. */
    ChannelFuture sendError(ChannelHandlerContext ctx, ErrorType type, String message, String requestId,
                            boolean keepAlive) {
        return sendError(ctx, type, message, requestId, keepAlive, 0);
    }

    /** An error answer; {@code Retry-After} is set when {@code retryAfterSeconds} is positive. */
    ChannelFuture sendError(ChannelHandlerContext ctx, ErrorType type, String message, String requestId,
                            boolean keepAlive, long retryAfterSeconds) {
        FullHttpResponse response = ErrorResponses.response(ctx.alloc(), shape, type, message);
        if (requestId != null) {
            response.headers().set(REQUEST_ID, requestId);
        }
        if (retryAfterSeconds > 0) {
            response.headers().set(HttpHeaderNames.RETRY_AFTER, retryAfterSeconds);
        }
        return write(response, keepAlive);
    }

    private ChannelFuture sendError(ChannelHandlerContext ctx, GatewayException e, String requestId, boolean keepAlive) {
        FullHttpResponse response = ErrorResponses.response(ctx.alloc(), shape, e);
        if (requestId != null) {
            response.headers().set(REQUEST_ID, requestId);
        }
        if (e.allow() != null) {
            response.headers().set(HttpHeaderNames.ALLOW, e.allow());
        }
        if (e.retryAfterSeconds() > 0) {
            response.headers().set(HttpHeaderNames.RETRY_AFTER, e.retryAfterSeconds());
        }
        return write(response, keepAlive);
    }

    private ChannelFuture write(FullHttpResponse response, boolean keepAlive) {
        if (!keepAlive) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        ChannelFuture future = ctx.writeAndFlush(response);
        if (!keepAlive) {
            future.addListener(ChannelFutureListener.CLOSE);
        }
        return future;
    }

    /** An answer a stage gave ({@link StoredReply}) is fully written: read the next request. */
    void replyFinished() {
        requestFinished();
    }

    /** A proxied call is over and its response fully written: read the next request. */
    void callFinished(ProxyCall call) {
        if (current == call) {
            current = null;
        }
        requestFinished();
    }

    private void requestFinished() {
        busy = false;
        current = null;
        if (!ctx.channel().isActive()) {
            return;
        }
        FullHttpRequest next = pipelined.poll();
        if (next != null) {
            handle(next);
        } else if (requestTimedOut) {
            answerRequestTimeout();
        } else if (!ctx.channel().config().isAutoRead()) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    private void answerRequestTimeout() {
        busy = true; // nothing more is handled on this connection
        shape = ErrorShape.OPENAI; // the request never arrived whole: its route is not known
        sendError(ctx, ErrorType.REQUEST_TIMEOUT, "request not received whole within "
                + proxy.config().server().requestReadTimeout().toMillis() + " ms (server.request_read_timeout_ms)",
                null, false);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (current != null) {
            current.onClientWritable();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        ProxyCall call = current;
        current = null;
        if (call != null) {
            call.onClientClosed();
        }
        FullHttpRequest pending;
        while ((pending = pipelined.poll()) != null) {
            pending.release();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ClientReadTimeout.Event.IDLE) {
            if (!busy) {
                ctx.close(); // nothing read for the timeout, and no response in progress
            }
            return;
        }
        if (evt == ClientReadTimeout.Event.REQUEST_INCOMPLETE) {
            // A request still incomplete after the timeout: answered 408 once the responses before it are out.
            requestTimedOut = true;
            ctx.channel().config().setAutoRead(false);
            if (!busy) {
                answerRequestTimeout();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("Client connection failed: {}", cause.toString());
        ctx.close();
    }
}
