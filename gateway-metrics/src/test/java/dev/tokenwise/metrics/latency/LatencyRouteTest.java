package dev.tokenwise.metrics.latency;

import static dev.tokenwise.metrics.latency.LatencyCalls.call;
import static dev.tokenwise.metrics.latency.LatencyCalls.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.spi.ApiRoute;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class LatencyRouteTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final LatencyBook book = new LatencyBook(UnaryOperator.identity(), System::currentTimeMillis);
    private final LatencyRoute route = new LatencyRoute(book, Runnable::run);

    private ApiRoute.Response get(String query, Principal principal) throws Exception {
        return route.handle(new ApiRoute.Request(HttpMethod.GET, "/api/v1/latency",
                new QueryStringDecoder(query, false).parameters(), new DefaultHttpHeaders(), new byte[0], principal)).get();
    }

    @Test
    void answersPercentilesPerModelInMilliseconds() throws Exception {
        book.accept(ok("sim-small", 400, 120_000));
        book.accept(call("sim-small", 150_500, 150_000, 40_000, true, CallStatus.OK));
        book.accept(ok("sim-large", 300, 900_000));
        JsonNode json = JSON.readTree(new String(get("window=5m", Principal.key("team", "k")).body(), StandardCharsets.UTF_8));
        assertEquals("5m", json.get("window").asText());
        assertEquals("ms", json.get("unit").asText());
        assertEquals(3, json.get("overall").get("upstream").get("count").asInt());
        JsonNode small = json.get("models").get(0);
        assertEquals("sim-small", small.get("model").asText());
        JsonNode overhead = small.get("overhead");
        for (String field : new String[] {"p50", "p90", "p99", "p999", "max", "mean"}) {
            assertTrue(overhead.has(field), field);
        }
        assertEquals(0.5, overhead.get("max").asDouble(), 0.005);
        assertEquals(40.0, small.get("ttft").get("p50").asDouble(), 0.4);
        assertTrue(json.get("models").get(1).get("ttft").isNull(), "no stream, no TTFT");
    }

    @Test
    void parsesWindows() {
        assertEquals(15, LatencyRoute.windowMinutes(null));
        assertEquals(1, LatencyRoute.windowMinutes("1m"));
        assertEquals(60, LatencyRoute.windowMinutes("1h"));
        assertEquals(60, LatencyRoute.windowMinutes("60m"));
        assertEquals(0, LatencyRoute.windowMinutes("all"));
        for (String bad : new String[] {"0m", "61m", "2h", "5", "m", "-5m", "5d", "1e3m"}) {
            GatewayException e = assertThrows(GatewayException.class, () -> LatencyRoute.windowMinutes(bad), bad);
            assertEquals(ErrorType.BAD_REQUEST, e.type());
            assertTrue(e.getMessage().contains("window: " + bad), e.getMessage());
        }
    }

    @Test
    void needsAKey() {
        GatewayException e = assertThrows(GatewayException.class, () -> get("", null));
        assertEquals(ErrorType.INVALID_API_KEY, e.type());
    }
}
