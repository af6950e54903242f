package dev.tokenwise.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tokenwise.core.budget.BudgetBook;
import dev.tokenwise.core.config.BudgetConfig;
import dev.tokenwise.core.config.BudgetPeriod;
import dev.tokenwise.core.config.ClusterConfig;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenUsage;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.testing.PostgresServer;
import dev.tokenwise.core.testing.RedisServer;
import dev.tokenwise.metrics.ledger.PostgresLedger;
import dev.tokenwise.metrics.ledger.SqliteLedger;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Redis budget store against a real redis-server: two "instances" are two links, two books, one Redis. */
class RedisBudgetsTest {
    private static final long USD = 1_000_000_000L;
    private static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(60);

    private static RedisServer redis;
    private final List<AutoCloseable> open = new ArrayList<>();
    private int teamCounter;

    @BeforeAll
    static void startRedis() {
        redis = RedisServer.start();
    }

    @AfterAll
    static void stopRedis() {
        redis.close();
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
        if (!redis.running()) {
            redis.restart();
        }
    }

    /**
     * One gateway instance's view: its own book (limits) and its own connection to the shared Redis. Without slices
     * unless asked: each reservation is a script run.
     */
    private final class Instance {
        final BudgetBook book = new BudgetBook(ZoneOffset.UTC, 80, System::currentTimeMillis, 0);
        final RedisLink link;
        final RedisBudgets store;

        Instance() {
            this(0, ClusterConfig.OnRedisDown.FAIL_CLOSED);
        }

        Instance(int leasePercent, ClusterConfig.OnRedisDown onRedisDown) {
            this(leasePercent, onRedisDown, ClusterConfig.DEFAULT_BOOKING_DELAY_MILLIS);
        }

        Instance(int leasePercent, ClusterConfig.OnRedisDown onRedisDown, long bookingDelayMillis) {
            link = RedisLink.open(new ClusterConfig(redis.url(), onRedisDown, "test-" + open.size(), leasePercent,
                    bookingDelayMillis));
            store = new RedisBudgets(link);
            open.add(link);
            open.add(book);
            book.shareWith(store);
        }

        Instance team(String team, long limitNanos) {
            book.setTeamBudget(team, new BudgetConfig(limitNanos, BudgetPeriod.DAILY), 0);
            return this;
        }

        BudgetBook.Admission reserve(String id, String team, String key, long nanos, long timeoutNanos) {
            return store.reserve(book, id, team, key, nanos, timeoutNanos).join();
        }
    }

    private String freshTeam() {
        return "team-" + (++teamCounter) + "-" + System.nanoTime();
    }

