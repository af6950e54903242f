/** The efficiency routing policy's simulation: regret against the oracle over seeded runs. */
package dev.tokenwise.bench.routing;
