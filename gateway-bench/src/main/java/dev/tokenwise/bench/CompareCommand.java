package dev.tokenwise.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * {@code compare}: the same load against the mock directly, through nginx and through the gateway, one
 * after the other, then a table of the three. Direct is the ceiling of this machine and load generator;
 * nginx is what plain forwarding costs; the gateway's distance from nginx is what counting, pricing and
 * budgeting cost.
 */
final class CompareCommand {
    /** What {@code compare} was asked to do. */
    record Settings(ChatBodies body, int connections, Duration warmup, Duration gatewayWarmup,
                    Duration gatewayWarmupMax, Duration duration, double ratePerSecond,
                    Duration timeout, int clientThreads, Duration prime, MockUpstream.Options mock, Path gatewayJar,
                    List<String> targets, Optional<Path> json, boolean keepTemp, Optional<String> otel,
                    String accessLog) {
        /**
         * The gateway's config beyond the bench's own: span export to {@code otel} when set, and its access log
         * ({@code off} unless asked for, so that runs compare with those made before it existed).
         */
        String gatewayExtraConfig() {
            return otel.map(url -> "telemetry: {otlp_endpoint: \"" + url + "\"}\n").orElse("")
                    + (accessLog.equals("off") ? "logging: {access: false}\n" : "logging: {format: " + accessLog + "}\n");
        }
    }

    private static final String PATH = "/v1/chat/completions";

    private final Settings settings;
    private final PrintStream out;
    private final RequestBody body;

    CompareCommand(Settings settings, PrintStream out) {
        this.settings = settings;
        this.out = out;
        this.body = settings.body().body();
    }

    void run() throws IOException, InterruptedException {
        out.printf(Locale.ROOT, "compare: %s, %d connections, body %s (%,d bytes%s), warmup %s + %s per target%n",
                settings.ratePerSecond() > 0 ? String.format(Locale.ROOT, "open loop at %.0f req/s", settings.ratePerSecond()) : "closed loop",
                settings.connections(), settings.body().label(), body.typicalLength(),
                body.varies() ? ", last message varies per request" : "", Args.human(settings.warmup()), Args.human(settings.duration()));
        out.printf(Locale.ROOT, "machine: %d cores, load average %s, %s transport, Java %s; load generator %d thread(s),"
                        + " mock %d thread(s), same box%n",
                Runtime.getRuntime().availableProcessors(), loadAverage(), Transport.name(), Runtime.version(),
                settings.clientThreads(), settings.mock().threads());

        Path temp = Files.createTempDirectory("tokenwise-bench-");
        List<LoadResult> results = new ArrayList<>();
        try (MockUpstream mock = MockUpstream.start(settings.mock())) {
            out.println("mock upstream: " + mock.baseUrl());
            prime(mock.port());
            if (settings.targets().contains("direct")) {
                results.add(measure("direct", mock.port(), List.of(), settings.warmup()));
            }
            if (settings.targets().contains("nginx")) {
                measureNginx(temp, mock.port()).ifPresent(results::add);
            }
            if (settings.targets().contains("gateway")) {
                measureGateway(temp, mock).ifPresent(results::add);
            }
            if (settings.targets().contains("portkey")) {
                measurePortkey(temp, mock.port()).ifPresent(results::add);
            }
        } finally {
            if (settings.keepTemp()) {
                out.println("configuration and logs kept in " + temp);
            } else {
                deleteRecursively(temp);
            }
        }
        out.println();
        printTable(results);
        if (settings.json().isPresent()) {
            writeJson(settings.json().get(), results);
            out.println("results written to " + settings.json().get());
        }
    }

    /**
     * Closed-loop load against the mock, not reported, so that the first target measured does not pay for
     * the JIT warming the load generator and the mock (both run in this JVM).
     */
    private void prime(int mockPort) throws IOException, InterruptedException {
        if (settings.prime().isZero()) {
            return;
        }
        out.printf(Locale.ROOT, "priming load generator and mock for %s (not reported)%n", Args.human(settings.prime()));
        URI url = URI.create("http://127.0.0.1:" + mockPort + PATH);
        new LoadGenerator(new LoadGenerator.Options(url, "POST", List.of(Map.entry("content-type", "application/json")),
                body, settings.connections(), Duration.ZERO, settings.prime(), 0, settings.timeout(),
                settings.clientThreads())).run("prime");
    }

