package dev.tokenwise.core.accounting;

import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.UsageSink;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The in-memory books: live usage totals per (team, key, model), the calls still in flight, the most
 * recent records, and the hand-off of every record to the {@link UsageSink}s.
 *
 * <p>Implementation note: a call is {@link #begin begun} when its request is accepted and
 * {@link #settle settled} exactly once (the proxy guarantees the once). Settling adds the record to
 * the {@link UsageTotals} adders (wait-free), publishes it among the recent records, completes
 * the in-flight future (so a reader asking for a call that is still running simply waits for it), and
 * offers it to the {@link RecordDispatcher}. Nothing here takes a lock on the hot path; the map is
 * concurrent and the totals are {@code LongAdder}s. A call in flight is a shared marker in the in-flight map
 * until someone asks for it, when the marker becomes a future. The recent records are a ring: each settle
 * takes the next slot (first in, first out) and nothing else; a lookup of a settled call, which is rare
 * (the usage API), scans the ring. A settle publishes the record in the ring before it leaves the in-flight
 * map, so a lookup that no longer finds the call in flight finds it in the ring.
 *
 * <p>A call must not be served when it cannot be booked: {@link #recordingStopped} says when records no longer
 * flow (the dispatcher died or is stuck, or a sink stopped), and {@link #requireRecording} refuses new calls then.
 */
public final class AccountingCore implements AutoCloseable {

    /** The grouping of live totals. */
    public record UsageKey(String team, String keyId, String model) {
    }

    private final Map<UsageKey, UsageTotals> totals = new ConcurrentHashMap<>();
    /** Calls begun and not settled: {@link #IN_FLIGHT}, or the future of a reader waiting for the call. */
    private final Map<String, Object> inFlight = new ConcurrentHashMap<>();
    private static final Object IN_FLIGHT = new Object();
    private final AtomicReferenceArray<UsageRecord> recent;
    private final AtomicLong recentNext = new AtomicLong();
    private static final Logger log = LoggerFactory.getLogger(AccountingCore.class);
    private static final long REFUSAL_WARN_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final RecordDispatcher dispatcher;
    private final UsageSink[] sinks;
    private final AtomicLong lastRefusalWarnNanos = new AtomicLong(System.nanoTime() - REFUSAL_WARN_EVERY_NANOS);

    public AccountingCore(List<UsageSink> sinks, int queueCapacity, long recentRecords) {
        this(sinks, queueCapacity, recentRecords, RecordDispatcher.DEFAULT_NAP_NANOS);
    }

    /** @param deliveryNapNanos the longest a settled record waits before the sinks see it (see {@link RecordDispatcher}) */
    public AccountingCore(List<UsageSink> sinks, int queueCapacity, long recentRecords, long deliveryNapNanos) {
        this(sinks, queueCapacity, recentRecords, deliveryNapNanos, RecordDispatcher.DEFAULT_STALL_NANOS);
    }

    /**
     * @param deliveryNapNanos the longest a settled record waits before the sinks see it (see {@link RecordDispatcher})
     * @param stallNanos how long the sinks may hold one record before records count as stopped
     */
    public AccountingCore(List<UsageSink> sinks, int queueCapacity, long recentRecords, long deliveryNapNanos,
                          long stallNanos) {
        this.sinks = sinks.toArray(new UsageSink[0]);
        this.dispatcher = new RecordDispatcher(sinks, queueCapacity, deliveryNapNanos, stallNanos);
        if (recentRecords < 1 || recentRecords > 1 << 24) {
            throw new IllegalArgumentException("recentRecords: " + recentRecords + " (expected 1 to 2^24)");
        }
        this.recent = new AtomicReferenceArray<>((int) recentRecords);
    }

    /** Registers a call that has been accepted and will be settled later. */
    public void begin(String requestId) {
        inFlight.put(requestId, IN_FLIGHT);
    }

    /**
     * Forgets a begun call that never went upstream (it failed between acceptance and forwarding) and so has no
     * record; a reader waiting for it is told so.
     */
    public void abandon(String requestId) {
        if (inFlight.remove(requestId) instanceof CompletableFuture<?> waiting) {
            waiting.completeExceptionally(new java.util.NoSuchElementException("request " + requestId
                    + " failed before it was forwarded and has no record"));
        }
    }

    /** Books a finished call. Called exactly once per begun call, from any thread. */
    public void settle(UsageRecord record) {
        UsageKey key = new UsageKey(record.team(), record.keyId(), record.model());
        UsageTotals t = totals.get(key); // a plain read first: computeIfAbsent may lock the bin even when present
        if (t == null) {
            t = totals.computeIfAbsent(key, k -> new UsageTotals());
        }
        t.add(record);
        recent.set((int) (recentNext.getAndIncrement() % recent.length()), record);
        if (inFlight.remove(record.id()) instanceof CompletableFuture<?> waiting) {
            @SuppressWarnings("unchecked")
            CompletableFuture<UsageRecord> reader = (CompletableFuture<UsageRecord>) waiting;
            reader.complete(record);
        }
        dispatcher.offer(record);
    }

    /**
     * The record of a call: completed at once when it is recent, pending while the call is in flight,
     * {@code null} when this instance does not know it (older calls are in the ledger).
     */
    @SuppressWarnings("unchecked")
    public CompletableFuture<UsageRecord> lookup(String requestId) {
        Object pending = inFlight.computeIfPresent(requestId,
                (id, state) -> state == IN_FLIGHT ? new CompletableFuture<UsageRecord>() : state);
        if (pending != null) {
            return (CompletableFuture<UsageRecord>) pending;
        }
        for (int i = 0, n = recent.length(); i < n; i++) {
            UsageRecord record = recent.get(i);
            if (record != null && record.id().equals(requestId)) {
                return CompletableFuture.completedFuture(record);
            }
        }
        return null;
    }

    /**
     * Why records no longer reach the books, or {@code null} while they do: the dispatcher died or the sinks have
     * held one record too long (see {@link RecordDispatcher#stoppedReason}), or a sink {@linkplain
     * UsageSink#stoppedReason stopped}.
     */
    public String recordingStopped() {
        String reason = dispatcher.stoppedReason();
        if (reason != null) {
            return reason;
        }
        for (UsageSink sink : sinks) {
            reason = sink.stoppedReason();
            if (reason != null) {
                return reason;
            }
        }
        return null;
    }

    /**
     * Refuses a new call, 503 {@code unavailable}, while {@link #recordingStopped records do not flow}. The client
     * is not told why (the reason is in the log and in {@code /healthz} for the admin).
     */
    public void requireRecording() {
        String reason = recordingStopped();
        if (reason != null) {
            long now = System.nanoTime();
            long last = lastRefusalWarnNanos.get();
            if (now - last >= REFUSAL_WARN_EVERY_NANOS && lastRefusalWarnNanos.compareAndSet(last, now)) {
                log.error("Refusing calls: usage records cannot be booked: {}", reason);
            }
            throw new GatewayException(ErrorType.UNAVAILABLE,
                    "the gateway cannot book calls at the moment, so it takes none; try again later");
        }
    }

    /** A read-only view of the live totals. */
    public Map<UsageKey, UsageTotals> totals() {
        return java.util.Collections.unmodifiableMap(totals);
    }

    public int inFlightCount() {
        return inFlight.size();
    }

    public RecordDispatcher dispatcher() {
        return dispatcher;
    }

    @Override
    public void close() {
        dispatcher.close();
    }
}
