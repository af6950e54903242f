package dev.tokenwise.providers.translate;

import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;

/** The 400 answered, before anything is forwarded, for a part of a request that cannot be translated. */
final class Refusal {

    private Refusal() {
    }

    /**
     * E.g. {@code cannot translate field n for anthropic: 2 choices (only 1 can be translated)}.
     *
     * @param target the provider type translated to ({@code anthropic}, {@code gemini})
     * @param field the JSON path of the field in the client's request, e.g. {@code messages[2].content[0].type}
     */
    static GatewayException of(String target, String field, String why) {
        return new GatewayException(ErrorType.BAD_REQUEST,
                "cannot translate field " + field + " for " + target + ": " + why);
    }
}
