package dev.tokenwise.core.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.config.CacheConfig;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.CacheStatus;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.AdmissionStage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ResponseCacheTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String ASK = "{\"model\":\"m\",\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    static final String ANSWER = "{\"id\":\"chatcmpl-9\",\"object\":\"chat.completion\",\"created\":7,\"model\":\"m-0613\","
            + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello!\"},\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}";

    private final AtomicLong ticker = new AtomicLong();
    private final ResponseCache cache = new ResponseCache(new CacheConfig(true, Duration.ofSeconds(600), 1 << 20,
            CacheConfig.Mode.DETERMINISTIC, CacheConfig.Scope.TEAM), JSON, ticker::get);

    static AdmissionStage.Call call(String team, String body, boolean stream, String directive) {
        HttpHeaders headers = new DefaultHttpHeaders();
        if (directive != null) {
            headers.set("X-Tokenwise-Cache", directive);
        }
        ByteBuf bytes = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
        return new AdmissionStage.Call("req", team, "key", "m", Endpoint.CHAT_COMPLETIONS, 10, 10, 0, stream, headers,
                bytes);
    }

    static UsageRecord record(String finishReason) {
        return UsageRecord.builder().id("req_1").team("t").keyId("key").model("m").provider("openai")
                .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200).usage(TokenUsage.of(9, 2))
                .usageFromProvider(true).localInputTokens(9).localOutputTokens(2).costNanos(2_550)
                .finishReason(finishReason).createdAtMillis(7_000).build();
    }

    static AdmissionStage.Delivered json(String body) {
        return new AdmissionStage.Delivered(false, body.getBytes(StandardCharsets.UTF_8), null);
    }

    /** Runs a miss to its end the way a proxied call does: the answer, the record, the settlement. */
    static void complete(AdmissionStage.Lease miss, UsageRecord record, AdmissionStage.Delivered delivered) {
        assertTrue(miss.wantsAnswer());
        miss.answered(delivered);
        miss.settle(miss.amend(record));
    }

    static String body(AdmissionStage.Answer answer) {
        StringBuilder text = new StringBuilder();
        for (byte[] part : answer.body()) {
            text.append(new String(part, StandardCharsets.UTF_8));
        }
        return text.toString();
    }

    static String header(AdmissionStage.Lease lease) {
        HttpHeaders headers = new DefaultHttpHeaders();
        lease.decorate(headers);
        return headers.get("x-tokenwise-cache");
    }

    @Test
    void storesAWholeAnswerAndServesItToTheSameRequestOfTheSameTeam() {
        AdmissionStage.Lease miss = cache.admit(call("t", ASK, false, null));
        assertNull(miss.answer(), "the first goes upstream");
        assertEquals("miss", header(miss));
        complete(miss, record("stop"), json(ANSWER));
        assertEquals(1, cache.size());

        AdmissionStage.Lease hit = cache.admit(call("t", ASK, false, null));
        AdmissionStage.Answer answer = hit.answer().getNow(null);
        assertEquals("hit", header(hit));
        assertEquals(ANSWER, body(answer));
        assertEquals("application/json", answer.contentType());
        assertEquals(2_550, answer.original().costNanos());
        assertEquals(CacheStatus.HIT, hit.amend(record("stop")).cache());

        assertNull(cache.admit(call("u", ASK, false, null)).answer(), "another team's call is a miss");
    }

    @Test
    void forgetsAnAnswerOnceItsTimeToLiveHasPassed() {
        complete(cache.admit(call("t", ASK, false, null)), record("stop"), json(ANSWER));
        ticker.addAndGet(TimeUnit.SECONDS.toNanos(599));
        assertNotNull(cache.admit(call("t", ASK, false, null)).answer());
        ticker.addAndGet(TimeUnit.SECONDS.toNanos(2));
        AdmissionStage.Lease expired = cache.admit(call("t", ASK, false, null));
        assertNull(expired.answer());
        assertEquals("miss", header(expired));
    }

    @Test
    void evictsAnswersToStayWithinItsSizeInBytes() {
        ResponseCache small = new ResponseCache(new CacheConfig(true, Duration.ofSeconds(600), 64 * 1024,
                CacheConfig.Mode.ALL, CacheConfig.Scope.TEAM), JSON, ticker::get);
        String padding = "x".repeat(1_000);
        for (int i = 0; i < 100; i++) {
            String ask = ASK.replace("\"hi\"", "\"hi " + i + "\"");
            complete(small.admit(call("t", ask, false, null)), record("stop"),
                    json(ANSWER.replace("Hello!", "Hello " + i + padding)));
        }
        assertEquals(100, small.stored());
        assertTrue(small.weightedBytes() <= 64 * 1024, small.weightedBytes() + " bytes");
        assertTrue(small.size() < 100, small.size() + " answers kept of 100");
        assertTrue(small.size() >= 10, "about 2.5 KB an answer, so a 64 KiB cache keeps a good many: " + small.size());
    }

    @Test
    void neverStoresAFilteredAnswerAnErrorOrACallThatFailed() {
        complete(cache.admit(call("t", ASK, false, null)), record("content_filter"),
                json(ANSWER.replace("\"stop\"", "\"content_filter\"")));
        UsageRecord failed = UsageRecord.builder().id("req_1").team("t").keyId("key").model("m").provider("openai")
                .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.UPSTREAM_RESET).httpStatus(200)
                .usage(TokenUsage.of(9, 2)).usageFromProvider(true).localInputTokens(9).localOutputTokens(2)
                .costNanos(2_550).finishReason("stop").build();
        complete(cache.admit(call("t", ASK, false, null)), failed, json(ANSWER));
        AdmissionStage.Lease noAnswer = cache.admit(call("t", ASK, false, null));
        noAnswer.settle(record("stop")); // the proxy had no whole answer to hand over
        assertEquals(0, cache.stored());
    }

    @Test
    void keepsAStreamedAnswerOnlyWhenItsTextSaysItWhole() {
        String tools = ASK.replace("\"temperature\":0", "\"temperature\":0,\"tools\":[{\"type\":\"function\"}]");
        AdmissionStage.Delivered streamed = new AdmissionStage.Delivered(true, null, "Hello!");
        complete(cache.admit(call("t", tools, true, null)), record("stop"), streamed);
        assertEquals(0, cache.stored(), "a stream with tools: its text would not hold the calls");
        complete(cache.admit(call("t", ASK, true, null)), record("stop"), streamed);
        assertEquals(1, cache.stored());

        AdmissionStage.Answer json = cache.admit(call("t", ASK, false, null)).answer().getNow(null);
        JsonNode completion = read(body(json));
        assertEquals("Hello!", completion.at("/choices/0/message/content").asText());
        assertEquals("stop", completion.at("/choices/0/finish_reason").asText());
        assertEquals(11, completion.at("/usage/total_tokens").asLong());
        assertEquals("chatcmpl-req_1", completion.get("id").asText());
    }

    @Test
    void replaysAnAnswerAsEventsWithTheUsageChunkOnlyWhenAskedFor() {
        complete(cache.admit(call("t", ASK, false, null)), record("stop"), json(ANSWER));
        String streamed = ASK.replace("{\"model\"", "{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"model\"");
        AdmissionStage.Answer events = cache.admit(call("t", streamed, true, null)).answer().getNow(null);
        assertEquals("text/event-stream", events.contentType());
        String text = body(events);
        String[] blocks = text.split("\n\n");
        assertEquals(4, blocks.length, text);
        JsonNode first = read(blocks[0].substring(6));
        assertEquals("chat.completion.chunk", first.get("object").asText());
        assertEquals("chatcmpl-9", first.get("id").asText());
        assertEquals("m-0613", first.get("model").asText());
        assertEquals("assistant", first.at("/choices/0/delta/role").asText());
        assertEquals("Hello!", first.at("/choices/0/delta/content").asText());
        assertTrue(first.at("/choices/0/finish_reason").isNull());
        assertEquals("stop", read(blocks[1].substring(6)).at("/choices/0/finish_reason").asText());
        assertEquals(9, read(blocks[2].substring(6)).at("/usage/prompt_tokens").asLong());
        assertEquals("data: [DONE]", blocks[3]);

        String plain = ASK.replace("{\"model\"", "{\"stream\":true,\"model\"");
        assertEquals(3, body(cache.admit(call("t", plain, true, null)).answer().getNow(null)).split("\n\n").length);
    }

    @Test
    void letsTheClientSkipRefreshOrForceTheCache() {
        complete(cache.admit(call("t", ASK, false, null)), record("stop"), json(ANSWER));
        AdmissionStage.Lease skipped = cache.admit(call("t", ASK, false, "skip"));
        assertNull(skipped.answer());
        assertFalse(skipped.wantsAnswer());
        assertEquals("skip", header(skipped));
        assertEquals(CacheStatus.SKIP, skipped.amend(record("stop")).cache());

        AdmissionStage.Lease refresh = cache.admit(call("t", ASK, false, "REFRESH"));
        assertNull(refresh.answer(), "refresh goes upstream");
        complete(refresh, record("stop"), json(ANSWER.replace("Hello!", "Hi again!")));
        assertTrue(body(cache.admit(call("t", ASK, false, null)).answer().getNow(null)).contains("Hi again!"));

        String warm = ASK.replace("\"temperature\":0", "\"temperature\":1");
        assertEquals("skip", header(cache.admit(call("t", warm, false, null))));
        AdmissionStage.Lease forced = cache.admit(call("t", warm, false, "use"));
        assertEquals("miss", header(forced));

        GatewayException bad = assertThrows(GatewayException.class, () -> cache.admit(call("t", ASK, false, "always")));
        assertEquals(ErrorType.BAD_REQUEST, bad.type());
    }

    @Test
    void makesIdenticalCallsWaitForTheFirstAndAnswersThemFromWhatItStored() {
        AdmissionStage.Lease first = cache.admit(call("t", ASK, false, null));
        AdmissionStage.Lease second = cache.admit(call("t", ASK, false, null));
        CompletableFuture<AdmissionStage.Answer> waiting = second.answer();
        assertNotNull(waiting);
        assertFalse(waiting.isDone());
        assertEquals(1, cache.coalesced());
        complete(first, record("stop"), json(ANSWER));
        assertEquals(ANSWER, body(waiting.getNow(null)));
        assertEquals("hit", header(second));
        assertFalse(second.wantsAnswer());
        assertEquals(CacheStatus.HIT, second.amend(record("stop")).cache());
        second.settle(record("stop"));
    }

    @Test
    void sendsTheWaitingCallsUpstreamWhenTheFirstStoredNothing() {
        AdmissionStage.Lease first = cache.admit(call("t", ASK, false, null));
        AdmissionStage.Lease second = cache.admit(call("t", ASK, false, null));
        CompletableFuture<AdmissionStage.Answer> waiting = second.answer();
        first.abort(); // e.g. the budget refused it
        assertTrue(waiting.isDone());
        assertNull(waiting.getNow(null), "nothing to serve: the call goes upstream itself");
        assertEquals("miss", header(second));
        complete(second, record("stop"), json(ANSWER));
        assertEquals(1, cache.stored());
        AdmissionStage.Lease third = cache.admit(call("t", ASK, false, null));
        assertEquals(ANSWER, body(third.answer().getNow(null)));
    }

    @Test
    void normalisesKeyOrderNumbersAndFieldsThatDoNotChangeTheAnswer() throws Exception {
        String a = "{\"model\":\"m\",\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"strict\":true}}}";
        String b = "{ \"response_format\": {\"json_schema\": {\"strict\": true, \"name\": \"x\"}, \"type\": \"json_schema\"},"
                + " \"stream\": true, \"user\": \"u-1\", \"metadata\": {\"k\": \"v\"}, \"messages\": [{\"content\": \"hi\","
                + " \"role\": \"user\"}], \"temperature\": 0.00, \"model\": \"m\" }";
        assertEquals(canonical(a), canonical(b));
        assertFalse(canonical(a).equals(canonical(a.replace("\"hi\"", "\"hi!\""))));
        assertFalse(canonical(a).equals(canonical(a.replace("\"content\":\"hi\"}]", "\"content\":\"hi\"},{\"role\":\"user\",\"content\":\"hi\"}]"))),
                "array order and length matter");
        assertEquals("{\"a\":[1,1.5,100,0,-2,\"\\u00e9\\n\"],\"b\":null}",
                canonical("{\"b\":null,\"a\":[1.0,1.50,1e2,-0.0,-2,\"\\u00e9\\n\"]}").replace("é", "\\u00e9"));
    }

    private static String canonical(String body) throws Exception {
        return new String(CanonicalRequest.read(JSON.getFactory(), Unpooled.copiedBuffer(body, StandardCharsets.UTF_8)).bytes,
                StandardCharsets.UTF_8);
    }

    private static JsonNode read(String json) {
        try {
            return JSON.readTree(json);
        } catch (Exception e) {
            throw new AssertionError(json, e);
        }
    }
}
