package dev.tokenwise.core.proxy;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.tokenwise.core.auth.Principal;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/** The body of {@code GET /v1/models}: the models of enabled providers that the caller may use, in OpenAI's shape. */
final class ModelList {
    /** Fixed creation time reported for every model (OpenAI's field is required; the gateway has no better value). */
    private static final long CREATED = 1_700_000_000L;

    private ModelList() {
    }

    static byte[] json(ProxyContext proxy, Principal principal) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
        try (JsonGenerator g = proxy.json().getFactory().createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("object", "list");
            g.writeArrayFieldStart("data");
            for (Deployment d : proxy.deployments().values()) {
                if (!d.provider().enabled()) {
                    continue;
                }
                if (principal != null && !principal.admin()) {
                    var key = proxy.keys().byId(principal.keyId());
                    if (key != null && !key.allows(d.model().name())) {
                        continue;
                    }
                }
                boolean simulated = "simulator".equals(d.provider().type());
                g.writeStartObject();
                g.writeStringField("id", d.model().name());
                g.writeStringField("object", "model");
                g.writeNumberField("created", CREATED);
                g.writeStringField("owned_by", simulated ? "tokenwise-simulator" : d.provider().name());
                g.writeStringField("provider", d.provider().name());
                g.writeBooleanField("simulated", simulated);
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
