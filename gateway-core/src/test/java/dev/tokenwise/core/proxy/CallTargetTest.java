package dev.tokenwise.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tokenwise.core.auth.KeyRegistry;
import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.core.config.ModelConfig;
import dev.tokenwise.core.config.ProviderConfig;
import dev.tokenwise.core.config.ServerConfig;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.ModelPrice;
import dev.tokenwise.core.spi.ModelRouter;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Where a call may go: the model's deployment, its fallbacks, and the refusals in the order they are answered. */
class CallTargetTest {
    private static final ModelPrice PRICE = ModelPrice.of(1_000L, 2_000L);

    private final ProviderConfig provider = new ProviderConfig("native", "test", URI.create("http://127.0.0.1:9"),
            null, null, Duration.ofSeconds(2), Duration.ofSeconds(2), 8, Map.of());
    private final ProviderConfig disabled = new ProviderConfig("off", "test", URI.create("http://127.0.0.1:9"),
            null, "switched off", Duration.ofSeconds(2), Duration.ofSeconds(2), 8, Map.of());
    private final Map<String, ModelConfig> models = new LinkedHashMap<>();
    private final KeyRegistry keys = new KeyRegistry();
    private final FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST,
            "/v1/chat/completions");

    @AfterEach
    void releaseRequest() {
        request.release();
    }

    private ProxyContext proxy() {
        GatewayConfig config = new GatewayConfig(ServerConfig.defaults(), null, "unused", Map.of("native", provider,
                "off", disabled), models, List.of());
        Map<String, Deployment> deployments = new LinkedHashMap<>();
        models.forEach((name, model) -> deployments.put(name, new Deployment(model,
                model.provider().equals("off") ? disabled : provider,
                new TranslatingRelayTest.TranslatingAdapter(), Origin.of(provider.baseUrl()))));
        return new ProxyContext(config, deployments, keys, null, null, null, null, List.of(), null, null, Map.of(),
                null, List.of(), ModelRouter.NONE);
    }

    @Test
    void chainIsTheModelThenTheEnabledFallbacksTheKeyMayUse() {
        models.put("m", new ModelConfig("m", "native", "m-native", PRICE, List.of("m2", "m3", "m4")));
        models.put("m2", new ModelConfig("m2", "native", "m2-native", PRICE));
        models.put("m3", new ModelConfig("m3", "native", "m3-native", PRICE));
        models.put("m4", new ModelConfig("m4", "off", "m4-off", PRICE));
        ProxyContext proxy = proxy();
        CallTarget target = CallTarget.resolve(proxy, keys.register("tw-key", "k", "team", List.of("m", "m2", "m4")), "m",
                Endpoint.CHAT_COMPLETIONS, request);
        assertEquals("m", target.model());
        assertEquals(List.of(proxy.deployments().get("m"), proxy.deployments().get("m2")), target.chain());
        assertNull(target.routed(), "no route was named");
        assertFalse(target.unpriced());
    }

    @Test
    void refusesAModelTheKeyMayNotUse() {
        models.put("m", new ModelConfig("m", "native", "m-native", PRICE));
        GatewayException refused = assertThrows(GatewayException.class, () -> CallTarget.resolve(proxy(),
                keys.register("tw-key", "k", "team", List.of("other")), "m", Endpoint.CHAT_COMPLETIONS, request));
        assertEquals(ErrorType.MODEL_NOT_ALLOWED, refused.type());
    }

    @Test
    void answersAModelNotServedAsNotFoundWhateverTheKeysList() {
        models.put("m", new ModelConfig("m", "native", "m-native", PRICE));
        GatewayException refused = assertThrows(GatewayException.class, () -> CallTarget.resolve(proxy(),
                keys.register("tw-key", "k", "team", List.of("m")), "gone", Endpoint.CHAT_COMPLETIONS, request));
        assertEquals(ErrorType.MODEL_NOT_FOUND, refused.type());
    }

    @Test
    void refusesAnUnpricedModelOnABilledEndpoint() {
        models.put("m", new ModelConfig("m", "native", "m-native", null));
        GatewayException refused = assertThrows(GatewayException.class, () -> CallTarget.resolve(proxy(),
                keys.register("tw-key", "k", "team", List.of()), "m", Endpoint.CHAT_COMPLETIONS, request));
        assertEquals(ErrorType.MODEL_NOT_PRICED, refused.type());
    }

    @Test
    void refusesAnEndpointTheProviderDoesNotServe() {
        models.put("m", new ModelConfig("m", "native", "m-native", PRICE));
        GatewayException refused = assertThrows(GatewayException.class, () -> CallTarget.resolve(proxy(),
                keys.register("tw-key", "k", "team", List.of()), "m", Endpoint.EMBEDDINGS, request));
        assertEquals(ErrorType.BAD_REQUEST, refused.type());
    }
}
