package dev.tokenwise.core.proxy;

import dev.tokenwise.core.auth.KeyRegistry;
import dev.tokenwise.core.budget.BudgetBook;
import dev.tokenwise.core.budget.SharedBudgets;
import dev.tokenwise.core.config.BudgetSettings;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.TokenCount;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;

/**
 * The budget step of a call's admission, the last before it goes upstream: the worst case of what the call may cost,
 * reserved from its team's and key's budgets, or the call refused with 402 {@code budget_exceeded}. It runs after the
 * {@link dev.tokenwise.core.spi.AdmissionStage}s (a call a stage answers, a cache hit, is never reserved) and hands the
 * reservation to the {@link Admission}, which cancels it on abort; the call settles it. Unlike a stage it may have to
 * wait: in cluster mode the budgets are shared ({@link SharedBudgets}, Redis) and the reservation is a remote decision,
 * so {@link #reserve} continues the call from a callback instead of returning its lease.
 *
 * <p>The worst case of one model is {@code (input + stored context) x input price + cap x choices x output price},
 * for the dearest model of the chain (a fallback may answer):
 * <ul>
 *   <li>input: {@link #inputTokensBound};</li>
 *   <li>stored context: {@code budgets.stored_context_tokens} when the provider adds context it keeps
 *       ({@link RequestedOutput#storedContext});</li>
 *   <li>cap: the largest output cap the request names, else the model's catalog cap, else
 *       {@code budgets.default_max_output_tokens}; each of the {@link RequestedOutput#choices} may write it;</li>
 *   <li>prices: those of the dearest input-size tier the input can reach and of the dearest service tier the call
 *       can be served on: the one the request pins with {@code service_tier} or standard, any tier the model
 *       has a price for when it pins none ({@link ModelPrice#worstCaseNanos(long, long, dev.tokenwise.core.model.ServiceTier)});</li>
 *   <li>a model without a price (allowed by {@code pricing.allow_unpriced}) reserves
 *       {@code pricing.unpriced_reserve_usd}.</li>
 * </ul>
 * A worst case beyond the range of a {@code long} is refused like any other that does not fit.
 *
 * <p>Threading: one per client connection, used on its event loop; a shared reservation's decision arrives on another
 * thread and is carried back to the loop before anything else happens. Nothing here blocks. Ownership: while a shared
 * decision is awaited the client's request is retained (and released once the call has started or been answered),
 * and a reservation admitted for a client that has gone is cancelled at once.
 */
final class BudgetAdmission {
    private final ProxyContext proxy;
    private final ClientFrontendHandler frontend;
    private final ChannelHandlerContext ctx;

    BudgetAdmission(ProxyContext proxy, ClientFrontendHandler frontend, ChannelHandlerContext ctx) {
        this.proxy = proxy;
        this.frontend = frontend;
        this.ctx = ctx;
    }

    /**
     * An upper bound of the input tokens a provider may bill for the request: the exact count when it is already
     * known (cached or short text), else the body's size in bytes. No BPE tokenizer produces more tokens than UTF-8
     * bytes, so that bound is safe (estimated parts such as images may count more than their bytes, hence the maximum
     * of both).
     */
    static long inputTokensBound(CompletableFuture<TokenCount> inputCount, int bodyBytes) {
        TokenCount counted = inputCount.getNow(null);
        return counted == null ? bodyBytes
                : counted.estimated() ? Math.max(bodyBytes, counted.tokens()) : counted.tokens();
    }

    /** The most output tokens any model of the chain may bill for the request: its cap times its choices. */
    long outputTokensBound(List<Deployment> chain, RequestedOutput requested) {
        long cap = 0;
        for (Deployment d : chain) {
            cap = Math.max(cap, outputCap(d.model().price(), requested));
        }
        return cap * requested.choices(); // at most 10^8 x 128
    }

    /**
     * Reserves the worst case of a billed call from the budgets of {@code key}'s team and of the key, then starts it
     * with {@code start} (on the event loop; the reservation is {@code null} when neither has a budget). {@code start}
     * hands the reservation to {@code admission} and gives everything back itself when it fails.
     *
     * <p>With local budgets this happens before it returns, and a refusal is thrown as the 402 (what the stages took
     * given back). With shared budgets the call waits for the store's decision without holding its event loop (the
     * request retained, the connection busy) and then starts, or is answered 402 (a budget refused it) or 503
     * {@code budget_unavailable} (no decision could be made) through the frontend; a client that left meanwhile has
     * everything given back.
     */
    void reserve(FullHttpRequest request, Admission admission, String requestId, boolean keepAlive,
                 KeyRegistry.KeyEntry key, List<Deployment> chain, long inputTokens, RequestedOutput requested,
                 Consumer<BudgetBook.Reservation> start) {
        if (!budgeted(key)) {
            start.accept(null);
            return;
        }
        SharedBudgets shared = proxy.budgets().shared();
        if (shared != null) {
            reserveShared(shared, request, admission, requestId, keepAlive, key,
                    worstCaseNanos(chain, inputTokens, requested), start);
            return;
        }
        BudgetBook.Reservation reservation;
        try {
            long worstCaseNanos = worstCaseNanos(chain, inputTokens, requested);
            reservation = reservationOf(proxy.budgets().reserve(requestId, key.team(), key.id(), worstCaseNanos,
                    proxy.config().budgets().reservationTimeout().toNanos()), worstCaseNanos);
        } catch (RuntimeException refused) {
            admission.abort(); // a 402: what the stages took is given back
            throw refused;
        }
        start.accept(reservation);
    }

