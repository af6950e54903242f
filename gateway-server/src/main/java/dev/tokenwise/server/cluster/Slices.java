package dev.tokenwise.server.cluster;

import dev.tokenwise.core.budget.BudgetBook;
import dev.tokenwise.core.config.ClusterConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
 * admitted by one compare-and-set that takes its worst case from it, and when it ends its actual cost is booked in
 * Redis ({@link BudgetScripts#SPEND}: {@code spent} grows and the slice shrinks by it, sent without waiting) and
 * its unused worst case goes back to the local slice.
 *
 * <p>Invariant: Redis's field for a slice is always at least the local free amount plus the worst cases of the
 * calls admitted against it and not yet booked (a lease adds to the local amount only once Redis has granted it; a
 * give-back takes from the local amount before it is sent; a booking lowers Redis's field only after the call's
 * worst case was given back locally). Since Redis admits a lease only within {@code limit - spent - reserved} of
 * every window, the slices plus the settled spend never exceed a limit: zero overspend, as long as a call costs at
 * most its worst case (as on a single node).
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
    private final RedisBudgets.Script lease;
    private final RedisBudgets.Script spend;
    private final RedisBudgets.Script giveBack;
    private final RedisBudgets.Script renew;
    private final Map<String, Slice> held = new ConcurrentHashMap<>();

    Slices(RedisBudgets budgets, RedisLink redis) {
        this.budgets = budgets;
        this.redis = redis;
        ClusterConfig config = redis.config();
        this.percent = config.leasePercent();
        this.localShare = config.onRedisDown() == ClusterConfig.OnRedisDown.LOCAL_SHARE;
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
                slice = held.computeIfAbsent(id, i -> new Slice(i, "slice:" + redis.config().instanceId() + ":"
                        + Long.toHexString(i.hashCode() & 0xffffffffL), book, windows,
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
            slice.inFlight.decrementAndGet();
            if (actualNanos != 0) {
                book(slice, actualNanos);
            }
        }

        @Override
        public void cancel() {
            slice.free.addAndGet(worstCaseNanos);
            slice.lastUsedMillis = System.currentTimeMillis();
            slice.inFlight.decrementAndGet();
        }
    }

    /** Moves a call's actual cost from the slice to {@code spent} in Redis (kept until Redis is back if need be). */
    private void book(Slice slice, long actualNanos) {
        List<String> args = new ArrayList<>(2 + slice.windows.size());
        args.add(slice.name);
        args.add(Long.toString(actualNanos));
        for (RedisBudgets.Window w : slice.windows) {
            args.add(Long.toString(Math.max(0, w.budget().snapshot(System.currentTimeMillis()).spentNanos())));
        }
        Runnable sent = budgets.sending();
        spend.run(slice.keys, args).whenComplete((reply, error) -> {
            sent.run();
            if (error != null) {
                budgets.keep(() -> book(slice, actualNanos), error);
                return;
            }
            for (int i = 0; i < slice.windows.size(); i++) {
                RedisBudgets.mirror(slice.book, slice.windows.get(i), RedisBudgets.number(reply.get(2 * i)),
                        RedisBudgets.number(reply.get(2 * i + 1)));
            }
        });
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
        long now = System.currentTimeMillis();
        for (Slice slice : held.values()) {
            if (slice.inFlight.get() == 0 && now - slice.lastUsedMillis > IDLE_MILLIS && !slice.leasing.get()) {
                slice.closed = true;
                if (slice.inFlight.get() == 0) {
                    held.remove(slice.id, slice);
                    returnFree(slice, true);
                    continue;
                }
                slice.closed = false; // a call came in meanwhile: keep it
            }
            if (now - slice.lastRenewMillis >= RENEW_MILLIS) {
                renew(slice, now);
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
                slice.closed = true;
                held.remove(slice.id, slice);
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
     * Gives a slice up: what is free goes back now; with calls still in flight against it, their share stays held
     * until Redis reclaims the slice at its deadline (it is no longer renewed), so they still cannot overspend.
     */
    private void retire(Slice slice) {
        slice.closed = true;
        held.remove(slice.id, slice);
        returnFree(slice, slice.inFlight.get() == 0);
    }

    /** Gives back every slice (at shutdown). */
    void returnAll() {
        for (Slice slice : held.values()) {
            slice.closed = true;
            held.remove(slice.id, slice);
            returnFree(slice, true);
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
