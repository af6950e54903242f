package dev.tokenwise.metrics.api;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.spi.ApiRoute;
import dev.tokenwise.metrics.efficiency.DriftDetector;
import dev.tokenwise.metrics.efficiency.DriftFinding;
import dev.tokenwise.metrics.efficiency.ProbeMonitor;
import dev.tokenwise.metrics.ledger.DriftReference;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;

/**
 * The drift detectors' references and tests.
 *
 * <ul>
 *   <li>{@code GET /api/v1/drift} (any key): per model and source ({@code traffic}, {@code probe}) its pinned
 *       reference ({@code from}, {@code to}, {@code pinned}, {@code tasks}, {@code note}) and each test
 *       ({@code metric, type, reference, recent, threshold, statistic, limit, samples, alarmed}).</li>
 *   <li>{@code POST /api/v1/drift/{model}/acknowledge} (admin key): the operator accepts the model's present
 *       behaviour. Body, optional: {@code {"source": "traffic"|"probe"|"all", "from": "2026-11-20"}} ({@code from},
 *       a date or instant, for the traffic reference: the days from then make the new one; default now). The
 *       references start over, the model's drift alerts of those sources close; answers the new references.</li>
 * </ul>
 *
 * <p>Both run on the executor given to the constructor (the detectors' state is serialised with their checks,
 * which read the ledger), never on the event loop.
 */
public final class DriftRoute implements ApiRoute {
    private static final String PATH = "/api/v1/drift";
    private static final String ACK = "/acknowledge";
    private static final Set<String> FIELDS = Set.of("source", "from");
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final DriftDetector traffic;
    private final ProbeMonitor probes;
    private final Executor executor;
    private final LongSupplier clockMillis;

    /** @param probes the probes' monitor, or {@code null} without probes */
    public DriftRoute(DriftDetector traffic, ProbeMonitor probes, Executor executor, LongSupplier clockMillis) {
        this.traffic = Objects.requireNonNull(traffic, "traffic");
        this.probes = probes;
        this.executor = Objects.requireNonNull(executor, "executor");
        this.clockMillis = Objects.requireNonNull(clockMillis, "clockMillis");
    }

    @Override
    public boolean matches(HttpMethod method, String path) {
        if (path.equals(PATH)) {
            return HttpMethod.GET.equals(method);
        }
        return isAck(path) && HttpMethod.POST.equals(method);
    }

    @Override
    public boolean matchesPath(String path) {
        return path.equals(PATH) || isAck(path);
    }

    private static boolean isAck(String path) {
        return path.startsWith(PATH + "/") && path.endsWith(ACK) && path.length() > PATH.length() + 1 + ACK.length();
    }

    @Override
    public CompletableFuture<Response> handle(Request request) {
        Principal principal = request.requirePrincipal();
        if (HttpMethod.GET.equals(request.method())) {
            return CompletableFuture.supplyAsync(() -> Response.json(200, toJson(states())), executor);
        }
        if (!principal.admin()) {
            throw new GatewayException(ErrorType.FORBIDDEN, "admin key required to acknowledge a change");
        }
        String encoded = request.path().substring(PATH.length() + 1, request.path().length() - ACK.length());
        String model;
        try {
            model = QueryStringDecoder.decodeComponent(encoded);
        } catch (IllegalArgumentException e) {
            throw new GatewayException(ErrorType.BAD_REQUEST, "model: " + encoded + " is not valid percent-encoding");
        }
        Ack ack = body(request.body(), clockMillis.getAsLong());
        return CompletableFuture.supplyAsync(() -> {
            boolean known = states().stream().anyMatch(s -> s.model().equals(model)
                    && (ack.source().equals("all") || ack.source().equals(s.source())));
            if (!known) {
                throw new GatewayException(ErrorType.NOT_FOUND, "no drift reference for model " + model
                        + (ack.source().equals("all") ? "" : " (source " + ack.source() + ")"));
            }
            long now = clockMillis.getAsLong();
            String note = "acknowledged " + Instant.ofEpochMilli(now);
            if (!ack.source().equals("probe") && traffic.state().stream().anyMatch(s -> s.model().equals(model))) {
                traffic.acknowledge(model, ack.fromMillis(), now, note);
            }
            if (!ack.source().equals("traffic") && probes != null
                    && probes.state().stream().anyMatch(s -> s.model().equals(model))) {
                probes.acknowledge(model, now, note);
            }
            return Response.json(200, toJson(states().stream().filter(s -> s.model().equals(model)).toList()));
        }, executor);
    }

