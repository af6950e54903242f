package dev.tokenwise.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ClusterCostsTest {

    @Test
    void dividesWhatTheStoresDidBetweenTwoSnapshotsByTheCallsServedLeavingOutTheBenchsOwnInfo() {
        ClusterCosts.Snapshot before = new ClusterCosts.Snapshot(0, 500, Map.of("cmdstat_evalsha", 10L,
                "cmdstat_info", 4L, "total_net_input_bytes", 1_000L, "total_net_output_bytes", 100L), 490, 81_920, 7);
        ClusterCosts.Snapshot after = new ClusterCosts.Snapshot(2_000_000_000L, 1_500, Map.of("cmdstat_evalsha", 3_010L,
                "cmdstat_get", 8L, "cmdstat_info", 6L, "total_net_input_bytes", 701_000L,
                "total_net_output_bytes", 96_100L), 1_490, 531_920, 27);

        ClusterCosts costs = ClusterCosts.between(before, after);

        assertEquals(1_000, costs.calls());
        assertEquals(Map.of("evalsha", 3_000L, "get", 8L), costs.redisCommands());
        assertEquals(3.008, costs.perCall(costs.redisCommandCount()), 1e-9);
        assertEquals(700.0, costs.perCall(costs.redisInputBytes()), 1e-9);
        assertEquals(96.0, costs.perCall(costs.redisOutputBytes()), 1e-9);
        assertEquals(1.0, costs.perCall(costs.rows()), 1e-9);
        assertEquals(450.0, costs.bytesPerRow(), 1e-9);
        assertEquals(500.0, costs.rowsPerSecond(), 1e-9);
        assertEquals(50.0, costs.rowsPerCommit(), 1e-9);
        assertEquals("evalsha 3.000, get 0.008", costs.commandsPerCall());
    }
}
