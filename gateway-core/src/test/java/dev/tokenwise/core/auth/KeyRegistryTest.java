package dev.tokenwise.core.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class KeyRegistryTest {
    @Test
    void findsAKeyByItsSecretButStoresOnlyTheHash() {
        KeyRegistry keys = new KeyRegistry();
        KeyRegistry.KeyEntry entry = keys.register("tw-secret", "key-a", "demo", List.of());
        assertEquals(entry, keys.find("tw-secret"));
        assertEquals(KeyHashes.sha256Hex("tw-secret"), entry.hashHex());
        assertFalse(entry.toString().contains("tw-secret"));
        assertNull(keys.find("tw-secreT"));
        assertNull(keys.find(""));
        assertNull(keys.find(null));
    }

    @Test
    void revokedKeysFailAtOnce() {
        KeyRegistry keys = new KeyRegistry();
        keys.register("tw-secret", "key-a", "demo", List.of());
        assertTrue(keys.revoke("key-a"));
        assertNull(keys.find("tw-secret"));
        assertFalse(keys.revoke("key-a"));
    }

    @Test
    void restrictsKeysToTheirModels() {
        KeyRegistry keys = new KeyRegistry();
        KeyRegistry.KeyEntry entry = keys.register("k", "key-a", "demo", List.of("sim-small"));
        assertTrue(entry.allows("sim-small"));
        assertFalse(entry.allows("sim-large"));
    }

    @Test
    void derivesAStableNonSecretKeyId() {
        assertEquals("key-" + KeyHashes.sha256Hex("tw-demo-key").substring(0, 8), KeyHashes.defaultKeyId("tw-demo-key"));
        assertTrue(KeyHashes.secretEquals("abc", "abc"));
        assertFalse(KeyHashes.secretEquals("abc", "abd"));
    }
}
