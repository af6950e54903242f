package dev.tokenwise.providers.tokenizer;

import dev.tokenwise.core.model.TokenCount;

/**
 * The first {@link TokenCount#PREFIX_BYTES} bytes of a prompt's text, every ASCII digit read as {@code 0}, and their
 * hash ({@link TokenCount#prefixHash}): equal for prompts that begin alike apart from numbers (a date, a counter), so
 * that analytics can see a team re-send a prefix long enough for a provider's prompt cache. Reading the digits alike
 * is what finds the prefix a timestamp near its start keeps a provider from caching.
 */
final class PromptPrefix {
    /** One per thread, reused: a prefix is read and hashed within one call of {@link #reset}'s caller. */
    private static final ThreadLocal<PromptPrefix> CURRENT = ThreadLocal.withInitial(PromptPrefix::new);

    private final byte[] bytes = new byte[TokenCount.PREFIX_BYTES];
    private int length;

    private PromptPrefix() {
    }

    /** The calling thread's prefix, emptied. */
    static PromptPrefix reset() {
        PromptPrefix prefix = CURRENT.get();
        prefix.length = 0;
        return prefix;
    }

    /** Adds up to what is left of the prefix from {@code b}. */
    void add(byte[] b, int off, int len) {
        int n = Math.min(len, bytes.length - length);
        for (int i = 0; i < n; i++) {
            byte c = b[off + i];
            bytes[length++] = c >= '0' && c <= '9' ? (byte) '0' : c;
        }
    }

    /** Adds up to what is left of the prefix from {@code text}, as UTF-8. */
    void add(String text) {
        if (text == null || full()) {
            return;
        }
        // A char is at least one byte: this many chars hold what is left, or more.
        String head = text.length() > bytes.length - length ? text.substring(0, bytes.length - length) : text;
        byte[] utf8 = head.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        add(utf8, 0, utf8.length);
    }

    boolean full() {
        return length == bytes.length;
    }

    /** The hash of the whole prefix under {@code seed}; {@code 0} when the prompt was shorter. */
    long hash(long seed) {
        if (!full()) {
            return 0;
        }
        long h = new Hash64(seed).add(bytes, 0, length).finish();
        return h == 0 ? 1 : h;
    }
}
