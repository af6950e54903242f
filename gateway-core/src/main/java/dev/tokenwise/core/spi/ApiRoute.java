package dev.tokenwise.core.spi;

import dev.tokenwise.core.auth.Principal;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A local (non-proxied) HTTP endpoint of the gateway: the usage API, admin API, metrics, dashboard.
 * Routes are tried in registration order; the first whose {@link #matches} accepts handles the call.
 * {@link #handle} runs on an event loop: anything slower than a map lookup must complete the future
 * from another thread.
 */
public interface ApiRoute {

    boolean matches(HttpMethod method, String path);

    /** {@code true} when the path is this route's, whatever the method (for 405 answers). */
    default boolean matchesPath(String path) {
        return matches(HttpMethod.GET, path) || matches(HttpMethod.POST, path) || matches(HttpMethod.PUT, path)
                || matches(HttpMethod.DELETE, path);
    }

    CompletableFuture<Response> handle(Request request);

    /**
     * A request to a local route.
     *
     * @param principal who called, or {@code null} when no valid key was sent
     */
    record Request(HttpMethod method, String path, Map<String, List<String>> query, HttpHeaders headers,
                   byte[] body, Principal principal) {

        /** The caller, or a 401 {@code invalid_api_key} when the request carried no valid key. */
        public Principal requirePrincipal() {
            if (principal == null) {
                throw new dev.tokenwise.core.error.GatewayException(dev.tokenwise.core.error.ErrorType.INVALID_API_KEY,
                        "missing or invalid API key");
            }
            return principal;
        }

        public String queryParam(String name) {
            List<String> values = query.get(name);
            return values == null || values.isEmpty() ? null : values.get(0);
        }
    }

    /** A complete response. */
    record Response(int status, String contentType, byte[] body, Map<String, String> headers) {

        public static Response json(int status, byte[] json) {
            return new Response(status, "application/json", json, Map.of());
        }

        public static Response text(int status, String contentType, String body) {
            return new Response(status, contentType, body.getBytes(StandardCharsets.UTF_8), Map.of());
        }
    }
}
