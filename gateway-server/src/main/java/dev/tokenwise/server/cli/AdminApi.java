package dev.tokenwise.server.cli;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.tokenwise.server.client.GatewayClient;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The admin API as the CLI's subcommands call it: where the gateway is, the admin key, and one method per HTTP verb
 * that answers the parsed JSON or fails with one line ({@link CliError}).
 *
 * <p>Run beside the gateway, it needs no option: the gateway's address is {@code --url}, else {@code TOKENWISE_URL},
 * else where the configuration ({@code --config}, default {@code config/gateway.yaml}) says it listens, else
 * {@code http://127.0.0.1:8080}. The key is {@code --admin-key}, else {@code TOKENWISE_ADMIN_KEY}, else the file a
 * gateway makes on its first start: {@code data/admin.key} under the working directory, else {@code admin.key} beside
 * the configuration's ledger.
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
        Beside beside = Beside.read(workDir.resolve(args.value("--config", "config/gateway.yaml")), env);
        String url = firstOf(args.value("--url"), env.get("TOKENWISE_URL"), beside.url());
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
            Path file = keyFile(workDir, beside);
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
    private static Path keyFile(Path workDir, Beside beside) {
        Path local = workDir.resolve("data").resolve("admin.key");
        if (Files.isReadable(local)) {
            return local;
        }
        if (beside.ledger() == null) {
            return null;
        }
        Path file = workDir.resolve(beside.ledger()).toAbsolutePath().getParent().resolve("admin.key");
        return Files.isReadable(file) ? file : null;
    }

    /**
     * What a gateway's configuration file says about where to find it: its address and its ledger. Only those three
     * values are read (with {@code ${VAR:-default}} expanded), never the whole configuration: the CLI must not
     * depend on provider keys or price files, nor log their warnings. Absent or unreadable: the defaults.
     */
    record Beside(String url, String ledger) {
        private static final Pattern VARIABLE = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?}");

        static Beside read(Path config, Map<String, String> env) {
            if (!Files.isReadable(config)) {
                return new Beside(DEFAULT_URL, null);
            }
            try {
                JsonNode root = new ObjectMapper(new YAMLFactory()).readTree(config.toFile());
                String host = expand(root.path("server").path("host").asText("127.0.0.1"), env);
                String port = expand(root.path("server").path("port").asText("8080"), env);
                String ledger = expand(root.path("storage").path("path").asText(""), env);
                if (host.isEmpty() || host.equals("0.0.0.0") || host.equals("::")) {
                    host = "127.0.0.1";
                }
                if (!port.matches("[0-9]{1,5}") || port.equals("0")) {
                    port = "8080";
                }
                String url = "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
                return new Beside(url, ledger.isEmpty() ? null : ledger);
            } catch (IOException | RuntimeException e) {
                return new Beside(DEFAULT_URL, null);
            }
        }

        private static String expand(String value, Map<String, String> env) {
            Matcher m = VARIABLE.matcher(value);
            StringBuilder out = new StringBuilder();
            while (m.find()) {
                String set = env.get(m.group(1));
                String replacement = set != null && !set.isEmpty() ? set : m.group(2) == null ? "" : m.group(2);
                m.appendReplacement(out, Matcher.quoteReplacement(replacement));
            }
            m.appendTail(out);
            return out.toString().strip();
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
