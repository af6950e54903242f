package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.io.File;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.logging.Level;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in a real browser: headless Chromium driven by Selenium logs in with the admin key after some
 * traffic, and the page must show the teams and models, draw its charts and log no error to the console.
 * Screenshots go to {@code target/dashboard*.png}.
 *
 * <p>Needs Debian's {@code chromium} and {@code chromium-driver} ({@code .ci/run} installs them); other paths
 * can be given with {@code -Dtokenwise.chromium=} and {@code -Dtokenwise.chromedriver=}. Without them the test
 * is skipped, saying so.
 */
@ExtendWith(LeakDetectingExtension.class)
class DashboardBrowserTest {
    static final Path CHROMIUM = Path.of(System.getProperty("tokenwise.chromium", "/usr/bin/chromium"));
    static final Path CHROMEDRIVER = Path.of(System.getProperty("tokenwise.chromedriver", "/usr/bin/chromedriver"));

    static final boolean INSTALLED = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
    static final String NOT_INSTALLED = "SKIPPED DashboardBrowserTest: headless Chromium is not installed (" + CHROMIUM
            + ", " + CHROMEDRIVER + "); install it with: apt-get install -y chromium chromium-driver";

    static ChromeDriver driver;
    static Path profile;

    /** Each test is reported as skipped, with the reason, where the browser is missing. */
    @BeforeEach
    void needsChromium() {
        Assumptions.assumeTrue(INSTALLED, NOT_INSTALLED);
    }

    @BeforeAll
    static void startBrowser() throws IOException {
        if (!INSTALLED) {
            System.err.println(NOT_INSTALLED);
            return;
        }
        // Selenium Manager cannot download anything here: give it the driver and the browser explicitly.
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        profile = Files.createTempDirectory("tokenwise-chromium-");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage", "--disable-extensions",
                "--disable-default-apps", "--disable-sync", "--window-size=1440,900", "--user-data-dir=" + profile);
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort()
                .build();
        driver = new ChromeDriver(service, options);
        driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stopBrowser() throws IOException {
        if (driver != null) {
            driver.quit();
        }
        if (profile != null) {
            try (Stream<Path> files = Files.walk(profile)) {
                files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
            }
        }
    }

    static final String TEAMS = """
            teams:
              - name: research
                budget: {limit_usd: 0.003, period: daily}
                keys: [{key: tw-research-key, name: research-key}]
              - name: support
                budget: {limit_usd: 0.02, period: daily}
                keys: [{key: tw-support-key, name: support-key}]
              - name: growth
                keys: [{key: tw-growth-key, name: growth-key}]
            """;

    static final String MODELS = """
            providers:
              sim: {type: simulator, chunk_delay_ms: 1, first_token_delay_ms: 5}
            models:
              - {name: sim-small, provider: sim}
              - {name: sim-large, provider: sim}
              - {name: sim-embed, provider: sim}
            """;

