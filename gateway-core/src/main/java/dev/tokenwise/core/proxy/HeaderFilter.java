package dev.tokenwise.core.proxy;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.util.Iterator;
import java.util.Map;

/**
 * Which headers cross the proxy, in each direction. Names are matched ignoring case without allocating: the
 * sets are {@link HttpHeaders}, whose lookups hash names case-insensitively.
 */
final class HeaderFilter {
    /** Hop-by-hop headers (RFC 9110 section 7.6.1) and framing headers the proxy sets itself. */
    private static final HttpHeaders HOP_BY_HOP = names("connection", "keep-alive", "proxy-connection",
            "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
            "content-length", "host", "expect");
    /** Client credentials and gateway-only headers never sent upstream. */
    private static final HttpHeaders CLIENT_ONLY = names("authorization", "x-api-key", "api-key",
            "x-goog-api-key", "accept-encoding", "cookie");
    /** Provider headers never relayed to clients: cookies the provider (or its CDN) sets are for the gateway, not them. */
    private static final HttpHeaders UPSTREAM_ONLY = names("set-cookie", "set-cookie2");
    /**
     * Headers for copies of headers that a decoder already validated: validating each name and value again costs a
     * scan of every byte.
     */
    static final HttpHeadersFactory ALREADY_VALIDATED = DefaultHttpHeadersFactory.headersFactory().withValidation(false);
    private static final AsciiString OPENAI_ORGANIZATION = AsciiString.cached("openai-organization");
    private static final AsciiString OPENAI_PROJECT = AsciiString.cached("openai-project");
    private static final String TASK_PREFIX = "x-task-";
    private static final String GATEWAY_PREFIX = "x-tokenwise-";

    private HeaderFilter() {
    }

    /** Copies end-to-end client headers to the upstream request, minus credentials and gateway headers. */
    static void copyRequestHeaders(HttpHeaders from, HttpHeaders to) {
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = from.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            CharSequence name = e.getKey();
            if (HOP_BY_HOP.contains(name) || CLIENT_ONLY.contains(name) || startsWithIgnoreCase(name, TASK_PREFIX)
                    || startsWithIgnoreCase(name, GATEWAY_PREFIX)) {
                continue;
            }
            to.add(name, e.getValue());
        }
    }

    /**
     * Removes the headers that choose which organisation or project of the provider account a call is billed to
     * ({@code OpenAI-Organization}, {@code OpenAI-Project}): behind the gateway's shared provider key, a client
     * must not steer the account unless the provider's config allows it. Applied per deployment
     * ({@code UpstreamRequests.build}), since a fallback may go to a provider that decides otherwise.
     */
    static void removeProviderAccountHeaders(HttpHeaders headers) {
        headers.remove(OPENAI_ORGANIZATION);
        headers.remove(OPENAI_PROJECT);
    }

    /**
     * Copies upstream response headers to the client response, keeping framing headers but not connection ones, nor
     * the provider's cookies.
     */
    static void copyResponseHeaders(HttpHeaders from, HttpHeaders to) {
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = from.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            CharSequence name = e.getKey();
            if (UPSTREAM_ONLY.contains(name)) {
                continue;
            }
            if (HOP_BY_HOP.contains(name) && !AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.CONTENT_LENGTH)
                    && !AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.TRANSFER_ENCODING)) {
                continue;
            }
            to.add(name, e.getValue());
        }
    }

    private static boolean startsWithIgnoreCase(CharSequence name, String prefix) {
        return AsciiString.regionMatches(name, true, 0, prefix, 0, prefix.length());
    }

    private static HttpHeaders names(String... names) {
        HttpHeaders set = new DefaultHttpHeaders();
        for (String name : names) {
            set.add(name, "");
        }
        return set;
    }
}
