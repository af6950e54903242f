package dev.tokenwise.core.proxy;

import static dev.tokenwise.core.spi.ProviderAdapter.Rewrite.UNCHANGED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.config.ModelConfig;
import dev.tokenwise.core.config.ProviderConfig;
import dev.tokenwise.core.config.Resilience;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.ResponseObserver;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpVersion;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The bytes of an upstream request, read back by Netty's own request decoder. */
class UpstreamRequestsTest {

    /** An adapter that sends to {@code path} with a bearer credential. */
    private static ProviderAdapter adapter(String path) {
        return adapter(path, "Bearer sk-upstream");
    }

    /** An adapter that sends to {@code path} with {@code authorization}. */
    private static ProviderAdapter adapter(String path, String authorization) {
        return new ProviderAdapter() {
            @Override
            public boolean supports(Endpoint endpoint) {
                return true;
            }

            @Override
            public String upstreamPath(Endpoint endpoint, String upstreamModel) {
                return path;
            }

            @Override
            public void authorize(HttpHeaders upstreamHeaders) {
                upstreamHeaders.set("Authorization", authorization);
                if (!upstreamHeaders.contains("x-api-version")) {
                    upstreamHeaders.set("x-api-version", "default");
                }
            }

            @Override
            public Rewrite rewrite(Endpoint endpoint, ObjectNode body, String upstreamModel, boolean stream) {
                return Rewrite.UNCHANGED;
            }

            @Override
            public ResponseObserver observer(Endpoint endpoint, boolean stream, Rewrite rewrite) {
                return new TranslatingRelayTest.TranslatingAdapter().observer(endpoint, stream, rewrite);
            }
        };
    }

    private static Deployment deployment(String baseUrl, String path) {
        return deployment(baseUrl, path, false);
    }

    private static Deployment deployment(String baseUrl, String path, boolean forwardClientOrgHeaders) {
        URI base = URI.create(baseUrl);
        ProviderConfig provider = new ProviderConfig("p", "test", base, null, null, Duration.ofSeconds(2),
                Duration.ofSeconds(2), 8, Map.of(), Resilience.DEFAULTS, forwardClientOrgHeaders);
        ModelConfig model = new ModelConfig("m", "p", "m-upstream", ModelPrice.of(1, 1));
        return new Deployment(model, provider, adapter(path), Origin.of(base));
    }

    private static FullHttpRequest decode(ByteBuf bytes) {
        EmbeddedChannel channel = new EmbeddedChannel(new HttpRequestDecoder(), new HttpObjectAggregator(1 << 20));
        try {
            channel.writeInbound(bytes);
            FullHttpRequest request = channel.readInbound();
            assertTrue(request.decoderResult().isSuccess(), request.decoderResult().toString());
            assertNull(channel.readInbound(), "one request, nothing after it");
            return request;
        } finally {
            channel.finishAndReleaseAll();
        }
    }

    @Test
    void writesThePostLineTheForwardedHeadersHostLengthAndCredentialsThenTheBody() {
        HttpHeaders forwarded = new DefaultHttpHeaders().add("Content-Type", "application/json")
                .add("x-api-version", "2024-06-01").add("Accept", "a").add("Accept", "b");
        byte[] body = "{\"model\":\"m\",\"messages\":[]}".getBytes(StandardCharsets.UTF_8);
        ByteBuf bytes = UpstreamRequests.build(deployment("https://api.example.com:8443/v1/", "/chat/completions"),
                Endpoint.CHAT_COMPLETIONS, UNCHANGED, Unpooled.wrappedBuffer(body), forwarded, ByteBufAllocator.DEFAULT);
        FullHttpRequest request = decode(bytes);
        try {
            assertEquals(HttpMethod.POST, request.method());
            assertEquals(HttpVersion.HTTP_1_1, request.protocolVersion());
            assertEquals("/v1/chat/completions", request.uri());
            HttpHeaders h = request.headers();
            assertEquals("api.example.com:8443", h.get("Host"));
            assertEquals(String.valueOf(body.length), h.get("Content-Length"));
            assertEquals("identity", h.get("Accept-Encoding"), "an answer the gateway can read");
            assertEquals("Bearer sk-upstream", h.get("Authorization"));
            assertEquals("2024-06-01", h.get("x-api-version"), "the adapter sees the client's headers");
            assertEquals("application/json", h.get("Content-Type"));
            assertEquals(List.of("a", "b"), h.getAll("Accept"));
            assertEquals(new String(body, StandardCharsets.UTF_8), request.content().toString(StandardCharsets.UTF_8));
        } finally {
            request.release();
        }
    }

