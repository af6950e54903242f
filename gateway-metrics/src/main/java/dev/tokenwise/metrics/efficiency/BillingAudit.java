package dev.tokenwise.metrics.efficiency;

import dev.tokenwise.core.model.CallStatus;
import dev.tokenwise.core.model.UsageRecord;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * Compares the tokens providers bill with the tokens the gateway counted itself.
 *
 * <ul>
 *   <li><b>Audit</b> (models with an exact local tokenizer): over the last {@code auditWindow} calls of a model
 *       whose usage came from the provider and whose local count is exact, {@code Σ provider ÷ Σ local} is
 *       computed for input tokens and for output tokens (the provider's output without reasoning tokens, which
 *       no text shows; calls that ended in tool calls are left out of the output side, their arguments are not
 *       counted locally). When it is {@code ≥ 1 + auditThreshold} over at least {@code auditMinCalls} calls, a
 *       {@link AlertType#BILLING_DISCREPANCY} opens, naming model, ratio and sample size; it closes when the
 *       ratio falls below {@code 1 + auditThreshold / 2} (so a ratio hovering at the threshold does not flap).</li>
 *   <li><b>Calibration</b> (models without one): the provider/local ratio is learnt per model with an
 *       exponentially weighted moving average of provider tokens and of local tokens per call, so that an
 *       estimate can be corrected ({@link #calibration}).</li>
 * </ul>
 *
 * <p>Implementation note: {@link #observe} runs on one thread (the record dispatcher). A model's audit window
 * is a ring of per-call samples with running sums, guarded by the window's monitor (readers are API threads);
 * a calibration is an immutable {@link Calibration} replaced on every sample, so {@link #calibration} is a
 * lock-free map read, cheap enough for the hot path.
 */
public final class BillingAudit {

    /**
     * What a model's tokenizer is worth: {@code provider ≈ local × ratio}.
     *
     * @param inputRatio the EWMA of provider input tokens over the EWMA of local input tokens; NaN before a sample
     * @param outputRatio the same for output tokens
     * @param samples the calls learnt from
     */
    public record Calibration(String model, double inputRatio, double outputRatio, long samples) {
    }

    /**
     * The audit of one exactly tokenized model over its window.
     *
     * @param inputCalls calls with an input sample
     * @param inputRatio {@code Σ provider input ÷ Σ local input}; NaN without samples
     * @param outputCalls calls with an output sample
     * @param outputRatio {@code Σ provider output ÷ Σ local output}; NaN without samples
     */
    public record Audit(String model, long inputCalls, double inputRatio, long outputCalls, double outputRatio) {
    }

    private final Predicate<String> exactModels;
    private final AlertBook alerts;
    private final EfficiencySettings settings;
    private final Map<String, Window> windows = new ConcurrentHashMap<>();
    private final Map<String, Ewma> ewmas = new ConcurrentHashMap<>();
    private final Map<String, Calibration> calibrations = new ConcurrentHashMap<>();
    private static final long REFRESH_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);

    /**
     * @param exactModels which models have an exact local tokenizer ({@code TokenCounter::isExact})
     */
    public BillingAudit(Predicate<String> exactModels, AlertBook alerts, EfficiencySettings settings) {
        this.exactModels = Objects.requireNonNull(exactModels, "exactModels");
        this.alerts = Objects.requireNonNull(alerts, "alerts");
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    /** Takes one finished call into account. Called on one thread. */
    public void observe(UsageRecord r) {
        if (!r.usageFromProvider() || r.model() == null || r.cacheHit()) {
            return; // a cache hit repeats the usage of the call it was answered from: no new evidence
        }
        long providerInput = r.usage().inputTokens();
        long providerOutput = r.usage().outputTokens() - r.usage().reasoningTokens();
        boolean input = r.localInputTokens() > 0;
        boolean output = r.localOutputTokens() > 0 && r.status() == CallStatus.OK
                && !"tool_calls".equals(r.finishReason());
        if (!input && !output) {
            return;
        }
        if (exactModels.test(r.model())) {
            if (r.localEstimated()) {
                return; // non-text parts: the local count is not exact for this call
            }
            Window w = windows.computeIfAbsent(r.model(), m -> new Window(settings.auditWindow()));
            Audit audit;
            synchronized (w) {
                w.add(input ? providerInput : 0, input ? r.localInputTokens() : 0,
                        output ? providerOutput : 0, output ? r.localOutputTokens() : 0, input, output);
                audit = w.audit(r.model());
            }
            w.inputUpdatedNanos = judge(audit, "input_tokens", audit.inputCalls(), audit.inputRatio(),
                    w.inputUpdatedNanos);
            w.outputUpdatedNanos = judge(audit, "output_tokens", audit.outputCalls(), audit.outputRatio(),
                    w.outputUpdatedNanos);
        } else {
            Ewma e = ewmas.computeIfAbsent(r.model(), m -> new Ewma());
            if (input) {
                e.inputProvider = e.step(e.inputProvider, providerInput, e.inputSamples);
                e.inputLocal = e.step(e.inputLocal, r.localInputTokens(), e.inputSamples);
                e.inputSamples++;
            }
            if (output) {
                e.outputProvider = e.step(e.outputProvider, providerOutput, e.outputSamples);
                e.outputLocal = e.step(e.outputLocal, r.localOutputTokens(), e.outputSamples);
                e.outputSamples++;
            }
            calibrations.put(r.model(), new Calibration(r.model(),
                    e.inputSamples == 0 ? Double.NaN : e.inputProvider / e.inputLocal,
                    e.outputSamples == 0 ? Double.NaN : e.outputProvider / e.outputLocal,
                    Math.max(e.inputSamples, e.outputSamples)));
        }
    }

    /**
     * Opens, refreshes or closes the alert of one side. While its ratio holds steady (within 0.1 %), an open
     * alert is refreshed at most once a second: formatting its message on every call would cost more than
     * the audit itself.
     *
     * @return when the alert was last opened or refreshed
     */
    private long judge(Audit audit, String metric, long calls, double ratio, long updatedNanos) {
        double threshold = 1 + settings.auditThreshold();
        if (calls >= settings.auditMinCalls() && ratio >= threshold) {
            long now = System.nanoTime();
            if (now - updatedNanos < REFRESH_NANOS) {
                Alert open = alerts.find(AlertType.BILLING_DISCREPANCY, Alert.Scope.MODEL, audit.model(), metric);
                if (open != null && Math.abs(open.value() - ratio) < ratio * 1e-3) {
                    return updatedNanos;
                }
            }
            String side = metric.equals("input_tokens") ? "input" : "output";
            alerts.open(AlertType.BILLING_DISCREPANCY, Alert.Scope.MODEL, audit.model(), metric,
                    String.format("%s: the provider billed %.1f%% more %s tokens than the gateway counted "
                                    + "(ratio %.4f over the last %d calls)",
                            audit.model(), (ratio - 1) * 100, side, ratio, calls),
                    ratio, threshold);
            return now;
        } else if (!(ratio >= 1 + settings.auditThreshold() / 2)) {
            alerts.close(AlertType.BILLING_DISCREPANCY, Alert.Scope.MODEL, audit.model(), metric);
        }
        return updatedNanos;
    }

    /** The learnt provider/local ratios of a model without an exact tokenizer, once it has a sample. */
    public Optional<Calibration> calibration(String model) {
        return Optional.ofNullable(calibrations.get(model));
    }

    /** The audit of an exactly tokenized model, once it has a sample. */
    public Optional<Audit> audit(String model) {
        Window w = windows.get(model);
        if (w == null) {
            return Optional.empty();
        }
        synchronized (w) {
            return Optional.of(w.audit(model));
        }
    }

    /** EWMA state of one model; written by the observing thread only. */
    private final class Ewma {
        double inputProvider;
        double inputLocal;
        double outputProvider;
        double outputLocal;
        long inputSamples;
        long outputSamples;

        double step(double average, double sample, long samplesBefore) {
            // The first sample starts the average (no bias towards zero).
            return samplesBefore == 0 ? sample : average + settings.calibrationAlpha() * (sample - average);
        }
    }

    /** A ring of the last calls' samples with running sums; guarded by its monitor. */
    private static final class Window {
        long inputUpdatedNanos = System.nanoTime() - REFRESH_NANOS;
        long outputUpdatedNanos = System.nanoTime() - REFRESH_NANOS;
        private final long[] providerInput;
        private final long[] localInput;
        private final long[] providerOutput;
        private final long[] localOutput;
        private final boolean[] hasInput;
        private final boolean[] hasOutput;
        private int next;
        private int size;
        private long sumProviderInput;
        private long sumLocalInput;
        private long sumProviderOutput;
        private long sumLocalOutput;
        private long inputCalls;
        private long outputCalls;

        Window(int capacity) {
            providerInput = new long[capacity];
            localInput = new long[capacity];
            providerOutput = new long[capacity];
            localOutput = new long[capacity];
            hasInput = new boolean[capacity];
            hasOutput = new boolean[capacity];
        }

        void add(long pIn, long lIn, long pOut, long lOut, boolean input, boolean output) {
            if (size == providerInput.length) {
                sumProviderInput -= providerInput[next];
                sumLocalInput -= localInput[next];
                sumProviderOutput -= providerOutput[next];
                sumLocalOutput -= localOutput[next];
                inputCalls -= hasInput[next] ? 1 : 0;
                outputCalls -= hasOutput[next] ? 1 : 0;
            } else {
                size++;
            }
            providerInput[next] = pIn;
            localInput[next] = lIn;
            providerOutput[next] = pOut;
            localOutput[next] = lOut;
            hasInput[next] = input;
            hasOutput[next] = output;
            sumProviderInput += pIn;
            sumLocalInput += lIn;
            sumProviderOutput += pOut;
            sumLocalOutput += lOut;
            inputCalls += input ? 1 : 0;
            outputCalls += output ? 1 : 0;
            next = (next + 1) % providerInput.length;
        }

        Audit audit(String model) {
            return new Audit(model, inputCalls, sumLocalInput == 0 ? Double.NaN : (double) sumProviderInput / sumLocalInput,
                    outputCalls, sumLocalOutput == 0 ? Double.NaN : (double) sumProviderOutput / sumLocalOutput);
        }
    }
}
