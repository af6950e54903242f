package dev.tokenwise.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A child process under test (nginx, the gateway) with its output in a log file. A shutdown hook
 * destroys whatever is still running when the bench exits, so an interrupted run leaves no server behind.
 */
final class ManagedProcess implements AutoCloseable {
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly), "bench-reaper"));
    }

    private final String name;
    private final Process process;
    private final Path log;

    private ManagedProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    static ManagedProcess start(String name, List<String> command, Path log) throws IOException {
        Process process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        LIVE.add(process);
        return new ManagedProcess(name, process, log);
    }

    /** Starts {@code command} and waits until it accepts connections on {@code port}; stops it if it does not. */
    static ManagedProcess startListening(String name, List<String> command, Path log, int port, Duration timeout)
            throws IOException, InterruptedException {
        ManagedProcess process = start(name, command, log);
        try {
            process.awaitTcp(port, timeout);
            return process;
        } catch (IOException | InterruptedException e) {
            process.close();
            throw e;
        }
    }

    long pid() {
        return process.pid();
    }

    Path log() {
        return log;
    }

    /** Waits until {@code port} accepts a connection. */
    void awaitTcp(int port, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            checkAlive();
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
                return;
            } catch (IOException notYet) {
                pauseOrFail(deadline, timeout, "port " + port + " to accept connections");
            }
        }
    }

    /** Waits until a GET of {@code uri} answers 200. */
    void awaitHttpOk(URI uri, Duration timeout) throws IOException, InterruptedException {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).GET().build();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            checkAlive();
            try {
                if (client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // Not listening yet; retry below.
            }
            pauseOrFail(deadline, timeout, uri + " to answer 200");
        }
    }

    private void checkAlive() throws IOException {
        if (!process.isAlive()) {
            throw new IOException(name + " exited with status " + process.exitValue() + "; last lines of " + log + ":\n"
                    + logTail(20));
        }
    }

    private void pauseOrFail(long deadlineNanos, Duration timeout, String what) throws IOException, InterruptedException {
        if (System.nanoTime() - deadlineNanos > 0) {
            throw new IOException(name + " did not get ready within " + timeout.toSeconds() + " s (waiting for " + what
                    + "); last lines of " + log + ":\n" + logTail(20));
        }
        Thread.sleep(200);
    }

    /** The last {@code lines} lines of the log, for error messages. */
    String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | RuntimeException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    /** SIGTERM, then SIGKILL after 10 s (at once if this thread is interrupted, whose flag is kept). */
    @Override
    public void close() {
        try {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            LIVE.remove(process);
        }
    }
}
