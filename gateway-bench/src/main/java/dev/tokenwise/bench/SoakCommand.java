package dev.tokenwise.bench;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code soak}: the gateway jar as a child JVM ({@code -Xmx256m}, Netty's PARANOID leak detection) under mixed
 * traffic for minutes (JSON, SSE with and without usage, 15 KB bodies, a provider whose port is closed, clients
 * that leave mid-stream), then three verdicts:
 *
 * <ul>
 *   <li><b>leaks</b>: no {@code LEAK:} line in the gateway's log (after full GCs and fresh allocations, which is
 *       when the detector reports);</li>
 *   <li><b>heap</b>: used heap right after a full GC ({@code jcmd PID GC.run}, then {@code GC.heap_info}), once the
 *       warm-up is over and again at the end, with the classes that grew most between the two;</li>
 *   <li><b>books</b>: the ledger's row count and total cost (read back through {@code GET /api/v1/usage}) equal
 *       what the clients saw, exactly. Every answer carries {@code X-Request-Id}, so the clients know how many
 *       records there must be. Where the answer shows the provider's usage (JSON bodies, streams that asked for
 *       {@code include_usage}), the client prices it itself from the configured price; a fault answered before
 *       the provider was reached costs 0; only where the client cannot see the usage (streams without
 *       {@code include_usage}, whose usage event the gateway strips, and streams the client left) does it fetch
 *       the call's record with the admin key. Nanos are integers, so the sums are compared for equality.</li>
 * </ul>
 *
 * <pre>
 * java -jar tokenwise-bench.jar soak --duration 5m --connections 16
 * </pre>
 */
final class SoakCommand {
    /** What {@code soak} was asked to do. */
    record Settings(Duration duration, int connections, Path gatewayJar, Duration chunkDelay, long seed,
                    Map<Kind, Integer> mix, List<String> jvmArgs, boolean keepTemp) {
        Settings {
            if (duration.toSeconds() < 10) {
                throw new IllegalArgumentException("--duration: " + Args.human(duration) + " (expected: >= 10s)");
            }
            if (connections <= 0) {
                throw new IllegalArgumentException("--connections: " + connections + " (expected: > 0)");
            }
        }
    }

    /** What each client request is, with its default share of the traffic. */
    enum Kind {
        JSON(42), REALISTIC(10), STREAM_USAGE(20), STREAM_NO_USAGE(10), DEAD_PROVIDER(10), CANCELLED_STREAM(8);

        final int defaultWeight;

        Kind(int defaultWeight) {
            this.defaultWeight = defaultWeight;
        }

        /** {@code json:42,dead_provider:10,...}: the weights given replace the defaults, the others stay. */
        static Map<Kind, Integer> mix(String spec) {
            Map<Kind, Integer> mix = new java.util.EnumMap<>(Kind.class);
            for (Kind kind : values()) {
                mix.put(kind, kind.defaultWeight);
            }
            if (spec != null && !spec.isBlank()) {
                for (String part : spec.split(",")) {
                    String[] kv = part.trim().split(":");
                    try {
                        mix.put(Kind.valueOf(kv[0].trim().toUpperCase(Locale.ROOT)), Integer.parseInt(kv[1].trim()));
                    } catch (RuntimeException e) {
                        throw new IllegalArgumentException("--mix: " + part + " (expected: kind:weight with kind one of "
                                + java.util.Arrays.toString(values()).toLowerCase(Locale.ROOT) + ")", e);
                    }
                }
            }
            if (mix.values().stream().mapToInt(Integer::intValue).sum() <= 0) {
                throw new IllegalArgumentException("--mix: " + spec + " (expected: some positive weight)");
            }
            return mix;
        }

        static Kind pick(Map<Kind, Integer> mix, SplittableRandom random) {
            int roll = random.nextInt(mix.values().stream().mapToInt(Integer::intValue).sum());
            for (Map.Entry<Kind, Integer> e : mix.entrySet()) {
                roll -= e.getValue();
                if (roll < 0) {
                    return e.getKey();
                }
            }
            throw new IllegalStateException("unreachable");
        }
    }