    /** {@code true} when the key's team or the key itself has a budget. */
    private boolean budgeted(KeyRegistry.KeyEntry key) {
        BudgetBook budgets = proxy.budgets();
        return budgets.team(key.team()) != null || budgets.key(key.id()) != null;
    }

    /** The worst case of the dearest model of the chain (see the class comment). */
    private long worstCaseNanos(List<Deployment> chain, long inputTokens, RequestedOutput requested) {
        long worstCaseNanos = 0;
        for (Deployment d : chain) {
            worstCaseNanos = Math.max(worstCaseNanos, worstCaseNanos(d.model().price(), inputTokens, requested));
        }
        return worstCaseNanos;
    }

    /** The most one model's answer to the request may cost; saturates at {@code Long.MAX_VALUE}. */
    private long worstCaseNanos(ModelPrice price, long inputTokens, RequestedOutput requested) {
        BudgetSettings settings = proxy.config().budgets();
        if (price == null) {
            return settings.unpricedReserveNanos();
        }
        long cap = outputCap(price, requested);
        try {
            long input = Math.addExact(inputTokens, requested.storedContext() ? settings.storedContextTokens() : 0);
            return price.worstCaseNanos(input, Math.multiplyExact(cap, requested.choices()), requested.serviceTier());
        } catch (ArithmeticException beyondLong) {
            return Long.MAX_VALUE;
        }
    }

    /** The request's largest output cap, else the model's catalog cap, else {@code budgets.default_max_output_tokens}. */
    private long outputCap(ModelPrice price, RequestedOutput requested) {
        return requested.maxOutputTokens() > 0 ? requested.maxOutputTokens()
                : price != null && price.maxOutputTokens() > 0 ? price.maxOutputTokens()
                : proxy.config().budgets().defaultMaxOutputTokens();
    }

    /** The admitted reservation, or the 402 thrown for the budget that refused it. */
    private static BudgetBook.Reservation reservationOf(BudgetBook.Admission admission, long worstCaseNanos) {
        if (!admission.admitted()) {
            String kind = admission.outcome() == BudgetBook.Outcome.TEAM_EXCEEDED ? "team" : "key";
            throw new GatewayException(ErrorType.BUDGET_EXCEEDED, "budget exceeded: "
                    + BudgetBook.refusal(admission, kind, worstCaseNanos));
        }
        return admission.reservation();
    }

    /** Reserves against the budgets shared by the cluster; the call continues in {@link #resumeReserved}. */
    private void reserveShared(SharedBudgets shared, FullHttpRequest request, Admission admission, String requestId,
                               boolean keepAlive, KeyRegistry.KeyEntry key, long worstCaseNanos,
                               Consumer<BudgetBook.Reservation> start) {
        request.retain();
        CompletableFuture<BudgetBook.Admission> decided;
        try {
            decided = shared.reserve(proxy.budgets(), requestId, key.team(), key.id(), worstCaseNanos,
                    proxy.config().budgets().reservationTimeout().toNanos());
        } catch (RuntimeException e) {
            decided = CompletableFuture.failedFuture(e);
        }
        decided.whenComplete((reserved, error) -> {
            try {
                ctx.executor().execute(() -> resumeReserved(request, admission, reserved, error, worstCaseNanos, start,
                        requestId, keepAlive));
            } catch (RejectedExecutionException shuttingDown) {
                if (reserved != null && reserved.admitted()) {
                    proxy.budgets().cancel(reserved.reservation());
                }
                admission.abort();
                request.release();
            }
        });
    }

    /** Starts a call the shared budgets decided on, or answers their refusal; releases its request. */
    private void resumeReserved(FullHttpRequest request, Admission admission, BudgetBook.Admission reserved,
                                Throwable error, long worstCaseNanos, Consumer<BudgetBook.Reservation> start,
                                String requestId, boolean keepAlive) {
        try {
            if (error != null) {
                admission.abort();
                Throwable cause = error instanceof CompletionException && error.getCause() != null
                        ? error.getCause() : error;
                throw cause instanceof GatewayException e ? e
                        : new GatewayException(ErrorType.BUDGET_UNAVAILABLE, "the shared budget could not be checked");
            }
            if (!ctx.channel().isActive()) {
                if (reserved.admitted()) {
                    proxy.budgets().cancel(reserved.reservation());
                }
                admission.abort(); // the client left while its call waited
                return;
            }
            BudgetBook.Reservation reservation;
            try {
                reservation = reservationOf(reserved, worstCaseNanos);
            } catch (GatewayException refused) {
                admission.abort();
                throw refused;
            }
            start.accept(reservation); // gives everything back itself when it fails
        } catch (RuntimeException e) {
            frontend.admissionFailed(e, requestId, keepAlive);
        } finally {
            request.release();
        }
    }
}