    @Test
    void dropsTheClientsOrganizationAndProjectHeadersUnlessTheProviderForwardsThem() {
        HttpHeaders forwarded = new DefaultHttpHeaders().add("OpenAI-Organization", "org-client")
                .add("openai-project", "proj-client").add("OpenAI-Beta", "assistants=v2");
        for (boolean forward : new boolean[] {false, true}) {
            ByteBuf bytes = UpstreamRequests.build(deployment("http://127.0.0.1:9000", "/v1/chat/completions", forward),
                    Endpoint.CHAT_COMPLETIONS, UNCHANGED, Unpooled.copiedBuffer("{}", StandardCharsets.UTF_8), forwarded,
                    ByteBufAllocator.DEFAULT);
            FullHttpRequest request = decode(bytes);
            try {
                HttpHeaders h = request.headers();
                assertEquals(forward ? "org-client" : null, h.get("OpenAI-Organization"), "forward: " + forward);
                assertEquals(forward ? "proj-client" : null, h.get("OpenAI-Project"), "forward: " + forward);
                assertEquals("assistants=v2", h.get("OpenAI-Beta"), "other client headers pass either way");
                assertEquals("Bearer sk-upstream", h.get("Authorization"));
            } finally {
                request.release();
            }
        }
        assertEquals("org-client", forwarded.get("OpenAI-Organization"), "the call's headers stay for a fallback");
    }

    @Test
    void aBodyOnEitherSideOfTheCopyLimitArrivesWholeAndIsReleasedWithTheRequest() {
        for (int size : new int[] {UpstreamRequests.COPY_BODY_BYTES, UpstreamRequests.COPY_BODY_BYTES + 1, 20_000}) {
            String text = "{\"input\":\"" + "w".repeat(size - 12) + "\"}";
            ByteBuf body = Unpooled.copiedBuffer(text, StandardCharsets.UTF_8);
            ByteBuf bytes = UpstreamRequests.build(deployment("http://127.0.0.1:9000", "/v1/embeddings"),
                    Endpoint.EMBEDDINGS, UNCHANGED, body, new DefaultHttpHeaders(), ByteBufAllocator.DEFAULT);
            FullHttpRequest request = decode(bytes);
            try {
                assertEquals(text, request.content().toString(StandardCharsets.UTF_8), size + " bytes");
                assertEquals(String.valueOf(text.length()), request.headers().get("Content-Length"));
            } finally {
                request.release();
            }
            assertEquals(0, bytes.refCnt(), "the request's bytes");
            assertEquals(0, body.refCnt(), "the body, copied or not");
        }
    }

    @Test
    void eachAttemptWritesTheSameBytesFromADuplicate() {
        ByteBuf bytes = UpstreamRequests.build(deployment("http://127.0.0.1:9000", "/v1/embeddings"),
                Endpoint.EMBEDDINGS, UNCHANGED, Unpooled.copiedBuffer("{}", StandardCharsets.UTF_8), new DefaultHttpHeaders(),
                ByteBufAllocator.DEFAULT);
        try {
            for (int attempt = 0; attempt < 2; attempt++) {
                FullHttpRequest request = decode(bytes.retainedDuplicate());
                try {
                    assertEquals("/v1/embeddings", request.uri());
                    assertEquals("127.0.0.1:9000", request.headers().get("Host"));
                    assertEquals("{}", request.content().toString(StandardCharsets.UTF_8));
                } finally {
                    request.release();
                }
            }
            assertEquals(1, bytes.refCnt(), "the call's own reference is still there");
        } finally {
            bytes.release();
        }
    }

    @Test
    void refusesAnUpstreamPathWithASpaceOrALineBreakAndReleasesTheBody() {
        for (String path : new String[] {"/models/a b:generate", "/x\r\nHost: evil", "/x\u007f"}) {
            ByteBuf body = Unpooled.copiedBuffer("{}", StandardCharsets.UTF_8);
            assertThrows(IllegalArgumentException.class, () -> UpstreamRequests.build(
                    deployment("http://127.0.0.1:9000", path), Endpoint.CHAT_COMPLETIONS, UNCHANGED, body,
                    new DefaultHttpHeaders(), ByteBufAllocator.DEFAULT), path);
            assertEquals(0, body.refCnt(), path);
        }
    }

    @Test
    void refusesACredentialWithALineBreakAndReleasesTheBody() {
        ProviderAdapter injecting = adapter("/v1/chat/completions", "Bearer sk-1\r\nX-Injected: yes");
        Deployment d = deployment("http://127.0.0.1:9000", "/v1/chat/completions");
        Deployment withInjecting = new Deployment(d.model(), d.provider(), injecting, d.origin());
        ByteBuf body = Unpooled.copiedBuffer("{}", StandardCharsets.UTF_8);
        assertThrows(IllegalArgumentException.class, () -> UpstreamRequests.build(withInjecting,
                Endpoint.CHAT_COMPLETIONS, UNCHANGED, body, new DefaultHttpHeaders(), ByteBufAllocator.DEFAULT));
        assertEquals(0, body.refCnt());
    }
}
