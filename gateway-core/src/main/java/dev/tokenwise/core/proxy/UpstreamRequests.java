package dev.tokenwise.core.proxy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenCount;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.TokenCounter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Builds upstream requests. The first attempt of a call forwards the client's bytes when the adapter
 * changed nothing; a fallback to another model re-runs its adapter's rewrite on a pristine copy of the
 * client's body (kept only for models that have fallbacks).
 *
 * <p>A request is built once into its bytes (request line, headers, then the body, as one composite buffer) and
 * each attempt writes a duplicate of them: the upstream pipeline has a response decoder but no request encoder,
 * so no attempt copies headers into a request object or encodes them again.
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

    /** A request's bytes and what the adapter's rewrite did, for the call's observer. */
    record Built(ByteBuf request, ProviderAdapter.Rewrite rewrite) {
    }

    /** A copy of the client's body as it came, for whoever needs one of their own (e.g. the counter). */
    ObjectNode pristineCopy() {
        return pristineBody.deepCopy();
    }

    /**
     * The input counted again by {@code counter} for {@code model}, a fallback now tried (its tokenizer may be another,
     * or exact where the first was not), keeping the {@code first} count's content hash: the prompt is the same, and
     * the retry flag compares the hashes of calls that asked for the same model. Counts a copy of the pristine body.
     */
    CompletableFuture<TokenCount> recount(String model, CompletableFuture<TokenCount> first, TokenCounter counter) {
        ObjectNode body = pristineCopy();
        return first.handle((counted, error) -> counted).thenCompose(counted -> counter
                .countInput(model, endpoint, body)
                .thenApply(c -> counted == null ? c : new TokenCount(c.tokens(), c.estimated(), counted.contentHash(),
                        c.bounded(), c.features(), c.textBytes(), c.prefixHash())));
    }

    /** The request for a fallback deployment. */
    Built forFallback(Deployment deployment, ByteBufAllocator alloc) {
        ObjectNode body = pristineBody.deepCopy();
        ProviderAdapter.Rewrite rewrite = deployment.adapter().rewrite(endpoint, body,
                deployment.model().upstreamName(), stream);
        ByteBuf bytes;
        try {
            bytes = Unpooled.wrappedBuffer(json.writeValueAsBytes(body));
        } catch (JsonProcessingException e) {
            throw new GatewayException(ErrorType.INTERNAL, "could not encode the request for " + deployment.model().name());
        }
        return new Built(build(deployment, endpoint, rewrite, bytes, clientHeaders, alloc), rewrite);
    }

    private static final byte[] POST = "POST ".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final byte[] HTTP_1_1_CRLF = " HTTP/1.1\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final short COLON_SPACE = (short) (':' << 8 | ' ');
    private static final short CRLF = (short) ('\r' << 8 | '\n');
    /** Bodies up to this size are copied into the head's buffer; larger ones are sent from where they are. */
    static final int COPY_BODY_BYTES = 2048;

    /**
     * The bytes of a {@code POST} to the deployment carrying {@code body} (ownership passes to the result) with
     * {@code forwardedHeaders} (less the client's provider-account headers, unless the deployment's provider
     * forwards them: {@link HeaderFilter#removeProviderAccountHeaders}), the gateway's {@code Host},
     * {@code Accept-Encoding: identity} and {@code Content-Length}, and the adapter's credentials. The headers the
     * gateway and the adapter set are validated as they are set, as in a request object.
     */
    static ByteBuf build(Deployment deployment, Endpoint endpoint, ProviderAdapter.Rewrite rewrite, ByteBuf body,
                         HttpHeaders forwardedHeaders, ByteBufAllocator alloc) {
        String uri = deployment.origin().basePath()
                + deployment.adapter().upstreamPath(endpoint, deployment.model().upstreamName(), rewrite);
        HttpHeaders headers;
        try {
            checkUri(uri);
            headers = new DefaultHttpHeaders().add(forwardedHeaders)
                    .set(HttpHeaderNames.HOST, deployment.origin().hostHeader())
                    // The gateway reads every answer for its usage: it asks for one it can read, whatever the client accepts.
                    .set(HttpHeaderNames.ACCEPT_ENCODING, HttpHeaderValues.IDENTITY)
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
            if (!deployment.provider().forwardClientOrgHeaders()) {
                HeaderFilter.removeProviderAccountHeaders(headers);
            }
            deployment.adapter().authorize(headers);
        } catch (RuntimeException e) {
            body.release();
            throw e;
        }
        // A small body is copied after the head: one buffer (one iovec) instead of a composite of two.
        boolean copyBody = body.readableBytes() <= COPY_BODY_BYTES;
        ByteBuf head = alloc.directBuffer(256 + uri.length() + (copyBody ? body.readableBytes() : 0));
        head.writeBytes(POST);
        ByteBufUtil.writeAscii(head, uri);
        head.writeBytes(HTTP_1_1_CRLF);
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            writeAscii(head, e.getKey());
            head.writeShort(COLON_SPACE);
            writeAscii(head, e.getValue());
            head.writeShort(CRLF);
        }
        head.writeShort(CRLF);
        if (copyBody) {
            head.writeBytes(body);
            body.release();
            return head;
        }
        return Unpooled.wrappedBuffer(head, body);
    }

    /** As Netty's request encoder writes a header: each character as one byte, those past ASCII as {@code ?}. */
    private static void writeAscii(ByteBuf out, CharSequence text) {
        if (text instanceof AsciiString ascii) {
            out.writeBytes(ascii.array(), ascii.arrayOffset(), ascii.length());
        } else {
            out.writeCharSequence(text, java.nio.charset.StandardCharsets.US_ASCII);
        }
    }

    /** A request target must not contain white space or control characters (they would end the request line). */
    private static void checkUri(String uri) {
        for (int i = 0, n = uri.length(); i < n; i++) {
            char c = uri.charAt(i);
            if (c <= ' ' || c == 0x7f) {
                throw new IllegalArgumentException("the upstream path contains a space or a control character: " + uri);
            }
        }
        if (uri.isEmpty() || uri.charAt(0) != '/') {
            throw new IllegalArgumentException("the upstream path does not start with a slash: " + uri);
        }
    }
}
