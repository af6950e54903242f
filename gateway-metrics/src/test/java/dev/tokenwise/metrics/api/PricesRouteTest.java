package dev.tokenwise.metrics.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.Rates;
import dev.tokenwise.core.model.ServiceTier;
import dev.tokenwise.core.spi.ApiRoute.Request;
import dev.tokenwise.core.spi.ApiRoute.Response;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PricesRouteTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static final ModelPrice GPT_54 = new ModelPrice(
            new Rates(2_500_000_000L, 15_000_000_000L, 250_000_000L, 2_500_000_000L, 2_500_000_000L, 15_000_000_000L),
            128_000, List.of(new ModelPrice.AboveInput(272_000, new Rates(5_000_000_000L, 22_500_000_000L, 500_000_000L,
                    5_000_000_000L, 5_000_000_000L, 22_500_000_000L))),
            Map.of(ServiceTier.FLEX, ModelPrice.TierPrice.multiplier(500_000)), Map.of("eu", 1_100_000L), null,
            LocalDate.of(2026, 11, 28));

    private final PricesRoute route;

    PricesRouteTest() {
        Map<String, ModelPrice> prices = new LinkedHashMap<>();
        prices.put("gpt-5.4", GPT_54);
        prices.put("mystery", null);
        route = new PricesRoute(prices);
    }

    @Test
    void listsWhatEachModelCostsNowWithItsTiersDateAndVersion() throws Exception {
        JsonNode data = body(Principal.key("research", "r1")).get("data");
        assertEquals(2, data.size());
        JsonNode gpt = data.get(0);
        assertEquals("gpt-5.4", gpt.get("model").asText());
        assertTrue(gpt.get("priced").asBoolean());
        assertEquals(GPT_54.id(), gpt.get("price_version").asText());
        assertEquals("2026-11-28", gpt.get("checked").asText());
        assertEquals("2.5", gpt.get("usd_per_mtok").get("input").decimalValue().toPlainString());
        assertEquals("0.25", gpt.get("usd_per_mtok").get("cached_input").decimalValue().toPlainString());
        assertEquals(272_000, gpt.get("above_input_tokens").get(0).get("above").asLong());
        assertEquals("22.5", gpt.get("above_input_tokens").get(0).get("usd_per_mtok").get("output").decimalValue()
                .toPlainString());
        JsonNode flex = gpt.get("service_tiers").get("flex");
        assertEquals("0.5", flex.get("multiplier").decimalValue().toPlainString());
        assertEquals("1.25", flex.get("usd_per_mtok").get("input").decimalValue().toPlainString());
        assertEquals("11.25", flex.get("above_input_tokens").get(0).get("usd_per_mtok").get("output").decimalValue()
                .toPlainString());
        assertEquals("1.1", gpt.get("regions").get("eu").decimalValue().toPlainString());

        JsonNode mystery = data.get(1);
        assertEquals("mystery", mystery.get("model").asText());
        assertFalse(mystery.get("priced").asBoolean());
        assertFalse(mystery.has("usd_per_mtok"));
    }

    @Test
    void answersAnyValidKeyAndRefusesNone() throws Exception {
        assertEquals(body(Principal.key("research", "r1")), body(Principal.ADMIN));
        assertThrows(GatewayException.class, () -> route.handle(request(null)));
    }

    private JsonNode body(Principal principal) throws Exception {
        Response response = route.handle(request(principal)).get(5, TimeUnit.SECONDS);
        assertEquals(200, response.status());
        return JSON.readTree(new String(response.body(), StandardCharsets.UTF_8));
    }

    private static Request request(Principal principal) {
        return new Request(HttpMethod.GET, "/api/v1/prices", Map.of(), new DefaultHttpHeaders(), new byte[0], principal);
    }
}
