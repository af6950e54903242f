package dev.tokenwise.server;

import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.equalToJson;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.HttpResponseFor;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.completions.CompletionUsage;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The official OpenAI Java SDK calls Anthropic and Gemini models through the gateway's {@code /v1/chat/completions}:
 * the gateway translates each request into the provider's native API (checked on the WireMock provider), the answer
 * back into OpenAI's shape (plain, streamed chunk by chunk, tool calls and their round trip), books the provider's
 * usage at the model's prices, and refuses with a 400 naming the field what it cannot translate.
 */
@ExtendWith(LeakDetectingExtension.class)
class TranslationEndToEndTest {
    static final String ANTHROPIC_KEY = "sk-ant-upstream-secret";
    static final String GEMINI_KEY = "AIza-upstream-secret";
    static final String MESSAGES = "/anthropic/v1/messages";
    static final String GENERATE = "/gemini/v1beta/models/gemini-2.5-flash:generateContent";
    static final String STREAM_GENERATE = "/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";

    static WireMockServer upstream;
    static TestGateway gateway;
    static OpenAIClient client;

    static final String MESSAGE = """
            {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
             "model": "claude-sonnet-4-5-20250929",
             "content": [{"type": "text", "text": "A gateway forwards, counts and prices every call."}],
             "stop_reason": "end_turn", "stop_sequence": null,
             "usage": {"input_tokens": 12, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 2000,
                       "output_tokens": 40, "service_tier": "standard"}}
            """;

    static final String STREAM = """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":30,"cache_creation_input_tokens":0,"cache_read_input_tokens":1500,"output_tokens":1}}}

            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

            event: ping
            data: {"type": "ping"}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" from the stream"}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":0}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":25}}

            event: message_stop
            data: {"type":"message_stop"}

            """;

    static final String TOOL_USE = """
            {"id": "msg_tool", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
             "content": [{"type": "text", "text": "Let me check."},
                         {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
                          "input": {"city": "Paris"}}],
             "stop_reason": "tool_use", "stop_sequence": null, "usage": {"input_tokens": 300, "output_tokens": 50}}
            """;

    static final String AFTER_TOOL = """
            {"id": "msg_final", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
             "content": [{"type": "text", "text": "It is 18C in Paris."}], "stop_reason": "end_turn",
             "usage": {"input_tokens": 380, "output_tokens": 12}}
            """;

    static final String GEMINI_RESPONSE = """
            {"candidates": [{"content": {"parts": [{"text": "Hidden musing", "thought": true},
                                                   {"text": "A gateway meters every call."}], "role": "model"},
                             "finishReason": "STOP", "index": 0}],
             "usageMetadata": {"promptTokenCount": 1200, "cachedContentTokenCount": 1000, "candidatesTokenCount": 40,
                               "thoughtsTokenCount": 350, "totalTokenCount": 1590},
             "modelVersion": "gemini-2.5-flash", "responseId": "mAitaPzRNOSV7M8PzNHxsQ8"}
            """;

    static final String GEMINI_SSE = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hello\"}],\"role\": \"model\"},\"index\": 0}],"
            + "\"usageMetadata\": {\"promptTokenCount\": 9,\"totalTokenCount\": 9},\"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n"
            + "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" from Gemini\"}],\"role\": \"model\"},"
            + "\"finishReason\": \"MAX_TOKENS\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,"
            + "\"candidatesTokenCount\": 8,\"thoughtsTokenCount\": 20,\"totalTokenCount\": 37},\"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n";

    static final String GEMINI_CALL = """
            {"candidates": [{"content": {"role": "model", "parts": [
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CtwBAdHtim9"}]},
              "finishReason": "STOP", "index": 0}],
             "usageMetadata": {"promptTokenCount": 60, "candidatesTokenCount": 10, "totalTokenCount": 70},
             "modelVersion": "gemini-2.5-flash"}
            """;

    static final String GEMINI_AFTER_CALL = """
            {"candidates": [{"content": {"role": "model", "parts": [{"text": "Sunny in Paris."}]}, "finishReason": "STOP"}],
             "usageMetadata": {"promptTokenCount": 90, "candidatesTokenCount": 5, "totalTokenCount": 95}}
            """;

