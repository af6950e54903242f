package dev.tokenwise.metrics.efficiency;

import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.Money;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.TokenCount;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.PriceCatalog;
import dev.tokenwise.core.spi.UsageSink;
import java.math.BigInteger;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Finds savings a provider's prompt cache could make and does not: a team whose calls to a model keep beginning with
 * the same long prompt prefix (at least {@link TokenCount#PREFIX_BYTES} bytes, about 1,024 tokens, the least the
 * providers cache; compared by {@link UsageRecord#promptPrefixHash}, digits read alike) while none of those calls
 * reads any token from the provider's cache (an Anthropic model without {@code cache_control}, a date near the start
 * of the system prompt, ...). Such a prefix opens a {@link AlertType#PROMPT_CACHE_OPPORTUNITY} alert for the team,
 * with the model as its metric and the estimated monthly saving in USD as its value.
 *
 * <p><b>Counting.</b> A sink (off the event loop, on the record dispatcher's thread). Per team and model, the prefix
 * hashes of one window ({@link #window}) are counted in a Space-Saving sketch of {@link #SLOTS} slots (the most
 * frequent prefixes are kept with counts that are exact or over by at most their recorded error; only the guaranteed
 * part, count minus error, is trusted); at most {@link #MAX_GROUPS} team/model pairs are followed, the least recently
 * seen forgotten first. At the end of a window (seen by the next record, or by {@link #check} every minute), a prefix
 * that came at least {@link #minRepeats} times and was never read from the provider's cache is an opportunity; the
 * alert closes after a window without one.
 *
 * <p><b>Estimate.</b> Every call after the first in the window could have read the prefix from cache:
 * {@code (repeats - 1) x 1,024 tokens x (input price - cached input price)}, per window, times the windows in 30
 * days. 1,024 tokens is the least the prefix holds, so the estimate is a floor. A model without a price, or whose
 * cached input costs as much as its input, gives no alert.
 */
public final class PromptCacheWatch implements UsageSink {
    /** Prefix hashes followed per team and model. */
    static final int SLOTS = 16;
    /** Team/model pairs followed at once. */
    static final int MAX_GROUPS = 10_000;
    /** The tokens a prefix holds at least: its bytes at about four a token. */
    static final long PREFIX_TOKENS = TokenCount.PREFIX_BYTES / 4;
    private static final long MONTH_MILLIS = Duration.ofDays(30).toMillis();
    private static final long MTOK = 1_000_000L;

    private final AlertBook alerts;
    private final PriceCatalog prices;
    private final LongSupplier clockMillis;
    private final long windowMillis;
    private final int minRepeats;
    private final Map<Group.Key, Group> groups = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Group.Key, Group> eldest) {
            return size() > MAX_GROUPS;
        }
    };

    /** A watch with one-hour windows, alerting on a prefix repeated 10 times in one. */
    public PromptCacheWatch(AlertBook alerts, PriceCatalog prices, LongSupplier clockMillis) {
        this(alerts, prices, clockMillis, Duration.ofHours(1), 10);
    }

    /**
     * @param window how long calls are counted before they are judged
     * @param minRepeats the calls of one window with one uncached prefix that make an opportunity
     */
    public PromptCacheWatch(AlertBook alerts, PriceCatalog prices, LongSupplier clockMillis, Duration window,
                            int minRepeats) {
        this.alerts = Objects.requireNonNull(alerts, "alerts");
        this.prices = Objects.requireNonNull(prices, "prices");
        this.clockMillis = Objects.requireNonNull(clockMillis, "clockMillis");
        this.windowMillis = window.toMillis();
        if (windowMillis <= 0 || minRepeats < 2) {
            throw new IllegalArgumentException("window: " + window + ", minRepeats: " + minRepeats
                    + " (expected: a positive window and at least 2 repeats)");
        }
        this.minRepeats = minRepeats;
    }

    /** Runs {@link #check} every minute on {@code executor}. */
    public void schedule(ScheduledExecutorService executor) {
        executor.scheduleWithFixedDelay(this::check, 1, 1, TimeUnit.MINUTES);
    }

    @Override
    public synchronized void accept(UsageRecord r) {
        if (r.promptPrefixHash() == 0 || r.status() != CallStatus.OK || r.cacheHit() || r.team() == null
                || r.model() == null) {
            return;
        }
        long now = clockMillis.getAsLong();
        Group.Key key = new Group.Key(r.team(), r.model());
        Group group = groups.get(key);
        if (group == null) {
            group = new Group(now);
            groups.put(key, group);
        } else if (now - group.windowStart >= windowMillis) {
            judge(key, group, now);
        }
        group.count(r.promptPrefixHash(), r.usage().cachedInputTokens() > 0);
    }

    /** Judges every window that has ended, so an alert closes even when its team stopped calling. */
    public synchronized void check() {
        long now = clockMillis.getAsLong();
        for (Map.Entry<Group.Key, Group> e : List.copyOf(groups.entrySet())) {
            if (now - e.getValue().windowStart >= windowMillis) {
                judge(e.getKey(), e.getValue(), now);
            }
        }
    }

    /** Opens or updates the alert of a group whose window ended with an opportunity, else closes it; starts a new window. */
    private void judge(Group.Key key, Group group, long now) {
        long repeats = group.uncachedRepeats();
        long monthlyNanos = repeats >= minRepeats ? monthlySavingNanos(key.model(), repeats) : 0;
        if (monthlyNanos > 0) {
            String message = "team " + key.team() + ": " + repeats + " calls to " + key.model() + " in "
                    + human(windowMillis) + " began with the same prompt prefix of at least " + PREFIX_TOKENS
                    + " tokens (digits aside), and none read it from the provider's cache; caching it would save about "
                    + Money.format(roundToCent(monthlyNanos)) + " a month (mark it with cache_control for Anthropic; for"
                    + " any provider, move what changes, such as a date or an id, after the fixed part)";
            alerts.open(AlertType.PROMPT_CACHE_OPPORTUNITY, Alert.Scope.TEAM, key.team(), key.model(), message,
                    Money.toUsd(monthlyNanos).doubleValue(), minRepeats);
        } else {
            alerts.close(AlertType.PROMPT_CACHE_OPPORTUNITY, Alert.Scope.TEAM, key.team(), key.model());
        }
        group.reset(now);
    }

    /**
     * What {@code repeats} calls of a window, all but the first reading {@link #PREFIX_TOKENS} from cache, would save
     * in 30 days, in nano-USD; 0 when the model has no price or no discount for cached input.
     */
    long monthlySavingNanos(String model, long repeats) {
        Optional<ModelPrice> price = prices.find(model);
        if (price.isEmpty()) {
            return 0;
        }
        long discount = price.get().inputNanosPerMtok() - price.get().cachedInputNanosPerMtok();
        if (discount <= 0) {
            return 0;
        }
        BigInteger nanos = BigInteger.valueOf(repeats - 1).multiply(BigInteger.valueOf(PREFIX_TOKENS))
                .multiply(BigInteger.valueOf(discount)).multiply(BigInteger.valueOf(MONTH_MILLIS))
                .divide(BigInteger.valueOf(windowMillis).multiply(BigInteger.valueOf(MTOK)));
        return nanos.bitLength() < 63 ? nanos.longValueExact() : Long.MAX_VALUE;
    }

    private static long roundToCent(long nanos) {
        long cent = Money.NANOS_PER_USD / 100;
        return nanos >= Long.MAX_VALUE - cent ? nanos : (nanos + cent / 2) / cent * cent;
    }

    private static String human(long millis) {
        long minutes = millis / 60_000;
        if (minutes >= 60 && minutes % 60 == 0) {
            return minutes == 60 ? "an hour" : minutes / 60 + " hours";
        }
        return minutes >= 1 ? minutes + " minutes" : millis / 1000 + " s";
    }

    /**
     * The prefixes of one team and model in the current window: a Space-Saving sketch (Metwally, Agrawal and El Abbadi)
     * of {@link #SLOTS} slots. A prefix not in the sketch takes the slot of the least counted one, with that count plus
     * one and that count as its error, so no prefix seen more than {@code calls / SLOTS} times can be missed, and
     * {@code count - error} never overstates how often a prefix came.
     */
    static final class Group {
        record Key(String team, String model) {
        }

        private final long[] hashes = new long[SLOTS];
        private final long[] counts = new long[SLOTS];
        private final long[] errors = new long[SLOTS];
        /** Calls of the prefix that read tokens from the provider's cache (since it took its slot). */
        private final long[] cached = new long[SLOTS];
        private int used;
        long windowStart;

        Group(long windowStart) {
            this.windowStart = windowStart;
        }

        void count(long hash, boolean readFromCache) {
            int slot = -1;
            for (int i = 0; i < used; i++) {
                if (hashes[i] == hash) {
                    slot = i;
                    break;
                }
            }
            if (slot < 0) {
                if (used < SLOTS) {
                    slot = used++;
                    errors[slot] = 0;
                    counts[slot] = 0;
                } else {
                    slot = 0;
                    for (int i = 1; i < SLOTS; i++) {
                        if (counts[i] < counts[slot]) {
                            slot = i;
                        }
                    }
                    errors[slot] = counts[slot];
                }
                hashes[slot] = hash;
                cached[slot] = 0;
            }
            counts[slot]++;
            if (readFromCache) {
                cached[slot]++;
            }
        }

        /** The most calls one prefix certainly had in the window without any of them reading it from cache; 0 if none. */
        long uncachedRepeats() {
            long best = 0;
            for (int i = 0; i < used; i++) {
                if (cached[i] == 0) {
                    best = Math.max(best, counts[i] - errors[i]);
                }
            }
            return best;
        }

        void reset(long now) {
            used = 0;
            windowStart = now;
        }
    }
}
