package dev.tokenwise.providers.openai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.model.ServiceTier;
import dev.tokenwise.core.model.TokenUsage;
import io.netty.buffer.ByteBuf;
import java.io.IOException;

/**
 * Reads a chat completion object ({@code chat.completion}) or chunk ({@code chat.completion.chunk}) for
 * {@link OpenAiResponseObserver}: first with {@link CompletionBytes}, straight from the bytes, and when that
 * pass leaves the payload (anything outside its strict subset), in one pass of Jackson's streaming parser: only the
 * top-level {@code service_tier} (the tier the provider served, which decides the price), the top-level {@code usage}
 * (its token fields, as {@link OpenAiResponseObserver#parseUsage} reads them from a tree) and {@code choices[].finish_reason}, {@code choices[].message|delta.content} and
 * {@code .tool_calls[].function.name|arguments} are read; everything else ({@code id}, {@code model},
 * {@code logprobs}, ...) is skipped without building nodes.
 *
 * <p>The result is what the observer's tree code would read from the same payload. Where this pass cannot
 * promise that, {@link #scan} appends nothing and returns {@code false}, and the caller reads the payload as a
 * tree: a Responses API event (a top-level {@code type} starting with {@code response.}) or object
 * ({@code "object": "response"}), wherever that field comes; a field that is read appearing twice in one object
 * (a tree keeps the last); {@code tool_calls} as an object; a root that is not an object (or no value at all);
 * a token field of {@code usage} that is neither an integer from 0 to {@link TokenUsage#MAX_PLAUSIBLE_TOKENS} nor
 * {@code null} (the tree rejects such usage);
 * a payload longer than the parser's longest string; and input that is not JSON, so that the tree parse
 * reports it exactly as before.
 */
final class ChatCompletionScanner {
    private static final JsonFactory FACTORY = new ObjectMapper().getFactory();
    /** A tree parse refuses a string longer than this, which skipping does not check; no shorter payload has one. */
    private static final int MAX_BYTES = FACTORY.streamReadConstraints().getMaxStringLength();

    // Fields read at most once per object (bits of `seen`), in both passes.
    static final int USAGE_SEEN = 1;
    static final int CHOICES_SEEN = 2;
    static final int MESSAGE_SEEN = 4;
    static final int FINISH_REASON_SEEN = 8;
    static final int CONTENT_SEEN = 16;
    static final int TOOL_CALLS_SEEN = 32;
    static final int FUNCTION_SEEN = 64;
    static final int NAME_SEEN = 128;
    static final int ARGUMENTS_SEEN = 256;
    static final int SERVICE_TIER_SEEN = 512;

    /** Unwinds a pass when the payload needs the next one; no stack trace, one shared instance. */
    static final class NeedsTree extends Exception {
        private static final long serialVersionUID = 1L;

        NeedsTree() {
            super("read as a tree", null, false, false);
        }
    }

    static final NeedsTree NEEDS_TREE = new NeedsTree();

    /** Copy of a direct buffer's bytes (both passes read arrays), kept for the next payload. */
    private byte[] scratch;
    /** The first pass, straight from the bytes. */
    private final CompletionBytes bytes = new CompletionBytes();
    private boolean chunk;
    private String messageField;

    /** The last scan's top-level {@code usage} when it is an object, else {@code null}. */
    TokenUsage usage;
    /** Whether the last scan's {@code choices} is an empty array. */
    boolean choicesEmpty;
    /** The last scan's last textual {@code finish_reason}, else {@code null}. */
    String finishReason;
    /** The last scan's top-level {@code service_tier} when it is a string ({@link ServiceTier#served}), else {@code null}. */
    ServiceTier serviceTier;

