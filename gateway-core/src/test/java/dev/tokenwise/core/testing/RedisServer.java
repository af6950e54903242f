package dev.tokenwise.core.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real {@code redis-server} for tests, on a free port of the loopback interface, working in a temporary directory
 * and persisting nothing. It can be stopped and started again on the same port (the "Redis went down" cases), and
 * must be {@link #close closed} in {@code @AfterAll} (or a {@code finally}). When the server cannot be started the
 * test fails with the reason: a missing {@code redis-server} is an error of the machine, never a reason to skip.
 *
 * <pre>{@code
 * static RedisServer redis;
 * @BeforeAll static void start() { redis = RedisServer.start(); }
 * @AfterAll static void stop() { redis.close(); }
 * ... "cluster:\n  redis_url: " + redis.url() ...
 * }</pre>
 */
public final class RedisServer implements AutoCloseable {
    /** Where the Debian package installs it; {@code REDIS_SERVER} overrides. */
    private static final String BINARY = System.getenv().getOrDefault("REDIS_SERVER", "/usr/bin/redis-server");
    private static final long START_TIMEOUT_MILLIS = 10_000;

    private final Path dir;
    private final int port;
    private Process process;

    private RedisServer(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    /** Starts a server on a free port; throws {@link IllegalStateException} saying why when it cannot. */
    public static RedisServer start() {
        if (!Files.isExecutable(Path.of(BINARY))) {
            throw new IllegalStateException(BINARY + " is not installed (apt-get install redis-server, or set"
                    + " REDIS_SERVER to its path): the cluster tests need a real Redis");
        }
        Path dir;
        try {
            dir = Files.createTempDirectory("tokenwise-redis");
        } catch (IOException e) {
            throw new IllegalStateException("no temporary directory for redis-server: " + e, e);
        }
        RedisServer server = new RedisServer(dir, freePort());
        server.startProcess();
        return server;
    }

    /** {@code redis://127.0.0.1:PORT}. */
    public String url() {
        return "redis://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** {@code true} while the process runs. */
    public synchronized boolean running() {
        return process != null && process.isAlive();
    }

    /** Stops the server (SIGKILL: what a crash or a pulled cable looks like to clients) and waits for it to exit. */
    public synchronized void stop() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    /** Starts the server again on the same port, empty (it persists nothing). */
    public synchronized void restart() {
        stop();
        startProcess();
    }

    /** Sends one command (inline protocol) and returns the raw reply, e.g. {@code command("INFO", "commandstats")}. */
    public String command(String... args) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
            socket.setSoTimeout(5_000);
            StringBuilder resp = new StringBuilder("*" + args.length + "\r\n");
            for (String arg : args) {
                resp.append('$').append(arg.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(arg)
                        .append("\r\n");
            }
            OutputStream out = socket.getOutputStream();
            out.write(resp.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
            return readReply(socket.getInputStream());
        } catch (IOException e) {
            throw new IllegalStateException("redis-server on port " + port + " did not answer: " + e, e);
        }
    }

    private static String readReply(InputStream in) throws IOException {
        String line = readLine(in);
        char kind = line.charAt(0);
        if (kind == '$') {
            int length = Integer.parseInt(line.substring(1));
            if (length < 0) {
                return null;
            }
            byte[] bytes = in.readNBytes(length + 2);
            return new String(bytes, 0, length, StandardCharsets.UTF_8);
        }
        if (kind == '*') {
            int n = Integer.parseInt(line.substring(1));
            StringBuilder all = new StringBuilder();
            for (int i = 0; i < n; i++) {
                all.append(readReply(in)).append('\n');
            }
            return all.toString();
        }
        return line.substring(1);
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\r') {
                in.read(); // '\n'
                return line.toString();
            }
            line.append((char) c);
        }
        throw new IOException("connection closed mid-reply");
    }

    /** How many times Redis ran {@code command} (lower case, e.g. {@code evalsha}) since it started, from {@code INFO commandstats}. */
    public long calls(String command) {
        String info = command("INFO", "commandstats");
        String prefix = "cmdstat_" + command + ":calls=";
        for (String line : info.split("\r?\n")) {
            if (line.startsWith(prefix)) {
                int end = line.indexOf(',', prefix.length());
                return Long.parseLong(line.substring(prefix.length(), end));
            }
        }
        return 0;
    }

    private synchronized void startProcess() {
        Path log = dir.resolve("redis.log");
        List<String> command = List.of(BINARY, "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", dir.toString(), "--logfile", log.toString());
        try {
            process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("redis.out").toFile()).start();
        } catch (IOException e) {
            throw new IllegalStateException("could not run " + BINARY + ": " + e, e);
        }
        long deadline = System.currentTimeMillis() + START_TIMEOUT_MILLIS;
        while (System.currentTimeMillis() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("redis-server exited with " + process.exitValue() + " on port " + port
                        + ": " + tail(log) + tail(dir.resolve("redis.out")));
            }
            try {
                if ("PONG".equals(command("PING"))) {
                    return;
                }
            } catch (IllegalStateException notYet) {
                // not listening yet
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        process.destroyForcibly();
        throw new IllegalStateException("redis-server did not answer PING on port " + port + " within "
                + START_TIMEOUT_MILLIS + " ms: " + tail(log));
    }

    private static String tail(Path file) {
        try {
            String text = Files.readString(file);
            return text.length() > 2_000 ? text.substring(text.length() - 2_000) : text;
        } catch (IOException e) {
            return "";
        }
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("no free port: " + e, e);
        }
    }

    /** Stops the server and deletes its directory. */
    @Override
    public synchronized void close() {
        stop();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temporary directory left behind is harmless
        }
    }
}
