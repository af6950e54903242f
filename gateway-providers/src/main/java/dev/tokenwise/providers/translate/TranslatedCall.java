package dev.tokenwise.providers.translate;

import dev.tokenwise.core.spi.ProviderAdapter;

/**
 * What a translating adapter's {@code rewrite} learned about one chat call, carried by the call's
 * {@link ProviderAdapter.Rewrite#plan()} to the same adapter's {@code upstreamPath} and {@code observer} for that call.
 *
 * @param clientModel the client's name for the model, named in the translated answer
 * @param stream whether the call streams (Gemini streams on another URL)
 * @param jsonObject whether the call asked for a JSON object, answered through a tool ({@code ChatToAnthropic.JSON_TOOL})
 */
public record TranslatedCall(String clientModel, boolean stream, boolean jsonObject) {
    /** The translated call of {@code rewrite}, or {@code null} when it has none (a native call, an adapter driven directly). */
    public static TranslatedCall of(ProviderAdapter.Rewrite rewrite) {
        return rewrite == null ? null : rewrite.plan(TranslatedCall.class);
    }
}
