package dev.tokenwise.core.proxy;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Which headers cross the proxy, in each direction. */
final class HeaderFilter {
    /** Hop-by-hop headers (RFC 9110 section 7.6.1) and framing headers the proxy sets itself. */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection",
            "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
            "content-length", "host", "expect");
    /** Client credentials and gateway-only headers never sent upstream. */
    private static final Set<String> CLIENT_ONLY = Set.of("authorization", "x-api-key", "api-key",
            "x-goog-api-key", "accept-encoding", "cookie");

    private HeaderFilter() {
    }

    /** Copies end-to-end client headers to the upstream request, minus credentials and gateway headers. */
    static void copyRequestHeaders(HttpHeaders from, HttpHeaders to) {
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = from.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            String name = e.getKey().toString().toLowerCase(Locale.ROOT);
            if (HOP_BY_HOP.contains(name) || CLIENT_ONLY.contains(name) || name.startsWith("x-task-")
                    || name.startsWith("x-tokenwise-")) {
                continue;
            }
            to.add(e.getKey(), e.getValue());
        }
    }

    /** Copies upstream response headers to the client response, keeping framing headers but not connection ones. */
    static void copyResponseHeaders(HttpHeaders from, HttpHeaders to) {
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = from.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            CharSequence name = e.getKey();
            if (AsciiString.contentEqualsIgnoreCase(name, "content-length")
                    || AsciiString.contentEqualsIgnoreCase(name, "transfer-encoding")) {
                to.add(name, e.getValue());
                continue;
            }
            if (HOP_BY_HOP.contains(name.toString().toLowerCase(Locale.ROOT))) {
                continue;
            }
            to.add(name, e.getValue());
        }
    }
}
