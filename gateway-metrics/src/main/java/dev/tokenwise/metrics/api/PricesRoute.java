package dev.tokenwise.metrics.api;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.Rates;
import dev.tokenwise.core.model.ServiceTier;
import dev.tokenwise.core.spi.GetRoute;
import java.io.IOException;
import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * {@code GET /api/v1/prices}: what each configured model costs now, in USD per million tokens, as the gateway
 * charges it: the base rates, every input-size tier, every service tier (its multiplier, if it is one, and the rates
 * it resolves to at each input size), region uplifts, the region applied, the date the price was checked and its
 * price version id (the prefix of the {@code price_version} of the records charged at it). A model without a price
 * (let through by {@code pricing.allow_unpriced}) is listed with {@code "priced": false}.
 *
 * <pre>{@code
 * {"data": [{"model": "gpt-5.4", "priced": true, "price_version": "3fa2c1d0", "checked": "2026-11-28",
 *            "region": null, "max_output_tokens": 128000,
 *            "usd_per_mtok": {"input": 2.5, "output": 15, "cached_input": 0.25, "cache_write": 2.5,
 *                             "cache_write_1h": 2.5, "reasoning": 15},
 *            "above_input_tokens": [{"above": 272000, "usd_per_mtok": {...}}],
 *            "service_tiers": {"flex": {"multiplier": 0.5, "usd_per_mtok": {...}, "above_input_tokens": [...]}},
 *            "regions": {"eu": 1.1}}]}
 * }</pre>
 *
 * Any valid key may read it (prices are no secret among a gateway's users); no key is a 401. The configuration is
 * fixed while the gateway runs, so the answer is written once and served from memory on the event loop.
 */
public final class PricesRoute extends GetRoute {
    private static final String PATH = "/api/v1/prices";

    private final byte[] body;

    /** @param prices each configured model's price by name, in config order; {@code null} for an unpriced model */
    public PricesRoute(Map<String, ModelPrice> prices) {
        super(PATH);
        this.body = toJson(new LinkedHashMap<>(Objects.requireNonNull(prices, "prices")));
    }



    @Override
    public CompletableFuture<Response> handle(Request request) {
        request.requirePrincipal();
        return CompletableFuture.completedFuture(Response.json(200, body));
    }

    static byte[] toJson(Map<String, ModelPrice> prices) {
        return JsonBody.write(256 + prices.size() * 512, g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("data");
            for (Map.Entry<String, ModelPrice> e : prices.entrySet()) {
                ModelPrice p = e.getValue();
                g.writeStartObject();
                g.writeStringField("model", e.getKey());
                g.writeBooleanField("priced", p != null);
                if (p != null) {
                    g.writeStringField("price_version", p.id());
                    g.writeStringField("checked", p.checked() == null ? null : p.checked().toString());
                    g.writeStringField("region", p.region());
                    g.writeNumberField("max_output_tokens", p.maxOutputTokens());
                    schedule(g, p, ServiceTier.STANDARD);
                    g.writeObjectFieldStart("service_tiers");
                    for (Map.Entry<ServiceTier, ModelPrice.TierPrice> t : p.serviceTiers().entrySet()) {
                        g.writeObjectFieldStart(t.getKey().label());
                        if (t.getValue().rates() == null) {
                            g.writeFieldName("multiplier");
                            g.writeNumber(ppm(t.getValue().multiplierPpm()));
                        }
                        schedule(g, p, t.getKey());
                        g.writeEndObject();
                    }
                    g.writeEndObject();
                    g.writeObjectFieldStart("regions");
                    for (Map.Entry<String, Long> r : p.regionUpliftPpm().entrySet()) {
                        g.writeFieldName(r.getKey());
                        g.writeNumber(ppm(r.getValue()));
                    }
                    g.writeEndObject();
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    /** The rates of {@code tier} below every threshold, then above each threshold of the price. */
    private static void schedule(JsonGenerator g, ModelPrice p, ServiceTier tier) throws IOException {
        rates(g, p.rates(0, tier));
        g.writeArrayFieldStart("above_input_tokens");
        for (long threshold : p.thresholds()) {
            g.writeStartObject();
            g.writeNumberField("above", threshold);
            rates(g, p.rates(threshold + 1, tier));
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    private static void rates(JsonGenerator g, Rates r) throws IOException {
        g.writeObjectFieldStart("usd_per_mtok");
        usd(g, "input", r.inputNanosPerMtok());
        usd(g, "output", r.outputNanosPerMtok());
        usd(g, "cached_input", r.cachedInputNanosPerMtok());
        usd(g, "cache_write", r.cacheWriteNanosPerMtok());
        usd(g, "cache_write_1h", r.cacheWrite1hNanosPerMtok());
        usd(g, "reasoning", r.reasoningNanosPerMtok());
        g.writeEndObject();
    }

    private static void usd(JsonGenerator g, String field, long nanosPerMtok) throws IOException {
        g.writeFieldName(field);
        g.writeNumber(BigDecimal.valueOf(nanosPerMtok, 9).stripTrailingZeros().toPlainString());
    }

    private static String ppm(long ppm) {
        return BigDecimal.valueOf(ppm, 6).stripTrailingZeros().toPlainString();
    }
}
