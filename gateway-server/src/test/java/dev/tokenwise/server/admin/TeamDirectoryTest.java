package dev.tokenwise.server.admin;

import static dev.tokenwise.server.admin.AdminFixtures.DEFAULT_TEAMS;
import static dev.tokenwise.server.admin.AdminFixtures.NOW_MILLIS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.auth.KeyHashes;
import dev.tokenwise.core.auth.KeyRegistry;
import dev.tokenwise.core.budget.Budget;
import dev.tokenwise.core.budget.BudgetBook;
import dev.tokenwise.core.budget.Periods;
import dev.tokenwise.core.config.BudgetConfig;
import dev.tokenwise.core.config.BudgetPeriod;
import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.spi.TeamStore.StoredKey;
import dev.tokenwise.core.spi.TeamStore.StoredTeam;
import dev.tokenwise.server.admin.TeamDirectory.CreatedKey;
import dev.tokenwise.server.admin.TeamDirectory.TeamView;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The merge of config and store at start-up, and the changes the admin API makes. */
class TeamDirectoryTest {
    static final long USD = 1_000_000_000L;
    static final long EARLIER = NOW_MILLIS - 86_400_000L * 30;

    final InMemoryTeamStore store = new InMemoryTeamStore();
    final FixedSpendStore spend = new FixedSpendStore();
    final List<BudgetBook> books = new ArrayList<>();

    /** One running gateway: its own registry and budget book over the shared store (a restart makes a new one). */
    final class Gateway {
        final KeyRegistry keys = new KeyRegistry();
        final BudgetBook budgets = new BudgetBook(ZoneId.of("UTC"), 80, () -> NOW_MILLIS, 0);
        final TeamDirectory directory;

        Gateway(GatewayConfig config) {
            books.add(budgets);
            directory = TeamDirectory.load(config, store, spend, keys, budgets, () -> NOW_MILLIS);
        }
    }

    Gateway start() {
        return new Gateway(AdminFixtures.config(DEFAULT_TEAMS));
    }

    @AfterEach
    void closeBooks() {
        books.forEach(BudgetBook::close);
    }

    @Test
    void seedsTeamsAndKeysTheStoreDoesNotKnowAndSavesKeysOnlyByHash() {
        Gateway g = start();

        assertEquals(new StoredTeam("demo", new BudgetConfig(5 * USD, BudgetPeriod.DAILY), NOW_MILLIS), store.team("demo"));
        assertEquals(new StoredTeam("other", null, NOW_MILLIS), store.team("other"));
        StoredKey named = store.key("demo-key");
        assertEquals(KeyHashes.sha256Hex("tw-test-key"), named.hashHex());
        assertEquals("demo", named.team());
        assertFalse(named.revoked());
        String defaultId = KeyHashes.defaultKeyId("tw-other-key");
        assertEquals(KeyHashes.sha256Hex("tw-other-key"), store.key(defaultId).hashHex());
        assertFalse(store.keys().toString().contains("tw-test-key"), "no secret in the store");

        assertEquals("demo-key", g.keys.find("tw-test-key").id());
        assertEquals(defaultId, g.keys.find("tw-other-key").id());
        assertEquals(5 * USD, g.budgets.team("demo").limitNanos());
        assertNull(g.budgets.team("other"), "a team without a budget is unlimited");
        assertEquals(List.of("demo", "other"), g.directory.teams().stream().map(TeamView::name).toList());
        assertEquals(List.of("demo-key"), g.directory.team("demo").orElseThrow().keyIds());
    }

    @Test
    void storeWinsOverTheConfigForTeamsAndKeysItKnows() {
        BudgetConfig weekly = new BudgetConfig(10 * USD, BudgetPeriod.WEEKLY);
        store.saveTeam(new StoredTeam("demo", weekly, EARLIER));
        store.saveKey(new StoredKey("demo-key", "demo", KeyHashes.sha256Hex("tw-test-key"), List.of("sim-large"), null,
                EARLIER, 0));

        Gateway g = start();

        assertEquals(new StoredTeam("demo", weekly, EARLIER), store.team("demo"), "the stored team is not overwritten");
        Budget demo = g.budgets.team("demo");
        assertEquals(10 * USD, demo.limitNanos());
        assertEquals(BudgetPeriod.WEEKLY, demo.period());
        KeyRegistry.KeyEntry key = g.keys.find("tw-test-key");
        assertTrue(key.allows("sim-large"));
        assertFalse(key.allows("sim-small"), "the stored model list wins over the config's (all models)");
        assertEquals(EARLIER, store.key("demo-key").createdAtMillis());
        assertNotNull(store.team("other"), "the config still seeds what the store lacks");
    }

