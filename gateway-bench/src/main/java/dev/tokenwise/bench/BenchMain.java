package dev.tokenwise.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Command line of the load harness.
 *
 * <pre>
 * java -jar tokenwise-bench.jar compare --duration 10s --connections 32 --body short|realistic|stream|cache-hit
 *                                       [--rate 1000] [--gateway-jar PATH]
 * java -jar tokenwise-bench.jar mock --port 8089
 * java -jar tokenwise-bench.jar soak --duration 5m                   # leaks, heap and books under mixed traffic
 * java -jar tokenwise-bench.jar load --url http://127.0.0.1:8080/v1/chat/completions --header "Authorization: Bearer k"
 * java -jar tokenwise-bench.jar jmh AccountingBenchmark -t 2 -prof gc      # JMH micro-benchmarks, JMH's own options
 * </pre>
 */
public final class BenchMain {
    private static final String USAGE = """
            usage: tokenwise-bench <command> [options]

            compare   measure the mock upstream directly, through nginx and through the gateway
                --duration 10s         measurement window per target
                --warmup 3s            discarded run-in before each window
                --gateway-warmup 15s   the gateway's shortest run-in (at least --warmup): a fresh JVM compiles its hot path under load;
                                       closed loop (also before an open loop), then 5 s steps until a step gains under 3% req/s
                --gateway-warmup-max 180s   the longest run-in of the gateway
                --connections 32       keep-alive connections, one request outstanding on each
                --body short           short | realistic (~15 KB, 10 messages, last one varies) | stream (SSE)
                                       | cache-hit (short at temperature 0; the gateway's response cache on)
                --rate 0               total req/s for an open loop (latency from intended send time); 0 = closed loop
                --gateway-jar PATH     default gateway-server/target/tokenwise-gateway.jar
                --targets direct,nginx,gateway,portkey   (portkey when installed: npm install --prefix gateway-bench @portkey-ai/gateway)
                                       measured in the order given; cluster: one gateway on Redis + PostgreSQL, cluster2: two
                                       on the same Redis + PostgreSQL, redis: one on Redis with its ledger on SQLite (the
                                       bench starts both stores; needs redis-server and postgresql)
                --timeout 10s          a request slower than this counts as a timeout
                --prime 2s             unreported closed-loop run against the mock first, to warm this JVM's JIT
                --client-threads 1     load generator event loop threads
                --mock-threads 1       mock upstream event loop threads
                --chunks 20            content events per streamed answer
                --response-delay 0ms   mock delay before each response
                --chunk-delay 0ms      mock delay between streamed events; above 0, each event carries its send time
                                       and an open loop reports what a proxy adds to each event
                --json FILE            also write the results as JSON
                --keep-temp            keep generated configurations and logs
                --otel URL             the gateway exports a span per call to this OTLP/HTTP endpoint (e.g.
                                       http://127.0.0.1:4318, a collector that answers); sink: to a receiver the bench
                                       runs itself, answering 200 to every export; default: no export
                --access-log off       off | text | json: the gateway's access log (off by default, as before it existed);
                                       absent: no logging section (for a gateway jar older than it)
    --workers 0            N > 0: the gateway's event loops (server.io_threads) and nginx's worker processes, both N;
                           0: the defaults, one event loop per core for the gateway, one worker for nginx

            mock      run the mock upstream until killed
                --port 8089  --host 127.0.0.1  --threads 1  --chunks 20  --response-delay 0ms  --chunk-delay 0ms

            load      run the load generator against a URL
                --url URL (required)   --method POST  --header "Name: value" (repeatable)
                --body short|realistic|stream|cache-hit|none|@FILE
                --duration 10s  --warmup 3s  --connections 32  --rate 0  --timeout 10s  --threads 1
                --histogram            print the full latency percentile distribution
                --progress             print each second's responses and latency (warmup included)

            soak      run the gateway jar (-Xmx256m, paranoid leak detection) under mixed JSON/SSE/fault traffic,
                      then check its log for leaks, its heap after GC, and the ledger against what the clients saw
                --duration 5m          --connections 16       --chunk-delay 2ms (mock, between streamed events)
                --gateway-jar PATH     --seed N               --keep-temp            --jvm-arg ARG (repeatable)
                --mix json:42,realistic:10,stream_usage:20,stream_no_usage:10,dead_provider:10,cancelled_stream:8

            drift     measure the drift detector on simulated traffic: false alarms per model and year, detection delay
                drift [MODEL_YEARS [INCIDENTS]]          default 100 and 200 (docs/efficiency.md)
            routing   measure the efficiency routing policy against the oracle over seeded runs (docs/routing.md)
                routing [RUNS [TASKS]]                   default 50 and 2000

            jmh       run the JMH micro-benchmarks; every argument goes to JMH (org.openjdk.jmh.Main)
                jmh -l                                   list them
                jmh AccountingBenchmark -t 2 -prof gc    one class, two threads, with allocation per operation
                jmh -h                                   JMH's options (-f forks, -wi/-i iterations, -w/-r times, -p params)
            """;

    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || Set.of("help", "-h", "--help").contains(args[0])) {
            System.out.print(USAGE);
            return;
        }
        List<String> rest = Arrays.asList(args).subList(1, args.length);
        if (args[0].equals("jmh")) {
            // JMH parses its own options and forks benchmark JVMs with this jar's class path.
            org.openjdk.jmh.Main.main(rest.toArray(new String[0]));
            return;
        }
        try {
            switch (args[0]) {
                case "compare" -> compare(new Args(rest, Set.of("keep-temp")), System.out);
                case "mock" -> mock(new Args(rest, Set.of()), System.out);
                case "load" -> load(new Args(rest, Set.of("histogram", "progress")), System.out);
                case "drift" -> dev.tokenwise.bench.drift.DriftSimulation.main(rest.toArray(new String[0]));
                case "routing" -> dev.tokenwise.bench.routing.RoutingSimulation.main(rest.toArray(new String[0]));
                case "soak" -> {
                    if (!SoakCommand.run(new Args(rest, Set.of("keep-temp")), System.out)) {
                        System.exit(1);
                    }
                }
                default -> throw new IllegalArgumentException("unknown command: " + args[0] + " (expected: compare, mock, load, soak, drift, routing or jmh)");
            }
        } catch (IllegalArgumentException e) {
            System.err.println("tokenwise-bench: " + e.getMessage());
            System.err.println("run 'tokenwise-bench help' for the options");
            System.exit(2);
        } catch (IOException e) {
            System.err.println("tokenwise-bench: " + e.getMessage() + (e.getCause() == null ? "" : " (" + e.getCause() + ")"));
            System.exit(1);
        }
    }

    private static void compare(Args args, PrintStream out) throws IOException, InterruptedException {
        MockUpstream.Options mock = mockOptions(args, "mock-threads").withPort(0);
        String jsonPath = args.string("json", null);
        CompareCommand.Settings settings = new CompareCommand.Settings(
                ChatBodies.parse(args.string("body", "short")),
                args.integer("connections", 32),
                args.duration("warmup", Duration.ofSeconds(3)),
                args.duration("gateway-warmup", Duration.ofSeconds(15)),
                args.duration("gateway-warmup-max", Duration.ofSeconds(180)),
                args.duration("duration", Duration.ofSeconds(10)),
                args.decimal("rate", 0),
                args.duration("timeout", Duration.ofSeconds(10)),
                args.integer("client-threads", 1),
                args.duration("prime", Duration.ofSeconds(2)),
                mock,
                Path.of(args.string("gateway-jar", GatewayProcess.DEFAULT_JAR)),
                List.of(args.string("targets", "direct,nginx,gateway,portkey").split(",")),
                Optional.ofNullable(jsonPath).map(Path::of),
                args.flag("keep-temp"),
                Optional.ofNullable(args.string("otel", null)),
                args.string("access-log", "off"),
                args.integer("workers", 0));
        args.checkAllUsed();
        if (settings.workers() < 0) {
            throw new IllegalArgumentException("--workers: " + settings.workers() + " (expected: 0 or more)");
        }
        if (!Set.of("off", "text", "json", "absent").contains(settings.accessLog())) {
            throw new IllegalArgumentException("--access-log: " + settings.accessLog() + " (expected: off, text, json or absent)");
        }
        for (String target : settings.targets()) {
            if (!Set.of("direct", "nginx", "gateway", "redis", "cluster", "cluster2", "portkey").contains(target)) {
                throw new IllegalArgumentException("--targets: " + target
                        + " (expected: direct, nginx, gateway, redis, cluster, cluster2, portkey)");
            }
        }
        new CompareCommand(settings, out).run();
    }

    private static void mock(Args args, PrintStream out) throws InterruptedException {
        MockUpstream.Options options = mockOptions(args, "threads");
        args.checkAllUsed();
        MockUpstream mock = MockUpstream.start(options);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            out.printf(Locale.ROOT, "mock upstream: %,d requests served%n", mock.requestsServed());
            mock.close();
        }, "mock-shutdown"));
        out.printf(Locale.ROOT, "mock upstream listening on %s (%s, %d thread(s), %d chunks per stream, delay %s, %s per chunk)%n",
                mock.baseUrl(), Transport.name(), options.threads(), options.chunks(), Args.human(options.responseDelay()),
                Args.human(options.chunkDelay()));
        mock.awaitClose();
    }

    private static MockUpstream.Options mockOptions(Args args, String threadsOption) {
        MockUpstream.Options defaults = MockUpstream.Options.defaults();
        return new MockUpstream.Options(
                args.string("host", defaults.host()),
                args.integer("port", 8089),
                args.integer(threadsOption, defaults.threads()),
                args.integer("chunks", defaults.chunks()),
                args.duration("response-delay", defaults.responseDelay()),
                args.duration("chunk-delay", defaults.chunkDelay()));
    }

    private static void load(Args args, PrintStream out) throws IOException, InterruptedException {
        String url = args.string("url", null);
        if (url == null) {
            throw new IllegalArgumentException("--url: missing (expected: http://host:port/path)");
        }
        List<Map.Entry<String, String>> headers = new ArrayList<>();
        for (String header : args.all("header")) {
            int colon = header.indexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("--header: " + header + " (expected: Name: value)");
            }
            headers.add(Map.entry(header.substring(0, colon).trim(), header.substring(colon + 1).trim()));
        }
        RequestBody body = loadBody(args.string("body", "short"));
        if (!body.isEmpty() && headers.stream().noneMatch(h -> h.getKey().equalsIgnoreCase("content-type"))) {
            headers.add(Map.entry("content-type", "application/json"));
        }
        LoadGenerator.Options options = new LoadGenerator.Options(URI.create(url), args.string("method", "POST"), headers, body,
                args.integer("connections", 32), args.duration("warmup", Duration.ofSeconds(3)),
                args.duration("duration", Duration.ofSeconds(10)), args.decimal("rate", 0),
                args.duration("timeout", Duration.ofSeconds(10)), args.integer("threads", 1));
        boolean histogram = args.flag("histogram");
        boolean progress = args.flag("progress");
        args.checkAllUsed();
        out.printf(Locale.ROOT, "load: %s %s, %s, %d connections, body %,d bytes, warmup %s + %s%n", options.method(), url,
                options.openLoop() ? String.format(Locale.ROOT, "open loop at %.0f req/s", options.ratePerSecond()) : "closed loop",
                options.connections(), body.typicalLength(), Args.human(options.warmup()), Args.human(options.duration()));
        LoadGenerator generator = new LoadGenerator(options);
        if (progress) {
            generator.printProgressTo(out);
        }
        LoadResult result = generator.run("load");
        out.println(result.summary());
        if (histogram) {
            result.latencyMicros().outputPercentileDistribution(out, 5, 1000.0);
        }
    }

    private static RequestBody loadBody(String spec) throws IOException {
        if (spec.equals("none")) {
            return RequestBody.fixed(new byte[0]);
        }
        if (spec.startsWith("@")) {
            return RequestBody.fixed(Files.readAllBytes(Path.of(spec.substring(1))));
        }
        return ChatBodies.parse(spec).body();
    }
}
