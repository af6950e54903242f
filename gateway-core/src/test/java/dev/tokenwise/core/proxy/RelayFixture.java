package dev.tokenwise.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tokenwise.core.accounting.AccountingCore;
import dev.tokenwise.core.auth.KeyRegistry;
import dev.tokenwise.core.budget.BudgetBook;
import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.core.config.ModelConfig;
import dev.tokenwise.core.config.ProviderConfig;
import dev.tokenwise.core.config.ServerConfig;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.ProviderAdapter;
import dev.tokenwise.core.spi.TokenCounter;
import java.net.URI;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A gateway in front of one provider, {@code native}, serving model {@code m} ($1 / $2 a token in and out) to key
 * {@code tw-key}, with the records it books.
 */
final class RelayFixture implements AutoCloseable {
    final GatewayServer gateway;
    final List<UsageRecord> records = new CopyOnWriteArrayList<>();
    private final AccountingCore accounting;
    private final BudgetBook budgets;

    RelayFixture(int upstreamPort, Duration readTimeout, ProviderAdapter adapter) throws InterruptedException {
        this(upstreamPort, readTimeout, adapter, new TranslatingRelayTest.WordCounter());
    }

    /** As above, counting tokens with {@code counter}. */
    RelayFixture(int upstreamPort, Duration readTimeout, ProviderAdapter adapter, TokenCounter counter)
            throws InterruptedException {
        ProviderConfig provider = new ProviderConfig("native", "test", URI.create("http://127.0.0.1:" + upstreamPort),
                null, null, Duration.ofSeconds(2), readTimeout, 8, Map.of());
        ModelConfig model = new ModelConfig("m", "native", "m-native", ModelPrice.of(1_000_000_000L, 2_000_000_000L));
        ServerConfig defaults = ServerConfig.defaults();
        GatewayConfig config = new GatewayConfig(new ServerConfig("127.0.0.1", 0, 65_536, 8192, 1, 1,
                defaults.requestReadTimeout()), null, "unused", Map.of("native", provider), Map.of("m", model), List.of());
        KeyRegistry keys = new KeyRegistry();
        keys.register("tw-key", "k", "team", List.of());
        accounting = new AccountingCore(List.of(records::add), 64, 100);
        budgets = new BudgetBook(ZoneId.of("UTC"), 80, System::currentTimeMillis, 0);
        gateway = GatewayServer.start(config, Map.of("native", adapter), counter,
                accounting, budgets, keys, List.of(), null, null);
    }

    /** A chat call for model {@code m} with key {@code tw-key}, one user message, streamed or not. */
    HttpRequest chatRequest(boolean stream) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.port() + "/v1/chat/completions"))
                .header("Authorization", "Bearer tw-key")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"m\",\"stream\":" + stream
                        + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi there\"}]}"))
                .build();
    }

    /** The one record the call booked, waiting up to 5 s for it. */
    UsageRecord awaitRecord() throws InterruptedException {
        for (int i = 0; i < 500 && records.isEmpty(); i++) {
            Thread.sleep(10);
        }
        assertEquals(1, records.size());
        return records.get(0);
    }

    /** Calls begun and not settled. */
    int inFlight() {
        return accounting.inFlightCount();
    }

    @Override
    public void close() {
        gateway.close();
        accounting.close();
        budgets.close();
    }
}
