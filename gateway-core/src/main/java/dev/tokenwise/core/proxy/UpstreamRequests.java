package dev.tokenwise.core.proxy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.spi.ProviderAdapter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;

/**
 * Builds upstream requests. The first attempt of a call forwards the client's bytes when the adapter
 * changed nothing; a fallback to another model re-runs its adapter's rewrite on a pristine copy of the
 * client's body (kept only for models that have fallbacks).
 */
final class UpstreamRequests {
    private final Endpoint endpoint;
    private final ObjectNode pristineBody;
    private final HttpHeaders clientHeaders;
    private final boolean stream;
    private final ObjectMapper json;

    /**
     * @param pristineBody the client's body before any rewrite (a copy the caller does not touch again)
     * @param clientHeaders the client's headers, already filtered with {@link HeaderFilter#copyRequestHeaders}
     */
    UpstreamRequests(Endpoint endpoint, ObjectNode pristineBody, HttpHeaders clientHeaders, boolean stream,
                     ObjectMapper json) {
        this.endpoint = endpoint;
        this.pristineBody = pristineBody;
        this.clientHeaders = clientHeaders;
        this.stream = stream;
        this.json = json;
    }

    /** A request and what the adapter's rewrite did, for the call's observer. */
    record Built(FullHttpRequest request, ProviderAdapter.Rewrite rewrite) {
    }

    /** The request for a fallback deployment. */
    Built forFallback(Deployment deployment) {
        ObjectNode body = pristineBody.deepCopy();
        ProviderAdapter.Rewrite rewrite = deployment.adapter().rewrite(endpoint, body,
                deployment.model().upstreamName(), stream);
        ByteBuf bytes;
        try {
            bytes = Unpooled.wrappedBuffer(json.writeValueAsBytes(body));
        } catch (JsonProcessingException e) {
            throw new GatewayException(ErrorType.INTERNAL, "could not encode the request for " + deployment.model().name());
        }
        HttpHeaders headers = new DefaultHttpHeaders().add(clientHeaders);
        return new Built(build(deployment, endpoint, bytes, headers), rewrite);
    }

    /** An upstream request carrying {@code body} (ownership passes to the request) with {@code forwardedHeaders}. */
    static FullHttpRequest build(Deployment deployment, Endpoint endpoint, ByteBuf body, HttpHeaders forwardedHeaders) {
        FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST,
                deployment.origin().basePath() + deployment.adapter().upstreamPath(endpoint, deployment.model().upstreamName()),
                body);
        request.headers().add(forwardedHeaders)
                .set(HttpHeaderNames.HOST, deployment.origin().hostHeader())
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        deployment.adapter().authorize(request.headers());
        return request;
    }
}
