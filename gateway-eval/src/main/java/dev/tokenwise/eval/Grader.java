package dev.tokenwise.eval;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Judges a model's reply to a task. Every grader but {@code json_schema} looks at the reply's final answer
 * ({@link Answers#finalAnswer}); the rules and a JSON example of each are in {@code docs/eval.md}.
 *
 * <pre>{@code
 * Grader g = Grader.parse(json.readTree("{\"type\": \"number\", \"answer\": 1776, \"tolerance\": 0}"));
 * g.grade("It was signed in 1,776... Answer: 1776").passed(); // true
 * }</pre>
 */
public sealed interface Grader {

    /** The grader types, as written in a suite. */
    List<String> TYPES = List.of("exact", "contains", "regex", "number", "json_schema", "choice");

    Verdict grade(String reply);

    /** The type, as written in a suite. */
    String type();

    /**
     * Reads a grader from its JSON form.
     *
     * @throws IllegalArgumentException naming the field, e.g. {@code "grader.tolerance: -1 (expected: >= 0)"}
     */
    static Grader parse(JsonNode node) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("grader: " + (node == null ? "missing" : node.getNodeType().name().toLowerCase(Locale.ROOT))
                    + " (expected: an object with a \"type\")");
        }
        JsonNode type = node.get("type");
        if (type == null || !type.isTextual()) {
            throw new IllegalArgumentException("grader.type: " + (type == null ? "missing" : type.toString())
                    + " (expected one of: " + String.join(", ", TYPES) + ")");
        }
        return switch (type.asText()) {
            case "exact" -> {
                fields(node, "answer", "case_sensitive", "ignore_whitespace");
                yield new Exact(text(node, "answer"), flag(node, "case_sensitive"), flag(node, "ignore_whitespace"));
            }
            case "contains" -> {
                fields(node, "answer", "case_sensitive");
                yield new Contains(text(node, "answer"), flag(node, "case_sensitive"));
            }
            case "regex" -> {
                fields(node, "pattern");
                String pattern = text(node, "pattern");
                try {
                    yield new Regex(Pattern.compile(pattern));
                } catch (PatternSyntaxException e) {
                    throw new IllegalArgumentException("grader.pattern: not a valid regular expression ("
                            + e.getDescription() + " near index " + e.getIndex() + ")");
                }
            }
            case "number" -> {
                fields(node, "answer", "tolerance", "relative_tolerance");
                JsonNode answer = node.get("answer");
                BigDecimal value;
                if (answer != null && answer.isNumber()) {
                    value = answer.decimalValue();
                } else if (answer != null && answer.isTextual() && Answers.numbers(answer.asText()).size() == 1) {
                    value = Answers.numbers(answer.asText()).get(0);
                } else {
                    throw new IllegalArgumentException("grader.answer: " + (answer == null ? "missing" : answer.toString())
                            + " (expected: a number)");
                }
                yield new NumberAnswer(value, nonNegative(node, "tolerance"), nonNegative(node, "relative_tolerance"));
            }
            case "json_schema" -> {
                fields(node, "schema");
                JsonNode schema = node.get("schema");
                if (schema == null || !schema.isObject()) {
                    throw new IllegalArgumentException("grader.schema: " + (schema == null ? "missing" : schema.toString())
                            + " (expected: a JSON Schema object)");
                }
                yield new JsonSchemaAnswer(JsonSchema.compile(schema, "grader.schema"));
            }
            case "choice" -> {
                fields(node, "answer", "options");
                String letter = text(node, "answer").strip().toUpperCase(Locale.ROOT);
                int options = node.has("options") ? node.get("options").asInt(-1) : 0;
                if (node.has("options") && (!node.get("options").canConvertToInt() || options < 2 || options > 26)) {
                    throw new IllegalArgumentException("grader.options: " + node.get("options")
                            + " (expected: the number of options, 2 to 26)");
                }
                if (!letter.matches("[A-Z]")) {
                    throw new IllegalArgumentException("grader.answer: \"" + letter + "\" (expected: one letter, A to Z)");
                }
                int count = options == 0 ? Math.max(5, letter.charAt(0) - 'A' + 1) : options;
                if (letter.charAt(0) - 'A' >= count) {
                    throw new IllegalArgumentException("grader.answer: \"" + letter + "\" (expected: one of the "
                            + count + " options, A to " + (char) ('A' + count - 1) + ")");
                }
                yield new Choice(letter.charAt(0), count);
            }
            default -> throw new IllegalArgumentException("grader.type: \"" + type.asText() + "\" (expected one of: "
                    + String.join(", ", TYPES) + ")");
        };
    }

    private static void fields(JsonNode node, String... allowed) {
        Set<String> known = new TreeSet<>(List.of(allowed));
        known.add("type");
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!known.contains(name)) {
                throw new IllegalArgumentException("grader." + name + ": unknown field for type "
                        + node.get("type").asText() + " (expected: " + String.join(", ", known) + ")");
            }
        }
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || !(value.isTextual() || value.isNumber())) {
            throw new IllegalArgumentException("grader." + field + ": " + (value == null ? "missing" : value.toString())
                    + " (expected: a string)");
        }
        return value.asText();
    }

    private static boolean flag(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return false;
        }
        if (!value.isBoolean()) {
            throw new IllegalArgumentException("grader." + field + ": " + value + " (expected: true or false)");
        }
        return value.asBoolean();
    }

    private static BigDecimal nonNegative(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return BigDecimal.ZERO;
        }
        if (!value.isNumber() || value.decimalValue().signum() < 0) {
            throw new IllegalArgumentException("grader." + field + ": " + value + " (expected: a number >= 0)");
        }
        return value.decimalValue();
    }

    /**
     * The final answer equals {@code answer} after {@link Answers#normalise}; case-insensitive unless
     * {@code caseSensitive}; with {@code ignoreWhitespace} all whitespace is removed first ({@code "1, 2"}
     * equals {@code "1,2"}).
     */
    record Exact(String answer, boolean caseSensitive, boolean ignoreWhitespace) implements Grader {
        @Override
        public Verdict grade(String reply) {
            String got = Answers.finalAnswer(reply).text();
            return canonical(got).equals(canonical(answer)) ? Verdict.pass(got)
                    : Verdict.fail(got, "expected \"" + answer + "\"");
        }

        private String canonical(String s) {
            String t = Answers.normalise(s);
            if (ignoreWhitespace) {
                t = t.replaceAll("\\s+", "");
            }
            return caseSensitive ? t : Answers.lower(t);
        }

        @Override
        public String type() {
            return "exact";
        }
    }

    /** The final answer contains {@code answer} (whitespace collapsed; case-insensitive unless {@code caseSensitive}). */
    record Contains(String answer, boolean caseSensitive) implements Grader {
        @Override
        public Verdict grade(String reply) {
            String got = Answers.finalAnswer(reply).text();
            String haystack = Answers.normalise(got);
            String needle = Answers.normalise(answer);
            boolean found = caseSensitive ? haystack.contains(needle)
                    : Answers.lower(haystack).contains(Answers.lower(needle));
            return found ? Verdict.pass(got) : Verdict.fail(got, "does not contain \"" + answer + "\"");
        }

        @Override
        public String type() {
            return "contains";
        }
    }

    /** {@code pattern} is found in the final answer ({@link Matcher#find}; add {@code (?i)} for any case). */
    record Regex(Pattern pattern) implements Grader {
        @Override
        public Verdict grade(String reply) {
            String got = Answers.finalAnswer(reply).text();
            return pattern.matcher(got).find() ? Verdict.pass(got)
                    : Verdict.fail(got, "does not match /" + pattern.pattern() + "/");
        }

        @Override
        public String type() {
            return "regex";
        }
    }

    /**
     * A number within {@code tolerance} (absolute) or {@code relativeTolerance} (of the expected value) of
     * {@code answer}; both 0 means exactly equal ({@code 2.50} equals {@code 2.5}). The number judged is the first
     * of the final answer when the reply has an {@code Answer:} line, else the last number of the reply.
     */
    record NumberAnswer(BigDecimal answer, BigDecimal tolerance, BigDecimal relativeTolerance) implements Grader {
        @Override
        public Verdict grade(String reply) {
            Answers.Final fin = Answers.finalAnswer(reply);
            List<BigDecimal> numbers = Answers.numbers(fin.text());
            if (numbers.isEmpty()) {
                return Verdict.fail(fin.text(), "no number in the answer");
            }
            BigDecimal got = fin.marked() ? numbers.get(0) : numbers.get(numbers.size() - 1);
            BigDecimal error = got.subtract(answer).abs();
            BigDecimal allowed = tolerance.max(relativeTolerance.multiply(answer.abs()));
            return error.compareTo(allowed) <= 0 ? Verdict.pass(got.toPlainString())
                    : Verdict.fail(got.toPlainString(), "expected " + answer.toPlainString()
                            + (allowed.signum() > 0 ? " ± " + allowed.stripTrailingZeros().toPlainString() : ""));
        }

        @Override
        public String type() {
            return "number";
        }
    }

    /** The reply carries JSON ({@link Answers#json}) that validates against the schema. */
    record JsonSchemaAnswer(JsonSchema schema) implements Grader {
        @Override
        public Verdict grade(String reply) {
            var json = Answers.json(reply);
            if (json.isEmpty()) {
                return Verdict.fail("", "no JSON in the reply");
            }
            List<String> errors = new ArrayList<>();
            schema.validate(json.get(), "$", errors);
            return errors.isEmpty() ? Verdict.pass(json.get().toString())
                    : Verdict.fail(json.get().toString(), String.join("; ", errors.subList(0, Math.min(3, errors.size()))));
        }

        @Override
        public String type() {
            return "json_schema";
        }
    }

    /**
     * A multiple-choice letter among the first {@code options} letters. Read from the final answer: a lone
     * letter ({@code B}, {@code (b)}, {@code B)}, {@code **B.**}), else "answer is B" or "option B", else a
     * letter opening the answer ({@code b) Paris}), else the only option letter standing alone in it; two
     * different letters standing alone is no answer.
     */
    record Choice(char answer, int options) implements Grader {
        @Override
        public Verdict grade(String reply) {
            String got = Answers.finalAnswer(reply).text();
            char picked = pick(got);
            if (picked == 0) {
                return Verdict.fail(got, "no single option letter in the answer");
            }
            return picked == answer ? Verdict.pass(String.valueOf(picked))
                    : Verdict.fail(String.valueOf(picked), "expected " + answer);
        }

        char pick(String text) {
            String last = (char) ('A' + options - 1) + "";
            String letters = "[A-" + last + "]";
            String t = Answers.normalise(text);
            // Alone or opening the answer, a lower-case letter is an option too ("b) Paris").
            Matcher lone = Pattern.compile("(?i)^[(\\[]?(" + letters + ")[)\\].:]?$").matcher(t);
            if (lone.matches()) {
                return Character.toUpperCase(lone.group(1).charAt(0));
            }
            // The words in any case, the letter in capitals: "the answer is a bit unclear" names no option.
            Matcher stated = Pattern.compile("(?i:answer is|answer:|option|choice)\\s*[(\\[]?(" + letters + ")\\b")
                    .matcher(t);
            char found = 0;
            while (stated.find()) {
                found = stated.group(1).charAt(0);
            }
            if (found != 0) {
                return found;
            }
            Matcher opening = Pattern.compile("(?i)^[(\\[]?(" + letters + ")[).:\\]]\\s").matcher(t);
            if (opening.find()) {
                return Character.toUpperCase(opening.group(1).charAt(0));
            }
            Matcher standing = Pattern.compile("(?<![\\w'])[(\\[]?(" + letters + ")[)\\].,:]?(?![\\w'])").matcher(t);
            char only = 0;
            while (standing.find()) {
                char c = standing.group(1).charAt(0);
                if (only != 0 && only != c) {
                    return 0;
                }
                only = c;
            }
            return only;
        }

        @Override
        public String type() {
            return "choice";
        }
    }
}
