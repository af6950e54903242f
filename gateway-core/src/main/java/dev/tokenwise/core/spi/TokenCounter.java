package dev.tokenwise.core.spi;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.TokenCount;
import java.util.concurrent.CompletableFuture;

/**
 * Counts tokens locally. Implementations never block the calling thread for long: cheap work (cached
 * or short text) completes the future before returning, larger uncached text is counted on a worker
 * pool and the future completes there. Callers on an event loop must hop back themselves.
 */
public interface TokenCounter {

    /**
     * Counts the input of a request body: for chat completions OpenAI's chat accounting (3 tokens per
     * message, plus role, content and name tokens, plus 1 per name, plus 3 priming the reply), for
     * embeddings the tokens of {@code input}.
     */
    CompletableFuture<TokenCount> countInput(String model, Endpoint endpoint, JsonNode body);

    /** Counts the tokens of response text the model produced. */
    CompletableFuture<TokenCount> countOutput(String model, String text);

    /** {@code true} when this counter has the model's exact tokenizer. */
    boolean isExact(String model);
}
