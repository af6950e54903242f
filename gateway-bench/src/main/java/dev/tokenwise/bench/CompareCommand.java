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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;

/**
 * {@code compare}: the same load against the mock directly, through nginx and through the gateway, one
 * after the other, then a table of the three. Direct is the ceiling of this machine and load generator;
 * nginx is what plain forwarding costs; the gateway's distance from nginx is what counting, pricing and
 * budgeting cost. The cluster targets ({@code redis}, {@code cluster}, {@code cluster2}) put the gateway on a Redis and
 * a PostgreSQL the bench starts itself, and add what each call cost those stores and the CPU each process spent.
 */
final class CompareCommand {
    /** What {@code compare} was asked to do. */
    record Settings(ChatBodies body, int connections, Duration warmup, Duration gatewayWarmup,
                    Duration gatewayWarmupMax, Duration duration, double ratePerSecond,
                    Duration timeout, int clientThreads, Duration prime, MockUpstream.Options mock, Path gatewayJar,
                    List<String> targets, Optional<Path> json, boolean keepTemp, Optional<String> otel,
                    String accessLog, int workers) {
        /**
         * {@code config} (a gateway configuration whose first line is its {@code server} section) with
         * {@code io_threads} set to {@code --workers} when that was given, else unchanged (one event loop per core).
         */
        String withWorkers(String config) {
            return workers > 0 ? config.replaceFirst("^server: \\{([^}]*)\\}", "server: {$1, io_threads: " + workers + "}")
                    : config;
        }

        /** {@code --otel sink}: the bench runs its own OTLP receiver ({@link OtlpSink}) and exports to it. */
        static final String OTEL_SINK = "sink";

        /**
         * The gateway's config beyond the bench's own: span export to {@code otel} when set ({@code sinkEndpoint} for
         * {@link #OTEL_SINK}), and its access log ({@code off} unless asked for, so that runs compare with those made
         * before it existed; {@code absent} writes no logging section at all, which a jar older than that section needs).
         */
        String gatewayExtraConfig(String sinkEndpoint) {
            return otel.map(url -> "telemetry: {otlp_endpoint: \""
                            + (url.equals(OTEL_SINK) ? sinkEndpoint : url) + "\"}\n").orElse("")
                    + switch (accessLog) {
                        case "off" -> "logging: {access: false}\n";
                        case "absent" -> ""; // for a gateway jar older than the logging section
                        default -> "logging: {format: " + accessLog + "}\n";
                    };
        }
    }

    private static final String PATH = "/v1/chat/completions";

    /**
     * CPU time spent over a target's measured run (its warm-up inside {@code measure} included), divided by the calls
     * the mock served meanwhile: by the gateway process(es), and in cluster mode by Redis and PostgreSQL. PostgreSQL's
     * is also divided by the rows written in the same window ({@code postgresRows}): a writer that falls behind writes
     * fewer rows than there were calls, and the rest (and their CPU) after the window.
     */
    record CpuPerCall(long calls, long gatewayNanos, long redisNanos, long postgresNanos, long postgresRows) {
        CpuPerCall(long calls, long gatewayNanos, long redisNanos, long postgresNanos) {
            this(calls, gatewayNanos, redisNanos, postgresNanos, 0);
        }

        /** PostgreSQL's CPU per row written in the window, in µs; NaN without rows. */
        double postgresMicrosPerRow() {
            return postgresRows == 0 ? Double.NaN : postgresNanos / 1000.0 / postgresRows;
        }

        double gatewayMicros() {
            return micros(gatewayNanos);
        }

        double redisMicros() {
            return micros(redisNanos);
        }

        double postgresMicros() {
            return micros(postgresNanos);
        }

        double totalMicros() {
            return micros(gatewayNanos + redisNanos + postgresNanos);
        }

        private double micros(long nanos) {
            return calls == 0 ? Double.NaN : nanos / 1000.0 / calls;
        }
    }

