package dev.tokenwise.core.proxy;

import dev.tokenwise.core.budget.BudgetBook;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.AdmissionStage;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything one call acquired before it went upstream: the leases of its {@link AdmissionStage}s and its budget
 * reservation. One owner with one end: {@link #settle} once the call is booked, or {@link #abort} when it never
 * went upstream; whichever comes first is the only one that runs, and it gives back everything in the reverse order
 * of acquisition. A lease that throws is logged and does not stop the others. Used on the call's event loop only.
 */
final class Admission {
    private static final Logger log = LoggerFactory.getLogger(Admission.class);

    private final String requestId;
    private final List<AdmissionStage.Lease> leases = new ArrayList<>(2);
    private BudgetBook.Reservation reservation;
    private BudgetBook budgets;
    private boolean ended;

    Admission(String requestId) {
        this.requestId = requestId;
    }

    /** Holds {@code lease} (taken before the stages run: a route's choice) until the call ends; {@code null} is none. */
    void hold(AdmissionStage.Lease lease) {
        if (lease != null && lease != AdmissionStage.Lease.NONE) {
            leases.add(lease);
        }
    }

    /** Runs {@code stages} in order; if one refuses, what the earlier ones took is given back and the refusal thrown. */
    void run(List<AdmissionStage> stages, AdmissionStage.Call call) {
        for (AdmissionStage stage : stages) {
            AdmissionStage.Lease lease;
            try {
                lease = stage.admit(call);
            } catch (RuntimeException refused) {
                abort();
                throw refused;
            }
            if (lease != null && lease != AdmissionStage.Lease.NONE) {
                leases.add(lease);
            }
        }
    }

    /** The call's budget reservation, cancelled on {@link #abort}; settled by the call itself. */
    void reserved(BudgetBook budgets, BudgetBook.Reservation reservation) {
        this.budgets = budgets;
        this.reservation = reservation;
    }

    BudgetBook.Reservation reservation() {
        return reservation;
    }

    /** Adds every stage's response headers. */
    void decorate(HttpHeaders responseHeaders) {
        for (AdmissionStage.Lease lease : leases) {
            try {
                lease.decorate(responseHeaders);
            } catch (RuntimeException e) {
                log.warn("Admission lease of {} failed to decorate the response", requestId, e);
            }
        }
    }

    /** Adds every stage's headers to the request sent upstream ({@link AdmissionStage.Lease#decorateUpstream}). */
    void decorateUpstream(HttpHeaders upstreamHeaders) {
        for (AdmissionStage.Lease lease : leases) {
            try {
                lease.decorateUpstream(upstreamHeaders);
            } catch (RuntimeException e) {
                log.warn("Admission lease of {} failed to decorate the upstream request", requestId, e);
            }
        }
    }

    /**
     * What the stages decided for the call once they have all answered ({@link AdmissionStage.Lease#answer}), or
     * {@code null} when none has an answer to give: the first stage's answer in order of acquisition, else the next
     * one's; a stage's refusal (a future failed with a {@link dev.tokenwise.core.error.GatewayException}) fails the
     * whole, whatever the stages after it answer.
     */
    CompletableFuture<AdmissionStage.Answer> answer() {
        CompletableFuture<AdmissionStage.Answer> decided = null;
        for (AdmissionStage.Lease lease : leases) {
            CompletableFuture<AdmissionStage.Answer> answer = lease.answer();
            if (answer == null) {
                continue;
            }
            decided = decided == null ? answer
                    : decided.thenCompose(first -> first != null ? CompletableFuture.completedFuture(first) : answer);
        }
        return decided;
    }

    /** The refusal a stage's {@link #answer} failed with, or {@code null} (it did not fail, or failed otherwise). */
    static GatewayException refusal(CompletableFuture<AdmissionStage.Answer> answer) {
        if (!answer.isCompletedExceptionally()) {
            return null;
        }
        try {
            answer.join();
            return null;
        } catch (CompletionException | CancellationException e) {
            return e.getCause() instanceof GatewayException refused ? refused : null;
        }
    }

    /** {@code true} when a stage wants the answer the client receives. */
    boolean wantsAnswer() {
        for (AdmissionStage.Lease lease : leases) {
            if (lease.wantsAnswer()) {
                return true;
            }
        }
        return false;
    }

    /**
     * The call ended and was booked: each stage that asked for the answer is handed it, each may amend the record
     * (in order of acquisition), and then every stage settles against the result, which is returned.
     *
     * @param delivered the answer the client received, or {@code null} when there is none to hand (it failed, or was
     *     not kept)
     */
    UsageRecord settle(UsageRecord record, AdmissionStage.Delivered delivered) {
        if (ended) {
            return record;
        }
        for (AdmissionStage.Lease lease : leases) {
            try {
                if (delivered != null && lease.wantsAnswer()) {
                    lease.answered(delivered);
                }
                UsageRecord amended = lease.amend(record);
                record = amended == null ? record : amended;
            } catch (RuntimeException e) {
                log.error("Admission lease of {} failed to take the answer", requestId, e);
            }
        }
        settle(record);
        return record;
    }

    /** The call was booked as {@code record}: every stage settles against it. */
    void settle(UsageRecord record) {
        if (ended) {
            return;
        }
        ended = true;
        for (int i = leases.size() - 1; i >= 0; i--) {
            try {
                leases.get(i).settle(record);
            } catch (RuntimeException e) {
                log.error("Admission lease of {} failed to settle", requestId, e);
            }
        }
    }

    /** The call never went upstream: every lease is given back and the reservation cancelled. */
    void abort() {
        if (ended) {
            return;
        }
        ended = true;
        for (int i = leases.size() - 1; i >= 0; i--) {
            try {
                leases.get(i).abort();
            } catch (RuntimeException e) {
                log.error("Admission lease of {} failed to abort", requestId, e);
            }
        }
        if (reservation != null) {
            budgets.cancel(reservation);
        }
    }
}
