package dev.tokenwise.eval;

import java.util.Objects;

/**
 * One message of a task's conversation, as the OpenAI chat API takes it.
 *
 * @param role {@code system}, {@code user} or {@code assistant}
 */
public record ChatMessage(String role, String content) {

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }
}
