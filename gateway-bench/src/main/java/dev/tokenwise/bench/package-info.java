/**
 * Load harness that compares the gateway with a direct call and with nginx: a mock OpenAI upstream
 * ({@link dev.tokenwise.bench.MockUpstream}), an HTTP load generator corrected for coordinated omission
 * ({@link dev.tokenwise.bench.LoadGenerator}) and the command line that runs them ({@link dev.tokenwise.bench.BenchMain}).
 *
 * <p>Invariants: never shipped with the gateway. The mock answers from bytes encoded once and schedules its delays
 * on its event loop (it never sleeps); the generator keeps at most one request outstanding per connection and, in an
 * open loop, charges a late send to the target from its intended time. Ratios are only taken between targets
 * measured in the same run.
 */
package dev.tokenwise.bench;
