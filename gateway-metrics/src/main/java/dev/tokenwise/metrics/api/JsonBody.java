package dev.tokenwise.metrics.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * JSON response bodies of the local routes, written with Jackson's streaming generator:
 *
 * <pre>{@code
 * byte[] body = JsonBody.write(256, g -> {
 *     g.writeStartObject();
 *     g.writeNumberField("requests", n);
 *     g.writeEndObject();
 * });
 * }</pre>
 *
 * <p>Stateless and thread-safe; the array returned belongs to the caller.
 */
public final class JsonBody {
    private static final JsonFactory JSON = new JsonFactory();

    private JsonBody() {
    }

    /** Writes one body to the generator it is given. */
    @FunctionalInterface
    public interface Writer {
        void writeTo(JsonGenerator g) throws IOException;
    }

    /** The body {@code writer} writes; {@code sizeHint} is the buffer's first capacity. */
    public static byte[] write(int sizeHint, Writer writer) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(sizeHint);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            writer.writeTo(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail; a writer might
        }
        return out.toByteArray();
    }

    /** Writes {@code value} as a number, or {@code null} when it is NaN or infinite (JSON has neither). */
    public static void numberOrNull(JsonGenerator g, String name, double value) throws IOException {
        if (Double.isFinite(value)) {
            g.writeNumberField(name, value);
        } else {
            g.writeNullField(name);
        }
    }
}
