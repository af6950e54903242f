/** A seeded simulation of realistic traffic that measures the drift detector's false-alarm rate and detection delay. */
package dev.tokenwise.bench.drift;
