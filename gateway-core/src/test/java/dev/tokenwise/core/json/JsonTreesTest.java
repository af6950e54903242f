package dev.tokenwise.core.json;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

class JsonTreesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void buildsTheSameTreeOfAnObjectAsReadTree() throws IOException {
        List<String> objects = List.of(
                "{}",
                """
                {"prompt_tokens": 19, "completion_tokens": 2, "total_tokens": 21,
                 "prompt_tokens_details": {"cached_tokens": 8, "audio_tokens": 0},
                 "completion_tokens_details": {"reasoning_tokens": 1, "accepted_prediction_tokens": 0}}""",
                // DeepSeek's fields, a repeated field (the last one wins), every kind of value
                """
                {"prompt_tokens": 5, "prompt_cache_hit_tokens": 3, "prompt_cache_miss_tokens": 2, "prompt_tokens": 7,
                 "big": 12345678901, "huge": 123456789012345678901234567890, "negative": -4, "float": 1.5,
                 "exponent": 2e3, "long_decimal": 0.1000000000000000055511151231257827, "text": "caf\\u00e9 \\"q\\"",
                 "yes": true, "no": false, "nothing": null, "list": [1, "two", [3.0], {"four": 4}, null, []],
                 "nested": {"deeper": {"deepest": {}}}}""");
        for (String object : objects) {
            try (JsonParser p = JSON.getFactory().createParser(object)) {
                assertEquals(JsonToken.START_OBJECT, p.nextToken());
                JsonNode built = JsonTrees.readObject(p);
                assertEquals(JSON.readTree(object), built, object);
                assertEquals(JSON.readTree(object).toString(), built.toString(), "node types too: " + object);
            }
        }
    }
}
