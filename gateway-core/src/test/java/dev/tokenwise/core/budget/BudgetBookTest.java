package dev.tokenwise.core.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.config.BudgetConfig;
import dev.tokenwise.core.config.BudgetPeriod;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class BudgetBookTest {
    private static final ZoneId UTC = ZoneId.of("UTC");
    private final AtomicLong clock = new AtomicLong(Instant.parse("2026-11-28T10:00:00Z").toEpochMilli());

    private BudgetBook book() {
        return new BudgetBook(UTC, 80, clock::get, 0);
    }

    @Test
    void rejectsWhenReservationWouldExceedBudget() {
        try (BudgetBook book = book()) {
            book.setTeamBudget("demo", new BudgetConfig(1_000, BudgetPeriod.DAILY), 0);
            assertTrue(book.reserve("r1", "demo", "k", 600, 1_000_000_000L).admitted());
            BudgetBook.Admission refused = book.reserve("r2", "demo", "k", 600, 1_000_000_000L);
            assertEquals(BudgetBook.Outcome.TEAM_EXCEEDED, refused.outcome());
            assertEquals(400, refused.refusedBy().remainingNanos());
            assertEquals(600, book.team("demo").snapshot(clock.get()).reservedNanos());
            assertEquals("team demo has $0.0000004 of $0.000001 left this day; this call may cost up to $0.0000006",
                    BudgetBook.refusal(refused, "team", 600));
        }
    }

    @Test
    void chargesTeamTheActualCostWhenACallSettles() {
        try (BudgetBook book = book()) {
            book.setTeamBudget("demo", new BudgetConfig(1_000, BudgetPeriod.DAILY), 0);
            BudgetBook.Reservation r = book.reserve("r1", "demo", "k", 600, 1_000_000_000L).reservation();
            book.settle(r, 250);
            book.settle(r, 250); // a second settlement of the same reservation changes nothing
            Budget.Snapshot s = book.team("demo").snapshot(clock.get());
            assertEquals(250, s.spentNanos());
            assertEquals(0, s.reservedNanos());
            assertEquals(750, s.remainingNanos());
        }
    }

    @Test
    void givesTheTeamPartBackWhenTheKeyBudgetRefuses() {
        try (BudgetBook book = book()) {
            book.setTeamBudget("demo", new BudgetConfig(1_000, BudgetPeriod.DAILY), 0);
            book.setKeyBudget("demo", "k", new BudgetConfig(100, BudgetPeriod.DAILY), 0);
            assertEquals(BudgetBook.Outcome.KEY_EXCEEDED, book.reserve("r1", "demo", "k", 600, 1_000_000_000L).outcome());
            assertEquals(1_000, book.team("demo").snapshot(clock.get()).remainingNanos());
            assertEquals(0, book.openReservations());
        }
    }

    @Test
    void neverAdmitsMoreThanTheLimitUnderConcurrentReservations() throws Exception {
        int calls = 200;
        long each = 7;
        int fits = 20;
        try (BudgetBook book = book()) {
            book.setTeamBudget("demo", new BudgetConfig(fits * each, BudgetPeriod.TOTAL), 0);
            ExecutorService pool = Executors.newFixedThreadPool(8);
            CountDownLatch go = new CountDownLatch(1);
            AtomicInteger admitted = new AtomicInteger();
            ConcurrentLinkedQueue<BudgetBook.Reservation> held = new ConcurrentLinkedQueue<>();
            for (int i = 0; i < calls; i++) {
                String id = "r" + i;
                pool.execute(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    BudgetBook.Admission a = book.reserve(id, "demo", "k", each, 1_000_000_000L);
                    if (a.admitted()) {
                        admitted.incrementAndGet();
                        held.add(a.reservation());
                    }
                });
            }
            go.countDown();
            pool.shutdown();
            assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
            assertEquals(fits, admitted.get());
            assertEquals(0, book.team("demo").snapshot(clock.get()).remainingNanos());
            held.forEach(r -> book.settle(r, each));
            Budget.Snapshot s = book.team("demo").snapshot(clock.get());
            assertEquals(fits * each, s.spentNanos());
            assertEquals(0, s.reservedNanos());
        }
    }

    @Test
    void reclaimsReservationsThatNeverSettleAndStillChargesALateSettlement() {
        try (BudgetBook book = book()) {
            book.setTeamBudget("demo", new BudgetConfig(1_000, BudgetPeriod.DAILY), 0);
            BudgetBook.Reservation lost = book.reserve("r1", "demo", "k", 900, 1_000L).reservation();
            assertFalse(book.reserve("r2", "demo", "k", 900, 1_000L).admitted());
            assertEquals(1, book.reclaimExpired(System.nanoTime() + 2_000L));
            assertEquals(1_000, book.team("demo").snapshot(clock.get()).remainingNanos());
            assertTrue(book.reserve("r3", "demo", "k", 900, 1_000_000_000L).admitted());
            book.settle(lost, 50); // the lost call turns up after all: its cost is still booked
            assertEquals(50, book.team("demo").snapshot(clock.get()).spentNanos());
            assertEquals(1, book.reclaimedReservations());
        }
    }

    @Test
    void startsAFreshWindowWhenThePeriodRollsOver() {
        try (BudgetBook book = book()) {
            book.setTeamBudget("demo", new BudgetConfig(1_000, BudgetPeriod.DAILY), 300);
            assertEquals(700, book.team("demo").snapshot(clock.get()).remainingNanos());
            clock.set(Instant.parse("2026-11-29T00:00:00Z").toEpochMilli());
            Budget.Snapshot next = book.team("demo").snapshot(clock.get());
            assertEquals(1_000, next.remainingNanos());
            assertEquals(0, next.spentNanos());
            assertEquals(Instant.parse("2026-11-29T00:00:00Z").toEpochMilli(), next.periodStartMillis());
        }
    }

    @Test
    void alignsWeeksToMondayAndMonthsToTheFirstInTheConfiguredZone() {
        long at = Instant.parse("2026-11-28T10:00:00Z").toEpochMilli(); // a Saturday
        assertEquals(Instant.parse("2026-11-23T00:00:00Z").toEpochMilli(), Periods.startMillis(BudgetPeriod.WEEKLY, at, UTC));
        assertEquals(Instant.parse("2026-11-30T00:00:00Z").toEpochMilli(), Periods.endMillis(BudgetPeriod.WEEKLY, at, UTC));
        assertEquals(Instant.parse("2026-11-01T00:00:00Z").toEpochMilli(), Periods.startMillis(BudgetPeriod.MONTHLY, at, UTC));
        ZoneId tokyo = ZoneId.of("Asia/Tokyo");
        assertEquals(Instant.parse("2026-11-28T15:00:00Z").toEpochMilli(),
                Periods.endMillis(BudgetPeriod.DAILY, at, tokyo));
        assertEquals(0, Periods.startMillis(BudgetPeriod.TOTAL, at, UTC));
    }

    @Test
    void appliesALimitChangeToWhatRemains() {
        try (BudgetBook book = book()) {
            book.setTeamBudget("demo", new BudgetConfig(1_000, BudgetPeriod.DAILY), 400);
            book.setTeamBudget("demo", new BudgetConfig(2_000, BudgetPeriod.DAILY), 0);
            Budget.Snapshot s = book.team("demo").snapshot(clock.get());
            assertEquals(2_000, s.limitNanos());
            assertEquals(1_600, s.remainingNanos());
        }
    }

    @Test
    void raisesTheSoftThresholdAlertOncePerPeriod() {
        try (BudgetBook book = book()) {
            List<Budget.Snapshot> alerts = new ArrayList<>();
            book.onSoftThreshold((team, keyId, s) -> alerts.add(s));
            book.setTeamBudget("demo", new BudgetConfig(1_000, BudgetPeriod.DAILY), 0);
            book.charge("demo", null, 700);
            assertTrue(alerts.isEmpty());
            book.charge("demo", null, 150);
            book.charge("demo", null, 10);
            assertEquals(1, alerts.size());
            assertEquals("demo", alerts.get(0).holder());
            clock.set(Instant.parse("2026-11-29T08:00:00Z").toEpochMilli());
            book.charge("demo", null, 900);
            assertEquals(2, alerts.size());
            assertNotNull(alerts.get(1));
        }
    }

    @Test
    void tellsTheKeysTeamWhenAKeyBudgetCrossesItsSoftThreshold() {
        try (BudgetBook book = book()) {
            List<String> crossed = new ArrayList<>();
            book.onSoftThreshold((team, keyId, s) -> crossed.add(team + "/" + keyId + "/" + s.holder()));
            // A key named like another team: the alert must name the key's own team.
            book.setTeamBudget("y", new BudgetConfig(1_000, BudgetPeriod.DAILY), 0);
            book.setKeyBudget("x", "y", new BudgetConfig(100, BudgetPeriod.DAILY), 0);
            book.charge("x", "y", 90);
            assertEquals(List.of("x/y/y"), crossed);
            book.charge("y", null, 900);
            assertEquals(List.of("x/y/y", "y/null/y"), crossed);
            assertEquals("x", book.key("y").team());
            assertEquals("y", book.key("y").keyId());
            assertNull(book.team("y").keyId());
        }
    }

    @Test
    void aSharedReservationSettlesInItsStoreOnceAndNeverInTheBook() {
        try (BudgetBook book = book()) {
            book.setTeamBudget("demo", new BudgetConfig(1_000, BudgetPeriod.DAILY), 0);
            List<String> store = new ArrayList<>();
            BudgetBook.Reservation r = BudgetBook.sharedReservation("r1", 600, new BudgetBook.SharedSettlement() {
                @Override
                public void settle(long actualNanos) {
                    store.add("settled " + actualNanos);
                }

                @Override
                public void cancel() {
                    store.add("cancelled");
                }
            });
            book.settle(r, 400);
            book.settle(r, 400);
            book.cancel(r);
            assertEquals(List.of("settled 400"), store);
            assertEquals(0, book.team("demo").snapshot(clock.get()).spentNanos(), "the store holds the spend");
        }
    }

    @Test
    void mirrorsTheSharedStoresFiguresIntoTheCurrentWindowOnlyAndAlertsOnThem() {
        try (BudgetBook book = book()) {
            book.setTeamBudget("demo", new BudgetConfig(1_000, BudgetPeriod.DAILY), 0);
            List<String> alerts = new ArrayList<>();
            book.onSoftThreshold((team, keyId, s) -> alerts.add(team + " " + s.spentNanos()));
            long today = Periods.startMillis(BudgetPeriod.DAILY, clock.get(), UTC);
            book.mirror("demo", null, today - 86_400_000L, 999, 1);
            assertEquals(0, book.team("demo").snapshot(clock.get()).spentNanos(), "another period's figures are ignored");
            book.mirror("demo", null, today, 850, 100);
            Budget.Snapshot s = book.team("demo").snapshot(clock.get());
            assertEquals(850, s.spentNanos());
            assertEquals(100, s.reservedNanos());
            assertEquals(50, s.remainingNanos());
            assertEquals(List.of("demo 850"), alerts);
        }
    }
}
