package dev.tokenwise.server.cli;

import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.ServiceTier;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.metrics.ledger.Ledger;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Re-rates recorded calls under current prices: for each call, the cost of its recorded usage on the service tier its
 * price version names (the tier the provider served), at the input-size tier its usage reached, against what the
 * ledger holds for it (its cost plus the adjustments already applied, so a second run after {@code --apply} finds
 * nothing left to correct). A pure reading: {@link #reprice} changes nothing; the caller writes the
 * {@link #adjustments()} if asked to.
 *
 * <p>A call whose model has no current price is counted under {@link Line#unpriced} and not re-rated; a call the
 * provider did not bill (zero usage) re-rates to zero like any other.
 */
final class Repricer {

    /** One team's calls of one model in the period. */
    static final class Line {
        final String team;
        final String model;
        long calls;
        long unpriced;
        long recordedNanos;
        long repricedNanos;

        Line(String team, String model) {
            this.team = team;
            this.model = model;
        }

        long deltaNanos() {
            return repricedNanos - recordedNanos;
        }
    }

    private final Function<String, ModelPrice> currentPrices;
    private final Map<String, Long> applied;
    private final Map<String, Line> lines = new TreeMap<>();
    private final List<Ledger.Adjustment> adjustments = new ArrayList<>();

    /**
     * @param currentPrices the price a model is charged at now, {@code null} when it has none
     * @param applied the adjustments already applied, summed by record id
     */
    Repricer(Function<String, ModelPrice> currentPrices, Map<String, Long> applied) {
        this.currentPrices = Objects.requireNonNull(currentPrices, "currentPrices");
        this.applied = Objects.requireNonNull(applied, "applied");
    }

    /** Re-rates one recorded call. */
    void reprice(UsageRecord r) {
        String team = r.team() == null ? "" : r.team();
        String model = r.model() == null ? "" : r.model();
        Line line = lines.computeIfAbsent(team + '\u0000' + model, k -> new Line(team, model));
        line.calls++;
        long recorded = Math.addExact(r.costNanos(), applied.getOrDefault(r.id(), 0L));
        ModelPrice price = currentPrices.apply(r.model());
        if (price == null) {
            line.unpriced++;
            line.recordedNanos = Math.addExact(line.recordedNanos, recorded);
            line.repricedNanos = Math.addExact(line.repricedNanos, recorded);
            return;
        }
        ServiceTier tier = ModelPrice.tierOf(r.priceVersion());
        long repriced = price.costNanos(r.usage(), tier);
        line.recordedNanos = Math.addExact(line.recordedNanos, recorded);
        line.repricedNanos = Math.addExact(line.repricedNanos, repriced);
        if (repriced != recorded) {
            adjustments.add(new Ledger.Adjustment(r.id(), r.createdAtMillis(), r.team(), r.keyId(), r.model(),
                    repriced - recorded, price.version(r.usage(), tier)));
        }
    }

    /** The lines, by team then model. */
    List<Line> lines() {
        List<Line> sorted = new ArrayList<>(lines.values());
        sorted.sort(Comparator.comparing((Line l) -> l.team).thenComparing(l -> l.model));
        return sorted;
    }

    /** One adjustment per call whose re-rated cost differs from what the ledger holds for it. */
    List<Ledger.Adjustment> adjustments() {
        return List.copyOf(adjustments);
    }
}
