/**
 * Load harness that compares the gateway with a direct call and with nginx: a mock OpenAI upstream
 * ({@link dev.tokenwise.bench.MockUpstream}), an HTTP load generator corrected for coordinated omission
 * ({@link dev.tokenwise.bench.LoadGenerator}) and the command line that runs them ({@link dev.tokenwise.bench.BenchMain}).
 */
package dev.tokenwise.bench;
