package dev.tokenwise.server.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.eval.ChatMessage;
import dev.tokenwise.eval.EvalTask;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The gateway as {@code tokenwise eval} and the probes see it: a client with a virtual key, like any other, over
 * HTTP. Calls go to {@code /v1/chat/completions} with {@code X-Task-Id}, outcomes to
 * {@code /api/v1/tasks/{id}/outcome}. Blocking: use it from a worker thread, never an event loop.
 */
public final class GatewayClient {
    public static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http;
    private final URI base;
    private final String key;
    private final Duration timeout;

    public GatewayClient(URI base, String key, Duration timeout) {
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        this.base = base;
        this.key = key;
        this.timeout = timeout;
    }

    /** A failure to talk to the gateway at all (not an HTTP answer), in words. */
    public static final class Unreachable extends Exception {
        private static final long serialVersionUID = 1L;

        Unreachable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** An HTTP answer: status, body parsed when it is JSON (else {@code null}), raw text, and wall time. */
    public record Answer(int status, JsonNode json, String text, long millis, long retryAfterSeconds) {
        /** {@code "402 budget_exceeded: message"} from the gateway's error body, or the status and text. */
        public String describe() {
            JsonNode error = json == null ? null : json.get("error");
            if (error != null && error.isObject()) {
                String code = error.path("code").asText(error.path("type").asText(""));
                return status + (code.isEmpty() ? "" : " " + code) + ": " + error.path("message").asText("");
            }
            String shown = text == null ? "" : text.strip();
            return status + (shown.isEmpty() ? "" : ": " + (shown.length() > 200 ? shown.substring(0, 200) + "…" : shown));
        }

        public String errorCode() {
            return json == null ? "" : json.path("error").path("code").asText("");
        }
    }

    /** {@code GET /v1/models}: the models this key may call. */
    public Answer models() throws Unreachable {
        return send(HttpRequest.newBuilder(base.resolve("/v1/models")).timeout(Duration.ofSeconds(30)).GET());
    }

    public static List<String> modelIds(JsonNode models) {
        List<String> ids = new ArrayList<>();
        for (JsonNode m : models.path("data")) {
            ids.add(m.path("id").asText());
        }
        return ids;
    }

    /** One chat call for a task. */
    public Answer chat(String model, EvalTask task, String taskId, int attempt) throws Unreachable {
        ObjectNode body = JSON.createObjectNode().put("model", model);
        ArrayNode messages = body.putArray("messages");
        for (ChatMessage m : task.messages()) {
            messages.addObject().put("role", m.role()).put("content", m.content());
        }
        if (task.maxTokens() > 0) {
            body.put("max_tokens", task.maxTokens());
        }
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve("/v1/chat/completions")).timeout(timeout)
                .header("Content-Type", "application/json")
                .header("X-Task-Id", taskId)
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
        if (attempt > 1) {
            request.header("X-Task-Attempt", String.valueOf(attempt));
        }
        return send(request);
    }

    /** {@code POST /api/v1/tasks/{id}/outcome}: answers the task with its calls, tokens and cost. */
    public Answer outcome(String taskId, boolean success, String note) throws Unreachable {
        ObjectNode body = JSON.createObjectNode().put("success", success).put("score", success ? 1.0 : 0.0);
        if (note != null && !note.isEmpty()) {
            body.put("note", note.length() > 2000 ? note.substring(0, 2000) : note);
        }
        String path = "/api/v1/tasks/" + URLEncoder.encode(taskId, StandardCharsets.UTF_8).replace("+", "%20")
                + "/outcome";
        return send(HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())));
    }

    /**
     * One call to the gateway's JSON API, e.g. {@code api("PUT", "/api/v1/teams/demo/budget", body)}; {@code body}
     * is sent as JSON when not {@code null}. Path segments must already be percent-encoded ({@link #segment}).
     */
    public Answer api(String method, String path, JsonNode body) throws Unreachable {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(path)).timeout(timeout);
        if (body == null) {
            request.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            request.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofString(body.toString()));
        }
        return send(request);
    }

    /** {@code value} percent-encoded for one path segment ({@code " "} as {@code %20}, {@code /} as {@code %2F}). */
    public static String segment(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** The gateway's address, as given. */
    public URI base() {
        return base;
    }

    private Answer send(HttpRequest.Builder request) throws Unreachable {
        request.header("Authorization", "Bearer " + key);
        long start = System.nanoTime();
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (HttpConnectTimeoutException e) {
            throw new Unreachable("connection timed out", e);
        } catch (ConnectException e) {
            throw new Unreachable(e.getMessage() == null ? "connection refused" : "connection refused", e);
        } catch (HttpTimeoutException e) {
            throw new Unreachable("no answer within " + timeout.toSeconds() + " s", e);
        } catch (IOException e) {
            throw new Unreachable(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unreachable("interrupted", e);
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        JsonNode json = null;
        try {
            json = JSON.readTree(response.body());
        } catch (IOException e) {
            // Not JSON: described by its text.
        }
        long retryAfter = response.headers().firstValue("retry-after").map(v -> {
            try {
                return Long.parseLong(v.strip());
            } catch (NumberFormatException e) {
                return 1L;
            }
        }).orElse(0L);
        return new Answer(response.statusCode(), json, response.body(), millis, retryAfter);
    }
}
