package dev.tokenwise.core.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RedisServerTest {
    private static RedisServer redis;

    @BeforeAll
    static void start() {
        redis = RedisServer.start();
    }

    @AfterAll
    static void stop() {
        redis.close();
    }

    @Test
    void answersCommandsAndCountsThem() {
        assertEquals("OK", redis.command("SET", "k", "v"));
        assertEquals("v", redis.command("GET", "k"));
        assertTrue(redis.calls("get") >= 1);
    }

    @Test
    void stopsAndComesBackEmptyOnTheSamePort() {
        redis.command("SET", "gone", "1");
        int port = redis.port();
        redis.stop();
        assertFalse(redis.running());
        assertThrows(IllegalStateException.class, () -> redis.command("PING"));
        redis.restart();
        assertEquals(port, redis.port());
        assertEquals("PONG", redis.command("PING"));
        assertEquals(null, redis.command("GET", "gone"));
    }
}
