package dev.tokenwise.metrics.efficiency;

/**
 * One task's measurement for a reference fit.
 *
 * @param stratum its team (traffic) or {@code ""} (probes)
 * @param group the replication unit whose spread measures over-dispersion: the UTC day (traffic) or the probe run
 * @param value 0 or 1 for a rate, the logarithm for a size
 */
record Observation(String stratum, long group, double value) {
}
