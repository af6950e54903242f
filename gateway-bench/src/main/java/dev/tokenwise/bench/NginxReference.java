package dev.tokenwise.bench;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * nginx as a plain reverse proxy in front of the mock: the reference for what forwarding alone costs.
 *
 * <p>One worker, keep-alive on both sides (an upstream {@code keepalive} pool with HTTP/1.1 and an empty
 * {@code Connection} header), no access log, and {@code proxy_buffering off} because an LLM gateway
 * must pass streamed tokens on as they arrive. Everything nginx writes stays in a private directory;
 * as root it needs {@code user root;} and a large {@code client_body_buffer_size}, or bodies over 16 KB
 * fail because the worker cannot write its temp file.
 */
final class NginxReference {
    private NginxReference() {
    }

    /** nginx from {@code PATH}, or from the sbin folders that a non-root {@code PATH} often lacks. */
    static Optional<Path> find() {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)));
        dirs.addAll(List.of("/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"));
        for (String dir : dirs) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, "nginx");
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** Writes the configuration into {@code dir}, starts nginx and waits until it listens. */
    static ManagedProcess start(Path nginx, Path dir, int port, int upstreamPort, int workers)
            throws IOException, InterruptedException {
        Path conf = dir.resolve("nginx.conf");
        Files.writeString(conf, config(dir, port, upstreamPort, workers), StandardCharsets.UTF_8);
        Path errorLog = dir.resolve("nginx-error.log");
        // -e: 1.19.5+ opens this error log instead of the compiled-in one before reading the configuration.
        return ManagedProcess.startListening("nginx",
                List.of(nginx.toString(), "-p", dir.toString(), "-c", conf.toString(), "-e", errorLog.toString()),
                dir.resolve("nginx-stdout.log"), port, Duration.ofSeconds(10));
    }

    static String config(Path dir, int port, int upstreamPort, int workers) {
        boolean root = ProcessHandle.current().info().user().map("root"::equals).orElse(false);
        String d = dir.toAbsolutePath().toString();
        return (root ? "user root;\n" : "")
                + "worker_processes " + workers + ";\n"
                + "daemon off;\n"
                + "pid " + d + "/nginx.pid;\n"
                + "error_log " + d + "/nginx-error.log warn;\n"
                + "events {\n"
                + "    worker_connections 4096;\n"
                + "}\n"
                + "http {\n"
                + "    access_log off;\n"
                + "    client_body_temp_path " + d + "/client_body;\n"
                + "    proxy_temp_path " + d + "/proxy_temp;\n"
                + "    fastcgi_temp_path " + d + "/fastcgi_temp;\n"
                + "    uwsgi_temp_path " + d + "/uwsgi_temp;\n"
                + "    scgi_temp_path " + d + "/scgi_temp;\n"
                + "    client_body_buffer_size 2m;\n"
                + "    client_max_body_size 32m;\n"
                // The default (1000) would close every client connection after 1000 requests.
                + "    keepalive_requests 1000000;\n"
                + "    keepalive_timeout 75s;\n"
                + "    upstream mock {\n"
                + "        server 127.0.0.1:" + upstreamPort + ";\n"
                + "        keepalive 128;\n"
                + "        keepalive_requests 1000000;\n"
                + "    }\n"
                + "    server {\n"
                + "        listen 127.0.0.1:" + port + ";\n"
                + "        location / {\n"
                + "            proxy_pass http://mock;\n"
                + "            proxy_http_version 1.1;\n"
                + "            proxy_set_header Connection \"\";\n"
                + "            proxy_buffering off;\n"
                + "        }\n"
                + "    }\n"
                + "}\n";
    }
}
