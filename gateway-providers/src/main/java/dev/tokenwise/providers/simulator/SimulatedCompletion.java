package dev.tokenwise.providers.simulator;

import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenCount;
import dev.tokenwise.core.spi.TokenCounter;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One simulated chat answer with its usage, the same whether it is streamed or not.
 *
 * @param pieces the answer, one word per piece with its leading space (see {@link AnswerGenerator})
 * @param finishReason {@code stop}, or {@code length} when the token limit cut the answer
 */
record SimulatedCompletion(List<String> pieces, String finishReason, long promptTokens, long completionTokens) {
    /** The token that ends a message, billed with an answer that ends by itself ({@code stop}), as OpenAI bills it. */
    static final long END_TOKENS = 1;

    SimulatedCompletion {
        pieces = List.copyOf(pieces);
    }

    String text() {
        return AnswerGenerator.text(pieces, pieces.size());
    }

    /**
     * Generates the answer and counts its tokens with {@code counter}. Nothing here blocks: the future
     * completes on whichever thread the counter completes it, so callers on an event loop must hop back.
     *
     * <p>A token limit below the answer's count cuts the answer after the most words whose count still fits,
     * found by a binary search over word prefixes (the counter has no token-level decoding). So
     * {@code completionTokens} may fall a little short of the limit, and it is always the count of the text
     * actually returned (plus the ending token of an answer that ends with {@code stop}, as OpenAI bills it), which is
     * what the gateway's billing audit expects of an exactly tokenized model.
     */
    static CompletableFuture<SimulatedCompletion> compute(ChatRequest request, int maxOutputWords,
                                                          TokenCounter counter) {
        return compute(request, AnswerGenerator.pieces(request.messages().toString(), maxOutputWords), counter);
    }

    /** The same for an answer already made (a skilled model's answer to a builtin task). */
    static CompletableFuture<SimulatedCompletion> compute(ChatRequest request, List<String> pieces,
                                                          TokenCounter counter) {
        String model = request.model();
        CompletableFuture<TokenCount> input = counter.countInput(model, Endpoint.CHAT_COMPLETIONS, request.body());
        // Like OpenAI, an answer that ends by itself is billed one token more than its text: the token that ends it.
        CompletableFuture<Cut> output = counter.countOutput(model, AnswerGenerator.text(pieces, pieces.size()))
                .thenCompose(full -> request.maxTokens() < 0 || full.tokens() + END_TOKENS <= request.maxTokens()
                        ? CompletableFuture.completedFuture(new Cut(pieces.size(), full.tokens() + END_TOKENS, "stop"))
                        : longestPrefixWithin(counter, model, pieces, request.maxTokens(), 0, 0, pieces.size()));
        return input.thenCombine(output, (in, cut) ->
                new SimulatedCompletion(pieces.subList(0, cut.words), cut.finishReason, in.tokens(), cut.tokens));
    }

    /** Invariant: the first {@code fits} words count {@code fitsTokens <= limit}; the first {@code overflows} exceed it. */
    private static CompletableFuture<Cut> longestPrefixWithin(TokenCounter counter, String model, List<String> pieces,
                                                              long limit, int fits, long fitsTokens, int overflows) {
        if (overflows - fits <= 1) {
            return CompletableFuture.completedFuture(new Cut(fits, fitsTokens, "length"));
        }
        int mid = (fits + overflows) >>> 1;
        return counter.countOutput(model, AnswerGenerator.text(pieces, mid)).thenCompose(count ->
                count.tokens() <= limit
                        ? longestPrefixWithin(counter, model, pieces, limit, mid, count.tokens(), overflows)
                        : longestPrefixWithin(counter, model, pieces, limit, fits, fitsTokens, mid));
    }

    private record Cut(int words, long tokens, String finishReason) {
    }
}
