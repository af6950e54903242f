package dev.tokenwise.providers.translate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.error.GatewayException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ChatToGeminiTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode translated(String json) throws Exception {
        ObjectNode body = (ObjectNode) JSON.readTree(json);
        ChatToGemini.translate(body);
        return JSON.readTree(body.toString()); // as the upstream reads it: numbers by value, not node type
    }

    @Test
    void buildsContentsSystemInstructionAndGenerationConfig() throws Exception {
        JsonNode out = translated("""
                {"model": "gemini-2.5-flash", "stream": true, "stream_options": {"include_usage": true},
                 "max_tokens": 200, "temperature": 1.3, "top_p": 0.8, "stop": ["\\n\\n"], "seed": 3,
                 "presence_penalty": 0.1, "frequency_penalty": 0.2, "user": "dropped", "parallel_tool_calls": true,
                 "messages": [
                   {"role": "system", "content": "Be brief."},
                   {"role": "user", "content": "Hi"},
                   {"role": "assistant", "content": "Hello!"},
                   {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                     {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}}]}]}
                """);

        assertEquals(JSON.readTree("""
                {"contents": [
                   {"role": "user", "parts": [{"text": "Hi"}]},
                   {"role": "model", "parts": [{"text": "Hello!"}]},
                   {"role": "user", "parts": [{"text": "What is this?"},
                                              {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}}]}],
                 "systemInstruction": {"parts": [{"text": "Be brief."}]},
                 "generationConfig": {"maxOutputTokens": 200, "temperature": 1.3, "topP": 0.8,
                                      "stopSequences": ["\\n\\n"], "presencePenalty": 0.1, "frequencyPenalty": 0.2,
                                      "seed": 3}}
                """), out, "model and stream go in the URL; user and parallel_tool_calls have no equivalent");
    }

    @Test
    void translatesToolsToolChoiceCallsAndResultsNamedAfterTheirCall() throws Exception {
        JsonNode out = translated("""
                {"model": "g", "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
                 "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather now",
                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                           "additionalProperties": false}}}],
                 "messages": [
                   {"role": "user", "content": "Weather in Paris?"},
                   {"role": "assistant", "tool_calls": [
                     {"id": "call_1~ts~c2lnbmF0dXJl", "type": "function",
                      "function": {"name": "get_weather", "arguments": "{\\"city\\":\\"Paris\\"}"}}]},
                   {"role": "tool", "tool_call_id": "call_1~ts~c2lnbmF0dXJl", "content": "{\\"celsius\\": 18}"},
                   {"role": "assistant", "tool_calls": [
                     {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{}"},
                      "extra_content": {"google": {"thought_signature": "b3duU2ln"}}}]},
                   {"role": "tool", "tool_call_id": "call_2", "content": "sunny"}]}
                """);

        assertEquals(JSON.readTree("""
                [{"role": "user", "parts": [{"text": "Weather in Paris?"}]},
                 {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                                              "thoughtSignature": "c2lnbmF0dXJl"}]},
                 {"role": "user", "parts": [{"functionResponse": {"name": "get_weather",
                                                                  "response": {"output": {"celsius": 18}}}}]},
                 {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {}},
                                              "thoughtSignature": "b3duU2ln"}]},
                 {"role": "user", "parts": [{"functionResponse": {"name": "get_weather",
                                                                  "response": {"output": "sunny"}}}]}]
                """), out.get("contents"));
        assertEquals(JSON.readTree("""
                [{"functionDeclarations": [{"name": "get_weather", "description": "Weather now",
                  "parametersJsonSchema": {"type": "object", "properties": {"city": {"type": "string"}},
                                           "additionalProperties": false}}]}]
                """), out.get("tools"));
        assertEquals(JSON.readTree("{\"functionCallingConfig\": {\"mode\": \"ANY\", \"allowedFunctionNames\": [\"get_weather\"]}}"),
                out.get("toolConfig"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"\"auto\" | AUTO", "\"none\" | NONE", "\"required\" | ANY"})
    void mapsEachToolChoiceMode(String openAi, String mode) throws Exception {
        JsonNode out = translated("""
                {"model": "g", "tool_choice": %s, "messages": [{"role": "user", "content": "x"}],
                 "tools": [{"type": "function", "function": {"name": "f"}}]}
                """.formatted(openAi));
        assertEquals(mode, out.at("/toolConfig/functionCallingConfig/mode").asText());
    }

    @Test
    void asksForJsonOutputForJsonResponseFormats() throws Exception {
        JsonNode object = translated("""
                {"model": "g", "response_format": {"type": "json_object"}, "messages": [{"role": "user", "content": "x"}]}
                """);
        assertEquals("{\"responseMimeType\":\"application/json\"}", object.get("generationConfig").toString());

        JsonNode schema = translated("""
                {"model": "g", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema",
                 "json_schema": {"name": "p", "strict": true, "schema": {"type": "object", "properties": {"n": {"type": "integer"}}}}}}
                """);
        assertEquals(JSON.readTree("""
                {"responseMimeType": "application/json",
                 "responseJsonSchema": {"type": "object", "properties": {"n": {"type": "integer"}}}}
                """), schema.get("generationConfig"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "[{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"https://x.test/a.png\"}}]}] | messages[0].content[0].image_url.url",
            "[{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"tool\", \"tool_call_id\": \"nope\", \"content\": \"y\"}]       | messages[1].tool_call_id",
            "[{\"role\": \"assistant\", \"content\": null}]                                                                     | messages[0].content"})
    void refusesWhatGeminiCannotTakeNamingTheField(String messages, String path) throws Exception {
        ObjectNode body = (ObjectNode) JSON.readTree("{\"model\": \"g\", \"messages\": " + messages + "}");

        GatewayException e = assertThrows(GatewayException.class, () -> ChatToGemini.translate(body));

        assertTrue(e.getMessage().startsWith("cannot translate field " + path.trim() + " for gemini: "), e.getMessage());
    }

    @Test
    void refusesSeveralChoices() throws Exception {
        ObjectNode body = (ObjectNode) JSON.readTree("{\"model\": \"g\", \"n\": 3, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}");
        assertEquals("cannot translate field n for gemini: 3 choices (only 1 can be translated)",
                assertThrows(GatewayException.class, () -> ChatToGemini.translate(body)).getMessage());
    }
}
