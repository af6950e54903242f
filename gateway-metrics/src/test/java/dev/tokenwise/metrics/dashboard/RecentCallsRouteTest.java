package dev.tokenwise.metrics.dashboard;

import static dev.tokenwise.metrics.ledger.TestRecords.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.spi.ApiRoute;
import dev.tokenwise.metrics.ledger.SqliteLedger;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecentCallsRouteTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private SqliteLedger ledger;
    private RecentCallsRoute route;

    @BeforeEach
    void open() {
        ledger = SqliteLedger.open(dir.resolve("ledger.db"), SqliteLedger.Sync.NORMAL);
        for (int i = 0; i < 80; i++) {
            ledger.accept(record("req_" + i, i % 2 == 0 ? "a" : "b", i % 2 == 0 ? "a1" : "b1", i % 4 < 2 ? "m1" : "m2",
                    1_800_000_000_000L + i * 1_000L, 1_000L * i));
        }
        ledger.accept(record("req_a2", "a", "a2", "m1", 1_800_000_000_000L - 1, 7));
        assertTrue(ledger.flush(Duration.ofSeconds(30)));
        route = new RecentCallsRoute(ledger, Runnable::run);
    }

    @AfterEach
    void close() {
        ledger.close();
    }

    private List<String> ids(String query, Principal principal) throws Exception {
        ApiRoute.Response r = route.handle(new ApiRoute.Request(HttpMethod.GET, RecentCallsRoute.PATH,
                new QueryStringDecoder(query, false).parameters(), new DefaultHttpHeaders(), new byte[0], principal)).get();
        List<String> ids = new ArrayList<>();
        for (JsonNode c : JSON.readTree(r.body()).get("data")) {
            ids.add(c.get("id").asText());
        }
        return ids;
    }

    @Test
    void listsTheNewestCallsFirst() throws Exception {
        List<String> ids = ids("", Principal.ADMIN);
        assertEquals(RecentCallsRoute.DEFAULT_LIMIT, ids.size());
        assertEquals("req_79", ids.get(0));
        assertEquals("req_30", ids.get(49));
        assertEquals(List.of("req_79", "req_78", "req_77"), ids("limit=3", Principal.ADMIN));
        assertEquals(List.of("req_78", "req_74"), ids("limit=2&team=a&model=m2", Principal.ADMIN));
    }

    @Test
    void writesWhatTheTableShows() throws Exception {
        ApiRoute.Response r = route.handle(new ApiRoute.Request(HttpMethod.GET, RecentCallsRoute.PATH,
                new QueryStringDecoder("limit=1", false).parameters(), new DefaultHttpHeaders(), new byte[0],
                Principal.ADMIN)).get();
        JsonNode c = JSON.readTree(r.body()).get("data").get(0);
        assertEquals("b", c.get("team").asText());
        assertEquals("m2", c.get("model").asText());
        assertEquals("ok", c.get("status").asText());
        assertEquals(100, c.get("input_tokens").asInt());
        assertEquals(50, c.get("output_tokens").asInt());
        assertEquals(0.000079, c.get("cost_usd").decimalValue().doubleValue());
        assertEquals(12.345, c.get("latency_ms").asDouble());
        assertTrue(c.get("created_at").asText().endsWith("Z"));
    }

    @Test
    void showsAKeyOnlyItsOwnCalls() throws Exception {
        List<String> own = ids("limit=500", Principal.key("a", "a2"));
        assertEquals(List.of("req_a2"), own);
        assertEquals(List.of(), ids("team=b", Principal.key("a", "a1")), "another team's calls are not listed");
        assertEquals(40, ids("limit=500", Principal.key("a", "a1")).size());
    }

    private JsonNode answer(String query, Principal principal) throws Exception {
        ApiRoute.Response r = route.handle(new ApiRoute.Request(HttpMethod.GET, RecentCallsRoute.PATH,
                new QueryStringDecoder(query, false).parameters(), new DefaultHttpHeaders(), new byte[0], principal)).get();
        return JSON.readTree(r.body());
    }

    private static List<String> idsOf(JsonNode answer) {
        List<String> ids = new ArrayList<>();
        answer.get("data").forEach(c -> ids.add(c.get("id").asText()));
        return ids;
    }

    @Test
    void followsTheCallsWrittenAfterACursorOldestFirstWithoutGapsOrRepeats() throws Exception {
        JsonNode latest = answer("limit=2", Principal.ADMIN);
        assertEquals(List.of("req_79", "req_78"), idsOf(latest));
        long cursor = latest.get("cursor").asLong();
        assertEquals(List.of(), idsOf(answer("after=" + cursor, Principal.ADMIN)), "nothing written since");
        assertEquals(cursor, answer("after=" + cursor, Principal.ADMIN).get("cursor").asLong());

        for (int i = 0; i < 5; i++) {
            ledger.accept(record("new_" + i, i % 2 == 0 ? "a" : "b", "k", "m1", 1_700_000_000_000L + i, 1));
        }
        assertTrue(ledger.flush(Duration.ofSeconds(30)));
        List<String> seen = new ArrayList<>();
        JsonNode page = answer("after=" + cursor + "&limit=2", Principal.ADMIN);
        while (!page.get("data").isEmpty()) {
            seen.addAll(idsOf(page));
            cursor = page.get("cursor").asLong();
            page = answer("after=" + cursor + "&limit=2", Principal.ADMIN);
        }
        assertEquals(List.of("new_0", "new_1", "new_2", "new_3", "new_4"), seen,
                "in the order they were written, though created earlier than the calls before them");

        assertEquals(List.of("new_0", "new_2", "new_4"), idsOf(answer("after=" + latest.get("cursor").asLong()
                + "&team=a", Principal.ADMIN)));
        assertEquals(List.of(), idsOf(answer("after=0&team=a", Principal.key("b", "k"))),
                "a team key never follows another team's calls");
        for (String bad : new String[] {"-1", "x"}) {
            GatewayException e = assertThrows(GatewayException.class, () -> ids("after=" + bad, Principal.ADMIN));
            assertEquals("after: " + bad + " (expected: a cursor, a whole number from 0)", e.getMessage());
        }
    }

    @Test
    void checksTheLimitAndTheKey() {
        for (String bad : new String[] {"0", "501", "ten"}) {
            GatewayException e = assertThrows(GatewayException.class, () -> ids("limit=" + bad, Principal.ADMIN));
            assertEquals("limit: " + bad + " (expected: an integer from 1 to 500)", e.getMessage());
        }
        GatewayException none = assertThrows(GatewayException.class, () -> ids("", null));
        assertEquals(ErrorType.INVALID_API_KEY, none.type());
    }
}
