package dev.tokenwise.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BuiltinSuiteTest {

    @Test
    void isReproducibleAndPrefixStable() {
        List<EvalTask> a = BuiltinSuite.generate(7, 50);
        List<EvalTask> b = BuiltinSuite.generate(7, 200);
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).id(), b.get(i).id());
            assertEquals(a.get(i).prompt(), b.get(i).prompt());
        }
        assertNotEquals(BuiltinSuite.generate(8, 50).get(0).prompt(), a.get(0).prompt(), "another seed, other tasks");
    }

    @Test
    void mixesEveryFamilyEvenly() {
        List<EvalTask> tasks = BuiltinSuite.generate(1, 16);
        Set<String> families = new HashSet<>();
        for (EvalTask t : tasks) {
            families.add(t.id().substring(0, t.id().indexOf('-')));
        }
        assertEquals(Set.copyOf(BuiltinSuite.families()), families);
    }

    @Test
    void computesEveryAnswerFromThePromptAndItsGraderAcceptsItAndRejectsTheWrongOne() {
        SplittableRandom random = new SplittableRandom(3);
        for (long seed = 0; seed < 5; seed++) {
            for (int i = 0; i < 400; i++) {
                BuiltinSuite.Problem made = BuiltinSuite.problem(seed, i);
                Optional<BuiltinSuite.Problem> read = BuiltinSuite.recognise(made.prompt());
                assertTrue(read.isPresent(), made.prompt());
                assertEquals(made.answer(), read.get().answer(), made.prompt());
                String right = "Let me work it out step by step.\n\n" + made.finalPart(made.answer());
                Verdict ok = made.grader().grade(right);
                assertTrue(ok.passed(), made.prompt() + "\n" + right + "\n" + ok);
                String wrongAnswer = made.wrongAnswer(random);
                Verdict wrong = made.grader().grade("Thinking.\n" + made.finalPart(wrongAnswer));
                assertFalse(wrong.passed(), made.prompt() + "\nwrong answer: " + wrongAnswer);
            }
        }
    }

    @Test
    void recognisesNothingElse() {
        assertTrue(BuiltinSuite.recognise("Hello, how are you?").isEmpty());
        assertTrue(BuiltinSuite.recognise("What is 2 + 2?").isEmpty(), "no instruction: not a builtin task");
        assertTrue(BuiltinSuite.recognise("Convert 3 parsecs to m. End your reply with a line of the form 'Answer: x'.")
                .isEmpty());
    }

    @Test
    void knowsTheAnswersOfSomeHandPickedTasks() {
        String suffix = " End your reply with a line of the form 'Answer: <number>'.";
        assertEquals("1651", BuiltinSuite.recognise("What is 37 * 48 - 125?" + suffix).orElseThrow().answer());
        assertEquals("37", BuiltinSuite.recognise("What is 1 + 3 * 12?" + suffix).orElseThrow().answer());
        assertEquals("3", BuiltinSuite.recognise("How many times does the letter 'r' appear in \"strawberry\"?" + suffix)
                .orElseThrow().answer());
        assertEquals("54.5", BuiltinSuite.recognise("Convert 12.5 °C to °F." + suffix).orElseThrow().answer());
        assertEquals("Friday", BuiltinSuite.recognise("What day of the week was 2023-07-14?" + suffix).orElseThrow()
                .answer());
    }

    @Test
    void wilsonIntervalMatchesPublishedValues() {
        // Brown, Cai and DasGupta's example and the textbook 0-of-n case.
        Wilson.Interval i = Wilson.interval95(81, 263);
        assertEquals(0.2553, i.low(), 1e-4);
        assertEquals(0.3662, i.high(), 1e-4);
        assertEquals(0, Wilson.interval95(0, 10).low());
        assertEquals(0.2775, Wilson.interval95(0, 10).high(), 1e-4);
        assertEquals(1, Wilson.interval95(10, 10).high());
    }
}
