package dev.tokenwise.bench.jmh;

import dev.tokenwise.bench.MockResponses;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.ResponseObserver;
import dev.tokenwise.providers.openai.OpenAiAdapter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Reading a non-streamed chat completion, as the gateway does for every such call: a new OpenAI
 * {@link ResponseObserver} sees the whole body (usage, answer text, finish reason), then the text is taken for
 * the local output count. The body is the one the bench mock answers ({@link MockResponses#completionBody}, 913
 * bytes; its answer is 330 characters of English), or the same with an answer in {@code text} that needs
 * decoding: {@code escaped} (quotes and line breaks) or {@code utf8} (accented Latin and CJK).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class CompletionBodyBenchmark {
    @Param({"plain", "escaped", "utf8"})
    public String text;

    private final ProviderAdapter adapter = new OpenAiAdapter(null);
    private ByteBuf body;
    private String answer;

    @Setup(Level.Trial)
    public void setUp() {
        answer = switch (text) {
            case "plain" -> MockResponses.ANSWER;
            case "escaped" -> MockResponses.ANSWER.replace("reserve", "\"reserve\"").replace(": ", ":\n");
            case "utf8" -> MockResponses.ANSWER.replace("Teams", "Équipes — チーム").replace("invoice", "facture 請求書");
            default -> throw new IllegalArgumentException(text);
        };
        byte[] bytes = MockResponses.completionBody(answer);
        body = Unpooled.directBuffer(bytes.length).writeBytes(bytes);
        ResponseObserver check = observe();
        if (!answer.equals(check.outputText()) || !"stop".equals(check.finishReason()) || check.usage() == null
                || check.usage().outputTokens() != MockResponses.COMPLETION_TOKENS) {
            throw new IllegalStateException("the completion was not read as expected: " + check.outputText());
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        body.release();
    }

    /** A new observer reads the body; its text is what the output count gets. */
    @Benchmark
    public ResponseObserver observe() {
        ResponseObserver o = adapter.observer(Endpoint.CHAT_COMPLETIONS, false, ProviderAdapter.Rewrite.UNCHANGED);
        o.onBody(body.duplicate());
        o.outputText();
        return o;
    }
}
