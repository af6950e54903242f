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

    /** Writes the configuration into {@code dir}, starts the gateway and waits for {@code /healthz} to answer 200. */
    static ManagedProcess start(Path jar, Path dir, int port, int upstreamPort) throws IOException, InterruptedException {
        return start(jar, dir, port, upstreamPort, false, "");
    }

    /**
     * As {@link #start(Path, Path, int, int)}, with the response cache on when {@code cache}, and {@code extraConfig}
     * (top-level YAML sections, e.g. {@code telemetry:}) appended to the configuration.
     */
    static ManagedProcess start(Path jar, Path dir, int port, int upstreamPort, boolean cache, String extraConfig)
            throws IOException, InterruptedException {
        Path config = dir.resolve("gateway.yaml");
        Files.writeString(config, config(dir, port, upstreamPort) + (cache ? "cache: {enabled: true}\n" : "")
                        + extraConfig,
                StandardCharsets.UTF_8);
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ManagedProcess process = ManagedProcess.start("gateway",
                List.of(java.toString(), "-Xmx256m", "-jar", jar.toString(), "--config", config.toString()),
                dir.resolve("gateway.log"));
        try {
            process.awaitHttpOk(URI.create("http://127.0.0.1:" + port + "/healthz"), STARTUP_TIMEOUT);
            return process;
        } catch (IOException | InterruptedException e) {
            process.close();
            throw e;
        }
    }

    static String config(Path dir, int port, int upstreamPort) {
        return "server: {host: 127.0.0.1, port: " + port + "}\n"
                + "storage: {path: " + dir.toAbsolutePath().resolve("bench.db") + "}\n"
                + "providers:\n"
                + "  mock: {type: openai, base_url: \"http://127.0.0.1:" + upstreamPort + "/v1\", api_key: bench-upstream-key}\n"
                + "models:\n"
                + "  - {name: gpt-4o-mini, provider: mock, price: {input_per_mtok: 0.15, output_per_mtok: 0.60}}\n"
                + "teams:\n"
                + "  - name: bench\n"
                + "    keys: [{key: " + API_KEY + "}]\n";
    }
}
