package dev.tokenwise.bench;

import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the calls of one cluster target cost the shared stores, from their counters before and after: Redis commands
 * (by name) and network bytes per call from {@code INFO commandstats} and {@code INFO stats}, and PostgreSQL ledger
 * rows per call, bytes per row ({@code pg_total_relation_size} of {@code usage_records}, indexes and TOAST included)
 * and the insert rate and rows per commit the ledger writers achieved. {@code calls} are the calls the mock served
 * between the two snapshots (each gateway call is one upstream call), so the warm-up inside the measured run counts
 * on both sides of the division.
 *
 * @param calls calls served between the snapshots
 * @param seconds time between the snapshots
 * @param redisCommands calls of each Redis command (e.g. {@code evalsha}) between the snapshots, the bench's own
 *     {@code INFO} excluded
 * @param redisInputBytes bytes Redis received
 * @param redisOutputBytes bytes Redis sent
 * @param rows rows added to {@code usage_records}
 * @param tableBytes growth of {@code usage_records} with its indexes
 * @param commits transactions committed in the ledger's database ({@code pg_stat_database.xact_commit})
 */
record ClusterCosts(long calls, double seconds, Map<String, Long> redisCommands, long redisInputBytes,
                    long redisOutputBytes, long rows, long tableBytes, long commits) {

    ClusterCosts {
        redisCommands = Map.copyOf(redisCommands);
    }

    /** The counters at one instant. */
    record Snapshot(long nanos, long callsServed, Map<String, Long> redis, long rows, long tableBytes, long commits) {

        /** The counters now; PostgreSQL's as zeros when {@code database} is {@code null} (a ledger on SQLite). */
        static Snapshot take(long callsServed, LocalRedis redis, LocalPostgres postgres, String database)
                throws IOException {
            String[] pg = database == null ? new String[] {"0", "0", "0"} : postgres.query(database, "SELECT (SELECT count(*) FROM usage_records),"
                    + " pg_total_relation_size('usage_records'),"
                    + " (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())").split("\\|");
            return new Snapshot(System.nanoTime(), callsServed, redis.info(), Long.parseLong(pg[0]),
                    Long.parseLong(pg[1]), Long.parseLong(pg[2]));
        }

        static long rows(LocalPostgres postgres, String database) throws IOException {
            return Long.parseLong(postgres.query(database, "SELECT count(*) FROM usage_records"));
        }
    }

    static ClusterCosts between(Snapshot before, Snapshot after) {
        Map<String, Long> commands = new TreeMap<>();
        after.redis().forEach((name, value) -> {
            if (name.startsWith("cmdstat_") && !name.equals("cmdstat_info")) {
                long delta = value - before.redis().getOrDefault(name, 0L);
                if (delta > 0) {
                    commands.put(name.substring("cmdstat_".length()), delta);
                }
            }
        });
        return new ClusterCosts(after.callsServed() - before.callsServed(), (after.nanos() - before.nanos()) / 1e9,
                commands, delta(before, after, "total_net_input_bytes"), delta(before, after, "total_net_output_bytes"),
                after.rows() - before.rows(), after.tableBytes() - before.tableBytes(), after.commits() - before.commits());
    }

    private static long delta(Snapshot before, Snapshot after, String counter) {
        return after.redis().getOrDefault(counter, 0L) - before.redis().getOrDefault(counter, 0L);
    }

    long redisCommandCount() {
        return redisCommands.values().stream().mapToLong(Long::longValue).sum();
    }

    double perCall(double value) {
        return calls == 0 ? Double.NaN : value / calls;
    }

    double bytesPerRow() {
        return rows == 0 ? Double.NaN : (double) tableBytes / rows;
    }

    double rowsPerSecond() {
        return rows / seconds;
    }

    double rowsPerCommit() {
        return commits == 0 ? Double.NaN : (double) rows / commits;
    }

    /** Each command's calls per call, e.g. {@code evalsha 2.00, get 0.01}. */
    String commandsPerCall() {
        StringBuilder text = new StringBuilder();
        // The most used first, then by name: Map.copyOf's order changes from one JVM to the next.
        redisCommands.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .forEach(e -> text.append(text.isEmpty() ? "" : ", ")
                        .append(String.format(java.util.Locale.ROOT, "%s %.3f", e.getKey(), perCall(e.getValue()))));
        return text.toString();
    }
}
