package dev.tokenwise.server;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import dev.tokenwise.core.model.CacheStatus;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The exact response cache through a running gateway: a repeated call is answered from memory without calling the
 * provider (and booked as a hit that costs nothing and saved what the first call cost), {@code X-Tokenwise-Cache}
 * steers it and reports it, teams never share answers, a stored answer is replayed as events to a streamed call,
 * only whole successful answers are kept, and identical calls on a cold cache coalesce into one upstream call.
 */
@ExtendWith(LeakDetectingExtension.class)
class ResponseCacheEndToEndTest {
    static final String CHAT = "/v1/chat/completions";
    /** Deterministic (temperature 0): cached in the default mode. */
    static final String ASK = "{\"model\":\"gpt-4o-mini\",\"temperature\":0,\"max_tokens\":10,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Say hello, in a friendly way.\"}]}";
    /** {@link #ASK} with its keys in another order, other spacing, another spelling of 0 and a user field. */
    static final String ASK_REORDERED = "{ \"messages\": [{\"content\": \"Say hello, in a friendly way.\", \"role\": \"user\"}],"
            + " \"max_tokens\": 10, \"user\": \"someone\", \"temperature\": 0.0, \"model\": \"gpt-4o-mini\" }";
    static final String STREAM_CHUNKS = "data: {\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"created\":2,"
            + "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Streamed \"},"
            + "\"finish_reason\":null}]}\n\n"
            + "data: {\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"created\":2,\"model\":\"gpt-4o-mini\","
            + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"},\"finish_reason\":null}]}\n\n"
            + "data: {\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"created\":2,\"model\":\"gpt-4o-mini\","
            + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
            + "data: {\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"created\":2,\"model\":\"gpt-4o-mini\","
            + "\"choices\":[],\"usage\":{\"prompt_tokens\":15,\"completion_tokens\":3,\"total_tokens\":18}}\n\n"
            + "data: [DONE]\n\n";

    WireMockServer upstream;
    TestGateway gateway;

