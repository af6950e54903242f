package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The gateway's {@code Main} in a JVM of its own, for tests that kill or signal a real process. */
final class GatewayProcess {
    private GatewayProcess() {
    }

    /** Starts {@code Main --config config}, logging to {@code log}, and waits for {@code /healthz} to answer 200. */
    static Process start(Path config, Path log, URI base) throws Exception {
        return start(config, log, base, List.of());
    }

    /**
     * Starts {@code Main --config config} in a JVM given {@code jvmArgs} (e.g. {@code -Xmx256m}), logging to
     * {@code log}, and waits for {@code /healthz} to answer 200.
     */
    static Process start(Path config, Path log, URI base, List<String> jvmArgs) throws Exception {
        return start(config, log, base, jvmArgs, null);
    }

    /**
     * The same, in working directory {@code workDir} (where a relative {@code storage.path} and so {@code data/} and
     * its {@code admin.key} are), or this process's own when {@code null}; without the {@code TOKENWISE_*} variables
     * of this process, so that none of them chooses a key or a port instead of the configuration.
     */
    static Process start(Path config, Path log, URI base, List<String> jvmArgs, Path workDir) throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2)).build();
        String javaBin = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> command = new ArrayList<>();
        command.add(javaBin);
        command.addAll(jvmArgs);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"),
                "dev.tokenwise.server.Main", "--config", config.toString()));
        ProcessBuilder builder = new ProcessBuilder(command);
        if (workDir != null) {
            builder.directory(workDir.toFile());
            builder.environment().keySet().removeIf(name -> name.startsWith("TOKENWISE_"));
        }
        Process p = builder
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                fail("gateway exited with " + p.exitValue() + ":\n" + Files.readString(log));
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve("/healthz"))
                        .timeout(Duration.ofSeconds(1)).GET().build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return p;
                }
            } catch (IOException e) {
                // Not listening yet.
            }
            Thread.sleep(50);
        }
        p.destroyForcibly();
        fail("gateway did not answer /healthz within 30 s:\n" + Files.readString(log));
        return p;
    }
}
