package dev.tokenwise.server.admin;

import dev.tokenwise.core.auth.KeyHashes;
import dev.tokenwise.core.auth.KeyRegistry;
import dev.tokenwise.core.budget.Budget;
import dev.tokenwise.core.budget.BudgetBook;
import dev.tokenwise.core.budget.Periods;
import dev.tokenwise.core.config.BudgetConfig;
import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.core.config.KeyConfig;
import dev.tokenwise.core.config.TeamConfig;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.Money;
import dev.tokenwise.core.spi.SpendStore;
import dev.tokenwise.core.spi.TeamStore;
import dev.tokenwise.core.spi.TeamStore.StoredKey;
import dev.tokenwise.core.spi.TeamStore.StoredTeam;
import java.security.SecureRandom;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live set of teams and virtual keys: what the {@link TeamStore} holds, seeded from the config file, kept
 * in step with the {@link KeyRegistry} (who may call) and the {@link BudgetBook} (how much they may spend).
 *
 * <p>Merge rule at start-up ({@link #load}): the store wins for every team and key it knows, so changes made
 * through the admin API survive a restart even when the config file says otherwise; the config only seeds
 * teams and keys the store does not know yet, and those are saved to the store at once (keys by the SHA-256
 * of their secret, never in plain text). A key revoked through the API stays revoked even if the config still
 * lists it.
 *
 * <p>Threading: every method may touch the store (a database) and must run off the event loops. Changes are
 * serialised by one lock so the store, the registry and the budget book move together; reads take no lock.
 *
 * <pre>{@code
 * TeamDirectory directory = TeamDirectory.load(config, teamStore, ledger, keys, budgets, System::currentTimeMillis);
 * routes.add(new AdminRoutes(config, directory, RateLimitDirectory.load(config, store, limiter, directory, clock), workers));
 * }</pre>
 */
public final class TeamDirectory {
    private static final Logger log = LoggerFactory.getLogger(TeamDirectory.class);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final String NAME_RULE = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit";
    private static final char[] BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();
    /** Prefix of generated keys; 40 base62 characters carry 238 bits of randomness. */
    static final String SECRET_PREFIX = "tw-";
    static final int SECRET_CHARS = 40;
    private static final int ID_ATTEMPTS = 16;

    /**
     * A team as the admin API shows it.
     *
     * @param budget its budget, or {@code null} when it has none (unlimited)
     * @param budgetState this period's books from the {@link BudgetBook}, or {@code null} without a budget
     * @param keyIds ids of its valid (not revoked) keys
     */
    public record TeamView(String name, BudgetConfig budget, Budget.Snapshot budgetState, List<String> keyIds) {
        public TeamView {
            keyIds = List.copyOf(keyIds);
        }
    }

    /**
     * A key as the admin API shows it: never its secret, nor its hash.
     *
     * @param models models it may call; empty means all
     * @param budget its own budget, or {@code null}
     * @param revokedAtMillis when it was revoked, {@code 0} while it is valid
     */
    public record KeyView(String id, String team, List<String> models, BudgetConfig budget, long createdAtMillis,
                          long revokedAtMillis) {
        public KeyView {
            models = List.copyOf(models);
        }

        public boolean revoked() {
            return revokedAtMillis != 0;
        }
    }

    /** A key just created: the only time its secret exists outside the caller's hands. */
    public record CreatedKey(KeyView key, String secret) {
        public String id() {
            return key.id();
        }

        @Override
        public String toString() {
            // Never print the secret.
            return "CreatedKey[key=" + key + ", secret=***]";
        }
    }

    private final GatewayConfig config;
    private final TeamStore store;
    private final SpendStore spend;
    private final KeyRegistry registry;
    private final BudgetBook budgets;
    private final LongSupplier clockMillis;
    private final ZoneId zone;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, StoredTeam> teams = new ConcurrentHashMap<>();
    /** Every key by id, revoked ones included (their ids stay taken). */
    private final Map<String, StoredKey> keys = new ConcurrentHashMap<>();
    private final Object changeLock = new Object();
    /** Told of every budget change and revocation made here (cluster mode passes them on to the other instances). */
    private volatile ChangeListener changes = ChangeListener.NONE;

    /** Changes made through this directory that the other instances of a cluster must also make. */
    public interface ChangeListener {
        ChangeListener NONE = new ChangeListener() {
            @Override
            public void teamBudgetChanged(String team, BudgetConfig budget) {
            }

            @Override
            public void keyRevoked(String id) {
            }

            @Override
            public void keyCreated(StoredKey key) {
            }

            @Override
            public void keyBudgetChanged(String id, BudgetConfig budget) {
            }
        };

        /** Key {@code key} was created (only its hash travels, never its secret). */
        void keyCreated(StoredKey key);

        /** A team was created with, or given, {@code budget}. */
        void teamBudgetChanged(String team, BudgetConfig budget);

        /** Key {@code id} was revoked. */
        void keyRevoked(String id);

        /** Key {@code id} was given {@code budget}, or had its budget removed when it is {@code null}. */
        void keyBudgetChanged(String id, BudgetConfig budget);
    }

    private TeamDirectory(GatewayConfig config, TeamStore store, SpendStore spend, KeyRegistry registry,
                          BudgetBook budgets, LongSupplier clockMillis) {
        this.config = config;
        this.store = store;
        this.spend = spend;
        this.registry = registry;
        this.budgets = budgets;
        this.clockMillis = clockMillis;
        this.zone = config.budgets().zone();
    }

    /**
     * Reads the store, seeds it from the config, registers every valid key and sets every budget with the
     * spend of its current period restored from {@code spend}. Blocking: call it at start-up, not on an event loop.
     */
    public static TeamDirectory load(GatewayConfig config, TeamStore store, SpendStore spend, KeyRegistry keys,
                                     BudgetBook budgets, LongSupplier clockMillis) {
        TeamDirectory directory = new TeamDirectory(Objects.requireNonNull(config, "config"),
                Objects.requireNonNull(store, "store"), Objects.requireNonNull(spend, "spend"),
                Objects.requireNonNull(keys, "keys"), Objects.requireNonNull(budgets, "budgets"),
                Objects.requireNonNull(clockMillis, "clockMillis"));
        directory.merge();
        return directory;
    }

    private void merge() {
        long now = clockMillis.getAsLong();
        for (StoredTeam t : store.teams()) {
            teams.put(t.name(), t);
        }
        Map<String, StoredKey> byHash = new HashMap<>();
        for (StoredKey k : store.keys()) {
            keys.put(k.id(), k);
            byHash.put(k.hashHex(), k);
        }
        int seededTeams = 0;
        int seededKeys = 0;
        for (TeamConfig t : config.teams()) {
            StoredTeam stored = teams.get(t.name());
            if (stored == null) {
                StoredTeam seeded = new StoredTeam(t.name(), t.budget(), now);
                store.saveTeam(seeded);
                teams.put(seeded.name(), seeded);
                seededTeams++;
            } else if (!Objects.equals(stored.budget(), t.budget())) {
                log.info("Team {}: the budget set through the admin API ({}) wins over the config file's ({})",
                        t.name(), describe(stored.budget()), describe(t.budget()));
            }
            for (KeyConfig k : t.keys()) {
                String hash = k.keyHash();
                String id = k.name() != null && !k.name().isBlank() ? k.name() : "key-" + hash.substring(0, 8);
                StoredKey known = byHash.get(hash);
                if (known != null) {
                    if (known.revoked()) {
                        log.warn("Key {} of team {} is listed in the config file but was revoked through the admin API:"
                                + " it stays revoked (remove it from the config file)", known.id(), known.team());
                    }
                    continue;
                }
                StoredKey sameId = keys.get(id);
                if (sameId != null) {
                    log.warn("Key {} of team {} in the config file is ignored: the id is already used by another key"
                            + " (give it another name, or revoke the other key and rename this one)", id, t.name());
                    continue;
                }
                StoredKey seeded = new StoredKey(id, t.name(), hash, k.models(), k.budget(), now, 0);
                store.saveKey(seeded);
                keys.put(id, seeded);
                byHash.put(hash, seeded);
                seededKeys++;
            }
        }
        for (StoredTeam t : teams.values()) {
            if (t.budget() != null) {
                budgets.setTeamBudget(t.name(), t.budget(), spend.teamSpentNanos(t.name(), periodStart(t.budget(), now)));
            }
        }
        int valid = 0;
        for (StoredKey k : keys.values()) {
            if (k.revoked()) {
                continue;
            }
            if (!teams.containsKey(k.team())) {
                log.warn("Key {} is not registered: its team {} is unknown to the store and the config file", k.id(),
                        k.team());
                continue;
            }
            // The budget first, so no call can pass with the key before its limit is in place.
            if (k.budget() != null) {
                budgets.setKeyBudget(k.team(), k.id(), k.budget(),
                        spend.keySpentNanos(k.id(), periodStart(k.budget(), now)));
            }
            registry.registerHashed(k.hashHex(), k.id(), k.team(), k.models());
            valid++;
        }
        log.info("Teams: {} ({} seeded from the config file); keys: {} valid ({} seeded), {} revoked", teams.size(),
                seededTeams, valid, seededKeys, keys.values().stream().filter(StoredKey::revoked).count());
    }

    private long periodStart(BudgetConfig budget, long nowMillis) {
        return Periods.startMillis(budget.period(), nowMillis, zone);
    }

    private static String describe(BudgetConfig budget) {
        return budget == null ? "none" : Money.format(budget.limitNanos()) + " " + budget.period().label();
    }

    /** The configuration the directory checks models against. */
    public GatewayConfig config() {
        return config;
    }

    /** All teams, by name. */
    public List<TeamView> teams() {
        List<String> names = new ArrayList<>(teams.keySet());
        names.sort(Comparator.naturalOrder());
        List<TeamView> views = new ArrayList<>(names.size());
        for (String name : names) {
            team(name).ifPresent(views::add);
        }
        return views;
    }

    public Optional<TeamView> team(String name) {
        StoredTeam t = teams.get(name);
        if (t == null) {
            return Optional.empty();
        }
        Budget budget = t.budget() == null ? null : budgets.team(name);
        Budget.Snapshot state = budget == null ? null : budget.snapshot(clockMillis.getAsLong());
        List<String> keyIds = keys.values().stream()
                .filter(k -> !k.revoked() && k.team().equals(name))
                .sorted(KEY_ORDER)
                .map(StoredKey::id)
                .toList();
        return Optional.of(new TeamView(t.name(), t.budget(), state, keyIds));
    }

    /** Every key, revoked ones included, oldest first. */
    public List<KeyView> keys() {
        return keys.values().stream().sorted(KEY_ORDER).map(TeamDirectory::view).toList();
    }

    public Optional<KeyView> key(String id) {
        return Optional.ofNullable(keys.get(id)).map(TeamDirectory::view);
    }

    private static final Comparator<StoredKey> KEY_ORDER = Comparator.comparingLong(StoredKey::createdAtMillis)
            .thenComparing(StoredKey::id);

    private static KeyView view(StoredKey k) {
        return new KeyView(k.id(), k.team(), k.models(), k.budget(), k.createdAtMillis(), k.revokedAtMillis());
    }

    /**
     * Creates a team, saved to the store before it is visible.
     *
     * @param budget its budget, or {@code null} for none
     * @throws GatewayException when the name is invalid or already taken
     */
    public TeamView createTeam(String name, BudgetConfig budget) {
        TeamView created = createTeamHere(name, budget);
        if (budget != null) {
            changes.teamBudgetChanged(name, budget);
        }
        return created;
    }

    private TeamView createTeamHere(String name, BudgetConfig budget) {
        checkName(name, "name");
        synchronized (changeLock) {
            if (teams.containsKey(name)) {
                throw AdminErrors.conflict("team " + name + " already exists");
            }
            long now = clockMillis.getAsLong();
            StoredTeam team = new StoredTeam(name, budget, now);
            store.saveTeam(team);
            if (budget != null) {
                budgets.setTeamBudget(name, budget, spend.teamSpentNanos(name, periodStart(budget, now)));
            }
            teams.put(name, team);
        }
        return team(name).orElseThrow();
    }

    /**
     * Replaces a team's budget; the spend of the current period stays charged against the new limit.
     *
     * @throws GatewayException when the team is unknown
     */
    public TeamView setBudget(String team, BudgetConfig budget) {
        TeamView changed = setBudgetHere(team, budget);
        changes.teamBudgetChanged(team, budget);
        return changed;
    }

    /** Sends every later change made here to {@code listener}. */
    public void onChange(ChangeListener listener) {
        this.changes = Objects.requireNonNull(listener, "listener");
    }

    /**
     * Makes here a budget change another instance of the cluster made: creates the team when this instance does not
     * know it, changes its budget when it differs, and tells no listener. Blocking (it writes the store).
     */
    public void applyTeamBudget(String team, BudgetConfig budget) {
        StoredTeam stored = teams.get(team);
        if (stored == null) {
            try {
                createTeamHere(team, budget);
            } catch (GatewayException raced) {
                // created meanwhile
            }
        } else if (!budget.equals(stored.budget())) {
            setBudgetHere(team, budget);
        }
    }

    /** Revokes here a key another instance of the cluster revoked (nothing when unknown or revoked already). */
    public void applyRevocation(String id) {
        StoredKey key = keys.get(id);
        if (key != null && !key.revoked()) {
            revokeHere(id);
        }
    }

    private TeamView setBudgetHere(String team, BudgetConfig budget) {
        Objects.requireNonNull(budget, "budget");
        synchronized (changeLock) {
            StoredTeam stored = requireTeam(team);
            long now = clockMillis.getAsLong();
            StoredTeam changed = new StoredTeam(stored.name(), budget, now);
            store.saveTeam(changed);
            // A team without a budget until now has no books in memory: restore this period's spend from the ledger.
            long spentNanos = budgets.team(team) == null ? spend.teamSpentNanos(team, periodStart(budget, now)) : 0;
            budgets.setTeamBudget(team, budget, spentNanos);
            teams.put(team, changed);
        }
        return team(team).orElseThrow();
    }

    /**
     * Creates a random key for a team: {@code tw-} and 40 base62 characters. Only its SHA-256 is stored and
     * registered; the returned secret is the only copy.
     *
     * @param name its id, or {@code null} for one derived from its hash
     * @param models models it may call, each one of the config's; {@code null} or empty means all
     * @param budget its own budget, or {@code null}
     * @throws GatewayException for an unknown team (404), an unknown model, an invalid or taken name (400)
     */
    public CreatedKey createKey(String team, String name, List<String> models, BudgetConfig budget) {
        if (name != null) {
            checkName(name, "name");
        }
        List<String> allowed = models == null ? List.of() : List.copyOf(new LinkedHashSet<>(models));
        for (int i = 0; i < allowed.size(); i++) {
            if (!config.models().containsKey(allowed.get(i))) {
                throw new GatewayException(ErrorType.BAD_REQUEST, "models: " + allowed.get(i)
                        + " is not a model of this gateway (expected one of: " + String.join(", ", config.models().keySet())
                        + ")");
            }
        }
        synchronized (changeLock) {
            requireTeam(team);
            if (name != null && keys.containsKey(name)) {
                throw AdminErrors.conflict("key " + name + " already exists");
            }
            String secret = null;
            String id = name;
            for (int attempt = 0; attempt < ID_ATTEMPTS && (secret == null || keys.containsKey(id)); attempt++) {
                secret = newSecret();
                id = name != null ? name : KeyHashes.defaultKeyId(secret);
            }
            if (keys.containsKey(id)) {
                throw new IllegalStateException("no free key id after " + ID_ATTEMPTS + " attempts");
            }
            long now = clockMillis.getAsLong();
            StoredKey key = new StoredKey(id, team, KeyHashes.sha256Hex(secret), allowed, budget, now, 0);
            store.saveKey(key);
            if (budget != null) {
                budgets.setKeyBudget(team, id, budget, 0);
            }
            registry.registerHashed(key.hashHex(), id, team, allowed);
            keys.put(id, key);
            changes.keyCreated(key);
            return new CreatedKey(view(key), secret);
        }
    }

    /**
     * Makes here a key another instance of the cluster created: saved, its budget set, registered by its hash.
     * Nothing when this instance knows the id already, or does not know the key's team. Blocking (it writes the
     * store).
     */
    public void applyCreatedKey(StoredKey key) {
        synchronized (changeLock) {
            if (keys.containsKey(key.id()) || !teams.containsKey(key.team())) {
                return;
            }
            StoredKey valid = new StoredKey(key.id(), key.team(), key.hashHex(), key.models(), key.budget(),
                    key.createdAtMillis(), 0);
            store.saveKey(valid);
            if (valid.budget() != null) {
                budgets.setKeyBudget(valid.team(), valid.id(), valid.budget(), 0);
            }
            registry.registerHashed(valid.hashHex(), valid.id(), valid.team(), valid.models());
            keys.put(valid.id(), valid);
        }
    }

    /**
     * Revokes a key: it stops authenticating at once, and the revocation is saved to the store. Revoking a
     * revoked key again changes nothing.
     *
     * @throws GatewayException when no key has this id (404)
     */
    public KeyView revoke(String id) {
        KeyView revoked = revokeHere(id);
        changes.keyRevoked(id);
        return revoked;
    }

    private KeyView revokeHere(String id) {
        synchronized (changeLock) {
            StoredKey key = keys.get(id);
            if (key == null) {
                throw new GatewayException(ErrorType.NOT_FOUND, "no key " + id);
            }
            if (key.revoked()) {
                return view(key);
            }
            // The registry first: the key must stop working now, even if the store is slow or fails (then the
            // caller gets an error and may retry; the key is not marked revoked here until the store has it).
            registry.revoke(id);
            long now = clockMillis.getAsLong();
            if (!store.revokeKey(id, now)) {
                log.warn("Key {} was revoked, but the store did not know it as a valid key", id);
            }
            StoredKey revoked = new StoredKey(key.id(), key.team(), key.hashHex(), key.models(), key.budget(),
                    key.createdAtMillis(), now);
            keys.put(id, revoked);
            log.info("Key {} of team {} revoked", id, key.team());
            return view(revoked);
        }
    }

    /**
     * Sets, replaces or removes a key's own budget (inside its team's). What the key spent this period still counts
     * against the new limit: a replaced budget keeps its books, a new one restores the period's spend from the ledger.
     * Without a budget the key spends only within its team's.
     *
     * @param budget its new budget, or {@code null} to remove it
     * @throws GatewayException when no key has this id (404) or the key is revoked (409)
     */
    public KeyView setKeyBudget(String id, BudgetConfig budget) {
        KeyView changed = setKeyBudgetHere(id, budget);
        changes.keyBudgetChanged(id, budget);
        return changed;
    }

    /**
     * Makes here a key budget change another instance of the cluster made, telling no listener: nothing when the key
     * is unknown, revoked, or has that budget already. Blocking (it writes the store).
     */
    public void applyKeyBudget(String id, BudgetConfig budget) {
        StoredKey key = keys.get(id);
        if (key != null && !key.revoked() && !Objects.equals(key.budget(), budget)) {
            try {
                setKeyBudgetHere(id, budget);
            } catch (GatewayException raced) {
                // revoked meanwhile
            }
        }
    }

    private KeyView setKeyBudgetHere(String id, BudgetConfig budget) {
        synchronized (changeLock) {
            StoredKey key = keys.get(id);
            if (key == null) {
                throw new GatewayException(ErrorType.NOT_FOUND, "no key " + id);
            }
            if (key.revoked()) {
                throw AdminErrors.conflict("key " + id + " is revoked: a revoked key has no budget to change");
            }
            long now = clockMillis.getAsLong();
            // A key without a budget until now has no books in memory: restore this period's spend from the ledger
            // (read first, so that a failed read changes nothing).
            long spentNanos = budget != null && budgets.key(id) == null
                    ? spend.keySpentNanos(id, periodStart(budget, now)) : 0;
            if (!store.saveKeyBudget(id, budget)) {
                throw AdminErrors.conflict("key " + id + " is revoked in the store: a revoked key has no budget"
                        + " to change");
            }
            budgets.setKeyBudget(key.team(), id, budget, spentNanos);
            StoredKey changed = new StoredKey(key.id(), key.team(), key.hashHex(), key.models(), budget,
                    key.createdAtMillis(), 0);
            keys.put(id, changed);
            log.info("Key {} of team {}: budget {}", id, key.team(), describe(budget));
            return view(changed);
        }
    }

    private StoredTeam requireTeam(String team) {
        StoredTeam stored = teams.get(team);
        if (stored == null) {
            throw new GatewayException(ErrorType.NOT_FOUND, "no team " + team);
        }
        return stored;
    }

    private static void checkName(String name, String field) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new GatewayException(ErrorType.BAD_REQUEST, field + ": " + (name == null ? "missing" : "'" + name + "'")
                    + " (expected: " + NAME_RULE + ")");
        }
    }

    private String newSecret() {
        char[] chars = new char[SECRET_CHARS];
        for (int i = 0; i < chars.length; i++) {
            // nextInt(bound) rejects the biased tail, so every character is uniform.
            chars[i] = BASE62[random.nextInt(BASE62.length)];
        }
        return SECRET_PREFIX + new String(chars);
    }
}
