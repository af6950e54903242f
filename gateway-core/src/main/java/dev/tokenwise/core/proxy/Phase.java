package dev.tokenwise.core.proxy;

/**
 * The phases of a {@link ProxyCall}, in the order it goes through them (a retry goes back from DISCARDING to
 * ATTEMPTING). The phase decides what the call does with what its upstream sends: content goes to
 * the {@link AnswerRelay} while ATTEMPTING (a held error answer) or RELAYING, is drained while DISCARDING, and is
 * released once ENDED.
 */
enum Phase {
    /** Nothing reached the client yet: connecting, writing, waiting for an answer, or holding an error answer whole. */
    ATTEMPTING,
    /** Draining an error answer (429/5xx) that is retried or falls back instead of being relayed. */
    DISCARDING,
    /** The answer's head went to the client: no retry or fallback is possible any more. */
    RELAYING,
    /** The call ended; what still arrives is released, and its settlement is under way or done. */
    ENDED
}
