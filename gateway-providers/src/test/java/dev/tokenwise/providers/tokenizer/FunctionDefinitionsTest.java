package dev.tokenwise.providers.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.json.ChatBodyReader;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.RequestFeature;
import dev.tokenwise.core.model.TokenCount;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Tool definitions counted against {@code usage.prompt_tokens} numbers the OpenAI API returned, as published.
 * Each fixture names its source; a fixture is exact only when the count equals the API's number.
 */
class FunctionDefinitionsTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TokenizerTable TABLE = new TokenizerTable();

    @BeforeAll
    static void load() {
        TABLE.warmUp();
    }

    /**
     * OpenAI Cookbook, "How to count tokens with tiktoken", section 7 "Counting tokens for chat completions with tool
     * calls" (openai/openai-cookbook, examples/How_to_count_tokens_with_tiktoken.ipynb). The notebook's output prints
     * "105 prompt tokens counted by the OpenAI API" for gpt-3.5-turbo and gpt-4, and "101 prompt tokens counted by
     * the OpenAI API" for gpt-4o and gpt-4o-mini.
     */
    private static final String COOKBOOK_TOOLS_BODY = """
            {"model": "m",
             "messages": [
               {"role": "system", "content": "You are a helpful assistant that can answer to questions about the weather."},
               {"role": "user", "content": "What's the weather like in San Francisco?"}],
             "tools": [{"type": "function", "function": {
               "name": "get_current_weather",
               "description": "Get the current weather in a given location",
               "parameters": {"type": "object", "properties": {
                 "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                 "unit": {"type": "string", "description": "The unit of temperature to return", "enum": ["celsius", "fahrenheit"]}},
                 "required": ["location"]}}}],
             "temperature": 0}""";

    @ParameterizedTest(name = "{0}: {1} prompt tokens")
    @CsvSource({"gpt-3.5-turbo, 105", "gpt-4, 105", "gpt-4o, 101", "gpt-4o-mini, 101"})
    void countsTheCookbookToolExampleExactlyLikeTheApi(String model, long apiPromptTokens) throws Exception {
        assertExact(model, COOKBOOK_TOOLS_BODY, apiPromptTokens);
    }

    /**
     * The examples of the openai-chat-tokens project (hmarr/openai-chat-tokens, tests/token-counts.test.ts), each with
     * the {@code usage.prompt_tokens} gpt-3.5-turbo returned for it (the project's test "test data matches openai"
     * sends them to the API). Messages, then the {@code functions} list, then the API's number.
     */
    @ParameterizedTest(name = "openai-chat-tokens example {index}: {2} prompt tokens")
    @CsvSource(delimiter = '|', value = {
            "[{\"role\":\"user\",\"content\":\"hello\"}]"
                    + "|[{\"name\":\"foo\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}]|31",
            "[{\"role\":\"user\",\"content\":\"hello\"}]"
                    + "|[{\"name\":\"foo\",\"description\":\"Do a foo\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}]|36",
            "[{\"role\":\"user\",\"content\":\"hello\"}]"
                    + "|[{\"name\":\"bing_bong\",\"description\":\"Do a bing bong\",\"parameters\":{\"type\":\"object\","
                    + "\"properties\":{\"foo\":{\"type\":\"string\"}}}}]|49",
            "[{\"role\":\"user\",\"content\":\"hello\"}]"
                    + "|[{\"name\":\"bing_bong\",\"description\":\"Do a bing bong\",\"parameters\":{\"type\":\"object\","
                    + "\"properties\":{\"foo\":{\"type\":\"string\"},\"bar\":{\"type\":\"number\",\"description\":\"A number\"}}}}]|57",
            "[{\"role\":\"user\",\"content\":\"hello\"}]"
                    + "|[{\"name\":\"bing_bong\",\"description\":\"Do a bing bong\",\"parameters\":{\"type\":\"object\","
                    + "\"properties\":{\"foo\":{\"type\":\"object\",\"properties\":{\"bar\":{\"type\":\"string\","
                    + "\"enum\":[\"a\",\"b\",\"c\"]},\"baz\":{\"type\":\"boolean\"}}}}}}]|68",
            "[{\"role\":\"system\",\"content\":\"Hello\"},{\"role\":\"user\",\"content\":\"Hi there\"}]"
                    + "|[{\"name\":\"do_stuff\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}]|35",
            "[{\"role\":\"system\",\"content\":\"Hello:\"},{\"role\":\"user\",\"content\":\"Hi there\"}]"
                    + "|[{\"name\":\"do_stuff\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}]|35",
            "[{\"role\":\"system\",\"content\":\"Hello:\"},{\"role\":\"system\",\"content\":\"Hello\"},"
                    + "{\"role\":\"user\",\"content\":\"Hi there\"}]"
                    + "|[{\"name\":\"do_stuff\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}]|40",
            "[{\"role\":\"user\",\"content\":\"hello\"}]"
                    + "|[{\"name\":\"get_recipe\",\"parameters\":{\"type\":\"object\",\"required\":[\"ingredients\","
                    + "\"instructions\",\"time_to_cook\"],\"properties\":{\"ingredients\":{\"type\":\"array\",\"items\":"
                    + "{\"type\":\"object\",\"required\":[\"name\",\"unit\",\"amount\"],\"properties\":{\"name\":{\"type\":"
                    + "\"string\"},\"unit\":{\"enum\":[\"grams\",\"ml\",\"cups\",\"pieces\",\"teaspoons\"],\"type\":"
                    + "\"string\"},\"amount\":{\"type\":\"number\"}}}},\"instructions\":{\"type\":\"array\",\"items\":"
                    + "{\"type\":\"string\"},\"description\":\"Steps to prepare the recipe (no numbering)\"},"
                    + "\"time_to_cook\":{\"type\":\"number\",\"description\":\"Total time to prepare the recipe in minutes\"}}}}]|106"})
    void countsTheOpenAiChatTokensExamplesExactlyLikeTheApi(String messages, String functions, long apiPromptTokens)
            throws Exception {
        assertExact("gpt-3.5-turbo", "{\"model\":\"gpt-3.5-turbo\",\"messages\":" + messages + ",\"functions\":"
                + functions + "}", apiPromptTokens);
    }

    @Test
    void rendersToolsAsATypeScriptNamespace() throws Exception {
        FunctionDefinitions.Rendering r = FunctionDefinitions.render(JSON.readTree(COOKBOOK_TOOLS_BODY).get("tools"));
        assertEquals("""
                namespace functions {

                // Get the current weather in a given location
                type get_current_weather = (_: {
                // The city and state, e.g. San Francisco, CA
                location: string,
                // The unit of temperature to return
                unit?: "celsius" | "fahrenheit",
                }) => any;

                } // namespace functions""", r.text());
        assertTrue(r.proven());
    }

    @Test
    void estimatesToolsOfModelsWhoseRenderingNoExampleProves() throws Exception {
        TokenCount gpt41 = count("gpt-4.1", COOKBOOK_TOOLS_BODY);
        assertTrue(gpt41.estimated(), "gpt-4.1 may render tools otherwise");
        assertEquals(101, gpt41.tokens(), "the same o200k rendering, as the best estimate");
    }

    @Test
    void estimatesSchemasBeyondThePublishedShapes() throws Exception {
        for (String property : new String[] {
                "{\"type\":\"integer\"}",
                "{\"type\":\"string\",\"format\":\"date\"}",
                "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}",
                "{\"type\":\"string\",\"description\":\"two\\nlines\"}",
                "{\"type\":\"array\"}"}) {
            String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[{\"type\":\"function\","
                    + "\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\",\"properties\":{\"x\":" + property
                    + "}}}}]}";
            TokenCount c = count("gpt-4o", body);
            assertTrue(c.estimated(), property);
            assertTrue(c.has(RequestFeature.TOOLS));
        }
        TokenCount strict = count("gpt-4o", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[{\"type\":"
                + "\"function\",\"function\":{\"name\":\"f\",\"strict\":true,\"parameters\":{\"type\":\"object\","
                + "\"properties\":{\"x\":{\"type\":\"string\"}},\"additionalProperties\":false}}}]}");
        assertTrue(strict.estimated(), "strict schemas are not covered by an example");
    }

    @Test
    void countsAForcedToolChoiceAResponseSchemaAndAPredictionAsEstimates() throws Exception {
        long base = count("gpt-4o", COOKBOOK_TOOLS_BODY).tokens();
        ObjectMapper m = JSON;
        com.fasterxml.jackson.databind.node.ObjectNode forced = (com.fasterxml.jackson.databind.node.ObjectNode) m.readTree(COOKBOOK_TOOLS_BODY);
        forced.set("tool_choice", m.readTree("{\"type\":\"function\",\"function\":{\"name\":\"get_current_weather\"}}"));
        TokenCount f = count("gpt-4o", forced.toString());
        assertTrue(f.estimated());
        assertTrue(f.has(RequestFeature.TOOL_CHOICE_FORCED));
        assertEquals(base + 4 + 3, f.tokens(), "4 tokens and the name (get_current_weather: 3 tokens)");

        com.fasterxml.jackson.databind.node.ObjectNode auto = forced.deepCopy();
        auto.put("tool_choice", "auto");
        TokenCount a = count("gpt-4o", auto.toString());
        assertFalse(a.estimated(), "auto is the default");
        assertFalse(a.has(RequestFeature.TOOL_CHOICE_FORCED));
        assertEquals(base, a.tokens());

        String schema = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"response_format\":{\"type\":\"json_schema\","
                + "\"json_schema\":{\"name\":\"answer\",\"schema\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}}}}";
        TokenCount s = count("gpt-4o", schema);
        TokenCount plain = count("gpt-4o", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertTrue(s.estimated());
        assertTrue(s.has(RequestFeature.JSON_SCHEMA));
        assertTrue(s.tokens() > plain.tokens() + 10, "the schema's text is counted");

        TokenCount p = count("gpt-4o", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"prediction\":"
                + "{\"type\":\"content\",\"content\":\"hello\"}}");
        assertTrue(p.has(RequestFeature.PREDICTION));
        assertTrue(p.estimated());
    }

    private static void assertExact(String model, String body, long apiPromptTokens) throws Exception {
        TokenCount tree = count(model, body);
        assertEquals(apiPromptTokens, tree.tokens(), "counted from the tree");
        assertFalse(tree.estimated(), "proven by the API's number: exact");
        assertTrue(tree.has(RequestFeature.TOOLS));
        // The same body read as bytes (messages counted one by one under a hash of their bytes), uncached and cached.
        JtokkitTokenCounter counter = new JtokkitTokenCounter(TABLE, Runnable::run, 100);
        for (int pass = 0; pass < 2; pass++) {
            JsonNode raw = ChatBodyReader.read(JSON.getFactory(), body.getBytes(StandardCharsets.UTF_8));
            TokenCount bytes = counter.countInput(model, Endpoint.CHAT_COMPLETIONS, raw).get();
            assertEquals(apiPromptTokens, bytes.tokens(), "counted from the bytes, pass " + pass);
            assertFalse(bytes.estimated());
            assertEquals(tree.features(), bytes.features());
            assertEquals(tree.textBytes(), bytes.textBytes());
        }
    }

    private static TokenCount count(String model, String body) throws Exception {
        CompletableFuture<TokenCount> c = new JtokkitTokenCounter(TABLE, Runnable::run, 100)
                .countInput(model, Endpoint.CHAT_COMPLETIONS, JSON.readTree(body));
        return c.get();
    }
}
