package dev.tokenwise.metrics.dashboard;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.budget.Budget;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.Money;
import dev.tokenwise.metrics.api.LedgerRoute;
import dev.tokenwise.metrics.ledger.Ledger;
import java.io.IOException;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * {@code GET /api/v1/dashboard/summary?range=24h|7d|30d}: what the dashboard's spend charts show, in one
 * answer: each team's spend against its budget this period, spend per team over time, spend and tokens per
 * model, and what the caches saved (the response cache's savings and hit rates per team and model, the providers'
 * prompt caches' savings). The admin key sees every team; a team's key sees its own team only, as if no other team
 * existed (its figures, its budget, its models, and no other team's name); no key is a 401.
 *
 * <p>Hundreds of teams or models stay readable: {@value #TOP_TEAMS} teams (alternately the closest to their limit
 * and the biggest spenders), the {@value #TOP_SERIES} biggest spenders over time and the {@value #TOP_MODELS}
 * most expensive models are listed by name, the rest summed into {@code other} (with how many it holds). The field
 * list is in {@code docs/dashboard.md}.
 *
 * <p>Budgets come from memory (exact, reservations included); everything else from the ledger, on the
 * executor given to the constructor, never on the event loop.
 */
public final class DashboardSummaryRoute extends LedgerRoute {
    static final String PATH = "/api/v1/dashboard/summary";
    static final int TOP_TEAMS = 12;
    static final int TOP_SERIES = 8;
    static final int TOP_MODELS = 10;
    /** Teams and models whose cache hit rate is listed: the most looked up. */
    static final int TOP_HIT_RATES = 10;
    private static final long HOUR_MILLIS = 3_600_000L;

    /** A range the summary covers: its length and the width of its time buckets. */
    enum Range {
        DAY("24h", 24 * HOUR_MILLIS, HOUR_MILLIS),
        WEEK("7d", 7 * 24 * HOUR_MILLIS, 6 * HOUR_MILLIS),
        MONTH("30d", 30 * 24 * HOUR_MILLIS, 24 * HOUR_MILLIS);

        final String label;
        final long lengthMillis;
        final long bucketMillis;

        Range(String label, long lengthMillis, long bucketMillis) {
            this.label = label;
            this.lengthMillis = lengthMillis;
            this.bucketMillis = bucketMillis;
        }

        static Range of(String value) {
            if (value == null || value.isEmpty()) {
                return DAY;
            }
            for (Range r : values()) {
                if (r.label.equals(value)) {
                    return r;
                }
            }
            throw new GatewayException(ErrorType.BAD_REQUEST, "range: " + value + " (expected: 24h, 7d or 30d)");
        }
    }

    private final LedgerReader reader;
    private final Supplier<? extends Collection<Budget.Snapshot>> budgets;
    private final int softThresholdPercent;
    private final LongSupplier clockMillis;

    /**
     * @param budgets a snapshot of every team budget (the holder is the team)
     * @param softThresholdPercent the budgets' soft threshold, drawn on the budget bars
     */
    public DashboardSummaryRoute(Ledger ledger, Supplier<? extends Collection<Budget.Snapshot>> budgets,
                                 int softThresholdPercent, Executor executor) {
        this(new LedgerReader(ledger::openReadConnection), budgets, softThresholdPercent, executor, System::currentTimeMillis);
    }

    DashboardSummaryRoute(LedgerReader reader, Supplier<? extends Collection<Budget.Snapshot>> budgets,
                          int softThresholdPercent, Executor executor, LongSupplier clockMillis) {
        super(PATH, executor);
        this.reader = Objects.requireNonNull(reader, "reader");
        this.budgets = Objects.requireNonNull(budgets, "budgets");
        this.softThresholdPercent = softThresholdPercent;
        this.clockMillis = Objects.requireNonNull(clockMillis, "clockMillis");
    }

    @Override
    protected Principal caller(Request request) {
        Principal principal = request.principal();
        if (principal == null) {
            throw new GatewayException(ErrorType.INVALID_API_KEY,
                    "missing or invalid API key (the dashboard needs the admin key or a team's key)");
        }
        return principal;
    }

    @Override
    protected CompletableFuture<Response> answer(Request request, Principal caller) {
        Range range = Range.of(request.queryParam("range"));
        String team = ownTeam(caller);
        long now = clockMillis.getAsLong();
        long from = Math.floorDiv(now - range.lengthMillis, range.bucketMillis) * range.bucketMillis + range.bucketMillis;
        return read(() -> rows(from, range.bucketMillis, team), rows -> summary(range, team, now, from, rows));
    }

    /** What the summary reads from the ledger, all from {@code from}, of every team or of {@code team} alone. */
    private record Rows(List<LedgerReader.Totals> teams, List<LedgerReader.Totals> models,
                        List<LedgerReader.BucketSpend> overTime, List<LedgerReader.BucketSavings> savings,
                        List<LedgerReader.HitRate> teamHits, List<LedgerReader.HitRate> modelHits) {
    }

    private Rows rows(long from, long bucketMillis, String team) throws SQLException {
        return new Rows(reader.totals(false, from, team), reader.totals(true, from, team),
                reader.spendOverTime(from, bucketMillis, team), reader.savingsOverTime(from, bucketMillis, team),
                reader.hitRates(false, from, team), reader.hitRates(true, from, team));
    }

    /** The summary of every team ({@code team} null, for the admin key) or of {@code team} alone. */
    private byte[] summary(Range range, String team, long now, long from, Rows rows) {
        List<LedgerReader.Totals> teams = rows.teams();
        List<LedgerReader.Totals> models = rows.models();
        Map<String, Budget.Snapshot> budgetByTeam = new HashMap<>();
        for (Budget.Snapshot s : budgets.get()) {
            if (team == null || team.equals(s.holder())) {
                budgetByTeam.put(s.holder(), s);
            }
        }
        return json(4096, g -> {
            g.writeStartObject();
            g.writeStringField("generated_at", Instant.ofEpochMilli(now).toString());
            g.writeStringField("range", range.label);
            if (team == null) {
                g.writeNullField("team");
            } else {
                g.writeStringField("team", team);
            }
            g.writeStringField("from", Instant.ofEpochMilli(from).toString());
            g.writeNumberField("bucket_seconds", range.bucketMillis / 1000);
            g.writeNumberField("soft_threshold_percent", softThresholdPercent);
            writeTotals(g, models, teams.size());
            writeTeams(g, teams, budgetByTeam);
            writeOverTime(g, rows.overTime(), teams, from, now, range.bucketMillis);
            writeModels(g, models);
            writeSavings(g, rows.savings(), rows.teamHits(), rows.modelHits(), from, now, range.bucketMillis);
            g.writeEndObject();
        });
    }

    private static void writeTotals(JsonGenerator g, List<LedgerReader.Totals> models, int teamCount) throws IOException {
        LedgerReader.Totals sum = sum("all", models);
        g.writeObjectFieldStart("totals");
        g.writeNumberField("requests", sum.requests());
        g.writeNumberField("errors", sum.errors());
        g.writeNumberField("input_tokens", sum.inputTokens());
        g.writeNumberField("output_tokens", sum.outputTokens());
        usd(g, "cost_usd", sum.costNanos());
        g.writeNumberField("teams", teamCount);
        g.writeNumberField("models", models.size());
        g.writeEndObject();
    }

    /** One row per team: spend in the range and, with a budget, this period's books. */
    record TeamRow(String team, LedgerReader.Totals range, Budget.Snapshot budget) {
        /** What the bar shows: this period's spend with a budget, else the range's. */
        long barNanos() {
            return budget != null ? budget.spentNanos() : range.costNanos();
        }

        /** Spent ÷ limit this period; 0 without a budget. */
        double usedShare() {
            return budget != null && budget.limitNanos() > 0 ? (double) budget.spentNanos() / budget.limitNanos() : 0;
        }
    }

    private static void writeTeams(JsonGenerator g, List<LedgerReader.Totals> totals,
                                   Map<String, Budget.Snapshot> budgets) throws IOException {
        Map<String, TeamRow> rows = new LinkedHashMap<>();
        for (LedgerReader.Totals t : totals) {
            rows.put(t.group(), new TeamRow(t.group(), t, budgets.get(t.group())));
        }
        for (Budget.Snapshot b : budgets.values()) {
            rows.putIfAbsent(b.holder(), new TeamRow(b.holder(), new LedgerReader.Totals(b.holder(), 0, 0, 0, 0, 0), b));
        }
        List<TeamRow> sorted = chooseTeams(rows.values());
        g.writeObjectFieldStart("teams");
        g.writeNumberField("count", sorted.size());
        g.writeArrayFieldStart("shown");
        for (TeamRow r : sorted.subList(0, Math.min(TOP_TEAMS, sorted.size()))) {
            g.writeStartObject();
            g.writeStringField("team", r.team());
            g.writeNumberField("requests", r.range().requests());
            usd(g, "cost_usd", r.range().costNanos());
            Budget.Snapshot b = r.budget();
            if (b == null) {
                g.writeNullField("budget");
            } else {
                g.writeObjectFieldStart("budget");
                g.writeStringField("period", b.period().name().toLowerCase(Locale.ROOT));
                usd(g, "limit_usd", b.limitNanos());
                usd(g, "spent_usd", b.spentNanos());
                usd(g, "reserved_usd", b.reservedNanos());
                usd(g, "remaining_usd", b.remainingNanos());
                g.writeNumberField("used_percent", b.limitNanos() > 0
                        ? Math.round(1000.0 * b.spentNanos() / b.limitNanos()) / 10.0 : 0);
                g.writeStringField("period_start", Instant.ofEpochMilli(b.periodStartMillis()).toString());
                g.writeStringField("period_end", Instant.ofEpochMilli(b.periodEndMillis()).toString());
                g.writeEndObject();
            }
            g.writeEndObject();
        }
        g.writeEndArray();
        if (sorted.size() > TOP_TEAMS) {
            List<TeamRow> rest = sorted.subList(TOP_TEAMS, sorted.size());
            long limit = 0;
            long spent = 0;
            long cost = 0;
            long requests = 0;
            int budgeted = 0;
            for (TeamRow r : rest) {
                cost += r.range().costNanos();
                requests += r.range().requests();
                if (r.budget() != null) {
                    budgeted++;
                    limit += r.budget().limitNanos();
                    spent += r.budget().spentNanos();
                }
            }
            g.writeObjectFieldStart("other");
            g.writeNumberField("teams", rest.size());
            g.writeNumberField("teams_with_budget", budgeted);
            g.writeNumberField("requests", requests);
            usd(g, "cost_usd", cost);
            usd(g, "budget_limit_usd", limit);
            usd(g, "budget_spent_usd", spent);
            g.writeEndObject();
        } else {
            g.writeNullField("other");
        }
        g.writeEndObject();
    }

    /**
     * The teams in the order they are named: alternately the next closest to its limit (share of the budget spent)
     * and the next biggest spender, so that neither a small team about to run out nor the team that spends the
     * most ends up in {@code other}; then everyone else by spend.
     */
    static List<TeamRow> chooseTeams(Collection<TeamRow> rows) {
        List<TeamRow> spenders = new ArrayList<>(rows);
        spenders.sort(Comparator.comparingLong(TeamRow::barNanos).reversed()
                .thenComparing(Comparator.comparingLong((TeamRow r) -> r.range().costNanos()).reversed())
                .thenComparing(TeamRow::team));
        List<TeamRow> atRisk = new ArrayList<>();
        for (TeamRow r : spenders) {
            if (r.budget() != null && r.budget().limitNanos() > 0) {
                atRisk.add(r);
            }
        }
        atRisk.sort(Comparator.comparingDouble(TeamRow::usedShare).reversed().thenComparing(TeamRow::team));
        LinkedHashSet<TeamRow> chosen = new LinkedHashSet<>();
        int risk = 0;
        int spend = 0;
        while (chosen.size() < TOP_TEAMS && (risk < atRisk.size() || spend < spenders.size())) {
            if (risk < atRisk.size()) {
                chosen.add(atRisk.get(risk++));
            }
            if (chosen.size() >= TOP_TEAMS) {
                break;
            }
            while (spend < spenders.size() && !chosen.add(spenders.get(spend++))) {
                // already named as at risk: take the next spender
            }
        }
        List<TeamRow> ordered = new ArrayList<>(chosen);
        for (TeamRow r : spenders) {
            if (!chosen.contains(r)) {
                ordered.add(r);
            }
        }
        return ordered;
    }

    private static void writeOverTime(JsonGenerator g, List<LedgerReader.BucketSpend> spend,
                                      List<LedgerReader.Totals> teams, long from, long now, long bucketMillis)
            throws IOException {
        List<LedgerReader.Totals> byCost = new ArrayList<>(teams);
        byCost.sort(Comparator.comparingLong(LedgerReader.Totals::costNanos).reversed()
                .thenComparing(LedgerReader.Totals::group));
        Map<String, Integer> seriesOf = new LinkedHashMap<>();
        for (LedgerReader.Totals t : byCost.subList(0, Math.min(TOP_SERIES, byCost.size()))) {
            seriesOf.put(t.group(), seriesOf.size());
        }
        boolean other = byCost.size() > TOP_SERIES;
        int buckets = (int) ((Math.floorDiv(now, bucketMillis) * bucketMillis - from) / bucketMillis) + 1;
        long[][] values = new long[seriesOf.size() + (other ? 1 : 0)][buckets];
        for (LedgerReader.BucketSpend s : spend) {
            int b = (int) ((s.bucket() - from) / bucketMillis);
            if (b < 0 || b >= buckets) {
                continue;
            }
            Integer series = seriesOf.get(s.team());
            values[series != null ? series : seriesOf.size()][b] += s.costNanos();
        }
        g.writeObjectFieldStart("spend_over_time");
        g.writeArrayFieldStart("buckets");
        for (int b = 0; b < buckets; b++) {
            g.writeString(Instant.ofEpochMilli(from + b * bucketMillis).toString());
        }
        g.writeEndArray();
        g.writeArrayFieldStart("series");
        List<String> names = new ArrayList<>(seriesOf.keySet());
        if (other) {
            names.add("other (" + (byCost.size() - TOP_SERIES) + " teams)");
        }
        for (int i = 0; i < names.size(); i++) {
            g.writeStartObject();
            g.writeStringField("team", names.get(i));
            g.writeBooleanField("other", other && i == names.size() - 1);
            g.writeArrayFieldStart("usd");
            for (long v : values[i]) {
                g.writeNumber(Money.toUsd(v).toPlainString());
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    private static void writeModels(JsonGenerator g, List<LedgerReader.Totals> models) throws IOException {
        List<LedgerReader.Totals> sorted = new ArrayList<>(models);
        sorted.sort(Comparator.comparingLong(LedgerReader.Totals::costNanos).reversed()
                .thenComparing(Comparator.comparingLong(LedgerReader.Totals::requests).reversed())
                .thenComparing(LedgerReader.Totals::group));
        g.writeObjectFieldStart("models");
        g.writeNumberField("count", sorted.size());
        g.writeArrayFieldStart("shown");
        for (LedgerReader.Totals t : sorted.subList(0, Math.min(TOP_MODELS, sorted.size()))) {
            g.writeStartObject();
            g.writeStringField("model", t.group());
            modelFields(g, t);
            g.writeEndObject();
        }
        g.writeEndArray();
        if (sorted.size() > TOP_MODELS) {
            List<LedgerReader.Totals> rest = sorted.subList(TOP_MODELS, sorted.size());
            g.writeObjectFieldStart("other");
            g.writeNumberField("models", rest.size());
            modelFields(g, sum("other", rest));
            g.writeEndObject();
        } else {
            g.writeNullField("other");
        }
        g.writeEndObject();
    }

    /**
     * {@code savings}: what the response cache saved (what its hits cost when first bought) and what the providers'
     * prompt caches saved, in all and per bucket of {@code spend_over_time}, and the response cache's hit rate (hits of
     * hits and misses) of the most looked-up teams and models.
     */
    private static void writeSavings(JsonGenerator g, List<LedgerReader.BucketSavings> savings,
                                     List<LedgerReader.HitRate> teams, List<LedgerReader.HitRate> models, long from,
                                     long now, long bucketMillis) throws IOException {
        int buckets = (int) ((Math.floorDiv(now, bucketMillis) * bucketMillis - from) / bucketMillis) + 1;
        long[] cache = new long[buckets];
        long[] prompt = new long[buckets];
        long cacheTotal = 0;
        long promptTotal = 0;
        for (LedgerReader.BucketSavings s : savings) {
            int b = (int) ((s.bucket() - from) / bucketMillis);
            if (b >= 0 && b < buckets) {
                cache[b] += s.cacheSavedNanos();
                prompt[b] += s.promptCacheSavedNanos();
                cacheTotal += s.cacheSavedNanos();
                promptTotal += s.promptCacheSavedNanos();
            }
        }
        long hits = 0;
        long misses = 0;
        for (LedgerReader.HitRate h : teams) {
            hits += h.hits();
            misses += h.misses();
        }
        g.writeObjectFieldStart("savings");
        g.writeNumberField("cache_hits", hits);
        g.writeNumberField("cache_misses", misses);
        usd(g, "cache_saved_usd", cacheTotal);
        usd(g, "prompt_cache_saved_usd", promptTotal);
        g.writeObjectFieldStart("over_time");
        g.writeArrayFieldStart("cache_saved_usd");
        for (long v : cache) {
            g.writeNumber(Money.toUsd(v).toPlainString());
        }
        g.writeEndArray();
        g.writeArrayFieldStart("prompt_cache_saved_usd");
        for (long v : prompt) {
            g.writeNumber(Money.toUsd(v).toPlainString());
        }
        g.writeEndArray();
        g.writeEndObject();
        g.writeObjectFieldStart("hit_rate");
        writeHitRates(g, "teams", "team", teams);
        writeHitRates(g, "models", "model", models);
        g.writeEndObject();
        g.writeEndObject();
    }

    private static void writeHitRates(JsonGenerator g, String field, String name, List<LedgerReader.HitRate> rows)
            throws IOException {
        List<LedgerReader.HitRate> sorted = new ArrayList<>(rows);
        sorted.sort(Comparator.comparingLong(LedgerReader.HitRate::lookups).reversed()
                .thenComparing(LedgerReader.HitRate::group, Comparator.nullsLast(Comparator.naturalOrder())));
        g.writeArrayFieldStart(field);
        for (LedgerReader.HitRate h : sorted.subList(0, Math.min(TOP_HIT_RATES, sorted.size()))) {
            g.writeStartObject();
            g.writeStringField(name, h.group());
            g.writeNumberField("hits", h.hits());
            g.writeNumberField("misses", h.misses());
            g.writeNumberField("hit_rate", h.lookups() == 0 ? 0 : Math.round(10_000.0 * h.hits() / h.lookups()) / 10_000.0);
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    private static void modelFields(JsonGenerator g, LedgerReader.Totals t) throws IOException {
        g.writeNumberField("requests", t.requests());
        g.writeNumberField("errors", t.errors());
        g.writeNumberField("input_tokens", t.inputTokens());
        g.writeNumberField("output_tokens", t.outputTokens());
        usd(g, "cost_usd", t.costNanos());
    }

    private static LedgerReader.Totals sum(String group, List<LedgerReader.Totals> rows) {
        long requests = 0;
        long errors = 0;
        long input = 0;
        long output = 0;
        long cost = 0;
        for (LedgerReader.Totals t : rows) {
            requests += t.requests();
            errors += t.errors();
            input += t.inputTokens();
            output += t.outputTokens();
            cost += t.costNanos();
        }
        return new LedgerReader.Totals(group, requests, errors, input, output, cost);
    }

    private static void usd(JsonGenerator g, String name, long nanos) throws IOException {
        g.writeFieldName(name);
        g.writeNumber(Money.toUsd(nanos).toPlainString());
    }
}
