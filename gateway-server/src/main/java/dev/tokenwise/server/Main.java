package dev.tokenwise.server;

import dev.tokenwise.core.config.ConfigException;
import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.providers.pricing.YamlPriceCatalog;
import dev.tokenwise.server.config.ConfigLoader;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code java -jar tokenwise-gateway.jar [--config config/gateway.yaml]}: runs the gateway until SIGTERM or Ctrl-C. */
public final class Main {
    private static final long SHUTDOWN_GRACE_MILLIS = 10_000;
    /**
     * Netty's leak detector samples one buffer allocation in 128 by default and records a stack trace for each:
     * on a gateway's hot path that was about 2 % of its CPU. One in 4,096 still reports a leak that recurs,
     * within seconds under load; {@code -Dio.netty.leakDetection.samplingInterval=N} (or {@code .level}) overrides.
     */
    private static final String LEAK_SAMPLING = "io.netty.leakDetection.samplingInterval";
    private static final String LEAK_SAMPLING_DEFAULT = "4096";
    /**
     * Netty keeps up to this many recycled objects of a kind (buffer handles, cache entries, outbound entries) per
     * thread before it moves them to a shared queue and checks whether their thread has ended. Its default of 32 is
     * less than one event loop frees in one pass over a few dozen busy connections.
     */
    private static final String RECYCLER_CHUNK = "io.netty.recycler.chunkSize";
    private static final String RECYCLER_CHUNK_DEFAULT = "256";

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        if (System.getProperty(LEAK_SAMPLING) == null) {
            // Before any Netty class reads it.
            System.setProperty(LEAK_SAMPLING, LEAK_SAMPLING_DEFAULT);
        }
        if (System.getProperty(RECYCLER_CHUNK) == null) {
            System.setProperty(RECYCLER_CHUNK, RECYCLER_CHUNK_DEFAULT);
        }
        Path configPath = Path.of("config", "gateway.yaml");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--config", "-c" -> {
                    if (i + 1 >= args.length) {
                        usage("--config needs a path");
                    }
                    configPath = Path.of(args[++i]);
                }
                case "--help", "-h" -> {
                    System.out.println("usage: gateway [--config PATH]   (default: config/gateway.yaml)");
                    return;
                }
                default -> usage("unknown argument: " + args[i]);
            }
        }
        Logger log = LoggerFactory.getLogger(Main.class);
        GatewayConfig config;
        try {
            config = ConfigLoader.load(configPath, System.getenv(), YamlPriceCatalog::load);
        } catch (ConfigException e) {
            System.err.println("tokenwise: invalid configuration: " + e.getMessage());
            System.exit(2);
            return;
        }
        GatewayApp app = GatewayApp.start(config);
        log.info("{}", String.join(System.lineSeparator(), app.readyBlock()));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("Shutting down: finishing in-flight calls (up to {} ms) and flushing records", SHUTDOWN_GRACE_MILLIS);
            long unwritten = app.shutdown(SHUTDOWN_GRACE_MILLIS);
            stopped.countDown();
            if (unwritten == 0) {
                log.info("Stopped cleanly");
                // Everything is flushed: end with status 0 rather than the signal's 143.
                Runtime.getRuntime().halt(0);
            }
            log.error("Stopped, but the records of {} calls were not written to the ledger (see the errors above)",
                    unwritten);
            Runtime.getRuntime().halt(1);
        }, "tokenwise-shutdown"));
        stopped.await();
    }

    private static void usage(String problem) {
        System.err.println("tokenwise: " + problem + "\nusage: gateway [--config PATH]");
        System.exit(2);
    }
}
