package dev.tokenwise.server.cli;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.providers.pricing.YamlPriceCatalog;
import dev.tokenwise.server.client.GatewayClient;
import dev.tokenwise.server.config.ConfigLoader;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * The admin API as the CLI's subcommands call it: where the gateway is, the admin key, and one method per HTTP verb
 * that answers the parsed JSON or fails with one line ({@link CliError}).
 *
 * <p>The gateway's address is {@code --url}, else {@code TOKENWISE_URL}, else {@code http://127.0.0.1:8080}. The key
 * is {@code --admin-key}, else {@code TOKENWISE_ADMIN_KEY}, else the file a gateway makes on its first start:
 * {@code data/admin.key} under the working directory, else {@code admin.key} beside the ledger of the configuration
 * ({@code --config}, default {@code config/gateway.yaml}).
 */
final class AdminApi {
    static final String DEFAULT_URL = "http://127.0.0.1:8080";
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final GatewayClient client;
    private final String keySource;

    private AdminApi(GatewayClient client, String keySource) {
        this.client = client;
        this.keySource = keySource;
    }

    /** The gateway and key named by {@code args}, else {@code env}, else the files under {@code workDir}. */
    static AdminApi resolve(CliArgs args, Map<String, String> env, Path workDir) throws CliError {
        String url = firstOf(args.value("--url"), env.get("TOKENWISE_URL"), DEFAULT_URL);
        URI base;
        try {
            base = new URI(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
        } catch (URISyntaxException e) {
            throw CliError.usage("--url: " + url + " is not a URL (expected e.g. " + DEFAULT_URL + ")");
        }
        if (!"http".equals(base.getScheme()) && !"https".equals(base.getScheme()) || base.getHost() == null) {
            throw CliError.usage("--url: " + url + " (expected an http:// or https:// URL such as " + DEFAULT_URL + ")");
        }
        String key = args.value("--admin-key");
        String source = "--admin-key";
        if (key == null && nonEmpty(env.get("TOKENWISE_ADMIN_KEY"))) {
            key = env.get("TOKENWISE_ADMIN_KEY");
            source = "TOKENWISE_ADMIN_KEY";
        }
        if (key == null) {
            Path file = keyFile(args, env, workDir);
            if (file == null) {
                throw CliError.failed("no admin key: pass --admin-key, set TOKENWISE_ADMIN_KEY, or run beside the "
                        + "gateway (it keeps its key in data/admin.key)");
            }
            try {
                key = Files.readString(file, StandardCharsets.UTF_8).strip();
            } catch (IOException e) {
                throw CliError.failed("cannot read the admin key in " + file + ": " + e.getMessage());
            }
            source = file.toString();
        }
        if (key.isEmpty()) {
            throw CliError.failed("the admin key from " + source + " is empty");
        }
        return new AdminApi(new GatewayClient(base, key, TIMEOUT), source);
    }

    /** {@code data/admin.key} under {@code workDir}, else {@code admin.key} beside the configuration's ledger, or null. */
    private static Path keyFile(CliArgs args, Map<String, String> env, Path workDir) {
        Path local = workDir.resolve("data").resolve("admin.key");
        if (Files.isReadable(local)) {
            return local;
        }
        Path config = workDir.resolve(args.value("--config", "config/gateway.yaml"));
        if (!Files.isReadable(config)) {
            return null;
        }
        try {
            GatewayConfig gateway = ConfigLoader.load(config, env, YamlPriceCatalog::load);
            Path beside = workDir.resolve(gateway.storagePath()).toAbsolutePath().getParent().resolve("admin.key");
            return Files.isReadable(beside) ? beside : null;
        } catch (RuntimeException e) {
            return null; // a configuration this process cannot load says nothing about where the key is
        }
    }

    private static String firstOf(String a, String b, String otherwise) {
        return nonEmpty(a) ? a : nonEmpty(b) ? b : otherwise;
    }

    private static boolean nonEmpty(String s) {
        return s != null && !s.isEmpty();
    }

    /** A 2xx answer: its JSON (numbers as exact decimals) and the text it came as. */
    record Reply(JsonNode json, String text) {
    }

    private static final ObjectMapper EXACT = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

    /** The answer of a {@code GET}. */
    Reply get(String path) throws CliError {
        return call("GET", path, null);
    }

    /**
     * One call; a 2xx answer is returned, anything else fails with the gateway's own message (and, for a 401, where
     * the key came from).
     */
    Reply call(String method, String path, JsonNode body) throws CliError {
        GatewayClient.Answer answer;
        try {
            answer = client.api(method, path, body);
        } catch (GatewayClient.Unreachable e) {
            throw CliError.failed("cannot reach the gateway at " + client.base() + ": " + e.getMessage()
                    + " (is it running? set --url or TOKENWISE_URL)");
        }
        if (answer.status() / 100 == 2 && answer.json() != null) {
            try {
                return new Reply(EXACT.readTree(answer.text()), answer.text().strip());
            } catch (IOException e) {
                throw CliError.failed("the gateway's answer is not JSON: " + e.getMessage());
            }
        }
        if (answer.status() == 401) {
            throw CliError.failed(answer.describe() + " (the admin key from " + keySource
                    + " is not this gateway's: see data/admin.key beside its ledger)");
        }
        if (answer.status() / 100 == 2) {
            throw CliError.failed("the gateway at " + client.base() + " answered " + answer.status()
                    + " without JSON: is it a Tokenwise gateway?");
        }
        throw CliError.failed(answer.describe());
    }
}
