package dev.tokenwise.server;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Throws a few thousand mutated requests at a running gateway over raw sockets: bit flips, truncation,
 * header insertion, deletion and duplication, absurd {@code Content-Length}s, broken chunked coding, odd
 * methods, paths and versions, JSON of the wrong types, deeply nested, with unicode garbage, invalid
 * UTF-8, NUL bytes and huge numbers; some pipelined, some dribbled, some abandoned mid-request or
 * mid-stream. Every exchange must end in well-formed HTTP responses or a clean close (EOF or reset)
 * within {@value #EXCHANGE_TIMEOUT_MILLIS} ms, never a hang; afterwards the gateway still serves, holds no
 * call in flight and no budget reservation, and (through {@link LeakDetectingExtension}) leaked no buffer.
 *
 * <p>Each exchange draws from its own {@link SplittableRandom} seeded from the run's seed and the
 * exchange's index, so a failure names both and reproduces with {@code -Dfuzz.seed=SEED}
 * ({@code -Dfuzz.exchanges=N} changes how many are thrown).
 */
@ExtendWith(LeakDetectingExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FuzzTest {
    static final long SEED = Long.getLong("fuzz.seed", new SplittableRandom().nextLong());
    static final int EXCHANGES = Integer.getInteger("fuzz.exchanges", 3_000);
    static final long EXCHANGE_TIMEOUT_MILLIS = 5_000;
    /** Short, so half-sent requests are closed quickly and the battery stays well under a minute. */
    static final int REQUEST_READ_TIMEOUT_MILLIS = 500;
    static final int MAX_REQUEST_BYTES = 65_536;
    static final int CLIENTS = 32;
    static final String KEY = "tw-test-key";
    static final String CHAT = "/v1/chat/completions";

    static TestGateway gateway;

    @BeforeAll
    static void start() throws Exception {
        int closedPort;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = probe.getLocalPort();
        }
        String yaml = """
                server: {host: 127.0.0.1, port: 0, max_request_bytes: %d, max_header_bytes: 8192, request_read_timeout_ms: %d}
                admin: {key: %s}
                storage: {path: %s}
                pricing: {catalog: ../config/prices.yaml}
                providers:
                  sim: {type: simulator, chunk_delay_ms: 1, first_token_delay_ms: 1, max_output_words: 40}
                  down: {type: openai, base_url: "http://127.0.0.1:%d/v1", api_key: sk-down, connect_timeout_ms: 1000}
                  off: {type: openai, base_url: "http://127.0.0.1:9/v1", api_key: "${UNSET_VAR_FOR_TEST}"}
                models:
                  - {name: sim-small, provider: sim}
                  - {name: sim-large, provider: sim}
                  - {name: sim-embed, provider: sim}
                  - {name: gpt-4o-mini, provider: down}
                  - {name: gpt-4o, provider: off}
                %s
                """.formatted(MAX_REQUEST_BYTES, REQUEST_READ_TIMEOUT_MILLIS, TestGateway.ADMIN_KEY,
                TestGateway.freshLedgerPath(), closedPort, TestGateway.DEFAULT_TEAMS);
        gateway = TestGateway.fromYaml(yaml);
    }

    @AfterAll
    static void stop() {
        gateway.close();
    }

    @Test
    @Order(1)
    @Timeout(120)
    void answersEveryMutatedRequestWithAWellFormedResponseOrACleanClose() throws Exception {
        System.out.printf(Locale.ROOT, "FuzzTest: seed %d, %d exchanges (reproduce with -Dfuzz.seed=%d)%n",
                SEED, EXCHANGES, SEED);
        Map<String, ConcurrentLinkedQueue<String>> failures = new ConcurrentHashMap<>();
        Map<String, LongAdder> outcomes = new ConcurrentHashMap<>();
        long startNanos = System.nanoTime();
        ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
        try {
            List<Future<?>> done = new ArrayList<>(EXCHANGES);
            for (int i = 0; i < EXCHANGES; i++) {
                int index = i;
                done.add(clients.submit(() -> {
                    Exchange exchange = new Exchange(index, new SplittableRandom(SEED ^ (index * 0x9E3779B97F4A7C15L)));
                    try {
                        exchange.run(gateway.app.port());
                    } catch (Exception | AssertionError e) {
                        exchange.fail("unexpected " + e);
                    }
                    exchange.outcomes.forEach(o -> outcomes.computeIfAbsent(o, k -> new LongAdder()).increment());
                    if (exchange.failure != null) {
                        failures.computeIfAbsent(exchange.kind, k -> new ConcurrentLinkedQueue<>()).add(exchange.failure);
                    }
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            clients.shutdownNow();
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
        Map<String, Long> summary = new TreeMap<>();
        outcomes.forEach((k, v) -> summary.put(k, v.sum()));
        int failed = failures.values().stream().mapToInt(ConcurrentLinkedQueue::size).sum();
        System.out.printf(Locale.ROOT, "FuzzTest: seed %d, %d exchanges in %d ms, %d failed; outcomes %s%n",
                SEED, EXCHANGES, millis, failed, summary);

        // One example of each kind of failure, with how often it happened.
        List<String> examples = failures.entrySet().stream()
                .map(e -> e.getValue().size() + " x " + e.getKey() + ", e.g. " + e.getValue().peek())
                .toList();
        assertTrue(failures.isEmpty(), failed + " of " + EXCHANGES + " exchanges failed (seed " + SEED + ") in "
                + failures.size() + " way(s):\n" + String.join("\n\n", examples));
    }

    /**
     * What the battery found first, pinned down: Jackson reports its stream limits (nesting deeper than 1,000,
     * a number longer than 1,000 digits) with a {@code StreamConstraintsException} that has no location.
     */
    @Test
    @Order(2)
    void rejectsJsonBeyondTheParsersNestingAndNumberLimitsWith400() throws Exception {
        String deep = "{\"model\":\"sim-small\",\"messages\":" + "[".repeat(1_001) + "]".repeat(1_001) + "}";
        String longNumber = "{\"model\":\"sim-small\",\"max_tokens\":" + "9".repeat(1_001)
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        for (String body : List.of(deep, longNumber)) {
            HttpResponse<String> r = gateway.post(CHAT, KEY, body);

            assertEquals(400, r.statusCode(), r.body());
            JsonNode error = TestGateway.json(r.body()).get("error");
            assertEquals("invalid_request", error.get("code").asText(), r.body());
            assertTrue(error.get("message").asText().contains("malformed JSON"), r.body());
        }
    }

    @Test
    @Order(3)
    void stillServesAndHoldsNoCallNorReservationAfterTheBattery() throws Exception {
        String chat = "{\"model\":\"sim-small\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}]}";
        HttpResponse<String> plain = gateway.post(CHAT, KEY, chat);
        HttpResponse<String> stream = gateway.post(CHAT, KEY, chat.replace("\"messages\"", "\"stream\":true,\"messages\""));

        assertEquals(200, plain.statusCode(), plain.body());
        assertEquals("chat.completion", TestGateway.json(plain.body()).get("object").asText(), plain.body());
        assertEquals("ok", gateway.record(plain).get("status").asText());
        assertEquals(200, stream.statusCode(), stream.body());
        assertTrue(stream.body().endsWith("data: [DONE]\n\n"), stream.body());
        assertEquals(200, gateway.get("/healthz", null).statusCode());
        // Calls abandoned by the battery settle asynchronously: give them a moment.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while ((gateway.app.accounting().inFlightCount() > 0 || gateway.app.budgets().openReservations() > 0)
                && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(0, gateway.app.accounting().inFlightCount(), "calls left in flight");
        assertEquals(0, gateway.app.budgets().openReservations(), "budget reservations left open");
    }

    // ---------------------------------------------------------------- one exchange

    /** One connection: what is sent, how the client behaves, and the check of what comes back. */
    static final class Exchange {
        private static final Pattern STATUS_LINE = Pattern.compile("HTTP/1\\.[01] ([1-5][0-9][0-9])(?: [^\\r\\n]*)?");
        private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
        private static final Pattern FIELD_VALUE = Pattern.compile("[\\t\\x20-\\x7e\\x80-\\xff]*");
        private static final int MAX_LINE = 64 * 1024;

        final int index;
        final SplittableRandom random;
        final List<String> outcomes = new ArrayList<>();
        final ByteArrayOutputStream sent = new ByteArrayOutputStream();
        final ByteArrayOutputStream received = new ByteArrayOutputStream();
        String failure;
        /** The failure with its numbers blanked, to group failures of one kind. */
        String kind;
        private String mode;
        private InputStream in;
        private Socket socket;
        private long deadlineNanos;

        Exchange(int index, SplittableRandom random) {
            this.index = index;
            this.random = random;
        }

        void run(int port) throws IOException, InterruptedException {
            Socket s = new Socket();
            socket = s;
            try (s) {
                s.connect(new InetSocketAddress("127.0.0.1", port), (int) EXCHANGE_TIMEOUT_MILLIS);
                s.setTcpNoDelay(true);
                in = new BufferedInputStream(socket.getInputStream());
                OutputStream out = socket.getOutputStream();
                int roll = random.nextInt(100);
                if (roll < 55) {
                    mode = "single";
                    Draft draft = Requests.random(random);
                    boolean mutate = random.nextInt(100) < 85;
                    byte[] bytes = mutate ? Mutations.apply(draft, random) : draft.bytes();
                    send(out, bytes);
                    readResponses(1, firstMethod(bytes));
                } else if (roll < 75) {
                    mode = "pipelined";
                    int n = 2 + random.nextInt(3);
                    ByteArrayOutputStream all = new ByteArrayOutputStream();
                    for (int i = 0; i < n; i++) {
                        Draft draft = Requests.random(random);
                        draft.forbidHead();
                        all.writeBytes(random.nextInt(100) < 50 ? Mutations.apply(draft, random) : draft.bytes());
                    }
                    send(out, all.toByteArray());
                    readResponses(n, null);
                } else if (roll < 90) {
                    mode = "abandoned";
                    abandon(out);
                } else {
                    mode = "dribbled";
                    Draft draft = Requests.random(random);
                    draft.forbidHead();
                    byte[] bytes = random.nextBoolean() ? Mutations.apply(draft, random) : draft.bytes();
                    for (int at = 0; at < bytes.length; ) {
                        int n = Math.min(bytes.length - at, 1 + random.nextInt(64));
                        out.write(bytes, at, n);
                        out.flush();
                        sent.write(bytes, at, n);
                        at += n;
                        Thread.sleep(random.nextInt(3));
                    }
                    deadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(EXCHANGE_TIMEOUT_MILLIS);
                    readResponses(1, null);
                }
            } catch (SocketException e) {
                // Writing into a connection the gateway already closed (e.g. after a 413 or 431): a clean close.
                outcomes.add(mode + ": reset while sending");
            }
        }

        /** The method of the first request in {@code bytes}, as the gateway's decoder reads it. */
        private static String firstMethod(byte[] bytes) {
            int from = 0;
            while (from < bytes.length && (bytes[from] & 0xff) <= ' ') {
                from++; // the decoder skips leading control characters and whitespace
            }
            int to = from;
            while (to < bytes.length && (bytes[to] & 0xff) > ' ') {
                to++;
            }
            return new String(bytes, from, to - from, ISO_8859_1);
        }

        private void send(OutputStream out, byte[] bytes) throws IOException {
            sent.writeBytes(bytes);
            out.write(bytes);
            out.flush();
            deadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(EXCHANGE_TIMEOUT_MILLIS);
        }

        /** Sends part (or all) of a request, maybe reads a little of the answer, then leaves (FIN or RST). */
        private void abandon(OutputStream out) throws IOException, InterruptedException {
            Draft draft = random.nextBoolean() ? Requests.stream(random) : Requests.random(random);
            byte[] bytes = random.nextInt(4) == 0 ? Mutations.apply(draft, random) : draft.bytes();
            boolean whole = random.nextBoolean();
            int length = whole ? bytes.length : random.nextInt(bytes.length + 1);
            sent.write(bytes, 0, length);
            out.write(bytes, 0, length);
            out.flush();
            if (whole) {
                // Leave mid-response: after the first few bytes (often mid-stream) or at once.
                int wanted = random.nextInt(4) == 0 ? 0 : 1 + random.nextInt(2048);
                socket.setSoTimeout(2_000);
                try {
                    for (int i = 0; i < wanted; i++) {
                        int b = in.read();
                        if (b < 0) {
                            break;
                        }
                        received.write(b);
                    }
                } catch (SocketTimeoutException | SocketException e) {
                    // Nothing (more) came, or the gateway refused: leave anyway.
                }
            } else if (random.nextBoolean()) {
                Thread.sleep(random.nextInt(20));
            }
            if (random.nextBoolean()) {
                socket.setSoLinger(true, 0); // leave with a reset rather than a FIN
            }
            outcomes.add("abandoned " + (whole ? "after sending" : "mid-request"));
        }

        /**
         * Reads up to {@code expected} final responses, each checked for well-formedness, until the gateway
         * closes; a response may not be cut short by a FIN, and nothing may take longer than the timeout.
         *
         * @param headMethod the method of the (single) request when it is known to be exactly as generated
         */
        private void readResponses(int expected, String headMethod) throws IOException {
            int finals = 0;
            while (finals < expected) {
                String statusLine;
                try {
                    statusLine = readLine();
                } catch (SocketException e) {
                    outcomes.add(mode + ": reset after " + finals + " response(s)");
                    return;
                }
                if (failure != null) {
                    return;
                }
                if (statusLine == null) {
                    outcomes.add(mode + ": closed after " + finals + " response(s)");
                    return;
                }
                try {
                    Boolean more = readRestOfResponse(statusLine, "HEAD".equals(headMethod) && finals == 0);
                    if (more == null) {
                        return; // failed
                    }
                    if (more) {
                        continue; // an interim 1xx response
                    }
                } catch (SocketException e) {
                    outcomes.add(mode + ": reset inside a response");
                    return;
                }
                finals++;
            }
            outcomes.add(mode + ": all " + expected + " answered");
        }

        /** {@code false} after a final response, {@code true} after an interim one, {@code null} on failure. */
        private Boolean readRestOfResponse(String statusLine, boolean toHead) throws IOException {
            Matcher m = STATUS_LINE.matcher(statusLine);
            if (!m.matches()) {
                fail("malformed status line: " + printable(statusLine.getBytes(ISO_8859_1)));
                return null;
            }
            int status = Integer.parseInt(m.group(1));
            Map<String, List<String>> headers = new TreeMap<>();
            while (true) {
                String line = readLine();
                if (failure != null) {
                    return null;
                }
                if (line == null) {
                    fail("closed inside the head of a " + status + " response");
                    return null;
                }
                if (line.isEmpty()) {
                    break;
                }
                int colon = line.indexOf(':');
                if (colon <= 0 || !TOKEN.matcher(line.substring(0, colon)).matches()
                        || !FIELD_VALUE.matcher(line.substring(colon + 1)).matches()) {
                    fail("malformed header line in a " + status + " response: " + printable(line.getBytes(ISO_8859_1)));
                    return null;
                }
                headers.computeIfAbsent(line.substring(0, colon).toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                        .add(line.substring(colon + 1).trim());
            }
            if (status < 200) {
                outcomes.add("status " + status);
                return true;
            }
            List<String> lengths = headers.getOrDefault("content-length", List.of());
            List<String> encodings = headers.getOrDefault("transfer-encoding", List.of());
            if (!lengths.isEmpty() && !encodings.isEmpty()) {
                fail("a " + status + " response with both Content-Length and Transfer-Encoding");
                return null;
            }
            byte[] body;
            if (toHead || status == 204 || status == 304) {
                body = new byte[0];
            } else if (!encodings.isEmpty()) {
                if (encodings.size() != 1 || !encodings.get(0).equalsIgnoreCase("chunked")) {
                    fail("a " + status + " response with Transfer-Encoding " + encodings);
                    return null;
                }
                body = readChunked(status);
            } else if (!lengths.isEmpty()) {
                if (lengths.size() != 1 || !lengths.get(0).matches("[0-9]{1,9}")) {
                    fail("a " + status + " response with Content-Length " + lengths);
                    return null;
                }
                int length = Integer.parseInt(lengths.get(0));
                body = readN(length);
                if (body != null && body.length < length) {
                    fail("a " + status + " response cut at " + body.length + " of its " + length + " bytes");
                    return null;
                }
            } else {
                body = readToEof();
            }
            if (body == null) {
                return null;
            }
            String contentType = headers.getOrDefault("content-type", List.of("")).get(0).toLowerCase(Locale.ROOT);
            String code = "";
            if (status >= 400 && body.length > 0 && contentType.startsWith("application/json")) {
                code = checkErrorBody(status, body);
            }
            if (status == 500 || status == 501 || status >= 505) {
                // 502/503/504 are the upstream's failures (or an open circuit); any other 5xx is the gateway's own.
                fail("the gateway failed internally instead of refusing the request: " + statusLine + " "
                        + printable(body));
                return null;
            }
            if (status == 200 && contentType.startsWith("text/event-stream")
                    && !new String(body, UTF_8).endsWith("data: [DONE]\n\n")) {
                fail("a 200 event stream that does not end with data: [DONE]: ..."
                        + printable(java.util.Arrays.copyOfRange(body, Math.max(0, body.length - 200), body.length)));
                return null;
            }
            outcomes.add("status " + status + (code.isEmpty() ? "" : " " + code));
            return failure == null ? Boolean.FALSE : null;
        }

        /** Checks the {@code {"error":{"message","type","code"}}} shape; returns the code. */
        private String checkErrorBody(int status, byte[] body) {
            try {
                JsonNode error = TestGateway.JSON.readTree(body).path("error");
                if (!error.path("message").isTextual() || !error.path("type").isTextual() || !error.has("code")) {
                    fail("a " + status + " JSON body without error.message/type/code: " + printable(body));
                }
                return error.path("code").asText("");
            } catch (IOException e) {
                fail("a " + status + " JSON body that does not parse (" + e.getMessage().lines().findFirst().orElse("")
                        + "): " + printable(body));
                return "";
            }
        }

        private byte[] readChunked(int status) throws IOException {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            while (true) {
                String sizeLine = readLine();
                if (failure != null) {
                    return null;
                }
                if (sizeLine == null) {
                    fail("a chunked " + status + " response cut after " + body.size() + " bytes (no last chunk)");
                    return null;
                }
                String hex = sizeLine.split(";", 2)[0].trim();
                if (!hex.matches("[0-9a-fA-F]{1,7}")) {
                    fail("a chunked " + status + " response with chunk size line " + printable(sizeLine.getBytes(ISO_8859_1)));
                    return null;
                }
                int size = Integer.parseInt(hex, 16);
                if (size == 0) {
                    for (String line = readLine(); ; line = readLine()) {
                        if (failure != null) {
                            return null;
                        }
                        if (line == null) {
                            fail("a chunked " + status + " response closed inside its trailers");
                            return null;
                        }
                        if (line.isEmpty()) {
                            return body.toByteArray();
                        }
                    }
                }
                byte[] data = readN(size);
                if (data == null) {
                    return null;
                }
                String end = data.length < size ? null : readLine();
                if (failure != null) {
                    return null;
                }
                if (end == null || !end.isEmpty()) {
                    fail("a chunked " + status + " response cut inside a chunk after " + (body.size() + data.length) + " bytes");
                    return null;
                }
                body.writeBytes(data);
            }
        }

        private byte[] readN(int n) throws IOException {
            ByteArrayOutputStream data = new ByteArrayOutputStream(Math.min(n, 1 << 16));
            while (data.size() < n) {
                int b = read();
                if (b == -2) {
                    return null;
                }
                if (b < 0) {
                    break;
                }
                data.write(b);
            }
            return data.toByteArray();
        }

        private byte[] readToEof() throws IOException {
            ByteArrayOutputStream data = new ByteArrayOutputStream();
            for (int b = read(); b != -1; b = read()) {
                if (b == -2) {
                    return null;
                }
                data.write(b);
            }
            return data.toByteArray();
        }

        /** A line without its CRLF (or LF); {@code null} at EOF before any byte. */
        private String readLine() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            while (true) {
                int b = read();
                if (b == -2) {
                    return null;
                }
                if (b == -1) {
                    return line.size() == 0 ? null : line.toString(ISO_8859_1);
                }
                if (b == '\n') {
                    byte[] bytes = line.toByteArray();
                    int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                    return new String(bytes, 0, n, ISO_8859_1);
                }
                if (line.size() > MAX_LINE) {
                    fail("a response line longer than " + MAX_LINE + " bytes");
                    return null;
                }
                line.write(b);
            }
        }

        /** The next byte, -1 at EOF, -2 when nothing came before the deadline (recorded as a failure). */
        private int read() throws IOException {
            long leftMillis = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
            if (leftMillis <= 0) {
                fail("hang: neither a complete answer nor a close within " + EXCHANGE_TIMEOUT_MILLIS + " ms");
                return -2;
            }
            socket.setSoTimeout((int) leftMillis);
            try {
                int b = in.read();
                if (b >= 0) {
                    received.write(b);
                }
                return b;
            } catch (SocketTimeoutException e) {
                fail("hang: neither a complete answer nor a close within " + EXCHANGE_TIMEOUT_MILLIS + " ms");
                return -2;
            }
        }

        void fail(String what) {
            if (failure == null) {
                kind = what.replaceAll("[0-9]+", "N").replaceAll(":.*", "");
                failure = "exchange #" + index + " (" + mode + ", seed " + SEED + "): " + what
                        + "\n  sent (" + sent.size() + " bytes): " + printable(sent.toByteArray())
                        + "\n  received (" + received.size() + " bytes): " + printable(received.toByteArray());
            }
        }

        static String printable(byte[] bytes) {
            StringBuilder s = new StringBuilder();
            int limit = Math.min(bytes.length, 600);
            for (int i = 0; i < limit; i++) {
                int b = bytes[i] & 0xff;
                if (b == '\r') {
                    s.append("\\r");
                } else if (b == '\n') {
                    s.append("\\n");
                } else if (b < 0x20 || b >= 0x7f) {
                    s.append(String.format(Locale.ROOT, "\\x%02x", b));
                } else {
                    s.append((char) b);
                }
            }
            if (bytes.length > limit) {
                s.append("... (").append(bytes.length - limit).append(" more)");
            }
            return s.toString();
        }
    }

    // ---------------------------------------------------------------- requests

    /** A request before it is serialised: mutable, so mutations can work on its parts. */
    static final class Draft {
        String method;
        String target;
        String version = "HTTP/1.1";
        String eol = "\r\n";
        final List<String> headerLines = new ArrayList<>();
        byte[] body;
        /** Framing added at serialisation: none (a mutation wrote its own), Content-Length, or chunked. */
        Framing framing;
        /** For chunked framing: a corruption of the chunk coding, or {@code null}. */
        String chunkCorruption;

        enum Framing { NONE, LENGTH, CHUNKED }

        Draft(String method, String target, byte[] body) {
            this.method = method;
            this.target = target;
            this.body = body;
            this.framing = body == null ? Framing.NONE : Framing.LENGTH;
            headerLines.add("Host: 127.0.0.1");
        }

        Draft header(String name, String value) {
            headerLines.add(name + ": " + value);
            return this;
        }

        /** Pipelined and dribbled requests avoid HEAD: their responses could not be told apart safely. */
        void forbidHead() {
            if (method.equals("HEAD")) {
                method = "GET";
            }
        }

        byte[] bytes() {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes((method + " " + target + (version.isEmpty() ? "" : " " + version) + eol).getBytes(ISO_8859_1));
            for (String line : headerLines) {
                out.writeBytes((line + eol).getBytes(ISO_8859_1));
            }
            byte[] content = body == null ? new byte[0] : body;
            switch (framing) {
                case LENGTH -> out.writeBytes(("Content-Length: " + content.length + eol).getBytes(ISO_8859_1));
                case CHUNKED -> out.writeBytes(("Transfer-Encoding: chunked" + eol).getBytes(ISO_8859_1));
                case NONE -> {
                }
            }
            out.writeBytes(eol.getBytes(ISO_8859_1));
            if (framing == Framing.CHUNKED) {
                out.writeBytes(chunked(content));
            } else {
                out.writeBytes(content);
            }
            return out.toByteArray();
        }

        private byte[] chunked(byte[] content) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            // Chunk sizes derive from the content length only, so the serialisation is deterministic.
            int step = Math.max(1, content.length / 3);
            for (int at = 0; at < content.length; at += step) {
                int n = Math.min(step, content.length - at);
                out.writeBytes((Integer.toHexString(n) + "\r\n").getBytes(ISO_8859_1));
                out.write(content, at, n);
                out.writeBytes("\r\n".getBytes(ISO_8859_1));
            }
            if (chunkCorruption == null) {
                out.writeBytes("0\r\n\r\n".getBytes(ISO_8859_1));
                return out.toByteArray();
            }
            return switch (chunkCorruption) {
                case "bad-hex" -> concat(out.toByteArray(), "zz\r\nabc\r\n0\r\n\r\n");
                case "negative" -> concat(new byte[0], "-5\r\nhello\r\n0\r\n\r\n");
                case "huge" -> concat(out.toByteArray(), "fffffffffffffffffff\r\nabc\r\n0\r\n\r\n");
                case "too-long" -> concat(new byte[0], "3\r\nhello world\r\n0\r\n\r\n");
                case "no-crlf" -> concat(new byte[0], "5\r\nhello0\r\n\r\n");
                case "no-last-chunk" -> out.toByteArray();
                case "extension" -> concat(new byte[0], "5;a=\"b\r\nhello\r\n0\r\n\r\n");
                case "trailers" -> concat(out.toByteArray(), "0\r\nX-Trailer: " + "t".repeat(300) + "\r\nBad Trailer\r\n\r\n");
                default -> concat(out.toByteArray(), "0\r\n\r\n");
            };
        }

        private static byte[] concat(byte[] head, String tail) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(head);
            out.writeBytes(tail.getBytes(ISO_8859_1));
            return out.toByteArray();
        }
    }

    /** Valid requests of every kind the gateway serves, the starting points of mutation. */
    static final class Requests {
        private static final String[] WORDS = {"hello", "tokens", "budget", "gateway", "stream", "ünïcödé", "日本語",
            "emoji \uD83D\uDE00", "quote \\\"", "tab\\t", "newline\\n", "long essay"};

        static Draft random(SplittableRandom r) {
            return switch (r.nextInt(12)) {
                case 0, 1, 2 -> chat(r, false);
                case 3, 4 -> stream(r);
                case 5 -> embeddings(r);
                case 6 -> unreachable(r);
                case 7 -> authorized(new Draft("GET", r.nextBoolean() ? "/healthz" : "/v1/models", null), r);
                case 8 -> new Draft("GET", switch (r.nextInt(3)) {
                    case 0 -> "/api/v1/usage?group_by=team";
                    case 1 -> "/api/v1/requests/req_" + Long.toHexString(r.nextLong());
                    default -> "/api/v1/teams/demo";
                }, null).header("Authorization", "Bearer " + TestGateway.ADMIN_KEY);
                case 9 -> authorized(json("POST", "/v1/responses", "{\"model\":\"sim-small\",\"input\":\"" + words(r) + "\"}"), r);
                case 10 -> authorized(json("POST", "/v1/messages", "{\"model\":\"sim-small\",\"max_tokens\":50,"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"" + words(r) + "\"}]}"), r);
                default -> new Draft(r.nextBoolean() ? "HEAD" : "GET", "/healthz", null);
            };
        }

        static Draft chat(SplittableRandom r, boolean stream) {
            StringBuilder body = new StringBuilder("{\"model\":\"").append(r.nextInt(4) == 0 ? "sim-large" : "sim-small")
                    .append("\",\"messages\":[");
            int n = 1 + r.nextInt(3);
            for (int i = 0; i < n; i++) {
                body.append(i == 0 ? "" : ",").append("{\"role\":\"").append(i % 2 == 0 ? "user" : "assistant")
                        .append("\",\"content\":\"").append(words(r)).append("\"}");
            }
            body.append("]");
            if (r.nextBoolean()) {
                body.append(",\"max_tokens\":").append(1 + r.nextInt(64));
            }
            if (stream) {
                body.append(",\"stream\":true");
                if (r.nextBoolean()) {
                    body.append(",\"stream_options\":{\"include_usage\":true}");
                }
            }
            body.append("}");
            Draft d = authorized(json("POST", CHAT, body.toString()), r);
            if (r.nextInt(4) == 0) {
                d.header("X-Task-Id", "task-" + r.nextInt(1000)).header("X-Task-Attempt", String.valueOf(1 + r.nextInt(3)));
            }
            return d;
        }

        static Draft stream(SplittableRandom r) {
            return chat(r, true);
        }

        static Draft embeddings(SplittableRandom r) {
            String input = r.nextBoolean() ? "\"" + words(r) + "\"" : "[\"" + words(r) + "\",\"" + words(r) + "\"]";
            return authorized(json("POST", "/v1/embeddings", "{\"model\":\"sim-embed\",\"input\":" + input + "}"), r);
        }

        /** A model whose provider's port is closed: 502 (or a disabled provider's 404). */
        static Draft unreachable(SplittableRandom r) {
            String model = r.nextBoolean() ? "gpt-4o-mini" : "gpt-4o";
            return authorized(json("POST", CHAT, "{\"model\":\"" + model + "\",\"stream\":" + r.nextBoolean()
                    + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + words(r) + "\"}]}"), r);
        }

        private static Draft json(String method, String target, String body) {
            return new Draft(method, target, body.getBytes(UTF_8)).header("Content-Type", "application/json");
        }

        private static Draft authorized(Draft d, SplittableRandom r) {
            return r.nextInt(5) == 0 ? d.header("x-api-key", KEY) : d.header("Authorization", "Bearer " + KEY);
        }

        static String words(SplittableRandom r) {
            StringBuilder s = new StringBuilder();
            int n = 1 + r.nextInt(12);
            for (int i = 0; i < n; i++) {
                s.append(i == 0 ? "" : " ").append(WORDS[r.nextInt(WORDS.length)]);
            }
            return s.toString();
        }
    }

    // ---------------------------------------------------------------- mutations

    /** One to three mutations of a request's parts, then (sometimes) of its bytes. */
    static final class Mutations {
        private static final String[] METHODS = {"GET", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "post",
            "PoSt", "FOO", "M-SEARCH", "G\u00c9T", "", "POST POST", "P\tOST", "X".repeat(300)};
        private static final String[] TARGETS = {CHAT + "?x=1&y=%zz", "//v1/chat/completions", "/v1/chat/completions/",
            "/v1/../v1/chat/completions", "/v1/chat%2Fcompletions", "/%00", "/v1/chat/completions#frag", "*",
            "http://127.0.0.1/v1/chat/completions", "v1/chat/completions", "/v1/embeddings", "/v1/models/x",
            "/api/v1/requests/", "/api/v1/requests/%ff%fe", "/api/v1/usage?from=yesterday", "/api/v1/usage?group_by=%00",
            "/api/v1/teams/demo/budget", "/healthz?" + "q".repeat(200), "/\u00e9\u00e8", "/ space", "/" + "a".repeat(9_000),
            "/v1/chat/completions\u0000", ""};
        private static final String[] VERSIONS = {"HTTP/1.0", "HTTP/2.0", "HTTP/1.1x", "HTTP/9.9", "", "http/1.1",
            "HTTP/1.1 extra", "HTTP/1", "HTTP/01.1"};
        private static final String[] HEADERS = {
            "Transfer-Encoding: chunked", "Transfer-Encoding: gzip", "Transfer-Encoding: chunked, chunked",
            "Transfer-Encoding:  chunked", "Transfer-Encoding: identity", "Transfer-Encoding: xchunked",
            "Expect: 100-continue", "Expect: 200-ok", "Connection: close", "Connection: upgrade", "Upgrade: h2c",
            "Upgrade: websocket", "Content-Encoding: gzip", "Content-Type: text/plain", "Content-Type: application/json; charset=latin1",
            "X-Task-Id: ", "X-Task-Id: " + "t".repeat(200), "X-Task-Id: task\u0001one", "X-Task-Id: t\u00e9",
            "X-Task-Attempt: 0", "X-Task-Attempt: -1", "X-Task-Attempt: 99999999999999999999", "X-Task-Attempt: one",
            "Authorization: Bearer", "Authorization: Bearer tw-wrong-key", "Authorization: Basic dXNlcjpwYXNz",
            "Authorization: Bearer " + TestGateway.ADMIN_KEY, "Authorization: Bearer tw-other-key", "x-api-key: ",
            "Authorization: Bearer  " + KEY, "Host:", "Host: a, b", "X-Forwarded-For: 1.2.3.4", "Accept-Encoding: gzip",
            "No colon here", ": empty name", "Bad Name: value", " folded: line", "\tcontinued obs-fold",
            "X-Padding: " + "p".repeat(5_000), "X-Padding: " + "p".repeat(9_000), "X-Nul: a\u0000b", "X-Ctl: \u0007\u001b",
            "X-Latin: \u00ff\u00fe", "Content-Length: 5", "Content-Length: 99999999999999999999", "Content-Length: -1",
            "Content-Length: abc", "Content-Length: 0x10", "Content-Length: 10, 10", "Content-Length: +10",
            "Content-Length:  7 ", "Content-Length: 60000", "Content-Length: 9223372036854775807", "Content-Length:",
        };
        private static final String[] JSON_VALUES = {"null", "true", "false", "0", "-1", "1.5", "1e999999",
            "-1e999999", "123456789012345678901234567890", "9223372036854775808", "-9223372036854775809",
            "1.7976931348623157E309", "4.9E-325", "\"\"", "\"x\"", "[]", "{}", "[null]", "{\"a\":1}", "\"\\u0000\"",
            "\"\\ud800\"", "\"\\udfff\\ud800\"", "\"\uD83D\uDE00\"", "\"\u202e\u200b\"", "NaN", "Infinity", "-0",
            "00012", "\"\\x41\"", "'single'", "[1,2,", "{\"a\":}", "tru"};
        private static final String[] FIELDS = {"model", "messages", "stream", "max_tokens", "stream_options",
            "input", "n", "tools", "temperature", "max_completion_tokens", "user", "response_format"};

        static byte[] apply(Draft d, SplittableRandom r) {
            int n = 1 + r.nextInt(3);
            for (int i = 0; i < n; i++) {
                switch (r.nextInt(8)) {
                    case 0 -> requestLine(d, r);
                    case 1, 2 -> headers(d, r);
                    case 3 -> contentLength(d, r);
                    case 4 -> chunking(d, r);
                    default -> body(d, r);
                }
            }
            byte[] bytes = d.bytes();
            if (r.nextInt(100) < 30) {
                bytes = bytesLevel(bytes, r);
            }
            return bytes;
        }

        private static void requestLine(Draft d, SplittableRandom r) {
            switch (r.nextInt(5)) {
                case 0 -> d.method = METHODS[r.nextInt(METHODS.length)];
                case 1, 2 -> d.target = TARGETS[r.nextInt(TARGETS.length)];
                case 3 -> d.version = VERSIONS[r.nextInt(VERSIONS.length)];
                default -> d.eol = r.nextBoolean() ? "\n" : "\r";
            }
        }

        private static void headers(Draft d, SplittableRandom r) {
            List<String> lines = d.headerLines;
            switch (r.nextInt(4)) {
                case 0 -> {
                    if (!lines.isEmpty()) {
                        lines.remove(r.nextInt(lines.size()));
                    }
                }
                case 1 -> {
                    if (!lines.isEmpty()) {
                        String line = lines.get(r.nextInt(lines.size()));
                        lines.add(r.nextInt(lines.size() + 1), r.nextBoolean() ? line : line + "x");
                    }
                }
                case 2 -> {
                    int many = r.nextInt(10) == 0 ? 150 + r.nextInt(200) : 1;
                    for (int i = 0; i < many; i++) {
                        lines.add(r.nextInt(lines.size() + 1), HEADERS[r.nextInt(HEADERS.length)]);
                    }
                }
                default -> {
                    StringBuilder name = new StringBuilder();
                    StringBuilder value = new StringBuilder();
                    for (int i = 1 + r.nextInt(20); i > 0; i--) {
                        name.append((char) (0x21 + r.nextInt(0x5e)));
                    }
                    for (int i = r.nextInt(60); i > 0; i--) {
                        value.append((char) r.nextInt(0x100));
                    }
                    lines.add(r.nextInt(lines.size() + 1), name + ": " + value);
                }
            }
        }

        private static void contentLength(Draft d, SplittableRandom r) {
            int actual = d.body == null ? 0 : d.body.length;
            String value = switch (r.nextInt(10)) {
                case 0 -> "99999999999999999999";
                case 1 -> "-" + (1 + r.nextInt(100));
                case 2 -> "abc";
                case 3 -> String.valueOf(MAX_REQUEST_BYTES + 1 + r.nextInt(1_000_000));
                case 4 -> String.valueOf(Math.max(0, actual - 1 - r.nextInt(Math.max(1, actual))));
                case 5 -> String.valueOf(actual + 1 + r.nextInt(100));
                case 6 -> actual + ", " + (actual + 1);
                case 7 -> " " + actual + " ";
                case 8 -> Integer.toHexString(actual);
                default -> String.valueOf(Long.MAX_VALUE);
            };
            d.framing = Draft.Framing.NONE;
            d.headerLines.add("Content-Length: " + value);
            if (r.nextInt(4) == 0) {
                d.headerLines.add("Content-Length: " + actual); // a second, conflicting one
            }
        }

        private static void chunking(Draft d, SplittableRandom r) {
            if (d.body == null) {
                d.body = "{\"model\":\"sim-small\"}".getBytes(UTF_8);
            }
            d.framing = Draft.Framing.CHUNKED;
            String[] corruptions = {null, null, "bad-hex", "negative", "huge", "too-long", "no-crlf", "no-last-chunk",
                "extension", "trailers"};
            d.chunkCorruption = corruptions[r.nextInt(corruptions.length)];
            if (r.nextInt(3) == 0) {
                d.headerLines.add("Content-Length: " + d.body.length); // both framings at once
            }
        }

        private static void body(Draft d, SplittableRandom r) {
            String text = d.body == null ? "{\"model\":\"sim-small\",\"messages\":[]}" : new String(d.body, UTF_8);
            byte[] result = switch (r.nextInt(10)) {
                case 0 -> replaceValue(text, r).getBytes(UTF_8);
                case 1 -> deleteField(text, r).getBytes(UTF_8);
                case 2 -> addField(text, r).getBytes(UTF_8);
                case 3 -> nest(text, r).getBytes(UTF_8);
                case 4 -> insertBytes(text.getBytes(UTF_8), invalidUtf8(r), r);
                case 5 -> insertBytes(text.getBytes(UTF_8), new byte[] {0}, r);
                case 6 -> text.substring(0, r.nextInt(text.length() + 1)).getBytes(UTF_8);
                case 7 -> insertBytes(text.getBytes(UTF_8), unicodeGarbage(r).getBytes(UTF_8), r);
                case 8 -> longString(text, r).getBytes(UTF_8);
                default -> JSON_VALUES[r.nextInt(JSON_VALUES.length)].getBytes(UTF_8);
            };
            d.body = result;
        }

        /** Replaces the value after a random known field with a value of a random (usually wrong) type. */
        private static String replaceValue(String text, SplittableRandom r) {
            String field = "\"" + FIELDS[r.nextInt(FIELDS.length)] + "\":";
            int at = text.indexOf(field);
            if (at < 0) {
                return addField(text, r);
            }
            int from = at + field.length();
            int to = valueEnd(text, from);
            return text.substring(0, from) + JSON_VALUES[r.nextInt(JSON_VALUES.length)] + text.substring(to);
        }

        private static String deleteField(String text, SplittableRandom r) {
            String field = "\"" + FIELDS[r.nextInt(FIELDS.length)] + "\":";
            int at = text.indexOf(field);
            if (at < 0) {
                return text;
            }
            int to = valueEnd(text, at + field.length());
            if (to < text.length() && text.charAt(to) == ',') {
                to++;
            }
            return text.substring(0, at) + text.substring(to);
        }

        private static String addField(String text, SplittableRandom r) {
            int brace = text.indexOf('{');
            if (brace < 0) {
                return text;
            }
            String field = r.nextBoolean() ? FIELDS[r.nextInt(FIELDS.length)] : "f" + r.nextInt(100);
            return text.substring(0, brace + 1) + "\"" + field + "\":" + JSON_VALUES[r.nextInt(JSON_VALUES.length)] + ","
                    + text.substring(brace + 1);
        }

        /** Wraps a field's value (or the whole body) in up to ~20,000 levels of arrays or objects. */
        private static String nest(String text, SplittableRandom r) {
            int depth = r.nextBoolean() ? 1 + r.nextInt(2_000) : 2_000 + r.nextInt(18_000);
            boolean arrays = r.nextBoolean();
            String open = arrays ? "[" : "{\"a\":";
            String close = arrays ? "]" : "}";
            String inner = r.nextBoolean() ? "1" : "\"x\"";
            String nested = open.repeat(depth) + inner + close.repeat(depth);
            if (nested.length() > MAX_REQUEST_BYTES - 200) {
                nested = open.repeat(depth / 2) + inner + close.repeat(depth / 2);
            }
            int at = text.indexOf("\"messages\":");
            if (at < 0 || r.nextInt(3) == 0) {
                return nested;
            }
            int from = at + "\"messages\":".length();
            return text.substring(0, from) + nested + text.substring(valueEnd(text, from));
        }

        private static String longString(String text, SplittableRandom r) {
            int length = r.nextBoolean() ? 1_000 + r.nextInt(50_000) : MAX_REQUEST_BYTES + r.nextInt(10_000);
            int at = text.indexOf("\"content\":\"");
            String filler = "w".repeat(length);
            if (at < 0) {
                return "{\"model\":\"sim-small\",\"messages\":[{\"role\":\"user\",\"content\":\"" + filler + "\"}]}";
            }
            int from = at + "\"content\":\"".length();
            return text.substring(0, from) + filler + text.substring(from);
        }

        /** Where the JSON value starting at {@code from} ends, by bracket counting (good enough for our bodies). */
        private static int valueEnd(String text, int from) {
            int depth = 0;
            boolean inString = false;
            for (int i = from; i < text.length(); i++) {
                char c = text.charAt(i);
                if (inString) {
                    if (c == '\\') {
                        i++;
                    } else if (c == '"') {
                        inString = false;
                        if (depth == 0) {
                            return i + 1;
                        }
                    }
                } else if (c == '"') {
                    inString = true;
                } else if (c == '[' || c == '{') {
                    depth++;
                } else if (c == ']' || c == '}') {
                    if (depth == 0) {
                        return i;
                    }
                    depth--;
                    if (depth == 0) {
                        return i + 1;
                    }
                } else if (c == ',' && depth == 0) {
                    return i;
                }
            }
            return text.length();
        }

        private static byte[] invalidUtf8(SplittableRandom r) {
            byte[][] samples = {{(byte) 0xc0, (byte) 0x80}, {(byte) 0xff}, {(byte) 0xfe, (byte) 0xff},
                {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, {(byte) 0xe2, (byte) 0x82}, {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80},
                {(byte) 0x80}, {(byte) 0xf0, (byte) 0x9f, (byte) 0x98}};
            return samples[r.nextInt(samples.length)];
        }

        private static String unicodeGarbage(SplittableRandom r) {
            StringBuilder s = new StringBuilder();
            for (int i = 1 + r.nextInt(30); i > 0; i--) {
                int cp = switch (r.nextInt(5)) {
                    case 0 -> r.nextInt(0x20);
                    case 1 -> 0xd800 + r.nextInt(0x800); // lone surrogates
                    case 2 -> 0x1f600 + r.nextInt(80);
                    case 3 -> 0x202a + r.nextInt(5); // bidi controls
                    default -> r.nextInt(0x110000);
                };
                s.appendCodePoint(cp);
            }
            return s.toString();
        }

        private static byte[] insertBytes(byte[] into, byte[] what, SplittableRandom r) {
            int at = r.nextInt(into.length + 1);
            byte[] out = new byte[into.length + what.length];
            System.arraycopy(into, 0, out, 0, at);
            System.arraycopy(what, 0, out, at, what.length);
            System.arraycopy(into, at, out, at + what.length, into.length - at);
            return out;
        }

        /** Bit flips, byte changes, insertions, deletions or a truncation of the serialised request. */
        private static byte[] bytesLevel(byte[] bytes, SplittableRandom r) {
            byte[] b = bytes.clone();
            switch (r.nextInt(5)) {
                case 0 -> {
                    for (int i = 1 + r.nextInt(8); i > 0 && b.length > 0; i--) {
                        int at = r.nextInt(b.length);
                        b[at] ^= (byte) (1 << r.nextInt(8));
                    }
                    return b;
                }
                case 1 -> {
                    for (int i = 1 + r.nextInt(4); i > 0 && b.length > 0; i--) {
                        b[r.nextInt(b.length)] = (byte) r.nextInt(256);
                    }
                    return b;
                }
                case 2 -> {
                    byte[] junk = new byte[1 + r.nextInt(16)];
                    for (int i = 0; i < junk.length; i++) {
                        junk[i] = (byte) r.nextInt(256);
                    }
                    return insertBytes(b, junk, r);
                }
                case 3 -> {
                    if (b.length < 2) {
                        return b;
                    }
                    int from = r.nextInt(b.length - 1);
                    int to = Math.min(b.length, from + 1 + r.nextInt(16));
                    byte[] out = new byte[b.length - (to - from)];
                    System.arraycopy(b, 0, out, 0, from);
                    System.arraycopy(b, to, out, from, b.length - to);
                    return out;
                }
                default -> {
                    return java.util.Arrays.copyOf(b, r.nextInt(b.length + 1));
                }
            }
        }
    }
}
