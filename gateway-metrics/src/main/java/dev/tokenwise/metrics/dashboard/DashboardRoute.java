package dev.tokenwise.metrics.dashboard;

import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.spi.ApiRoute;
import io.netty.handler.codec.http.HttpMethod;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dashboard's files: {@code GET /dashboard} (the page), {@code /dashboard/app.js}, {@code /dashboard/app.css},
 * {@code /dashboard/vendor/chart.umd.js} (Chart.js from its WebJar on the class path: no CDN, no build step)
 * and {@code /favicon.ico}. Every file is read from the class path once, when the route is made, so requests
 * are answered from memory on the event loop.
 *
 * <p>The page holds no data: it shows a login form that keeps the admin key in the tab's
 * {@code sessionStorage} and sends it as {@code Authorization: Bearer} to the JSON APIs, which check it. A
 * request for the page that already carries the admin key in its {@code Authorization} header (a proxy in
 * front of the gateway that adds it) gets the page marked so, and the page then calls the APIs without a
 * key of its own, relying on the same proxy. A strict Content-Security-Policy allows only the gateway's own
 * scripts, styles and API.
 */
public final class DashboardRoute implements ApiRoute {
    private static final Logger log = LoggerFactory.getLogger(DashboardRoute.class);
    static final String PAGE = "/dashboard";
    static final String VENDOR_CHART = "/dashboard/vendor/chart.umd.js";
    static final String AUTH_MARKER = "<meta name=\"tokenwise-auth\" content=\"\">";
    static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
    private static final String CHART_POM = "META-INF/maven/org.webjars.npm/chart.js/pom.properties";

    /** A file served from memory. */
    private record Asset(String contentType, byte[] body, String cacheControl) {
    }

    private final Map<String, Asset> assets = new HashMap<>();
    private final String page;

    public DashboardRoute() {
        ClassLoader loader = DashboardRoute.class.getClassLoader();
        page = new String(read(loader, "dashboard/index.html"), StandardCharsets.UTF_8);
        assets.put("/dashboard/app.js", new Asset("text/javascript; charset=utf-8", read(loader, "dashboard/app.js"), "no-cache"));
        assets.put("/dashboard/app.css", new Asset("text/css; charset=utf-8", read(loader, "dashboard/app.css"), "no-cache"));
        assets.put("/favicon.ico", new Asset("image/x-icon", read(loader, "dashboard/favicon.ico"), "public, max-age=86400"));
        byte[] chart = chartJs(loader);
        if (chart != null) {
            assets.put(VENDOR_CHART, new Asset("text/javascript; charset=utf-8", chart, "public, max-age=86400"));
        }
    }

    /** Chart.js from the WebJar, whatever its version; {@code null} (and a warning) when the jar is missing. */
    private static byte[] chartJs(ClassLoader loader) {
        try (InputStream in = loader.getResourceAsStream(CHART_POM)) {
            if (in != null) {
                Properties pom = new Properties();
                pom.load(in);
                String path = "META-INF/resources/webjars/chart.js/" + pom.getProperty("version") + "/dist/chart.umd.js";
                try (InputStream js = loader.getResourceAsStream(path)) {
                    if (js != null) {
                        return js.readAllBytes();
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read Chart.js from its WebJar", e);
        }
        log.warn("Chart.js (org.webjars.npm:chart.js) is not on the class path: the dashboard shows tables only");
        return null;
    }

    private static byte[] read(ClassLoader loader, String resource) {
        try (InputStream in = loader.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("dashboard resource missing from the class path: " + resource);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read dashboard resource " + resource, e);
        }
    }

    @Override
    public boolean matches(HttpMethod method, String path) {
        return HttpMethod.GET.equals(method) && matchesPath(path);
    }

    @Override
    public boolean matchesPath(String path) {
        return PAGE.equals(path) || "/dashboard/".equals(path) || assets.containsKey(path)
                || path.startsWith("/dashboard/");
    }

    @Override
    public CompletableFuture<Response> handle(Request request) {
        String path = request.path();
        if (PAGE.equals(path) || "/dashboard/".equals(path)) {
            Principal principal = request.principal();
            String html = principal != null && principal.admin()
                    ? page.replace(AUTH_MARKER, "<meta name=\"tokenwise-auth\" content=\"header\">") : page;
            return CompletableFuture.completedFuture(respond(new Asset("text/html; charset=utf-8",
                    html.getBytes(StandardCharsets.UTF_8), "no-store")));
        }
        Asset asset = assets.get(path);
        if (asset == null) {
            throw new GatewayException(ErrorType.NOT_FOUND, "no such dashboard file: " + path);
        }
        return CompletableFuture.completedFuture(respond(asset));
    }

    private static Response respond(Asset asset) {
        return new Response(200, asset.contentType(), asset.body(), Map.of(
                "Cache-Control", asset.cacheControl(),
                "Content-Security-Policy", CSP,
                "X-Content-Type-Options", "nosniff",
                "Referrer-Policy", "no-referrer",
                "X-Frame-Options", "DENY"));
    }
}
