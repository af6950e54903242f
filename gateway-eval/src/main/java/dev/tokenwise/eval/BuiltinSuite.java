package dev.tokenwise.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code builtin} suite: tasks whose answers are computed, not stored, from eight families (arithmetic,
 * sorting, counting, string transformations, unit conversion, dates, extraction into JSON, multiple choice over a
 * short passage). Task {@code i} of a seed is always the same task, whatever the size asked for, and the
 * families take turns, so any size has an even mix.
 *
 * <p>{@link #recognise} reads a prompt of this suite back and computes its answer from the prompt's own text (not
 * from a stored key): that is how the simulator answers builtin tasks. Every prompt ends with an instruction to
 * finish with a line {@code Answer: ...} (or, for extraction, a {@code json} code block), which the graders read.
 *
 * <pre>{@code
 * List<EvalTask> tasks = BuiltinSuite.generate(BuiltinSuite.DEFAULT_SEED, 200);
 * }</pre>
 */
public final class BuiltinSuite {
    /** The seed of {@code --suite builtin} unless another is given. */
    public static final long DEFAULT_SEED = 42;
    /** The largest suite {@link #generate} makes. */
    public static final int MAX_TASKS = 100_000;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<Family> FAMILIES = List.of(new Arithmetic(), new Sorting(), new Counting(),
            new Transform(), new Units(), new Dates(), new Extraction(), new Choices());

    private BuiltinSuite() {
    }

    /**
     * One builtin task with its computed answer.
     *
     * @param family the family, e.g. {@code arithmetic}
     * @param answer the correct final answer (for extraction: the JSON text)
     * @param json whether the answer is given as a {@code json} code block rather than an {@code Answer:} line
     */
    public record Problem(String family, String prompt, String answer, Grader grader, boolean json,
                          Function<SplittableRandom, String> wrong) {

        /** A plausible wrong final answer: off by a little, two items swapped, another option. */
        public String wrongAnswer(SplittableRandom random) {
            return wrong.apply(random);
        }

        /** How a reply states {@code finalAnswer}: {@code Answer: ...}, or a {@code json} code block. */
        public String finalPart(String finalAnswer) {
            return json ? "```json\n" + finalAnswer + "\n```" : "Answer: " + finalAnswer;
        }

        public EvalTask task(String id) {
            return EvalTask.ofPrompt(id, prompt, grader);
        }
    }

