package dev.tokenwise.core.model;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What one model costs, in nano-USD per million tokens (so {@code $0.15 / Mtok} is {@code 150_000_000}): a base set
 * of {@link Rates} plus optional tiers chosen by what a call actually used.
 *
 * <ul>
 *   <li><b>Input size</b> ({@link #aboveInput}): above a prompt of N tokens (all of them: uncached, cached and written
 *       to cache), every token of the call is billed at that tier's rates: Gemini 2.5 Pro above 200,000 prompt tokens,
 *       Anthropic's long context, the newer GPT models above 272,000.</li>
 *   <li><b>Service tier</b> ({@link #serviceTiers}): the tier the provider says it served ({@link ServiceTier}), as a
 *       multiplier of the standard rates at every input size, or as explicit rates with their own input-size tiers.
 *       A served tier without a price here is billed at the standard rates.</li>
 *   <li><b>Cache-write duration</b>: tokens written to cache for one hour are billed at
 *       {@link Rates#cacheWrite1hNanosPerMtok}, the others at {@link Rates#cacheWriteNanosPerMtok}.</li>
 *   <li><b>Region</b>: {@link #inRegion} multiplies every rate by the uplift configured for the region a model is
 *       served from; the result is the price of that deployment.</li>
 * </ul>
 *
 * <p>Keeping the per-million unit makes every published price an exact integer; the cost of a call is one integer
 * sum rounded once, half up, to whole nano-USD. A multiplied rate is rounded half up to a whole nano-USD per million
 * tokens once, when the price is built. Every combination of service tier and input-size tier is resolved then too,
 * so pricing a call ({@link #costNanos(TokenUsage, ServiceTier)}, {@link #version(TokenUsage, ServiceTier)}) is a
 * table lookup that allocates nothing.
 *
 * <p>Each price has a {@link #id() short stable id} (8 hex digits of a SHA-256 of its rates and tiers; the date it
 * was checked does not change it), and each call's {@link #version price version} is that id with the service tier
 * and input-size tier applied, e.g. {@code 3fa2c1d0.flex.above272000}: what a record needs to be re-rated later.
 *
 * <pre>{@code
 * ModelPrice gemini25Pro = ModelPrice.of(1_250_000_000L, 10_000_000_000L)
 *         .withAboveInput(200_000, new Rates(2_500_000_000L, 15_000_000_000L, ...));
 * long costNanos = gemini25Pro.costNanos(usage, ServiceTier.served(responseTier));
 * }</pre>
 */
public final class ModelPrice {

    private static final long MTOK = Rates.MTOK;
    private static final int TIERS = ServiceTier.values().length;

    /** Rates that apply above a prompt of {@code inputTokens} tokens. */
    public record AboveInput(long inputTokens, Rates rates) {
        public AboveInput {
            if (inputTokens < 0) {
                throw new IllegalArgumentException("above_input_tokens: " + inputTokens + " (expected: >= 0)");
            }
            Objects.requireNonNull(rates, "rates");
        }
    }

    /**
     * The price of one service tier: a multiplier of the standard rates ({@code multiplierPpm} parts per million,
     * {@code rates} {@code null}), or explicit rates with their own input-size tiers ({@code multiplierPpm} 0).
     */
    public record TierPrice(long multiplierPpm, Rates rates, List<AboveInput> aboveInput) {
        public TierPrice {
            if (rates == null ? multiplierPpm <= 0 : multiplierPpm != 0) {
                throw new IllegalArgumentException("a tier price is a multiplier > 0 or explicit rates, not both");
            }
            aboveInput = sorted(aboveInput == null ? List.of() : aboveInput);
        }

        public static TierPrice multiplier(long ppm) {
            return new TierPrice(ppm, null, List.of());
        }

        public static TierPrice explicit(Rates rates, List<AboveInput> aboveInput) {
            return new TierPrice(0, Objects.requireNonNull(rates, "rates"), aboveInput);
        }

        TierPrice scaled(long ppm) {
            return rates == null ? this : explicit(rates.scaled(ppm), scaledTiers(aboveInput, ppm));
        }
    }

    private final Rates base;
    private final long maxOutputTokens;
    private final List<AboveInput> aboveInput;
    private final Map<ServiceTier, TierPrice> serviceTiers;
    private final Map<String, Long> regionUpliftPpm;
    private final String region;
    private final LocalDate checked;

    // Resolved once: thresholds of every schedule, rates and versions per [tier][level], dearest rates up to a level.
    private final long[] thresholds;
    private final Rates[][] table;
    private final String id;
    private final String[][] versions;
    private final long[][] dearestInput;
    private final long[][] dearestOutput;

    /**
     * A price of base rates only; the 1-hour cache-write rate is the cache-write rate.
     *
     * @param inputNanosPerMtok uncached prompt tokens
     * @param outputNanosPerMtok completion tokens that are not reasoning
     * @param cachedInputNanosPerMtok prompt tokens read from cache
     * @param cacheWriteNanosPerMtok prompt tokens written to cache
     * @param reasoningNanosPerMtok reasoning tokens
     * @param maxOutputTokens the model's output cap, {@code 0} when unknown
     */
    public ModelPrice(long inputNanosPerMtok, long outputNanosPerMtok, long cachedInputNanosPerMtok,
                      long cacheWriteNanosPerMtok, long reasoningNanosPerMtok, long maxOutputTokens) {
        this(new Rates(inputNanosPerMtok, outputNanosPerMtok, cachedInputNanosPerMtok, cacheWriteNanosPerMtok,
                cacheWriteNanosPerMtok, reasoningNanosPerMtok), maxOutputTokens, List.of(), Map.of(), Map.of(), null, null);
    }

    /**
     * A price with tiers.
     *
     * @param base the standard rates below every input-size tier
     * @param maxOutputTokens the model's output cap, {@code 0} when unknown
     * @param aboveInput input-size tiers of the standard rates (any order; thresholds must differ)
     * @param serviceTiers prices of tiers other than {@link ServiceTier#STANDARD}
     * @param regionUpliftPpm multipliers by region name, in parts per million (1.1 is {@code 1_100_000})
     * @param region the region whose uplift these rates already include, or {@code null}
     * @param checked when the price was last checked against the provider, or {@code null}
     */
    public ModelPrice(Rates base, long maxOutputTokens, List<AboveInput> aboveInput,
                      Map<ServiceTier, TierPrice> serviceTiers, Map<String, Long> regionUpliftPpm, String region,
                      LocalDate checked) {
        this.base = Objects.requireNonNull(base, "base");
        if (maxOutputTokens < 0) {
            throw new IllegalArgumentException("prices must be >= 0");
        }
        this.maxOutputTokens = maxOutputTokens;
        this.aboveInput = sorted(aboveInput == null ? List.of() : aboveInput);
        EnumMap<ServiceTier, TierPrice> tiers = new EnumMap<>(ServiceTier.class);
        if (serviceTiers != null) {
            serviceTiers.forEach((tier, price) -> tiers.put(Objects.requireNonNull(tier, "tier"),
                    Objects.requireNonNull(price, () -> "price of tier " + tier)));
        }
        if (tiers.containsKey(ServiceTier.STANDARD)) {
            throw new IllegalArgumentException("service tier standard: the standard price is the base price");
        }
        this.serviceTiers = Collections.unmodifiableMap(tiers);
        Map<String, Long> regions = new TreeMap<>();
        if (regionUpliftPpm != null) {
            regionUpliftPpm.forEach((name, ppm) -> {
                if (name == null || name.isBlank() || ppm == null || ppm <= 0) {
                    throw new IllegalArgumentException("region uplift " + name + ": " + ppm + " (expected: > 0)");
                }
                regions.put(name, ppm);
            });
        }
        this.regionUpliftPpm = Collections.unmodifiableMap(regions);
        this.region = region;
        this.checked = checked;

        TreeSet<Long> all = new TreeSet<>();
        this.aboveInput.forEach(t -> all.add(t.inputTokens()));
        this.serviceTiers.values().forEach(p -> p.aboveInput().forEach(t -> all.add(t.inputTokens())));
        this.thresholds = all.stream().mapToLong(Long::longValue).toArray();
        int levels = thresholds.length + 1;
        this.table = new Rates[TIERS][levels];
        this.versions = new String[TIERS][levels];
        this.dearestInput = new long[TIERS][levels];
        this.dearestOutput = new long[TIERS][levels];
        this.id = hash(canonical());
        for (ServiceTier tier : ServiceTier.values()) {
            int t = tier.ordinal();
            TierPrice own = this.serviceTiers.get(tier);
            for (int level = 0; level < levels; level++) {
                // A level's rates are those for a prompt just above its threshold (below every one for level 0).
                long input = level == 0 ? 0 : thresholds[level - 1] + 1;
                Rates rates;
                if (own == null) {
                    rates = at(base, this.aboveInput, input);
                } else if (own.rates() == null) {
                    rates = at(base, this.aboveInput, input).scaled(own.multiplierPpm());
                } else {
                    rates = at(own.rates(), own.aboveInput(), input);
                }
                table[t][level] = rates;
                versions[t][level] = id + (tier == ServiceTier.STANDARD ? "" : "." + tier.label())
                        + (level == 0 ? "" : ".above" + thresholds[level - 1]);
                dearestInput[t][level] = Math.max(level == 0 ? 0 : dearestInput[t][level - 1], rates.dearestInputNanosPerMtok());
                dearestOutput[t][level] = Math.max(level == 0 ? 0 : dearestOutput[t][level - 1], rates.dearestOutputNanosPerMtok());
            }
        }
    }

    /** Input and output prices only; cached input and cache writes at the input price, reasoning at the output price. */
    public static ModelPrice of(long inputNanosPerMtok, long outputNanosPerMtok) {
        return new ModelPrice(inputNanosPerMtok, outputNanosPerMtok, inputNanosPerMtok, inputNanosPerMtok,
                outputNanosPerMtok, 0);
    }

    /**
     * Converts a price in USD per million tokens (as written in configs and catalogs) to nano-USD per
     * million tokens, exactly; a price with more than nine decimals is rejected.
     */
    public static long usdPerMtokToNanos(BigDecimal usdPerMtok) {
        if (usdPerMtok.signum() < 0) {
            throw new IllegalArgumentException("price: " + usdPerMtok + " (expected: >= 0)");
        }
        try {
            return usdPerMtok.movePointRight(9).setScale(0, RoundingMode.UNNECESSARY).longValueExact();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("price: " + usdPerMtok + " (expected: at most 9 decimals, below 9e9)");
        }
    }

    /**
     * A multiplier such as {@code 0.5} or {@code 1.1} in parts per million, exactly; more than six decimals, or a
     * multiplier that is not {@code > 0}, is rejected.
     */
    public static long multiplierToPpm(BigDecimal multiplier) {
        if (multiplier.signum() <= 0) {
            throw new IllegalArgumentException("multiplier: " + multiplier + " (expected: > 0)");
        }
        try {
            return multiplier.movePointRight(6).setScale(0, RoundingMode.UNNECESSARY).longValueExact();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("multiplier: " + multiplier + " (expected: at most 6 decimals)");
        }
    }

    // ---- pricing a call ------------------------------------------------------------------------------

    /** The cost of {@code usage} on the standard tier; see {@link #costNanos(TokenUsage, ServiceTier)}. */
    public long costNanos(TokenUsage usage) {
        return costNanos(usage, ServiceTier.STANDARD);
    }

    /**
     * The cost of {@code usage} served on {@code tier} ({@code null}: standard), in nano-USD rounded half up once:
     * the rates of the tier at the input size the call used.
     *
     * @throws ArithmeticException when the cost itself does not fit a {@code long} (over $9.2 billion)
     */
    public long costNanos(TokenUsage usage, ServiceTier tier) {
        return rates(usage.inputTokens(), tier).costNanos(usage);
    }

    /** The rates that apply to a call of {@code inputTokens} prompt tokens served on {@code tier} ({@code null}: standard). */
    public Rates rates(long inputTokens, ServiceTier tier) {
        return table[ordinal(tier)][level(inputTokens)];
    }

    /** What the provider's prompt cache saved on {@code usage} on the standard tier; see {@link #promptCacheSavedNanos(TokenUsage, ServiceTier)}. */
    public long promptCacheSavedNanos(TokenUsage usage) {
        return promptCacheSavedNanos(usage, ServiceTier.STANDARD);
    }

    /**
     * What the provider's prompt cache saved on {@code usage} served on {@code tier} ({@code null}: standard): its
     * cached input tokens at the input rate minus the same tokens at the cached-input rate, both of the rates the call
     * was charged at, in nano-USD rounded half up once; {@code 0} when nothing was cached or cached input is not
     * cheaper. Saturates at {@code Long.MAX_VALUE} (no call saves that much).
     */
    public long promptCacheSavedNanos(TokenUsage usage, ServiceTier tier) {
        if (usage.cachedInputTokens() == 0) {
            return 0;
        }
        Rates r = rates(usage.inputTokens(), tier);
        long discount = r.inputNanosPerMtok() - r.cachedInputNanosPerMtok();
        if (discount <= 0) {
            return 0;
        }
        try {
            return Math.addExact(Math.multiplyExact(usage.cachedInputTokens(), discount), MTOK / 2) / MTOK;
        } catch (ArithmeticException beyondLong) {
            return Long.MAX_VALUE;
        }
    }

    /** The price version a call of {@code usage} served on {@code tier} is charged at (a precomputed string). */
    public String version(TokenUsage usage, ServiceTier tier) {
        return versions[ordinal(tier)][level(usage.inputTokens())];
    }

    /**
     * The most a call of at most {@code inputTokens} in and {@code outputTokens} out can cost, on any service tier:
     * {@link #worstCaseNanos(long, long, ServiceTier) worstCaseNanos(in, out, null)}.
     */
    public long worstCaseNanos(long inputTokens, long outputTokens) {
        return worstCaseNanos(inputTokens, outputTokens, null);
    }

    /**
     * The most a call of at most {@code inputTokens} in and {@code outputTokens} out can cost: every input token at
     * the dearest input rate (plain or cache write) and every output token at the dearest output rate (plain or
     * reasoning) of any input-size tier the call can reach, on the dearest service tier it can end up in: the one
     * the request pins ({@code requested}) or the standard tier, or, when the request pins none ({@code null}), any
     * tier (the provider may serve a call on its project's default tier, priority included). Used to reserve
     * budget before a call; rounded up.
     *
     * @throws ArithmeticException when the worst case does not fit a {@code long}
     */
    public long worstCaseNanos(long inputTokens, long outputTokens, ServiceTier requested) {
        int level = level(inputTokens);
        long nanoMtok = 0;
        for (int t = 0; t < TIERS; t++) {
            if (requested != null && t != requested.ordinal() && t != ServiceTier.STANDARD.ordinal()) {
                continue;
            }
            long tierNanoMtok = Math.addExact(Math.multiplyExact(inputTokens, dearestInput[t][level]),
                    Math.multiplyExact(outputTokens, dearestOutput[t][level]));
            nanoMtok = Math.max(nanoMtok, tierNanoMtok);
        }
        return Math.addExact(nanoMtok, MTOK - 1) / MTOK;
    }

    private int level(long inputTokens) {
        int level = 0;
        while (level < thresholds.length && inputTokens > thresholds[level]) {
            level++;
        }
        return level;
    }

    private static int ordinal(ServiceTier tier) {
        return tier == null ? 0 : tier.ordinal();
    }

    /**
     * The service tier a price version names ({@code 3fa2c1d0.flex.above272000} is {@link ServiceTier#FLEX}); the
     * standard tier when it names none, {@code null} for {@code null}.
     */
    public static ServiceTier tierOf(String version) {
        if (version == null) {
            return null;
        }
        int dot = version.indexOf('.');
        if (dot < 0) {
            return ServiceTier.STANDARD;
        }
        int end = version.indexOf('.', dot + 1);
        ServiceTier tier = ServiceTier.ofLabel(version.substring(dot + 1, end < 0 ? version.length() : end));
        return tier == null ? ServiceTier.STANDARD : tier;
    }

    // ---- variants -------------------------------------------------------------------------------------

    /** This price with rates above a prompt of {@code inputTokens} tokens (replacing a tier at the same threshold). */
    public ModelPrice withAboveInput(long inputTokens, Rates rates) {
        List<AboveInput> tiers = new ArrayList<>();
        for (AboveInput t : aboveInput) {
            if (t.inputTokens() != inputTokens) {
                tiers.add(t);
            }
        }
        tiers.add(new AboveInput(inputTokens, rates));
        return new ModelPrice(base, maxOutputTokens, tiers, serviceTiers, regionUpliftPpm, region, checked);
    }

    /** This price with {@code tier} priced at {@code price}. */
    public ModelPrice withServiceTier(ServiceTier tier, TierPrice price) {
        Map<ServiceTier, TierPrice> tiers = new EnumMap<>(ServiceTier.class);
        tiers.putAll(serviceTiers);
        tiers.put(tier, price);
        return new ModelPrice(base, maxOutputTokens, aboveInput, tiers, regionUpliftPpm, region, checked);
    }

    /** This price with the 1-hour cache-write rate of its base rates set. */
    public ModelPrice withCacheWrite1h(long nanosPerMtok) {
        Rates b = new Rates(base.inputNanosPerMtok(), base.outputNanosPerMtok(), base.cachedInputNanosPerMtok(),
                base.cacheWriteNanosPerMtok(), nanosPerMtok, base.reasoningNanosPerMtok());
        return new ModelPrice(b, maxOutputTokens, aboveInput, serviceTiers, regionUpliftPpm, region, checked);
    }

    /** This price with these region uplifts (parts per million by region). */
    public ModelPrice withRegionUplifts(Map<String, Long> upliftPpm) {
        return new ModelPrice(base, maxOutputTokens, aboveInput, serviceTiers, upliftPpm, region, checked);
    }

    /** This price, checked on {@code date}. */
    public ModelPrice checkedOn(LocalDate date) {
        return new ModelPrice(base, maxOutputTokens, aboveInput, serviceTiers, regionUpliftPpm, region, date);
    }

    /**
     * The price of a deployment served from {@code regionName}: every rate (of every tier) times the region's uplift.
     *
     * @throws IllegalArgumentException when the price names no uplift for that region, or already has a region
     */
    public ModelPrice inRegion(String regionName) {
        Long ppm = regionUpliftPpm.get(regionName);
        if (ppm == null) {
            throw new IllegalArgumentException("region " + regionName + " (expected one of the regions the price lists: "
                    + (regionUpliftPpm.isEmpty() ? "none" : String.join(", ", regionUpliftPpm.keySet())) + ")");
        }
        if (region != null) {
            throw new IllegalArgumentException("region " + regionName + ": the price is already that of region " + region);
        }
        Map<ServiceTier, TierPrice> tiers = new EnumMap<>(ServiceTier.class);
        serviceTiers.forEach((tier, price) -> tiers.put(tier, price.scaled(ppm)));
        return new ModelPrice(base.scaled(ppm), maxOutputTokens, scaledTiers(aboveInput, ppm), tiers, regionUpliftPpm,
                regionName, checked);
    }

    // ---- accessors ------------------------------------------------------------------------------------

    public Rates base() {
        return base;
    }

    public long inputNanosPerMtok() {
        return base.inputNanosPerMtok();
    }

    public long outputNanosPerMtok() {
        return base.outputNanosPerMtok();
    }

    public long cachedInputNanosPerMtok() {
        return base.cachedInputNanosPerMtok();
    }

    public long cacheWriteNanosPerMtok() {
        return base.cacheWriteNanosPerMtok();
    }

    public long cacheWrite1hNanosPerMtok() {
        return base.cacheWrite1hNanosPerMtok();
    }

    public long reasoningNanosPerMtok() {
        return base.reasoningNanosPerMtok();
    }

    /** The model's output cap, {@code 0} when unknown. */
    public long maxOutputTokens() {
        return maxOutputTokens;
    }

    /** The input-size tiers of the standard rates, by ascending threshold. */
    public List<AboveInput> aboveInput() {
        return aboveInput;
    }

    /** The prices of the service tiers other than standard. */
    public Map<ServiceTier, TierPrice> serviceTiers() {
        return serviceTiers;
    }

    /** Region uplifts in parts per million, by region name. */
    public Map<String, Long> regionUpliftPpm() {
        return regionUpliftPpm;
    }

    /** The region whose uplift the rates include, or {@code null}. */
    public String region() {
        return region;
    }

    /** When the price was last checked, or {@code null} when its source does not say. */
    public LocalDate checked() {
        return checked;
    }

    /** The price's short stable id: 8 hex digits of a SHA-256 of its rates and tiers. */
    public String id() {
        return id;
    }

    /** The thresholds of every input-size tier of every service tier, ascending. */
    public long[] thresholds() {
        return thresholds.clone();
    }

    // ---- identity -------------------------------------------------------------------------------------

    private String canonical() {
        StringBuilder s = new StringBuilder(base.canonical());
        for (AboveInput t : aboveInput) {
            s.append(";>").append(t.inputTokens()).append('=').append(t.rates().canonical());
        }
        serviceTiers.forEach((tier, price) -> {
            s.append(';').append(tier.label()).append('=');
            if (price.rates() == null) {
                s.append('x').append(price.multiplierPpm());
            } else {
                s.append(price.rates().canonical());
                for (AboveInput t : price.aboveInput()) {
                    s.append(",>").append(t.inputTokens()).append('=').append(t.rates().canonical());
                }
            }
        });
        if (region != null) {
            s.append(";region=").append(region);
        }
        return s.toString();
    }

    private static String hash(String canonical) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    private static Rates at(Rates base, List<AboveInput> tiers, long inputTokens) {
        Rates rates = base;
        for (AboveInput t : tiers) {
            if (inputTokens > t.inputTokens()) {
                rates = t.rates();
            }
        }
        return rates;
    }

    private static List<AboveInput> sorted(List<AboveInput> tiers) {
        Map<Long, AboveInput> byThreshold = new TreeMap<>();
        for (AboveInput t : tiers) {
            if (byThreshold.put(Objects.requireNonNull(t, "tier").inputTokens(), t) != null) {
                throw new IllegalArgumentException("above_input_tokens " + t.inputTokens() + " is listed twice");
            }
        }
        return List.copyOf(byThreshold.values());
    }

    private static List<AboveInput> scaledTiers(List<AboveInput> tiers, long ppm) {
        List<AboveInput> scaled = new ArrayList<>(tiers.size());
        for (AboveInput t : tiers) {
            scaled.add(new AboveInput(t.inputTokens(), t.rates().scaled(ppm)));
        }
        return scaled;
    }

    /** Equal prices charge every call the same and cap output the same; the date they were checked may differ. */
    @Override
    public boolean equals(Object o) {
        return o instanceof ModelPrice p && maxOutputTokens == p.maxOutputTokens && base.equals(p.base)
                && aboveInput.equals(p.aboveInput) && serviceTiers.equals(p.serviceTiers)
                && regionUpliftPpm.equals(p.regionUpliftPpm) && Objects.equals(region, p.region);
    }

    /** Like {@link #equals}, on what a call is charged: the date a price was checked is not part of it. */
    @Override
    public int hashCode() {
        return Objects.hash(base, maxOutputTokens, aboveInput, serviceTiers, regionUpliftPpm, region);
    }

    @Override
    public String toString() {
        Map<String, Object> parts = new LinkedHashMap<>();
        parts.put("id", id);
        parts.put("base", base);
        parts.put("maxOutputTokens", maxOutputTokens);
        if (!aboveInput.isEmpty()) {
            parts.put("aboveInput", aboveInput);
        }
        if (!serviceTiers.isEmpty()) {
            parts.put("serviceTiers", serviceTiers);
        }
        if (!regionUpliftPpm.isEmpty()) {
            parts.put("regionUpliftPpm", regionUpliftPpm);
        }
        if (region != null) {
            parts.put("region", region);
        }
        if (checked != null) {
            parts.put("checked", checked);
        }
        return "ModelPrice" + parts;
    }
}
