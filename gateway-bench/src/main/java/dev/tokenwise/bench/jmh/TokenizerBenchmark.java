package dev.tokenwise.bench.jmh;

import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import dev.tokenwise.providers.tokenizer.JtokkitTokenCounter;
import dev.tokenwise.providers.tokenizer.TokenizerTable;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Token counting throughput: jtokkit's own {@link Encoding#countTokensOrdinary} against the gateway's
 * {@link JtokkitTokenCounter#countOutput} (model-to-encoding lookup, a one-piece plan, the future) on the
 * same text, for {@code o200k_base} and {@code cl100k_base}.
 *
 * <p>The counter keeps the counts of pre-tokenized pieces (words, numbers, punctuation runs) (o200k_base and cl100k_base),
 * so it is measured twice: {@code counterOutput} counts the same text again and again, every piece is already
 * known (the best case, a gateway that has seen the vocabulary); {@code counterOutputCold} gets a new counter
 * before each count, so only pieces repeated within the text are known (the worst case, a cold gateway; the new
 * counter is made outside the measured time, at {@link Level#Invocation}, which costs some timer accuracy on the
 * 1 KB text).
 *
 * <p>Texts: {@code mixed} is {@link MixedCorpus} at ~100 KB (prose, code, CJK, emoji; about 13 KB of distinct
 * text in rotating order, so a cold count still finds most pieces repeated); {@code answer} is its first ~1 KB
 * of English prose, the size of a typical completion, where fixed per-call costs show. The secondary result
 * {@code tokens} is counted tokens per second on one thread, i.e. per core. The counter's worker executor runs
 * tasks on the caller, so the 100 KB count (above {@link JtokkitTokenCounter#SYNC_CHAR_LIMIT}) is measured
 * without a thread hop.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class TokenizerBenchmark {
    static final int CORPUS_BYTES = 100 * 1024;
    static final int ANSWER_CHARS = 1_000;

    @Param({"o200k_base", "cl100k_base"})
    public String encoding;

    @Param({"mixed", "answer"})
    public String text;

    private TokenizerTable table;
    private Encoding jtokkit;
    private JtokkitTokenCounter counter;
    /** A model whose exact tokenizer is {@link #encoding}. */
    private String model;
    private String input;

    /** Tokens counted, reported by JMH as a rate: tokens per second on this thread. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Tokens {
        public long tokens;

        @Setup(Level.Iteration)
        public void reset() {
            tokens = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        table = new TokenizerTable();
        table.warmUp();
        EncodingType type = switch (encoding) {
            case "o200k_base" -> EncodingType.O200K_BASE;
            case "cl100k_base" -> EncodingType.CL100K_BASE;
            default -> throw new IllegalArgumentException("encoding: " + encoding + " (expected: o200k_base or cl100k_base)");
        };
        model = type == EncodingType.O200K_BASE ? "gpt-4o-mini" : "gpt-4";
        if (table.resolve(model).encodingType() != type) {
            throw new IllegalStateException(model + " does not resolve to " + encoding);
        }
        jtokkit = table.encoding(type);
        counter = new JtokkitTokenCounter(table, Runnable::run, JtokkitTokenCounter.DEFAULT_CACHE_ENTRIES);
        String corpus = MixedCorpus.build(CORPUS_BYTES);
        input = switch (text) {
            case "mixed" -> corpus;
            case "answer" -> corpus.substring(0, corpus.lastIndexOf(' ', ANSWER_CHARS));
            default -> throw new IllegalArgumentException("text: " + text + " (expected: mixed or answer)");
        };
        int direct = jtokkit.countTokensOrdinary(input);
        long wrapped = counter.countOutput(model, input).join().tokens();
        if (direct != wrapped) {
            throw new IllegalStateException("counts differ: jtokkit " + direct + ", counter " + wrapped);
        }
        System.out.printf("%n%s, %s: %,d chars, %,d UTF-8 bytes, %,d tokens; corpus %s%n", encoding, text,
                input.length(), input.getBytes(StandardCharsets.UTF_8).length, direct, MixedCorpus.composition());
    }

    /** A counter that has counted nothing of the text yet, made anew before every operation. */
    @State(Scope.Thread)
    public static class ColdCounter {
        JtokkitTokenCounter counter;

        @Setup(Level.Invocation)
        public void fresh(TokenizerBenchmark benchmark) {
            counter = new JtokkitTokenCounter(benchmark.table, Runnable::run, JtokkitTokenCounter.DEFAULT_CACHE_ENTRIES);
            // Creates the counter's per-encoding state now, not in the measured count ("§" is not in the texts).
            counter.countOutput(benchmark.model, "§").join();
        }
    }

    @Benchmark
    public int jtokkit(Tokens tokens) {
        int n = jtokkit.countTokensOrdinary(input);
        tokens.tokens += n;
        return n;
    }

    @Benchmark
    public long counterOutput(Tokens tokens) {
        long n = counter.countOutput(model, input).join().tokens();
        tokens.tokens += n;
        return n;
    }

    @Benchmark
    public long counterOutputCold(ColdCounter cold, Tokens tokens) {
        long n = cold.counter.countOutput(model, input).join().tokens();
        tokens.tokens += n;
        return n;
    }
}