    private Optional<LoadResult> measureNginx(Path temp, int mockPort) throws IOException, InterruptedException {
        Optional<Path> nginx = NginxReference.find();
        if (nginx.isEmpty()) {
            out.println("nginx: not installed, skipped (apt-get install nginx-light for the plain-proxy reference)");
            return Optional.empty();
        }
        int port = freePort();
        Path dir = Files.createDirectories(temp.resolve("nginx"));
        try {
            ManagedProcess process = NginxReference.start(nginx.get(), dir, port, mockPort);
            try {
                return Optional.of(measure("nginx", port, List.of(), settings.warmup()));
            } finally {
                process.close();
            }
        } catch (IOException e) {
            out.println("nginx: failed, skipped: " + e.getMessage());
            return Optional.empty();
        }
    }

    private Optional<LoadResult> measurePortkey(Path temp, int mockPort) throws IOException, InterruptedException {
        Optional<List<String>> portkey = PortkeyReference.find();
        if (portkey.isEmpty()) {
            out.println("portkey: not installed, skipped (" + PortkeyReference.INSTALL + ", with node on PATH)");
            return Optional.empty();
        }
        int port = freePort();
        Path dir = Files.createDirectories(temp.resolve("portkey"));
        try (ManagedProcess process = PortkeyReference.start(portkey.get(), dir, port)) {
            return Optional.of(measure("portkey", port, PortkeyReference.headers(mockPort), settings.warmup()));
        } catch (IOException e) {
            out.println("portkey: failed, skipped: " + e.getMessage());
            return Optional.empty();
        }
    }

    private Optional<LoadResult> measureGateway(Path temp, MockUpstream mock) throws IOException, InterruptedException {
        int mockPort = mock.port();
        Path jar = settings.gatewayJar();
        if (!Files.isRegularFile(jar)) {
            out.println("gateway: " + jar.toAbsolutePath() + " not found, skipped (build it with"
                    + " ./mvnw -q -pl gateway-server -am package -DskipTests, or pass --gateway-jar PATH)");
            return Optional.empty();
        }
        int port = freePort();
        Path dir = Files.createDirectories(temp.resolve("gateway"));
        out.println("gateway: starting " + jar + " on port " + port);
        try {
            boolean cache = settings.body() == ChatBodies.CACHE_HIT;
            ManagedProcess process = GatewayProcess.start(jar, dir, port, mockPort, cache,
                    settings.gatewayExtraConfig());
            try {
                // A fresh JVM compiles its hot path under load: give it longer than the others before measuring, at
                // full speed also before an open loop, whose moderate rate would take minutes to reach as many calls
                // (at 1,000 req/s a 15 s run-in still left the p99 several times its steady value).
                Duration minimum = settings.warmup().compareTo(settings.gatewayWarmup()) > 0 ? settings.warmup()
                        : settings.gatewayWarmup();
                List<Map.Entry<String, String>> auth = List.of(Map.entry("authorization", "Bearer " + GatewayProcess.API_KEY));
                warmUntilSteady("gateway", port, auth, minimum);
                long servedBefore = mock.requestsServed();
                LoadResult result = measure("gateway", port, auth, settings.warmup());
                if (cache) {
                    // What the body is for: every measured answer a hit, and the mock left alone meanwhile.
                    out.printf(Locale.ROOT, "gateway: %,d of %,d answers were response cache hits; the mock served %,d"
                            + " requests while the gateway was measured%n", result.cacheHits(), result.succeeded(),
                            mock.requestsServed() - servedBefore);
                }
                return Optional.of(result);
            } finally {
                process.close();
            }
        } catch (IOException e) {
            out.println("gateway: failed, skipped: " + e.getMessage());
            return Optional.empty();
        }
    }

    private static URI url(int port) {
        return URI.create("http://127.0.0.1:" + port + PATH);
    }

    /** A JSON body's content type, then the target's own headers. */
    private static List<Map.Entry<String, String>> headers(List<Map.Entry<String, String>> extraHeaders) {
        List<Map.Entry<String, String>> headers = new ArrayList<>();
        headers.add(Map.entry("content-type", "application/json"));
        headers.addAll(extraHeaders);
        return headers;
    }

    /** How much a warm-up step's throughput may exceed the step before it and still count as steady. */
    private static final double STEADY_GAIN = 0.03;
    private static final Duration WARMUP_STEP = Duration.ofSeconds(5);

