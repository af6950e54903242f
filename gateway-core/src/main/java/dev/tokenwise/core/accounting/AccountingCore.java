package dev.tokenwise.core.accounting;

import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.UsageSink;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The in-memory books: live usage totals per (team, key, model), the calls still in flight, the most
 * recent records, and the hand-off of every record to the {@link UsageSink}s.
 *
 * <p>Implementation note: a call is {@link #begin begun} when its request is accepted and
 * {@link #settle settled} exactly once (the proxy guarantees the once). Settling adds the record to
 * the {@link UsageTotals} adders (wait-free), publishes it among the recent records, completes
 * the in-flight future (so a reader asking for a call that is still running simply waits for it), and
 * offers it to the {@link RecordDispatcher}. Nothing here takes a lock on the hot path; the maps are
 * concurrent and the totals are {@code LongAdder}s. The recent records are a concurrent map bounded by a
 * ring of their ids: each settle takes the next slot of the ring and removes the id it overwrites from
 * the map (first in, first out; cheaper per call than a general cache's bookkeeping).
 */
public final class AccountingCore implements AutoCloseable {

    /** The grouping of live totals. */
    public record UsageKey(String team, String keyId, String model) {
    }

    private final Map<UsageKey, UsageTotals> totals = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<UsageRecord>> inFlight = new ConcurrentHashMap<>();
    private final Map<String, UsageRecord> recent = new ConcurrentHashMap<>();
    private final AtomicReferenceArray<String> recentIds;
    private final AtomicLong recentNext = new AtomicLong();
    private final RecordDispatcher dispatcher;

    public AccountingCore(List<UsageSink> sinks, int queueCapacity, long recentRecords) {
        this.dispatcher = new RecordDispatcher(sinks, queueCapacity);
        if (recentRecords < 1 || recentRecords > 1 << 24) {
            throw new IllegalArgumentException("recentRecords: " + recentRecords + " (expected 1 to 2^24)");
        }
        this.recentIds = new AtomicReferenceArray<>((int) recentRecords);
    }

    /** Registers a call that has been accepted and will be settled later. */
    public void begin(String requestId) {
        inFlight.put(requestId, new CompletableFuture<>());
    }

    /** Books a finished call. Called exactly once per begun call, from any thread. */
    public void settle(UsageRecord record) {
        UsageKey key = new UsageKey(record.team(), record.keyId(), record.model());
        UsageTotals t = totals.get(key); // a plain read first: computeIfAbsent may lock the bin even when present
        if (t == null) {
            t = totals.computeIfAbsent(key, k -> new UsageTotals());
        }
        t.add(record);
        recent.put(record.id(), record);
        int slot = (int) (recentNext.getAndIncrement() % recentIds.length());
        String evicted = recentIds.getAndSet(slot, record.id());
        if (evicted != null) {
            recent.remove(evicted);
        }
        CompletableFuture<UsageRecord> waiting = inFlight.remove(record.id());
        if (waiting != null) {
            waiting.complete(record);
        }
        dispatcher.offer(record);
    }

    /**
     * The record of a call: completed at once when it is recent, pending while the call is in flight,
     * {@code null} when this instance does not know it (older calls are in the ledger).
     */
    public CompletableFuture<UsageRecord> lookup(String requestId) {
        CompletableFuture<UsageRecord> pending = inFlight.get(requestId);
        if (pending != null) {
            return pending;
        }
        UsageRecord record = recent.get(requestId);
        return record == null ? null : CompletableFuture.completedFuture(record);
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