    @Test
    void revokedStoredKeyStaysRevokedEvenWhenTheConfigListsIt() {
        store.saveKey(new StoredKey("demo-key", "demo", KeyHashes.sha256Hex("tw-test-key"), List.of(), null, EARLIER,
                EARLIER + 1));

        Gateway g = start();

        assertNull(g.keys.find("tw-test-key"));
        assertTrue(store.key("demo-key").revoked());
        assertTrue(g.directory.key("demo-key").orElseThrow().revoked());
        assertEquals(List.of(), g.directory.team("demo").orElseThrow().keyIds());
        assertNotNull(g.keys.find("tw-other-key"), "other keys are unaffected");
    }

    @Test
    void configKeyWhoseIdAnotherStoredKeyUsesIsIgnored() {
        store.saveTeam(new StoredTeam("demo", null, EARLIER));
        store.saveKey(new StoredKey("demo-key", "demo", KeyHashes.sha256Hex("tw-rotated-elsewhere"), List.of(), null,
                EARLIER, 0));

        Gateway g = start();

        assertNull(g.keys.find("tw-test-key"));
        assertEquals("demo-key", g.keys.find("tw-rotated-elsewhere").id());
    }

    @Test
    void restoresThisPeriodsSpendIntoTeamAndKeyBudgets() {
        BudgetConfig keyBudget = new BudgetConfig(USD, BudgetPeriod.MONTHLY);
        store.saveKey(new StoredKey("capped", "demo", KeyHashes.sha256Hex("tw-capped"), List.of(), keyBudget, EARLIER, 0));
        spend.teamNanos.put("demo", 1_250_000_000L);
        spend.keyNanos.put("capped", 400_000_000L);

        Gateway g = start();

        long dayStart = Periods.startMillis(BudgetPeriod.DAILY, NOW_MILLIS, ZoneId.of("UTC"));
        long monthStart = Periods.startMillis(BudgetPeriod.MONTHLY, NOW_MILLIS, ZoneId.of("UTC"));
        assertTrue(spend.asked.contains("team demo from " + dayStart), spend.asked.toString());
        assertTrue(spend.asked.contains("key capped from " + monthStart), spend.asked.toString());
        Budget.Snapshot team = g.budgets.team("demo").snapshot(NOW_MILLIS);
        assertEquals(1_250_000_000L, team.spentNanos());
        assertEquals(5 * USD - 1_250_000_000L, team.remainingNanos());
        Budget.Snapshot key = g.budgets.key("capped").snapshot(NOW_MILLIS);
        assertEquals(400_000_000L, key.spentNanos());
        assertEquals(600_000_000L, key.remainingNanos());
        assertEquals(team, g.directory.team("demo").orElseThrow().budgetState());
    }

    @Test
    void periodsAlignToTheConfiguredZone() {
        GatewayConfig tokyo = AdminFixtures.config("budgets: {zone: Asia/Tokyo}\n" + DEFAULT_TEAMS);
        BudgetBook budgets = new BudgetBook(ZoneId.of("Asia/Tokyo"), 80, () -> NOW_MILLIS, 0);
        books.add(budgets);

        TeamDirectory.load(tokyo, store, spend, new KeyRegistry(), budgets, () -> NOW_MILLIS);

        long tokyoDay = Periods.startMillis(BudgetPeriod.DAILY, NOW_MILLIS, ZoneId.of("Asia/Tokyo"));
        assertTrue(spend.asked.contains("team demo from " + tokyoDay), spend.asked.toString());
    }