    /** Tasks {@code 0 .. count-1} of {@code seed}. */
    public static List<EvalTask> generate(long seed, int count) {
        if (count <= 0 || count > MAX_TASKS) {
            throw new IllegalArgumentException("tasks: " + count + " (expected: 1.." + MAX_TASKS + ")");
        }
        List<EvalTask> tasks = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            tasks.add(problem(seed, i).task(FAMILIES.get(i % FAMILIES.size()).name() + "-" + i));
        }
        return tasks;
    }

    /** Task {@code index} of {@code seed}. */
    public static Problem problem(long seed, int index) {
        Family family = FAMILIES.get(Math.floorMod(index, FAMILIES.size()));
        return family.make(new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index));
    }

    /** The family names, in the order they take turns. */
    public static List<String> families() {
        return FAMILIES.stream().map(Family::name).toList();
    }

    /** The problem a prompt of this suite states, with its answer computed from the prompt; empty for any other text. */
    public static Optional<Problem> recognise(String prompt) {
        if (prompt == null || !prompt.contains(INSTRUCTION_START)) {
            return Optional.empty();
        }
        for (Family family : FAMILIES) {
            try {
                Optional<Problem> p = family.read(prompt);
                if (p.isPresent()) {
                    return p;
                }
            } catch (RuntimeException e) {
                // A prompt that looks like a family's but does not parse (edited by hand): not a builtin task.
            }
        }
        return Optional.empty();
    }

    private static final String INSTRUCTION_START = "End your reply with ";

    private static String instruction(String form) {
        return INSTRUCTION_START + "a line of the form 'Answer: " + form + "'.";
    }

    private interface Family {
        String name();

        Problem make(SplittableRandom r);

        Optional<Problem> read(String prompt);
    }

    private static String pick(SplittableRandom r, String[] values) {
        return values[r.nextInt(values.length)];
    }

    private static long plusMinus(SplittableRandom r, long value, int spread) {
        long delta = (r.nextBoolean() ? 1 : -1) * (long) r.nextInt(1, spread + 1);
        return value + delta;
    }

    private static final String[] WORDS = {"strawberry", "banana", "river", "mountain", "letter", "bookkeeper",
        "mississippi", "balloon", "committee", "assessment", "parallel", "coffee", "apple", "orange", "window",
        "garden", "planet", "silver", "yellow", "kitten", "pepper", "tomorrow", "umbrella", "volcano", "engineer"};

    // ---- arithmetic: "What is 37 * 48 - 125?" ----
    private static final class Arithmetic implements Family {
        private static final Pattern P = Pattern.compile("^What is (\\d+) ([-+*]) (\\d+) ([-+*]) (\\d+)\\?");

        @Override
        public String name() {
            return "arithmetic";
        }

        @Override
        public Problem make(SplittableRandom r) {
            long a = r.nextInt(2, 100);
            long b = r.nextInt(2, 100);
            long c = r.nextInt(2, 200);
            char op1 = "+-*".charAt(r.nextInt(3));
            char op2 = "+-*".charAt(r.nextInt(3));
            return of(a, op1, b, op2, c);
        }

        @Override
        public Optional<Problem> read(String prompt) {
            Matcher m = P.matcher(prompt);
            if (!m.find()) {
                return Optional.empty();
            }
            return Optional.of(of(Long.parseLong(m.group(1)), m.group(2).charAt(0), Long.parseLong(m.group(3)),
                    m.group(4).charAt(0), Long.parseLong(m.group(5))));
        }

        private Problem of(long a, char op1, long b, char op2, long c) {
            long value = op2 == '*' && op1 != '*' ? apply(a, op1, b * c) : apply(apply(a, op1, b), op2, c);
            String prompt = "What is " + a + " " + op1 + " " + b + " " + op2 + " " + c + "? " + instruction("<number>");
            return new Problem(name(), prompt, Long.toString(value),
                    new Grader.NumberAnswer(BigDecimal.valueOf(value), BigDecimal.ZERO, BigDecimal.ZERO), false,
                    r -> Long.toString(plusMinus(r, value, 10)));
        }

        private static long apply(long x, char op, long y) {
            return switch (op) {
                case '+' -> x + y;
                case '-' -> x - y;
                default -> x * y;
            };
        }
    }

    // ---- sorting: "Sort these numbers from smallest to largest: 42, 7, 19." ----
    private static final class Sorting implements Family {
        private static final Pattern P = Pattern.compile(
                "^Sort these numbers from (smallest to largest|largest to smallest): ([0-9, ]+)\\.");

        @Override
        public String name() {
            return "sorting";
        }

        @Override
        public Problem make(SplittableRandom r) {
            int n = r.nextInt(5, 9);
            Set<Integer> seen = new HashSet<>();
            List<Integer> values = new ArrayList<>();
            while (values.size() < n) {
                int v = r.nextInt(1, 100);
                if (seen.add(v)) {
                    values.add(v);
                }
            }
            return of(values, r.nextBoolean());
        }

        @Override
        public Optional<Problem> read(String prompt) {
            Matcher m = P.matcher(prompt);
            if (!m.find()) {
                return Optional.empty();
            }
            List<Integer> values = Arrays.stream(m.group(2).split(",")).map(String::strip).map(Integer::parseInt).toList();
            return Optional.of(of(values, m.group(1).startsWith("smallest")));
        }

        private Problem of(List<Integer> values, boolean ascending) {
            List<Integer> sorted = new ArrayList<>(values);
            sorted.sort(ascending ? Integer::compare : Collections.reverseOrder());
            String answer = join(sorted);
            String prompt = "Sort these numbers from " + (ascending ? "smallest to largest" : "largest to smallest")
                    + ": " + join(values) + ". " + instruction("<the numbers, separated by commas>");
            return new Problem(name(), prompt, answer, new Grader.Exact(answer, false, true), false, r -> {
                List<Integer> wrong = new ArrayList<>(sorted);
                int i = r.nextInt(wrong.size() - 1);
                Collections.swap(wrong, i, i + 1);
                return join(wrong);
            });
        }

        private static String join(List<Integer> values) {
            return String.join(", ", values.stream().map(String::valueOf).toList());
        }
    }

    // ---- counting: letters or vowels in a phrase ----
    private static final class Counting implements Family {
        private static final Pattern LETTER = Pattern.compile(
                "^How many times does the letter '([a-z])' appear in \"([a-z ]+)\"\\?");
        private static final Pattern VOWELS = Pattern.compile("^How many vowels \\(a, e, i, o, u\\) are in \"([a-z ]+)\"\\?");

        @Override
        public String name() {
            return "counting";
        }

        @Override
        public Problem make(SplittableRandom r) {
            String phrase = pick(r, WORDS) + (r.nextBoolean() ? " " + pick(r, WORDS) : "");
            if (r.nextInt(3) == 0) {
                return vowels(phrase);
            }
            String letters = phrase.replace(" ", "");
            char letter = r.nextInt(5) == 0 ? (char) ('a' + r.nextInt(26)) : letters.charAt(r.nextInt(letters.length()));
            return letter(letter, phrase);
        }

        @Override
        public Optional<Problem> read(String prompt) {
            Matcher m = LETTER.matcher(prompt);
            if (m.find()) {
                return Optional.of(letter(m.group(1).charAt(0), m.group(2)));
            }
            Matcher v = VOWELS.matcher(prompt);
            return v.find() ? Optional.of(vowels(v.group(1))) : Optional.empty();
        }

        private Problem letter(char letter, String phrase) {
            long count = phrase.chars().filter(c -> c == letter).count();
            return counted("How many times does the letter '" + letter + "' appear in \"" + phrase + "\"? ", count);
        }

        private Problem vowels(String phrase) {
            long count = phrase.chars().filter(c -> "aeiou".indexOf(c) >= 0).count();
            return counted("How many vowels (a, e, i, o, u) are in \"" + phrase + "\"? ", count);
        }

        private Problem counted(String question, long count) {
            return new Problem(name(), question + instruction("<number>"), Long.toString(count),
                    new Grader.NumberAnswer(BigDecimal.valueOf(count), BigDecimal.ZERO, BigDecimal.ZERO), false,
                    r -> Long.toString(count == 0 || r.nextBoolean() ? count + 1 : count - 1));
        }
    }

    // ---- string transformations: reverse a word, capitals, words in reverse order ----
    private static final class Transform implements Family {
        private static final Pattern REVERSE = Pattern.compile("^Reverse the letters of the word \"([a-z]+)\"\\.");
        private static final Pattern UPPER = Pattern.compile("^Write \"([a-z ]+)\" in capital letters\\.");
        private static final Pattern WORD_ORDER = Pattern.compile("^Write the words of \"([a-z ]+)\" in reverse order\\.");

        @Override
        public String name() {
            return "transform";
        }

        @Override
        public Problem make(SplittableRandom r) {
            return switch (r.nextInt(3)) {
                case 0 -> reverse(pick(r, WORDS));
                case 1 -> upper(pick(r, WORDS) + " " + pick(r, WORDS) + " " + pick(r, WORDS));
                default -> wordOrder(pick(r, WORDS) + " " + pick(r, WORDS) + " " + pick(r, WORDS) + " " + pick(r, WORDS));
            };
        }

        @Override
        public Optional<Problem> read(String prompt) {
            Matcher m = REVERSE.matcher(prompt);
            if (m.find()) {
                return Optional.of(reverse(m.group(1)));
            }
            m = UPPER.matcher(prompt);
            if (m.find()) {
                return Optional.of(upper(m.group(1)));
            }
            m = WORD_ORDER.matcher(prompt);
            return m.find() ? Optional.of(wordOrder(m.group(1))) : Optional.empty();
        }

        private Problem reverse(String word) {
            String answer = new StringBuilder(word).reverse().toString();
            return new Problem(name(), "Reverse the letters of the word \"" + word + "\". "
                    + instruction("<the reversed word>"), answer, new Grader.Exact(answer, true, false), false,
                    r -> swapAdjacentDifferent(answer, r));
        }

        private Problem upper(String phrase) {
            String answer = phrase.toUpperCase(Locale.ROOT);
            return new Problem(name(), "Write \"" + phrase + "\" in capital letters. " + instruction("<the text>"),
                    answer, new Grader.Exact(answer, true, false), false, r -> {
                        String[] words = answer.split(" ");
                        int i = r.nextInt(words.length);
                        words[i] = words[i].toLowerCase(Locale.ROOT);
                        return String.join(" ", words);
                    });
        }

        private Problem wordOrder(String phrase) {
            List<String> words = new ArrayList<>(List.of(phrase.split(" ")));
            Collections.reverse(words);
            String answer = String.join(" ", words);
            return new Problem(name(), "Write the words of \"" + phrase + "\" in reverse order. "
                    + instruction("<the words>"), answer, new Grader.Exact(answer, false, false), false, r -> {
                        List<String> wrong = new ArrayList<>(words);
                        Collections.swap(wrong, 0, 1 + r.nextInt(wrong.size() - 1));
                        String w = String.join(" ", wrong);
                        return w.equals(answer) ? answer + "s" : w; // the same word twice: still wrong
                    });
        }

        private static String swapAdjacentDifferent(String s, SplittableRandom r) {
            List<Integer> spots = new ArrayList<>();
            for (int i = 0; i + 1 < s.length(); i++) {
                if (s.charAt(i) != s.charAt(i + 1)) {
                    spots.add(i);
                }
            }
            if (spots.isEmpty()) {
                return s + s.charAt(0);
            }
            int i = spots.get(r.nextInt(spots.size()));
            char[] c = s.toCharArray();
            char t = c[i];
            c[i] = c[i + 1];
            c[i + 1] = t;
            return new String(c);
        }
    }

    // ---- unit conversion: "Convert 12.5 km to m." ----
    private static final class Units implements Family {
        private static final Pattern P = Pattern.compile("^Convert (\\d+(?:\\.\\d+)?) (\\S+) to (\\S+?)\\. ");
        private static final String[][] UNITS = {{"km", "m", "1000"}, {"m", "cm", "100"}, {"kg", "g", "1000"},
            {"lb", "kg", "0.45359237"}, {"mi", "km", "1.609344"}, {"h", "min", "60"}, {"min", "s", "60"},
            {"L", "mL", "1000"}, {"in", "cm", "2.54"}, {"°C", "°F", null}};
        private static final Map<String, String[]> BY_PAIR = new HashMap<>();

        static {
            for (String[] u : UNITS) {
                BY_PAIR.put(u[0] + ">" + u[1], u);
            }
        }

        @Override
        public String name() {
            return "units";
        }

        @Override
        public Problem make(SplittableRandom r) {
            String[] unit = UNITS[r.nextInt(UNITS.length)];
            return of(BigDecimal.valueOf(r.nextInt(1, 1000), 1), unit);
        }

        @Override
        public Optional<Problem> read(String prompt) {
            Matcher m = P.matcher(prompt);
            if (!m.find()) {
                return Optional.empty();
            }
            String[] unit = BY_PAIR.get(m.group(2) + ">" + m.group(3));
            return unit == null ? Optional.empty() : Optional.of(of(new BigDecimal(m.group(1)), unit));
        }

        private Problem of(BigDecimal value, String[] unit) {
            BigDecimal result = unit[2] == null
                    ? value.multiply(BigDecimal.valueOf(9)).divide(BigDecimal.valueOf(5), 10, RoundingMode.HALF_UP)
                            .add(BigDecimal.valueOf(32))
                    : value.multiply(new BigDecimal(unit[2]));
            String answer = result.setScale(4, RoundingMode.HALF_UP).stripTrailingZeros().toPlainString();
            String prompt = "Convert " + value.toPlainString() + " " + unit[0] + " to " + unit[1] + ". "
                    + instruction("<number>");
            return new Problem(name(), prompt, answer,
                    new Grader.NumberAnswer(new BigDecimal(answer), BigDecimal.ZERO, new BigDecimal("0.001")), false,
                    r -> (r.nextBoolean() ? result.multiply(BigDecimal.TEN) : result.divide(BigDecimal.TEN))
                            .setScale(4, RoundingMode.HALF_UP).stripTrailingZeros().toPlainString());
        }
    }

    // ---- dates: a date plus days, a day of the week ----
    private static final class Dates implements Family {
        private static final Pattern PLUS = Pattern.compile("^What is the date (\\d+) days after (\\d{4}-\\d{2}-\\d{2})\\?");
        private static final Pattern WEEKDAY = Pattern.compile("^What day of the week was (\\d{4}-\\d{2}-\\d{2})\\?");

        @Override
        public String name() {
            return "dates";
        }

        @Override
        public Problem make(SplittableRandom r) {
            LocalDate date = LocalDate.of(2000 + r.nextInt(30), 1, 1).plusDays(r.nextInt(365));
            return r.nextBoolean() ? plus(date, r.nextInt(10, 400)) : weekday(date);
        }

        @Override
        public Optional<Problem> read(String prompt) {
            try {
                Matcher m = PLUS.matcher(prompt);
                if (m.find()) {
                    return Optional.of(plus(LocalDate.parse(m.group(2)), Integer.parseInt(m.group(1))));
                }
                m = WEEKDAY.matcher(prompt);
                return m.find() ? Optional.of(weekday(LocalDate.parse(m.group(1)))) : Optional.empty();
            } catch (DateTimeParseException e) {
                return Optional.empty();
            }
        }

        private Problem plus(LocalDate date, int days) {
            LocalDate result = date.plusDays(days);
            return new Problem(name(), "What is the date " + days + " days after " + date + "? "
                    + instruction("<YYYY-MM-DD>"), result.toString(), new Grader.Exact(result.toString(), false, false),
                    false, r -> result.plusDays(r.nextBoolean() ? 1 : -1).toString());
        }

        private Problem weekday(LocalDate date) {
            String day = date.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
            return new Problem(name(), "What day of the week was " + date + "? " + instruction("<day of the week>"),
                    day, new Grader.Exact(day, false, false), false,
                    r -> date.getDayOfWeek().plus(r.nextInt(1, 7)).getDisplayName(TextStyle.FULL, Locale.ENGLISH));
        }
    }

    // ---- extraction into JSON ----
    private static final class Extraction implements Family {
        private static final String[] FIRST = {"Maria", "John", "Aiko", "Pedro", "Fatima", "Lars", "Chen", "Amara",
            "Ivan", "Sofia", "Omar", "Greta"};
        private static final String[] LAST = {"Lopez", "Smith", "Tanaka", "Silva", "Haddad", "Berg", "Wang",
            "Okafor", "Petrov", "Rossi", "Novak", "Keller"};
        private static final String[] CITIES = {"Lisbon", "Oslo", "Nairobi", "Osaka", "Lima", "Toronto", "Krakow",
            "Hanoi", "Dublin", "Quito", "Tunis", "Perth"};
        private static final String NAME = "([A-Z][a-z]+ [A-Z][a-z]+)";
        private static final String CITY = "([A-Z][a-z]+)";
        private static final Pattern[] TEMPLATES = {
            Pattern.compile("\"" + NAME + " is (\\d+) years old and lives in " + CITY + "\\.\""),
            Pattern.compile("\"" + NAME + ", aged (\\d+), lives in " + CITY + "\\.\""),
            Pattern.compile("\"Living in " + CITY + ", " + NAME + " turned (\\d+) this year\\.\"")};
        private static final String QUESTION = "Extract the person's name, age and city from this sentence as a JSON "
                + "object with the keys \"name\" (a string), \"age\" (an integer) and \"city\" (a string): ";

        @Override
        public String name() {
            return "extraction";
        }

        @Override
        public Problem make(SplittableRandom r) {
            return of(pick(r, FIRST) + " " + pick(r, LAST), r.nextInt(18, 91), pick(r, CITIES), r.nextInt(3));
        }

        @Override
        public Optional<Problem> read(String prompt) {
            if (!prompt.startsWith(QUESTION)) {
                return Optional.empty();
            }
            for (int t = 0; t < TEMPLATES.length; t++) {
                Matcher m = TEMPLATES[t].matcher(prompt);
                if (m.find()) {
                    return Optional.of(t == 2 ? of(m.group(2), Integer.parseInt(m.group(3)), m.group(1), t)
                            : of(m.group(1), Integer.parseInt(m.group(2)), m.group(3), t));
                }
            }
            return Optional.empty();
        }

        private Problem of(String name, int age, String city, int template) {
            String sentence = switch (template) {
                case 0 -> name + " is " + age + " years old and lives in " + city + ".";
                case 1 -> name + ", aged " + age + ", lives in " + city + ".";
                default -> "Living in " + city + ", " + name + " turned " + age + " this year.";
            };
            ObjectNode schema = JSON.createObjectNode();
            schema.put("type", "object");
            schema.putArray("required").add("name").add("age").add("city");
            ObjectNode props = schema.putObject("properties");
            props.putObject("name").put("const", name);
            props.putObject("age").put("type", "integer").put("const", age);
            props.putObject("city").put("const", city);
            String prompt = QUESTION + "\"" + sentence + "\" " + INSTRUCTION_START
                    + "the JSON object in a ```json code block.";
            return new Problem(name(), prompt, json(name, age, city),
                    new Grader.JsonSchemaAnswer(JsonSchema.compile(schema, "schema")), true, r -> {
                        if (r.nextBoolean()) {
                            return json(name, age + (r.nextBoolean() ? 1 : -1), city);
                        }
                        String other = CITIES[r.nextInt(CITIES.length)];
                        return json(name, age, other.equals(city) ? CITIES[(Arrays.asList(CITIES).indexOf(city) + 1)
                                % CITIES.length] : other);
                    });
        }

        private static String json(String name, int age, String city) {
            return "{\"name\": \"" + name + "\", \"age\": " + age + ", \"city\": \"" + city + "\"}";
        }
    }

    // ---- multiple choice over a short passage ----
    private static final class Choices implements Family {
        private static final String[] PEOPLE = {"Anna", "Ben", "Carl", "Dana", "Eva", "Finn", "Gina", "Hugo", "Ines",
            "Jonas", "Karl", "Lena", "Mia", "Noah", "Olga", "Paul"};
        /** comparative, top, bottom. */
        private static final String[][] RELATIONS = {{"taller", "tallest", "shortest"},
            {"older", "oldest", "youngest"}, {"faster", "fastest", "slowest"}};
        private static final Pattern FACT = Pattern.compile("([A-Z][a-z]+) is (taller|older|faster) than ([A-Z][a-z]+)\\.");
        private static final Pattern QUESTION = Pattern.compile("Question: Who is the ([a-z]+)\\?");
        private static final Pattern OPTION = Pattern.compile("(?m)^([A-D])\\) ([A-Z][a-z]+)$");

        @Override
        public String name() {
            return "choice";
        }

        @Override
        public Problem make(SplittableRandom r) {
            List<String> people = new ArrayList<>(List.of(PEOPLE));
            shuffle(people, r);
            List<String> ranking = people.subList(0, 4);
            String[] relation = RELATIONS[r.nextInt(RELATIONS.length)];
            List<int[]> facts = new ArrayList<>(List.of(new int[] {0, 1}, new int[] {1, 2}, new int[] {2, 3}));
            shuffle(facts, r);
            StringBuilder passage = new StringBuilder();
            for (int[] f : facts) {
                passage.append(passage.length() == 0 ? "" : " ").append(ranking.get(f[0])).append(" is ")
                        .append(relation[0]).append(" than ").append(ranking.get(f[1])).append('.');
            }
            boolean top = r.nextBoolean();
            List<String> options = new ArrayList<>(ranking);
            shuffle(options, r);
            return of(passage.toString(), relation[top ? 1 : 2], options);
        }

        @Override
        public Optional<Problem> read(String prompt) {
            Matcher q = QUESTION.matcher(prompt);
            if (!prompt.startsWith("Read the passage") || !q.find()) {
                return Optional.empty();
            }
            int passageEnd = prompt.indexOf("\nQuestion:");
            String passage = prompt.substring(prompt.indexOf("Passage: ") + "Passage: ".length(), passageEnd);
            List<String> options = new ArrayList<>();
            Matcher o = OPTION.matcher(prompt);
            while (o.find()) {
                options.add(o.group(2));
            }
            return options.size() == 4 ? Optional.of(of(passage, q.group(1), options)) : Optional.empty();
        }

        private Problem of(String passage, String asked, List<String> options) {
            Set<String> left = new HashSet<>();
            Set<String> right = new HashSet<>();
            Matcher f = FACT.matcher(passage);
            while (f.find()) {
                left.add(f.group(1));
                right.add(f.group(3));
            }
            boolean top = Arrays.stream(RELATIONS).anyMatch(rel -> rel[1].equals(asked));
            // The top of the chain is never on the right of "than", the bottom never on the left.
            String who = options.stream().filter(p -> top ? !right.contains(p) : !left.contains(p)).findFirst()
                    .orElseThrow();
            char letter = (char) ('A' + options.indexOf(who));
            StringBuilder prompt = new StringBuilder("Read the passage and answer the question.\nPassage: ")
                    .append(passage).append("\nQuestion: Who is the ").append(asked).append("?\n");
            for (int i = 0; i < options.size(); i++) {
                prompt.append((char) ('A' + i)).append(") ").append(options.get(i)).append('\n');
            }
            prompt.append(instruction("<letter>"));
            return new Problem(name(), prompt.toString(), String.valueOf(letter), new Grader.Choice(letter, 4), false,
                    r -> String.valueOf((char) ('A' + (letter - 'A' + r.nextInt(1, 4)) % 4)));
        }

        private static <T> void shuffle(List<T> list, SplittableRandom r) {
            for (int i = list.size() - 1; i > 0; i--) {
                Collections.swap(list, i, r.nextInt(i + 1));
            }
        }
    }
}
