package dev.tokenwise.metrics.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class JsonBodyTest {

    @Test
    void writesWhatTheWriterWritesAndNullForNumbersJsonCannotHold() {
        byte[] body = JsonBody.write(16, g -> {
            g.writeStartObject();
            JsonBody.numberOrNull(g, "rate", 0.25);
            JsonBody.numberOrNull(g, "nan", Double.NaN);
            JsonBody.numberOrNull(g, "inf", Double.POSITIVE_INFINITY);
            g.writeEndObject();
        });
        assertEquals("{\"rate\":0.25,\"nan\":null,\"inf\":null}", new String(body, StandardCharsets.UTF_8));
    }

    @Test
    void aWriterThatFailsIsAnUncheckedError() {
        assertThrows(UncheckedIOException.class, () -> JsonBody.write(16, g -> {
            throw new IOException("broken");
        }));
    }
}
