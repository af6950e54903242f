package dev.tokenwise.core.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 of keys: the only form in which the gateway keeps virtual keys after start-up. */
public final class KeyHashes {
    private static final HexFormat HEX = HexFormat.of();
    /**
     * One digest per thread: {@code MessageDigest.getInstance} looks the algorithm up among the security
     * providers on every call, which cost more than hashing a key. {@code digest} leaves it reset.
     */
    private static final ThreadLocal<MessageDigest> SHA_256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every JRE", e);
        }
    });

    private KeyHashes() {
    }

    public static byte[] sha256(String key) {
        return SHA_256.get().digest(key.getBytes(StandardCharsets.UTF_8));
    }

    public static String sha256Hex(String key) {
        return HEX.formatHex(sha256(key));
    }

    /** A stable, non-secret label for a key: {@code key-} and the first 8 hex digits of its hash. */
    public static String defaultKeyId(String key) {
        return "key-" + sha256Hex(key).substring(0, 8);
    }

    /** Constant-time comparison of two secrets (through their hashes, so lengths do not leak either). */
    public static boolean secretEquals(String a, String b) {
        return MessageDigest.isEqual(sha256(a), sha256(b));
    }
}