    /**
     * Closed-loop load, unreported: {@code minimum} first, then {@link #WARMUP_STEP} steps until a step's throughput
     * is no more than {@link #STEADY_GAIN} above the one before, or {@code --gateway-warmup-max} is spent. How long a
     * JIT takes to compile the hot path depends on the box: on a slow or busy one a fixed run-in measures the compiler.
     */
    private void warmUntilSteady(String label, int port, List<Map.Entry<String, String>> extraHeaders, Duration minimum)
            throws IOException, InterruptedException {
        URI url = url(port);
        List<Map.Entry<String, String>> headers = headers(extraHeaders);
        smokeTest(label, url, headers);
        Duration spent = Duration.ZERO;
        double previous = 0;
        StringBuilder steps = new StringBuilder();
        while (true) {
            Duration step = spent.isZero() ? minimum : WARMUP_STEP;
            LoadGenerator.Options options = new LoadGenerator.Options(url, "POST", headers, body, settings.connections(),
                    Duration.ZERO, step, 0, settings.timeout(), settings.clientThreads());
            double rate = new LoadGenerator(options).run(label + " warm-up").requestsPerSecond();
            spent = spent.plus(step);
            steps.append(String.format(Locale.ROOT, " %.0f", rate));
            boolean steady = previous > 0 && rate <= previous * (1 + STEADY_GAIN);
            if (steady || spent.compareTo(settings.gatewayWarmupMax()) >= 0) {
                out.printf(Locale.ROOT, "%s: warmed up for %s (req/s per step:%s)%s%n", label, Args.human(spent), steps,
                        steady ? "" : ", still rising at --gateway-warmup-max");
                return;
            }
            previous = rate;
        }
    }

    private LoadResult measure(String label, int port, List<Map.Entry<String, String>> extraHeaders, Duration warmup)
            throws IOException, InterruptedException {
        URI url = url(port);
        List<Map.Entry<String, String>> headers = headers(extraHeaders);
        smokeTest(label, url, headers);
        out.printf(Locale.ROOT, "%s: measuring %s ...%n", label, url);
        LoadGenerator.Options options = new LoadGenerator.Options(url, "POST", headers, body, settings.connections(),
                warmup, settings.duration(), settings.ratePerSecond(), settings.timeout(), settings.clientThreads());
        LoadResult result = new LoadGenerator(options).run(label);
        out.println("  " + result.summary());
        return result;
    }

