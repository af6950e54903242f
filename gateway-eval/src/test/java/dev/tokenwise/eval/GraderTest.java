package dev.tokenwise.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Graders on tricky answers: whitespace, case, number formats, JSON in code fences, option letters. */
class GraderTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Grader grader(String json) throws Exception {
        return Grader.parse(JSON.readTree(json));
    }

    private static boolean passes(String graderJson, String reply) throws Exception {
        return grader(graderJson).grade(reply).passed();
    }

    @Test
    void exactIgnoresSurroundingWhitespaceCaseQuotesBoldAndATrailingPeriod() throws Exception {
        String g = "{\"type\": \"exact\", \"answer\": \"Paris\"}";
        assertTrue(passes(g, "  paris \n"));
        assertTrue(passes(g, "**Paris**"));
        assertTrue(passes(g, "\"Paris\"."));
        assertTrue(passes(g, "`PARIS`"));
        assertTrue(passes(g, "Let me think.\nThe capital is Paris.\n\nAnswer: Paris."));
        assertTrue(passes(g, "**Answer:** Paris"));
        assertTrue(passes(g, "Final answer:\n\n  Paris  "), "the answer on the next line");
        assertFalse(passes(g, "Paris, France"));
        assertFalse(passes(g, "Answer: Lyon\n(Paris was my first thought)"), "the Answer: line wins");
    }

    @Test
    void exactCaseSensitiveAndIgnoringWhitespace() throws Exception {
        assertFalse(passes("{\"type\": \"exact\", \"answer\": \"ABC\", \"case_sensitive\": true}", "Answer: abc"));
        assertTrue(passes("{\"type\": \"exact\", \"answer\": \"ABC\", \"case_sensitive\": true}", "Answer: ABC"));
        String list = "{\"type\": \"exact\", \"answer\": \"1, 2, 3\", \"ignore_whitespace\": true}";
        assertTrue(passes(list, "Answer: 1,2,3"));
        assertTrue(passes(list, "Answer: 1 ,  2,\t3"));
        assertFalse(passes(list, "Answer: 1, 3, 2"));
        assertTrue(passes("{\"type\": \"exact\", \"answer\": \"a  b\"}", "Answer: a b"), "runs of spaces collapse");
        assertTrue(passes("{\"type\": \"exact\", \"answer\": \"ﬁne\"}", "Answer: fine"), "NFKC folds ligatures");
    }

    @Test
    void numberReadsThousandsSeparatorsSignsDecimalCommasAndExponents() throws Exception {
        String g = "{\"type\": \"number\", \"answer\": 1234.5}";
        assertTrue(passes(g, "Answer: 1,234.5"));
        assertTrue(passes(g, "Answer: 1\u202F234.5"));
        assertTrue(passes(g, "Answer: 1'234.50"));
        assertTrue(passes(g, "Answer: 1.2345e3"));
        assertTrue(passes(g, "Answer: 1234,5"), "a decimal comma");
        assertTrue(passes(g, "Answer: $1,234.5 in total"));
        assertFalse(passes(g, "Answer: 1,234"));
        assertTrue(passes("{\"type\": \"number\", \"answer\": -42}", "Answer: \u221242"), "a Unicode minus");
        assertTrue(passes("{\"type\": \"number\", \"answer\": -42}", "The result is -42."));
        assertTrue(passes("{\"type\": \"number\", \"answer\": 7}", "3 + 4 = 7"), "the last number without Answer:");
        assertTrue(passes("{\"type\": \"number\", \"answer\": 7}", "Answer: 7 (because 3 + 4)"), "the first after Answer:");
        assertFalse(passes("{\"type\": \"number\", \"answer\": 7}", "Answer: seven"));
        assertTrue(passes("{\"type\": \"number\", \"answer\": 2.5}", "Answer: 2.50"), "by value");
        assertFalse(passes("{\"type\": \"number\", \"answer\": 5100}", "Answer: 5 100"), "a plain space splits numbers");
    }

    @Test
    void numberTolerances() throws Exception {
        assertTrue(passes("{\"type\": \"number\", \"answer\": 3.14159, \"tolerance\": 0.01}", "Answer: 3.14"));
        assertFalse(passes("{\"type\": \"number\", \"answer\": 3.14159, \"tolerance\": 0.001}", "Answer: 3.14"));
        assertTrue(passes("{\"type\": \"number\", \"answer\": 1000, \"relative_tolerance\": 0.01}", "Answer: 1,009"));
        assertFalse(passes("{\"type\": \"number\", \"answer\": 1000, \"relative_tolerance\": 0.01}", "Answer: 1,011"));
    }

    @Test
    void numbersFindsEachFormat() {
        assertEquals(List.of(new BigDecimal("1234"), new BigDecimal("3.5"), new BigDecimal("-2E3")),
                Answers.numbers("1,234 and 3,5 and -2e3"));
        assertEquals(List.of(new BigDecimal("5"), new BigDecimal("3")), Answers.numbers("5-3"));
    }

    @Test
    void jsonSchemaFindsJsonInCodeFencesOrProse() throws Exception {
        String g = """
                {"type": "json_schema", "schema": {"type": "object", "required": ["name", "age"],
                 "properties": {"name": {"const": "Maria"}, "age": {"type": "integer", "const": 34}},
                 "additionalProperties": false}}""";
        assertTrue(passes(g, "Here it is:\n```json\n{\"name\": \"Maria\", \"age\": 34}\n```\nDone."));
        assertTrue(passes(g, "```\n{\"name\": \"Maria\", \"age\": 34.0}\n```"), "34.0 is the integer 34");
        assertTrue(passes(g, "{\"name\": \"Maria\", \"age\": 34}"));
        assertTrue(passes(g, "The object is {\"name\": \"Maria\", \"age\": 34} as asked."));
        assertTrue(passes(g, "First try:\n```json\n{\"name\": \"Mary\"}\n```\nFixed:\n```json\n{\"name\": \"Maria\", \"age\": 34}\n```"),
                "the last fenced block");
        Verdict stringAge = grader(g).grade("```json\n{\"name\": \"Maria\", \"age\": \"34\"}\n```");
        assertFalse(stringAge.passed());
        assertTrue(stringAge.reason().contains("$.age"), stringAge.reason());
        Verdict extra = grader(g).grade("{\"name\": \"Maria\", \"age\": 34, \"city\": \"Lisbon\"}");
        assertFalse(extra.passed());
        assertTrue(extra.reason().contains("$.city: not allowed"), extra.reason());
        assertFalse(passes(g, "```json\n{\"name\": \"Maria\", \"age\": 34,}\n```"), "broken JSON");
        assertEquals("no JSON in the reply", grader(g).grade("Maria, 34").reason());
    }

    @Test
    void jsonSchemaRefusesKeywordsItDoesNotCheck() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                grader("{\"type\": \"json_schema\", \"schema\": {\"oneOf\": [{\"type\": \"string\"}]}}"));
        assertTrue(e.getMessage().startsWith("grader.schema.oneOf: unsupported keyword"), e.getMessage());
    }

    @Test
    void choiceReadsTheLetterInItsUsualForms() throws Exception {
        String g = "{\"type\": \"choice\", \"answer\": \"B\", \"options\": 4}";
        for (String reply : List.of("B", "(B)", "b) Paris", "**B.**", "Answer: B", "The answer is B.",
                "I would pick option B because it fits.", "Answer: B) Paris", "B. Paris")) {
            assertTrue(passes(g, reply), reply);
        }
        assertFalse(passes(g, "Answer: C"));
        assertFalse(passes(g, "A or B, hard to say"), "two letters standing alone is no answer");
        assertFalse(passes(g, "the answer is a bit unclear"), "a lower-case article is not option A");
        assertFalse(passes(g, "Answer: E"), "not one of four options");
    }

    @Test
    void containsAndRegex() throws Exception {
        assertTrue(passes("{\"type\": \"contains\", \"answer\": \"new york\"}", "It is in New   York, I think."));
        assertFalse(passes("{\"type\": \"contains\", \"answer\": \"new york\", \"case_sensitive\": true}", "New York"));
        assertTrue(passes("{\"type\": \"regex\", \"pattern\": \"^\\\\d{4}-\\\\d{2}-\\\\d{2}$\"}", "Answer: 2024-03-26"));
        assertFalse(passes("{\"type\": \"regex\", \"pattern\": \"^\\\\d{4}$\"}", "Answer: 12345"));
    }

    @Test
    void badGradersSayWhatIsWrong() {
        assertEquals("grader.type: \"exactly\" (expected one of: exact, contains, regex, number, json_schema, choice)",
                assertThrows(IllegalArgumentException.class, () -> grader("{\"type\": \"exactly\", \"answer\": \"x\"}"))
                        .getMessage());
        assertEquals("grader.tolerance: -1 (expected: a number >= 0)", assertThrows(IllegalArgumentException.class,
                () -> grader("{\"type\": \"number\", \"answer\": 1, \"tolerance\": -1}")).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> grader("{\"type\": \"regex\", \"pattern\": \"(\"}"))
                .getMessage().startsWith("grader.pattern: not a valid regular expression"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> grader("{\"type\": \"exact\", \"answer\": \"x\", \"tolerance\": 1}")).getMessage()
                .startsWith("grader.tolerance: unknown field for type exact"));
    }
}
