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
        RateLimiter limits = new RateLimiter(System::nanoTime);
        limits.setTeam(team, teamLimits);
        RedisLink link = RedisLink.open(new ClusterConfig(redis.url(), ClusterConfig.OnRedisDown.FAIL_CLOSED,
                "test-" + open.size()));
        open.add(link);
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
}