    @Test
    void twoInstancesNeverReservePastTheTeamLimitTogether() throws Exception {
        String team = freshTeam();
        Instance a = new Instance().team(team, USD);
        Instance b = new Instance().team(team, USD);
        a.book.cancel(a.reserve("warm-up", team, "k", 1, TIMEOUT_NANOS).reservation());
        List<CompletableFuture<BudgetBook.Admission>> all = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            Instance on = i % 2 == 0 ? a : b;
            all.add(on.store.reserve(on.book, "r" + i, team, "k", USD / 10, TIMEOUT_NANOS));
        }
        int admitted = 0;
        for (int i = 0; i < all.size(); i++) {
            BudgetBook.Admission admission = all.get(i).join();
            if (admission.admitted()) {
                admitted++;
                (i % 2 == 0 ? a : b).book.settle(admission.reservation(), USD / 10 - 7);
            } else {
                assertEquals(BudgetBook.Outcome.TEAM_EXCEEDED, admission.outcome());
            }
        }
        assertEquals(10, admitted, "a $1 budget holds exactly ten $0.10 reservations across both instances");
        long spent = 10 * (USD / 10 - 7);
        for (Instance i : List.of(a, b)) {
            awaitSpent(i, team, spent);
        }
    }

    private static void awaitSpent(Instance instance, String team, long spentNanos) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 3_000;
        while (System.currentTimeMillis() < deadline) {
            instance.store.refresh(instance.book).join();
            var snapshot = instance.book.team(team).snapshot(System.currentTimeMillis());
            if (snapshot.spentNanos() == spentNanos && snapshot.reservedNanos() == 0) {
                return;
            }
            Thread.sleep(20);
        }
        fail("spent " + instance.book.team(team).snapshot(System.currentTimeMillis()) + ", expected " + spentNanos);
    }

    @Test
    void aKeyBudgetRefusesWithoutTakingFromItsTeam() {
        String team = freshTeam();
        Instance a = new Instance().team(team, USD);
        a.book.setKeyBudget(team, "key-1", new BudgetConfig(USD / 4, BudgetPeriod.DAILY), 0);
        BudgetBook.Admission refused = a.reserve("r1", team, "key-1", USD / 2, TIMEOUT_NANOS);
        assertEquals(BudgetBook.Outcome.KEY_EXCEEDED, refused.outcome());
        assertEquals("key-1", refused.refusedBy().holder());
        BudgetBook.Admission whole = a.reserve("r2", team, "other-key", USD, TIMEOUT_NANOS);
        assertTrue(whole.admitted(), "the refused call took nothing from the team");
    }

    @Test
    void aCancelledReservationGivesItsBudgetBack() throws Exception {
        String team = freshTeam();
        Instance a = new Instance().team(team, USD);
        Instance b = new Instance().team(team, USD);
        BudgetBook.Admission first = a.reserve("r1", team, null, USD, TIMEOUT_NANOS);
        assertTrue(first.admitted());
        assertFalse(b.reserve("r2", team, null, 1, TIMEOUT_NANOS).admitted());
        a.book.cancel(first.reservation());
        long deadline = System.currentTimeMillis() + 2_000;
        while (!b.reserve("r3-" + System.nanoTime(), team, null, USD, TIMEOUT_NANOS).admitted()) {
            assertTrue(System.currentTimeMillis() < deadline, "the cancelled reservation never came back");
            Thread.sleep(10);
        }
    }

    @Test
    void reclaimsTheReservationsOfAnInstanceThatDiedAfterTheTimeout() throws Exception {
        String team = freshTeam();
        Instance dead = new Instance().team(team, USD);
        Instance alive = new Instance().team(team, USD);
        assertTrue(dead.reserve("held", team, null, USD, TimeUnit.MILLISECONDS.toNanos(500)).admitted());
        dead.link.close(); // it never settles
        assertFalse(alive.reserve("early", team, null, USD / 10, TIMEOUT_NANOS).admitted());
        Thread.sleep(600);
        BudgetBook.Admission after = alive.reserve("late", team, null, USD, TIMEOUT_NANOS);
        assertTrue(after.admitted(), "the dead instance's reservation was reclaimed after its timeout");
        assertEquals("1", redis.command("HGET", "tw:{" + team + "}:budget:team:daily:" + periodStart(), "reclaimed"));
    }

    private static long periodStart() {
        return dev.tokenwise.core.budget.Periods.startMillis(BudgetPeriod.DAILY, System.currentTimeMillis(),
                ZoneOffset.UTC);
    }

    @Test
    void refusesWithBudgetUnavailableWithinTwoSecondsWhileRedisIsDownThenRecovers() throws Exception {
        String team = freshTeam();
        Instance a = new Instance().team(team, USD);
        assertTrue(a.reserve("before", team, null, 1, TIMEOUT_NANOS).admitted());
        redis.stop();
        long started = System.nanoTime();
        try {
            a.reserve("during", team, null, 1, TIMEOUT_NANOS);
            fail("admitted while Redis was down");
        } catch (CompletionException e) {
            GatewayException refused = assertInstanceOf(GatewayException.class, e.getCause());
            assertEquals(ErrorType.BUDGET_UNAVAILABLE, refused.type());
        }
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertTrue(tookMillis < 2_000, "refused after " + tookMillis + " ms");
        redis.restart(); // empty: the script must be loaded again, the window seeded again
        long deadline = System.currentTimeMillis() + 5_000;
        while (!a.link.up()) {
            assertTrue(System.currentTimeMillis() < deadline, "never reconnected");
            Thread.sleep(50);
        }
        assertTrue(a.reserve("after", team, null, 1, TIMEOUT_NANOS).admitted());
    }

    @Test
    void aSettlementRedisCouldNotTakeIsWrittenOnceItIsBack() throws Exception {
        String team = freshTeam();
        Instance a = new Instance().team(team, USD);
        BudgetBook.Admission admission = a.reserve("r1", team, null, USD / 2, TIMEOUT_NANOS);
        assertTrue(admission.admitted());
        redis.stop();
        a.book.settle(admission.reservation(), USD / 3);
        long deadline = System.currentTimeMillis() + 3_000;
        while (a.store.pendingSettlements() == 0) {
            assertTrue(System.currentTimeMillis() < deadline, "the settlement did not wait");
            Thread.sleep(20);
        }
        redis.restart();
        deadline = System.currentTimeMillis() + 5_000;
        String hash = "tw:{" + team + "}:budget:team:daily:" + periodStart();
        while (!Long.toString(USD / 3).equals(redis.command("HGET", hash, "spent"))) {
            assertTrue(System.currentTimeMillis() < deadline, "the waiting settlement never landed: "
                    + redis.command("HGET", hash, "spent"));
            Thread.sleep(50);
        }
        assertEquals(0, a.store.pendingSettlements());
    }

    @Test
    void aBudgetedCallCostsTwoRedisScriptRunsOneToReserveOneToSettle() throws Exception {
        String team = freshTeam();
        Instance a = new Instance().team(team, USD);
        a.book.setKeyBudget(team, "key-1", new BudgetConfig(USD, BudgetPeriod.DAILY), 0);
        a.book.cancel(a.reserve("warm-up", team, "key-1", 1, TIMEOUT_NANOS).reservation()); // scripts loaded
        Thread.sleep(200);
        long before = redis.calls("evalsha") + redis.calls("eval");
        for (int i = 0; i < 10; i++) {
            a.book.settle(a.reserve("c" + i, team, "key-1", USD / 100, TIMEOUT_NANOS).reservation(), USD / 200);
        }
        long deadline = System.currentTimeMillis() + 3_000;
        long scripts;
        do {
            Thread.sleep(20);
            scripts = redis.calls("evalsha") + redis.calls("eval") - before;
        } while (scripts < 20 && System.currentTimeMillis() < deadline);
        assertEquals(20, scripts, "one script to reserve and one to settle, team and key windows together");
    }

    /** Waits until the instance holds a slice with at least {@code nanos} free. */
    private static void awaitSlice(Instance instance, long nanos) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 3_000;
        while (instance.store.sliceFreeNanos() < nanos) {
            assertTrue(System.currentTimeMillis() < deadline, "no slice leased: " + instance.store.sliceFreeNanos());
            Thread.sleep(10);
        }
    }

    private static long hashField(String team, String field) {
        String v = redis.command("HGET", "tw:{" + team + "}:budget:team:daily:" + periodStart(), field);
        return v == null || v.isEmpty() ? 0 : Long.parseLong(v);
    }

    @Test
    void slicedInstancesNeverReservePastTheTeamLimitTogetherAndGiveTheirSlicesBackWhenIdle() throws Exception {
        String team = freshTeam();
        Instance a = new Instance(25, ClusterConfig.OnRedisDown.FAIL_CLOSED).team(team, USD);
        Instance b = new Instance(25, ClusterConfig.OnRedisDown.FAIL_CLOSED).team(team, USD);
        List<CompletableFuture<BudgetBook.Admission>> all = new ArrayList<>();
        List<Instance> by = new ArrayList<>();
        for (int round = 0; round < 40; round++) {
            for (int i = 0; i < 10; i++) {
                Instance on = i % 2 == 0 ? a : b;
                all.add(on.store.reserve(on.book, "r" + round + "-" + i, team, null, USD / 100, TIMEOUT_NANOS));
                by.add(on);
            }
            Thread.sleep(5); // slices are leased in the background
        }
        long settled = 0;
        int admitted = 0;
        for (int i = 0; i < all.size(); i++) {
            BudgetBook.Admission admission = all.get(i).join();
            if (admission.admitted()) {
                admitted++;
                by.get(i).book.settle(admission.reservation(), USD / 100 - 3);
                settled += USD / 100 - 3;
            }
            assertTrue(hashField(team, "spent") + hashField(team, "reserved") <= USD, "past the limit in Redis");
        }
        assertTrue(admitted <= 100, admitted + " calls of $0.01 admitted on a $1 budget");
        assertTrue(a.store.sliceFreeNanos() + b.store.sliceFreeNanos() > 0 || admitted == 100, "slices were used");
        long deadline = System.currentTimeMillis() + 5_000;
        while (hashField(team, "reserved") != 0 || hashField(team, "spent") != settled) {
            assertTrue(System.currentTimeMillis() < deadline, "idle slices not given back: spent "
                    + hashField(team, "spent") + " of " + settled + ", reserved " + hashField(team, "reserved"));
            Thread.sleep(50);
        }
        assertTrue(settled <= USD);
        BudgetBook.Admission rest = b.reserve("rest", team, null, USD - settled, TIMEOUT_NANOS);
        assertTrue(rest.admitted(), "what no call spent is whole again once the slices are back");
    }

    @Test
    void callsAdmittedAgainstASliceAreBookedManyToAScriptRun() throws Exception {
        String team = freshTeam();
        Instance plain = new Instance().team(team, USD);
        plain.book.setKeyBudget(team, "key-1", new BudgetConfig(USD, BudgetPeriod.DAILY), 0);
        String sliced = freshTeam();
        Instance leasing = new Instance(10, ClusterConfig.OnRedisDown.FAIL_CLOSED).team(sliced, USD);
        leasing.book.setKeyBudget(sliced, "key-1", new BudgetConfig(USD, BudgetPeriod.DAILY), 0);
        int calls = 100;
        long withoutSlices = scriptsFor(plain, team, calls);
        long withSlices = scriptsFor(leasing, sliced, calls);
        System.out.printf("Redis script runs for %d budgeted calls: %d without slices, %d with slices%n", calls,
                withoutSlices, withSlices);
        assertEquals(2L * calls, withoutSlices, "one to reserve and one to settle");
        assertTrue(withSlices <= 20, withSlices + " script runs with slices: the calls that end within a few"
                + " milliseconds are booked by one script run, plus a few leases and renewals");
    }

    /** The script runs (EVALSHA and EVAL, from INFO commandstats) that {@code calls} reserved and settled calls cost. */
    private long scriptsFor(Instance on, String team, int calls) throws Exception {
        on.book.cancel(on.reserve("warm-up", team, "key-1", 1, TIMEOUT_NANOS).reservation()); // scripts loaded
        Thread.sleep(300);
        long before = redis.calls("evalsha") + redis.calls("eval");
        for (int i = 0; i < calls; i++) {
            BudgetBook.Admission admission = on.reserve("c" + i, team, "key-1", USD / 1000, TIMEOUT_NANOS);
            assertTrue(admission.admitted());
            on.book.settle(admission.reservation(), USD / 2000);
        }
        long deadline = System.currentTimeMillis() + 3_000;
        long last = -1;
        long scripts = 0;
        while (System.currentTimeMillis() < deadline) {
            Thread.sleep(100);
            scripts = redis.calls("evalsha") + redis.calls("eval") - before;
            if (scripts == last && on.store.pendingSettlements() == 0) {
                break;
            }
            last = scripts;
        }
        return scripts;
    }

    @Test
    void theSliceOfAnInstanceThatDiedComesBackAfterTheTimeoutLessWhatItsCallsBooked() throws Exception {
        String team = freshTeam();
        Instance dead = new Instance(50, ClusterConfig.OnRedisDown.FAIL_CLOSED).team(team, USD);
        Instance alive = new Instance().team(team, USD);
        long timeout = TimeUnit.MILLISECONDS.toNanos(800);
        dead.book.cancel(dead.reserve("warm-up", team, null, USD / 100, timeout).reservation());
        awaitSlice(dead, USD / 2);
        for (int i = 0; i < 3; i++) {
            BudgetBook.Admission admission = dead.reserve("c" + i, team, null, USD / 100, timeout);
            assertTrue(admission.admitted());
            dead.book.settle(admission.reservation(), USD / 200);
        }
        long deadline = System.currentTimeMillis() + 3_000;
        while (hashField(team, "spent") != 3 * USD / 200) {
            assertTrue(System.currentTimeMillis() < deadline, "not booked: " + hashField(team, "spent"));
            Thread.sleep(20);
        }
        dead.link.close(); // killed: its slice is neither renewed nor given back
        long rest = USD - 3 * USD / 200;
        assertFalse(alive.reserve("early", team, null, rest, TIMEOUT_NANOS).admitted(), "the slice is still held");
        Thread.sleep(900);
        assertTrue(alive.reserve("late", team, null, rest, TIMEOUT_NANOS).admitted(),
                "the dead instance's slice came back, less what its calls booked");
        assertFalse(alive.reserve("over", team, null, 1, TIMEOUT_NANOS).admitted(), "not a nano-USD more");
    }

    /**
     * Two instances die with costs not yet in Redis, both in the shared ledger: one's slice bookings wait (a long
     * {@code booking_delay_ms}), the other's settlement of a call reserved directly never reached Redis. Once their
     * slice and reservation are reclaimed, Redis lacks those costs until a live instance reconciles the window from
     * the ledger, and what their slice and reservation held stays held meanwhile; two live instances reconciling at
     * once, and again, add them once.
     */
    @Test
    void whatAKilledInstanceHadNotBookedIsBookedFromTheSharedLedgerOnceAndOnlyOnce() throws Exception {
        ExecutorService executor = Executors.newFixedThreadPool(2);
        try (PostgresServer postgres = PostgresServer.start();
             PostgresLedger ledger = PostgresLedger.open(postgres.createDatabase(), SqliteLedger.Sync.NORMAL)) {
            String team = freshTeam();
            long timeout = TimeUnit.MILLISECONDS.toNanos(800);
            Instance sliced = new Instance(50, ClusterConfig.OnRedisDown.FAIL_CLOSED, 60_000).team(team, USD);
            Instance direct = new Instance().team(team, USD);
            Instance alive = new Instance().team(team, USD);
            Instance other = new Instance().team(team, USD);
            sliced.book.cancel(sliced.reserve("warm-up", team, null, USD / 100, timeout).reservation());
            awaitSlice(sliced, USD / 2);
            for (int i = 0; i < 3; i++) {
                BudgetBook.Admission admission = sliced.reserve("s" + i, team, null, USD / 100, timeout);
                assertTrue(admission.admitted());
                sliced.book.settle(admission.reservation(), USD / 200);
                ledger.accept(record("s" + i, team, sliced.link.config().instanceId(), USD / 200));
            }
            BudgetBook.Admission reserved = direct.reserve("d", team, null, USD / 100, timeout);
            assertTrue(reserved.admitted());
            assertTrue(ledger.flush(Duration.ofSeconds(10)));
            sliced.link.close(); // killed before a booking left: its slice is neither renewed nor given back
            direct.link.close();
            // Its call ended and is in the ledger; its settlement never reached Redis.
            ledger.accept(record("d", team, direct.link.config().instanceId(), USD / 300));
            assertTrue(ledger.flush(Duration.ofSeconds(10)));
            assertEquals(0, hashField(team, "spent"), "nothing was booked before the kill");

            long owed = 3 * (USD / 200) + USD / 300;
            alive.store.reconcileFrom(ledger::instanceSpentNanos, executor);
            other.store.reconcileFrom(ledger::instanceSpentNanos, executor);
            Thread.sleep(900);
            assertFalse(alive.reserve("held", team, null, USD - owed, TIMEOUT_NANOS).admitted(),
                    "what the dead instances held is held until they are reconciled"); // this script reclaims both
            assertEquals(2, hashField(team, "reclaimed"), "the slice and the reservation were reclaimed");
            assertEquals(0, hashField(team, "spent"), "Redis lacks their spend until the ledger's is booked");
            assertEquals(2, hashField(team, "unreconciled"), "both dead instances are named");
            CompletableFuture.allOf(alive.store.refresh(alive.book), other.store.refresh(other.book)).join();
            long deadline = System.currentTimeMillis() + 5_000;
            while (hashField(team, "spent") != owed || hashField(team, "reserved") != 0
                    || hashField(team, "unreconciled") != 0) {
                assertTrue(System.currentTimeMillis() < deadline, "not reconciled: spent " + hashField(team, "spent")
                        + " of " + owed + ", " + hashField(team, "unreconciled") + " left");
                Thread.sleep(20);
            }
            alive.store.refresh(alive.book).join();
            other.store.refresh(other.book).join();
            Thread.sleep(200);
            assertEquals(owed, hashField(team, "spent"), "a second reconcile adds nothing");
            assertEquals(owed, alive.store.reconciled().addedNanos() + other.store.reconciled().addedNanos(),
                    "added once between both live instances");
            assertFalse(alive.reserve("over", team, null, USD - owed + 1, TIMEOUT_NANOS).admitted(),
                    "not a nano-USD past the limit");
            assertTrue(alive.reserve("rest", team, null, USD - owed, TIMEOUT_NANOS).admitted());
        } finally {
            executor.shutdownNow();
        }
    }

    /**
     * While no instance can reconcile a dead one (its ledger query fails, as when PostgreSQL is unreachable), what the
     * reclaim held goes back at the hold's deadline, and the instance stays named, to be reconciled once the ledger
     * answers.
     */
    @Test
    void aHoldNobodyCanReconcileGoesBackAtItsDeadlineAndTheInstanceStaysNamed() throws Exception {
        ExecutorService executor = Executors.newSingleThreadExecutor();
        try {
            String team = freshTeam();
            long timeout = TimeUnit.MILLISECONDS.toNanos(800);
            Instance dead = new Instance(50, ClusterConfig.OnRedisDown.FAIL_CLOSED).team(team, USD);
            Instance alive = new Instance().team(team, USD);
            alive.store.reconcileFrom((instance, t, key, from, to) -> {
                throw new IllegalStateException("the ledger is unreachable");
            }, executor);
            dead.book.cancel(dead.reserve("warm-up", team, null, USD / 100, timeout).reservation());
            awaitSlice(dead, USD / 2);
            dead.link.close();
            Thread.sleep(900);
            assertFalse(alive.reserve("held", team, null, USD, timeout).admitted(), "reclaimed, and held");
            assertEquals(1, hashField(team, "unreconciled"));
            alive.store.refresh(alive.book).join();
            Thread.sleep(200);
            assertEquals(1, hashField(team, "unreconciled"), "a failed reconcile leaves the instance named");
            Thread.sleep(700);
            assertTrue(alive.reserve("back", team, null, USD, timeout).admitted(), "the hold went back at its deadline");
            assertEquals(1, hashField(team, "unreconciled"), "still to reconcile once the ledger answers");
        } finally {
            executor.shutdownNow();
        }
    }

    private static UsageRecord record(String id, String team, String instance, long costNanos) {
        return UsageRecord.builder().id(id + "-" + System.nanoTime()).team(team).keyId("k").model("m").provider("p")
                .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200)
                .usage(TokenUsage.of(10, 10)).costNanos(costNanos).createdAtMillis(System.currentTimeMillis())
                .instance(instance).build();
    }

    @Test
    void localShareAdmitsExactlyWithinTheHeldSliceWhileRedisIsDownThenRecovers() throws Exception {
        String team = freshTeam();
        Instance a = new Instance(10, ClusterConfig.OnRedisDown.LOCAL_SHARE).team(team, USD);
        a.book.cancel(a.reserve("warm-up", team, null, USD / 100, TIMEOUT_NANOS).reservation());
        awaitSlice(a, USD / 10);
        Thread.sleep(100);
        long held = a.store.sliceFreeNanos();
        redis.stop();
        int admitted = 0;
        GatewayException refusal = null;
        List<BudgetBook.Reservation> open = new ArrayList<>();
        for (int i = 0; i < 30 && refusal == null; i++) {
            try {
                BudgetBook.Admission admission = a.reserve("d" + i, team, null, USD / 100, TIMEOUT_NANOS);
                assertTrue(admission.admitted());
                open.add(admission.reservation());
                admitted++;
            } catch (CompletionException e) {
                refusal = assertInstanceOf(GatewayException.class, e.getCause());
            }
        }
        assertEquals(held / (USD / 100), admitted, "exactly what the held slice holds");
        assertEquals(ErrorType.BUDGET_UNAVAILABLE, refusal.type());
        assertTrue(refusal.getMessage().contains("local_share"), refusal.getMessage());
        for (BudgetBook.Reservation r : open) {
            a.book.settle(r, USD / 100);
        }
        redis.restart();
        long deadline = System.currentTimeMillis() + 5_000;
        while (!a.link.up()) {
            assertTrue(System.currentTimeMillis() < deadline, "never reconnected");
            Thread.sleep(50);
        }
        assertTrue(a.reserve("after", team, null, USD / 100, TIMEOUT_NANOS).admitted(), "recovered");
    }

    @Test
    void returningASliceWaitsForTheBookingsOfItsCallsSoNoOneElseCanReserveWhatTheySpent() throws Exception {
        String team = freshTeam();
        Instance a = new Instance(50, ClusterConfig.OnRedisDown.FAIL_CLOSED).team(team, USD);
        Instance b = new Instance().team(team, USD);
        a.book.cancel(a.reserve("warm-up", team, null, USD / 100, TIMEOUT_NANOS).reservation());
        awaitSlice(a, USD / 2);
        BudgetBook.Admission call = a.reserve("c", team, null, 4 * USD / 10, TIMEOUT_NANOS);
        assertTrue(call.admitted());
        assertEquals(USD / 10, a.store.sliceFreeNanos(), "admitted against the slice");
        a.book.settle(call.reservation(), 4 * USD / 10); // its booking waits a few milliseconds
        a.store.returnSlices(); // at once: the slice's whole field goes back only after that booking
        assertFalse(b.reserve("over", team, null, 6 * USD / 10 + 1, TIMEOUT_NANOS).admitted(),
                "what the call spent is never free for someone else, not even for a moment");
        assertTrue(b.reserve("rest", team, null, 6 * USD / 10, TIMEOUT_NANOS).admitted());
        assertEquals(4 * USD / 10, hashField(team, "spent"));
    }

    @Test
    void aSliceRetiredByALimitChangeIsGivenBackOnceItsCallsAreBooked() throws Exception {
        String team = freshTeam();
        Instance a = new Instance(50, ClusterConfig.OnRedisDown.FAIL_CLOSED).team(team, USD);
        a.book.cancel(a.reserve("warm-up", team, null, USD / 100, TIMEOUT_NANOS).reservation());
        awaitSlice(a, USD / 2);
        BudgetBook.Admission open = a.reserve("open", team, null, USD / 10, TIMEOUT_NANOS);
        assertTrue(open.admitted());
        a.team(team, 2 * USD); // the limit changes while a call admitted against the slice is running
        BudgetBook.Admission next = a.reserve("next", team, null, USD / 10, TIMEOUT_NANOS);
        assertTrue(next.admitted());
        a.book.settle(open.reservation(), USD / 20);
        a.book.settle(next.reservation(), USD / 20);
        long deadline = System.currentTimeMillis() + 5_000;
        while (hashField(team, "reserved") != 0 || hashField(team, "spent") != USD / 10) {
            assertTrue(System.currentTimeMillis() < deadline, "the retired slice still holds "
                    + hashField(team, "reserved") + " (spent " + hashField(team, "spent") + ")");
            Thread.sleep(50);
        }
    }

    @Test
    void aBudgetOfAMillionDollarsReservesWhileASliceHoldsATenthOfIt() throws Exception {
        String team = freshTeam();
        Instance a = new Instance(10, ClusterConfig.OnRedisDown.FAIL_CLOSED).team(team, 1_000_000 * USD);
        // The first call leases a slice ($100,000: 10^14 nano-USD reserved) and reserves in Redis behind it: the
        // figures the script returns are integers, not Lua's 14-digit rendering of them ("1.0000000001e+14").
        BudgetBook.Admission first = a.reserve("first", team, null, USD, TIMEOUT_NANOS);
        assertTrue(first.admitted());
        a.book.settle(first.reservation(), USD);
        awaitSlice(a, 100_000 * USD);
        Instance b = new Instance().team(team, 1_000_000 * USD);
        BudgetBook.Admission big = b.reserve("big", team, null, 200_000 * USD, TIMEOUT_NANOS);
        assertTrue(big.admitted());
        b.book.settle(big.reservation(), 200_000 * USD);
        long deadline = System.currentTimeMillis() + 3_000;
        while (hashField(team, "spent") != 200_001 * USD) {
            assertTrue(System.currentTimeMillis() < deadline, "spent " + hashField(team, "spent"));
            Thread.sleep(20);
        }
        while (b.book.team(team).snapshot(System.currentTimeMillis()).spentNanos() != 200_001 * USD) {
            assertTrue(System.currentTimeMillis() < deadline, "the settlement's reply was not mirrored into the book: "
                    + b.book.team(team).snapshot(System.currentTimeMillis()));
            Thread.sleep(5); // no refresh here: the figure comes from the settlement's own reply
        }
    }
}
