/** Loading {@code gateway.yaml} into the core's immutable configuration records, with environment expansion. */
package dev.tokenwise.server.config;
