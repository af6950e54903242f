package dev.tokenwise.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * The chat request bodies of a run: {@code short} (system + user), {@code realistic} (a ten-message
 * conversation of about 15 KB whose last user message carries a per-request marker), {@code stream}
 * ({@code short} with {@code "stream": true} and {@code stream_options.include_usage}) and {@code cache-hit}
 * ({@code short} with {@code temperature: 0}, the same every time: through a gateway whose response cache is on, every
 * call after the first is a hit; through anything else, an ordinary call). Public so that the JMH benchmarks
 * ({@code dev.tokenwise.bench.jmh}) parse the very bodies the load harness sends.
 */
public enum ChatBodies {
    SHORT, REALISTIC, STREAM, CACHE_HIT;

    static final String MODEL = "gpt-4o-mini";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MARKER = "@@REQUEST_MARKER@@";

    /** Paragraphs the realistic conversation is woven from; distinct so that tokenizers see varied text. */
    private static final String[] PARAGRAPHS = {
        "Our checkout service calls three downstream APIs for every order: inventory, pricing and fraud scoring."
            + " Since last Tuesday the p99 latency of the whole request went from 180 ms to roughly 900 ms, but the"
            + " median barely moved. Traffic is flat, deployments were limited to a logging change, and the"
            + " database dashboards look calm.",
        "A long tail with a stable median usually means a small fraction of requests waits for something:"
            + " a lock, a connection from a pool, a garbage collection pause, or a retry after a timeout. The"
            + " logging change is a good suspect if it made logging synchronous or added a lock around an appender.",
        "Here is the relevant part of the configuration. The HTTP client pool allows 50 connections per route,"
            + " the connect timeout is 2 seconds and the read timeout 5 seconds. Retries are enabled with an"
            + " exponential backoff starting at 100 ms, up to three attempts, for idempotent requests only.",
        "With 50 connections per route and three downstream services, a burst that needs more than 50"
            + " concurrent calls to one of them queues in the pool. If the fraud scoring service slowed down"
            + " slightly, each call holds its connection longer, the pool saturates sooner, and the queueing"
            + " shows up only in the tail.",
        "```java\nHttpClient client = HttpClient.newBuilder()\n    .connectTimeout(Duration.ofSeconds(2))\n"
            + "    .executor(Executors.newFixedThreadPool(50))\n    .build();\nHttpRequest request = HttpRequest"
            + ".newBuilder(URI.create(fraudUrl))\n    .timeout(Duration.ofSeconds(5))\n    .POST(BodyPublishers"
            + ".ofString(payload))\n    .build();\n```",
        "To confirm, record the time each request spends waiting for a pooled connection separately from the"
            + " time it spends on the wire. Most client libraries expose a pool metric for pending acquisitions;"
            + " if it is above zero during the slow periods, the pool is the bottleneck rather than the network.",
        "The fraud scoring team says their own p99 did not change, but they measure inside their service, after"
            + " the request has been read. Time spent in their load balancer or in their accept queue would not"
            + " appear in their numbers, so both views can be true at once.",
        "A fair comparison measures latency from the moment the caller intended to send the request. A load"
            + " test that waits for each response before sending the next one hides exactly these stalls, because"
            + " it stops sending while the system is slow and therefore records far fewer slow samples.",
        "The logging change replaced an asynchronous appender with a synchronous one that writes JSON lines to a"
            + " network socket. Under load the socket buffer fills, the write blocks, and every thread that logs"
            + " waits, including the threads that hold pooled connections.",
        "That would explain it: blocked logging threads keep their connections checked out, the pool runs dry,"
            + " and new requests queue behind them. The median stays low because most requests never log at"
            + " warning level; only the ones that hit a slow path do, and those are precisely the tail.",
    };

    /** The body for this kind. */
    public RequestBody body() {
        return switch (this) {
            case SHORT -> RequestBody.fixed(bytes(shortRequest(false)));
            case STREAM -> RequestBody.fixed(bytes(shortRequest(true)));
            case CACHE_HIT -> RequestBody.fixed(bytes(shortRequest(false).put("temperature", 0)));
            case REALISTIC -> realistic();
        };
    }

    /** The name on the command line and in reports, e.g. {@code cache-hit}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    static ChatBodies parse(String name) {
        for (ChatBodies b : values()) {
            if (b.label().equals(name)) {
                return b;
            }
        }
        throw new IllegalArgumentException("body: " + name + " (expected: short, realistic, stream or cache-hit)");
    }

    private static ObjectNode shortRequest(boolean stream) {
        ObjectNode root = JSON.createObjectNode();
        root.put("model", MODEL);
        ArrayNode messages = root.putArray("messages");
        message(messages, "system", "You are a concise assistant for a platform engineering team.");
        message(messages, "user", "Explain in two sentences why an HTTP client should reuse connections.");
        root.put("temperature", 0.2);
        root.put("max_tokens", 256);
        if (stream) {
            root.put("stream", true);
            root.putObject("stream_options").put("include_usage", true);
        }
        return root;
    }

    /** System prompt plus nine alternating turns; the last (user) one ends with the per-request marker. */
    private static RequestBody realistic() {
        ObjectNode root = JSON.createObjectNode();
        root.put("model", MODEL);
        ArrayNode messages = root.putArray("messages");
        message(messages, "system", "You are a senior site reliability engineer helping a team investigate a"
                + " latency regression. Answer precisely, cite the evidence you rely on, say what you would"
                + " measure next, and never invent numbers that were not given to you. " + PARAGRAPHS[7]);
        for (int turn = 0; turn < 9; turn++) {
            String role = turn % 2 == 0 ? "user" : "assistant";
            StringBuilder text = new StringBuilder();
            // Five paragraphs per turn from a window that moves by three, so the conversation is ~15 KB and no
            // two turns are equal.
            for (int p = 0; p < 5; p++) {
                text.append(PARAGRAPHS[(turn * 3 + p) % PARAGRAPHS.length]).append("\n\n");
            }
            if (turn == 8) {
                text.append("Request ").append(MARKER).append(": given all of the above, what should we change first?");
            }
            message(messages, role, text.toString().strip());
        }
        root.put("temperature", 0.2);
        root.put("max_tokens", 512);
        byte[] whole = bytes(root);
        byte[] marker = MARKER.getBytes(StandardCharsets.US_ASCII);
        int at = indexOf(whole, marker);
        return RequestBody.varying(Arrays.copyOfRange(whole, 0, at), Arrays.copyOfRange(whole, at + marker.length, whole.length));
    }

    private static void message(ArrayNode messages, String role, String content) {
        ObjectNode message = messages.addObject();
        message.put("role", role);
        message.put("content", content);
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new IllegalStateException("marker not found");
    }

    private static byte[] bytes(ObjectNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode request body", e);
        }
    }
}
