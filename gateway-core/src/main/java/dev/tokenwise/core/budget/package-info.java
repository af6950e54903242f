/** Budgets as reservations: compare-and-set admission, settlement, period roll-over and reclaiming of lost reservations. */
package dev.tokenwise.core.budget;