    // A structured output: the JSON asked for, as the text of the answer.
    static final String STRUCTURED = """
            {"id": "msg_struct", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
             "content": [{"type": "text", "text": "{\\"city\\":\\"Paris\\",\\"population\\":2100000}"}],
             "stop_reason": "end_turn", "usage": {"input_tokens": 60, "output_tokens": 14}}
            """;
    // A JSON object asked for without a schema: the input of the gateway's own tool.
    static final String JSON_TOOL_USE = """
            {"id": "msg_json", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
             "content": [{"type": "tool_use", "id": "toolu_j", "name": "json_object_output", "input": {"answer": 42}}],
             "stop_reason": "tool_use", "usage": {"input_tokens": 70, "output_tokens": 11}}
            """;

    /** The shape openai-java derives a JSON schema from, for structured outputs. */
    public static final class City {
        public String city;
        public long population;
    }

    @BeforeAll
    static void start() throws Exception {
        upstream = new WireMockServer(options().dynamicPort());
        upstream.start();
        upstream.stubFor(post(urlEqualTo(MESSAGES)).atPriority(5)
                .withHeader("x-api-key", equalTo(ANTHROPIC_KEY))
                .willReturn(json(MESSAGE)));
        upstream.stubFor(post(urlEqualTo(MESSAGES)).atPriority(1)
                .withRequestBody(matchingJsonPath("$[?(@.stream == true)]"))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "text/event-stream").withBody(STREAM)));
        upstream.stubFor(post(urlEqualTo(MESSAGES)).atPriority(2)
                .withRequestBody(matchingJsonPath("$.tools[0].name", equalTo("get_weather")))
                .willReturn(json(TOOL_USE)));
        upstream.stubFor(post(urlEqualTo(MESSAGES)).atPriority(1)
                .withRequestBody(matchingJsonPath("$.messages[2].content[0].type", equalTo("tool_result")))
                .willReturn(json(AFTER_TOOL)));
        upstream.stubFor(post(urlEqualTo(MESSAGES)).atPriority(1)
                .withRequestBody(matchingJsonPath("$.output_config.format.type", equalTo("json_schema")))
                .willReturn(json(STRUCTURED)));
        upstream.stubFor(post(urlEqualTo(MESSAGES)).atPriority(1)
                .withRequestBody(matchingJsonPath("$.tool_choice.name", equalTo("json_object_output")))
                .willReturn(json(JSON_TOOL_USE)));
        upstream.stubFor(post(urlEqualTo(GENERATE)).atPriority(5)
                .withHeader("x-goog-api-key", equalTo(GEMINI_KEY))
                .willReturn(json(GEMINI_RESPONSE)));
        upstream.stubFor(post(urlEqualTo(GENERATE)).atPriority(2)
                .withRequestBody(matchingJsonPath("$.tools[0].functionDeclarations[0].name", equalTo("get_weather")))
                .willReturn(json(GEMINI_CALL)));
        upstream.stubFor(post(urlEqualTo(GENERATE)).atPriority(1)
                .withRequestBody(matchingJsonPath("$.contents[2].parts[0].functionResponse.name", equalTo("get_weather")))
                .willReturn(json(GEMINI_AFTER_CALL)));
        upstream.stubFor(post(urlEqualTo(STREAM_GENERATE))
                .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "text/event-stream").withBody(GEMINI_SSE)));
        gateway = TestGateway.start("""
                providers:
                  anthropic: {type: anthropic, base_url: "http://127.0.0.1:%1$d/anthropic/v1", api_key: %2$s}
                  google: {type: gemini, base_url: "http://127.0.0.1:%1$d/gemini/v1beta", api_key: %3$s}
                models:
                  - name: claude-sonnet-4-5
                    provider: anthropic
                    upstream_name: claude-sonnet-4-5-20250929
                    price: {input_per_mtok: 3, output_per_mtok: 15, cached_input_per_mtok: 0.30, cache_write_per_mtok: 3.75}
                  - name: gemini-2.5-flash
                    provider: google
                    price: {input_per_mtok: 0.30, output_per_mtok: 2.50, cached_input_per_mtok: 0.075}
                """.formatted(upstream.port(), ANTHROPIC_KEY, GEMINI_KEY));
        client = OpenAIOkHttpClient.builder()
                .baseUrl("http://127.0.0.1:" + gateway.app.port() + "/v1")
                .apiKey("tw-test-key")
                .maxRetries(0)
                .build();
    }

    private static com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder json(String body) {
        return aResponse().withStatus(200).withHeader("Content-Type", "application/json").withBody(body);
    }

    @AfterAll
    static void stop() {
        client.close();
        gateway.close();
        upstream.stop();
    }

    private static ChatCompletionCreateParams.Builder chat(String model, String text) {
        return ChatCompletionCreateParams.builder()
                .model(model)
                .addSystemMessage("You answer in one sentence.")
                .addUserMessage(text);
    }

    private static JsonNode record(String requestId) throws Exception {
        HttpResponse<String> r = gateway.get("/api/v1/requests/" + requestId, TestGateway.ADMIN_KEY);
        assertEquals(200, r.statusCode(), r.body());
        return TestGateway.json(r.body());
    }

    private static FunctionDefinition weatherTool() {
        return FunctionDefinition.builder()
                .name("get_weather")
                .description("The weather in a city now")
                .parameters(FunctionParameters.builder()
                        .putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of("city", Map.of("type", "string"))))
                        .putAdditionalProperty("required", JsonValue.from(List.of("city")))
                        .build())
                .build();
    }

    @Test
    void answersAStructuredOutputRequestForAClaudeModelThroughAnthropicsStructuredOutputs() throws Exception {
        var completion = client.chat().completions().create(chat("claude-sonnet-4-5", "Which city, how many people?")
                .responseFormat(City.class).build());

        City city = completion.choices().get(0).message().content().orElseThrow();
        assertEquals("Paris", city.city);
        assertEquals(2_100_000, city.population);
        upstream.verify(postRequestedFor(urlEqualTo(MESSAGES))
                .withRequestBody(matchingJsonPath("$.output_config.format.schema.properties.city.type", equalTo("string")))
                .withRequestBody(matchingJsonPath("$.response_format", absent())));
        assertEquals("msg_struct", completion.id());
        JsonNode record = record(lastRequestId());
        assertEquals("ok", record.path("status").asText());
        assertEquals(60, record.path("input_tokens").asLong());
        assertEquals(14, record.path("output_tokens").asLong());
        assertEquals(60 * 3_000 + 14 * 15_000, record.path("cost_nanos").asLong());
    }

    @Test
    void answersAJsonObjectRequestForAClaudeModelWithTheObjectAsTheContent() throws Exception {
        HttpResponse<String> r = gateway.post("/v1/chat/completions", "tw-test-key", """
                {"model": "claude-sonnet-4-5", "response_format": {"type": "json_object"},
                 "messages": [{"role": "user", "content": "Answer in JSON"}]}""");

        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = TestGateway.json(r.body());
        assertEquals("{\"answer\":42}", body.at("/choices/0/message/content").asText());
        assertEquals("stop", body.at("/choices/0/finish_reason").asText());
        assertTrue(body.at("/choices/0/message/tool_calls").isMissingNode(), r.body());
        JsonNode record = gateway.record(r);
        assertEquals("stop", record.path("finish_reason").asText());
        assertEquals(70 * 3_000 + 11 * 15_000, record.path("cost_nanos").asLong());
    }

    /** The id of the last call the gateway booked. */
    private static String lastRequestId() throws Exception {
        gateway.awaitSinks();
        return gateway.sunk.get(gateway.sunk.size() - 1).id();
    }

    @Test
    void answersAChatForAnAnthropicModelAndBooksAnthropicsUsage() throws Exception {
        String requestId;
        ChatCompletion completion;
        try (HttpResponseFor<ChatCompletion> response = client.chat().completions().withRawResponse()
                .create(chat("claude-sonnet-4-5", "What does a gateway do?")
                        .maxCompletionTokens(64).temperature(0.2).stop("END").build())) {
            completion = response.parse();
            requestId = response.headers().values("x-request-id").get(0);
        }

        assertEquals("A gateway forwards, counts and prices every call.",
                completion.choices().get(0).message().content().orElseThrow());
        assertEquals(ChatCompletion.Choice.FinishReason.STOP, completion.choices().get(0).finishReason());
        assertEquals("claude-sonnet-4-5", completion.model());
        CompletionUsage usage = completion.usage().orElseThrow();
        assertEquals(2112, usage.promptTokens(), "prompt tokens include cache reads and writes");
        assertEquals(40, usage.completionTokens());
        assertEquals(2000, usage.promptTokensDetails().orElseThrow().cachedTokens().orElseThrow());

        upstream.verify(postRequestedFor(urlEqualTo(MESSAGES))
                .withHeader("x-api-key", equalTo(ANTHROPIC_KEY))
                .withHeader("anthropic-version", equalTo("2023-06-01"))
                .withHeader("authorization", absent())
                .withRequestBody(equalToJson("""
                        {"model": "claude-sonnet-4-5-20250929", "max_tokens": 64, "system": "You answer in one sentence.",
                         "messages": [{"role": "user", "content": "What does a gateway do?"}],
                         "temperature": 0.2, "stop_sequences": ["END"]}""")));

        JsonNode record = record(requestId);
        assertEquals("/v1/chat/completions", record.path("endpoint").asText());
        assertEquals("anthropic", record.path("provider").asText());
        assertEquals("provider", record.path("usage_source").asText());
        assertEquals(2112, record.path("input_tokens").asLong());
        assertEquals(2000, record.path("cached_input_tokens").asLong());
        assertEquals(100, record.path("cache_write_tokens").asLong());
        assertEquals(40, record.path("output_tokens").asLong());
        assertEquals("stop", record.path("finish_reason").asText());
        // 12 × $3 + 100 × $3.75 + 2000 × $0.30 + 40 × $15 per Mtok, in nano-USD
        assertEquals(36_000 + 375_000 + 600_000 + 600_000, record.path("cost_nanos").asLong());
    }

    @Test
    void streamsAnAnthropicAnswerChunkByChunkWithTheUsageChunkTheClientAskedFor() throws Exception {
        StringBuilder text = new StringBuilder();
        CompletionUsage usage = null;
        ChatCompletionChunk.Choice.FinishReason finish = null;
        String requestId;
        try (HttpResponseFor<StreamResponse<ChatCompletionChunk>> response = client.chat().completions().withRawResponse()
                .createStreaming(chat("claude-sonnet-4-5", "Stream, please")
                        .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build());
             StreamResponse<ChatCompletionChunk> stream = response.parse()) {
            requestId = response.headers().values("x-request-id").get(0);
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
                assertEquals("claude-sonnet-4-5", chunk.model());
                for (ChatCompletionChunk.Choice choice : chunk.choices()) {
                    choice.delta().content().ifPresent(text::append);
                    if (choice.finishReason().isPresent()) {
                        finish = choice.finishReason().get();
                    }
                }
                if (chunk.usage().isPresent()) {
                    usage = chunk.usage().get();
                }
            }
        }
        assertEquals("Hello from the stream", text.toString());
        assertEquals(ChatCompletionChunk.Choice.FinishReason.LENGTH, finish);
        assertEquals(1530, usage.promptTokens());
        assertEquals(25, usage.completionTokens());

        JsonNode record = record(requestId);
        assertTrue(record.path("stream").asBoolean());
        assertEquals(1530, record.path("input_tokens").asLong());
        assertEquals(25, record.path("output_tokens").asLong());
        // 30 × $3 + 1500 × $0.30 + 25 × $15 per Mtok
        assertEquals(90_000 + 450_000 + 375_000, record.path("cost_nanos").asLong());

        boolean sawUsage = false;
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions()
                .createStreaming(chat("claude-sonnet-4-5", "Stream, please").build())) {
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
                sawUsage |= chunk.usage().isPresent();
            }
        }
        assertFalse(sawUsage, "a client that did not ask for usage gets no usage chunk");
    }

    @Test
    void translatesAnAnthropicToolCallAndItsResultRoundTrip() {
        ChatCompletionCreateParams ask = chat("claude-sonnet-4-5", "Weather in Paris?").addFunctionTool(weatherTool()).build();
        ChatCompletion first = client.chat().completions().create(ask);

        ChatCompletion.Choice choice = first.choices().get(0);
        assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, choice.finishReason());
        assertEquals("Let me check.", choice.message().content().orElseThrow());
        ChatCompletionMessageFunctionToolCall call = choice.message().toolCalls().orElseThrow().get(0).asFunction();
        assertEquals("toolu_01A09q90qw90lq917835lq9", call.id());
        assertEquals("get_weather", call.function().name());
        assertEquals("{\"city\":\"Paris\"}", call.function().arguments());

        ChatCompletion second = client.chat().completions().create(ask.toBuilder()
                .addMessage(choice.message())
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("18C").build())
                .build());
        assertEquals("It is 18C in Paris.", second.choices().get(0).message().content().orElseThrow());

        upstream.verify(postRequestedFor(urlEqualTo(MESSAGES))
                .withRequestBody(matchingJsonPath("$.tools[0].input_schema.properties.city.type", equalTo("string")))
                .withRequestBody(matchingJsonPath("$.messages[1].content[1].type", equalTo("tool_use")))
                .withRequestBody(matchingJsonPath("$.messages[1].content[1].input.city", equalTo("Paris")))
                .withRequestBody(matchingJsonPath("$.messages[2].content[0].tool_use_id",
                        equalTo("toolu_01A09q90qw90lq917835lq9")))
                .withRequestBody(matchingJsonPath("$.messages[2].content[0].content", equalTo("18C"))));
    }

    @Test
    void answersAChatForAGeminiModelLeavingThoughtsOutButBillingThem() throws Exception {
        String requestId;
        ChatCompletion completion;
        try (HttpResponseFor<ChatCompletion> response = client.chat().completions().withRawResponse()
                .create(chat("gemini-2.5-flash", "What does a gateway do?").maxCompletionTokens(512).build())) {
            completion = response.parse();
            requestId = response.headers().values("x-request-id").get(0);
        }

        assertEquals("A gateway meters every call.", completion.choices().get(0).message().content().orElseThrow());
        assertEquals(ChatCompletion.Choice.FinishReason.STOP, completion.choices().get(0).finishReason());
        CompletionUsage usage = completion.usage().orElseThrow();
        assertEquals(1200, usage.promptTokens());
        assertEquals(390, usage.completionTokens(), "answer plus thinking");
        assertEquals(350, usage.completionTokensDetails().orElseThrow().reasoningTokens().orElseThrow());

        upstream.verify(postRequestedFor(urlEqualTo(GENERATE))
                .withHeader("x-goog-api-key", equalTo(GEMINI_KEY))
                .withHeader("authorization", absent())
                .withRequestBody(equalToJson("""
                        {"contents": [{"role": "user", "parts": [{"text": "What does a gateway do?"}]}],
                         "systemInstruction": {"parts": [{"text": "You answer in one sentence."}]},
                         "generationConfig": {"maxOutputTokens": 512}}""")));

        JsonNode record = record(requestId);
        assertEquals("google", record.path("provider").asText());
        assertEquals(1200, record.path("input_tokens").asLong());
        assertEquals(1000, record.path("cached_input_tokens").asLong());
        assertEquals(390, record.path("output_tokens").asLong());
        assertEquals(350, record.path("reasoning_tokens").asLong());
        // 200 × $0.30 + 1000 × $0.075 + 390 × $2.50 per Mtok
        assertEquals(60_000 + 75_000 + 975_000, record.path("cost_nanos").asLong());
    }

    @Test
    void streamsAGeminiAnswerFromTheSseEndpoint() throws Exception {
        StringBuilder text = new StringBuilder();
        ChatCompletionChunk.Choice.FinishReason finish = null;
        boolean sawUsage = false;
        String requestId;
        try (HttpResponseFor<StreamResponse<ChatCompletionChunk>> response = client.chat().completions().withRawResponse()
                .createStreaming(chat("gemini-2.5-flash", "Stream, please").build());
             StreamResponse<ChatCompletionChunk> stream = response.parse()) {
            requestId = response.headers().values("x-request-id").get(0);
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
                sawUsage |= chunk.usage().isPresent();
                for (ChatCompletionChunk.Choice choice : chunk.choices()) {
                    choice.delta().content().ifPresent(text::append);
                    if (choice.finishReason().isPresent()) {
                        finish = choice.finishReason().get();
                    }
                }
            }
        }
        assertEquals("Hello from Gemini", text.toString());
        assertEquals(ChatCompletionChunk.Choice.FinishReason.LENGTH, finish);
        assertFalse(sawUsage);
        upstream.verify(postRequestedFor(urlEqualTo(STREAM_GENERATE)).withRequestBody(matchingJsonPath("$.contents")));

        JsonNode record = record(requestId);
        assertEquals(9, record.path("input_tokens").asLong());
        assertEquals(28, record.path("output_tokens").asLong());
        assertEquals("length", record.path("finish_reason").asText());
        assertEquals(2_700 + 70_000, record.path("cost_nanos").asLong());
    }

    @Test
    void sendsGeminisThoughtSignatureBackWithTheFunctionCallItMade() {
        ChatCompletionCreateParams ask = chat("gemini-2.5-flash", "Weather in Paris?").addFunctionTool(weatherTool()).build();
        ChatCompletion first = client.chat().completions().create(ask);

        ChatCompletion.Choice choice = first.choices().get(0);
        assertEquals(ChatCompletion.Choice.FinishReason.TOOL_CALLS, choice.finishReason());
        ChatCompletionMessageFunctionToolCall call = choice.message().toolCalls().orElseThrow().get(0).asFunction();
        assertEquals("get_weather", call.function().name());
        assertEquals("{\"city\":\"Paris\"}", call.function().arguments());

        ChatCompletion second = client.chat().completions().create(ask.toBuilder()
                .addMessage(choice.message())
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("sunny").build())
                .build());
        assertEquals("Sunny in Paris.", second.choices().get(0).message().content().orElseThrow());

        upstream.verify(postRequestedFor(urlEqualTo(GENERATE))
                .withRequestBody(matchingJsonPath("$.contents[1].parts[0].functionCall.name", equalTo("get_weather")))
                .withRequestBody(matchingJsonPath("$.contents[1].parts[0].thoughtSignature", equalTo("CtwBAdHtim9")))
                .withRequestBody(matchingJsonPath("$.contents[2].parts[0].functionResponse.response.output",
                        equalTo("sunny"))));
    }

    @Test
    void refusesWhatItCannotTranslateWith400NamingTheFieldBeforeCallingTheProvider() throws Exception {
        int before = upstream.getAllServeEvents().size();

        BadRequestException e = assertThrows(BadRequestException.class, () -> client.chat().completions()
                .create(chat("claude-sonnet-4-5", "Two answers, please").n(2L).build()));
        assertTrue(e.getMessage().contains("cannot translate field n for anthropic"), e.getMessage());

        HttpResponse<String> r = gateway.post("/v1/chat/completions", "tw-test-key", """
                {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": [
                  {"type": "text", "text": "What is this?"},
                  {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]}""");
        assertEquals(400, r.statusCode(), r.body());
        JsonNode error = TestGateway.json(r.body()).path("error");
        assertTrue(error.path("message").asText().startsWith(
                "cannot translate field messages[0].content[1].image_url.url for gemini: "), r.body());
        assertEquals("invalid_request_error", error.path("type").asText());

        assertEquals(before, upstream.getAllServeEvents().size(), "nothing was forwarded");
    }
}
