package dev.tokenwise.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.config.ClusterConfig;
import dev.tokenwise.core.testing.RedisServer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

class RedisLinkTest {

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 5_000;
        while (!condition.getAsBoolean()) {
            assertTrue(System.currentTimeMillis() < deadline, what);
            Thread.sleep(20);
        }
    }

    @Test
    void recordsNoPerCommandLatencies() throws Exception {
        // Lettuce times every command into a histogram when LatencyUtils is on the classpath (it is); nothing reads
        // those histograms here, and recording them costs gateway CPU on every script run.
        try (RedisServer redis = RedisServer.start();
             RedisLink link = RedisLink.open(new ClusterConfig(redis.url(), ClusterConfig.OnRedisDown.FAIL_CLOSED,
                     "test"))) {
            assertFalse(link.resources().commandLatencyRecorder().isEnabled());
        }
    }

    @Test
    void noticesRedisGoingAwayAndComingBackAndRunsWhatWaitsForIt() throws Exception {
        try (RedisServer redis = RedisServer.start();
             RedisLink link = RedisLink.open(new ClusterConfig(redis.url(), ClusterConfig.OnRedisDown.FAIL_CLOSED,
                     "test"))) {
            AtomicInteger ups = new AtomicInteger();
            link.onUp(ups::incrementAndGet);
            assertTrue(link.up());
            redis.stop();
            await(() -> !link.up(), "never noticed Redis went away");
            Thread.sleep(3 * RedisLink.TICK_MILLIS);
            redis.restart();
            await(link::up, "never reconnected");
            await(() -> ups.get() == 1, "what waits for Redis never ran");
        }
    }

    @Test
    void startsWhileRedisIsDownAndConnectsOnceItIsUp() throws Exception {
        try (RedisServer redis = RedisServer.start()) {
            redis.stop();
            try (RedisLink link = RedisLink.open(new ClusterConfig(redis.url(),
                    ClusterConfig.OnRedisDown.FAIL_CLOSED, "test"))) {
                assertFalse(link.up());
                AtomicInteger ups = new AtomicInteger();
                link.onUp(ups::incrementAndGet);
                redis.restart();
                await(link::up, "never connected");
                await(() -> ups.get() == 1, "what waits for Redis never ran");
                assertEquals(null, link.lastError());
            }
        }
    }
}
