package dev.tokenwise.server.cluster;

import dev.tokenwise.core.budget.BudgetBook;
import dev.tokenwise.core.config.ClusterConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The budget slices this instance leases from Redis, so that most calls are admitted without a Redis round trip.
 *
 * <p>A slice covers the windows one call reserves against (the team's, and the key's when it has a budget) in one
 * period. In Redis it is a reservation like a call's ({@link BudgetScripts#LEASE}): its size is counted in each
 * window's {@code reserved} and in a hash field named after the slice ({@code slice:INSTANCE:KEY}), and its member
 * in the open set has a deadline in Redis time that this instance moves forward about once a second while it holds
 * the slice ({@link BudgetScripts#RENEW}). Locally the slice is one {@link AtomicLong} of free nanos: a call is
 * admitted by one compare-and-set that takes its worst case from it, and when it ends its unused worst case goes
 * back to the local slice and its actual cost is added to the slice's <em>unbooked</em> nanos. Those are booked in
 * Redis by one {@link BudgetScripts#SPEND} per slice at most every {@link #flushMillis} ({@code spent} grows and the
 * slice shrinks by the sum of the calls that ended meanwhile, sent without waiting): at a few thousand calls a
 * second that is one script run for dozens of calls.
 *
 * <p>Invariant: Redis's field for a slice is always at least the local free amount plus the worst cases of the
 * calls admitted against it and not yet ended, plus its unbooked nanos, plus the bookings sent and not yet answered
 * (a lease adds to the local amount only once Redis has granted it; a give-back takes from the local amount before
 * it is sent; a call that ends moves its worst case to the free amount and its unbooked nanos, whose sum it leaves
 * unchanged; a booking lowers Redis's field by what it took from the unbooked nanos only when it runs). Since Redis
 * admits a lease only within {@code limit - spent - reserved} of every window, the slices plus the settled spend
 * never exceed a limit: zero overspend, as long as a call costs at most its worst case (as on a single node).
 * Deferring a booking by a few milliseconds cannot overspend, because what it moves is already held by the slice; the
 * one step that could break the invariant is giving back the <em>whole</em> field (closing the slice), so a slice is
 * closed only once no call is in flight against it, nothing is unbooked and no booking is unanswered
 * ({@link #settled}); until then it stays held (renewed) and only its free amount goes back.
 *
 * <p>Tops up in the background when the slice runs below a quarter of what was last granted, or when a call does
 * not fit (that call reserves in Redis directly); gives back what is free after a second without calls, when
 * another instance was refused for want of budget (a flag {@code short} in the window that {@link BudgetScripts#RENEW}
 * reads), and everything at shutdown. A slice of an instance that died is reclaimed by Redis at its deadline,
 * minus what its calls already booked.
 */
final class Slices {
    private static final Logger log = LoggerFactory.getLogger(Slices.class);
    /**
     * A slice without a call for this long (since the last one ended) gives back what is free: 1 s unless
     * {@code -Dtokenwise.cluster.slice_idle_ms} says otherwise (tests that must hold a slice on a loaded machine).
     */
    static final long IDLE_MILLIS = Long.getLong("tokenwise.cluster.slice_idle_ms", 1_000);
    /** How often a slice's deadline is moved forward (and the {@code short} flag read). */
    static final long RENEW_MILLIS = 1_000;
    /** A refusal this recent makes slices give back what is free, and no new slice is leased. */
    static final long SHORT_MILLIS = 2_000;

    private final RedisBudgets budgets;
    private final RedisLink redis;
    private final int percent;
    private final boolean localShare;
    /**
     * The longest a call's actual cost waits before it is booked in Redis (one {@link BudgetScripts#SPEND} for every
     * call of a slice that ended in that time; {@code cluster.booking_delay_ms}, 5 ms unless configured). Also what an
     * instance killed with {@code kill -9} leaves unbooked in Redis: the costs of its calls that ended in its last
     * few milliseconds, which {@link Reconciler} books from a shared ledger once its slice is reclaimed.
     */
    private final long flushMillis;
    private final RedisBudgets.Script lease;
    private final RedisBudgets.Script spend;
    private final RedisBudgets.Script giveBack;
    private final RedisBudgets.Script renew;
    private final Map<String, Slice> held = new ConcurrentHashMap<>();
    /** Slices given up (a limit changed) that wait for their calls and bookings before they are closed. */
    private final Set<Slice> retiring = ConcurrentHashMap.newKeySet();
    /** Numbers this instance's slices, so that no two of them share a field in Redis. */
    private final AtomicLong generation = new AtomicLong();
    /** Slices whose booking Redis could not take: their unbooked nanos are booked again by the next tick. */
    private final Set<Slice> unflushed = ConcurrentHashMap.newKeySet();

    Slices(RedisBudgets budgets, RedisLink redis) {
        this.budgets = budgets;
        this.redis = redis;
        ClusterConfig config = redis.config();
        this.percent = config.leasePercent();
        this.localShare = config.onRedisDown() == ClusterConfig.OnRedisDown.LOCAL_SHARE;
        this.flushMillis = config.bookingDelayMillis();
        this.lease = new RedisBudgets.Script(redis, BudgetScripts.LEASE);
        this.spend = new RedisBudgets.Script(redis, BudgetScripts.SPEND);
        this.giveBack = new RedisBudgets.Script(redis, BudgetScripts.GIVE_BACK);
        this.renew = new RedisBudgets.Script(redis, BudgetScripts.RENEW);
        if (percent > 0) {
            redis.onTick(this::tick);
        }
    }

    void load() {
        if (percent > 0) {
            lease.load();
            spend.load();
            giveBack.load();
            renew.load();
        }
    }

    boolean localShare() {
        return localShare && percent > 0;
    }

    /** One slice: the windows it covers and what of it is free here. */
    private static final class Slice {
        final String id;
        final String name;
        final BudgetBook book;
        final List<RedisBudgets.Window> windows;
        final List<String> keys;
        final long timeoutMillis;
        /** The limits of the windows when the slice was made: a changed limit retires the slice. */
        final long[] limits;
        final AtomicLong free = new AtomicLong();
        final AtomicInteger inFlight = new AtomicInteger();
        final AtomicBoolean leasing = new AtomicBoolean();
        /** Actual costs of ended calls not yet sent to Redis: added before the call stops counting as in flight. */
        final AtomicLong unbooked = new AtomicLong();
        /** A flush of the unbooked nanos is scheduled. */
        final AtomicBoolean flushScheduled = new AtomicBoolean();
        /** Bookings taken from {@link #unbooked} and not yet answered by Redis. */
        final AtomicInteger booking = new AtomicInteger();
        volatile long lastGrant;
        volatile long lastUsedMillis = System.currentTimeMillis();
        volatile long lastRenewMillis = System.currentTimeMillis();
        /** Local time before which Redis surely still holds the slice (its deadline, less a margin). */
        volatile long heldUntilMillis;
        volatile boolean closed;

        Slice(String id, String name, BudgetBook book, List<RedisBudgets.Window> windows, long timeoutMillis) {
            this.id = id;
            this.name = name;
            this.book = book;
            this.windows = windows;
            this.timeoutMillis = timeoutMillis;
            this.limits = limitsOf(windows);
            this.keys = new ArrayList<>(2 * windows.size());
            for (RedisBudgets.Window w : windows) {
                keys.add(w.hashKey());
                keys.add(w.openKey());
            }
        }

        static long[] limitsOf(List<RedisBudgets.Window> windows) {
            long[] limits = new long[windows.size()];
            for (int i = 0; i < limits.length; i++) {
                limits[i] = windows.get(i).budget().limitNanos();
            }
            return limits;
        }

        boolean tryTake(long nanos) {
            for (;;) {
                long f = free.get();
                if (f < nanos) {
                    return false;
                }
                if (free.compareAndSet(f, f - nanos)) {
                    return true;
                }
            }
        }
    }

    /**
     * Admits a call against the slice of its windows when it fits there: its reservation, or {@code null} (the call
     * then reserves in Redis directly). Leases or tops up the slice in the background as needed.
     */
    BudgetBook.Reservation take(BudgetBook book, String requestId, List<RedisBudgets.Window> windows,
                                long worstCaseNanos, long timeoutNanos) {
        if (percent == 0) {
            return null;
        }
        String id = id(windows);
        Slice slice = held.get(id);
        if (slice != null && !java.util.Arrays.equals(slice.limits, Slice.limitsOf(windows))) {
            retire(slice); // a limit changed (admin API, on any instance): lease again under the new one
            slice = null;
        }
        boolean up = redis.up();
        long now = System.currentTimeMillis();
        if (slice != null && (up || localShare && now < slice.heldUntilMillis) && take(slice, worstCaseNanos)) {
            slice.lastUsedMillis = now;
            if (up && slice.free.get() < slice.lastGrant / 4) {
                topUp(slice, 0);
            }
            return BudgetBook.sharedReservation(requestId, worstCaseNanos, new Booking(slice, worstCaseNanos));
        }
        if (up) {
            if (slice == null) {
                // Named apart from every earlier slice of these windows: a retired one may still hold its field.
                slice = held.computeIfAbsent(id, i -> new Slice(i, "slice:" + redis.config().instanceId() + ":"
                        + Long.toHexString(i.hashCode() & 0xffffffffL) + ":" + generation.incrementAndGet(), book, windows,
                        Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeoutNanos))));
            }
            slice.lastUsedMillis = now;
            topUp(slice, worstCaseNanos);
        }
        return null;
    }

    /**
     * Takes {@code nanos} from the slice and counts the call in flight. The count goes up before {@code closed} is
     * read, and the tick sets {@code closed} before it reads the count: so a slice is never closed (its whole
     * field given back) under a call admitted against it.
     */
    private static boolean take(Slice slice, long nanos) {
        slice.inFlight.incrementAndGet();
        if (slice.closed || !slice.tryTake(nanos)) {
            slice.inFlight.decrementAndGet();
            return false;
        }
        return true;
    }

    /** The slice's identity: the windows (holders and period) it covers. */
    private static String id(List<RedisBudgets.Window> windows) {
        return windows.size() == 1 ? windows.get(0).hashKey() : windows.get(0).hashKey() + "+" + windows.get(1).hashKey();
    }

    /** Leases more for {@code slice} unless a lease is already on its way. */
    private void topUp(Slice slice, long minimum) {
        if (slice.closed || !slice.leasing.compareAndSet(false, true)) {
            return;
        }
        List<String> args = new ArrayList<>(5 + 4 * slice.windows.size());
        args.add(slice.name);
        args.add(Integer.toString(percent));
        args.add(Long.toString(minimum));
        args.add(Long.toString(slice.timeoutMillis));
        args.add(Long.toString(SHORT_MILLIS));
        for (RedisBudgets.Window w : slice.windows) {
            args.add(Long.toString(w.budget().limitNanos()));
            args.add(Long.toString(w.startMillis()));
            args.add(Long.toString(w.endMillis()));
            args.add(Long.toString(Math.max(0, w.budget().snapshot(System.currentTimeMillis()).spentNanos())));
        }
        args.add(budgets.holdsDead());
        long sentMillis = System.currentTimeMillis();
        Runnable sent = budgets.sending();
        lease.run(slice.keys, args).whenComplete((reply, error) -> {
            sent.run();
            try {
                if (error != null) {
                    log.debug("A slice lease failed: {}", error.toString());
                    return;
                }
                long code = RedisBudgets.number(reply.get(0));
                budgets.redisClockOffsetMillis(RedisBudgets.number(reply.get(1)) - System.currentTimeMillis());
                if (code < 0) {
                    return; // the period rolled over: the next call leases in the new one
                }
                long granted = RedisBudgets.number(reply.get(2));
                for (int i = 0; i < slice.windows.size(); i++) {
                    RedisBudgets.mirror(slice.book, slice.windows.get(i), RedisBudgets.number(reply.get(3 + 2 * i)),
                            RedisBudgets.number(reply.get(4 + 2 * i)));
                }
                if (granted > 0) {
                    slice.heldUntilMillis = sentMillis + slice.timeoutMillis - slice.timeoutMillis / 4;
                    slice.lastRenewMillis = sentMillis;
                    slice.lastGrant = granted;
                    slice.free.addAndGet(granted);
                    if (slice.closed) {
                        returnFree(slice, false); // given back while the lease was on its way
                    }
                }
            } finally {
                slice.leasing.set(false);
            }
        });
    }

    /** What a call admitted against a slice does when it ends. */
    private final class Booking implements BudgetBook.SharedSettlement {
        private final Slice slice;
        private final long worstCaseNanos;

        Booking(Slice slice, long worstCaseNanos) {
            this.slice = slice;
            this.worstCaseNanos = worstCaseNanos;
        }

        @Override
        public void settle(long actualNanos) {
            slice.free.addAndGet(worstCaseNanos - actualNanos);
            slice.lastUsedMillis = System.currentTimeMillis(); // idle counts from the end of the last call
            if (actualNanos != 0) {
                // Before the call stops counting in flight: whoever sees no call in flight sees its cost unbooked.
                slice.unbooked.addAndGet(actualNanos);
                if (slice.flushScheduled.compareAndSet(false, true)) {
                    redis.schedule(() -> flush(slice), flushMillis);
                }
            }
            slice.inFlight.decrementAndGet();
        }

        @Override
        public void cancel() {
            slice.free.addAndGet(worstCaseNanos);
            slice.lastUsedMillis = System.currentTimeMillis();
            slice.inFlight.decrementAndGet();
        }
    }

    /**
     * Books in Redis the actual costs of the calls of {@code slice} that ended since the last flush: one
     * {@link BudgetScripts#SPEND} moves their sum from the slice to {@code spent}. When Redis cannot take it, the sum
     * goes back to the unbooked nanos and the next tick while Redis is reachable tries again.
     */
    private void flush(Slice slice) {
        slice.flushScheduled.set(false); // before the nanos are taken: a call ending after this schedules another
        slice.booking.incrementAndGet(); // before the nanos are taken: see settled()
        long nanos = slice.unbooked.getAndSet(0);
        if (nanos == 0) {
            slice.booking.decrementAndGet();
            return;
        }
        List<String> args = new ArrayList<>(2 + slice.windows.size());
        args.add(slice.name);
        args.add(Long.toString(nanos));
        for (RedisBudgets.Window w : slice.windows) {
            args.add(Long.toString(Math.max(0, w.budget().snapshot(System.currentTimeMillis()).spentNanos())));
        }
        Runnable sent = budgets.sending();
        spend.run(slice.keys, args).whenComplete((reply, error) -> {
            try {
                if (error != null) {
                    slice.unbooked.addAndGet(nanos); // still held by the slice in Redis: booked again later
                    unflushed.add(slice);
                    log.debug("A booking waits for Redis: {}", error.toString());
                    return;
                }
                for (int i = 0; i < slice.windows.size(); i++) {
                    RedisBudgets.mirror(slice.book, slice.windows.get(i), RedisBudgets.number(reply.get(2 * i)),
                            RedisBudgets.number(reply.get(2 * i + 1)));
                }
            } finally {
                slice.booking.decrementAndGet();
                sent.run();
            }
        });
    }

    /**
     * {@code true} when the whole of the slice's field in Redis may be given back: no call is in flight against it,
     * nothing is unbooked and no booking is unanswered. Read in that order, each counter changing only before the
     * next one is released (a call adds its cost to the unbooked nanos before it stops counting in flight; a flush
     * counts its booking before it takes the unbooked nanos), so none of them can be missed between two reads once
     * the slice is closed to new calls.
     */
    private static boolean settled(Slice slice) {
        return slice.inFlight.get() == 0 && slice.unbooked.get() == 0 && slice.booking.get() == 0;
    }

    /** Slices whose booking failed: booked again (called each tick, while Redis is reachable). */
    private void flushUnflushed() {
        for (Slice slice : unflushed) {
            unflushed.remove(slice);
            flush(slice);
        }
    }

    /** Bookings not yet taken by Redis because it was unreachable. */
    int unflushedSlices() {
        return unflushed.size();
    }

    /** Gives back what is free in {@code slice} (all of it, and the slice's member, with {@code close}). */
    private void returnFree(Slice slice, boolean close) {
        long back = slice.free.getAndSet(0);
        if (back <= 0 && !close) {
            slice.free.addAndGet(back);
            return;
        }
        List<String> args = List.of(slice.name, Long.toString(Math.max(0, back)), close ? "1" : "0");
        Runnable sent = budgets.sending();
        giveBack.run(slice.keys, args).whenComplete((reply, error) -> {
            sent.run();
            if (error != null) {
                log.debug("A slice was not given back (Redis reclaims it at its deadline): {}", error.toString());
                return;
            }
            for (int i = 0; i < slice.windows.size(); i++) {
                RedisBudgets.mirror(slice.book, slice.windows.get(i), RedisBudgets.number(reply.get(2 * i)),
                        RedisBudgets.number(reply.get(2 * i + 1)));
            }
        });
    }

    /** Every tick while Redis is reachable: idle slices give back, held ones are renewed and read the short flag. */
    private void tick() {
        flushUnflushed();
        long now = System.currentTimeMillis();
        for (Slice slice : held.values()) {
            if (slice.inFlight.get() == 0 && now - slice.lastUsedMillis > IDLE_MILLIS && !slice.leasing.get()) {
                slice.closed = true;
                if (settled(slice)) {
                    held.remove(slice.id, slice);
                    returnFree(slice, true);
                    continue;
                }
                slice.closed = false; // a call came in meanwhile, or its bookings are not all in Redis: keep it
            }
            if (now - slice.lastRenewMillis >= RENEW_MILLIS) {
                renew(slice, now);
            }
        }
        for (Slice slice : retiring) {
            if (settled(slice)) {
                retiring.remove(slice);
                returnFree(slice, true);
            } else if (now - slice.lastRenewMillis >= RENEW_MILLIS) {
                renew(slice, now); // still holds what its calls may spend
            }
        }
    }

    private void renew(Slice slice, long now) {
        slice.lastRenewMillis = now;
        Runnable sent = budgets.sending();
        renew.run(slice.keys, List.of(slice.name, Long.toString(slice.timeoutMillis))).whenComplete((reply, error) -> {
            sent.run();
            if (error != null) {
                return;
            }
            long redisNow = RedisBudgets.number(reply.get(1));
            if (RedisBudgets.number(reply.get(0)) == 1) {
                // Reclaimed (this instance was unreachable past the deadline): nothing more is admitted against it.
                // Its calls' costs are still booked (SPEND charges them without a slice to take them from).
                slice.closed = true;
                held.remove(slice.id, slice);
                retiring.remove(slice);
                slice.free.set(0);
                return;
            }
            slice.heldUntilMillis = now + slice.timeoutMillis - slice.timeoutMillis / 4;
            if (redisNow - RedisBudgets.number(reply.get(2)) < SHORT_MILLIS) {
                returnFree(slice, false); // another call was refused for want of budget: give back what is free
            }
        });
    }

    /**
     * Gives a slice up: what is free goes back now; what its calls in flight and its unbooked costs hold stays held
     * (renewed) until they are booked, and then the tick closes the slice.
     */
    private void retire(Slice slice) {
        slice.closed = true;
        held.remove(slice.id, slice);
        retiring.add(slice);
        returnFree(slice, false);
    }

    /**
     * Gives back every slice (at shutdown, once the calls have ended): books what is unbooked, waits up to
     * {@code timeoutMillis} for those bookings to be answered, then closes each slice whose bookings are all in
     * Redis; a slice whose bookings are not gives back its free amount only (Redis reclaims the rest at its deadline).
     */
    void returnAll(long timeoutMillis) throws InterruptedException {
        List<Slice> all = new ArrayList<>(held.values());
        all.addAll(retiring);
        for (Slice slice : all) {
            slice.closed = true;
            held.remove(slice.id, slice);
            retiring.remove(slice);
            flush(slice);
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        for (Slice slice : all) {
            while (!settled(slice) && System.nanoTime() < deadline) {
                Thread.sleep(2);
            }
            returnFree(slice, settled(slice));
        }
    }

    long freeNanos() {
        long sum = 0;
        for (Slice slice : held.values()) {
            sum += slice.free.get();
        }
        return sum;
    }
}
