package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's "first ten minutes", run as a newcomer would: the commands of its block marked
 * {@code <!-- first-ten-minutes: commands -->}, in order, in one bash session, beside a gateway started as the block
 * marked {@code <!-- first-ten-minutes: gateway -->} says ({@code bin/gateway}: the shipped configuration, no key
 * set, in a fresh directory).
 *
 * <p>What is substituted, and only that: the gateway listens on a free port instead of 8080 (in the copy of
 * {@code config/gateway.yaml} and in the commands' URLs), so that the test runs beside anything else; {@code bin/gateway}
 * is the gateway's {@code Main} in its own JVM ({@link GatewayProcess}) and {@code bin/tokenwise} a script that runs
 * {@code TokenwiseCli} the same way, both from the test's classpath instead of the jar (which is built after the
 * tests), exactly as the two launchers run them from the jar. No {@code TOKENWISE_*} variable is passed on.
 */
class FirstTenMinutesTest {
    private static final Path README = Path.of("..", "README.md");
    private static final Pattern BLOCK = Pattern.compile("<!-- first-ten-minutes: (\\w+) -->\\s*```sh\\n(.*?)```",
            Pattern.DOTALL);

    @TempDir
    Path dir;

    /** The commands of a block: continued lines joined, comments and blank lines left out. */
    static List<String> commands(String block) {
        List<String> commands = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : block.split("\n")) {
            if (current.isEmpty() && (line.isBlank() || line.strip().startsWith("#"))) {
                continue;
            }
            current.append(line.stripTrailing());
            if (line.stripTrailing().endsWith("\\")) {
                current.append('\n');
            } else {
                commands.add(current.toString());
                current.setLength(0);
            }
        }
        assertTrue(current.isEmpty(), "a command continues past the end of its block: " + current);
        return commands;
    }

    @Test
    void theReadmesFirstTenMinutesWorkAsWrittenAndEndInA402() throws Exception {
        String readme = Files.readString(README);
        Matcher m = BLOCK.matcher(readme);
        List<String> gateway = null;
        List<String> steps = null;
        while (m.find()) {
            if (m.group(1).equals("gateway")) {
                gateway = commands(m.group(2));
            } else if (m.group(1).equals("commands")) {
                steps = commands(m.group(2));
            }
        }
        assertEquals(List.of("bin/gateway"), gateway, "the README starts the gateway with bin/gateway alone");
        assertTrue(steps != null && steps.size() >= 8, "the README's commands: " + steps);

        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Files.createDirectories(dir.resolve("config"));
        String config = Files.readString(Path.of("..", "config", "gateway.yaml"));
        assertTrue(config.contains("  port: 8080\n"), "the shipped config listens on 8080");
        Files.writeString(dir.resolve("config/gateway.yaml"), config.replace("  port: 8080\n", "  port: " + port + "\n"));
        Files.copy(Path.of("..", "config", "prices.yaml"), dir.resolve("config/prices.yaml"));
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin",
                "java").toString());
        Path cli = dir.resolve("bin/tokenwise");
        Files.createDirectories(cli.getParent());
        Files.writeString(cli, "#!/usr/bin/env bash\nexec '" + java + "' -cp '" + System.getProperty("java.class.path")
                + "' dev.tokenwise.server.cli.TokenwiseCli \"$@\"\n");
        Files.setPosixFilePermissions(cli, PosixFilePermissions.fromString("rwxr-xr-x"));

        // One bash session; a marker line before each command splits what each printed.
        StringBuilder script = new StringBuilder("set -euo pipefail\n");
        for (int i = 0; i < steps.size(); i++) {
            script.append("echo '@@step ").append(i).append("'\n")
                    .append(steps.get(i).replace("127.0.0.1:8080", "127.0.0.1:" + port)).append('\n');
        }
        script.append("echo '@@end'\n");
        Files.writeString(dir.resolve("steps.sh"), script);

        Process gatewayProcess = GatewayProcess.start(dir.resolve("config/gateway.yaml"), dir.resolve("gateway.log"),
                URI.create("http://127.0.0.1:" + port), List.of("-Xmx256m"), dir);
        String out;
        try {
            ProcessBuilder bash = new ProcessBuilder("bash", dir.resolve("steps.sh").toString()).directory(dir.toFile())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("steps.log").toFile());
            bash.environment().keySet().removeIf(name -> name.startsWith("TOKENWISE_"));
            Process p = bash.start();
            assertTrue(p.waitFor(90, TimeUnit.SECONDS), "the commands take under 90 s");
            out = Files.readString(dir.resolve("steps.log"), StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), "every command succeeds:\n" + out + "\ngateway log:\n"
                    + Files.readString(dir.resolve("gateway.log")));
        } finally {
            gatewayProcess.destroy();
            if (!gatewayProcess.waitFor(20, TimeUnit.SECONDS)) {
                gatewayProcess.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        System.out.println("The README's commands printed:\n" + out);
        assertTrue(out.endsWith("@@end\n"), out);
        String[] parts = out.substring(0, out.length() - "@@end\n".length()).split("@@step \\d+\n", -1);
        assertEquals(steps.size() + 1, parts.length, out);
        List<String> printed = List.of(parts).subList(1, parts.length);

        String adminKey = Files.readString(dir.resolve("data/admin.key")).strip();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < steps.size(); i++) {
            String step = steps.get(i);
            String what = printed.get(i);
            if (step.startsWith("curl") && step.contains("tw-demo-key")) {
                assertTrue(what.contains("\"object\":\"chat.completion\""), step + "\n" + what);
                expected.add("demo call");
            } else if (step.equals("cat data/admin.key")) {
                assertEquals(adminKey + "\n", what, "the admin key the gateway made");
                assertTrue(adminKey.startsWith("tw-admin-"));
                expected.add("admin key");
            } else if (step.startsWith("bin/tokenwise teams create research")) {
                assertEquals("created team research (budget $5.00 monthly)\n", what);
                expected.add("team");
            } else if (step.startsWith("KEY=$(bin/tokenwise keys create research")) {
                assertEquals("", what, "the secret goes into $KEY");
                expected.add("key");
            } else if (step.equals("bin/tokenwise teams list")) {
                assertTrue(what.lines().anyMatch(l -> l.matches("research +\\$5\\.00 monthly +\\$0\\.00 +\\$0\\.00 +\\$5\\.00 +1")),
                        what);
                assertTrue(what.lines().anyMatch(l -> l.startsWith("demo ")), what);
                expected.add("teams");
            } else if (step.startsWith("curl") && step.contains("$KEY") && !step.contains("http_code")) {
                assertTrue(what.contains("\"object\":\"chat.completion\""), step + "\n" + what);
                expected.add("team call");
            } else if (step.startsWith("bin/tokenwise usage --group-by key")) {
                assertTrue(what.lines().anyMatch(l -> l.matches("research +research-laptop +1 +\\d+ +\\d+ +\\$0\\.\\d+")), what);
                assertTrue(what.lines().anyMatch(l -> l.matches("demo +demo-key +1 .*")), what);
                expected.add("usage");
            } else if (step.startsWith("bin/tokenwise budget set research")) {
                assertTrue(what.startsWith("team research: budget $0.000001 monthly, spent $0.0"), what);
                expected.add("budget");
            } else if (step.startsWith("curl") && step.contains("http_code")) {
                assertTrue(what.contains("\"code\":\"budget_exceeded\""), what);
                assertTrue(what.endsWith("\nHTTP 402\n"), what);
                expected.add("402");
            } else {
                throw new AssertionError("a README command this test does not check: " + step);
            }
        }
        assertEquals(List.of("demo call", "admin key", "team", "key", "teams", "team call", "usage", "budget", "402"),
                expected, "the steps, in the README's order");
    }
}