    private List<DriftDetector.ModelState> states() {
        List<DriftDetector.ModelState> all = new ArrayList<>(traffic.state());
        if (probes != null) {
            all.addAll(probes.state());
        }
        return all;
    }

    private record Ack(String source, long fromMillis) {
    }

    private static Ack body(byte[] bytes, long nowMillis) {
        if (bytes == null || bytes.length == 0) {
            return new Ack("all", nowMillis);
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(bytes);
        } catch (IOException e) {
            String why = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new GatewayException(ErrorType.BAD_REQUEST, "body: not valid JSON (" + why + ")");
        }
        if (root == null || root.isMissingNode()) {
            return new Ack("all", nowMillis);
        }
        if (!root.isObject()) {
            throw new GatewayException(ErrorType.BAD_REQUEST,
                    "body: expected a JSON object such as {\"source\": \"traffic\", \"from\": \"2026-11-20\"}");
        }
        for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                throw new GatewayException(ErrorType.BAD_REQUEST, "unknown field: " + name + " (expected: source, from)");
            }
        }
        String source = root.path("source").asText("all");
        if (!Set.of("all", "traffic", "probe").contains(source) || root.has("source") && !root.get("source").isTextual()) {
            throw new GatewayException(ErrorType.BAD_REQUEST, "source: " + root.get("source")
                    + " (expected: traffic, probe or all)");
        }
        long from = nowMillis;
        if (root.has("from") && !root.get("from").isNull()) {
            if (!root.get("from").isTextual()) {
                throw new GatewayException(ErrorType.BAD_REQUEST, "from: " + root.get("from")
                        + " (expected: a date such as 2026-11-20 or an ISO-8601 instant)");
            }
            from = TimeRange.bound("from", root.get("from").asText(), nowMillis, false);
            if (from > nowMillis) {
                throw new GatewayException(ErrorType.BAD_REQUEST, "from: " + root.get("from").asText()
                        + " (expected: not in the future)");
            }
        }
        return new Ack(source, from);
    }

    static byte[] toJson(List<DriftDetector.ModelState> states) {
        return JsonBody.write(1024, g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("data");
            for (DriftDetector.ModelState s : states) {
                g.writeStartObject();
                g.writeStringField("model", s.model());
                g.writeStringField("source", s.source());
                writeReference(g, s.reference(), s.referenceTasks());
                g.writeArrayFieldStart("tests");
                for (DriftFinding f : s.findings()) {
                    writeFinding(g, f);
                }
                g.writeEndArray();
                g.writeArrayFieldStart("untested");
                for (String u : s.untested()) {
                    g.writeString(u);
                }
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    static void writeReference(JsonGenerator g, DriftReference ref, long tasks) throws IOException {
        g.writeObjectFieldStart("reference");
        if (ref != null) {
            g.writeStringField("from", Instant.ofEpochMilli(ref.fromMillis()).toString());
            if (ref.pinned()) {
                g.writeStringField("to", Instant.ofEpochMilli(ref.toMillis()).toString());
            } else {
                g.writeNullField("to");
            }
            g.writeBooleanField("pinned", ref.pinned());
            g.writeNumberField("tasks", tasks);
            g.writeStringField("note", ref.note());
            g.writeStringField("changed_at", Instant.ofEpochMilli(ref.changedAtMillis()).toString());
        }
        g.writeEndObject();
    }

    static void writeFinding(JsonGenerator g, DriftFinding f) throws IOException {
        g.writeStartObject();
        g.writeStringField("metric", f.metric());
        g.writeStringField("type", f.type().label());
        JsonBody.numberOrNull(g, "reference", f.reference());
        JsonBody.numberOrNull(g, "recent", f.recent());
        JsonBody.numberOrNull(g, "threshold", f.threshold());
        JsonBody.numberOrNull(g, "statistic", f.statistic());
        JsonBody.numberOrNull(g, "limit", f.limit());
        g.writeNumberField("samples", f.samples());
        g.writeBooleanField("alarmed", f.alarmed());
        g.writeStringField("message", f.message());
        g.writeEndObject();
    }
}
