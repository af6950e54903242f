package dev.tokenwise.metrics.efficiency;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.metrics.ledger.TaskRow;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.LongFunction;
import org.junit.jupiter.api.Test;

/** The sequential tests on generated tasks (no ledger): drops, mix changes, dispersion, hysteresis. */
class ModelMonitorTest {
    private static final long DAY = 86_400_000L;
    private static final DriftSettings S = DriftSettings.DEFAULTS;

    /** One team's tasks of a day. */
    private record Team(String name, int tasksPerDay, double success, double outputTokens) {
    }

    private final SplittableRandom random = new SplittableRandom(7);
    private long ids;

    private List<TaskRow> day(long day, double dayEffect, List<Team> teams) {
        List<TaskRow> rows = new ArrayList<>();
        for (Team t : teams) {
            for (int i = 0; i < t.tasksPerDay(); i++) {
                long at = day * DAY + (long) (random.nextDouble() * DAY);
                boolean ok = random.nextDouble() < Math.min(1, Math.max(0, t.success() + dayEffect));
                long out = Math.max(1, Math.round(t.outputTokens() * Math.exp(0.4 * random.nextGaussian())));
                rows.add(new TaskRow(t.name(), "t" + ids++, "m", at, 1, 0, 0, 300, out, 300 * 2 + out * 8, ok));
            }
        }
        rows.sort(java.util.Comparator.comparingLong(TaskRow::lastAtMillis));
        return rows;
    }

    private ModelMonitor fit(LongFunction<List<TaskRow>> days) {
        List<TaskRow> rows = new ArrayList<>();
        for (long d = 0; d < S.referenceDays(); d++) {
            rows.addAll(days.apply(d));
        }
        return ModelMonitor.fit(ModelMonitor.Kind.TRAFFIC, "m", rows, r -> r.lastAtMillis() / DAY,
                S.referenceDays() / 365.0, "days 0 to " + (S.referenceDays() - 1), S);
    }

    /** Feeds days from {@code from} on, checking four times a day; returns the metric's openings by day. */
    private List<Long> run(ModelMonitor m, long from, long to, String metric, LongFunction<List<TaskRow>> days,
                           List<DriftFinding> last) {
        List<Long> openings = new ArrayList<>();
        for (long d = from; d < to; d++) {
            List<TaskRow> rows = days.apply(d);
            for (int quarter = 1; quarter <= 4; quarter++) {
                long until = d * DAY + quarter * DAY / 4;
                rows.stream().filter(r -> r.lastAtMillis() < until && r.lastAtMillis() >= until - DAY / 4)
                        .forEach(m::observe);
                for (DriftFinding f : m.check(type -> true)) {
                    if (f.metric().equals(metric)) {
                        if (f.opened()) {
                            openings.add(d);
                        }
                        if (last != null) {
                            last.clear();
                            last.add(f);
                        }
                    }
                }
            }
        }
        return openings;
    }

    @Test
    void catchesATenPointDropInSuccessWithinDaysAndSaysFromWhatToWhat() {
        List<Team> before = List.of(new Team("a", 200, 0.85, 300));
        List<Team> after = List.of(new Team("a", 200, 0.75, 300));
        ModelMonitor m = fit(d -> day(d, 0, before));
        assertTrue(run(m, 28, 40, "success_rate", d -> day(d, 0, before), null).isEmpty(), "stable");
        List<DriftFinding> last = new ArrayList<>();
        List<Long> opened = run(m, 40, 50, "success_rate", d -> day(d, 0, after), last);
        assertEquals(1, opened.size(), opened.toString());
        assertTrue(opened.get(0) <= 43, "within three days: day " + opened.get(0));
        DriftFinding f = last.get(0);
        assertTrue(f.alarmed());
        assertTrue(f.message().startsWith("m: success rate 8"), f.message());
        assertTrue(f.recent() < 0.8, f.toString());
        assertTrue(f.message().contains("tokens per success"), f.message());
        assertTrue(f.message().contains("reference days 0 to 27, 5600 tasks"), f.message());
    }

    @Test
    void staysAlarmedWhileTheModelStaysWorseAndClosesOnceAfterItRecovers() {
        List<Team> good = List.of(new Team("a", 200, 0.85, 300));
        List<Team> bad = List.of(new Team("a", 200, 0.75, 300));
        ModelMonitor m = fit(d -> day(d, 0, good));
        List<DriftFinding> last = new ArrayList<>();
        List<Long> opened = run(m, 28, 88, "success_rate", d -> day(d, 0, bad), last);
        assertEquals(1, opened.size(), "one opening for one incident: " + opened);
        assertTrue(last.get(0).alarmed(), "not absorbed after two months: the reference is pinned");
        run(m, 88, 100, "success_rate", d -> day(d, 0, good), last);
        assertFalse(last.get(0).alarmed(), "closed after recovery");
    }