    private static void chat(TestGateway gateway, String key, String model, boolean stream, String task, String prompt,
                             int maxTokens) throws Exception {
        String body = "{\"model\":\"" + model + "\",\"max_tokens\":" + maxTokens + (stream ? ",\"stream\":true" : "")
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}";
        HttpResponse<String> r = task == null ? gateway.post("/v1/chat/completions", key, body)
                : gateway.post("/v1/chat/completions", key, body, "X-Task-Id", task);
        assertTrue(r.statusCode() == 200 || r.statusCode() == 402, r.statusCode() + " " + r.body());
    }

    private static void outcome(TestGateway gateway, String key, String task, boolean success) throws Exception {
        assertEquals(200, gateway.send("POST", "/api/v1/tasks/" + task + "/outcome", key,
                "{\"success\":" + success + "}").statusCode());
    }

    /** Opens the dashboard, signs in with the admin key and waits until the page has loaded its data. */
    private static void signIn(TestGateway gateway) {
        signIn(gateway, TestGateway.ADMIN_KEY);
    }

    /** Opens the dashboard, signs in with {@code secret} and waits until the page has loaded its data. */
    private static void signIn(TestGateway gateway, String secret) {
        driver.get("http://127.0.0.1:" + gateway.app.port() + "/dashboard");
        WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(20));
        WebElement key = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("admin-key")));
        key.sendKeys(secret);
        driver.findElement(By.id("login-submit")).click();
        wait.until(d -> d.findElement(By.tagName("body")).getAttribute("data-loaded") != null);
    }

    private static List<String> consoleErrors() {
        List<String> errors = new ArrayList<>();
        for (LogEntry e : driver.manage().logs().get(LogType.BROWSER)) {
            System.out.println("browser console: " + e.getLevel() + " " + e.getMessage());
            if (e.getLevel().intValue() >= Level.SEVERE.intValue()) {
                errors.add(e.getMessage());
            }
        }
        return errors;
    }

    /** A screenshot of the whole page, not only the window. */
    private static Path screenshot(String name) throws IOException {
        long height = (Long) ((JavascriptExecutor) driver).executeScript(
                "return Math.ceil(document.documentElement.scrollHeight)");
        // The window is a little taller than its viewport: leave room so the bottom is not cut.
        driver.manage().window().setSize(new Dimension(1440, (int) Math.min(Math.max(height + 160, 900), 6000)));
        Path file = Path.of("target", name);
        Files.createDirectories(file.getParent());
        Files.write(file, driver.getScreenshotAs(OutputType.BYTES));
        driver.manage().window().setSize(new Dimension(1440, 900));
        return file;
    }

    /** Per canvas: label, width, height and how many pixels are drawn (not transparent). */
    @SuppressWarnings("unchecked")
    private static List<List<Object>> canvases() {
        return (List<List<Object>>) ((JavascriptExecutor) driver).executeScript("""
                return Array.from(document.querySelectorAll('canvas')).map(function (c) {
                  var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, n = 0;
                  for (var i = 3; i < d.length; i += 4) { if (d[i] > 0) { n++; } }
                  return [c.getAttribute('aria-label'), c.width, c.height, n];
                });""");
    }

    @Test
    void showsTeamsModelsChartsAndRecentCallsWithoutConsoleErrors() throws Exception {
        try (TestGateway gateway = TestGateway.start(MODELS + "cache: {enabled: true}\n", TEAMS)) {
            // research spends on the large model until it crosses its soft threshold (80 % of $0.003).
            for (int i = 0; i < 12 && gateway.get("/api/v1/alerts", TestGateway.ADMIN_KEY).body().equals("[]"); i++) {
                chat(gateway, "tw-research-key", "sim-large", i % 2 == 1, "r-" + (i % 3), "Review pull request " + (i % 3), 60);
                gateway.awaitSinks();
            }
            for (int i = 0; i < 8; i++) {
                chat(gateway, "tw-support-key", "sim-small", i % 2 == 0, "s-" + (i % 4), "Answer ticket " + i, 80);
            }
            for (int i = 0; i < 4; i++) {
                chat(gateway, "tw-growth-key", i < 3 ? "sim-small" : "sim-large", false, i < 2 ? "g-1" : null,
                        "Draft a campaign " + i, 40);
            }
            HttpResponse<String> embed = gateway.post("/v1/embeddings", "tw-growth-key",
                    "{\"model\":\"sim-embed\",\"input\":\"quarterly plan\"}");
            assertEquals(200, embed.statusCode(), embed.body());
            // support asks the same deterministic question three times: one miss, two hits from the response cache.
            for (int i = 0; i < 3; i++) {
                HttpResponse<String> cached = gateway.post("/v1/chat/completions", "tw-support-key", "{\"model\":\"sim-small\","
                        + "\"temperature\":0,\"max_tokens\":30,\"messages\":[{\"role\":\"user\",\"content\":\"Summarise the FAQ\"}]}");
                assertEquals(i == 0 ? "miss" : "hit", cached.headers().firstValue("x-tokenwise-cache").orElse(null));
            }
            gateway.awaitSinks();
            gateway.flushLedger();
            outcome(gateway, "tw-research-key", "r-0", true);
            outcome(gateway, "tw-research-key", "r-1", false);
            outcome(gateway, "tw-research-key", "r-2", true);
            for (int i = 0; i < 4; i++) {
                outcome(gateway, "tw-support-key", "s-" + i, i != 3);
            }
            outcome(gateway, "tw-growth-key", "g-1", true);

            signIn(gateway);
            String text = driver.findElement(By.tagName("body")).getText();
            for (String name : new String[] {"research", "support", "growth", "sim-small", "sim-large", "sim-embed"}) {
                assertTrue(text.contains(name), name + " is not on the page:\n" + text);
            }
            assertTrue(text.contains("budget threshold"), "research crossed its soft threshold: an open alert\n" + text);
            List<List<Object>> charts = canvases();
            // budgets, spend over time, savings, spend and tokens per model, cost per success and success rate,
            // latency x 2
            assertEquals(9, charts.size(), "charts: " + charts);
            String savings = driver.findElement(By.id("card-savings")).getText();
            assertTrue(savings.contains("2 hits of 4 lookups"), "the chat miss, two hits and the embedding: " + savings);
            assertTrue(savings.contains("support"), "the hit rate per team names support: " + savings);
            for (List<Object> c : charts) {
                assertTrue(((Number) c.get(1)).longValue() > 100 && ((Number) c.get(2)).longValue() > 100, "size: " + c);
                assertTrue(((Number) c.get(3)).longValue() > 500, "a blank canvas: " + c);
            }
            List<WebElement> links = driver.findElements(By.cssSelector("#card-calls a[data-request-id]"));
            assertTrue(links.size() >= 18, "recent calls: " + links.size());
            assertTrue(links.get(0).getAttribute("href").contains("/api/v1/requests/req_"), links.get(0).getAttribute("href"));
            assertTrue(driver.findElements(By.cssSelector("#card-efficiency tbody tr")).size() >= 2);

            Path shot = screenshot("dashboard.png");
            System.out.println("Dashboard screenshot: " + shot.toAbsolutePath());

            // The record link opens the call's record, fetched with the key.
            links.get(0).click();
            new WebDriverWait(driver, Duration.ofSeconds(10)).until(d ->
                    d.findElement(By.id("record-json")).getText().contains("\"cost_usd\""));
            screenshot("dashboard-record.png");
            driver.findElement(By.cssSelector("#record-dialog button")).click();

            List<String> errors = consoleErrors();
            assertTrue(errors.isEmpty(), "browser console errors: " + errors);
        }
    }

    @Test
    void showsATeamKeyItsOwnTeamOnlyInThePageAndInEveryAnswerItFetches() throws Exception {
        try (TestGateway gateway = TestGateway.start(MODELS, TEAMS)) {
            // research spends until it crosses its soft threshold: an alert support must not see.
            for (int i = 0; i < 12 && gateway.get("/api/v1/alerts", TestGateway.ADMIN_KEY).body().equals("[]"); i++) {
                chat(gateway, "tw-research-key", "sim-large", false, "r-" + i, "Review pull request " + i, 60);
                gateway.awaitSinks();
            }
            for (int i = 0; i < 4; i++) {
                chat(gateway, "tw-support-key", "sim-small", i % 2 == 0, "s-" + i, "Answer ticket " + i, 80);
                chat(gateway, "tw-growth-key", "sim-small", false, null, "Draft a campaign " + i, 40);
            }
            gateway.awaitSinks();
            gateway.flushLedger();
            for (int i = 0; i < 4; i++) {
                outcome(gateway, "tw-support-key", "s-" + i, i != 3);
            }
            outcome(gateway, "tw-research-key", "r-0", true);
            assertTrue(gateway.get("/api/v1/alerts", TestGateway.ADMIN_KEY).body().contains("research"),
                    "the other team has an open alert");

            signIn(gateway, "tw-support-key");
            // Every answer the page fetches from now on is kept, then the page loads everything again.
            ((JavascriptExecutor) driver).executeScript("""
                    window.__answers = [];
                    var fetch0 = window.fetch;
                    window.fetch = function (url, init) {
                      return fetch0(url, init).then(function (r) {
                        r.clone().text().then(function (t) { window.__answers.push(String(url) + ' ' + r.status + ' ' + t); });
                        return r;
                      });
                    };""");
            String loaded = driver.findElement(By.tagName("body")).getAttribute("data-loaded");
            Thread.sleep(1_100); // generated_at changes from one second to the next
            driver.findElement(By.id("refresh")).click();
            WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(20));
            wait.until(d -> !loaded.equals(d.findElement(By.tagName("body")).getAttribute("data-loaded")));
            List<WebElement> links = driver.findElements(By.cssSelector("#card-calls a[data-request-id]"));
            assertEquals(4, links.size(), "the support key's own four calls");
            links.get(0).click();
            wait.until(d -> d.findElement(By.id("record-json")).getText().contains("\"cost_usd\""));
            driver.findElement(By.cssSelector("#record-dialog button")).click();
            @SuppressWarnings("unchecked")
            List<String> answers = (List<String>) ((JavascriptExecutor) driver).executeScript("return window.__answers;");
            for (String route : new String[] {"/api/v1/dashboard/summary", "/api/v1/efficiency", "/api/v1/latency",
                    "/api/v1/alerts", "/api/v1/requests?limit", "/api/v1/probes", "/api/v1/requests/req_"}) {
                assertTrue(answers.stream().anyMatch(a -> a.startsWith(route) && a.contains(" 200 ")),
                        "the page fetched " + route + ": " + answers);
            }
            for (String answer : answers) {
                for (String other : new String[] {"research", "growth"}) {
                    assertTrue(!answer.contains(other), "an answer names team " + other + ": " + answer);
                }
            }

            String text = driver.findElement(By.tagName("body")).getText();
            assertEquals("support", driver.findElement(By.tagName("body")).getAttribute("data-team"));
            assertTrue(text.contains("team support"), "the page says whose figures these are:\n" + text);
            assertTrue(text.contains("sim-small"), text);
            for (String other : new String[] {"research", "growth"}) {
                assertTrue(!text.contains(other), "team " + other + " is on support's page:\n" + text);
            }
            assertTrue(!text.contains("budget threshold"), "research's alert is not support's:\n" + text);
            String summary = answers.stream().filter(a -> a.startsWith("/api/v1/dashboard/summary")).findFirst().orElseThrow();
            assertTrue(summary.contains("\"team\":\"support\",\"requests\":4") && summary.contains("\"period\":\"daily\""),
                    "support's own spend and budget: " + summary);
            assertTrue(canvases().stream().anyMatch(c -> "budgets".equals(c.get(0)) && ((Number) c.get(3)).longValue() > 500),
                    "its budget is drawn: " + canvases());
            screenshot("dashboard-team.png");
            List<String> errors = consoleErrors();
            assertTrue(errors.isEmpty(), "browser console errors: " + errors);
        }
    }

    @Test
    void drawsThePassRateOfEachProbedModel() throws Exception {
        try (TestGateway gateway = TestGateway.start("""
                providers:
                  sim: {type: simulator, chunk_delay_ms: 0, first_token_delay_ms: 0}
                models:
                  - {name: sim-small, provider: sim, simulate: {accuracy: 0.7}}
                  - {name: sim-large, provider: sim, simulate: {accuracy: 0.95}}
                probes: {interval_seconds: 1, models: [sim-small, sim-large], tasks_per_run: 5, team: probes,
                         reference_runs: 2}
                """, TEAMS)) {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() < deadline && TestGateway.JSON.readTree(gateway.get("/api/v1/probes",
                    TestGateway.ADMIN_KEY).body()).path("models").findValues("runs").stream().filter(r -> r.size() >= 3)
                    .count() < 2) {
                Thread.sleep(300);
            }
            signIn(gateway);
            String card = driver.findElement(By.id("card-probes")).getText();
            assertTrue(card.contains("5 tasks of builtin every 1 s as team probes"), card);
            List<List<Object>> probes = canvases().stream().filter(c -> "probes".equals(c.get(0))).toList();
            assertEquals(1, probes.size(), "the probes chart: " + canvases());
            assertTrue(((Number) probes.get(0).get(3)).longValue() > 500, "a blank canvas: " + probes);
            screenshot("dashboard-probes.png");
            List<String> errors = consoleErrors();
            assertTrue(errors.isEmpty(), "browser console errors: " + errors);
        }
    }

    @Test
    void staysReadableWithHundredsOfTeams() throws Exception {
        StringBuilder teams = new StringBuilder("teams:\n");
        int n = 150;
        for (int i = 0; i < n; i++) {
            teams.append("  - name: team-").append(i).append('\n');
            if (i % 3 != 0) {
                teams.append("    budget: {limit_usd: ").append(java.math.BigDecimal.valueOf(200 + i * 10, 6).toPlainString()).append(", period: daily}\n");
            }
            teams.append("    keys: [{key: tw-key-").append(i).append(", name: key-").append(i).append("}]\n");
        }
        try (TestGateway gateway = TestGateway.start(MODELS, teams.toString())) {
            for (int i = 0; i < n; i++) {
                chat(gateway, "tw-key-" + i, i % 5 == 0 ? "sim-large" : "sim-small", false, null, "Plan " + i, 10 + i % 20);
            }
            gateway.awaitSinks();
            gateway.flushLedger();
            signIn(gateway);
            @SuppressWarnings("unchecked")
            List<String> budgetLabels = (List<String>) ((JavascriptExecutor) driver).executeScript(
                    "return Chart.getChart(document.querySelector('canvas[aria-label=budgets]')).data.labels");
            assertEquals(13, budgetLabels.size(), "12 named teams and other: " + budgetLabels);
            assertEquals("other (138 teams)", budgetLabels.get(12));
            @SuppressWarnings("unchecked")
            List<String> series = (List<String>) ((JavascriptExecutor) driver).executeScript(
                    "return Chart.getChart(document.querySelector('canvas[aria-label=overtime]')).data.datasets"
                            + ".map(function (d) { return d.label; })");
            assertEquals(9, series.size(), "8 named teams and other: " + series);
            assertEquals("other (142 teams)", series.get(8));
            screenshot("dashboard-many-teams.png");
            List<String> errors = consoleErrors();
            assertTrue(errors.isEmpty(), "browser console errors: " + errors);
        }
    }

    @Test
    void saysSoWhenThereIsNoDataYet() throws Exception {
        try (TestGateway gateway = TestGateway.withSimulator()) {
            signIn(gateway);
            String text = driver.findElement(By.tagName("body")).getText();
            assertTrue(text.contains("No calls in the last 24 hours"), text);
            assertTrue(text.contains("No tasks yet"), text);
            assertTrue(text.contains("No open alerts"), text);
            assertTrue(text.contains("Nothing saved in the last 24 hours yet"), text);
            assertTrue(text.contains("No calls recorded yet"), text);
            // Only the budget chart (team demo has a $5 limit) is drawn; no empty chart anywhere else.
            assertEquals(1, canvases().size(), "canvases: " + canvases());
            screenshot("dashboard-empty.png");
            List<String> errors = consoleErrors();
            assertTrue(errors.isEmpty(), "browser console errors: " + errors);
        }
    }
}
