/** The export of one OpenTelemetry span per call over OTLP/HTTP, fed by an admission stage. */
package dev.tokenwise.telemetry;
