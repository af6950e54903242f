package dev.tokenwise.bench.jmh;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
 * the local output count. The body is the one the bench mock answers (913 bytes; its answer is 330 characters of
 * English), or the same with an answer in {@code text} that needs decoding: {@code escaped} (quotes and line
 * breaks) or {@code utf8} (accented Latin and CJK).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class CompletionBodyBenchmark {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ANSWER = "Token budgets work best when they are enforced before the call is forwarded:"
            + " reserve the worst case from the prompt size and max_tokens, forward the request, then settle the"
            + " reservation with the usage the provider reports. Teams that overspend get a clear 429 with the"
            + " remaining budget instead of a surprise on the invoice.";

    @Param({"plain", "escaped", "utf8"})
    public String text;

    private final ProviderAdapter adapter = new OpenAiAdapter(null);
    private ByteBuf body;
    private String answer;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        answer = switch (text) {
            case "plain" -> ANSWER;
            case "escaped" -> ANSWER.replace("reserve", "\"reserve\"").replace(": ", ":\n");
            case "utf8" -> ANSWER.replace("Teams", "Équipes — チーム").replace("invoice", "facture 請求書");
            default -> throw new IllegalArgumentException(text);
        };
        ObjectNode root = JSON.createObjectNode();
        root.put("id", "chatcmpl-BnchMockUpstream0000000000001");
        root.put("object", "chat.completion");
        root.put("created", 1_741_569_952L);
        root.put("model", "gpt-4o-mini-2024-07-18");
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode message = choice.putObject("message");
        message.put("role", "assistant");
        message.put("content", answer);
        message.putNull("refusal");
        message.putArray("annotations");
        choice.putNull("logprobs");
        choice.put("finish_reason", "stop");
        ObjectNode usage = root.putObject("usage");
        usage.put("prompt_tokens", 27).put("completion_tokens", 64).put("total_tokens", 91);
        usage.putObject("prompt_tokens_details").put("cached_tokens", 0).put("audio_tokens", 0);
        usage.putObject("completion_tokens_details").put("reasoning_tokens", 0).put("audio_tokens", 0)
                .put("accepted_prediction_tokens", 0).put("rejected_prediction_tokens", 0);
        root.put("service_tier", "default");
        root.put("system_fingerprint", "fp_06737a9306");
        byte[] bytes = JSON.writeValueAsBytes(root);
        body = Unpooled.directBuffer(bytes.length).writeBytes(bytes);
        ResponseObserver check = observe();
        if (!answer.equals(check.outputText()) || !"stop".equals(check.finishReason()) || check.usage() == null
                || check.usage().outputTokens() != 64) {
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
