package dev.tokenwise.eval;

import java.util.List;
import java.util.Objects;

/**
 * One graded task: a conversation to send to a model and the grader that judges its reply.
 *
 * @param id unique within its suite; 1 to 64 printable ASCII characters without spaces
 * @param messages the conversation, at least one message
 * @param maxTokens the output cap to request, or 0 for none
 */
public record EvalTask(String id, List<ChatMessage> messages, Grader grader, int maxTokens) {

    public EvalTask {
        Objects.requireNonNull(id, "id");
        if (!id.matches("[!-~]{1,64}")) {
            throw new IllegalArgumentException("id: '" + id + "' (expected: 1 to 64 printable ASCII characters, no spaces)");
        }
        messages = List.copyOf(messages);
        if (messages.isEmpty()) {
            throw new IllegalArgumentException("messages: empty (expected: at least one message)");
        }
        Objects.requireNonNull(grader, "grader");
        if (maxTokens < 0) {
            throw new IllegalArgumentException("maxTokens: " + maxTokens + " (expected: >= 0)");
        }
    }

    /** A task of one user message. */
    public static EvalTask ofPrompt(String id, String prompt, Grader grader) {
        return new EvalTask(id, List.of(ChatMessage.user(prompt)), grader, 0);
    }

    /** The text of the last user message (the question). */
    public String prompt() {
        for (int i = messages.size() - 1; i >= 0; i--) {
            if (messages.get(i).role().equals("user")) {
                return messages.get(i).content();
            }
        }
        return messages.get(messages.size() - 1).content();
    }
}
