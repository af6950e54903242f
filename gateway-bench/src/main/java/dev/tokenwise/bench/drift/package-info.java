/**
 * A seeded simulation of realistic traffic that measures the drift detector's false-alarm rate and detection delay.
 *
 * <p>Invariants: deterministic for a seed (the same seed, the same figures), in memory only, using the detector's
 * own classes unchanged, so what it measures is what the gateway runs.
 */
package dev.tokenwise.bench.drift;
