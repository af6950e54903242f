package dev.tokenwise.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.tokenwise.core.model.TokenUsage;
import org.junit.jupiter.api.Test;

class PartialUsageTest {

    @Test
    void billsTheTextRelayedWhenTheProvidersRunningFigureIsLower() {
        // Anthropic's message_start: 30 input (1500 read from the cache), output_tokens 1 whatever follows.
        TokenUsage running = new TokenUsage(1530, 1500, 0, 1, 0);

        assertEquals(new TokenUsage(1530, 1500, 0, 19, 0), PartialUsage.billed(running, 19));
    }

    @Test
    void keepsTheProvidersRunningFigureWhenItIsHigher() {
        TokenUsage running = new TokenUsage(9, 0, 0, 40, 30); // Gemini: thoughts counted, never shown

        assertSame(running, PartialUsage.billed(running, 12));
    }
}
