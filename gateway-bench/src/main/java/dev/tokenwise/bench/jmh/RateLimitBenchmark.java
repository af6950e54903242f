package dev.tokenwise.bench.jmh;

import dev.tokenwise.core.config.RateLimits;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.ratelimit.RateLimiter;
import dev.tokenwise.core.spi.AdmissionStage;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The rate-limit stage of one call, without network: admission against a team's and a key's limits (requests per
 * minute, tokens per minute and concurrent requests: one compare-and-set each, on counters every thread shares),
 * then settlement to the tokens used. Limits are high enough that no call is refused, so every call pays the whole
 * path; {@code noLimits} is the cost for teams without limits (three map lookups). Run with {@code -t 1} and
 * {@code -t 2}.
 *
 * <pre>
 * java -jar tokenwise-bench.jar jmh RateLimitBenchmark -t 2
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
@Threads(1)
@State(Scope.Benchmark)
public class RateLimitBenchmark {
    private static final UsageRecord USED = UsageRecord.builder().id("req_bench").team("bench").keyId("bench-key").model("gpt-4o-mini")
            .provider("openai").endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200)
            .usage(TokenUsage.of(27, 64)).usageFromProvider(true).localInputTokens(27).localOutputTokens(64)
            .finishReason("stop").build();
    private static final AdmissionStage.Call LIMITED = new AdmissionStage.Call("req_bench", "bench", "bench-key",
            "gpt-4o-mini", Endpoint.CHAT_COMPLETIONS, 27, 256, 0);
    private static final AdmissionStage.Call UNLIMITED = new AdmissionStage.Call("req_bench", "free", "free-key",
            "gpt-4o-mini", Endpoint.CHAT_COMPLETIONS, 27, 256, 0);

    private RateLimiter limiter;

    @Setup
    public void setUp() {
        limiter = new RateLimiter(System::nanoTime);
        limiter.setTeam("bench", new RateLimits(RateLimits.MAX_PER_MINUTE, RateLimits.MAX_PER_MINUTE, 1_000_000));
        limiter.setKey("bench-key", new RateLimits(RateLimits.MAX_PER_MINUTE, 0, 1_000_000));
    }

    @Benchmark
    public AdmissionStage.Lease admitAndSettle() {
        AdmissionStage.Lease lease = limiter.admit(LIMITED);
        lease.settle(USED);
        return lease;
    }

    @Benchmark
    public AdmissionStage.Lease noLimits() {
        AdmissionStage.Lease lease = limiter.admit(UNLIMITED);
        lease.settle(USED);
        return lease;
    }
}
