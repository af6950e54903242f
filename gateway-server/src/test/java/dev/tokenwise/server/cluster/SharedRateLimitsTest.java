package dev.tokenwise.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tokenwise.core.config.ClusterConfig;
import dev.tokenwise.core.config.RateLimits;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.ratelimit.RateLimiter;
import dev.tokenwise.core.spi.AdmissionStage;
import dev.tokenwise.core.testing.RedisServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The shared rate limits against a real redis-server: two "instances" are two links, two stages, one Redis. */
class SharedRateLimitsTest {
    private static RedisServer redis;
    private final List<AutoCloseable> open = new ArrayList<>();
    private int counter;

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
        redis.command("FLUSHALL");
    }

    private SharedRateLimits instance(String team, RateLimits teamLimits, Duration slotTimeout) {
        return instance(team, teamLimits, slotTimeout, ClusterConfig.OnRedisDown.FAIL_CLOSED);
    }

    private RedisLink lastLink;

    private SharedRateLimits instance(String team, RateLimits teamLimits, Duration slotTimeout,
                                      ClusterConfig.OnRedisDown onRedisDown) {
        RateLimiter limits = new RateLimiter(System::nanoTime);
        limits.setTeam(team, teamLimits);
        RedisLink link = RedisLink.open(new ClusterConfig(redis.url(), onRedisDown, "test-" + open.size()));
        open.add(link);
        lastLink = link;
        return new SharedRateLimits(limits, link, slotTimeout);
    }

    private AdmissionStage.Call call(String team, long tokens) {
        return new AdmissionStage.Call("r" + (++counter), team, "key-" + team, "sim-small", Endpoint.CHAT_COMPLETIONS,
                tokens / 2, tokens - tokens / 2, System.nanoTime());
    }

    /** The stage's decision: the lease when admitted, else the refusal. */
    private static AdmissionStage.Lease admitted(AdmissionStage.Lease lease) {
        assertNull(lease.answer().join(), "admitted");
        return lease;
    }

    private static GatewayException refused(AdmissionStage.Lease lease) {
        try {
            lease.answer().join();
        } catch (CompletionException e) {
            return assertInstanceOf(GatewayException.class, e.getCause());
        }
        return fail("admitted, expected a refusal");
    }

    /** Waits until the stage admits a call (a give-back is sent without waiting for it). */
    private AdmissionStage.Lease awaitAdmitted(SharedRateLimits stage, String team, long tokens) throws Exception {
        long deadline = System.currentTimeMillis() + 3_000;
        for (;;) {
            AdmissionStage.Lease lease = stage.admit(call(team, tokens));
            try {
                lease.answer().join();
                return lease;
            } catch (CompletionException e) {
                if (System.currentTimeMillis() > deadline) {
                    throw e;
                }
                Thread.sleep(20);
            }
        }
    }

    @Test
    void twoInstancesShareATeamsTokensPerMinute() {
        SharedRateLimits a = instance("t", new RateLimits(0, 1_000, 0), Duration.ofMinutes(1));
        SharedRateLimits b = instance("t", new RateLimits(0, 1_000, 0), Duration.ofMinutes(1));
        for (int i = 0; i < 4; i++) {
            admitted((i % 2 == 0 ? a : b).admit(call("t", 250)));
        }
        GatewayException e = refused(b.admit(call("t", 1)));
        assertEquals(ErrorType.RATE_LIMIT_EXCEEDED, e.type());
        assertTrue(e.getMessage().contains("team t: 1000 tokens per minute across all instances"), e.getMessage());
    }

    @Test
    void aCallThatCanNeverFitTheTokensPerMinuteIsRefusedAsTooLarge() {
        SharedRateLimits a = instance("t", new RateLimits(0, 1_000, 0), Duration.ofMinutes(1));
        GatewayException e = refused(a.admit(call("t", 1_001)));
        assertTrue(e.getMessage().contains("it never fits"), e.getMessage());
        admitted(a.admit(call("t", 1_000)));
    }

    @Test
    void twoInstancesShareATeamsConcurrentCallsAndAnEndedCallFreesItsSlot() throws Exception {
        SharedRateLimits a = instance("t", new RateLimits(0, 0, 2), Duration.ofMinutes(1));
        SharedRateLimits b = instance("t", new RateLimits(0, 0, 2), Duration.ofMinutes(1));
        AdmissionStage.Lease first = admitted(a.admit(call("t", 10)));
        admitted(b.admit(call("t", 10)));
        GatewayException e = refused(a.admit(call("t", 10)));
        assertTrue(e.getMessage().contains("2 concurrent requests across all instances"), e.getMessage());
        first.settle(null);
        awaitAdmitted(b, "t", 10);
    }

    @Test
    void theSlotOfACallThatNeverEndedComesBackAfterTheTimeout() throws Exception {
        SharedRateLimits a = instance("t", new RateLimits(0, 0, 1), Duration.ofMillis(300));
        SharedRateLimits b = instance("t", new RateLimits(0, 0, 1), Duration.ofMillis(300));
        admitted(a.admit(call("t", 10))); // its instance dies: never settled
        refused(b.admit(call("t", 10)));
        Thread.sleep(400);
        admitted(b.admit(call("t", 10)));
    }

    @Test
    void aCallRefusedByALaterStageGivesItsRequestAndTokensBack() throws Exception {
        SharedRateLimits a = instance("t", new RateLimits(1, 100, 0), Duration.ofMinutes(1));
        SharedRateLimits b = instance("t", new RateLimits(1, 100, 0), Duration.ofMinutes(1));
        AdmissionStage.Lease lease = a.admit(call("t", 100));
        lease.abort(); // before its answer came: given back once it has
        awaitAdmitted(b, "t", 100);
        refused(a.admit(call("t", 1)));
    }

    @Test
    void aRefusedTakeTakesNothing() {
        SharedRateLimits a = instance("t", new RateLimits(2, 100, 0), Duration.ofMinutes(1));
        admitted(a.admit(call("t", 60)));
        refused(a.admit(call("t", 60))); // its tokens do not fit: its request is not taken either
        admitted(a.admit(call("t", 40)));
    }

    @Test
    void twoInstancesLeasingBlocksOfALargeRequestLimitNeverAdmitMoreThanItTogether() throws Exception {
        SharedRateLimits a = instance("t", new RateLimits(1_000, 0, 0), Duration.ofMinutes(1));
        SharedRateLimits b = instance("t", new RateLimits(1_000, 0, 0), Duration.ofMinutes(1));
        long scriptsBefore = redis.calls("evalsha") + redis.calls("eval");
        long startNanos = System.nanoTime();
        int admitted = 0;
        long scriptsForTheFirst900 = 0;
        for (int i = 0; i < 1_500; i++) {
            if (i == 900) {
                scriptsForTheFirst900 = redis.calls("evalsha") + redis.calls("eval") - scriptsBefore;
            }
            AdmissionStage.Lease lease = (i % 2 == 0 ? a : b).admit(call("t", 10));
            try {
                lease.answer().join();
                admitted++;
                lease.settle(null);
            } catch (CompletionException e) {
                assertEquals(ErrorType.RATE_LIMIT_EXCEEDED, assertInstanceOf(GatewayException.class, e.getCause()).type());
            }
        }
        long elapsedMillis = (System.nanoTime() - startNanos) / 1_000_000;
        long scripts = redis.calls("evalsha") + redis.calls("eval") - scriptsBefore;
        System.out.printf("1,500 calls on a limit of 1,000 a minute: %d admitted in %d ms, %d script runs (%d for the"
                + " first 900)%n", admitted, elapsedMillis, scripts, scriptsForTheFirst900);
        // The shared GCRA admits 1,000 at once and one more each 60 ms: no block can add to that.
        assertTrue(admitted <= 1_000 + elapsedMillis / 60 + 1, admitted + " admitted in " + elapsedMillis + " ms");
        // Each instance may hold one block of 10 unused while the other is refused.
        assertTrue(admitted >= 1_000 - 2 * 10, admitted + " admitted");
        assertTrue(scriptsForTheFirst900 < 250, scriptsForTheFirst900 + " script runs for the first 900 calls:"
                + " requests were taken in blocks of 10 (one take per call would be 900)");
    }

    @Test
    void aBlocksUnusedRequestsGoBackToTheSharedLimitAfterASecond() throws Exception {
        SharedRateLimits a = instance("t", new RateLimits(1_000, 0, 0), Duration.ofMinutes(1));
        String tat = "tw:{rate}:team:t:rpm";
        admitted(a.admit(call("t", 10))); // taken in Redis itself; a block of 10 is leased behind it
        long deadline = System.currentTimeMillis() + 3_000;
        while (a.heldRequests() == 0) {
            assertTrue(System.currentTimeMillis() < deadline, "no block leased");
            Thread.sleep(5);
        }
        admitted(a.admit(call("t", 10))); // from the block
        long held = a.heldRequests();
        assertEquals(9, held);
        long before = Long.parseLong(redis.command("GET", tat));
        deadline = System.currentTimeMillis() + 3_000;
        while (a.heldRequests() != 0) {
            assertTrue(System.currentTimeMillis() < deadline, "the block was never given back");
            Thread.sleep(20);
        }
        long after = before;
        while (after == before && System.currentTimeMillis() < deadline) {
            Thread.sleep(10);
            after = Long.parseLong(redis.command("GET", tat));
        }
        assertEquals(before - 9 * 60_000, after, "nine requests of 60 ms each given back to the shared limit");
    }

    @Test
    void aSmallRequestLimitIsTakenInRedisByEveryCallAndNeedsNoGiveBack() throws Exception {
        SharedRateLimits a = instance("t", new RateLimits(10, 0, 0), Duration.ofMinutes(1));
        SharedRateLimits b = instance("t", new RateLimits(10, 0, 0), Duration.ofMinutes(1));
        admitted(a.admit(call("t", 10))).settle(null); // scripts loaded
        Thread.sleep(100);
        long before = redis.calls("evalsha") + redis.calls("eval");
        for (int i = 0; i < 9; i++) {
            admitted((i % 2 == 0 ? a : b).admit(call("t", 10))).settle(null);
        }
        GatewayException e = refused(b.admit(call("t", 10)));
        assertTrue(e.getMessage().contains("10 requests per minute across all instances"), e.getMessage());
        Thread.sleep(100);
        assertEquals(10, redis.calls("evalsha") + redis.calls("eval") - before,
                "one take per call (ten), no give-back: a used request has nothing to give back");
        assertEquals(0, a.heldRequests() + b.heldRequests(), "10 a minute is never leased");
    }

    @Test
    void underLocalShareAnInstanceKeepsTakingTheRequestsItHoldsWhileRedisIsDownAndNothingMore() throws Exception {
        SharedRateLimits a = instance("t", new RateLimits(1_000, 0, 0), Duration.ofMinutes(1),
                ClusterConfig.OnRedisDown.LOCAL_SHARE);
        int held = holdABlockThenStopRedis(a);
        try {
            for (int i = 0; i < held; i++) {
                admitted(a.admit(call("t", 10))).settle(null);
            }
            GatewayException e = refused(a.admit(call("t", 10)));
            assertEquals(ErrorType.BUDGET_UNAVAILABLE, e.type());
            assertTrue(e.getMessage().contains("once the requests this instance took before are used"), e.getMessage());
        } finally {
            redis.restart();
        }
    }

    @Test
    void underFailClosedTheRequestsAnInstanceHoldsAreNotUsedWhileRedisIsDown() throws Exception {
        SharedRateLimits a = instance("t", new RateLimits(1_000, 0, 0), Duration.ofMinutes(1));
        int held = holdABlockThenStopRedis(a);
        try {
            assertTrue(held > 0);
            assertEquals(ErrorType.BUDGET_UNAVAILABLE, refused(a.admit(call("t", 10))).type());
        } finally {
            redis.restart();
        }
    }

    /** Admits one call (a block is leased behind it), stops Redis before the block's second is up, waits for the link. */
    private int holdABlockThenStopRedis(SharedRateLimits stage) throws Exception {
        admitted(stage.admit(call("t", 10))).settle(null);
        long deadline = System.currentTimeMillis() + 3_000;
        while (stage.heldRequests() == 0) {
            assertTrue(System.currentTimeMillis() < deadline, "no block leased");
            Thread.sleep(2);
        }
        redis.stop();
        int held = (int) stage.heldRequests();
        while (lastLink.up()) {
            assertTrue(System.currentTimeMillis() < deadline + 2_000, "the link never saw Redis go");
            Thread.sleep(5);
        }
        assertEquals(held, stage.heldRequests(), "the block was given back before Redis stopped: the test was too slow");
        return held;
    }
}
