/**
 * The exact response cache: an admission stage that answers a call asking exactly what an earlier one asked with
 * that one's answer, from memory, without calling the provider or charging a budget.
 */
package dev.tokenwise.core.cache;
