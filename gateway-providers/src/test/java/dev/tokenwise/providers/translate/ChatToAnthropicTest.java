package dev.tokenwise.providers.translate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ChatToAnthropicTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode body(String json) throws Exception {
        return (ObjectNode) JSON.readTree(json);
    }

    private static JsonNode translated(String json) throws Exception {
        ObjectNode body = body(json);
        ChatToAnthropic.translate(body, "claude-sonnet-4-5-20250929");
        return JSON.readTree(body.toString()); // as the upstream reads it: numbers by value, not node type
    }

    @Test
    void movesSystemPromptsToTheTopAndMapsSamplingParameters() throws Exception {
        JsonNode out = translated("""
                {"model": "claude-sonnet-4-5", "stream": true, "stream_options": {"include_usage": true},
                 "max_completion_tokens": 300, "temperature": 0.2, "top_p": 0.9, "stop": "END", "user": "u-42",
                 "store": false, "metadata": {"app": "x"}, "service_tier": "auto", "n": 1, "logprobs": false,
                 "messages": [
                   {"role": "system", "content": "You are terse."},
                   {"role": "user", "content": "Hi"},
                   {"role": "assistant", "content": "Hello."},
                   {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
                   {"role": "user", "content": "How are you?"}]}
                """);

        assertEquals(JSON.readTree("""
                {"model": "claude-sonnet-4-5-20250929", "max_tokens": 300,
                 "system": "You are terse.\\n\\nAnswer in French.",
                 "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."},
                              {"role": "user", "content": "How are you?"}],
                 "temperature": 0.2, "top_p": 0.9, "stop_sequences": ["END"], "stream": true,
                 "metadata": {"user_id": "u-42"}}
                """), out);
    }

    @Test
    void asksForAJsonSchemaThroughAnthropicsStructuredOutputs() throws Exception {
        JsonNode out = translated("""
                {"model": "c", "messages": [{"role": "user", "content": "Pick a city"}],
                 "response_format": {"type": "json_schema", "json_schema": {"name": "city", "strict": true,
                   "schema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"],
                              "additionalProperties": false}}}}
                """);

        assertEquals(JSON.readTree("""
                {"format": {"type": "json_schema", "schema": {"type": "object", "properties": {"name": {"type": "string"}},
                            "required": ["name"], "additionalProperties": false}}}
                """), out.get("output_config"));
        assertFalse(out.has("response_format"));
        assertFalse(out.has("tools"));
    }

    @Test
    void asksForAJsonObjectThroughAForcedToolOfItsOwn() throws Exception {
        JsonNode out = translated("""
                {"model": "c", "messages": [{"role": "user", "content": "JSON please"}],
                 "response_format": {"type": "json_object"}}
                """);

        assertEquals(ChatToAnthropic.JSON_TOOL, out.at("/tools/0/name").asText());
        assertEquals(JSON.readTree("{\"type\": \"object\"}"), out.at("/tools/0/input_schema"));
        assertEquals(JSON.readTree("{\"type\": \"tool\", \"name\": \"" + ChatToAnthropic.JSON_TOOL + "\"}"),
                out.get("tool_choice"));
        assertFalse(out.has("output_config"));
    }

    @Test
    void sendsAMaxTokensAnthropicRequiresWhenTheClientSetNone() throws Exception {
        JsonNode out = translated("""
                {"model": "c", "messages": [{"role": "user", "content": "Hi"}], "stop": ["a", "b"]}
                """);
        assertEquals(ChatToAnthropic.DEFAULT_MAX_TOKENS, out.path("max_tokens").asLong());
        assertEquals("[\"a\",\"b\"]", out.path("stop_sequences").toString());
        java.util.List<String> fields = new java.util.ArrayList<>();
        out.fieldNames().forEachRemaining(fields::add);
        assertEquals(java.util.List.of("model", "max_tokens", "messages", "stop_sequences"), fields);
    }

    @Test
    void translatesToolsAndAToolCallRoundTrip() throws Exception {
        JsonNode out = translated("""
                {"model": "c", "max_tokens": 100, "parallel_tool_calls": false, "tool_choice": "required",
                 "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather now",
                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                           "required": ["city"]}, "strict": true}},
                           {"type": "function", "function": {"name": "now"}}],
                 "messages": [
                   {"role": "user", "content": "Weather in Paris and Rome?"},
                   {"role": "assistant", "content": null, "tool_calls": [
                     {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\\"city\\":\\"Paris\\"}"}},
                     {"id": "toolu_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\\"city\\":\\"Rome\\"}"}}]},
                   {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
                   {"role": "tool", "tool_call_id": "toolu_2", "content": [{"type": "text", "text": "21C"}]}]}
                """);

        assertEquals(JSON.readTree("""
                [{"role": "user", "content": "Weather in Paris and Rome?"},
                 {"role": "assistant", "content": [
                   {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                   {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}}]},
                 {"role": "user", "content": [
                   {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                   {"type": "tool_result", "tool_use_id": "toolu_2", "content": "21C"}]}]
                """), out.get("messages"));
        assertEquals(JSON.readTree("""
                [{"name": "get_weather", "description": "Weather now",
                  "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
                 {"name": "now", "input_schema": {"type": "object", "properties": {}}}]
                """), out.get("tools"));
        assertEquals(JSON.readTree("{\"type\": \"any\", \"disable_parallel_tool_use\": true}"), out.get("tool_choice"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "\"auto\"                                          | {\"type\":\"auto\"}",
            "\"none\"                                          | {\"type\":\"none\"}",
            "{\"type\":\"function\",\"function\":{\"name\":\"f\"}} | {\"type\":\"tool\",\"name\":\"f\"}"})
    void mapsEachToolChoice(String openAi, String anthropic) throws Exception {
        JsonNode out = translated("""
                {"model": "c", "tool_choice": %s, "messages": [{"role": "user", "content": "x"}],
                 "tools": [{"type": "function", "function": {"name": "f"}}]}
                """.formatted(openAi));
        assertEquals(JSON.readTree(anthropic), out.get("tool_choice"));
    }

    @Test
    void keepsAssistantTextBesideItsToolCallsAndMergesConsecutiveTurns() throws Exception {
        JsonNode out = translated("""
                {"model": "c", "messages": [
                  {"role": "user", "content": "one"}, {"role": "user", "content": "two"},
                  {"role": "assistant", "content": "Let me look.", "tool_calls": [
                    {"id": "t1", "type": "function", "function": {"name": "f", "arguments": ""}}]}]}
                """);
        assertEquals(JSON.readTree("""
                [{"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
                 {"role": "assistant", "content": [{"type": "text", "text": "Let me look."},
                                                   {"type": "tool_use", "id": "t1", "name": "f", "input": {}}]}]
                """), out.get("messages"));
    }

    @Test
    void sendsImagesAsBase64OrUrlBlocks() throws Exception {
        JsonNode out = translated("""
                {"model": "c", "messages": [{"role": "user", "content": [
                  {"type": "text", "text": "Compare"},
                  {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}},
                  {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]}]}
                """);
        assertEquals(JSON.readTree("""
                [{"type": "text", "text": "Compare"},
                 {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                 {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}]
                """), out.at("/messages/0/content"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "\"n\": 2                                                     | field n ",
            "\"logprobs\": true                                           | field logprobs ",
            "\"top_logprobs\": 3                                          | field top_logprobs ",
            "\"temperature\": 1.5                                         | field temperature ",
            "\"presence_penalty\": 0.5                                    | field presence_penalty ",
            "\"seed\": 7                                                  | field seed ",
            "\"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"x\"}} | field response_format.json_schema.schema ",
            "\"response_format\": {\"type\": \"json_object\"}, \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\"}}] | field response_format.type ",
            "\"prediction\": {\"type\": \"content\", \"content\": \"x\"}      | field prediction ",
            "\"reasoning_effort\": \"high\"                                | field reasoning_effort ",
            "\"audio\": {\"voice\": \"alloy\", \"format\": \"wav\"}           | field audio ",
            "\"modalities\": [\"text\", \"audio\"]                          | field modalities ",
            "\"logit_bias\": {\"50256\": -100}                             | field logit_bias ",
            "\"functions\": [{\"name\": \"f\"}]                            | field functions ",
            "\"tools\": [{\"type\": \"custom\", \"custom\": {\"name\": \"x\"}}] | field tools[0].type "})
    void refusesWhatHasNoEquivalentNamingTheField(String field, String named) throws Exception {
        ObjectNode body = body("{\"model\": \"c\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], " + field + "}");
        String before = body.toString();

        GatewayException e = assertThrows(GatewayException.class,
                () -> ChatToAnthropic.translate(body, "claude-sonnet-4-5-20250929"));

        assertEquals(ErrorType.BAD_REQUEST, e.type());
        assertTrue(e.getMessage().startsWith("cannot translate " + named.trim() + " for anthropic: "), e.getMessage());
        assertEquals(before, body.toString(), "a refused request is left as it was");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{\"role\": \"user\", \"content\": [{\"type\": \"input_audio\", \"input_audio\": {\"data\": \"x\", \"format\": \"wav\"}}]} | messages[0].content[0].type",
            "{\"role\": \"user\", \"content\": [{\"type\": \"file\", \"file\": {\"file_id\": \"f\"}}]}                          | messages[0].content[0].type",
            "{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"ftp://x/y.png\"}}]}       | messages[0].content[0].image_url.url",
            "{\"role\": \"assistant\", \"tool_calls\": [{\"id\": \"t\", \"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": \"[1,2]\"}}]} | messages[0].tool_calls[0].function.arguments",
            "{\"role\": \"function\", \"name\": \"f\", \"content\": \"x\"}                                                    | messages[0].role",
            "{\"role\": \"tool\", \"content\": \"x\"}                                                                         | messages[0].tool_call_id"})
    void refusesMessagesItCannotExpressNamingThePath(String message, String path) throws Exception {
        ObjectNode body = body("{\"model\": \"c\", \"messages\": [" + message + "]}");

        GatewayException e = assertThrows(GatewayException.class, () -> ChatToAnthropic.translate(body, "m"));

        assertTrue(e.getMessage().startsWith("cannot translate field " + path.trim() + " for anthropic"), e.getMessage());
    }

    @Test
    void reportsWhetherTheClientAskedForStreamedUsage() throws Exception {
        assertTrue(ChatToAnthropic.translate(body("""
                {"model": "c", "stream": true, "stream_options": {"include_usage": true},
                 "messages": [{"role": "user", "content": "Hi"}]}"""), "m").includeUsage());
        OpenAiChatRequest plain = ChatToAnthropic.translate(body("""
                {"model": "claude-x", "stream": true, "messages": [{"role": "user", "content": "Hi"}]}"""), "m");
        assertFalse(plain.includeUsage());
        assertEquals("claude-x", plain.model());
    }
}
