package dev.tokenwise.server.admin;

import dev.tokenwise.core.spi.SpendStore;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** A {@link SpendStore} with fixed answers per holder, recording the period starts it was asked for. */
final class FixedSpendStore implements SpendStore {
    final Map<String, Long> teamNanos = new ConcurrentHashMap<>();
    final Map<String, Long> keyNanos = new ConcurrentHashMap<>();
    final List<String> asked = new CopyOnWriteArrayList<>();

    @Override
    public long teamSpentNanos(String team, long fromMillis) {
        asked.add("team " + team + " from " + fromMillis);
        return teamNanos.getOrDefault(team, 0L);
    }

    @Override
    public long keySpentNanos(String keyId, long fromMillis) {
        asked.add("key " + keyId + " from " + fromMillis);
        return keyNanos.getOrDefault(keyId, 0L);
    }
}