    @Test
    void teamsAndKeysCreatedThroughTheApiSurviveARestart() {
        Gateway first = start();
        first.directory.createTeam("research", new BudgetConfig(2 * USD, BudgetPeriod.TOTAL));
        CreatedKey created = first.directory.createKey("research", null, List.of("sim-small"), null);
        first.directory.setBudget("demo", new BudgetConfig(20 * USD, BudgetPeriod.MONTHLY));

        Gateway second = start();

        KeyRegistry.KeyEntry entry = second.keys.find(created.secret());
        assertEquals(created.id(), entry.id());
        assertEquals("research", entry.team());
        assertEquals(2 * USD, second.budgets.team("research").limitNanos());
        Budget demo = second.budgets.team("demo");
        assertEquals(20 * USD, demo.limitNanos(), "the API's budget wins over the config's $5");
        assertEquals(BudgetPeriod.MONTHLY, demo.period());
    }

    @Test
    void createdKeyIsRandomShownOnceAndStoredOnlyAsItsHash() {
        Gateway g = start();

        CreatedKey a = g.directory.createKey("demo", "ci", List.of("sim-small", "sim-small"), null);
        CreatedKey b = g.directory.createKey("demo", null, null, null);

        assertTrue(a.secret().matches("tw-[0-9A-Za-z]{40}"), a.secret());
        assertFalse(a.secret().equals(b.secret()));
        assertEquals("ci", a.id());
        assertEquals(KeyHashes.defaultKeyId(b.secret()), b.id());
        assertEquals(List.of("sim-small"), a.key().models());
        assertEquals(KeyHashes.sha256Hex(a.secret()), store.key("ci").hashHex());
        assertFalse(a.toString().contains(a.secret()));
        assertEquals("ci", g.keys.find(a.secret()).id());
        assertEquals(java.util.Set.of("demo-key", "ci", b.id()),
                java.util.Set.copyOf(g.directory.team("demo").orElseThrow().keyIds()));
    }

    @Test
    void keyBudgetIsSetBeforeTheKeyWorks() {
        Gateway g = start();

        CreatedKey key = g.directory.createKey("demo", "capped", List.of(), new BudgetConfig(USD / 2, BudgetPeriod.DAILY));

        assertEquals(USD / 2, g.budgets.key("capped").limitNanos());
        assertEquals(new BudgetConfig(USD / 2, BudgetPeriod.DAILY), store.key(key.id()).budget());
    }

    @Test
    void aKeyBudgetSetOrClearedThroughTheApiSurvivesARestartAndWinsOverTheConfig() {
        GatewayConfig capped = AdminFixtures.config("""
                teams:
                  - name: demo
                    budget: {limit_usd: 5, period: daily}
                    keys: [{key: tw-test-key, name: demo-key, budget: {limit_usd: 1, period: daily}}]
                """);
        Gateway first = new Gateway(capped);
        assertEquals(USD, first.budgets.key("demo-key").limitNanos());
        first.directory.setKeyBudget("demo-key", null);
        CreatedKey created = first.directory.createKey("demo", "ci", null, null);
        first.directory.setKeyBudget("ci", new BudgetConfig(3 * USD, BudgetPeriod.WEEKLY));

        Gateway second = new Gateway(capped);

        assertNull(second.budgets.key("demo-key"), "the API removed the config's $1: it stays removed");
        assertNull(second.directory.key("demo-key").orElseThrow().budget());
        assertEquals(3 * USD, second.budgets.key(created.id()).limitNanos());
        assertEquals(BudgetPeriod.WEEKLY, second.budgets.key(created.id()).period());
        assertEquals(new BudgetConfig(3 * USD, BudgetPeriod.WEEKLY), second.directory.key("ci").orElseThrow().budget());
    }

