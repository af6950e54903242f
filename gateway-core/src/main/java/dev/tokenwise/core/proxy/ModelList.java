package dev.tokenwise.core.proxy;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.config.RouteConfig;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * The bodies of {@code GET /v1/models} and {@code GET /v1/models/{id}}: the models of enabled providers that the caller
 * may use, in OpenAI's shape.
 */
final class ModelList {
    /** The path of one model, followed by its id: {@code /v1/models/{id}}. */
    static final String PATH_PREFIX = "/v1/models/";
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
                if (visible(proxy, principal, d)) {
                    write(g, d);
                }
            }
            for (RouteConfig r : proxy.config().routes().values()) {
                if (visible(proxy, principal, r.name())) {
                    writeRoute(g, r);
                }
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * The model object of {@code GET /v1/models/{id}} ({@code path} is the whole path, the id percent-decoded), or a
     * 404 {@code model_not_found}, the same for a model that does not exist and one the caller may not use.
     */
    static byte[] one(ProxyContext proxy, Principal principal, String path) {
        String id = URLDecoder.decode(path.substring(PATH_PREFIX.length()).replace("+", "%2B"), StandardCharsets.UTF_8);
        Deployment d = proxy.deployments().get(id);
        RouteConfig route = proxy.config().route(id);
        if (route != null && visible(proxy, principal, id)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(256);
            try (JsonGenerator g = proxy.json().getFactory().createGenerator(out)) {
                writeRoute(g, route);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return out.toByteArray();
        }
        if (d == null || !visible(proxy, principal, d)) {
            throw new GatewayException(ErrorType.MODEL_NOT_FOUND, "model " + id
                    + " is not served by this gateway (GET /v1/models lists the models it serves)");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = proxy.json().getFactory().createGenerator(out)) {
            write(g, d);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** A model of an enabled provider that the caller's key allows (every one for the admin key). */
    private static boolean visible(ProxyContext proxy, Principal principal, Deployment d) {
        return d.provider().enabled() && visible(proxy, principal, d.model().name());
    }

    /** A name the caller's key allows (every one for the admin key). */
    private static boolean visible(ProxyContext proxy, Principal principal, String name) {
        if (principal != null && !principal.admin()) {
            var key = proxy.keys().byId(principal.keyId());
            return key == null || key.allows(name);
        }
        return true;
    }

    /** An efficiency route, listed like a model, with {@code "route": true} and its candidates. */
    private static void writeRoute(JsonGenerator g, RouteConfig r) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", r.name());
        g.writeStringField("object", "model");
        g.writeNumberField("created", CREATED);
        g.writeStringField("owned_by", "tokenwise-route");
        g.writeBooleanField("route", true);
        g.writeArrayFieldStart("candidates");
        for (String c : r.candidates()) {
            g.writeString(c);
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    private static void write(JsonGenerator g, Deployment d) throws IOException {
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
}
