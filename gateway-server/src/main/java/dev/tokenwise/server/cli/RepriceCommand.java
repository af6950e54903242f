package dev.tokenwise.server.cli;

import dev.tokenwise.core.config.ConfigException;
import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.core.config.ModelConfig;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.Money;
import dev.tokenwise.metrics.api.TimeRange;
import dev.tokenwise.metrics.ledger.Ledger;
import dev.tokenwise.metrics.ledger.PostgresLedger;
import dev.tokenwise.metrics.ledger.SqliteLedger;
import dev.tokenwise.providers.pricing.YamlPriceCatalog;
import dev.tokenwise.server.config.ConfigLoader;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * {@code tokenwise reprice --from ISO --to ISO [--apply] [--config PATH]}: recomputes the cost of every call recorded
 * in {@code [from, to)} under the prices the configuration gives today, and reports the difference per team and
 * model. Without {@code --apply} nothing is written. With it, one adjustment per call whose cost changes is written
 * to the ledger's {@code adjustments} table in one transaction, under one reprice id: the calls' own rows are never
 * edited, and {@code /api/v1/usage} totals (and the spend budgets restore at start-up) include the adjustments.
 * Running it again over the same period then reports no difference.
 *
 * <p>It opens the ledger file named by the configuration's {@code storage.path} (relative to the working directory,
 * as the gateway resolves it) as a second connection: SQLite's WAL lets it read and write while a gateway runs, and
 * its one transaction waits for the gateway's writer rather than fail. A running gateway's in-memory budgets do not
 * see adjustments until it restarts.
 */
final class RepriceCommand implements TokenwiseCli.Command {
    private final Clock clock;

    RepriceCommand() {
        this(Clock.systemUTC());
    }

    RepriceCommand(Clock clock) {
        this.clock = clock;
    }

    @Override
    public String summary() {
        return "recompute the costs of a period under the current prices; --apply writes adjusting entries";
    }

    private static void help(PrintStream to) {
        to.println("usage: tokenwise reprice --from ISO --to ISO [--apply] [--config PATH]");
        to.println("  --from, --to   the period [from, to): an instant (2026-11-28T10:15:30Z) or a UTC date (2026-11-28;");
        to.println("                 in --to, the end of that day)");
        to.println("  --apply        write one adjusting entry per call whose cost changes (default: report only)");
        to.println("  --config PATH  the gateway configuration, for its prices and ledger (default: config/gateway.yaml)");
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        Path config = Path.of("config", "gateway.yaml");
        String from = null;
        String to = null;
        boolean apply = false;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--help", "-h" -> {
                    help(out);
                    return TokenwiseCli.OK;
                }
                case "--apply" -> apply = true;
                case "--config", "-c", "--from", "--to" -> {
                    if (i + 1 >= args.length) {
                        err.println("tokenwise reprice: " + arg + " needs a value");
                        help(err);
                        return TokenwiseCli.USAGE;
                    }
                    String value = args[++i];
                    switch (arg) {
                        case "--from" -> from = value;
                        case "--to" -> to = value;
                        default -> config = Path.of(value);
                    }
                }
                default -> {
                    err.println("tokenwise reprice: unknown argument: " + arg);
                    help(err);
                    return TokenwiseCli.USAGE;
                }
            }
        }
        if (from == null || to == null) {
            err.println("tokenwise reprice: --from and --to are required");
            help(err);
            return TokenwiseCli.USAGE;
        }
        long fromMillis;
        long toMillis;
        try {
            // The same reading of instants and dates as the usage API's from and to.
            fromMillis = TimeRange.bound("--from", from, 0, false);
            toMillis = TimeRange.bound("--to", to, 0, true);
        } catch (GatewayException e) {
            err.println("tokenwise reprice: " + e.getMessage());
            return TokenwiseCli.USAGE;
        }
        if (toMillis <= fromMillis) {
            err.println("tokenwise reprice: --to must be after --from");
            return TokenwiseCli.USAGE;
        }
        GatewayConfig gateway;
        try {
            gateway = ConfigLoader.load(config, System.getenv(), YamlPriceCatalog::load);
        } catch (ConfigException e) {
            err.println("tokenwise reprice: invalid configuration: " + e.getMessage());
            return TokenwiseCli.FAILED;
        }
        Path ledgerFile = Path.of(gateway.storagePath());
        if (!gateway.storage().postgres() && !Files.isRegularFile(ledgerFile)) {
            err.println("tokenwise reprice: no ledger at " + ledgerFile.toAbsolutePath().normalize()
                    + " (storage.path of " + config + ", relative to the working directory)");
            return TokenwiseCli.FAILED;
        }
        Map<String, ModelConfig> models = gateway.models();
        try (Ledger ledger = gateway.storage().postgres()
                ? PostgresLedger.open(gateway.storage().url(), SqliteLedger.Sync.NORMAL)
                : SqliteLedger.open(ledgerFile, SqliteLedger.Sync.NORMAL)) {
            Repricer repricer = new Repricer(model -> {
                ModelConfig m = models.get(model);
                return m == null ? null : m.price();
            }, ledger.adjustmentsByRecord(fromMillis, toMillis));
            ledger.forEachRecord(fromMillis, toMillis, repricer::reprice);
            report(out, repricer.lines(), fromMillis, toMillis);
            List<Ledger.Adjustment> adjustments = repricer.adjustments();
            if (!apply) {
                out.println(adjustments.isEmpty() ? "Nothing to correct."
                        : "Report only: " + adjustments.size() + " call(s) would be adjusted; run with --apply to write"
                        + " the adjusting entries.");
            } else if (adjustments.isEmpty()) {
                out.println("Nothing to correct: no entry written.");
            } else {
                String repriceId = "rp_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
                int written = ledger.applyAdjustments(repriceId, adjustments, clock.millis());
                out.println("Applied: " + written + " adjusting entries written as reprice " + repriceId
                        + " (the calls' own rows are unchanged).");
            }
            return TokenwiseCli.OK;
        } catch (RuntimeException e) {
            err.println("tokenwise reprice: " + e.getMessage());
            return TokenwiseCli.FAILED;
        }
    }

    private static void report(PrintStream out, List<Repricer.Line> lines, long fromMillis, long toMillis) {
        out.println("Reprice of the calls recorded from " + Instant.ofEpochMilli(fromMillis) + " to "
                + Instant.ofEpochMilli(toMillis) + " under the current prices (USD):");
        out.printf("%-20s %-28s %8s %16s %16s %16s%n", "team", "model", "calls", "recorded", "repriced", "difference");
        long recorded = 0;
        long repriced = 0;
        long calls = 0;
        for (Repricer.Line l : lines) {
            out.printf("%-20s %-28s %8d %16s %16s %16s%s%n", l.team, l.model, l.calls, usd(l.recordedNanos),
                    usd(l.repricedNanos), signed(l.deltaNanos()),
                    l.unpriced > 0 ? "   (" + l.unpriced + " call(s) of a model without a current price: not re-rated)" : "");
            recorded += l.recordedNanos;
            repriced += l.repricedNanos;
            calls += l.calls;
        }
        out.printf("%-20s %-28s %8d %16s %16s %16s%n", "total", "", calls, usd(recorded), usd(repriced),
                signed(repriced - recorded));
    }

    private static String usd(long nanos) {
        return Money.toUsd(nanos).toPlainString();
    }

    private static String signed(long nanos) {
        return (nanos > 0 ? "+" : "") + usd(nanos);
    }
}