    private final Map<String, CpuPerCall> cpu = new LinkedHashMap<>();
    /** The bench's own OTLP receiver, for {@code --otel sink}; {@code null} otherwise. */
    private OtlpSink sink;

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
        Map<String, ClusterCosts> costs = new LinkedHashMap<>();
        if (settings.otel().filter(Settings.OTEL_SINK::equals).isPresent()) {
            sink = OtlpSink.start();
            out.println("otlp sink: " + sink.endpoint() + " (answers 200 to every export)");
        }
        try (MockUpstream mock = MockUpstream.start(settings.mock())) {
            out.println("mock upstream: " + mock.baseUrl());
            prime(mock.port());
            // In the order asked for, so that runs can alternate which target goes first.
            for (String target : settings.targets()) {
                switch (target) {
                    case "direct" -> results.add(measure("direct", List.of(mock.port()), List.of(), settings.warmup()));
                    case "nginx" -> measureNginx(temp, mock.port()).ifPresent(results::add);
                    case "gateway" -> measureGateway(temp, mock).ifPresent(results::add);
                    case "redis" -> measureCluster("redis", 1, false, temp, mock, costs).ifPresent(results::add);
                    case "cluster" -> measureCluster("cluster", 1, true, temp, mock, costs).ifPresent(results::add);
                    case "cluster2" -> measureCluster("cluster2", 2, true, temp, mock, costs).ifPresent(results::add);
                    case "portkey" -> measurePortkey(temp, mock.port()).ifPresent(results::add);
                    default -> throw new IllegalArgumentException("--targets: " + target);
                }
            }
        } finally {
            if (sink != null) {
                sink.close();
            }
            closeClusterStores();
            if (settings.keepTemp()) {
                out.println("configuration and logs kept in " + temp);
            } else {
                deleteRecursively(temp);
            }
        }
        out.println();
        printTable(results);
        printClusterCosts(results, costs);
        if (settings.json().isPresent()) {
            writeJson(settings.json().get(), results, costs);
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
            ManagedProcess process = NginxReference.start(nginx.get(), dir, port, mockPort,
                    settings.workers() > 0 ? settings.workers() : 1);
            try {
                return Optional.of(measure("nginx", List.of(port), List.of(), settings.warmup()));
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
            return Optional.of(measure("portkey", List.of(port), PortkeyReference.headers(mockPort), settings.warmup()));
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
            ManagedProcess process = clusterComparison()
                    // The same team budget and rate limit as the cluster targets, kept in memory: what differs is where.
                    ? GatewayProcess.start(jar, dir, "gateway", port, settings.withWorkers(GatewayProcess.clusterConfig(
                            port, mockPort, "storage: {path: " + dir.toAbsolutePath().resolve("bench.db") + "}\n", "",
                            "gateway") + (cache ? "cache: {enabled: true}\n" : "")
                            + settings.gatewayExtraConfig(sinkEndpoint())))
                    : GatewayProcess.start(jar, dir, "gateway", port, settings.withWorkers(GatewayProcess.config(dir,
                            port, mockPort) + (cache ? "cache: {enabled: true}\n" : "")
                            + settings.gatewayExtraConfig(sinkEndpoint())));
            try {
                // A fresh JVM compiles its hot path under load: give it longer than the others before measuring, at
                // full speed also before an open loop, whose moderate rate would take minutes to reach as many calls
                // (at 1,000 req/s a 15 s run-in still left the p99 several times its steady value).
                Duration minimum = settings.warmup().compareTo(settings.gatewayWarmup()) > 0 ? settings.warmup()
                        : settings.gatewayWarmup();
                warmUntilSteady("gateway", List.of(port), AUTH, minimum);
                long servedBefore = mock.requestsServed();
                long cpuBefore = CpuTime.ofProcess(process.pid());
                long exportsBefore = sink == null ? 0 : sink.exports();
                long exportedBytesBefore = sink == null ? 0 : sink.bytes();
                LoadResult result = measure("gateway", List.of(port), AUTH, settings.warmup());
                long calls = mock.requestsServed() - servedBefore;
                cpu.put("gateway", new CpuPerCall(calls, CpuTime.ofProcess(process.pid()) - cpuBefore, 0, 0));
                if (sink != null && calls > 0) {
                    long exports = sink.exports() - exportsBefore;
                    out.printf(Locale.ROOT, "gateway: %,d span exports received while measured, %.0f bytes of OTLP a"
                            + " call, %.0f calls an export%n", exports,
                            (sink.bytes() - exportedBytesBefore) / (double) calls, exports == 0 ? 0.0 : calls / (double) exports);
                }
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

    private String sinkEndpoint() {
        return sink == null ? null : sink.endpoint();
    }

    private static final List<Map.Entry<String, String>> AUTH =
            List.of(Map.entry("authorization", "Bearer " + GatewayProcess.API_KEY));

    private LocalRedis redis;
    private LocalPostgres postgres;

    /** Whether a cluster target is in this run: then the single-node gateway gets the cluster targets' team limits. */
    private boolean clusterComparison() {
        return settings.targets().contains("cluster") || settings.targets().contains("cluster2")
                || settings.targets().contains("redis");
    }

    /**
     * {@code instances} gateways in cluster mode on the bench's own Redis and, when {@code postgresLedger}, a fresh
     * PostgreSQL database (else each its own SQLite file: the {@code redis} target, which tells Redis's share of the
     * cost from PostgreSQL's), the load split between them, and what their calls cost Redis and PostgreSQL (into
     * {@code costs}). Redis and PostgreSQL are started by the first cluster target and stopped at the end of the run;
     * Redis is emptied before each target.
     */
    private Optional<LoadResult> measureCluster(String label, int instances, boolean postgresLedger, Path temp,
                                                MockUpstream mock, Map<String, ClusterCosts> costs)
            throws IOException, InterruptedException {
        Path jar = settings.gatewayJar();
        if (!Files.isRegularFile(jar)) {
            out.println(label + ": " + jar.toAbsolutePath() + " not found, skipped");
            return Optional.empty();
        }
        Optional<String> missing = startClusterStores(temp);
        if (missing.isPresent()) {
            out.println(label + ": skipped, " + missing.get());
            return Optional.empty();
        }
        String database = "bench_" + label;
        List<ManagedProcess> processes = new ArrayList<>();
        try {
            redis.command("FLUSHALL");
            // The database exists either way, so that the snapshots read it (empty for the redis target).
            String url = postgres.createDatabase(database);
            String cluster = "cluster: {redis_url: \"" + redis.url() + "\"}\n";
            List<Integer> ports = new ArrayList<>();
            Path dir = Files.createDirectories(temp.resolve(label));
            long servedAtStart = mock.requestsServed();
            for (int i = 1; i <= instances; i++) {
                int port = freePort();
                String name = label + "-" + i;
                String storage = postgresLedger ? "storage: {url: \"" + url + "\"}\n"
                        : "storage: {path: " + dir.toAbsolutePath().resolve(name + ".db") + "}\n";
                out.println(name + ": starting " + jar + " on port " + port + " (Redis " + redis.url() + ", "
                        + (postgresLedger ? "PostgreSQL " + database : "SQLite") + ")");
                processes.add(GatewayProcess.start(jar, dir, name, port, settings.withWorkers(
                        GatewayProcess.clusterConfig(port, mock.port(), storage, cluster, name)
                                + settings.gatewayExtraConfig(sinkEndpoint()))));
                ports.add(port);
            }
            Duration minimum = settings.warmup().compareTo(settings.gatewayWarmup()) > 0 ? settings.warmup()
                    : settings.gatewayWarmup();
            warmUntilSteady(label, ports, AUTH, minimum);
            long expectRows = postgresLedger ? servedAtStart : Long.MIN_VALUE; // no row to wait for on SQLite
            ClusterCosts.Snapshot before = snapshotWhenLedgerCaughtUp(label, database, mock, expectRows);
            List<Long> pids = processes.stream().map(ManagedProcess::pid).toList();
            long servedBefore = mock.requestsServed();
            long gatewayCpu = CpuTime.ofTrees(pids);
            long redisCpu = CpuTime.ofProcess(redis.pid());
            long postgresCpu = CpuTime.ofTree(postgres.pid());
            LoadResult result = measure(label, ports, AUTH, settings.warmup());
            long calls = mock.requestsServed() - servedBefore;
            long gatewayUsed = CpuTime.ofTrees(pids) - gatewayCpu;
            long redisUsed = CpuTime.ofProcess(redis.pid()) - redisCpu;
            long postgresUsed = CpuTime.ofTree(postgres.pid()) - postgresCpu; // before the count below costs it more
            long rowsWritten = postgresLedger ? ClusterCosts.Snapshot.rows(postgres, database) - before.rows() : 0;
            cpu.put(label, new CpuPerCall(calls, gatewayUsed, redisUsed, postgresUsed, rowsWritten));
            ClusterCosts.Snapshot after = snapshotWhenLedgerCaughtUp(label, database, mock, expectRows);
            ClusterCosts cost = ClusterCosts.between(before, after);
            costs.put(label, cost);
            out.printf(Locale.ROOT, "  %s: %,d calls; Redis %.2f commands per call (%s), %.0f B in and %.0f B out per"
                            + " call; PostgreSQL %.3f rows per call, %.0f B per row, %,.0f rows/s, %.1f rows per commit%n",
                    label, cost.calls(), cost.perCall(cost.redisCommandCount()), cost.commandsPerCall(),
                    cost.perCall(cost.redisInputBytes()), cost.perCall(cost.redisOutputBytes()), cost.perCall(cost.rows()),
                    cost.bytesPerRow(), cost.rowsPerSecond(), cost.rowsPerCommit());
            return Optional.of(result);
        } catch (IOException e) {
            out.println(label + ": failed, skipped: " + e.getMessage());
            return Optional.empty();
        } finally {
            processes.forEach(ManagedProcess::close);
        }
    }

    /**
     * The stores' counters once the ledger holds a row for every call the mock served for this target (the writers
     * batch every few milliseconds), or after 15 s, saying so, if it does not get there; at once when
     * {@code servedAtStart} is {@link Long#MIN_VALUE} (a ledger on SQLite).
     */
    private ClusterCosts.Snapshot snapshotWhenLedgerCaughtUp(String label, String database, MockUpstream mock,
                                                             long servedAtStart) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (servedAtStart != Long.MIN_VALUE) {
            long served = mock.requestsServed() - servedAtStart;
            long rows = ClusterCosts.Snapshot.rows(postgres, database);
            if (rows >= served) {
                break;
            }
            if (System.nanoTime() - deadline > 0) {
                out.printf(Locale.ROOT, "%s: the ledger still lacks %,d of %,d rows after 15 s%n", label, served - rows,
                        served);
                break;
            }
            Thread.sleep(100);
        }
        return ClusterCosts.Snapshot.take(mock.requestsServed(), redis, postgres,
                servedAtStart == Long.MIN_VALUE ? null : database);
    }

    /** Starts Redis and PostgreSQL unless they run; empty when started, else why they cannot be. */
    private Optional<String> startClusterStores(Path temp) throws IOException, InterruptedException {
        if (redis == null) {
            if (!LocalRedis.installed()) {
                return Optional.of(LocalRedis.BINARY + " is not installed (apt-get install redis-server)");
            }
            redis = LocalRedis.start(Files.createDirectories(temp.resolve("redis")));
            out.println("redis-server: " + redis.url());
        }
        if (postgres == null) {
            Optional<Path> bin = LocalPostgres.findBin();
            if (bin.isEmpty()) {
                return Optional.of("PostgreSQL is not installed (apt-get install postgresql, or set TOKENWISE_PG_BIN)");
            }
            postgres = LocalPostgres.start(bin.get());
            out.println("postgresql: started from " + bin.get());
        }
        return Optional.empty();
    }

    private void closeClusterStores() {
        if (redis != null) {
            redis.close();
            redis = null;
        }
        if (postgres != null) {
            postgres.close();
            postgres = null;
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
    private void warmUntilSteady(String label, List<Integer> ports, List<Map.Entry<String, String>> extraHeaders,
                                 Duration minimum) throws IOException, InterruptedException {
        List<Map.Entry<String, String>> headers = headers(extraHeaders);
        for (int port : ports) {
            smokeTest(label, url(port), headers);
        }
        Duration spent = Duration.ZERO;
        double previous = 0;
        StringBuilder steps = new StringBuilder();
        while (true) {
            Duration step = spent.isZero() ? minimum : WARMUP_STEP;
            double rate = runSplit(label + " warm-up", ports, headers, Duration.ZERO, step, 0).requestsPerSecond();
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

    private LoadResult measure(String label, List<Integer> ports, List<Map.Entry<String, String>> extraHeaders,
                               Duration warmup) throws IOException, InterruptedException {
        List<Map.Entry<String, String>> headers = headers(extraHeaders);
        for (int port : ports) {
            smokeTest(label, url(port), headers);
        }
        out.printf(Locale.ROOT, "%s: measuring %s ...%n", label, ports.stream().map(p -> url(p).toString()).toList());
        LoadResult result = runSplit(label, ports, headers, warmup, settings.duration(), settings.ratePerSecond());
        out.println("  " + result.summary());
        return result;
    }

    /**
     * One load generator per port, side by side over the same window, each with an even share of the connections
     * (and of the rate, in an open loop), as a load balancer in front of the instances would split them; their
     * results combined. One port is one generator, as before.
     */
    private LoadResult runSplit(String label, List<Integer> ports, List<Map.Entry<String, String>> headers,
                                Duration warmup, Duration duration, double ratePerSecond)
            throws IOException, InterruptedException {
        if (ports.size() == 1) {
            return new LoadGenerator(new LoadGenerator.Options(url(ports.get(0)), "POST", headers, body,
                    settings.connections(), warmup, duration, ratePerSecond, settings.timeout(),
                    settings.clientThreads())).run(label);
        }
        int n = ports.size();
        List<CompletableFuture<LoadResult>> parts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            // The first instances take the remainder, so that every connection is used.
            int connections = settings.connections() / n + (i < settings.connections() % n ? 1 : 0);
            LoadGenerator.Options options = new LoadGenerator.Options(url(ports.get(i)), "POST", headers, body,
                    Math.max(1, connections), warmup, duration, ratePerSecond / n, settings.timeout(),
                    settings.clientThreads());
            String part = label + "#" + (i + 1);
            parts.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return new LoadGenerator(options).run(part);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new CompletionException(e);
                }
            }, runnable -> new Thread(runnable, "bench-" + part).start()));
        }
        List<LoadResult> results = new ArrayList<>();
        try {
            for (CompletableFuture<LoadResult> part : parts) {
                results.add(part.get());
            }
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof CompletionException c && c.getCause() != null ? c.getCause() : e.getCause();
            if (cause instanceof UncheckedIOException io) {
                throw io.getCause();
            }
            throw new IOException(label + ": load generator failed: " + cause, cause);
        }
        return LoadResult.combined(label, results);
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

    /**
     * The cluster targets against the single node of the same run (throughput ratio, p50 and p99 added), then what
     * each call cost Redis and PostgreSQL.
     */
    private void printClusterCosts(List<LoadResult> results, Map<String, ClusterCosts> costs) {
        LoadResult gateway = find(results, "gateway");
        for (String label : List.of("redis", "cluster", "cluster2")) {
            LoadResult r = find(results, label);
            if (r != null && gateway != null) {
                out.printf(Locale.ROOT, "%s vs gateway: %.2fx the throughput, p50 %+.3f ms, p99 %+.3f ms%n", label,
                        r.requestsPerSecond() / gateway.requestsPerSecond(),
                        r.percentileMillis(50) - gateway.percentileMillis(50),
                        r.percentileMillis(99) - gateway.percentileMillis(99));
            }
        }
        if (!cpu.isEmpty()) {
            out.println();
            out.println("CPU per call, µs (user + system, over each target's measured run):");
            out.println("| target   | gateway(s) | redis-server | postgres | total | postgres per row written |");
            out.println("|----------|-----------:|-------------:|---------:|------:|-------------------------:|");
            cpu.forEach((label, c) -> out.printf(Locale.ROOT, "| %-8s | %10.1f | %12.1f | %8.1f | %5.1f | %24s |%n",
                    label, c.gatewayMicros(), c.redisMicros(), c.postgresMicros(), c.totalMicros(),
                    c.postgresRows() == 0 ? "-" : String.format(Locale.ROOT, "%.1f (%,d rows)",
                            c.postgresMicrosPerRow(), c.postgresRows())));
        }
        if (costs.isEmpty()) {
            return;
        }
        out.println();
        out.println("| target   |     calls | Redis cmds/call | Redis B in/call | Redis B out/call | PG rows/call | PG B/row "
                + "|  rows/s | rows/commit | commands per call (those run inside scripts included)");
        out.println("|----------|----------:|----------------:|----------------:|-----------------:|-------------:|---------:"
                + "|--------:|------------:|------------------");
        costs.forEach((label, c) -> out.printf(Locale.ROOT,
                "| %-8s | %9d | %15.2f | %15.0f | %16.0f | %12.3f | %8.0f | %7.0f | %11.1f | %s%n", label, c.calls(),
                c.perCall(c.redisCommandCount()), c.perCall(c.redisInputBytes()), c.perCall(c.redisOutputBytes()),
                c.perCall(c.rows()), c.bytesPerRow(), c.rowsPerSecond(), c.rowsPerCommit(), c.commandsPerCall()));
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

    private void writeJson(Path file, List<LoadResult> results, Map<String, ClusterCosts> costs) throws IOException {
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
            CpuPerCall used = cpu.get(r.label());
            if (used != null) {
                t.put("cpu_us_per_call_gateway", used.gatewayMicros());
                t.put("cpu_us_per_call_redis", used.redisMicros());
                t.put("cpu_us_per_call_postgres", used.postgresMicros());
                if (used.postgresRows() > 0) {
                    t.put("cpu_us_per_row_postgres", used.postgresMicrosPerRow());
                    t.put("postgres_rows_in_window", used.postgresRows());
                }
            }
            ClusterCosts c = costs.get(r.label());
            if (c != null) {
                ObjectNode cost = t.putObject("cluster_costs");
                cost.put("calls", c.calls());
                cost.put("seconds", c.seconds());
                cost.put("redis_commands_per_call", c.perCall(c.redisCommandCount()));
                ObjectNode commands = cost.putObject("redis_commands");
                c.redisCommands().forEach(commands::put);
                cost.put("redis_input_bytes_per_call", c.perCall(c.redisInputBytes()));
                cost.put("redis_output_bytes_per_call", c.perCall(c.redisOutputBytes()));
                cost.put("postgres_rows_per_call", c.perCall(c.rows()));
                cost.put("postgres_bytes_per_row", c.bytesPerRow());
                cost.put("postgres_rows_per_second", c.rowsPerSecond());
                cost.put("postgres_rows_per_commit", c.rowsPerCommit());
            }
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
