package dev.tokenwise.bench.jmh;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.bench.ChatBodies;
import dev.tokenwise.core.auth.KeyRegistry;
import dev.tokenwise.core.budget.BudgetBook;
import dev.tokenwise.core.config.BudgetConfig;
import dev.tokenwise.core.config.BudgetPeriod;
import dev.tokenwise.core.json.ChatBodyReader;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.TokenCount;
import dev.tokenwise.providers.tokenizer.JtokkitTokenCounter;
import dev.tokenwise.providers.tokenizer.TokenizerTable;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
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
 * The admission path of a chat call without network, step by step as {@code ClientFrontendHandler.startCall}
 * takes it: hash the presented key and look it up in the {@link KeyRegistry}, parse the body into an
 * {@link ObjectNode} ({@link ChatBodyReader}, messages left as bytes, from a copy of the buffer), find the model's price, read
 * {@code max_tokens}, count the input tokens with {@link JtokkitTokenCounter} (per-message cache), compute
 * the worst case with {@link ModelPrice#worstCaseNanos} and reserve it from the team's and key's budgets.
 * The reservation is cancelled at the end of each operation so that the book stays at a steady state
 * (cancel is a CAS and a map removal; {@link AccountingBenchmark} measures the budget book alone).
 *
 * <p>Bodies are the load harness's ({@link ChatBodies}): {@code short} (2 messages, 260 bytes, identical on
 * every call, so its counts come from the cache), {@code realistic} (10 messages, ~14 KB, the last message
 * new on every call: 9 counts from the cache, one tokenized) and {@code realistic_cached} (the same body on
 * every call, to separate tokenizing the new message from the rest). The counter's worker executor runs
 * tasks on the caller, so the one cold call that would go to a worker is measured inline too.
 *
 * <p>Besides {@link #admit}, the steps are measured on their own: {@link #parse}, {@link #parseAndCount},
 * {@link #authenticate}, {@link #reserveAndCancel}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class AdmissionBenchmark {
    private static final String PRESENTED_KEY = "tw-bench-key";
    private static final String TEAM = "bench";
    private static final String KEY_ID = "key-bench";
    private static final int OTHER_KEYS = 1_000;
    private static final long RESERVATION_TIMEOUT_NANOS = TimeUnit.MINUTES.toNanos(15);
    private static final long DEFAULT_MAX_OUTPUT_TOKENS = 4096;
    private static final String[] MAX_OUTPUT_FIELDS = {"max_completion_tokens", "max_tokens", "max_output_tokens"};
    private static final char[] HEX = "0123456789abcdef".toCharArray();
    /** Fixed-width stand-in for the load generator's {@code <connection>-<sequence>} marker. */
    private static final int MARKER_DIGITS = 12;

    @Param({"short", "realistic", "realistic_cached"})
    public String body;

    private final ObjectMapper json = new ObjectMapper();
    private KeyRegistry keys;
    private JtokkitTokenCounter counter;
    private BudgetBook budgets;
    private Map<String, ModelPrice> prices;
    private byte[] bytes;
    private ByteBuf content;
    /** Where the per-call digits go, or -1 when the body does not vary. */
    private int markerAt = -1;
    private long sequence;

    @Setup(Level.Trial)
    public void setUp() {
        keys = new KeyRegistry();
        for (int i = 0; i < OTHER_KEYS; i++) {
            keys.register("tw-other-key-" + i, "key-other-" + i, "team-" + (i % 50), List.of());
        }
        keys.register(PRESENTED_KEY, KEY_ID, TEAM, List.of());

        TokenizerTable tokenizers = new TokenizerTable();
        tokenizers.warmUp();
        counter = new JtokkitTokenCounter(tokenizers, Runnable::run, JtokkitTokenCounter.DEFAULT_CACHE_ENTRIES);

        budgets = new BudgetBook(ZoneOffset.UTC, 80, System::currentTimeMillis, 0);
        budgets.setTeamBudget(TEAM, new BudgetConfig(AccountingBenchmark.LIMIT_NANOS, BudgetPeriod.MONTHLY), 0);
        budgets.setKeyBudget(TEAM, KEY_ID, new BudgetConfig(AccountingBenchmark.LIMIT_NANOS, BudgetPeriod.MONTHLY), 0);
        prices = Map.of("gpt-4o-mini", new ModelPrice(150_000_000L, 600_000_000L, 75_000_000L, 150_000_000L,
                600_000_000L, 16_384), "gpt-4o", ModelPrice.of(2_500_000_000L, 10_000_000_000L));

        String text = switch (body) {
            case "short" -> ChatBodies.SHORT.body().sample(0, 0);
            case "realistic", "realistic_cached" -> ChatBodies.REALISTIC.body().sample(0, 0);
            default -> throw new IllegalArgumentException("body: " + body + " (expected: short, realistic or realistic_cached)");
        };
        if (!body.equals("short")) {
            // sample(0, 0) carries the marker "0-0"; widen it to a fixed number of digits written in place per call.
            String marker = "Request 0-0:";
            int at = text.indexOf(marker);
            if (at < 0) {
                throw new IllegalStateException("marker not found in the realistic body");
            }
            text = text.substring(0, at) + "Request " + "0".repeat(MARKER_DIGITS) + ":" + text.substring(at + marker.length());
            if (body.equals("realistic")) {
                markerAt = text.substring(0, at + "Request ".length()).getBytes(StandardCharsets.UTF_8).length;
            }
        }
        bytes = text.getBytes(StandardCharsets.UTF_8);
        content = Unpooled.wrappedBuffer(bytes);
        // One call before measuring, so that a broken setup fails here and not as a NaN score.
        if (admit() == null) {
            throw new IllegalStateException("admission refused");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        budgets.close();
    }

    /** The whole admission of one call; returns its reservation (cancelled again). */
    @Benchmark
    public BudgetBook.Reservation admit() {
        KeyRegistry.KeyEntry key = keys.find(PRESENTED_KEY);
        ObjectNode request = parseBody();
        String model = request.get("model").textValue();
        ModelPrice price = prices.get(model);
        if (key == null || price == null || !key.allows(model)) {
            throw new IllegalStateException("key or model not found");
        }
        long maxOutputTokens = maxOutputTokens(request);
        TokenCount counted = counter.countInput(model, Endpoint.CHAT_COMPLETIONS, request).getNow(null);
        long inputTokens = counted == null ? content.readableBytes()
                : counted.estimated() ? Math.max(content.readableBytes(), counted.tokens()) : counted.tokens();
        long outputTokens = maxOutputTokens > 0 ? maxOutputTokens
                : price.maxOutputTokens() > 0 ? price.maxOutputTokens() : DEFAULT_MAX_OUTPUT_TOKENS;
        long worstCaseNanos = price.worstCaseNanos(inputTokens, outputTokens);
        BudgetBook.Admission admission = budgets.reserve(requestId(), key.team(), key.id(), worstCaseNanos,
                RESERVATION_TIMEOUT_NANOS);
        BudgetBook.Reservation reservation = admission.reservation();
        budgets.cancel(reservation);
        return reservation;
    }

    /** Reading the body alone ({@link ChatBodyReader}). */
    @Benchmark
    public ObjectNode parse() {
        return parseBody();
    }

    /** Parse plus the input count; minus {@link #parse} this is what counting costs. */
    @Benchmark
    public TokenCount parseAndCount() {
        ObjectNode request = parseBody();
        return counter.countInput(request.get("model").textValue(), Endpoint.CHAT_COMPLETIONS, request).getNow(null);
    }

    /** SHA-256 of the presented key and the registry lookup (independent of the body). */
    @Benchmark
    public KeyRegistry.KeyEntry authenticate() {
        return keys.find(PRESENTED_KEY);
    }

    /** A request id, the worst case, the two-budget reservation and its cancellation (independent of the body). */
    @Benchmark
    public BudgetBook.Reservation reserveAndCancel() {
        long worstCaseNanos = prices.get("gpt-4o-mini").worstCaseNanos(27, 256);
        BudgetBook.Reservation reservation = budgets.reserve(requestId(), TEAM, KEY_ID, worstCaseNanos,
                RESERVATION_TIMEOUT_NANOS).reservation();
        budgets.cancel(reservation);
        return reservation;
    }

    /** The next body (new digits in the last message for {@code realistic}) parsed as the proxy parses it. */
    private ObjectNode parseBody() {
        if (markerAt >= 0) {
            long n = ++sequence;
            for (int i = markerAt + MARKER_DIGITS - 1; i >= markerAt; i--) {
                bytes[i] = (byte) ('0' + n % 10);
                n /= 10;
            }
        }
        try {
            // A copy, as the proxy makes: the tree keeps the bytes of the messages it has not read.
            return (ObjectNode) ChatBodyReader.read(json.getFactory(),
                    ByteBufUtil.getBytes(content, content.readerIndex(), content.readableBytes(), true));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long maxOutputTokens(ObjectNode body) {
        for (String field : MAX_OUTPUT_FIELDS) {
            JsonNode node = body.get(field);
            if (node != null && !node.isNull()) {
                return node.longValue();
            }
        }
        return 0;
    }

    /** The gateway's request id: {@code req_} and 24 hex digits of randomness (as {@code RequestIds.next}). */
    private static String requestId() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long hi = random.nextLong();
        int lo = random.nextInt();
        char[] out = new char[28];
        out[0] = 'r';
        out[1] = 'e';
        out[2] = 'q';
        out[3] = '_';
        for (int i = 0; i < 16; i++) {
            out[4 + i] = HEX[(int) (hi >>> (60 - 4 * i)) & 0xF];
        }
        for (int i = 0; i < 8; i++) {
            out[20 + i] = HEX[(lo >>> (28 - 4 * i)) & 0xF];
        }
        return new String(out);
    }
}