    /**
     * Reads {@code json} (its readable bytes, not consumed): a chunk ({@code chunk}, texts under
     * {@code delta}) or an object (texts under {@code message}); appends the texts to {@code text} and sets
     * {@link #usage}, {@link #choicesEmpty} and {@link #finishReason}.
     *
     * @return {@code false}, with {@code text} unchanged, when the payload must be read as a tree instead
     */
    boolean scan(ByteBuf json, boolean chunk, StringBuilder text) {
        int length = json.readableBytes();
        if (length > MAX_BYTES) {
            usage = null;
            choicesEmpty = false;
            finishReason = null;
            serviceTier = null;
            return false;
        }
        byte[] array;
        int offset;
        if (json.hasArray()) {
            array = json.array();
            offset = json.arrayOffset() + json.readerIndex();
        } else {
            if (scratch == null || scratch.length < length) {
                scratch = new byte[Math.max(length, 512)];
            }
            json.getBytes(json.readerIndex(), scratch, 0, length);
            array = scratch;
            offset = 0;
        }
        if (bytes.scan(array, offset, offset + length, chunk, text)) {
            usage = bytes.usage;
            choicesEmpty = bytes.choicesEmpty;
            finishReason = bytes.finishReason;
            serviceTier = bytes.serviceTier;
            return true;
        }
        return scanWithParser(array, offset, length, chunk, text);
    }

