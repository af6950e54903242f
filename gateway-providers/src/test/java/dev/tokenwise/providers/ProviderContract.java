package dev.tokenwise.providers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.ResponseObserver;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What every {@link ProviderAdapter} must do, checked against a provider's documented payloads (a
 * compatibility kit in the manner of Micrometer's {@code MeterRegistryCompatibilityKit}). A provider's test
 * extends this class and supplies its adapter, a non-streamed body and a stream in the provider's documented
 * shape, and what the gateway must read from them; the tests here are inherited unchanged.
 *
 * <p>Streams are handed to the observer as the proxy hands them: one whole SSE event (up to and including its
 * blank line) per {@link ResponseObserver#onEvent} call, in a buffer the observer only borrows.
 */
@ExtendWith(LeakDetectingExtension.class)
public abstract class ProviderContract {
    protected static final ObjectMapper JSON = new ObjectMapper();

    /** What the gateway must read from a response, and what that usage costs at {@link #price()}. */
    public record Expected(TokenUsage usage, String text, String finishReason, long costNanos) {
    }

    /** The adapter under test, configured with the provider key {@link #expectedAuthHeaders()} shows. */
    protected abstract ProviderAdapter adapter();

    /** The endpoint the samples belong to, e.g. {@link Endpoint#CHAT_COMPLETIONS}. */
    protected abstract Endpoint endpoint();

    /** Every endpoint the adapter serves. */
    protected abstract Set<Endpoint> supportedEndpoints();

    /** The model id sent upstream (a deployment name for Azure). */
    protected abstract String upstreamModel();

    /** The path (and query) below the base URL for {@link #endpoint()} and {@link #upstreamModel()}. */
    protected abstract String expectedUpstreamPath();

    /** The headers {@link ProviderAdapter#authorize} must set on a request that has none, by lower-case name. */
    protected abstract Map<String, String> expectedAuthHeaders();

    /** A request body a client sends to {@link #endpoint()} for {@link #upstreamModel()}. */
    protected abstract String requestBody(boolean stream);

    /** A non-streamed 2xx response body in the provider's documented shape. */
    protected abstract String jsonBody();

    protected abstract Expected json();

    /** A streamed response, one whole SSE event per element, each ending with its blank line. */
    protected abstract List<String> sseEvents();

    protected abstract Expected stream();

    /** The model's prices used for {@link Expected#costNanos()}. */
    protected abstract ModelPrice price();

    @Test
    void readsUsageTextAndFinishReasonFromJsonBody() {
        ResponseObserver observer = observer(false);
        ByteBuf body = buffer(jsonBody());
        try {
            observer.onBody(body);
            assertEquals(0, body.readerIndex(), "the body is borrowed: its reader index stays");
            assertEquals(1, body.refCnt(), "the body is borrowed: neither retained nor released");
        } finally {
            body.release();
        }
        assertEquals(json().usage(), observer.usage());
        assertEquals(json().text(), observer.outputText());
        assertEquals(json().finishReason(), observer.finishReason());
    }

    @Test
    void readsUsageTextAndFinishReasonFromStreamOneEventAtATime() {
        ResponseObserver observer = observer(true);
        for (String event : sseEvents()) {
            ByteBuf buf = buffer(event);
            try {
                assertTrue(observer.onEvent(buf), "a client that asked for the stream sees every event: " + event);
                assertEquals(0, buf.readerIndex());
                assertEquals(1, buf.refCnt());
            } finally {
                buf.release();
            }
        }
        assertEquals(stream().usage(), observer.usage());
        assertEquals(stream().text(), observer.outputText());
        assertEquals(stream().finishReason(), observer.finishReason());
    }

    @Test
    void reportsNoUsageBeforeTheResponse() {
        ResponseObserver observer = observer(true);
        assertNull(observer.usage());
        assertNull(observer.finishReason());
        assertEquals("", observer.outputText());
    }

    @Test
    void skipsCommentsAndKeepAliveEvents() {
        ResponseObserver observer = observer(true);
        for (String event : List.of(": keep-alive\n\n", ": OPENROUTER PROCESSING\r\n\r\n")) {
            ByteBuf buf = buffer(event);
            try {
                assertTrue(observer.onEvent(buf));
            } finally {
                buf.release();
            }
        }
        assertNull(observer.usage());
    }

    @Test
    void pricesTheExtractedUsageAtItsOwnRates() {
        assertEquals(json().costNanos(), price().costNanos(json().usage()));
        assertEquals(stream().costNanos(), price().costNanos(stream().usage()));
    }

    @Test
    void setsTheProviderCredentialsAndKeepsOtherHeaders() {
        HttpHeaders headers = new DefaultHttpHeaders().set("x-custom", "kept");
        adapter().authorize(headers);

        Map<String, String> set = new TreeMap<>();
        headers.forEach(e -> set.put(e.getKey().toLowerCase(Locale.ROOT), e.getValue()));
        Map<String, String> expected = new TreeMap<>(expectedAuthHeaders());
        expected.put("x-custom", "kept");
        assertEquals(expected, set);
    }

    @Test
    void callsTheDocumentedUpstreamPath() {
        assertEquals(expectedUpstreamPath(), adapter().upstreamPath(endpoint(), upstreamModel()));
    }

    @Test
    void servesExactlyItsEndpoints() {
        Set<Endpoint> served = EnumSet.noneOf(Endpoint.class);
        for (Endpoint e : Endpoint.values()) {
            if (adapter().supports(e)) {
                served.add(e);
            }
        }
        assertEquals(supportedEndpoints(), served);
        assertTrue(served.contains(endpoint()));
    }

    @Test
    void leavesAPlainRequestForItsModelUnchanged() throws Exception {
        ObjectNode body = (ObjectNode) JSON.readTree(requestBody(false));
        String before = body.toString();

        assertSame(ProviderAdapter.Rewrite.UNCHANGED, adapter().rewrite(endpoint(), body, upstreamModel(), false));
        assertEquals(before, body.toString());
    }

    /** The observer for a response whose client asked for everything it gets (no injected usage event). */
    protected ResponseObserver observer(boolean stream) {
        return adapter().observer(endpoint(), stream, ProviderAdapter.Rewrite.UNCHANGED);
    }

    protected static ByteBuf buffer(String text) {
        return Unpooled.copiedBuffer(text, StandardCharsets.UTF_8);
    }

    /** {@code data: <json>\n\n}, the compact form of {@code json}. */
    protected static String data(String json) {
        return "data: " + compact(json) + "\n\n";
    }

    /** {@code event: <name>\ndata: <json>\n\n}, the compact form of {@code json}. */
    protected static String event(String name, String json) {
        return "event: " + name + "\n" + data(json);
    }

    protected static String compact(String json) {
        try {
            return JSON.readTree(json).toString();
        } catch (Exception e) {
            throw new IllegalArgumentException("not JSON: " + json, e);
        }
    }
}
