/** The lock-free accounting core: live usage totals and the hand-off of usage records to sinks. */
package dev.tokenwise.core.accounting;