    @Test
    void aKeyBudgetChangeIsToldToTheListenerAndAnotherInstancesIsAppliedSilently() {
        Gateway g = start();
        List<String> told = new ArrayList<>();
        g.directory.onChange(new TeamDirectory.ChangeListener() {
            @Override
            public void keyCreated(StoredKey key) {
            }

            @Override
            public void teamBudgetChanged(String team, BudgetConfig budget) {
            }

            @Override
            public void keyRevoked(String id) {
            }

            @Override
            public void keyBudgetChanged(String id, BudgetConfig budget) {
                told.add(id + " " + budget);
            }
        });
        BudgetConfig half = new BudgetConfig(USD / 2, BudgetPeriod.DAILY);

        g.directory.setKeyBudget("demo-key", half);
        g.directory.setKeyBudget("demo-key", null);
        assertEquals(List.of("demo-key " + half, "demo-key null"), told);

        spend.keyNanos.put("demo-key", USD / 4);
        g.directory.applyKeyBudget("demo-key", half);
        g.directory.applyKeyBudget("nobody", half);
        assertEquals(2, told.size(), "a change made elsewhere is not passed on again");
        assertEquals(USD / 4, g.budgets.key("demo-key").snapshot(NOW_MILLIS).remainingNanos(),
                "what the key spent this period counts");
        assertEquals(half, store.key("demo-key").budget());
        g.directory.applyKeyBudget("demo-key", null);
        assertNull(g.budgets.key("demo-key"));
        assertNull(store.key("demo-key").budget());
    }

    @Test
    void revokeTakesEffectAtOnceAndPersists() {
        Gateway g = start();
        CreatedKey created = g.directory.createKey("demo", null, null, null);

        assertTrue(g.directory.revoke(created.id()).revoked());
        assertTrue(g.directory.revoke("demo-key").revoked());

        assertNull(g.keys.find(created.secret()));
        assertNull(g.keys.find("tw-test-key"));
        assertEquals(NOW_MILLIS, store.key(created.id()).revokedAtMillis());
        assertTrue(g.directory.revoke(created.id()).revoked(), "revoking twice is harmless");
        Gateway restarted = start();
        assertNull(restarted.keys.find(created.secret()));
        assertNull(restarted.keys.find("tw-test-key"), "the config lists it, the revocation wins");
    }

    @Test
    void revokingAnUnknownKeyIsNotFound() {
        Gateway g = start();

        GatewayException e = assertThrows(GatewayException.class, () -> g.directory.revoke("nope"));
        assertEquals(ErrorType.NOT_FOUND, e.type());
    }

    @Test
    void rejectsModelsTheConfigDoesNotServe() {
        Gateway g = start();

        GatewayException e = assertThrows(GatewayException.class,
                () -> g.directory.createKey("demo", null, List.of("sim-small", "gpt-9"), null));
        assertEquals(ErrorType.BAD_REQUEST, e.type());
        assertTrue(e.getMessage().contains("gpt-9"), e.getMessage());
        assertEquals(2, store.keys().size(), "nothing saved");
    }

    @Test
    void rejectsTakenUnknownAndInvalidNames() {
        Gateway g = start();

        assertEquals(ErrorType.CONFLICT, assertThrows(GatewayException.class,
                () -> g.directory.createTeam("demo", null)).type());
        assertEquals(ErrorType.BAD_REQUEST, assertThrows(GatewayException.class,
                () -> g.directory.createTeam("a/b", null)).type());
        assertEquals(ErrorType.CONFLICT, assertThrows(GatewayException.class,
                () -> g.directory.createKey("demo", "demo-key", null, null)).type());
        assertEquals(ErrorType.NOT_FOUND, assertThrows(GatewayException.class,
                () -> g.directory.createKey("nobody", null, null, null)).type());
        assertEquals(ErrorType.NOT_FOUND, assertThrows(GatewayException.class,
                () -> g.directory.setBudget("nobody", new BudgetConfig(USD, BudgetPeriod.DAILY))).type());
    }

    @Test
    void budgetOfATeamThatHadNoneStartsWithThisPeriodsSpend() {
        Gateway g = start();
        spend.teamNanos.put("other", 300_000_000L);

        TeamView view = g.directory.setBudget("other", new BudgetConfig(USD, BudgetPeriod.DAILY));

        assertEquals(300_000_000L, view.budgetState().spentNanos());
        assertEquals(700_000_000L, view.budgetState().remainingNanos());
    }
}
