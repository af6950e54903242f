package dev.tokenwise.core.auth;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Virtual keys by the SHA-256 of their secret. A presented key is hashed and looked up; the map
 * compares hashes, so the secret itself is never compared byte by byte and never stored.
 * Thread-safe; lookups take no lock.
 */
public final class KeyRegistry {

    /**
     * A registered key.
     *
     * @param id its public id (shown in records and APIs)
     * @param team the team it belongs to
     * @param allowedModels models it may call; empty means all
     * @param hashHex SHA-256 of the secret, hex
     */
    public record KeyEntry(String id, String team, Set<String> allowedModels, String hashHex) {
        public KeyEntry {
            allowedModels = Set.copyOf(allowedModels);
        }

        public boolean allows(String model) {
            return allowedModels.isEmpty() || allowedModels.contains(model);
        }
    }

    /** A SHA-256 as four longs: a map key that hashes and compares without making a hex string at every call. */
    private record Digest(long a, long b, long c, long d) {
        private static final java.lang.invoke.VarHandle LONGS =
                java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.BIG_ENDIAN);

        static Digest of(byte[] sha256) {
            return new Digest((long) LONGS.get(sha256, 0), (long) LONGS.get(sha256, 8), (long) LONGS.get(sha256, 16),
                    (long) LONGS.get(sha256, 24));
        }

        static Digest ofHex(String hashHex) {
            return of(java.util.HexFormat.of().parseHex(hashHex));
        }
    }

    private final Map<Digest, KeyEntry> byHash = new ConcurrentHashMap<>();
    private final Map<String, KeyEntry> byId = new ConcurrentHashMap<>();

    /** Adds a key given in plain text; only its hash is kept. */
    public KeyEntry register(String secret, String id, String team, List<String> allowedModels) {
        return registerHashed(KeyHashes.sha256Hex(secret), id, team, allowedModels);
    }

    /** Adds a key known only by its hash (keys created through the API and read back from the store). */
    public KeyEntry registerHashed(String hashHex, String id, String team, Collection<String> allowedModels) {
        KeyEntry entry = new KeyEntry(id, team, Set.copyOf(allowedModels), hashHex);
        KeyEntry previous = byId.putIfAbsent(id, entry);
        if (previous != null && !previous.hashHex().equals(hashHex)) {
            throw new IllegalArgumentException("key id " + id + " is already used by another key");
        }
        byHash.put(Digest.ofHex(hashHex), entry);
        byId.put(id, entry);
        return entry;
    }

    /** Revokes a key at once: later lookups fail. */
    public boolean revoke(String id) {
        KeyEntry entry = byId.remove(id);
        if (entry == null) {
            return false;
        }
        byHash.remove(Digest.ofHex(entry.hashHex()));
        return true;
    }

    /** The entry for a presented secret, or {@code null}. */
    public KeyEntry find(String secret) {
        if (secret == null || secret.isEmpty()) {
            return null;
        }
        return byHash.get(Digest.of(KeyHashes.sha256(secret)));
    }

    public KeyEntry byId(String id) {
        return byId.get(id);
    }

    public Collection<KeyEntry> all() {
        return List.copyOf(byId.values());
    }
}
