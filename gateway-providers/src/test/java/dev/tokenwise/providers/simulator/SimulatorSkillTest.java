package dev.tokenwise.providers.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.config.ConfigException;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import dev.tokenwise.eval.EvalTask;
import dev.tokenwise.eval.BuiltinSuite;
import dev.tokenwise.eval.Wilson;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Simulated models with skill: accuracy, verbosity, degradation and determinism on builtin tasks. */
@ExtendWith(LeakDetectingExtension.class)
class SimulatorSkillTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private static SimulatorServer start(Map<String, String> options) {
        Map<String, String> all = new java.util.HashMap<>(Map.of("first_token_delay_ms", "0", "chunk_delay_ms", "0",
                "models", "sim-a,sim-b,sim-plain"));
        all.putAll(options);
        return SimulatorServer.start(SimulatorSettings.fromOptions("sim", all),
                new SimulatorServerTest.WordCountingTokenCounter());
    }

    private record Reply(String text, long outputTokens) {
    }

    private static Reply ask(SimulatorServer sim, String model, String prompt) throws Exception {
        ObjectNode body = JSON.createObjectNode().put("model", model);
        body.putArray("messages").addObject().put("role", "user").put("content", prompt);
        HttpResponse<String> r = CLIENT.send(HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/chat/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode json = JSON.readTree(r.body());
        return new Reply(json.at("/choices/0/message/content").asText(), json.at("/usage/completion_tokens").asLong());
    }

    private record Run(int solved, double meanOutputTokens) {
    }

    private static Run run(SimulatorServer sim, String model, List<EvalTask> tasks) throws Exception {
        int solved = 0;
        long tokens = 0;
        for (EvalTask t : tasks) {
            Reply reply = ask(sim, model, t.prompt());
            if (t.grader().grade(reply.text()).passed()) {
                solved++;
            }
            tokens += reply.outputTokens();
        }
        return new Run(solved, (double) tokens / tasks.size());
    }

    @Test
    void answersBuiltinTasksRightWithItsAccuracy() throws Exception {
        try (SimulatorServer sim = start(Map.of("simulate.sim-a", "accuracy=0.9;seed=1",
                "simulate.sim-b", "accuracy=0.5;seed=1"))) {
            List<EvalTask> tasks = BuiltinSuite.generate(11, 400);
            Run a = run(sim, "sim-a", tasks);
            Run b = run(sim, "sim-b", tasks);
            Wilson.Interval ia = Wilson.interval95(a.solved(), tasks.size());
            Wilson.Interval ib = Wilson.interval95(b.solved(), tasks.size());
            assertTrue(ia.low() <= 0.9 && 0.9 <= ia.high(), a + " " + ia);
            assertTrue(ib.low() <= 0.5 && 0.5 <= ib.high(), b + " " + ib);
            Run plain = run(sim, "sim-plain", tasks.subList(0, 40));
            assertEquals(0, plain.solved(), "a model without skill answers with synthetic text");
        }
    }

    @Test
    void verbosityScalesTheOutputAndDegradeSwitchesProfileAfterItsCalls() throws Exception {
        try (SimulatorServer sim = start(Map.of("simulate.sim-a",
                "accuracy=1;verbosity=1;degrade.after_calls=100;degrade.accuracy=0;degrade.verbosity=2.5"))) {
            List<EvalTask> tasks = BuiltinSuite.generate(5, 100);
            Run before = run(sim, "sim-a", tasks);
            Run after = run(sim, "sim-a", tasks);
            assertEquals(100, before.solved());
            assertEquals(0, after.solved());
            double ratio = after.meanOutputTokens() / before.meanOutputTokens();
            assertTrue(ratio > 1.8 && ratio < 2.6, "output grows with verbosity: " + before + " → " + after);
        }
    }

    @Test
    void isDeterministicGivenTheSeedButDrawsAgainForARepeatedPrompt() throws Exception {
        String prompt = BuiltinSuite.generate(3, 1).get(0).prompt();
        List<String> first = new ArrayList<>();
        List<String> second = new ArrayList<>();
        try (SimulatorServer sim = start(Map.of("simulate.sim-a", "accuracy=0.5;seed=9"))) {
            for (int i = 0; i < 20; i++) {
                first.add(ask(sim, "sim-a", prompt).text());
            }
        }
        try (SimulatorServer sim = start(Map.of("simulate.sim-a", "accuracy=0.5;seed=9"))) {
            for (int i = 0; i < 20; i++) {
                second.add(ask(sim, "sim-a", prompt).text());
            }
        }
        assertEquals(first, second);
        assertTrue(first.stream().distinct().count() > 1, "each asking is a new draw");
        try (SimulatorServer sim = start(Map.of("simulate.sim-a", "accuracy=0.5;seed=10"))) {
            List<String> other = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                other.add(ask(sim, "sim-a", prompt).text());
            }
            assertNotEquals(first, other);
        }
    }

    @Test
    void leavesOtherPromptsAlone() throws Exception {
        try (SimulatorServer skilled = start(Map.of("simulate.sim-a", "accuracy=1"));
             SimulatorServer plain = start(Map.of())) {
            assertEquals(ask(plain, "sim-a", "Tell me about gateways.").text(),
                    ask(skilled, "sim-a", "Tell me about gateways.").text());
            assertFalse(ask(skilled, "sim-a", BuiltinSuite.generate(1, 1).get(0).prompt()).text().isEmpty());
        }
    }

    @Test
    void refusesBadSkillOptionsNamingTheKey() {
        assertEquals("providers.sim.simulate.sim-a.accuracy: 1.5 (expected: 0..1)",
                assertThrows(ConfigException.class, () -> SimulatorSettings.fromOptions("sim",
                        Map.of("simulate.sim-a", "accuracy=1.5"))).getMessage());
        assertEquals("providers.sim.simulate.sim-a.degrade: needs after_calls or after_seconds",
                assertThrows(ConfigException.class, () -> SimulatorSettings.fromOptions("sim",
                        Map.of("simulate.sim-a", "accuracy=1;degrade.accuracy=0.5"))).getMessage());
        SimulatedSkill skill = SimulatedSkill.parse(
                "accuracy=0.93;verbosity=1.0;degrade.after_calls=500;degrade.accuracy=0.6;degrade.verbosity=1.8", 4);
        assertEquals(skill, SimulatedSkill.parse(skill.toOption(), 0));
        assertEquals(0.93, skill.profile(500, Duration.ZERO).accuracy());
        assertEquals(0.6, skill.profile(501, Duration.ZERO).accuracy());
    }
}
