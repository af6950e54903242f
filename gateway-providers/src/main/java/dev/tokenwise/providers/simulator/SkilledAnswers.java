package dev.tokenwise.providers.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.eval.BuiltinSuite;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Answers builtin-suite tasks for models with a {@link SimulatedSkill}: the task is recognised from the last user
 * message ({@link BuiltinSuite#recognise}), its answer computed, and the reply is the right answer with probability
 * {@code accuracy}, otherwise a plausible wrong one, after some working whose length {@code verbosity} scales.
 * Other prompts, and models without a skill, get the simulator's usual text.
 *
 * <p>Deterministic given the seed: the draw for the {@code n}-th time a model is asked a prompt depends only on
 * the seed, the prompt and {@code n}, so a suite run concurrently gets the same answers in any order. Thread-safe:
 * one instance serves every connection; counters are atomic.
 */
final class SkilledAnswers {
    /** Prompts whose occurrences are counted; beyond this the counts start over (a bounded memory). */
    private static final int MAX_TRACKED_PROMPTS = 200_000;
    private static final int BASE_WORDS_MIN = 20;
    private static final int BASE_WORDS_MAX = 40;

    private final Map<String, SimulatedSkill> skills;
    private final Map<String, AtomicLong> calls = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> occurrences = new ConcurrentHashMap<>();
    private final LongSupplier nanoClock;
    private final long startNanos;

    SkilledAnswers(Map<String, SimulatedSkill> skills, LongSupplier nanoClock) {
        this.skills = Map.copyOf(skills);
        this.nanoClock = nanoClock;
        this.startNanos = nanoClock.getAsLong();
    }

    /** The reply's pieces for a skilled model's builtin task; empty otherwise (then the usual text applies). */
    Optional<List<String>> answer(ChatRequest request) {
        SimulatedSkill skill = skills.get(request.model());
        if (skill == null) {
            return Optional.empty();
        }
        long callNumber = calls.computeIfAbsent(request.model(), m -> new AtomicLong()).incrementAndGet();
        String prompt = lastUserText(request.messages());
        if (prompt == null) {
            return Optional.empty();
        }
        Optional<BuiltinSuite.Problem> problem = BuiltinSuite.recognise(prompt);
        if (problem.isEmpty()) {
            return Optional.empty();
        }
        SimulatedSkill.Profile profile = skill.profile(callNumber,
                Duration.ofNanos(nanoClock.getAsLong() - startNanos));
        if (occurrences.size() > MAX_TRACKED_PROMPTS) {
            occurrences.clear();
        }
        long n = occurrences.computeIfAbsent(request.model() + '\n' + prompt, k -> new AtomicLong()).getAndIncrement();
        SplittableRandom random = new SplittableRandom(
                skill.seed() * 0x9E3779B97F4A7C15L ^ AnswerGenerator.fnv1a64(prompt) * 31 + n);
        boolean correct = random.nextDouble() < profile.accuracy();
        String stated = correct ? problem.get().answer() : problem.get().wrongAnswer(random);
        int words = (int) Math.max(1, Math.round(
                (BASE_WORDS_MIN + random.nextInt(BASE_WORDS_MAX - BASE_WORDS_MIN + 1)) * profile.verbosity()));
        List<String> pieces = new ArrayList<>(AnswerGenerator.words(random, words));
        pieces.add("\n\n" + problem.get().finalPart(stated));
        return Optional.of(pieces);
    }

    /** The text of the last user message: a string, or the text parts of an array of parts. */
    static String lastUserText(JsonNode messages) {
        for (int i = messages.size() - 1; i >= 0; i--) {
            JsonNode m = messages.get(i);
            if (!"user".equals(m.path("role").asText())) {
                continue;
            }
            JsonNode content = m.get("content");
            if (content == null) {
                return null;
            }
            if (content.isTextual()) {
                return content.asText();
            }
            if (content.isArray()) {
                StringBuilder text = new StringBuilder();
                for (JsonNode part : content) {
                    if ("text".equals(part.path("type").asText())) {
                        text.append(part.path("text").asText());
                    }
                }
                return text.toString();
            }
            return null;
        }
        return null;
    }
}
