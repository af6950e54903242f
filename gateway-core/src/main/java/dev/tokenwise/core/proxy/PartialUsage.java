package dev.tokenwise.core.proxy;

import dev.tokenwise.core.model.TokenUsage;

/**
 * What a partial answer is billed: one that ended (the client left, the provider broke off or reported an error)
 * before the provider's final usage came. The input side the provider reported is kept (it is known from the start:
 * Anthropic's {@code message_start}, Gemini's {@code promptTokenCount}); the output is the larger of the provider's
 * running figure and the local count of what was relayed. Anthropic's first event says {@code output_tokens: 1}
 * whatever follows, and Gemini's running count lags the text it has sent, so neither alone is what was produced.
 *
 * <pre>{@code
 * PartialUsage.billed(new TokenUsage(30, 0, 0, 1, 0), 19);   // 30 in, 19 out
 * }</pre>
 */
final class PartialUsage {
    private PartialUsage() {
    }

    /** {@code running} with its output raised to {@code relayedOutputTokens} when that is more (reasoning kept). */
    static TokenUsage billed(TokenUsage running, long relayedOutputTokens) {
        if (relayedOutputTokens <= running.outputTokens()) {
            return running;
        }
        return new TokenUsage(running.inputTokens(), running.cachedInputTokens(), running.cacheWriteTokens(),
                relayedOutputTokens, running.reasoningTokens());
    }
}
