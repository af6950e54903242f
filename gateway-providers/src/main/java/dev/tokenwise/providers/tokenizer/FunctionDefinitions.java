package dev.tokenwise.providers.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Renders OpenAI chat tool definitions ({@code tools[].function}, or the legacy {@code functions}) the way the
 * model sees them: not as JSON schemas but as TypeScript type declarations in a {@code namespace functions}
 * block that the API adds to the system prompt, for example
 *
 * <pre>
 * namespace functions {
 *
 * // Get the current weather in a given location
 * type get_current_weather = (_: {
 * // The city and state, e.g. San Francisco, CA
 * location: string,
 * unit?: "celsius" | "fahrenheit",
 * }) => any;
 *
 * } // namespace functions
 * </pre>
 *
 * <p>The prompt then costs the tokens of this text plus {@link #FRAMING_TOKENS}; when the request has a system
 * message, the block joins it: {@link #SHARED_SYSTEM_TOKENS} fewer, and the first system message's content gains a
 * trailing newline. This rendering and these constants reproduce the {@code usage.prompt_tokens} OpenAI returned
 * for every published example we know of (they are the test fixtures of {@code FunctionDefinitionsTest}, each with
 * its source): the OpenAI Cookbook's function-calling example ("How to count tokens with tiktoken", section 7:
 * 105 tokens on gpt-3.5-turbo and gpt-4, 101 on gpt-4o and gpt-4o-mini) and the examples measured against
 * gpt-3.5-turbo by the openai-chat-tokens project.
 *
 * <p>Only schemas made of what those examples cover are {@linkplain Rendering#proven() proven}: functions with a
 * name and an optional one-line description, whose parameters are an object of properties typed {@code string}
 * (optionally with a string {@code enum}), {@code number}, {@code boolean}, {@code object} (nested the same way) or
 * {@code array} with {@code items}, each with an optional one-line description, and {@code required}. Anything else
 * ({@code integer}, {@code strict}, {@code additionalProperties}, {@code anyOf}, {@code $ref}, defaults, formats,
 * multi-line descriptions, names that are not identifiers) is rendered on the same pattern as an estimate.
 */
final class FunctionDefinitions {

    /** Tokens the tool block costs beyond its text. */
    static final int FRAMING_TOKENS = 9;
    /** Tokens saved when the block joins an existing system message instead of making one. */
    static final int SHARED_SYSTEM_TOKENS = 4;

    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Set<String> FUNCTION_KEYS = Set.of("name", "description", "parameters");
    private static final Set<String> OBJECT_KEYS = Set.of("type", "properties", "required");
    private static final Set<String> PROPERTY_KEYS = Set.of("type", "description", "enum", "items", "properties",
            "required");

    /**
     * The rendered text of some tool definitions.
     *
     * @param text the {@code namespace functions} block, or {@code null} when no definition is a function
     * @param proven {@code true} when every definition is within the shapes the published examples cover
     * @param others definitions that are not functions (built-in or custom tools), as their JSON text, to be counted
     *     as an estimate
     */
    record Rendering(String text, boolean proven, List<String> others) {
    }

    private boolean proven = true;

    private FunctionDefinitions() {
    }

    /** Renders chat {@code tools} or legacy {@code functions}; {@code null} when there is no definition. */
    static Rendering render(JsonNode tools) {
        if (tools == null || !tools.isArray() || tools.isEmpty()) {
            return null;
        }
        FunctionDefinitions r = new FunctionDefinitions();
        List<String> lines = new ArrayList<>();
        List<String> others = new ArrayList<>();
        lines.add("namespace functions {");
        lines.add("");
        int functions = 0;
        for (JsonNode tool : tools) {
            JsonNode function = tool;
            if (tool.has("type") || tool.has("function")) {
                if (!"function".equals(tool.path("type").asText()) || !tool.path("function").isObject()) {
                    r.proven = false;
                    others.add(tool.toString());
                    continue;
                }
                function = tool.get("function");
                r.checkKeys(tool, Set.of("type", "function"));
            }
            if (!function.isObject() || !function.path("name").isTextual()) {
                r.proven = false;
                others.add(function.toString());
                continue;
            }
            functions++;
            r.function(function, lines);
        }
        lines.add("} // namespace functions");
        return new Rendering(functions == 0 ? null : String.join("\n", lines), r.proven && others.isEmpty(), others);
    }

    private void function(JsonNode f, List<String> lines) {
        checkKeys(f, FUNCTION_KEYS);
        String name = f.get("name").textValue();
        identifier(name);
        String description = description(f.get("description"));
        if (description != null) {
            lines.add("// " + description);
        }
        JsonNode parameters = f.get("parameters");
        if (parameters == null || !parameters.isObject()) {
            proven = false;
            lines.add("type " + name + " = () => any;");
        } else {
            checkKeys(parameters, OBJECT_KEYS);
            if (!"object".equals(parameters.path("type").asText())) {
                proven = false;
            }
            if (parameters.path("properties").size() > 0) {
                lines.add("type " + name + " = (_: {");
                lines.add(properties(parameters, 0));
                lines.add("}) => any;");
            } else {
                lines.add("type " + name + " = () => any;");
            }
        }
        lines.add("");
    }

    /** The lines of an object's properties, indented, without the braces. */
    private String properties(JsonNode object, int indent) {
        Set<String> required = new HashSet<>();
        JsonNode req = object.get("required");
        if (req != null) {
            if (!req.isArray()) {
                proven = false;
            } else {
                for (JsonNode n : req) {
                    required.add(n.asText());
                }
            }
        }
        List<String> lines = new ArrayList<>();
        JsonNode props = object.get("properties");
        if (props != null && !props.isObject()) {
            proven = false;
        }
        if (props != null && props.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = props.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                JsonNode p = e.getValue();
                identifier(e.getKey());
                String description = p.isObject() ? description(p.get("description")) : null;
                if (description != null) {
                    lines.add("// " + description);
                }
                lines.add(e.getKey() + (required.contains(e.getKey()) ? ": " : "?: ") + type(p, indent) + ",");
            }
        }
        String pad = " ".repeat(indent);
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < lines.size(); i++) {
            if (i > 0) {
                s.append('\n');
            }
            s.append(pad).append(lines.get(i));
        }
        return s.toString();
    }

    private String type(JsonNode p, int indent) {
        if (!p.isObject()) {
            proven = false;
            return "any";
        }
        checkKeys(p, PROPERTY_KEYS);
        String type = p.path("type").isTextual() ? p.get("type").textValue() : "";
        JsonNode values = p.get("enum");
        if (values != null && !"string".equals(type) && !"number".equals(type) && !"integer".equals(type)) {
            proven = false;
        }
        if ((p.has("items") && !"array".equals(type)) || (p.has("properties") || p.has("required")) && !"object".equals(type)) {
            proven = false;
        }
        switch (type) {
            case "string" -> {
                if (values != null) {
                    return enumeration(values, true);
                }
                return "string";
            }
            case "number", "integer" -> {
                if ("integer".equals(type) || values != null) {
                    proven = false; // rendered as OpenAI's numbers are, but no published example has one
                }
                return values != null ? enumeration(values, false) : "number";
            }
            case "boolean" -> {
                return "boolean";
            }
            case "null" -> {
                proven = false;
                return "null";
            }
            case "object" -> {
                return "{\n" + properties(p, indent + 2) + "\n}";
            }
            case "array" -> {
                JsonNode items = p.get("items");
                if (items == null) {
                    proven = false;
                    return "any[]";
                }
                return type(items, indent) + "[]";
            }
            default -> {
                proven = false;
                return "any";
            }
        }
    }

    private String enumeration(JsonNode values, boolean strings) {
        if (!values.isArray() || values.isEmpty()) {
            proven = false;
            return strings ? "string" : "number";
        }
        StringBuilder s = new StringBuilder();
        for (JsonNode v : values) {
            if (!s.isEmpty()) {
                s.append(" | ");
            }
            if (strings) {
                if (!v.isTextual()) {
                    proven = false;
                }
                s.append('"').append(v.asText()).append('"');
            } else {
                s.append(v.asText());
            }
        }
        return s.toString();
    }

    /** The description to render, or {@code null}; a description that is not one line of text is not proven. */
    private String description(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            proven = false;
            return node.toString();
        }
        String text = node.textValue();
        if (text.indexOf('\n') >= 0 || text.indexOf('\r') >= 0) {
            proven = false;
        }
        return text.isEmpty() ? null : text;
    }

    private void identifier(String name) {
        if (!IDENTIFIER.matcher(name).matches()) {
            proven = false;
        }
    }

    private void checkKeys(JsonNode node, Set<String> allowed) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            if (!allowed.contains(it.next())) {
                proven = false;
                return;
            }
        }
    }
}
