package dev.tokenwise.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a reply is read before it is graded; the rules are documented in {@code docs/eval.md}.
 *
 * <ul>
 *   <li>The <b>final answer</b> is the text after the last line that starts with {@code Answer:} (any case,
 *       optionally in bold, {@code Final answer:} too), up to the end of that line, or the next non-empty line
 *       when it is empty; a reply without such a line is its own final answer.</li>
 *   <li>{@link #normalise} trims, removes a wrapping pair of quotes, backticks or bold marks and a trailing
 *       period, folds Unicode to NFKC and collapses runs of whitespace.</li>
 *   <li>{@link #numbers} finds numbers written with a sign ({@code -}, {@code +} or {@code −}), thousands
 *       separators ({@code 1,234}, a thin or narrow no-break space, {@code 1'234},
 *       {@code 1_234}), a decimal point or a decimal comma ({@code 3,5}; a comma followed by exactly three
 *       digits is a thousands separator) and an exponent ({@code 1.5e3}).</li>
 *   <li>{@link #json} finds a JSON value: the last fenced code block that parses, else the whole reply, else the
 *       first balanced <code>{…}</code> or <code>[…]</code> that parses.</li>
 * </ul>
 */
public final class Answers {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern MARKER = Pattern.compile(
            "(?im)^[ \\t>*_#-]*(?:final[ \\t]+)?answer[ \\t]*(?:\\*\\*|__)?[ \\t]*[:：][ \\t]*(?:\\*\\*|__)?");
    private static final Pattern NUMBER = Pattern.compile(
            "(?<![\\w.])([-+\\u2212]?)(\\d{1,3}(?:[,\\u2009\\u202F'_]\\d{3})+(?![\\d])|\\d+)(?:([.,])(\\d+))?"
                    + "(?:[eE]([-+]?\\d+))?");
    private static final Pattern FENCE = Pattern.compile("```[ \\t]*([A-Za-z0-9_-]*)[ \\t]*\\r?\\n(.*?)```",
            Pattern.DOTALL);

    private Answers() {
    }

    /** A reply's final answer, and whether an {@code Answer:} line was found. */
    public record Final(String text, boolean marked) {
    }

    public static Final finalAnswer(String reply) {
        String text = reply.replace("\r\n", "\n");
        Matcher m = MARKER.matcher(text);
        int end = -1;
        while (m.find()) {
            end = m.end();
        }
        if (end < 0) {
            return new Final(text.strip(), false);
        }
        String rest = text.substring(end);
        int newline = rest.indexOf('\n');
        String line = (newline < 0 ? rest : rest.substring(0, newline)).strip();
        if (line.isEmpty() && newline >= 0) {
            for (String next : rest.substring(newline + 1).split("\n")) {
                if (!next.isBlank()) {
                    line = next.strip();
                    break;
                }
            }
        }
        return new Final(line, true);
    }

    /** NFKC, trimmed, unwrapped from quotes, backticks or bold marks, without a trailing period, whitespace collapsed. */
    public static String normalise(String s) {
        String t = Normalizer.normalize(s, Normalizer.Form.NFKC).strip();
        boolean changed = true;
        while (changed && t.length() >= 2) {
            changed = false;
            for (String[] pair : new String[][] {{"**", "**"}, {"__", "__"}, {"\"", "\""}, {"'", "'"}, {"`", "`"},
                    {"\u201C", "\u201D"}, {"\u2018", "\u2019"}, {"*", "*"}}) {
                if (t.length() >= pair[0].length() + pair[1].length() && t.startsWith(pair[0]) && t.endsWith(pair[1])) {
                    t = t.substring(pair[0].length(), t.length() - pair[1].length()).strip();
                    changed = true;
                    break;
                }
            }
            if (t.endsWith(".") && !t.endsWith("..")) {
                t = t.substring(0, t.length() - 1).strip();
                changed = true;
            }
        }
        return t.replaceAll("\\s+", " ");
    }

    /** The numbers in {@code s}, in order. */
    public static List<BigDecimal> numbers(String s) {
        // No Unicode folding here: it would turn thin and narrow no-break spaces into plain spaces, and a plain
        // space is not a thousands separator ("5 100 200" is three numbers).
        String t = s;
        List<BigDecimal> out = new ArrayList<>();
        Matcher m = NUMBER.matcher(t);
        while (m.find()) {
            String digits = m.group(2).replaceAll("[,\\u2009\\u202F'_]", "");
            StringBuilder n = new StringBuilder();
            if (m.group(1).equals("-") || m.group(1).equals("\u2212")) {
                n.append('-');
            }
            n.append(digits);
            if (m.group(4) != null) {
                n.append('.').append(m.group(4));
            }
            if (m.group(5) != null) {
                n.append('E').append(m.group(5));
            }
            try {
                out.add(new BigDecimal(n.toString()));
            } catch (NumberFormatException e) {
                // An exponent out of range: not a number a task would ask for.
            }
        }
        return out;
    }

    /** The JSON value a reply carries, if any. */
    public static Optional<JsonNode> json(String reply) {
        List<String> fenced = new ArrayList<>();
        Matcher m = FENCE.matcher(reply);
        while (m.find()) {
            fenced.add(m.group(2));
        }
        for (int i = fenced.size() - 1; i >= 0; i--) {
            Optional<JsonNode> parsed = parse(fenced.get(i));
            if (parsed.isPresent()) {
                return parsed;
            }
        }
        Optional<JsonNode> whole = parse(reply);
        if (whole.isPresent() && (whole.get().isContainerNode())) {
            return whole;
        }
        for (int start = 0; start < reply.length(); start++) {
            char c = reply.charAt(start);
            if (c == '{' || c == '[') {
                int end = balancedEnd(reply, start);
                if (end > start) {
                    Optional<JsonNode> parsed = parse(reply.substring(start, end + 1));
                    if (parsed.isPresent()) {
                        return parsed;
                    }
                }
            }
        }
        return Optional.empty();
    }

    /** The index of the bracket closing the one at {@code start}, skipping strings; -1 when unbalanced. */
    private static int balancedEnd(String s, int start) {
        int depth = 0;
        boolean inString = false;
        for (int i = start; i < s.length(); i++) {
            char c = s.charAt(i);
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                depth--;
                if (depth == 0) {
                    return i;
                }
            }
        }
        return -1;
    }

    private static Optional<JsonNode> parse(String text) {
        String t = text.strip();
        if (t.isEmpty()) {
            return Optional.empty();
        }
        try {
            JsonNode node = JSON.readTree(t);
            return node == null || node.isMissingNode() ? Optional.empty() : Optional.of(node);
        } catch (java.io.IOException e) {
            return Optional.empty();
        }
    }

    static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }
}
