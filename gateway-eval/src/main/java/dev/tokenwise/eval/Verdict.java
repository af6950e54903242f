package dev.tokenwise.eval;

/**
 * What a {@link Grader} decided about one reply.
 *
 * @param passed whether the reply solves the task
 * @param answer the part of the reply that was judged (the final answer, a number, a letter, a JSON text), at
 *     most 200 characters; empty when none was found
 * @param reason why it failed, for people; empty when it passed
 */
public record Verdict(boolean passed, String answer, String reason) {
    private static final int MAX_ANSWER = 200;

    public Verdict {
        answer = answer == null ? "" : answer.length() > MAX_ANSWER ? answer.substring(0, MAX_ANSWER) + "…" : answer;
        reason = reason == null ? "" : reason;
    }

    static Verdict pass(String answer) {
        return new Verdict(true, answer, "");
    }

    static Verdict fail(String answer, String reason) {
        return new Verdict(false, answer, reason);
    }
}