    /** The Jackson pass alone (the second pass of {@link #scan}; tests compare the first with it). */
    boolean scanWithParser(byte[] array, int offset, int length, boolean chunk, StringBuilder text) {
        usage = null;
        choicesEmpty = false;
        finishReason = null;
        serviceTier = null;
        this.chunk = chunk;
        this.messageField = chunk ? "delta" : "message";
        int mark = text.length();
        try (JsonParser p = FACTORY.createParser(array, offset, length)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return false;
            }
            readRoot(p, text);
            return true;
        } catch (IOException | NeedsTree | RuntimeException e) {
            // Not JSON, or not read here: the tree parse reads it, or reports it, exactly as before.
            text.setLength(mark);
            usage = null;
            choicesEmpty = false;
            finishReason = null;
            serviceTier = null;
            return false;
        }
    }

    private void readRoot(JsonParser p, StringBuilder text) throws IOException, NeedsTree {
        int seen = 0;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken t = p.nextToken();
            switch (name) {
                case "usage" -> {
                    seen = once(seen, USAGE_SEEN);
                    if (t == JsonToken.START_OBJECT) {
                        usage = readUsage(p);
                    } else {
                        p.skipChildren();
                    }
                }
                case "choices" -> {
                    seen = once(seen, CHOICES_SEEN);
                    if (t == JsonToken.START_ARRAY) {
                        choicesEmpty = readChoices(p, text) == 0;
                    } else {
                        p.skipChildren();
                    }
                }
                case "service_tier" -> {
                    seen = once(seen, SERVICE_TIER_SEEN);
                    if (t == JsonToken.VALUE_STRING) {
                        serviceTier = ServiceTier.served(p.getText());
                    } else {
                        p.skipChildren();
                    }
                }
                case "type" -> {
                    if (chunk && t == JsonToken.VALUE_STRING
                            && (p.getText().startsWith("response.") || "error".equals(p.getText()))) {
                        throw NEEDS_TREE;
                    }
                    p.skipChildren();
                }
                case "error" -> {
                    if (chunk) {
                        throw NEEDS_TREE; // an error reported mid-stream: the tree reads it
                    }
                    p.skipChildren();
                }
                case "object" -> {
                    if (!chunk && t == JsonToken.VALUE_STRING && "response".equals(p.getText())) {
                        throw NEEDS_TREE;
                    }
                    p.skipChildren();
                }
                default -> p.skipChildren();
            }
        }
    }

    /**
     * The usage object's token fields, each as {@code path(name).asLong(0)} reads it from a tree (the last of a
     * repeated field; a {@code null} counts as present but zero), combined by {@link OpenAiResponseObserver#usage}.
     */
    private static TokenUsage readUsage(JsonParser p) throws IOException, NeedsTree {
        long prompt = ABSENT, input = ABSENT, completion = ABSENT, output = ABSENT, hit = ABSENT, miss = ABSENT;
        long promptCached = 0, inputCached = 0, completionReasoning = 0, outputReasoning = 0;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken t = p.nextToken();
            switch (name) {
                case "prompt_tokens" -> prompt = tokens(p, t);
                case "input_tokens" -> input = tokens(p, t);
                case "completion_tokens" -> completion = tokens(p, t);
                case "output_tokens" -> output = tokens(p, t);
                case "prompt_cache_hit_tokens" -> hit = tokens(p, t);
                case "prompt_cache_miss_tokens" -> miss = tokens(p, t);
                case "prompt_tokens_details" -> promptCached = detail(p, t, "cached_tokens");
                case "input_tokens_details" -> inputCached = detail(p, t, "cached_tokens");
                case "completion_tokens_details" -> completionReasoning = detail(p, t, "reasoning_tokens", true);
                case "output_tokens_details" -> outputReasoning = detail(p, t, "reasoning_tokens");
                default -> p.skipChildren();
            }
        }
        return usage(prompt, input, completion, output, hit, miss, promptCached, inputCached, completionReasoning,
                outputReasoning);
    }

    /**
     * The usage of the token fields as both passes read them: the first six each a count, {@link #ABSENT} or
     * {@link #NULL}; the details' counts 0 when missing. {@code prompt_tokens} wins over {@code input_tokens}
     * unless it is missing or {@code null}, as in {@code firstLong} of the tree reading, and likewise for output.
     */
    static TokenUsage usage(long prompt, long input, long completion, long output, long hit, long miss,
                            long promptCached, long inputCached, long completionReasoning, long outputReasoning) {
        return OpenAiResponseObserver.usage(prompt != ABSENT && prompt != NULL ? prompt : orZero(input),
                completion != ABSENT && completion != NULL ? completion : orZero(output),
                hit != ABSENT, orZero(hit), miss != ABSENT, orZero(miss),
                promptCached, inputCached, completionReasoning, outputReasoning);
    }

    /** Marks a token field that is missing, or {@code null}: a tree's {@code has} tells them apart, its {@code asLong} does not. */
    static final long ABSENT = Long.MIN_VALUE;
    static final long NULL = Long.MIN_VALUE + 1;

    static long orZero(long tokens) {
        return tokens == ABSENT || tokens == NULL ? 0 : tokens;
    }

    private static long tokens(JsonParser p, JsonToken t) throws IOException, NeedsTree {
        if (t == JsonToken.VALUE_NULL) {
            return NULL;
        }
        if (t == JsonToken.VALUE_NUMBER_INT && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER) {
            long value = p.getLongValue();
            if (value >= 0 && value <= TokenUsage.MAX_PLAUSIBLE_TOKENS) {
                return value;
            }
        }
        // A string, fraction, boolean, array, object, negative or huge number: the tree rejects the usage.
        throw NEEDS_TREE;
    }

    /**
     * {@code field} of a details object ({@code 0} when it is missing or {@code null}, or the details are not an
     * object). Rejected prediction tokens other than 0 in {@code completion_tokens_details} leave the payload to the
     * tree, which reads them.
     */
    private static long detail(JsonParser p, JsonToken t, String field) throws IOException, NeedsTree {
        return detail(p, t, field, false);
    }

    private static long detail(JsonParser p, JsonToken t, String field, boolean prediction)
            throws IOException, NeedsTree {
        if (t != JsonToken.START_OBJECT) {
            p.skipChildren();
            return 0;
        }
        long value = 0;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            if (name.equals(field)) {
                value = orZero(tokens(p, v));
            } else if (prediction && "rejected_prediction_tokens".equals(name)) {
                if (orZero(tokens(p, v)) != 0) {
                    throw NEEDS_TREE;
                }
            } else {
                p.skipChildren();
            }
        }
        return value;
    }

    /** @return the number of choices */
    private int readChoices(JsonParser p, StringBuilder text) throws IOException, NeedsTree {
        int count = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t == null) {
                throw NEEDS_TREE;
            }
            count++;
            if (t == JsonToken.START_OBJECT) {
                readChoice(p, text);
            } else {
                p.skipChildren();
            }
        }
        return count;
    }

    private void readChoice(JsonParser p, StringBuilder text) throws IOException, NeedsTree {
        int seen = 0;
        String reason = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken t = p.nextToken();
            if (name.equals(messageField)) {
                seen = once(seen, MESSAGE_SEEN);
                if (t == JsonToken.START_OBJECT) {
                    readMessage(p, text);
                } else {
                    p.skipChildren();
                }
            } else if (name.equals("finish_reason")) {
                seen = once(seen, FINISH_REASON_SEEN);
                if (t == JsonToken.VALUE_STRING) {
                    reason = p.getText();
                } else {
                    p.skipChildren();
                }
            } else {
                p.skipChildren();
            }
        }
        if (reason != null) {
            finishReason = reason;
        }
    }

    /** Appends the message's content, then its tool calls' names and arguments, whatever their order. */
    private void readMessage(JsonParser p, StringBuilder text) throws IOException, NeedsTree {
        int seen = 0;
        int start = text.length();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken t = p.nextToken();
            switch (name) {
                case "content" -> {
                    seen = once(seen, CONTENT_SEEN);
                    if (t == JsonToken.VALUE_STRING) {
                        appendAt(p, text, start);
                    } else {
                        p.skipChildren();
                    }
                }
                case "tool_calls" -> {
                    seen = once(seen, TOOL_CALLS_SEEN);
                    if (t == JsonToken.START_ARRAY) {
                        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                            if (t == null) {
                                throw NEEDS_TREE;
                            }
                            readCall(p, t, text);
                        }
                    } else if (t == JsonToken.START_OBJECT) {
                        throw NEEDS_TREE; // the tree iterates an object's values, in its own order for repeated keys
                    } else {
                        p.skipChildren();
                    }
                }
                default -> p.skipChildren();
            }
        }
    }

    private void readCall(JsonParser p, JsonToken t, StringBuilder text) throws IOException, NeedsTree {
        if (t != JsonToken.START_OBJECT) {
            p.skipChildren();
            return;
        }
        int seen = 0;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            if (name.equals("function")) {
                seen = once(seen, FUNCTION_SEEN);
                if (v == JsonToken.START_OBJECT) {
                    readFunction(p, text);
                } else {
                    p.skipChildren();
                }
            } else {
                p.skipChildren();
            }
        }
    }

    /** Appends the function's name, then its arguments, whatever their order. */
    private static void readFunction(JsonParser p, StringBuilder text) throws IOException, NeedsTree {
        int seen = 0;
        int start = text.length();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken t = p.nextToken();
            switch (name) {
                case "name" -> {
                    seen = once(seen, NAME_SEEN);
                    if (t == JsonToken.VALUE_STRING) {
                        appendAt(p, text, start);
                    } else {
                        p.skipChildren();
                    }
                }
                case "arguments" -> {
                    seen = once(seen, ARGUMENTS_SEEN);
                    if (t == JsonToken.VALUE_STRING) {
                        text.append(p.getTextCharacters(), p.getTextOffset(), p.getTextLength());
                    } else {
                        p.skipChildren();
                    }
                }
                default -> p.skipChildren();
            }
        }
    }

    /** The current string at {@code at}: appended when nothing came after {@code at} yet, else inserted. */
    private static void appendAt(JsonParser p, StringBuilder text, int at) throws IOException {
        char[] chars = p.getTextCharacters();
        int offset = p.getTextOffset();
        int length = p.getTextLength();
        if (text.length() == at) {
            text.append(chars, offset, length);
        } else {
            text.insert(at, chars, offset, length);
        }
    }

    static int once(int seen, int field) throws NeedsTree {
        if ((seen & field) != 0) {
            throw NEEDS_TREE;
        }
        return seen | field;
    }
}