    /** One request before the load, so a misconfigured target says why instead of producing a table of errors. */
    private void smokeTest(String label, URI url, List<Map.Entry<String, String>> headers) throws InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofString(body.sample(9999, 0)));
        headers.forEach(h -> request.header(h.getKey(), h.getValue()));
        try {
            HttpResponse<String> response = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
                    .send(request.build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() / 100 != 2) {
                String text = response.body();
                out.printf(Locale.ROOT, "%s: WARNING, probe request answered %d: %s%n", label, response.statusCode(),
                        text.length() > 300 ? text.substring(0, 300) + "..." : text);
            }
        } catch (IOException e) {
            out.printf(Locale.ROOT, "%s: WARNING, probe request failed: %s%n", label, e);
        }
    }

    private void printTable(List<LoadResult> results) {
        boolean openLoop = settings.ratePerSecond() > 0;
        LoadResult direct = find(results, "direct");
        LoadResult nginx = find(results, "nginx");
        out.println(openLoop
                ? "ratios compare p99 latency (open loop: every target gets the same rate)"
                : "ratios compare req/s (closed loop: maximum throughput at this concurrency)");
        out.println("| target  |    req/s | p50 ms | p99 ms | p999 ms | 1st byte p50 | 1st byte p99 | errors "
                + "| ratio vs direct | ratio vs nginx |");
        out.println("|---------|---------:|-------:|-------:|--------:|-------------:|-------------:|-------:"
                + "|----------------:|---------------:|");
        for (LoadResult r : results) {
            out.printf(Locale.ROOT, "| %-7s | %8.0f | %6.2f | %6.2f | %7.2f | %12.2f | %12.2f | %6d | %15s | %14s |%n",
                    r.label(), r.requestsPerSecond(), r.percentileMillis(50), r.percentileMillis(99),
                    r.percentileMillis(99.9), r.firstBytePercentileMillis(50), r.firstBytePercentileMillis(99),
                    r.errors(), ratio(r, direct, openLoop), ratio(r, nginx, openLoop));
        }
        LoadResult gateway = find(results, "gateway");
        LoadResult portkey = find(results, "portkey");
        if (!openLoop && gateway != null && portkey != null) {
            if (portkey.requestsPerSecond() > 0) {
                out.printf(Locale.ROOT, "gateway vs portkey: %.1fx the throughput%n",
                        gateway.requestsPerSecond() / portkey.requestsPerSecond());
            } else {
                out.printf(Locale.ROOT, "gateway vs portkey: no ratio, portkey completed no request (%d errors)%n",
                        portkey.errors());
            }
        }
        if (openLoop && direct != null) {
            // At a rate every target sustains, the difference in latency is what the proxy adds to a call.
            for (LoadResult r : results) {
                if (r != direct) {
                    out.printf(Locale.ROOT, "%s adds over direct: p50 %+.3f ms, p99 %+.3f ms, first byte p50 %+.3f ms,"
                                    + " p99 %+.3f ms%n", r.label(),
                            r.percentileMillis(50) - direct.percentileMillis(50),
                            r.percentileMillis(99) - direct.percentileMillis(99),
                            r.firstBytePercentileMillis(50) - direct.firstBytePercentileMillis(50),
                            r.firstBytePercentileMillis(99) - direct.firstBytePercentileMillis(99));
                    if (r.eventDelayMicros().getTotalCount() > 0 && direct.eventDelayMicros().getTotalCount() > 0) {
                        // Each event of a paced stream, from the mock's send time: what the proxy adds per chunk.
                        out.printf(Locale.ROOT, "%s adds to each streamed event: p50 %+.3f ms, p99 %+.3f ms%n",
                                r.label(), r.eventDelayPercentileMillis(50) - direct.eventDelayPercentileMillis(50),
                                r.eventDelayPercentileMillis(99) - direct.eventDelayPercentileMillis(99));
                    }
                }
            }
        }
    }

    private static String ratio(LoadResult result, LoadResult reference, boolean byP99) {
        if (reference == null) {
            return "-";
        }
        double value = byP99
                ? result.percentileMillis(99) / reference.percentileMillis(99)
                : result.requestsPerSecond() / reference.requestsPerSecond();
        return Double.isFinite(value) ? String.format(Locale.ROOT, "%.2fx", value) : "-";
    }

    private static LoadResult find(List<LoadResult> results, String label) {
        return results.stream().filter(r -> r.label().equals(label)).findFirst().orElse(null);
    }

    private void writeJson(Path file, List<LoadResult> results) throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("body", settings.body().label());
        root.put("connections", settings.connections());
        root.put("rate_per_second", settings.ratePerSecond());
        root.put("duration_seconds", settings.duration().toMillis() / 1000.0);
        root.put("warmup_seconds", settings.warmup().toMillis() / 1000.0);
        root.put("cores", Runtime.getRuntime().availableProcessors());
        ArrayNode targets = root.putArray("results");
        for (LoadResult r : results) {
            ObjectNode t = targets.addObject();
            t.put("target", r.label());
            t.put("requests_per_second", r.requestsPerSecond());
            t.put("p50_ms", r.percentileMillis(50));
            t.put("p90_ms", r.percentileMillis(90));
            t.put("p99_ms", r.percentileMillis(99));
            t.put("p999_ms", r.percentileMillis(99.9));
            t.put("first_byte_p50_ms", r.firstBytePercentileMillis(50));
            t.put("first_byte_p99_ms", r.firstBytePercentileMillis(99));
            if (r.eventDelayMicros().getTotalCount() > 0) {
                t.put("event_delay_p50_ms", r.eventDelayPercentileMillis(50));
                t.put("event_delay_p99_ms", r.eventDelayPercentileMillis(99));
                t.put("events", r.eventDelayMicros().getTotalCount());
            }
            t.put("max_ms", r.maxMillis());
            t.put("non_2xx", r.non2xx());
            t.put("connection_errors", r.connectionErrors());
            t.put("timeouts", r.timeouts());
            t.put("cache_hits", r.cacheHits());
        }
        json.writeValue(file.toFile(), root);
    }

    /** The 1/5/15-minute load averages: on a shared box, a busy neighbour explains a bad run. */
    private static String loadAverage() {
        try {
            String[] fields = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return fields[0] + " " + fields[1] + " " + fields[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }

    private static void deleteRecursively(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
