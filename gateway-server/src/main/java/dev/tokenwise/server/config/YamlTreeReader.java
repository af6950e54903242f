package dev.tokenwise.server.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import dev.tokenwise.core.config.ConfigException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads YAML text into a Jackson tree whose scalars are all {@link com.fasterxml.jackson.databind.node.TextNode}s
 * holding the text as written (or {@code NullNode} for YAML nulls), so that typing is done by the loader and
 * nothing is lost to YAML 1.1 guesses ({@code 0123} stays {@code "0123"}, not 83; {@code 0.10} stays exact).
 *
 * <p>Environment references are not expanded here, but they are made parseable: {@code ${VAR}} is not a
 * legal plain scalar inside a flow mapping ({@code {key: ${VAR}}}), because braces are flow indicators. Each
 * reference on a line is therefore swapped for an opaque, random, YAML-neutral placeholder before parsing
 * and swapped back in every scalar and key of the tree, so the loader sees {@code "${VAR}"} exactly as written.
 */
final class YamlTreeReader {

    private static final YAMLFactory YAML = new YAMLFactory();

    private final String prefix;
    private final Pattern placeholder;
    private final List<String> originals = new ArrayList<>();
    private final List<Integer> protectedLines = new ArrayList<>();

    private YamlTreeReader() {
        // Random so that no text of the file can be mistaken for a placeholder; letters, digits and
        // underscores only, so it is a plain scalar in every YAML context.
        prefix = "_twref" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1) + "_";
        placeholder = Pattern.compile(Pattern.quote(prefix) + "(\\d+)_");
    }

    /**
     * Parses {@code yaml}; returns the root node, or {@code null} for an empty document.
     *
     * @throws ConfigException for a syntax error, a duplicate key, an alias or more than one document
     */
    static JsonNode read(String yaml) {
        return new YamlTreeReader().parse(yaml);
    }

    private JsonNode parse(String yaml) {
        String text = protect(yaml);
        try (JsonParser parser = YAML.createParser(text)) {
            JsonToken first = parser.nextToken();
            if (first == null) {
                return null;
            }
            JsonNode root = readValue(parser, "");
            if (parser.nextToken() != null) {
                throw new ConfigException("line " + parser.currentLocation().getLineNr()
                        + ": a second YAML document (expected: one document)");
            }
            return root;
        } catch (JsonProcessingException e) {
            throw syntaxError(e);
        } catch (IOException e) {
            throw new ConfigException("cannot read YAML: " + e.getMessage(), e);
        }
    }

    private JsonNode readValue(JsonParser parser, String path) throws IOException {
        JsonToken token = parser.currentToken();
        if (parser instanceof YAMLParser yaml && yaml.isCurrentAlias()) {
            throw new ConfigException(label(path) + ": the alias *" + parser.getText()
                    + " (expected: a value; YAML anchors and aliases are not supported)");
        }
        switch (token) {
            case START_OBJECT: {
                ObjectNode object = JsonNodeFactory.instance.objectNode();
                while (parser.nextToken() == JsonToken.FIELD_NAME) {
                    String key = restore(parser.currentName());
                    String childPath = path.isEmpty() ? key : path + "." + key;
                    parser.nextToken();
                    JsonNode value = readValue(parser, childPath);
                    if (object.has(key)) {
                        throw new ConfigException(childPath + ": duplicate key (expected: each key once)");
                    }
                    object.set(key, value);
                }
                return object;
            }
            case START_ARRAY: {
                ArrayNode array = JsonNodeFactory.instance.arrayNode();
                int index = 0;
                while (parser.nextToken() != JsonToken.END_ARRAY) {
                    array.add(readValue(parser, path + "[" + index++ + "]"));
                }
                return array;
            }
            case VALUE_NULL:
                return JsonNodeFactory.instance.nullNode();
            default:
                // Strings, numbers and booleans alike: keep the text as written.
                return JsonNodeFactory.instance.textNode(restore(parser.getText()));
        }
    }

    /**
     * Replaces each {@code ${...}} that closes on its own line with a placeholder. How references are grouped
     * does not matter for correctness: {@link #restore} puts back the exact text, and only then is it expanded.
     */
    private String protect(String yaml) {
        StringBuilder out = new StringBuilder(yaml.length());
        int line = 1;
        int lineEnd = lineEnd(yaml, 0);
        int i = 0;
        while (i < yaml.length()) {
            if (i > lineEnd) {
                line++;
                lineEnd = lineEnd(yaml, i);
            }
            char c = yaml.charAt(i);
            int end = c == '$' && i + 1 < lineEnd && yaml.charAt(i + 1) == '{'
                    ? EnvExpander.closingBrace(yaml, i + 2, lineEnd)
                    : -1;
            if (end < 0 || containsQuote(yaml, i, end)) {
                // A quote inside means the brace found most likely belongs to the YAML, as in '${X'}: leave the
                // text alone and let YAML, then the expander, report it.
                out.append(c);
                i++;
                continue;
            }
            out.append(prefix).append(originals.size()).append('_');
            originals.add(yaml.substring(i, end + 1));
            protectedLines.add(line);
            i = end + 1;
        }
        return out.toString();
    }

    private static boolean containsQuote(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            if (s.charAt(i) == '\'' || s.charAt(i) == '"') {
                return true;
            }
        }
        return false;
    }

    private static int lineEnd(String s, int from) {
        int newline = s.indexOf('\n', from);
        return newline < 0 ? s.length() : newline;
    }

    private String restore(String value) {
        if (value == null || value.indexOf(prefix) < 0) {
            return value;
        }
        Matcher m = placeholder.matcher(value);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            int index = Integer.parseInt(m.group(1));
            String original = index < originals.size() ? originals.get(index) : m.group();
            m.appendReplacement(out, Matcher.quoteReplacement(original));
        }
        m.appendTail(out);
        return out.toString();
    }

    private ConfigException syntaxError(JsonProcessingException e) {
        String problem = e.getOriginalMessage();
        int line = -1;
        int column = -1;
        if (e.getCause() instanceof org.yaml.snakeyaml.error.MarkedYAMLException marked) {
            problem = marked.getProblem();
            if (marked.getProblemMark() != null) {
                line = marked.getProblemMark().getLine() + 1;
                column = marked.getProblemMark().getColumn() + 1;
            }
        } else if (e.getLocation() != null) {
            line = e.getLocation().getLineNr();
            column = e.getLocation().getColumnNr();
        }
        if (problem == null || problem.isBlank()) {
            problem = e.getClass().getSimpleName();
        }
        problem = restore(problem.strip().lines().findFirst().orElse(problem));
        String where;
        if (line <= 0) {
            where = "";
        } else if (column <= 0 || protectedLines.contains(line)) {
            // Placeholders change the width of the line, so its columns would be off.
            where = "line " + line + ": ";
        } else {
            where = "line " + line + ", column " + column + ": ";
        }
        return new ConfigException(where + "YAML syntax error: " + problem, e);
    }

    private static String label(String path) {
        return path.isEmpty() ? "(top level)" : path;
    }
}
