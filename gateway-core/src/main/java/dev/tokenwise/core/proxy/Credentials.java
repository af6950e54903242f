package dev.tokenwise.core.proxy;

import dev.tokenwise.core.auth.KeyHashes;
import dev.tokenwise.core.auth.KeyRegistry;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

/**
 * Who a client request comes from: the key it presents, as {@code Authorization: Bearer <key>}, else
 * {@code x-api-key} (Anthropic clients), else {@code x-goog-api-key} (Gemini clients), looked up by its hash in the
 * {@link KeyRegistry}; the admin key is compared in constant time. Pure functions of the headers and the registry.
 */
final class Credentials {
    private static final AsciiString X_API_KEY = AsciiString.cached("x-api-key");
    private static final AsciiString X_GOOG_API_KEY = AsciiString.cached("x-goog-api-key");

    private Credentials() {
    }

    /** The virtual key the request presents, or the 401 thrown when it presents none or an unknown one. */
    static KeyRegistry.KeyEntry authenticate(ProxyContext proxy, HttpHeaders headers) {
        String secret = presentedKey(headers);
        if (secret == null) {
            throw new GatewayException(ErrorType.INVALID_API_KEY,
                    "missing API key: send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'");
        }
        KeyRegistry.KeyEntry key = proxy.keys().find(secret);
        if (key == null) {
            throw new GatewayException(ErrorType.INVALID_API_KEY, "invalid API key");
        }
        return key;
    }

    /** Who the request's key belongs to (the admin, or a key's team), or {@code null} for no key or an unknown one. */
    static Principal principal(ProxyContext proxy, HttpHeaders headers) {
        String secret = presentedKey(headers);
        if (secret == null) {
            return null;
        }
        String adminKey = proxy.config().adminKey();
        if (adminKey != null && KeyHashes.secretEquals(secret, adminKey)) {
            return Principal.ADMIN;
        }
        KeyRegistry.KeyEntry key = proxy.keys().find(secret);
        return key == null ? null : Principal.key(key.team(), key.id());
    }

    private static String presentedKey(HttpHeaders headers) {
        String authorization = headers.get(HttpHeaderNames.AUTHORIZATION);
        if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            String key = authorization.substring(7).trim();
            return key.isEmpty() ? null : key;
        }
        String apiKey = headers.get(X_API_KEY);
        if (apiKey == null || apiKey.isBlank()) {
            apiKey = headers.get(X_GOOG_API_KEY); // Gemini clients
        }
        return apiKey == null || apiKey.isBlank() ? null : apiKey.trim();
    }
}
