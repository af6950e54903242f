package dev.tokenwise.core.config;

import static dev.tokenwise.core.config.Checks.checkPositive;

import java.time.Duration;
import java.util.Objects;

/**
 * Where and how the gateway listens.
 *
 * @param host address to bind, {@code 127.0.0.1} by default
 * @param port TCP port, {@code 0} picks a free one (tests)
 * @param maxRequestBytes largest request body accepted; larger bodies get 413 before they are read
 * @param maxHeaderBytes largest request head (request line plus headers); larger get 431
 * @param ioThreads event loop threads; {@code 0} means one per core
 * @param workerThreads threads for CPU work that may take longer than a few microseconds (tokenizing large text)
 * @param requestReadTimeout time a client has to send a complete request before the connection is closed
 */
public record ServerConfig(String host, int port, long maxRequestBytes, int maxHeaderBytes,
                           int ioThreads, int workerThreads, Duration requestReadTimeout) {

    public static final long DEFAULT_MAX_REQUEST_BYTES = 32L * 1024 * 1024;

    public ServerConfig {
        Objects.requireNonNull(host, "server.host");
        if (port < 0 || port > 65535) {
            throw new ConfigException("server.port: " + port + " (expected: 0..65535)");
        }
        checkPositive(maxRequestBytes, "server.max_request_bytes");
        if (maxRequestBytes > Integer.MAX_VALUE - 8) {
            throw new ConfigException("server.max_request_bytes: " + maxRequestBytes + " (expected: < 2 GiB)");
        }
        checkPositive(maxHeaderBytes, "server.max_header_bytes");
        if (ioThreads < 0) {
            throw new ConfigException("server.io_threads: " + ioThreads + " (expected: >= 0)");
        }
        checkPositive(workerThreads, "server.worker_threads");
        Checks.checkPositive(requestReadTimeout, "server.request_read_timeout");
    }

    public static ServerConfig defaults() {
        return new ServerConfig("127.0.0.1", 8080, DEFAULT_MAX_REQUEST_BYTES, 16 * 1024, 0,
                Math.max(2, Runtime.getRuntime().availableProcessors()), Duration.ofSeconds(30));
    }
}
