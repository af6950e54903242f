/** Immutable, validated configuration records; loading them from YAML lives in the server module. */
package dev.tokenwise.core.config;
