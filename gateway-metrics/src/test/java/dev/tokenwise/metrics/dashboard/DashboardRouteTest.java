package dev.tokenwise.metrics.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.spi.ApiRoute;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DashboardRouteTest {
    private final DashboardRoute route = new DashboardRoute();

    private ApiRoute.Response get(String path, Principal principal) throws Exception {
        return route.handle(new ApiRoute.Request(HttpMethod.GET, path, Map.of(), new DefaultHttpHeaders(), new byte[0],
                principal)).get();
    }

    private static String text(ApiRoute.Response r) {
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    @Test
    void servesThePageWithAStrictContentSecurityPolicy() throws Exception {
        ApiRoute.Response page = get("/dashboard", null);
        assertEquals(200, page.status());
        assertEquals("text/html; charset=utf-8", page.contentType());
        String html = text(page);
        assertTrue(html.contains("<script src=\"/dashboard/vendor/chart.umd.js\" defer></script>"), html);
        assertTrue(html.contains("id=\"login-form\""));
        assertFalse(html.contains("https://"), "no CDN: everything comes from the gateway");
        assertTrue(page.headers().get("Content-Security-Policy").contains("script-src 'self'"));
        assertEquals("no-store", page.headers().get("Cache-Control"));
        assertEquals("nosniff", page.headers().get("X-Content-Type-Options"));
    }

    @Test
    void marksThePageWhenTheAdminKeyCameInTheAuthorizationHeader() throws Exception {
        assertTrue(text(get("/dashboard", Principal.ADMIN)).contains("<meta name=\"tokenwise-auth\" content=\"header\">"));
        assertTrue(text(get("/dashboard/", Principal.key("t", "k"))).contains(DashboardRoute.AUTH_MARKER),
                "a team key is not the admin key");
    }

    @Test
    void servesChartJsFromItsWebJar() throws Exception {
        ApiRoute.Response chart = get(DashboardRoute.VENDOR_CHART, null);
        assertEquals("text/javascript; charset=utf-8", chart.contentType());
        String js = text(chart);
        assertTrue(js.contains("Chart.js v4."), js.substring(0, 200));
        assertTrue(chart.body().length > 100_000);
        assertEquals("public, max-age=86400", chart.headers().get("Cache-Control"));
    }

    @Test
    void servesScriptStyleAndFavicon() throws Exception {
        assertTrue(text(get("/dashboard/app.js", null)).contains("/api/v1/dashboard/summary"));
        assertEquals("text/css; charset=utf-8", get("/dashboard/app.css", null).contentType());
        ApiRoute.Response icon = get("/favicon.ico", null);
        assertEquals("image/x-icon", icon.contentType());
        assertEquals(0, icon.body()[0]);
        assertEquals(1, icon.body()[2], "an ICO header");
    }

    @Test
    void answersUnknownDashboardFilesWithNotFound() {
        GatewayException e = assertThrows(GatewayException.class, () -> get("/dashboard/secret.txt", Principal.ADMIN));
        assertEquals(ErrorType.NOT_FOUND, e.type());
        assertFalse(route.matches(HttpMethod.POST, "/dashboard"));
        assertFalse(route.matchesPath("/dashboards"));
    }
}