    static final String API_KEY = "tw-soak-key";
    static final String ADMIN_KEY = "tw-soak-admin";
    private static final String PATH = "/v1/chat/completions";
    private static final String DEAD_MODEL = "dead-model";
    /** The configured price of the model, in nano-USD per million tokens (0.15 and 0.60 USD). */
    private static final long INPUT_NANOS_PER_MTOK = 150_000_000L;
    private static final long OUTPUT_NANOS_PER_MTOK = 600_000_000L;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern HEAP_USED = Pattern.compile("total (\\d+)K, used (\\d+)K");

    private final Settings settings;
    private final PrintStream out;

    private final AtomicBoolean stop = new AtomicBoolean();
    private final LongAdder finished = new LongAdder();
    private final Map<String, LongAdder> outcomes = new ConcurrentHashMap<>();
    private final Set<String> requestIds = ConcurrentHashMap.newKeySet();
    /** Calls whose cost the client computed from the usage it saw (faults: 0). */
    private final LongAdder clientPricedCalls = new LongAdder();
    private final LongAdder clientPricedNanos = new LongAdder();
    /** Calls whose usage the client could not see: their records are fetched at the end. */
    private final ConcurrentLinkedQueue<String> unseenCost = new ConcurrentLinkedQueue<>();
    /** Problems by kind (numbers blanked), each with its first occurrence. */
    private final Map<String, LongAdder> problems = new ConcurrentHashMap<>();
    private final Map<String, String> problemExamples = new ConcurrentHashMap<>();
    private final LongAdder problemCount = new LongAdder();
    private final List<Long> perSecond = new CopyOnWriteArrayList<>();

    SoakCommand(Settings settings, PrintStream out) {
        this.settings = settings;
        this.out = out;
    }

    /** Parses the options; returns whether every verdict passed. */
    static boolean run(Args args, PrintStream out) throws IOException, InterruptedException {
        Settings settings = new Settings(
                args.duration("duration", Duration.ofMinutes(5)),
                args.integer("connections", 16),
                Path.of(args.string("gateway-jar", GatewayProcess.DEFAULT_JAR)),
                args.duration("chunk-delay", Duration.ofMillis(2)),
                Long.parseLong(args.string("seed", String.valueOf(System.nanoTime()))),
                Kind.mix(args.string("mix", null)),
                args.all("jvm-arg"),
                args.flag("keep-temp"));
        args.checkAllUsed();
        return new SoakCommand(settings, out).run();
    }

    boolean run() throws IOException, InterruptedException {
        Path jar = settings.gatewayJar();
        if (!Files.isRegularFile(jar)) {
            throw new IOException(jar.toAbsolutePath() + " not found (build it with"
                    + " ./mvnw -q -pl gateway-server -am package -DskipTests, or pass --gateway-jar PATH)");
        }
        Path temp = Files.createTempDirectory("tokenwise-soak-");
        MockUpstream.Options mockOptions = new MockUpstream.Options("127.0.0.1", 0, 1, 20, Duration.ZERO,
                settings.chunkDelay());
        boolean passed;
        try (MockUpstream mock = MockUpstream.start(mockOptions)) {
            int port = CompareCommand.freePort();
            int deadPort = CompareCommand.freePort(); // nothing listens there: connection refused
            Path config = temp.resolve("gateway.yaml");
            Files.writeString(config, config(temp, port, mock.port(), deadPort), UTF_8);
            Path log = temp.resolve("gateway.log");
            Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
            List<String> command = new ArrayList<>(List.of(javaBin.toString(), "-Xmx256m", "-Dio.netty.leakDetection.level=paranoid"));
            command.addAll(settings.jvmArgs());
            command.addAll(List.of("-jar", jar.toString(), "--config", config.toString()));
            ManagedProcess gateway = ManagedProcess.start("gateway", command, log);
            try {
                gateway.awaitHttpOk(URI.create("http://127.0.0.1:" + port + "/healthz"), Duration.ofSeconds(60));
                long pid = gatewayPid(config);
                out.printf(Locale.ROOT, "soak: gateway %s (pid %d, -Xmx256m, leak detection paranoid) on port %d, mock %s"
                                + " (20 events per stream, %s apart), dead provider on port %d; %d connections for %s; seed %d;"
                                + " mix %s; files in %s%n",
                        jar, pid, port, mock.baseUrl(), Args.human(settings.chunkDelay()), deadPort, settings.connections(),
                        Args.human(settings.duration()), settings.seed(), settings.mix(), temp);
                passed = soak(port, pid, log);
                gateway.close(); // SIGTERM, then SIGKILL after 10 s
                out.println("gateway stopped; last lines of its log:\n" + indent(gateway.logTail(3)));
            } finally {
                gateway.close();
            }
        } finally {
            if (settings.keepTemp()) {
                out.println("configuration, log and ledger kept in " + temp);
            } else {
                deleteRecursively(temp);
            }
        }
        return passed;
    }

