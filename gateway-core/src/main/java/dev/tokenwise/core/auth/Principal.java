package dev.tokenwise.core.auth;

/**
 * Who is calling: the admin, or a team's virtual key.
 *
 * @param admin {@code true} for the admin key
 * @param team the team, {@code null} for the admin
 * @param keyId the key's id (a label, never the key), {@code null} for the admin
 */
public record Principal(boolean admin, String team, String keyId) {
    public static final Principal ADMIN = new Principal(true, null, null);

    public static Principal key(String team, String keyId) {
        return new Principal(false, team, keyId);
    }
}