    @Test
    void doesNotReportAChangeInTrafficMixAsAChangeOfTheModel() {
        List<Team> reference = List.of(new Team("easy", 160, 0.95, 300), new Team("hard", 40, 0.65, 300));
        List<Team> shifted = List.of(new Team("easy", 40, 0.95, 300), new Team("hard", 160, 0.65, 300));
        ModelMonitor m = fit(d -> day(d, 0, reference));
        assertTrue(run(m, 28, 70, "success_rate", d -> day(d, 0, shifted), null).isEmpty(),
                "the overall rate fell from 89 % to 71 %, but each team's stayed put");

        // The same history without teams: the shift reads as a drop, which is what stratifying prevents.
        List<Team> pooledReference = List.of(new Team("all", 160, 0.95, 300), new Team("all", 40, 0.65, 300));
        List<Team> pooledShifted = List.of(new Team("all", 40, 0.95, 300), new Team("all", 160, 0.65, 300));
        ModelMonitor pooled = fit(d -> day(d, 0, pooledReference));
        assertFalse(run(pooled, 28, 70, "success_rate", d -> day(d, 0, pooledShifted), null).isEmpty());
    }

    @Test
    void leavesOutTeamsTheReferenceDoesNotKnow() {
        List<Team> reference = List.of(new Team("a", 200, 0.85, 300));
        List<Team> later = List.of(new Team("a", 200, 0.85, 300), new Team("newcomer", 200, 0.30, 300));
        ModelMonitor m = fit(d -> day(d, 0, reference));
        assertTrue(run(m, 28, 60, "success_rate", d -> day(d, 0, later), null).isEmpty());
    }

    @Test
    void measuresOverDispersionFromDayToDayVariation() {
        List<Team> teams = List.of(new Team("a", 500, 0.8, 300));
        ModelMonitor calm = fit(d -> day(d, 0, teams));
        ModelMonitor restless = fit(d -> day(d, 0.05 * random.nextGaussian(), teams));
        assertTrue(calm.dispersion("success_rate") < 1.6, "binomial days: " + calm.dispersion("success_rate"));
        assertTrue(restless.dispersion("success_rate") > 3, "days varying by ±5 points around 80 % at 500 tasks: "
                + restless.dispersion("success_rate"));
    }

    @Test
    void flagsLongerAndShorterAnswersWithTestsOfTheirOwn() {
        List<Team> normal = List.of(new Team("a", 200, 0.85, 300));
        ModelMonitor longer = fit(d -> day(d, 0, normal));
        assertFalse(run(longer, 28, 34, "output_tokens_up", d -> day(d, 0, List.of(new Team("a", 200, 0.85, 540))), null)
                .isEmpty());
        ModelMonitor shorter = fit(d -> day(d, 0, normal));
        assertFalse(run(shorter, 28, 34, "output_tokens_down", d -> day(d, 0, List.of(new Team("a", 200, 0.85, 150))),
                null).isEmpty());
    }

    @Test
    void raisesItsThresholdWithTheTasksOfAYear() {
        List<TaskRow> rows = new ArrayList<>();
        for (long d = 0; d < 28; d++) {
            rows.addAll(day(d, 0, List.of(new Team("a", 200, 0.85, 300))));
        }
        ModelMonitor daily = ModelMonitor.fit(ModelMonitor.Kind.TRAFFIC, "m", rows, r -> r.lastAtMillis() / DAY,
                28 / 365.0, "x", S);
        ModelMonitor busy = ModelMonitor.fit(ModelMonitor.Kind.TRAFFIC, "m", rows, r -> r.lastAtMillis() / DAY,
                28 / 365.0 / 100, "x", S);
        double more = busy.threshold("success_rate") - daily.threshold("success_rate");
        assertEquals(Math.log(100), more, 0.05, "a hundred times the tasks a year: h grows by about ln 100");
    }

    @Test
    void leavesOutTestsWithoutReferenceData() {
        List<TaskRow> rows = new ArrayList<>();
        for (TaskRow r : day(0, 0, List.of(new Team("a", 300, 0.85, 300)))) {
            rows.add(new TaskRow(r.team(), r.taskId(), r.model(), r.lastAtMillis(), 1, 0, 0, 100, 50, 0, null));
        }
        ModelMonitor m = ModelMonitor.fit(ModelMonitor.Kind.TRAFFIC, "m", rows, r -> 0, 1 / 365.0, "x", S);
        assertTrue(m.untested().containsAll(List.of("success_rate", "cost_per_task")), m.untested().toString());
        assertEquals(Map.of(), Map.of());
    }
}
