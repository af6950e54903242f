/** The JSON usage APIs: call records, usage totals. */
package dev.tokenwise.metrics.api;
