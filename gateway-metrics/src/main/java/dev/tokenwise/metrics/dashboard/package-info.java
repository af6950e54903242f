/**
 * The cost dashboard: the page at {@code /dashboard} (HTML, script, style and Chart.js from its WebJar, all
 * served from the jar) and the small JSON endpoints it reads; {@code docs/dashboard.md} describes it.
 */
package dev.tokenwise.metrics.dashboard;
