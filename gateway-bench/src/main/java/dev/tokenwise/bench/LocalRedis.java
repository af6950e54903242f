package dev.tokenwise.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@code redis-server} of the bench's own for the cluster targets: on a free loopback port, working in
 * {@code dir}, persisting nothing ({@code --save '' --appendonly no}, as the cluster tests run it), stopped by
 * {@link #close} or, if the bench dies first, by {@link ManagedProcess}'s shutdown hook. {@link #info} reads the
 * counters the compare table derives Redis commands and bytes per call from.
 */
final class LocalRedis implements AutoCloseable {
    /** Where the Debian package installs it; {@code REDIS_SERVER} overrides. */
    static final String BINARY = System.getenv().getOrDefault("REDIS_SERVER", "/usr/bin/redis-server");

    private final ManagedProcess process;
    private final int port;

    private LocalRedis(ManagedProcess process, int port) {
        this.process = process;
        this.port = port;
    }

    static boolean installed() {
        return Files.isExecutable(Path.of(BINARY));
    }

    /** Starts the server and waits until it accepts connections. */
    static LocalRedis start(Path dir) throws IOException, InterruptedException {
        int port = CompareCommand.freePort();
        List<String> command = List.of(BINARY, "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", dir.toString());
        ManagedProcess process = ManagedProcess.startListening("redis-server", command, dir.resolve("redis.log"), port,
                Duration.ofSeconds(10));
        return new LocalRedis(process, port);
    }

    long pid() {
        return process.pid();
    }

    String url() {
        return "redis://127.0.0.1:" + port;
    }

    /**
     * The counters of {@code INFO commandstats} ({@code cmdstat_evalsha} and the like: calls of each command) and of
     * {@code INFO stats} ({@code total_net_input_bytes}, {@code total_net_output_bytes}, ...), as one map.
     */
    Map<String, Long> info() throws IOException {
        Map<String, Long> counters = new HashMap<>();
        for (String section : List.of("commandstats", "stats")) {
            for (String line : command("INFO", section).split("\r?\n")) {
                int colon = line.indexOf(':');
                if (line.isEmpty() || line.startsWith("#") || colon < 0) {
                    continue;
                }
                String name = line.substring(0, colon);
                String value = line.substring(colon + 1);
                if (name.startsWith("cmdstat_")) {
                    // cmdstat_evalsha:calls=12,usec=...
                    int end = value.indexOf(',');
                    counters.put(name, Long.parseLong(value.substring("calls=".length(), end < 0 ? value.length() : end)));
                } else if (value.matches("\\d+")) {
                    counters.put(name, Long.parseLong(value));
                }
            }
        }
        return counters;
    }

    /** Sends one command and returns its reply as text (an array's elements one per line). */
    String command(String... args) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
            socket.setSoTimeout(5_000);
            StringBuilder request = new StringBuilder("*" + args.length + "\r\n");
            for (String arg : args) {
                request.append('$').append(arg.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(arg)
                        .append("\r\n");
            }
            OutputStream out = socket.getOutputStream();
            out.write(request.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
            return readReply(socket.getInputStream());
        }
    }

    private static String readReply(InputStream in) throws IOException {
        String line = readLine(in);
        switch (line.charAt(0)) {
            case '$' -> {
                int length = Integer.parseInt(line.substring(1));
                if (length < 0) {
                    return "";
                }
                byte[] bytes = in.readNBytes(length + 2);
                return new String(bytes, 0, length, StandardCharsets.UTF_8);
            }
            case '*' -> {
                int n = Integer.parseInt(line.substring(1));
                StringBuilder all = new StringBuilder();
                for (int i = 0; i < n; i++) {
                    all.append(readReply(in)).append('\n');
                }
                return all.toString();
            }
            case '-' -> throw new IOException("redis-server: " + line.substring(1));
            default -> {
                return line.substring(1);
            }
        }
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
        throw new IOException("redis-server closed the connection mid-reply");
    }

    @Override
    public void close() {
        process.close();
    }
}
