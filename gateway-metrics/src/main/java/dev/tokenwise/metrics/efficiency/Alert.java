package dev.tokenwise.metrics.efficiency;

import java.util.Objects;

/**
 * One open alert of an {@link AlertBook}.
 *
 * @param type what kind of alert
 * @param scope whether {@code subject} is a model or a team
 * @param subject the model or team (for budget alerts: the budget's holder)
 * @param metric which figure of the subject, e.g. {@code success_rate} or {@code input_tokens}; {@code null}
 *     when the type has only one
 * @param message one sentence for people
 * @param value the figure now
 * @param threshold the level at which the alert opens
 * @param sinceMillis when it opened, epoch ms
 * @param untilMillis when it closes by itself (a budget alert at the end of its period), epoch ms; 0: when its
 *     condition clears
 */
public record Alert(AlertType type, Scope scope, String subject, String metric, String message, double value,
                    double threshold, long sinceMillis, long untilMillis) {

    /** What an alert is about. */
    public enum Scope {
        MODEL, TEAM;

        /** The JSON field naming the subject: {@code model} or {@code team}. */
        public String field() {
            return this == MODEL ? "model" : "team";
        }
    }

    /** What identifies an alert: a second alert with the same key updates the first. */
    public record Key(AlertType type, String subject, String metric) {
    }

    public Alert {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(scope, "scope");
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(message, "message");
    }

    public Key key() {
        return new Key(type, subject, metric);
    }

    Alert since(long openedAtMillis) {
        return new Alert(type, scope, subject, metric, message, value, threshold, openedAtMillis, untilMillis);
    }
}
