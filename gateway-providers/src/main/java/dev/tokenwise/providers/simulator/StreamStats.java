package dev.tokenwise.providers.simulator;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/** What the simulator's streams are doing, shared by all its connections; read by tests. */
final class StreamStats {
    /** Streams started and not yet completed or aborted. */
    final AtomicInteger active = new AtomicInteger();
    /** Times a stream waited for an unwritable channel to drain. */
    final LongAdder backpressurePauses = new LongAdder();
}
