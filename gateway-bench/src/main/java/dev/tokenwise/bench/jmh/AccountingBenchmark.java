package dev.tokenwise.bench.jmh;

import dev.tokenwise.core.accounting.AccountingCore;
import dev.tokenwise.core.budget.BudgetBook;
import dev.tokenwise.core.config.BudgetConfig;
import dev.tokenwise.core.config.BudgetPeriod;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.UsageSink;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.ThreadParams;

/**
 * The accounting core of one call, without network: admission (a reservation in the {@link BudgetBook}),
 * settlement (the reservation replaced by the actual cost) and the record booked in the
 * {@link AccountingCore} (live totals, recent-records cache, hand-off to the dispatcher thread).
 *
 * <p>Set up as the gateway runs it: one team and one key, both with a monthly budget (two compare-and-set
 * loops per admission, on the same two counters for every thread), the production queue capacity (65,536)
 * and recent-records cache size (100,000), and a no-op {@link UsageSink} so that the dispatcher thread drains
 * the queue without doing I/O. Each thread cycles through its own pool of prebuilt records with distinct
 * request ids, larger than the recent-records cache, so every booking inserts a new key there as in
 * production. Run with {@code -t 1} and {@code -t 2}; add {@code -prof gc} for the bytes allocated per call.
 *
 * <pre>
 * java -jar tokenwise-bench.jar jmh AccountingBenchmark -t 2 -prof gc
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Threads(1)
public class AccountingBenchmark {
    static final String TEAM = "bench";
    static final String KEY_ID = "key-5be1c4e2";
    static final String MODEL = "gpt-4o-mini";
    /** gpt-4o-mini: $0.15 in, $0.60 out per million tokens. */
    static final ModelPrice PRICE = ModelPrice.of(150_000_000L, 600_000_000L);
    static final TokenUsage USAGE = TokenUsage.of(27, 64);
    /** The short body's reservation: 27 prompt tokens and max_tokens 256. */
    static final long WORST_CASE_NANOS = PRICE.worstCaseNanos(27, 256);
    static final long RESERVATION_TIMEOUT_NANOS = Duration.ofMinutes(15).toNanos();
    /** $100 M a month: never exhausted, never near the soft threshold during a run. */
    static final long LIMIT_NANOS = 100_000_000L * 1_000_000_000L;

    private static final int RECORD_QUEUE_CAPACITY = 65_536;
    private static final long RECENT_RECORDS = 10_000;
    /** Records per thread; more than {@link #RECENT_RECORDS}, so a booked id is never still in the recent cache. */
    private static final int POOL = 1 << 18;

    /** The books shared by all benchmark threads, as one gateway shares them between its event loops. */
    @State(Scope.Benchmark)
    public static class Books {
        BudgetBook budgets;
        AccountingCore accounting;

        @Setup(Level.Trial)
        public void open() {
            budgets = new BudgetBook(ZoneOffset.UTC, 80, System::currentTimeMillis, 0);
            budgets.setTeamBudget(TEAM, new BudgetConfig(LIMIT_NANOS, BudgetPeriod.MONTHLY), 0);
            budgets.setKeyBudget(TEAM, KEY_ID, new BudgetConfig(LIMIT_NANOS, BudgetPeriod.MONTHLY), 0);
            accounting = new AccountingCore(List.of(record -> { }), RECORD_QUEUE_CAPACITY, RECENT_RECORDS);
        }

        @TearDown(Level.Trial)
        public void close() {
            long overflowed = accounting.dispatcher().overflowed();
            accounting.close();
            budgets.close();
            if (budgets.openReservations() != 0) {
                throw new IllegalStateException("reservations left open: " + budgets.openReservations());
            }
            if (overflowed > 0) {
                // Not an error, but it changes what was measured: the overflow path allocates a queue node.
                System.out.println("note: " + overflowed + " records went to the dispatcher's overflow queue");
            }
        }
    }

    /** One thread's prebuilt records, each with its own request id. */
    @State(Scope.Thread)
    public static class Calls {
        UsageRecord[] records;
        int next;

        @Setup(Level.Trial)
        public void build(ThreadParams thread) {
            records = new UsageRecord[POOL];
            long cost = PRICE.costNanos(USAGE);
            long now = System.currentTimeMillis();
            for (int i = 0; i < POOL; i++) {
                // 28 characters like the gateway's ids; the thread index keeps threads' ids apart.
                String id = String.format("req_%04x%020x", thread.getThreadIndex(), i);
                records[i] = UsageRecord.builder().id(id).team(TEAM).keyId(KEY_ID).model(MODEL).provider("mock")
                        .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200).usage(USAGE)
                        .usageFromProvider(true).localInputTokens(27).localOutputTokens(64).costNanos(cost)
                        .finishReason("stop").createdAtMillis(now).latencyMicros(2_000).upstreamLatencyMicros(1_500)
                        .promptHash(0x5DEECE66DL * (i + 1)).build();
            }
        }

        UsageRecord next() {
            UsageRecord record = records[next];
            next = (next + 1) & (POOL - 1);
            return record;
        }
    }

    /** Admission and settlement in the budget book only. */
    @Benchmark
    public BudgetBook.Reservation reserveSettle(Books books, Calls calls) {
        UsageRecord record = calls.next();
        BudgetBook.Reservation reservation = books.budgets.reserve(record.id(), TEAM, KEY_ID, WORST_CASE_NANOS,
                RESERVATION_TIMEOUT_NANOS).reservation();
        books.budgets.settle(reservation, record.costNanos());
        return reservation;
    }

    /** The record booked in the accounting core only ({@code begin} when the call starts, {@code settle} at its end). */
    @Benchmark
    public UsageRecord record(Books books, Calls calls) {
        UsageRecord record = calls.next();
        books.accounting.begin(record.id());
        books.accounting.settle(record);
        return record;
    }

    /** One whole call, in the order the proxy does it: reserve, begin, settle the budget, book the record. */
    @Benchmark
    public BudgetBook.Reservation admitSettleRecord(Books books, Calls calls) {
        UsageRecord record = calls.next();
        BudgetBook.Reservation reservation = books.budgets.reserve(record.id(), TEAM, KEY_ID, WORST_CASE_NANOS,
                RESERVATION_TIMEOUT_NANOS).reservation();
        books.accounting.begin(record.id());
        books.budgets.settle(reservation, record.costNanos());
        books.accounting.settle(record);
        return reservation;
    }
}