    @BeforeEach
    void start() throws Exception {
        upstream = new WireMockServer(options().dynamicPort().containerThreads(40));
        upstream.start();
        upstream.stubFor(post(urlEqualTo(CHAT)).willReturn(completion(BudgetEnforcementTest.COMPLETION)));
        upstream.stubFor(post(urlEqualTo("/v1/embeddings")).willReturn(completion("{\"object\":\"list\",\"data\":"
                + "[{\"object\":\"embedding\",\"index\":0,\"embedding\":[0.25,-0.5]}],\"model\":\"text-embedding-3-small\","
                + "\"usage\":{\"prompt_tokens\":4,\"total_tokens\":4}}")));
        upstream.stubFor(post(urlEqualTo(TranslationEndToEndTest.MESSAGES))
                .willReturn(completion(TranslationEndToEndTest.MESSAGE)));
        upstream.stubFor(post(urlEqualTo(TranslationEndToEndTest.MESSAGES)).withRequestBody(containing("\"stream\":true"))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "text/event-stream")
                        .withBody(TranslationEndToEndTest.STREAM)));
        gateway = start("");
    }

    TestGateway start(String cacheOptions) throws InterruptedException {
        return TestGateway.start("""
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:%1$d/v1", api_key: sk-upstream}
                  anthropic: {type: anthropic, base_url: "http://127.0.0.1:%1$d/anthropic/v1", api_key: sk-ant-upstream}
                models:
                  - {name: gpt-4o-mini, provider: openai}
                  - {name: text-embedding-3-small, provider: openai}
                  - name: claude-sonnet-4-5
                    provider: anthropic
                    upstream_name: claude-sonnet-4-5-20250929
                    price: {input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.30, cache_write_per_mtok: 3.75}
                cache: {enabled: true%2$s}
                """.formatted(upstream.port(), cacheOptions), """
                teams:
                  - name: demo
                    budget: {limit_usd: 5, period: daily}
                    rate_limits: {requests_per_minute: 3}
                    keys: [{key: tw-test-key, name: demo-key}]
                  - name: other
                    keys: [{key: tw-other-key, name: other-key}]
                """);
    }

    @AfterEach
    void stop() {
        gateway.close();
        upstream.stop();
    }

    static com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder completion(String body) {
        return aResponse().withStatus(200).withHeader("Content-Type", "application/json").withBody(body);
    }

    HttpResponse<String> chat(String key, String body, String... headers) throws Exception {
        return gateway.post(CHAT, key, body, headers);
    }

    CompletableFuture<HttpResponse<String>> chatAsync(String key, String body) {
        return gateway.http.sendAsync(java.net.http.HttpRequest.newBuilder(gateway.uri(CHAT))
                .timeout(java.time.Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static String cacheHeader(HttpResponse<?> r) {
        return r.headers().firstValue("x-tokenwise-cache").orElse(null);
    }

    int upstreamCalls() {
        return upstream.countRequestsMatching(postRequestedFor(urlEqualTo(CHAT)).build()).getCount();
    }

    @Test
    void answersARepeatedCallFromTheCacheWithoutCallingTheProviderAndBooksItAsAFreeHit() throws Exception {
        HttpResponse<String> first = chat("tw-test-key", ASK);
        assertEquals(200, first.statusCode(), first.body());
        assertEquals("miss", cacheHeader(first));
        HttpResponse<String> second = chat("tw-test-key", ASK_REORDERED);
        assertEquals(200, second.statusCode(), second.body());
        assertEquals("hit", cacheHeader(second), "keys reordered, 0.0 for 0 and a user field ask the same");
        assertEquals(first.body(), second.body());
        assertEquals("application/json", second.headers().firstValue("content-type").orElseThrow());
        assertEquals(1, upstreamCalls());

        JsonNode miss = gateway.record(first);
        JsonNode hit = gateway.record(second);
        assertEquals("miss", miss.get("cache").asText());
        assertEquals(BudgetEnforcementTest.CALL_NANOS, miss.get("cost_nanos").asLong());
        assertEquals("hit", hit.get("cache").asText());
        assertEquals(0, hit.get("cost_nanos").asLong());
        assertEquals(BudgetEnforcementTest.CALL_NANOS, hit.get("saved_nanos").asLong(), "what the first call cost");
        assertEquals(15, hit.get("input_tokens").asLong(), "tokens as the provider reported them for the first call");
        assertEquals(10, hit.get("output_tokens").asLong());
        assertEquals("provider", hit.get("usage_source").asText());
        assertEquals("length", hit.get("finish_reason").asText());
        assertEquals("ok", hit.get("status").asText());
        assertEquals(0.0, hit.get("upstream_latency_ms").asDouble());
        gateway.awaitSinks();
        assertEquals(BudgetEnforcementTest.CALL_NANOS, gateway.app.budgets().team("demo").snapshot(System.currentTimeMillis()).spentNanos(),
                "the budget pays for the first call only");
        String metrics = gateway.get("/metrics", TestGateway.ADMIN_KEY).body();
        assertTrue(metrics.contains("tokenwise_cache_hits_total 1.0"), metrics.lines().filter(l -> l.contains("cache"))
                .toList().toString());
        assertTrue(metrics.contains("tokenwise_cache_stored_total 1.0"));
        assertTrue(metrics.contains("tokenwise_cache_entries 1.0"));
    }

    @Test
    void countsAHitAsARequestOfTheRateLimit() throws Exception {
        assertEquals("miss", cacheHeader(chat("tw-test-key", ASK)));
        HttpResponse<String> hit = chat("tw-test-key", ASK);
        assertEquals("hit", cacheHeader(hit));
        assertEquals("1", hit.headers().firstValue("x-ratelimit-remaining-requests").orElseThrow());
        assertEquals("hit", cacheHeader(chat("tw-test-key", ASK)));
        HttpResponse<String> refused = chat("tw-test-key", ASK);
        assertEquals(429, refused.statusCode(), refused.body());
        assertEquals(1, upstreamCalls());
    }

    @Test
    void skipsTheCacheWhenTheClientSaysSoAndForCallsThatDoNotAskForDeterminism() throws Exception {
        chat("tw-test-key", ASK);
        HttpResponse<String> skipped = chat("tw-test-key", ASK, "X-Tokenwise-Cache", "skip");
        assertEquals("skip", cacheHeader(skipped));
        assertEquals(2, upstreamCalls());
        assertEquals("skip", gateway.record(skipped).get("cache").asText());

        String warm = ASK.replace("\"temperature\":0", "\"temperature\":0.7");
        assertEquals("skip", cacheHeader(chat("tw-other-key", warm)));
        assertEquals("skip", cacheHeader(chat("tw-other-key", warm)));
        assertEquals(4, upstreamCalls(), "mode deterministic leaves temperature 0.7 alone");
        assertEquals("miss", cacheHeader(chat("tw-other-key", warm, "X-Tokenwise-Cache", "use")));
        assertEquals("hit", cacheHeader(chat("tw-other-key", warm, "X-Tokenwise-Cache", "use")));
        String seeded = ASK.replace("\"temperature\":0", "\"temperature\":0.7,\"seed\":42");
        assertEquals("miss", cacheHeader(chat("tw-other-key", seeded)));
        assertEquals("hit", cacheHeader(chat("tw-other-key", seeded)));
        assertEquals(6, upstreamCalls());
    }

    @Test
    void refreshCallsTheProviderAndStoresItsNewAnswer() throws Exception {
        chat("tw-other-key", ASK);
        upstream.stubFor(post(urlEqualTo(CHAT)).willReturn(completion(BudgetEnforcementTest.COMPLETION
                .replace("Hello there, friend!", "Good morning!"))));
        HttpResponse<String> refreshed = chat("tw-other-key", ASK, "X-Tokenwise-Cache", "refresh");
        assertEquals("miss", cacheHeader(refreshed));
        assertTrue(refreshed.body().contains("Good morning!"), refreshed.body());
        HttpResponse<String> hit = chat("tw-other-key", ASK);
        assertEquals("hit", cacheHeader(hit));
        assertTrue(hit.body().contains("Good morning!"), hit.body());
        assertEquals(2, upstreamCalls());
    }

    @Test
    void refusesAnUnknownCacheDirectiveWithoutForwarding() throws Exception {
        HttpResponse<String> refused = chat("tw-other-key", ASK, "X-Tokenwise-Cache", "forever");
        assertEquals(400, refused.statusCode(), refused.body());
        assertEquals("X-Tokenwise-Cache: 'forever' (expected: skip, refresh or use)",
                TestGateway.json(refused.body()).path("error").path("message").asText());
        assertEquals(0, upstreamCalls());
    }

    @Test
    void neverServesOneTeamsAnswerToAnother() throws Exception {
        assertEquals("miss", cacheHeader(chat("tw-test-key", ASK)));
        assertEquals("miss", cacheHeader(chat("tw-other-key", ASK)));
        assertEquals("hit", cacheHeader(chat("tw-other-key", ASK)));
        assertEquals(2, upstreamCalls());
    }

    @Test
    void sharesAnswersAcrossTeamsWithAGlobalScope() throws Exception {
        gateway.close();
        gateway = start(", scope: global");
        assertEquals("miss", cacheHeader(chat("tw-test-key", ASK)));
        assertEquals("hit", cacheHeader(chat("tw-other-key", ASK)));
        assertEquals(1, upstreamCalls());
    }

    @Test
    void replaysAStoredJsonAnswerAsEventsToAStreamedCall() throws Exception {
        chat("tw-other-key", ASK);
        String streamed = ASK.replace("{\"model\"", "{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"model\"");
        HttpResponse<String> hit = chat("tw-other-key", streamed);
        assertEquals("hit", cacheHeader(hit));
        assertTrue(hit.headers().firstValue("content-type").orElseThrow().startsWith("text/event-stream"));
        List<JsonNode> events = events(hit.body());
        assertEquals("Hello there, friend! How are you today?", text(events));
        assertEquals("length", events.get(1).at("/choices/0/finish_reason").asText());
        JsonNode usage = events.get(events.size() - 1);
        assertEquals(0, usage.get("choices").size());
        assertEquals(15, usage.at("/usage/prompt_tokens").asLong());
        assertEquals(10, usage.at("/usage/completion_tokens").asLong());
        assertTrue(hit.body().endsWith("data: [DONE]\n\n"));
        assertEquals("chatcmpl-1", events.get(0).get("id").asText());
        assertEquals("chat.completion.chunk", events.get(0).get("object").asText());

        String noUsage = ASK.replace("{\"model\"", "{\"stream\":true,\"model\"");
        HttpResponse<String> bare = chat("tw-other-key", noUsage);
        assertEquals("hit", cacheHeader(bare));
        List<JsonNode> bareEvents = events(bare.body());
        assertEquals(2, bareEvents.size(), "no usage chunk unless the client asked for one: " + bare.body());
        assertEquals(1, upstreamCalls());
        assertTrue(gateway.record(hit).get("stream").asBoolean());
    }

    @Test
    void keepsAStreamedAnswerAndServesItAsJsonAndAsEvents() throws Exception {
        upstream.stubFor(post(urlEqualTo(CHAT)).withRequestBody(containing("\"stream\":true"))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "text/event-stream").withBody(STREAM_CHUNKS)));
        String streamed = ASK.replace("{\"model\"", "{\"stream\":true,\"model\"");
        HttpResponse<String> first = chat("tw-other-key", streamed);
        assertEquals("miss", cacheHeader(first));
        assertEquals("Streamed hello", text(events(first.body())));

        HttpResponse<String> json = chat("tw-other-key", ASK);
        assertEquals("hit", cacheHeader(json));
        JsonNode completion = TestGateway.json(json.body());
        assertEquals("chat.completion", completion.get("object").asText());
        assertEquals("Streamed hello", completion.at("/choices/0/message/content").asText());
        assertEquals("stop", completion.at("/choices/0/finish_reason").asText());
        assertEquals(15, completion.at("/usage/prompt_tokens").asLong());
        assertEquals(3, completion.at("/usage/completion_tokens").asLong());

        HttpResponse<String> replayed = chat("tw-other-key", streamed);
        assertEquals("hit", cacheHeader(replayed));
        assertEquals("Streamed hello", text(events(replayed.body())));
        assertEquals(1, upstreamCalls());
    }

    @Test
    void cachesTheOpenAiShapedAnswerOfACallTranslatedForAnotherProvider() throws Exception {
        String ask = ASK.replace("gpt-4o-mini", "claude-sonnet-4-5");
        HttpResponse<String> first = chat("tw-other-key", ask);
        assertEquals("miss", cacheHeader(first));
        HttpResponse<String> hit = chat("tw-other-key", ask);
        assertEquals("hit", cacheHeader(hit));
        assertEquals(first.body(), hit.body(), "the translated answer the client got, not Anthropic's");
        JsonNode completion = TestGateway.json(hit.body());
        assertEquals("chat.completion", completion.get("object").asText());
        assertEquals("A gateway forwards, counts and prices every call.", completion.at("/choices/0/message/content").asText());
        JsonNode record = gateway.record(hit);
        assertEquals("anthropic", record.get("provider").asText());
        assertEquals(gateway.record(first).get("cost_nanos").asLong(), record.get("saved_nanos").asLong());

        // A streamed translated answer is kept from its text and served to a later call as JSON.
        String streamed = ask.replace("Say hello", "Say hi").replace("{\"model\"", "{\"stream\":true,\"model\"");
        HttpResponse<String> stream = chat("tw-other-key", streamed);
        assertEquals("miss", cacheHeader(stream));
        assertEquals("Hello from the stream", text(events(stream.body())));
        HttpResponse<String> json = chat("tw-other-key", ask.replace("Say hello", "Say hi"));
        assertEquals("hit", cacheHeader(json));
        JsonNode replayed = TestGateway.json(json.body());
        assertEquals("Hello from the stream", replayed.at("/choices/0/message/content").asText());
        assertEquals("length", replayed.at("/choices/0/finish_reason").asText(), "max_tokens in OpenAI's words");
        assertEquals(2, upstream.countRequestsMatching(postRequestedFor(urlEqualTo(TranslationEndToEndTest.MESSAGES))
                .build()).getCount());
    }

    @Test
    void neverStoresAnErrorOrAFilteredAnswer() throws Exception {
        upstream.stubFor(post(urlEqualTo(CHAT)).willReturn(aResponse().withStatus(400)
                .withHeader("Content-Type", "application/json").withBody("{\"error\":{\"message\":\"no\"}}")));
        assertEquals(400, chat("tw-other-key", ASK).statusCode());
        upstream.stubFor(post(urlEqualTo(CHAT)).willReturn(completion(BudgetEnforcementTest.COMPLETION
                .replace("\"length\"", "\"content_filter\""))));
        assertEquals("miss", cacheHeader(chat("tw-other-key", ASK)));
        assertEquals("miss", cacheHeader(chat("tw-other-key", ASK)));
        assertEquals(3, upstreamCalls());
    }

    @Test
    void cachesEmbeddingsWhateverTheMode() throws Exception {
        String body = "{\"model\":\"text-embedding-3-small\",\"input\":\"cache me\"}";
        assertEquals("miss", cacheHeader(gateway.post("/v1/embeddings", "tw-other-key", body)));
        HttpResponse<String> hit = gateway.post("/v1/embeddings", "tw-other-key", body);
        assertEquals("hit", cacheHeader(hit));
        assertEquals(-0.5, TestGateway.json(hit.body()).at("/data/0/embedding/1").asDouble());
        assertEquals(1, upstream.countRequestsMatching(postRequestedFor(urlEqualTo("/v1/embeddings")).build()).getCount());
    }

    @Test
    void coalescesAHundredConcurrentIdenticalCallsOnAColdCacheIntoOneUpstreamCall() throws Exception {
        upstream.stubFor(post(urlEqualTo(CHAT)).willReturn(completion(BudgetEnforcementTest.COMPLETION).withFixedDelay(1500)));
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            calls.add(chatAsync("tw-other-key", ASK));
        }
        int hits = 0;
        int misses = 0;
        for (CompletableFuture<HttpResponse<String>> call : calls) {
            HttpResponse<String> r = call.join();
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(BudgetEnforcementTest.COMPLETION, r.body());
            if ("hit".equals(cacheHeader(r))) {
                hits++;
            } else if ("miss".equals(cacheHeader(r))) {
                misses++;
            }
        }
        assertEquals(1, upstreamCalls(), "the others waited for the first");
        assertEquals(1, misses);
        assertEquals(99, hits);
        gateway.awaitSinks();
        assertEquals(99, gateway.sunk.stream().filter(UsageRecord::cacheHit).count());
        assertEquals(1, gateway.sunk.stream().filter(r -> r.cache() == CacheStatus.MISS).count());
    }

    @Test
    void callsThatWaitedGoUpstreamThemselvesWhenTheFirstFails() throws Exception {
        upstream.stubFor(post(urlEqualTo(CHAT)).willReturn(aResponse().withStatus(400).withFixedDelay(1000)
                .withHeader("Content-Type", "application/json").withBody("{\"error\":{\"message\":\"no\"}}")));
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            calls.add(chatAsync("tw-other-key", ASK));
        }
        for (CompletableFuture<HttpResponse<String>> call : calls) {
            HttpResponse<String> r = call.join();
            assertEquals(400, r.statusCode(), r.body());
            assertEquals("miss", cacheHeader(r));
        }
        assertEquals(5, upstreamCalls());
    }

    @Test
    void aClientThatLeavesWhileItsCallWaitsForAnIdenticalOneIsNeitherForwardedNorBooked() throws Exception {
        upstream.stubFor(post(urlEqualTo(CHAT)).willReturn(completion(BudgetEnforcementTest.COMPLETION).withFixedDelay(1500)));
        CompletableFuture<HttpResponse<String>> first = chatAsync("tw-test-key", ASK);
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (upstreamCalls() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        try (StreamFaultTest.RawClient leaving = new StreamFaultTest.RawClient(gateway.app.port())) {
            leaving.send(StreamFaultTest.RawClient.post(CHAT, ASK, ""));
            Thread.sleep(200); // admitted, and waiting for the first call
        }
        HttpResponse<String> answered = first.join();
        assertEquals("miss", cacheHeader(answered));
        assertEquals("hit", cacheHeader(chat("tw-test-key", ASK)), "the connection is gone, the cache is not");
        gateway.awaitSinks();
        assertEquals(2, gateway.sunk.size(), "the first call and the later hit; nothing for the client that left");
        assertEquals(1, upstreamCalls());
    }

    @Test
    void servesAHitOnlyOnceItsRecordIsDurableWithStrictSync() throws Exception {
        gateway.close();
        gateway = TestGateway.fromYaml("""
                server: {host: 127.0.0.1, port: 0}
                admin: {key: %s}
                storage: {path: %s, sync: strict}
                pricing: {catalog: ../config/prices.yaml}
                providers:
                  openai: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-upstream}
                models:
                  - {name: gpt-4o-mini, provider: openai}
                cache: {enabled: true}
                %s
                """.formatted(TestGateway.ADMIN_KEY, TestGateway.freshLedgerPath(), upstream.port(), TestGateway.DEFAULT_TEAMS));
        assertEquals("miss", cacheHeader(chat("tw-test-key", ASK)));
        HttpResponse<String> hit = chat("tw-test-key", ASK);
        assertEquals("hit", cacheHeader(hit));
        assertEquals(BudgetEnforcementTest.COMPLETION, hit.body());
        String id = hit.headers().firstValue("x-request-id").orElseThrow();
        UsageRecord stored = gateway.app.ledger().find(id).orElseThrow(() -> new AssertionError("not committed"));
        assertEquals(CacheStatus.HIT, stored.cache());
        assertEquals(BudgetEnforcementTest.CALL_NANOS, stored.savedNanos());
    }

    @Test
    void aHitOfACallThatWasNeverCachedBeforeHasNoSavings() throws Exception {
        HttpResponse<String> skipped = chat("tw-other-key", ASK, "X-Tokenwise-Cache", "skip");
        JsonNode record = gateway.record(skipped);
        assertEquals(0, record.get("saved_nanos").asLong());
        assertNull(gateway.sunk.stream().filter(UsageRecord::cacheHit).findFirst().orElse(null));
    }

    @Test
    void usageRowsCountTheHitsAndWhatTheySaved() throws Exception {
        for (int i = 0; i < 3; i++) {
            assertEquals(200, chat("tw-other-key", ASK).statusCode());
        }
        gateway.flushLedger();
        HttpResponse<String> usage = gateway.get("/api/v1/usage?group_by=team", TestGateway.ADMIN_KEY);
        assertEquals(200, usage.statusCode(), usage.body());
        JsonNode other = null;
        for (JsonNode row : TestGateway.json(usage.body()).get("data")) {
            if (row.get("team").asText().equals("other")) {
                other = row;
            }
        }
        assertEquals(3, other.get("requests").asLong());
        assertEquals(2, other.get("cache_hits").asLong());
        assertEquals(0, new java.math.BigDecimal(BudgetEnforcementTest.CALL_NANOS).movePointLeft(9)
                .compareTo(other.get("cost_usd").decimalValue()), "only the first call cost anything");
        assertEquals(0, new java.math.BigDecimal(2 * BudgetEnforcementTest.CALL_NANOS).movePointLeft(9)
                .compareTo(other.get("cache_saved_usd").decimalValue()), "the two hits saved what the first cost, each");
    }

    /** The JSON payloads of an event stream, without {@code [DONE]}. */
    static List<JsonNode> events(String body) throws Exception {
        List<JsonNode> events = new ArrayList<>();
        for (String block : body.split("\n\n")) {
            if (block.startsWith("data: ") && !block.equals("data: [DONE]")) {
                events.add(TestGateway.json(block.substring(6)));
            }
        }
        return events;
    }

    /** The content deltas of the events, joined. */
    static String text(List<JsonNode> events) {
        StringBuilder text = new StringBuilder();
        for (JsonNode e : events) {
            JsonNode content = e.at("/choices/0/delta/content");
            if (content.isTextual()) {
                text.append(content.asText());
            }
        }
        return text.toString();
    }
}
