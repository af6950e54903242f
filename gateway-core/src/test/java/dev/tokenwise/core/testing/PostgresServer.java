package dev.tokenwise.core.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real PostgreSQL server for tests, in a temporary directory, on a free port: {@code initdb} once, then
 * {@code pg_ctl start}/{@code stop} (so a test can take the database away and bring it back), and
 * {@link #createDatabase} for a fresh database per test, as initdb takes seconds. Run as the {@code postgres} user
 * when the tests run as root (PostgreSQL refuses to run as root), directly otherwise. The binaries are those of the
 * Debian package {@code postgresql} ({@code /usr/lib/postgresql/<version>/bin}), or of {@code TOKENWISE_PG_BIN}.
 *
 * <p>A server that cannot start throws {@link IllegalStateException} saying why: tests that need PostgreSQL
 * fail, they are never skipped.
 *
 * <pre>{@code
 * @RegisterExtension static final PostgresServer.PerClass postgres = new PostgresServer.PerClass();
 * @Test void something() { String url = postgres.server().createDatabase(); ... }
 * }</pre>
 */
public final class PostgresServer implements AutoCloseable {
    /** The role the server is created with (superuser, trust authentication on 127.0.0.1). */
    public static final String USER = "tokenwise";
    private static final AtomicInteger DATABASES = new AtomicInteger();

    private final Path bin;
    private final Path dir;
    private final int port;
    private final boolean asPostgresUser;
    private volatile boolean running;
    private Thread stopAtExit;

    private PostgresServer(Path bin, Path dir, int port, boolean asPostgresUser) {
        this.bin = bin;
        this.dir = dir;
        this.port = port;
        this.asPostgresUser = asPostgresUser;
    }

    /** Creates a cluster in a new temporary directory and starts it on a free port. */
    public static PostgresServer start() {
        Path bin = findBin();
        boolean root = "root".equals(System.getProperty("user.name"));
        Path dir;
        try {
            dir = Files.createTempDirectory("tokenwise-pg");
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (IOException e) {
            throw new IllegalStateException("PostgreSQL for tests: cannot create a temporary directory: " + e, e);
        }
        PostgresServer server = new PostgresServer(bin, dir, freePort(), root);
        // A test JVM ended without its @AfterAll (a timeout, a kill) still stops its server.
        Thread stopAtExit = new Thread(server::close, "tokenwise-pg-stop");
        Runtime.getRuntime().addShutdownHook(stopAtExit);
        server.stopAtExit = stopAtExit;
        try {
            if (root) {
                server.run(List.of("chown", "postgres:postgres", dir.toString()), false, 10);
            }
            server.run(List.of(bin.resolve("initdb").toString(), "-D", dir.resolve("data").toString(), "-A", "trust",
                    "-U", USER, "-E", "UTF8", "--no-sync"), true, 120);
            server.startAgain();
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
        return server;
    }

    private static Path findBin() {
        String configured = System.getenv("TOKENWISE_PG_BIN");
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        Path base = Path.of("/usr/lib/postgresql");
        try (Stream<Path> versions = Files.list(base)) {
            return versions.map(v -> v.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("pg_ctl")))
                    .max(Comparator.comparing(b -> Integer.parseInt(b.getParent().getFileName().toString().replaceAll("\\D", "0"))))
                    .orElseThrow(() -> new IllegalStateException("PostgreSQL for tests: no pg_ctl under " + base
                            + " (install the Debian package postgresql, or set TOKENWISE_PG_BIN)"));
        } catch (IOException e) {
            throw new IllegalStateException("PostgreSQL for tests: PostgreSQL is not installed (" + base
                    + " is missing; install the Debian package postgresql, or set TOKENWISE_PG_BIN)", e);
        }
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public int port() {
        return port;
    }

    public boolean running() {
        return running;
    }

    /** A JDBC URL of {@code database} on this server. */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database + "?user=" + USER;
    }

    /** Creates a new empty database and returns its JDBC URL. */
    public String createDatabase() {
        String name = "test_" + ProcessHandle.current().pid() + "_" + DATABASES.incrementAndGet();
        run(List.of(bin.resolve("createdb").toString(), "-h", "127.0.0.1", "-p", String.valueOf(port), "-U", USER, name),
                false, 30);
        return jdbcUrl(name);
    }

    /** Stops the server at once ({@code pg_ctl stop -m fast}); its data stays for {@link #startAgain}. */
    public synchronized void stop() {
        if (!running) {
            return;
        }
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "fast", "-w", "stop"),
                true, 60);
        running = false;
    }

    /** Starts the (stopped) server again on the same port, waiting until it accepts connections. */
    public synchronized void startAgain() {
        if (running) {
            return;
        }
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-o",
                "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
                "-l", dir.resolve("log").toString(), "-w", "-t", "60", "start"), true, 90);
        running = true;
    }

    /** The server's log so far, for failure messages. */
    public String log() {
        try {
            return Files.readString(dir.resolve("log"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** Stops the server and deletes its directory. */
    @Override
    public synchronized void close() {
        if (stopAtExit != null && Thread.currentThread() != stopAtExit) {
            try {
                Runtime.getRuntime().removeShutdownHook(stopAtExit);
            } catch (IllegalStateException alreadyExiting) {
                // the hook runs (or ran) anyway
            }
            stopAtExit = null;
        }
        try {
            if (running) {
                stop();
            }
        } catch (RuntimeException e) {
            running = false;
        } finally {
            deleteQuietly(dir);
        }
    }

    private void run(List<String> command, boolean asServerUser, int timeoutSeconds) {
        List<String> full = new ArrayList<>();
        if (asServerUser && asPostgresUser) {
            full.addAll(List.of("su", "postgres", "-s", "/bin/sh", "-c", shellQuote(command)));
        } else {
            full.addAll(command);
        }
        Path output = dir.resolve("command-" + System.nanoTime() + ".out");
        try {
            Process process = new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(output.toFile()).start();
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("PostgreSQL for tests: " + String.join(" ", command) + " did not end within "
                        + timeoutSeconds + " s");
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException("PostgreSQL for tests: " + String.join(" ", command) + " exited with "
                        + process.exitValue() + ": " + read(output) + "\nserver log: " + log());
            }
        } catch (IOException e) {
            throw new IllegalStateException("PostgreSQL for tests: cannot run " + command.get(0) + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("PostgreSQL for tests: interrupted while running " + command.get(0), e);
        } finally {
            try {
                Files.deleteIfExists(output);
            } catch (IOException ignored) {
                // a leftover output file goes with the directory
            }
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return "(no output)";
        }
    }

    private static String shellQuote(List<String> command) {
        StringBuilder line = new StringBuilder();
        for (String arg : command) {
            line.append(line.isEmpty() ? "" : " ").append('\'').append(arg.replace("'", "'\\''")).append('\'');
        }
        return line.toString();
    }

    private static void deleteQuietly(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: a temporary directory
                }
            });
        } catch (IOException ignored) {
            // already gone
        }
    }

    /**
     * One server for a test class, as a JUnit extension: started before the class's first test (and before its own
     * {@code @BeforeAll} methods), stopped after its last, whatever happened in between.
     */
    public static final class PerClass implements BeforeAllCallback, AfterAllCallback {
        private volatile PostgresServer server;

        @Override
        public void beforeAll(ExtensionContext context) {
            server = PostgresServer.start();
        }

        @Override
        public void afterAll(ExtensionContext context) {
            PostgresServer s = server;
            server = null;
            if (s != null) {
                s.close();
            }
        }

        /** The class's server; only between its first and last test. */
        public PostgresServer server() {
            PostgresServer s = server;
            if (s == null) {
                throw new IllegalStateException("the PostgreSQL server of this test class is not running");
            }
            return s;
        }
    }
}
