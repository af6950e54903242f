package dev.tokenwise.bench;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Portkey's open-source AI gateway (Node.js) in front of the mock: the reference for what another LLM gateway
 * costs. It is not bundled: {@code npm install --prefix gateway-bench @portkey-ai/gateway} puts it where
 * {@link #find} looks (or set {@code PORTKEY_GATEWAY} to its {@code build/start-server.js}). It runs headless
 * on its own port and reaches the mock as an OpenAI "custom host", with the headers of {@link #headers}.
 */
final class PortkeyReference {
    static final String INSTALL = "npm install --prefix gateway-bench @portkey-ai/gateway";
    private static final String SCRIPT = "node_modules/@portkey-ai/gateway/build/start-server.js";

    private PortkeyReference() {
    }

    /** {@code node} and Portkey's start script, when both are found. */
    static Optional<List<String>> find() {
        Optional<Path> node = onPath("node");
        if (node.isEmpty()) {
            return Optional.empty();
        }
        String configured = System.getenv("PORTKEY_GATEWAY");
        for (Path script : configured != null && !configured.isBlank() ? List.of(Path.of(configured))
                : List.of(Path.of("gateway-bench", SCRIPT), Path.of(SCRIPT))) {
            if (Files.isRegularFile(script)) {
                return Optional.of(List.of(node.get().toString(), script.toAbsolutePath().toString()));
            }
        }
        return Optional.empty();
    }

    /** Starts it on {@code port} and waits until it listens. */
    static ManagedProcess start(List<String> nodeAndScript, Path dir, int port) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(nodeAndScript);
        command.add("--port=" + port);
        command.add("--headless");
        return ManagedProcess.startListening("portkey", command, dir.resolve("portkey.log"), port, Duration.ofSeconds(30));
    }

    /** Routes a request to the mock as an OpenAI-compatible custom host. */
    static List<Map.Entry<String, String>> headers(int mockPort) {
        return List.of(Map.entry("x-portkey-provider", "openai"),
                Map.entry("x-portkey-custom-host", "http://127.0.0.1:" + mockPort + "/v1"),
                Map.entry("authorization", "Bearer bench-upstream-key"));
    }

    private static Optional<Path> onPath(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
                return Optional.of(Path.of(dir, name));
            }
        }
        return Optional.empty();
    }
}
