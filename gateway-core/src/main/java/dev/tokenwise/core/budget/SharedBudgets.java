package dev.tokenwise.core.budget;

import java.util.concurrent.CompletableFuture;

/**
 * Budgets shared by every instance of a cluster, kept in a store they all reach (Redis): the same reservation
 * semantics as {@link BudgetBook} (worst case reserved before forwarding, actual cost settled once, stale
 * reservations reclaimed), decided by the store so that no number of instances spends past a limit. The limits are
 * those of the local {@link BudgetBook}, which hands a call here when {@link BudgetBook#shared} is set.
 *
 * <p>Never blocks: the answer comes as a future, completed on any thread.
 */
public interface SharedBudgets {

    /**
     * Reserves {@code worstCaseNanos} against the team's and the key's budgets of {@code book} together.
     *
     * @return a future of the admission (its reservation made by {@link BudgetBook#sharedReservation}, or the
     *     snapshot of the budget that refused it); completed exceptionally with a
     *     {@link dev.tokenwise.core.error.GatewayException} when no decision could be made (the store is unreachable)
     */
    CompletableFuture<BudgetBook.Admission> reserve(BudgetBook book, String requestId, String team, String keyId,
                                                    long worstCaseNanos, long timeoutNanos);
}
