package dev.tokenwise.bench;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The Tokenwise gateway as a child JVM ({@code java -Xmx256m -jar tokenwise-gateway.jar --config ...}) with a
 * generated configuration: one OpenAI-type provider pointing at the mock, one priced model, one team with one key,
 * and, for the {@code cache-hit} body, the response cache on.
 */
final class GatewayProcess {
    static final String DEFAULT_JAR = "gateway-server/target/tokenwise-gateway.jar";
    static final String API_KEY = "tw-bench-key";
    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(60);

    private GatewayProcess() {
    }

    /**
     * Writes {@code config} into {@code dir} as {@code NAME.yaml}, starts the gateway with its log in {@code NAME.log}
     * and waits for {@code /healthz} on {@code port} to answer 200.
     */
    static ManagedProcess start(Path jar, Path dir, String name, int port, String config)
            throws IOException, InterruptedException {
        Path file = dir.resolve(name + ".yaml");
        Files.writeString(file, config, StandardCharsets.UTF_8);
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ManagedProcess process = ManagedProcess.start(name,
                List.of(java.toString(), "-Xmx256m", "-jar", jar.toString(), "--config", file.toString()),
                dir.resolve(name + ".log"));
        try {
            process.awaitHttpOk(URI.create("http://127.0.0.1:" + port + "/healthz"), STARTUP_TIMEOUT);
            return process;
        } catch (IOException | InterruptedException e) {
            process.close();
            throw e;
        }
    }

    static String config(Path dir, int port, int upstreamPort) {
        return config(port, upstreamPort, "storage: {path: " + dir.toAbsolutePath().resolve("bench.db") + "}\n", "");
    }

    /**
     * The configuration of a cluster comparison: {@code storage} and {@code cluster} sections as given (SQLite and
     * no cluster for the single node), and the team with a budget and a request rate limit both far above what a
     * run can use, so that every call makes a budget reservation and a rate-limit decision (in memory on a single
     * node, on Redis in cluster mode) and none is refused.
     */
    static String clusterConfig(int port, int upstreamPort, String storage, String cluster, String instanceId) {
        return config(port, upstreamPort, storage + cluster + "instance_id: " + instanceId + "\n",
                "    budget: {limit_usd: 1000000, period: monthly}\n"
                        + "    rate_limits: {requests_per_minute: 1000000000}\n");
    }

    private static String config(int port, int upstreamPort, String sections, String teamLimits) {
        return "server: {host: 127.0.0.1, port: " + port + "}\n"
                + sections
                + "providers:\n"
                + "  mock: {type: openai, base_url: \"http://127.0.0.1:" + upstreamPort + "/v1\", api_key: bench-upstream-key}\n"
                + "models:\n"
                + "  - {name: gpt-4o-mini, provider: mock, price: {input_per_mtok: 0.15, output_per_mtok: 0.60}}\n"
                + "teams:\n"
                + "  - name: bench\n"
                + teamLimits
                + "    keys: [{key: " + API_KEY + "}]\n";
    }
}
