package dev.tokenwise.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.AclEntry;
import java.nio.file.attribute.AclEntryPermission;
import java.nio.file.attribute.AclEntryType;
import java.nio.file.attribute.AclFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The admin key a gateway makes for itself when its config names none: {@code admin.key} beside the ledger, readable
 * by its owner only (0600), random like the virtual keys the admin API makes, and read back on every later start. A
 * configured {@code admin.key} always wins; {@code admin: {key: off}} turns the admin API off and makes nothing. The
 * key is never written to the log, only where to find it.
 */
final class AdminKeyFile {
    static final String FILE_NAME = "admin.key";
    private static final char[] BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();
    private static final Set<PosixFilePermission> OWNER_ONLY = EnumSet.of(PosixFilePermission.OWNER_READ,
            PosixFilePermission.OWNER_WRITE);

    private AdminKeyFile() {
    }

    /** Where the key of a gateway whose ledger is {@code storagePath} is kept. */
    static Path beside(String storagePath) {
        Path parent = Path.of(storagePath).toAbsolutePath().getParent();
        return parent.resolve(FILE_NAME);
    }

    /** The key in {@code file}, made (and the file written, owner-only) when there is none yet. */
    static Key readOrCreate(Path file) {
        try {
            if (Files.exists(file)) {
                String key = Files.readString(file, StandardCharsets.UTF_8).strip();
                if (key.length() < 20 || key.chars().anyMatch(Character::isWhitespace)) {
                    throw new IllegalStateException(file + " does not hold an admin key (delete it to have a new one"
                            + " made, or set admin.key in the config)");
                }
                return new Key(key, file, false);
            }
            Files.createDirectories(file.toAbsolutePath().getParent());
            String key = newKey();
            try {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
            } catch (UnsupportedOperationException notPosix) {
                Files.createFile(file);
                restrictToOwner(file); // a file system with ACLs instead of POSIX modes (Windows)
            } catch (FileAlreadyExistsException raced) {
                return readOrCreate(file); // another process made it first: use that one
            }
            Files.writeString(file, key + "\n", StandardCharsets.UTF_8);
            return new Key(key, file, true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or write the admin key file " + file, e);
        }
    }

    /**
     * Leaves {@code file} (just made, still empty) readable and writable by its owner only through its ACL; where the
     * file system has neither POSIX modes nor ACLs the file is removed and the start refused, rather than a key kept
     * where others may read it.
     */
    private static void restrictToOwner(Path file) throws IOException {
        AclFileAttributeView acl = Files.getFileAttributeView(file, AclFileAttributeView.class);
        if (acl == null) {
            Files.deleteIfExists(file);
            throw new IllegalStateException("cannot keep " + file + " readable by its owner only on this file system:"
                    + " set admin.key in the config (or TOKENWISE_ADMIN_KEY)");
        }
        UserPrincipal owner = Files.getOwner(file);
        acl.setAcl(List.of(AclEntry.newBuilder().setType(AclEntryType.ALLOW).setPrincipal(owner)
                .setPermissions(AclEntryPermission.READ_DATA, AclEntryPermission.WRITE_DATA,
                        AclEntryPermission.APPEND_DATA, AclEntryPermission.READ_ATTRIBUTES,
                        AclEntryPermission.WRITE_ATTRIBUTES, AclEntryPermission.READ_ACL, AclEntryPermission.WRITE_ACL,
                        AclEntryPermission.DELETE, AclEntryPermission.SYNCHRONIZE).build()));
    }

    private static String newKey() {
        SecureRandom random = new SecureRandom();
        StringBuilder s = new StringBuilder("tw-admin-");
        for (int i = 0; i < 40; i++) {
            s.append(BASE62[random.nextInt(BASE62.length)]);
        }
        return s.toString();
    }

    /** A key and where it is kept; {@code created} on the start that made it. */
    record Key(String value, Path file, boolean created) {
        @Override
        public String toString() {
            return "AdminKeyFile.Key[file=" + file + ", created=" + created + "]"; // never the key
        }
    }
}
