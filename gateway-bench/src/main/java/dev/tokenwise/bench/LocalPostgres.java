package dev.tokenwise.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A PostgreSQL server of the bench's own for the cluster targets: {@code initdb} in a directory of its own, then
 * {@code pg_ctl start} on a free loopback port, as the {@code postgres} user when the bench runs as root (PostgreSQL
 * refuses root). The binaries are the Debian package's ({@code /usr/lib/postgresql/<version>/bin}) or those of
 * {@code TOKENWISE_PG_BIN}. {@code pg_ctl} detaches the server, so {@link #close} stops it with
 * {@code pg_ctl stop -m fast}, and a shutdown hook does the same if the bench exits before. {@link #query} runs
 * {@code psql} for the figures the compare table reports (rows and bytes of the ledger per call).
 */
final class LocalPostgres implements AutoCloseable {
    /** The superuser the cluster is created with (trust authentication on 127.0.0.1). */
    static final String USER = "tokenwise";

    private final Path bin;
    private final Path dir;
    private final int port;
    private final boolean asPostgresUser;
    private boolean running;
    private Thread stopAtExit;

    private LocalPostgres(Path bin, Path dir, int port, boolean asPostgresUser) {
        this.bin = bin;
        this.dir = dir;
        this.port = port;
        this.asPostgresUser = asPostgresUser;
    }

    /** The directory of {@code pg_ctl}, {@code initdb} and {@code psql}, if PostgreSQL is installed. */
    static Optional<Path> findBin() {
        String configured = System.getenv("TOKENWISE_PG_BIN");
        if (configured != null && !configured.isBlank()) {
            return Optional.of(Path.of(configured));
        }
        try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
            return versions.map(v -> v.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("pg_ctl")))
                    .max(Comparator.comparing(b -> Integer.parseInt(b.getParent().getFileName().toString()
                            .replaceAll("\\D", "0"))));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Creates a cluster in a temporary directory of its own (the {@code postgres} user must reach it, which it cannot
     * inside the bench's owner-only one) and starts it; stops it and throws, saying why, if it cannot.
     */
    static LocalPostgres start(Path bin) throws IOException {
        boolean root = "root".equals(System.getProperty("user.name"));
        Path dir = Files.createTempDirectory("tokenwise-bench-pg-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        LocalPostgres server = new LocalPostgres(bin, dir, CompareCommand.freePort(), root);
        server.stopAtExit = new Thread(server::close, "bench-postgres-stop");
        Runtime.getRuntime().addShutdownHook(server.stopAtExit);
        try {
            if (root) {
                server.run(List.of("chown", "postgres:postgres", dir.toString()), false, 10);
            }
            server.run(List.of(bin.resolve("initdb").toString(), "-D", dir.resolve("data").toString(), "-A", "trust",
                    "-U", USER, "-E", "UTF8", "--no-sync"), true, 120);
            server.run(List.of(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-o",
                    "-p " + server.port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c max_connections=100",
                    "-l", dir.resolve("log").toString(), "-w", "-t", "60", "start"), true, 90);
            server.running = true;
            return server;
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
    }

    /** The postmaster's pid (its backends are its children), from {@code postmaster.pid}; 0 if unreadable. */
    long pid() {
        try {
            return Long.parseLong(Files.readAllLines(dir.resolve("data").resolve("postmaster.pid")).get(0).strip());
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** Creates database {@code name} and returns its JDBC URL. */
    String createDatabase(String name) throws IOException {
        run(List.of(bin.resolve("createdb").toString(), "-h", "127.0.0.1", "-p", String.valueOf(port), "-U", USER, name),
                false, 30);
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + name + "?user=" + USER;
    }

    /** Runs {@code sql} in {@code database} with {@code psql} and returns its unaligned, tuples-only output. */
    String query(String database, String sql) throws IOException {
        return run(List.of(bin.resolve("psql").toString(), "-h", "127.0.0.1", "-p", String.valueOf(port), "-U", USER,
                "-d", database, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql), false, 30).strip();
    }

    @Override
    public synchronized void close() {
        if (stopAtExit != null && Thread.currentThread() != stopAtExit) {
            try {
                Runtime.getRuntime().removeShutdownHook(stopAtExit);
            } catch (IllegalStateException alreadyExiting) {
                // the hook runs anyway
            }
            stopAtExit = null;
        }
        if (running) {
            running = false;
            try {
                run(List.of(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "fast", "-w",
                        "stop"), true, 60);
            } catch (IOException | RuntimeException e) {
                System.err.println("postgres: could not stop the bench's server in " + dir + ": " + e.getMessage());
                return; // its files stay with it
            }
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary directory left behind is harmless
        }
    }

    private String run(List<String> command, boolean asServerUser, int timeoutSeconds) throws IOException {
        List<String> full = new ArrayList<>();
        if (asServerUser && asPostgresUser) {
            full.addAll(List.of("su", "postgres", "-s", "/bin/sh", "-c", shellQuote(command)));
        } else {
            full.addAll(command);
        }
        Path output = Files.createTempFile("bench-pg-", ".out");
        try {
            Process process = new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(output.toFile()).start();
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not end within " + timeoutSeconds + " s");
            }
            String text = Files.readString(output, StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + " exited with " + process.exitValue() + ": "
                        + text.strip());
            }
            return text;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + command.get(0), e);
        } finally {
            Files.deleteIfExists(output);
        }
    }

    private static String shellQuote(List<String> command) {
        StringBuilder line = new StringBuilder();
        for (String arg : command) {
            line.append(line.isEmpty() ? "" : " ").append('\'').append(arg.replace("'", "'\\''")).append('\'');
        }
        return line.toString();
    }
}
