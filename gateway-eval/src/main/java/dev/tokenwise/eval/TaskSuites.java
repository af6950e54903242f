package dev.tokenwise.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a suite from a JSONL file: one task per line,
 * {@code {"id": "...", "prompt": "..." | "messages": [{"role", "content"}], "grader": {...}, "max_tokens": N}}
 * ({@code max_tokens} optional). Blank lines are skipped. Every problem is a {@link SuiteException} whose message
 * names the file and line: {@code "suite.jsonl line 7: grader.type: \"exactly\" (expected one of: ...)"}.
 *
 * <pre>{@code
 * List<EvalTask> tasks = TaskSuites.load(Path.of("my-suite.jsonl"));
 * }</pre>
 */
public final class TaskSuites {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> FIELDS = Set.of("id", "prompt", "messages", "grader", "max_tokens");
    private static final Set<String> ROLES = Set.of("system", "user", "assistant", "developer");

    private TaskSuites() {
    }

    /** The tasks of a suite file, in order. */
    public static List<EvalTask> load(Path file) {
        String text;
        try {
            byte[] bytes = Files.readAllBytes(file);
            text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (NoSuchFileException e) {
            throw new SuiteException(file + ": no such file");
        } catch (CharacterCodingException e) {
            throw new SuiteException(file + ": not UTF-8 text");
        } catch (IOException e) {
            throw new SuiteException(file + ": cannot be read (" + e.getMessage() + ")", e);
        }
        return parse(text, file.getFileName().toString());
    }

    /** The tasks of a suite held in memory; {@code source} names it in messages. */
    public static List<EvalTask> parse(String text, String source) {
        List<EvalTask> tasks = new ArrayList<>();
        Map<String, Integer> idLines = new HashMap<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty()) {
                continue;
            }
            int number = i + 1;
            EvalTask task;
            try {
                task = task(line);
            } catch (IllegalArgumentException e) {
                throw new SuiteException(source + " line " + number + ": " + e.getMessage(), e);
            }
            Integer earlier = idLines.putIfAbsent(task.id(), number);
            if (earlier != null) {
                throw new SuiteException(source + " line " + number + ": id: \"" + task.id()
                        + "\" (expected: a unique id; already used on line " + earlier + ")");
            }
            tasks.add(task);
        }
        if (tasks.isEmpty()) {
            throw new SuiteException(source + ": no tasks (expected: one JSON object per line)");
        }
        return tasks;
    }

    /** One line's task; {@link IllegalArgumentException} says what is wrong with it. */
    static EvalTask task(String line) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("expected a JSON object, found " + (node == null ? "nothing"
                    : node.getNodeType().name().toLowerCase(java.util.Locale.ROOT)));
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!FIELDS.contains(name)) {
                throw new IllegalArgumentException("unknown field: " + name
                        + " (expected: id, prompt or messages, grader, max_tokens)");
            }
        }
        JsonNode id = node.get("id");
        if (id == null || !(id.isTextual() || id.canConvertToLong()) || !id.asText().matches("[!-~]{1,64}")) {
            throw new IllegalArgumentException("id: " + (id == null ? "missing" : id.toString())
                    + " (expected: 1 to 64 printable ASCII characters, no spaces)");
        }
        List<ChatMessage> messages = new ArrayList<>();
        JsonNode prompt = node.get("prompt");
        JsonNode msgs = node.get("messages");
        if ((prompt == null) == (msgs == null)) {
            throw new IllegalArgumentException(prompt == null ? "prompt or messages: missing (expected: one of them)"
                    : "prompt and messages: both given (expected: one of them)");
        }
        if (prompt != null) {
            if (!prompt.isTextual() || prompt.asText().isBlank()) {
                throw new IllegalArgumentException("prompt: " + prompt + " (expected: a non-empty string)");
            }
            messages.add(ChatMessage.user(prompt.asText()));
        } else {
            if (!msgs.isArray() || msgs.isEmpty()) {
                throw new IllegalArgumentException("messages: " + msgs + " (expected: a non-empty array of {role, content})");
            }
            for (int j = 0; j < msgs.size(); j++) {
                JsonNode m = msgs.get(j);
                JsonNode role = m.get("role");
                JsonNode content = m.get("content");
                if (role == null || !ROLES.contains(role.asText())) {
                    throw new IllegalArgumentException("messages[" + j + "].role: " + (role == null ? "missing" : role)
                            + " (expected one of: system, user, assistant, developer)");
                }
                if (content == null || !content.isTextual()) {
                    throw new IllegalArgumentException("messages[" + j + "].content: "
                            + (content == null ? "missing" : content) + " (expected: a string)");
                }
                messages.add(new ChatMessage(role.asText(), content.asText()));
            }
        }
        int maxTokens = 0;
        JsonNode max = node.get("max_tokens");
        if (max != null && !max.isNull()) {
            if (!max.canConvertToInt() || !max.isIntegralNumber() || max.asInt() <= 0) {
                throw new IllegalArgumentException("max_tokens: " + max + " (expected: a positive integer)");
            }
            maxTokens = max.asInt();
        }
        Grader grader = Grader.parse(node.get("grader"));
        return new EvalTask(id.asText(), messages, grader, maxTokens);
    }
}
