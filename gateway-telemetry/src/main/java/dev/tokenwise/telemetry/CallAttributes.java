package dev.tokenwise.telemetry;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * The attributes of one call's span, in the order they were added, in two arrays: what the OTLP marshaller reads
 * ({@link #forEach}, {@link #size}) costs a walk over them, where the SDK's own attributes are a hash map while a span
 * records and a sorted copy once it ends. Each key is added at most once (the caller's duty: {@link CallSpanData}
 * adds a fixed list).
 */
final class CallAttributes implements Attributes {
    private final AttributeKey<?>[] keys;
    private final Object[] values;
    private int size;

    CallAttributes(int capacity) {
        keys = new AttributeKey<?>[capacity];
        values = new Object[capacity];
    }

    /** Adds {@code key} with {@code value}; a {@code null} value adds nothing. */
    <T> CallAttributes put(AttributeKey<T> key, T value) {
        if (value != null) {
            keys[size] = key;
            values[size] = value;
            size++;
        }
        return this;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T get(AttributeKey<T> key) {
        for (int i = 0; i < size; i++) {
            if (keys[i].equals(key)) {
                return (T) values[i];
            }
        }
        return null;
    }

    @Override
    public void forEach(BiConsumer<? super AttributeKey<?>, ? super Object> consumer) {
        for (int i = 0; i < size; i++) {
            consumer.accept(keys[i], values[i]);
        }
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public boolean isEmpty() {
        return size == 0;
    }

    @Override
    public Map<AttributeKey<?>, Object> asMap() {
        Map<AttributeKey<?>, Object> map = new LinkedHashMap<>();
        forEach(map::put);
        return Collections.unmodifiableMap(map);
    }

    @Override
    public AttributesBuilder toBuilder() {
        return Attributes.builder().putAll(this);
    }

    @Override
    public String toString() {
        return asMap().toString();
    }
}
