package dev.tokenwise.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TaskSuitesTest {
    @TempDir
    Path dir;

    @Test
    void readsPromptAndMessageTasksSkippingBlankLines() throws Exception {
        Path file = dir.resolve("suite.jsonl");
        Files.writeString(file, """
                {"id": "capital", "prompt": "Capital of France?", "grader": {"type": "exact", "answer": "Paris"}}

                {"id": "sum", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}], "grader": {"type": "number", "answer": 4}, "max_tokens": 50}
                """);
        List<EvalTask> tasks = TaskSuites.load(file);
        assertEquals(2, tasks.size());
        assertEquals("Capital of France?", tasks.get(0).prompt());
        assertEquals("2+2?", tasks.get(1).prompt());
        assertEquals(50, tasks.get(1).maxTokens());
        assertEquals("number", tasks.get(1).grader().type());
    }

    @Test
    void namesTheLineOfAMalformedTask() {
        String suite = """
                {"id": "a", "prompt": "x", "grader": {"type": "exact", "answer": "y"}}
                {"id": "b", "prompt": "x", "grader": {"type": "exactly", "answer": "y"}}
                """;
        assertEquals("s.jsonl line 2: grader.type: \"exactly\" (expected one of: exact, contains, regex, number,"
                + " json_schema, choice)", assertThrows(SuiteException.class, () -> TaskSuites.parse(suite, "s.jsonl"))
                .getMessage());
        assertEquals("s.jsonl line 1: not valid JSON (Unexpected character ('}' (code 125)): was expecting double-quote"
                        + " to start field name)",
                assertThrows(SuiteException.class, () -> TaskSuites.parse("{\"id\": \"a\",}", "s.jsonl")).getMessage());
        assertEquals("s.jsonl line 3: id: \"a\" (expected: a unique id; already used on line 1)",
                assertThrows(SuiteException.class, () -> TaskSuites.parse("""
                        {"id": "a", "prompt": "x", "grader": {"type": "exact", "answer": "y"}}

                        {"id": "a", "prompt": "z", "grader": {"type": "exact", "answer": "y"}}
                        """, "s.jsonl")).getMessage());
        assertEquals("s.jsonl line 1: prompt or messages: missing (expected: one of them)",
                assertThrows(SuiteException.class, () -> TaskSuites.parse(
                        "{\"id\": \"a\", \"grader\": {\"type\": \"exact\", \"answer\": \"y\"}}", "s.jsonl")).getMessage());
        assertEquals("s.jsonl line 1: unknown field: answer (expected: id, prompt or messages, grader, max_tokens)",
                assertThrows(SuiteException.class, () -> TaskSuites.parse(
                        "{\"id\": \"a\", \"prompt\": \"q\", \"answer\": \"y\"}", "s.jsonl")).getMessage());
        assertEquals("s.jsonl line 1: grader: missing (expected: an object with a \"type\")",
                assertThrows(SuiteException.class, () -> TaskSuites.parse("{\"id\": \"a\", \"prompt\": \"q\"}",
                        "s.jsonl")).getMessage());
    }

    @Test
    void refusesAMissingFileAndAnEmptySuite() {
        assertEquals("nope.jsonl: no such file", assertThrows(SuiteException.class,
                () -> TaskSuites.load(dir.resolve("nope.jsonl"))).getMessage().replace(dir + "/", ""));
        assertEquals("e.jsonl: no tasks (expected: one JSON object per line)",
                assertThrows(SuiteException.class, () -> TaskSuites.parse("\n\n", "e.jsonl")).getMessage());
    }
}
