package dev.tokenwise.server.admin;

import dev.tokenwise.core.spi.TeamStore;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** A {@link TeamStore} in memory that remembers which threads called it; survives "restarts" of a directory. */
final class InMemoryTeamStore implements TeamStore {
    private final Map<String, StoredTeam> teams = new LinkedHashMap<>();
    private final Map<String, StoredKey> keys = new LinkedHashMap<>();
    private final Map<String, StoredRateLimits> rateLimits = new LinkedHashMap<>();
    final Set<String> callerThreads = ConcurrentHashMap.newKeySet();

    private void called() {
        callerThreads.add(Thread.currentThread().getName());
    }

    @Override
    public synchronized List<StoredTeam> teams() {
        called();
        return new ArrayList<>(teams.values());
    }

    @Override
    public synchronized List<StoredKey> keys() {
        called();
        return new ArrayList<>(keys.values());
    }

    @Override
    public synchronized List<StoredRateLimits> rateLimits() {
        called();
        return new ArrayList<>(rateLimits.values());
    }

    @Override
    public synchronized void saveRateLimits(StoredRateLimits limits) {
        called();
        rateLimits.put(limits.kind() + "/" + limits.name(), limits);
    }

    @Override
    public synchronized void saveTeam(StoredTeam team) {
        called();
        teams.put(team.name(), team);
    }

    @Override
    public synchronized void saveKey(StoredKey key) {
        called();
        keys.put(key.id(), key);
    }

    @Override
    public synchronized boolean saveKeyBudget(String id, dev.tokenwise.core.config.BudgetConfig budget) {
        called();
        StoredKey k = keys.get(id);
        if (k == null || k.revoked()) {
            return false;
        }
        keys.put(id, new StoredKey(k.id(), k.team(), k.hashHex(), k.models(), budget, k.createdAtMillis(), 0));
        return true;
    }

    @Override
    public synchronized boolean revokeKey(String id, long atMillis) {
        called();
        StoredKey k = keys.get(id);
        if (k == null || k.revoked()) {
            return false;
        }
        keys.put(id, new StoredKey(k.id(), k.team(), k.hashHex(), k.models(), k.budget(), k.createdAtMillis(), atMillis));
        return true;
    }

    synchronized StoredTeam team(String name) {
        return teams.get(name);
    }

    synchronized StoredKey key(String id) {
        return keys.get(id);
    }
}
