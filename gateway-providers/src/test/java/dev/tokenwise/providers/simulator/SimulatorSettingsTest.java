package dev.tokenwise.providers.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.config.ConfigException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SimulatorSettingsTest {

    @Test
    void usesDefaultsWhenNoOptionsAreGiven() {
        SimulatorSettings settings = SimulatorSettings.fromOptions("sim", Map.of());

        assertEquals(SimulatorSettings.defaults(), settings);
        assertEquals(0, settings.port());
        assertEquals(Duration.ofMillis(15), settings.chunkDelay());
        assertEquals(Duration.ofMillis(120), settings.firstTokenDelay());
        assertEquals(1, settings.wordsPerChunk());
        assertEquals(120, settings.maxOutputWords());
        assertEquals(256, settings.embeddingDimensions());
        assertEquals(List.of("sim-small", "sim-large", "sim-embed"), settings.models());
        assertEquals(1, settings.ioThreads());
    }

    @Test
    void readsEveryOptionFromTheProviderOptions() {
        SimulatorSettings settings = SimulatorSettings.fromOptions("sim", Map.of(
                "port", "18080", "first_token_delay_ms", "0", "chunk_delay_ms", " 3 ", "words_per_chunk", "4",
                "max_output_words", "40", "embedding_dimensions", "1536", "models", "a, b ,,c", "io_threads", "2"));

        assertEquals(new SimulatorSettings(18080, Duration.ZERO, Duration.ofMillis(3), 4, 40, 1536,
                List.of("a", "b", "c"), 2), settings);
    }

    @Test
    void rejectsNegativeChunkDelayNamingTheFullKey() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> SimulatorSettings.fromOptions("sim", Map.of("chunk_delay_ms", "-1")));

        assertEquals("providers.sim.chunk_delay_ms: -1 (expected: >= 0)", e.getMessage());
    }

    @Test
    void rejectsValuesThatAreNotIntegers() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> SimulatorSettings.fromOptions("demo", Map.of("embedding_dimensions", "wide")));

        assertEquals("providers.demo.embedding_dimensions: wide (expected: an integer)", e.getMessage());
    }

    @Test
    void rejectsOutOfRangeValues() {
        assertEquals("providers.sim.embedding_dimensions: 0 (expected: 1..8192)", assertThrows(ConfigException.class,
                () -> SimulatorSettings.fromOptions("sim", Map.of("embedding_dimensions", "0"))).getMessage());
        assertEquals("providers.sim.port: 70000 (expected: 0..65535)", assertThrows(ConfigException.class,
                () -> SimulatorSettings.fromOptions("sim", Map.of("port", "70000"))).getMessage());
        assertEquals("providers.sim.words_per_chunk: 0 (expected: > 0)", assertThrows(ConfigException.class,
                () -> SimulatorSettings.fromOptions("sim", Map.of("words_per_chunk", "0"))).getMessage());
        assertTrue(assertThrows(ConfigException.class,
                () -> SimulatorSettings.fromOptions("sim", Map.of("models", " , "))).getMessage()
                .startsWith("providers.sim.models: [] (expected: "));
    }

    @Test
    void rejectsUnknownOptionsListingTheKnownOnes() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> SimulatorSettings.fromOptions("sim", Map.of("chunk_delay", "5")));

        assertTrue(e.getMessage().startsWith("providers.sim.chunk_delay: unknown option (expected one of: "),
                e.getMessage());
        assertTrue(e.getMessage().contains("chunk_delay_ms"), e.getMessage());
    }
}
