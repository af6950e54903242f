package dev.tokenwise.core.proxy;

import java.net.URI;
import java.util.Locale;

/**
 * Where a provider lives: scheme, host, port, and the base path its API paths are appended to.
 *
 * @param basePath the base URL's path without a trailing slash, e.g. {@code /v1}
 */
public record Origin(boolean tls, String host, int port, String basePath) {

    public static Origin of(URI baseUrl) {
        boolean tls = "https".equals(baseUrl.getScheme().toLowerCase(Locale.ROOT));
        int port = baseUrl.getPort() != -1 ? baseUrl.getPort() : tls ? 443 : 80;
        String path = baseUrl.getRawPath() == null ? "" : baseUrl.getRawPath();
        while (path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        return new Origin(tls, baseUrl.getHost(), port, path);
    }

    /** The value of the {@code Host} header. */
    public String hostHeader() {
        boolean defaultPort = tls ? port == 443 : port == 80;
        return defaultPort ? host : host + ":" + port;
    }
}
