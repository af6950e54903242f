/** Immutable values of the hot path: endpoints, token counts and usage, prices in nano-USD, usage records. */
package dev.tokenwise.core.model;