    private boolean soak(int port, long pid, Path log) throws IOException, InterruptedException {
        long durationMillis = settings.duration().toMillis();
        long warmupMillis = Math.min(15_000, durationMillis / 4);
        ExecutorService clients = Executors.newFixedThreadPool(settings.connections());
        List<Future<?>> running = new ArrayList<>();
        long startNanos = System.nanoTime();
        for (int i = 0; i < settings.connections(); i++) {
            int index = i;
            running.add(clients.submit(() -> clientLoop(port, index)));
        }
        Thread sampler = new Thread(this::samplePerSecond, "soak-sampler");
        sampler.setDaemon(true);
        sampler.start();

        Thread.sleep(warmupMillis);
        HeapSample startHeap = heapAfterGc(pid);
        out.printf(Locale.ROOT, "soak: after %s warm-up, %,d calls: heap after full GC %s%n",
                Args.human(Duration.ofMillis(warmupMillis)), finished.sum(), startHeap);
        List<String> heapSeries = new ArrayList<>();
        heapSeries.add(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startNanos) + " s: " + startHeap.usedKb() / 1024 + " MiB");
        long left = durationMillis - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
        while (left > 0) {
            Thread.sleep(Math.min(left, 15_000));
            left = durationMillis - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
            if (left > 2_000) {
                HeapSample sample = heapAfterGc(pid);
                long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startNanos);
                heapSeries.add(seconds + " s: " + sample.usedKb() / 1024 + " MiB");
                out.printf(Locale.ROOT, "soak: %3d s, %,d calls, last second %d req/s, heap after full GC %s%n",
                        seconds, finished.sum(), perSecond.isEmpty() ? 0 : perSecond.get(perSecond.size() - 1), sample);
            }
        }
        stop.set(true);
        for (Future<?> f : running) {
            try {
                f.get(60, TimeUnit.SECONDS);
            } catch (Exception e) {
                problem("client loop failed: " + e);
            }
        }
        clients.shutdownNow();
        sampler.interrupt();
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);

        // Books: the ledger against what the clients saw.
        Books books = checkBooks(port);

        // Leaks are reported when a leaked buffer has been collected and the detector next runs: after a GC, on
        // allocation. Collect, allocate with a few calls, twice.
        for (int round = 0; round < 2; round++) {
            jcmd(pid, "GC.run");
            try (Client client = new Client(port)) {
                for (int i = 0; i < 50; i++) {
                    client.call(request(ChatBodies.SHORT.body().sample(0, i)), false);
                }
            }
            Thread.sleep(1_000);
        }
        HeapSample endHeap = heapAfterGc(pid);
        heapSeries.add("end: " + endHeap.usedKb() / 1024 + " MiB");
        String healthz;
        try (Client client = new Client(port)) {
            healthz = client.get("/healthz", ADMIN_KEY).text(); // the details (calls in flight) need the admin key
        }
        List<String> logLines = Files.readAllLines(log, UTF_8);
        List<String> leakLines = logLines.stream().filter(l -> l.contains("LEAK:")).toList();
        // The mock never fails: any failure the gateway logs about it (even one a retry hid) is worth a look.
        long healthyProviderFailures = logLines.stream()
                .filter(l -> l.contains("Upstream mock ") || l.contains("Provider mock ")).count();

        // ---------------------------------------------------------------- summary
        out.println();
        out.printf(Locale.ROOT, "soak summary: %s of traffic (+%s warm-up inside it), %,d calls, %.0f req/s on average%n",
                Args.human(Duration.ofMillis(elapsedMillis)), Args.human(Duration.ofMillis(warmupMillis)), finished.sum(),
                finished.sum() * 1000.0 / elapsedMillis);
        List<Long> rates = new ArrayList<>(perSecond);
        if (!rates.isEmpty()) {
            List<Long> sorted = new ArrayList<>(rates);
            Collections.sort(sorted);
            out.printf(Locale.ROOT, "  req/s per second: min %d, median %d, max %d over %d samples%n", sorted.get(0),
                    sorted.get(sorted.size() / 2), sorted.get(sorted.size() - 1), sorted.size());
            for (int i = 0; i < rates.size(); i += 20) {
                out.printf(Locale.ROOT, "    %4d s: %s%n", i + 1, rates.subList(i, Math.min(rates.size(), i + 20)));
            }
        }
        out.println("  outcomes (kind -> what the client saw):");
        new TreeMap<>(snapshot(outcomes)).forEach((k, v) -> out.printf(Locale.ROOT, "    %-40s %,10d%n", k, v));
        out.printf(Locale.ROOT, "  client problems: %d%n", problemCount.sum());
        problems.forEach((kind, n) -> out.printf(Locale.ROOT, "    %,d x %s%n", n.sum(), problemExamples.get(kind)));

        boolean noLeaks = leakLines.isEmpty();
        out.printf(Locale.ROOT, "  leaks: %d LEAK: line(s) in the gateway log -> %s%n", leakLines.size(), noLeaks ? "PASS" : "FAIL");
        leakLines.stream().limit(5).forEach(l -> out.println("    " + l));

        long growthKb = endHeap.usedKb() - startHeap.usedKb();
        // Flat: grew by less than 16 MiB, or by less than 10% of the start. The recent-record cache (100,000
        // records, a few hundred bytes each) legitimately grows until it is full; the histogram shows what grew.
        boolean flat = growthKb < Math.max(16 * 1024, startHeap.usedKb() / 10);
        out.printf(Locale.ROOT, "  live heap after full GC: start %s, end %s, growth %+,d KiB (%+.1f%%) -> %s%n", startHeap,
                endHeap, growthKb, 100.0 * growthKb / Math.max(1, startHeap.usedKb()), flat ? "PASS" : "FAIL");
        out.println("    series (live heap, every 15 s): " + String.join(", ", heapSeries));
        out.println("    classes that grew most from start to end (instances, KiB):");
        histogramGrowth(startHeap.histogram(), endHeap.histogram(), 8).forEach(l -> out.println("      " + l));

        out.printf(Locale.ROOT, "  books: clients saw %,d request ids; %,d priced by the client from the usage they saw"
                        + " (%,d nano-USD), %,d fetched by id (%,d nano-USD; statuses %s)%n",
                books.expectedCalls(), clientPricedCalls.sum(), clientPricedNanos.sum(), books.fetched(),
                books.fetchedNanos(), books.fetchedStatuses());
        out.printf(Locale.ROOT, "         ledger: %,d rows, %,d nano-USD; expected %,d rows, %,d nano-USD -> %s%n",
                books.ledgerRows(), books.ledgerNanos(), books.expectedCalls(), books.expectedNanos(),
                books.exact() ? "PASS (exact)" : "FAIL");
        out.printf(Locale.ROOT, "  gateway log: %d failure line(s) about the healthy mock provider (retried or not)%n",
                healthyProviderFailures);
        logLines.stream().filter(l -> l.contains("Upstream mock ") || l.contains("Provider mock ")).limit(2)
                .forEach(l -> out.println("    " + l));
        out.println("  healthz at the end: " + healthz.trim());
        boolean inFlightZero = healthz.contains("\"calls_in_flight\":0");
        boolean passed = noLeaks && flat && books.exact() && problemCount.sum() == 0 && inFlightZero;
        out.println("soak verdict: " + (passed ? "PASS" : "FAIL")
                + (problemCount.sum() == 0 ? "" : " (client problems)") + (inFlightZero ? "" : " (calls left in flight)"));
        return passed;
    }

    // ---------------------------------------------------------------- traffic

    private void clientLoop(int port, int index) {
        SplittableRandom random = new SplittableRandom(settings.seed() + index);
        Client client = null;
        long sequence = 0;
        while (!stop.get()) {
            Kind kind = Kind.pick(settings.mix(), random);
            sequence++;
            try {
                if (client == null) {
                    client = new Client(port);
                }
                boolean keep = oneCall(client, kind, index, sequence, random);
                if (!keep) {
                    client.close();
                    client = null;
                }
            } catch (IOException e) {
                problem(kind + ": " + e);
                if (client != null) {
                    client.close();
                    client = null;
                }
            } finally {
                finished.increment();
            }
        }
        if (client != null) {
            client.close();
        }
    }

    /** One call of {@code kind}; returns whether the connection can be used again. */
    private boolean oneCall(Client client, Kind kind, int index, long sequence, SplittableRandom random) throws IOException {
        String body = switch (kind) {
            case JSON -> ChatBodies.SHORT.body().sample(index, sequence);
            case REALISTIC -> ChatBodies.REALISTIC.body().sample(index, sequence);
            case STREAM_USAGE, CANCELLED_STREAM -> ChatBodies.STREAM.body().sample(index, sequence);
            case STREAM_NO_USAGE -> ChatBodies.STREAM.body().sample(index, sequence)
                    .replace(",\"stream_options\":{\"include_usage\":true}", "");
            case DEAD_PROVIDER -> ChatBodies.SHORT.body().sample(index, sequence).replace(ChatBodies.MODEL, DEAD_MODEL);
        };
        if (kind == Kind.STREAM_NO_USAGE && body.contains("include_usage")) {
            throw new IllegalStateException("the stream body changed shape: " + body);
        }
        if (kind == Kind.CANCELLED_STREAM) {
            // Leave after the head and a few events: the gateway must cancel the upstream and book what was produced.
            String id = client.callAndLeave(request(body), 1 + random.nextInt(4));
            if (id == null) {
                problem(kind + ": no X-Request-Id");
            } else {
                requestIds.add(id);
                unseenCost.add(id);
            }
            count(kind, "left mid-stream");
            return false;
        }
        Response r = client.call(request(body), true);
        String id = r.header("x-request-id");
        if (id == null) {
            problem(kind + ": " + r.status() + " without X-Request-Id: " + abbreviate(r.text()));
            return r.keepAlive();
        }
        if (!requestIds.add(id)) {
            problem(kind + ": X-Request-Id " + id + " seen twice");
        }
        switch (kind) {
            case JSON, REALISTIC -> {
                if (expectStatus(kind, r, 200, id)) {
                    priceFromUsage(kind, JSON.readTree(r.body()).get("usage"));
                }
            }
            case STREAM_USAGE -> {
                if (expectStatus(kind, r, 200, id) && expectDone(kind, r)) {
                    priceFromUsage(kind, streamUsage(r.text()));
                }
            }
            case STREAM_NO_USAGE -> {
                if (expectStatus(kind, r, 200, id) && expectDone(kind, r) && streamUsage(r.text()) != null) {
                    problem(kind + ": the usage event the gateway asked for on the client's behalf reached the client");
                }
                unseenCost.add(id);
            }
            case DEAD_PROVIDER -> {
                // 502 while the provider is retried, 503 once its circuit breaker is open; never reached: costs 0.
                if (r.status() != 502 && r.status() != 503) {
                    problem(kind + ": status " + r.status() + " (expected: 502 or 503): " + abbreviate(r.text()));
                }
                clientPricedCalls.increment();
            }
            default -> throw new IllegalStateException(kind.name());
        }
        count(kind, String.valueOf(r.status()));
        return r.keepAlive();
    }

    private void priceFromUsage(Kind kind, JsonNode usage) {
        if (usage == null || !usage.isObject()) {
            problem(kind + ": no usage in the answer");
            return;
        }
        long input = usage.path("prompt_tokens").asLong();
        long output = usage.path("completion_tokens").asLong();
        if (usage.path("prompt_tokens_details").path("cached_tokens").asLong() != 0) {
            problem(kind + ": cached tokens in the mock's usage: the soak prices only uncached input");
        }
        // ModelPrice.costNanos: one integer sum of nano-USD x tokens per million, rounded half up once.
        long costNanos = (input * INPUT_NANOS_PER_MTOK + output * OUTPUT_NANOS_PER_MTOK + 500_000) / 1_000_000;
        clientPricedCalls.increment();
        clientPricedNanos.add(costNanos);
    }

    /** The {@code usage} object of the stream's usage event, or {@code null} when it has none. */
    private static JsonNode streamUsage(String sse) throws IOException {
        for (String event : sse.split("\n\n")) {
            if (event.startsWith("data: {") && event.contains("\"usage\":{")) {
                return JSON.readTree(event.substring("data: ".length())).get("usage");
            }
        }
        return null;
    }

    /** Whether the status is as expected; if not, the call is a problem and its cost is fetched by id. */
    private boolean expectStatus(Kind kind, Response r, int status, String id) {
        if (r.status() == status) {
            return true;
        }
        problem(kind + ": status " + r.status() + " (expected: " + status + "): " + abbreviate(r.text()));
        unseenCost.add(id);
        return false;
    }

    private boolean expectDone(Kind kind, Response r) {
        if (r.text().endsWith("data: [DONE]\n\n")) {
            return true;
        }
        problem(kind + ": the stream does not end with data: [DONE]");
        return false;
    }

    private void count(Kind kind, String what) {
        outcomes.computeIfAbsent(kind.name().toLowerCase(Locale.ROOT) + " -> " + what, k -> new LongAdder()).increment();
    }

    private void problem(String what) {
        problemCount.increment();
        String kind = what.replaceAll("req_[0-9a-f]+", "req_…").replaceAll("[0-9]+", "N");
        problems.computeIfAbsent(kind, k -> new LongAdder()).increment();
        problemExamples.putIfAbsent(kind, what);
    }

    private void samplePerSecond() {
        long last = finished.sum();
        long next = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        while (!stop.get()) {
            try {
                TimeUnit.NANOSECONDS.sleep(next - System.nanoTime());
            } catch (InterruptedException e) {
                return;
            }
            next += TimeUnit.SECONDS.toNanos(1);
            long now = finished.sum();
            perSecond.add(now - last);
            last = now;
        }
    }

    private static byte[] request(String body) {
        byte[] json = body.getBytes(UTF_8);
        byte[] head = ("POST " + PATH + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + API_KEY
                + "\r\nContent-Type: application/json\r\nContent-Length: " + json.length + "\r\n\r\n").getBytes(ISO_8859_1);
        byte[] all = new byte[head.length + json.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(json, 0, all, head.length, json.length);
        return all;
    }

    // ---------------------------------------------------------------- books

    record Books(long expectedCalls, long expectedNanos, long ledgerRows, long ledgerNanos, long fetched,
                 long fetchedNanos, Map<String, Long> fetchedStatuses) {
        boolean exact() {
            return expectedCalls == ledgerRows && expectedNanos == ledgerNanos;
        }
    }

    private Books checkBooks(int port) throws IOException, InterruptedException {
        // The records of calls whose usage the clients could not see, fetched by id with the admin key.
        List<String> ids = new ArrayList<>(unseenCost);
        LongAdder fetchedNanos = new LongAdder();
        Map<String, LongAdder> statuses = new ConcurrentHashMap<>();
        ExecutorService fetchers = Executors.newFixedThreadPool(4);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int first = t;
            done.add(fetchers.submit(() -> {
                try (Client client = new Client(port)) {
                    for (int i = first; i < ids.size(); i += 4) {
                        Response r = client.get("/api/v1/requests/" + ids.get(i), ADMIN_KEY);
                        if (r.status() != 200) {
                            problem("record " + ids.get(i) + ": " + r.status() + " " + abbreviate(r.text()));
                            continue;
                        }
                        JsonNode record = JSON.readTree(r.body());
                        fetchedNanos.add(record.path("cost_nanos").asLong());
                        statuses.computeIfAbsent(record.path("status").asText(), k -> new LongAdder()).increment();
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            try {
                f.get();
            } catch (Exception e) {
                problem("fetching records failed: " + e);
            }
        }
        fetchers.shutdownNow();
        long expectedCalls = requestIds.size();
        long expectedNanos = clientPricedNanos.sum() + fetchedNanos.sum();

        // The ledger's totals, once the writer has caught up (it commits within milliseconds; allow 30 s).
        long rows = -1;
        long nanos = -1;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        try (Client client = new Client(port)) {
            while (System.nanoTime() < deadline) {
                Response r = client.get("/api/v1/usage?group_by=team", ADMIN_KEY);
                if (r.status() == 200) {
                    rows = 0;
                    nanos = 0;
                    for (JsonNode row : JSON.readTree(r.body()).path("data")) {
                        rows += row.path("requests").asLong();
                        nanos += row.path("cost_nanos").asLong();
                    }
                    if (rows >= expectedCalls) {
                        break;
                    }
                }
                Thread.sleep(200);
            }
        }
        return new Books(expectedCalls, expectedNanos, rows, nanos, ids.size(), fetchedNanos.sum(), snapshot(statuses));
    }

    // ---------------------------------------------------------------- heap

    /**
     * The live heap: the total of {@code jcmd PID GC.class_histogram}, which counts only live objects (it runs a
     * full GC first, in the same safepoint). {@code GC.heap_info} after {@code GC.run} would also count what the
     * traffic allocated between the two commands (tens of MiB a second under PARANOID leak detection).
     */
    record HeapSample(long usedKb, long committedKb, Map<String, long[]> histogram) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%,d KiB live (heap committed %,d KiB)", usedKb, committedKb);
        }
    }

    private HeapSample heapAfterGc(long pid) throws IOException, InterruptedException {
        Map<String, long[]> histogram = new HashMap<>();
        long liveBytes = -1;
        for (String line : jcmd(pid, "GC.class_histogram").split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 4 && f[0].endsWith(":")) {
                histogram.put(f[3], new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])});
            } else if (f.length == 3 && f[0].equals("Total")) {
                liveBytes = Long.parseLong(f[2]);
            }
        }
        String info = jcmd(pid, "GC.heap_info");
        Matcher m = HEAP_USED.matcher(info);
        if (liveBytes < 0 || !m.find()) {
            throw new IOException("cannot read the live heap from jcmd GC.class_histogram / GC.heap_info:\n" + info);
        }
        return new HeapSample(liveBytes / 1024, Long.parseLong(m.group(1)), histogram);
    }

    private static List<String> histogramGrowth(Map<String, long[]> before, Map<String, long[]> after, int top) {
        Map<String, long[]> growth = new LinkedHashMap<>();
        after.forEach((name, a) -> {
            long[] b = before.getOrDefault(name, new long[2]);
            growth.put(name, new long[] {a[0] - b[0], a[1] - b[1]});
        });
        return growth.entrySet().stream()
                .sorted((x, y) -> Long.compare(y.getValue()[1], x.getValue()[1]))
                .limit(top)
                .map(e -> String.format(Locale.ROOT, "%+,10d %+,9d  %s", e.getValue()[0], e.getValue()[1] / 1024, e.getKey()))
                .toList();
    }

    private static String jcmd(long pid, String command) throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process p = new ProcessBuilder(Files.isExecutable(jcmd) ? jcmd.toString() : "jcmd", String.valueOf(pid), command)
                .redirectErrorStream(true).start();
        byte[] output = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("jcmd " + pid + " " + command + " failed: " + new String(output, UTF_8));
        }
        return new String(output, UTF_8);
    }

    /** The pid of the gateway JVM: the child of this one started with {@code config}. */
    private static long gatewayPid(Path config) throws IOException {
        return ProcessHandle.current().children()
                .filter(p -> p.info().commandLine().orElse("").contains(config.toString()))
                .mapToLong(ProcessHandle::pid)
                .findFirst()
                .orElseThrow(() -> new IOException("no child process runs the gateway with " + config));
    }

    // ---------------------------------------------------------------- plumbing

    private String config(Path dir, int port, int upstreamPort, int deadPort) {
        return "server: {host: 127.0.0.1, port: " + port + "}\n"
                + "admin: {key: " + ADMIN_KEY + "}\n"
                + "storage: {path: " + dir.toAbsolutePath().resolve("soak.db") + "}\n"
                + "providers:\n"
                + "  mock: {type: openai, base_url: \"http://127.0.0.1:" + upstreamPort + "/v1\", api_key: soak-upstream-key}\n"
                + "  dead: {type: openai, base_url: \"http://127.0.0.1:" + deadPort + "/v1\", api_key: soak-upstream-key,"
                + " connect_timeout_ms: 500}\n"
                + "models:\n"
                + "  - {name: " + ChatBodies.MODEL + ", provider: mock, price: {input_per_mtok: 0.15, output_per_mtok: 0.60}}\n"
                + "  - {name: " + DEAD_MODEL + ", provider: dead, price: {input_per_mtok: 0.15, output_per_mtok: 0.60}}\n"
                + "teams:\n"
                + "  - name: soak\n"
                + "    keys: [{key: " + API_KEY + "}]\n";
    }

    private static Map<String, Long> snapshot(Map<String, LongAdder> counters) {
        Map<String, Long> copy = new TreeMap<>();
        counters.forEach((k, v) -> copy.put(k, v.sum()));
        return copy;
    }

    private static String abbreviate(String s) {
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }

    private static String indent(String s) {
        return "    " + s.replace("\n", "\n    ");
    }

    private static void deleteRecursively(Path root) throws IOException {
        try (var paths = Files.walk(root)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** A response read whole: status, lower-case headers, body (de-chunked). */
    record Response(int status, Map<String, String> headers, byte[] body) {
        String header(String name) {
            return headers.get(name);
        }

        String text() {
            return new String(body, UTF_8);
        }

        boolean keepAlive() {
            return !"close".equalsIgnoreCase(headers.get("connection"));
        }
    }

    /** One keep-alive HTTP/1.1 connection to the gateway, spoken over a plain socket. */
    static final class Client implements AutoCloseable {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;

        Client(int port) throws IOException {
            socket = new Socket();
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(30_000);
            in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
            out = socket.getOutputStream();
        }

        Response get(String path, String key) throws IOException {
            String head = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + (key == null ? "" : "Authorization: Bearer " + key + "\r\n") + "\r\n";
            return call(head.getBytes(ISO_8859_1), true);
        }

        Response call(byte[] request, boolean keepBody) throws IOException {
            out.write(request);
            out.flush();
            int status = status(readLine());
            Map<String, String> headers = headers();
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
                for (byte[] chunk = chunk(); chunk != null; chunk = chunk()) {
                    body.writeBytes(chunk);
                }
            } else {
                int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
                byte[] bytes = in.readNBytes(length);
                if (bytes.length < length) {
                    throw new EOFException("body cut at " + bytes.length + " of " + length + " bytes");
                }
                body.writeBytes(bytes);
            }
            return new Response(status, headers, keepBody ? body.toByteArray() : new byte[0]);
        }

        /** Sends a streamed request, reads the head and {@code events} chunks, then leaves with a reset. */
        String callAndLeave(byte[] request, int events) throws IOException {
            out.write(request);
            out.flush();
            int status = status(readLine());
            Map<String, String> headers = headers();
            if (status == 200 && "chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
                for (int i = 0; i < events && chunk() != null; i++) {
                    // read a few events
                }
            }
            socket.setSoLinger(true, 0);
            close();
            return headers.get("x-request-id");
        }

        private static int status(String line) throws IOException {
            if (line == null) {
                throw new EOFException("connection closed before a response");
            }
            String[] parts = line.split(" ", 3);
            if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
                throw new IOException("malformed status line: " + line);
            }
            return Integer.parseInt(parts[1]);
        }

        private Map<String, String> headers() throws IOException {
            Map<String, String> headers = new HashMap<>();
            for (String line = readLine(); line != null && !line.isEmpty(); line = readLine()) {
                int colon = line.indexOf(':');
                headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
            }
            return headers;
        }

        private byte[] chunk() throws IOException {
            String sizeLine = readLine();
            if (sizeLine == null) {
                throw new EOFException("connection closed inside a chunked body");
            }
            int size = Integer.parseInt(sizeLine.split(";")[0].trim(), 16);
            if (size == 0) {
                for (String line = readLine(); line != null && !line.isEmpty(); line = readLine()) {
                    // trailers
                }
                return null;
            }
            byte[] data = in.readNBytes(size);
            if (data.length < size || readLine() == null) {
                throw new EOFException("connection closed inside a chunk");
            }
            return data;
        }

        private String readLine() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream(64);
            for (int b = in.read(); b != -1; b = in.read()) {
                if (b == '\n') {
                    byte[] bytes = line.toByteArray();
                    int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                    return new String(bytes, 0, n, ISO_8859_1);
                }
                line.write(b);
            }
            return line.size() == 0 ? null : line.toString(ISO_8859_1);
        }

        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
