package dev.tokenwise.metrics.efficiency;

import java.util.Locale;

/** The kinds of alert in an {@link AlertBook}. */
public enum AlertType {
    /** A team's (or key's) spend crossed the soft threshold of its budget this period. */
    BUDGET_THRESHOLD,
    /** A model's success rate, retry rate, truncation rate, output length or tokens per success changed significantly. */
    QUALITY_DRIFT,
    /** A model's cost per successful task rose significantly while its per-token prices stayed put. */
    EFFECTIVE_PRICE_DRIFT,
    /**
     * The per-call differences between what a provider billed and what the gateway counted, for an exactly tokenized
     * model, shifted: more calls differ, or their median moved.
     */
    BILLING_DISCREPANCY,
    /** A model bills significantly more (or fewer) input tokens per byte of prompt text than before: a new tokenizer. */
    TOKEN_INFLATION,
    /** A model has no price and is let through by {@code pricing.allow_unpriced}: open until it has one. */
    UNPRICED_MODEL,
    /** A team's calls to a model repeat a long prompt prefix that the provider's prompt cache never serves. */
    PROMPT_CACHE_OPPORTUNITY;

    /** The name used in the API and logs, e.g. {@code quality_drift}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
