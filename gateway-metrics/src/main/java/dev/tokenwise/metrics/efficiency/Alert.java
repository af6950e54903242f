package dev.tokenwise.metrics.efficiency;

import java.util.Objects;

/**
 * One open alert of an {@link AlertBook}.
 *
 * @param type what kind of alert
 * @param scope whether {@code subject} is a model, a team or a key
 * @param subject the model, team or key (for budget alerts: the budget's holder)
 * @param team the team the alert belongs to: the subject of a team alert, the key's team for a key alert;
 *     {@code null} for a model alert, which belongs to no team
 * @param metric which figure of the subject, e.g. {@code success_rate} or {@code input_tokens}; {@code null}
 *     when the type has only one
 * @param message one sentence for people
 * @param value the figure now
 * @param threshold the level at which the alert opens
 * @param sinceMillis when it opened, epoch ms
 * @param untilMillis when it closes by itself (a budget alert at the end of its period), epoch ms; 0: when its
 *     condition clears
 * @param source what found it, for drift alerts: {@code traffic} (the clients' tasks) or {@code probe} (the
 *     gateway's scheduled probes); {@code null} for the others
 */
public record Alert(AlertType type, Scope scope, String subject, String team, String metric, String message,
                    double value, double threshold, long sinceMillis, long untilMillis, String source) {

    /** An alert without a source. */
    public Alert(AlertType type, Scope scope, String subject, String team, String metric, String message,
                 double value, double threshold, long sinceMillis, long untilMillis) {
        this(type, scope, subject, team, metric, message, value, threshold, sinceMillis, untilMillis, null);
    }

    /** What an alert is about. */
    public enum Scope {
        MODEL, TEAM, KEY;

        /** The JSON field naming the subject: {@code model}, {@code team} or {@code key}. */
        public String field() {
            return switch (this) {
                case MODEL -> "model";
                case TEAM -> "team";
                case KEY -> "key";
            };
        }
    }

    /**
     * What identifies an alert: a second alert with the same key updates the first. The scope is part of it, so
     * a key and a team of the same name have alerts of their own.
     */
    public record Key(AlertType type, Scope scope, String subject, String metric) {
    }

    public Alert {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(scope, "scope");
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(message, "message");
        switch (scope) {
            case MODEL -> {
                if (team != null) {
                    throw new IllegalArgumentException("team: " + team + " (expected: none for a model alert)");
                }
            }
            case TEAM -> {
                if (!subject.equals(team)) {
                    throw new IllegalArgumentException("team: " + team + " (expected: " + subject
                            + ", the subject of a team alert)");
                }
            }
            case KEY -> Objects.requireNonNull(team, "team");
        }
    }

    public Key key() {
        return new Key(type, scope, subject, metric);
    }

    Alert since(long openedAtMillis) {
        return new Alert(type, scope, subject, team, metric, message, value, threshold, openedAtMillis, untilMillis,
                source);
    }
}
