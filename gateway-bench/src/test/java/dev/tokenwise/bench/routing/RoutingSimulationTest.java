package dev.tokenwise.bench.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.metrics.routing.RoutePolicy;
import java.util.List;
import org.junit.jupiter.api.Test;

class RoutingSimulationTest {
    private static final RoutePolicy.Settings DEFAULTS = RoutingSimulation.settings(0.05,
            RoutePolicy.Settings.DEFAULT_WINDOW, RoutePolicy.Settings.DEFAULT_FADE_WINDOW);

    @Test
    void theOracleIsTheCheapestCandidateAtTheBarOrElseTheBest() {
        assertEquals(1, RoutingSimulation.oracle(new double[] {0.55, 0.93, 0.98}));
        assertEquals(0, RoutingSimulation.oracle(new double[] {0.95, 0.93, 0.98}));
        assertEquals(2, RoutingSimulation.oracle(new double[] {0.5, 0.6, 0.7}));
    }

    @Test
    void theDefaultPolicyMeetsTheBarAndFollowsBothChanges() {
        List<RoutingSimulation.Scenario> scenarios = RoutingSimulation.scenarios(1_000);
        RoutingSimulation.Result stationary = RoutingSimulation.run(scenarios.get(0), 10, 1_000, DEFAULTS);
        assertTrue(stationary.minPassRate() >= RoutingSimulation.BAR, stationary.toString());
        assertTrue(stationary.costRegret() < 1.0, stationary.toString());
        RoutingSimulation.Result degrades = RoutingSimulation.run(scenarios.get(2), 10, 1_000, DEFAULTS);
        assertEquals(0, degrades.switchMissed(), degrades.toString());
        assertTrue(degrades.switchP90() <= 60, degrades.toString());
        RoutingSimulation.Result improves = RoutingSimulation.run(scenarios.get(3), 10, 1_000, DEFAULTS);
        assertEquals(0, improves.switchMissed(), improves.toString());
    }
}
