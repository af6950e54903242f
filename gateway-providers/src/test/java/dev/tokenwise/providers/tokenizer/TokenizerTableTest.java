package dev.tokenwise.providers.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.EncodingType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TokenizerTableTest {

    private final TokenizerTable table = new TokenizerTable();

    // Mapping as in tiktoken's model.py (MODEL_PREFIX_TO_ENCODING / MODEL_TO_ENCODING), plus the simulator.
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "gpt-4o, o200k_base",
            "gpt-4o-mini-2024-07-18, o200k_base",
            "chatgpt-4o-latest, o200k_base",
            "gpt-4.1, o200k_base",
            "gpt-4.1-nano-2025-04-14, o200k_base",
            "gpt-4.5-preview, o200k_base",
            "gpt-5, o200k_base",
            "gpt-5-mini, o200k_base",
            "gpt-5.1, o200k_base",
            "o1, o200k_base",
            "o1-mini, o200k_base",
            "o3-mini, o200k_base",
            "o4-mini-2025-04-16, o200k_base",
            "sim-small, o200k_base",
            "sim-embed, o200k_base",
            "gpt-4, cl100k_base",
            "gpt-4-0613, cl100k_base",
            "gpt-4-32k, cl100k_base",
            "gpt-4-turbo-2024-04-09, cl100k_base",
            "gpt-3.5-turbo, cl100k_base",
            "gpt-3.5-turbo-0125, cl100k_base",
            "text-embedding-3-small, cl100k_base",
            "text-embedding-3-large, cl100k_base",
            "text-embedding-ada-002, cl100k_base",
    })
    void mapsKnownModelsToTheirExactEncoding(String model, String encoding) {
        TokenizerTable.Resolution resolution = table.resolve(model);

        assertEquals(encoding, resolution.encodingType().getName());
        assertTrue(resolution.exact(), model + " should be exact");
        assertTrue(table.isExact(model));
    }

    @Test
    void stripsProviderAndFineTunePrefixesBeforeMatching() {
        assertEquals(new TokenizerTable.Resolution(EncodingType.O200K_BASE, true), table.resolve("openai/gpt-4o-mini"));
        assertEquals(new TokenizerTable.Resolution(EncodingType.CL100K_BASE, true), table.resolve("azure/openai/gpt-4"));
        assertEquals(new TokenizerTable.Resolution(EncodingType.O200K_BASE, true),
                table.resolve("ft:gpt-4o-mini-2024-07-18:acme::abc123"));
        assertEquals(new TokenizerTable.Resolution(EncodingType.O200K_BASE, true), table.resolve(" GPT-4o "));
    }

    @ParameterizedTest
    @CsvSource({"claude-sonnet-4-20250514", "gemini-2.5-pro", "deepseek-chat", "llama-3.1-70b", "gpt-3", "text-embedding-004"})
    void estimatesUnknownModelsWithO200kBase(String model) {
        TokenizerTable.Resolution resolution = table.resolve(model);

        assertSame(TokenizerTable.FALLBACK, resolution.encodingType());
        assertFalse(resolution.exact());
        assertFalse(table.isExact(model));
    }

    @Test
    void estimatesMissingModelIds() {
        assertFalse(table.resolve(null).exact());
        assertFalse(table.resolve("").exact());
        assertFalse(table.resolve("openai/").exact());
        assertNull(TokenizerTable.baseModelId("  "));
    }

    @Test
    void loadsEncodingsOnlyWhenAsked() {
        TokenizerTable fresh = new TokenizerTable(Encodings.newLazyEncodingRegistry());
        assertFalse(fresh.isLoaded(EncodingType.CL100K_BASE));

        assertEquals("cl100k_base", fresh.encoding(EncodingType.CL100K_BASE).getName());

        assertTrue(fresh.isLoaded(EncodingType.CL100K_BASE));
        assertFalse(fresh.isLoaded(EncodingType.O200K_BASE));
    }

    @Test
    void everyTableOfTheProcessSharesOneCopyOfEachEncoding() {
        // About 20 MB each: several gateways in one process (tests, benchmarks) must not hold a copy each.
        assertSame(new TokenizerTable().encoding(EncodingType.CL100K_BASE),
                new TokenizerTable().encoding(EncodingType.CL100K_BASE));
    }

    @ParameterizedTest
    @CsvSource({"gpt-4o, true", "gpt-4o-mini-2024-07-18, true", "openai/gpt-4o, true", "gpt-4, true", "gpt-4-0613, true",
            "gpt-3.5-turbo, true", "gpt-3.5-turbo-0125, true", "gpt-4.1, false", "gpt-4-turbo, false",
            "gpt-4-0125-preview, false", "gpt-5, false", "o3, false", "claude-sonnet-4, false"})
    void provesTheToolRenderingOnlyForTheFamiliesOfThePublishedExamples(String model, boolean proven) {
        assertEquals(proven, table.toolRenderingProven(model));
    }
}
