package dev.tokenwise.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.server.client.GatewayClient;
import dev.tokenwise.eval.BuiltinSuite;
import dev.tokenwise.eval.EvalTask;
import dev.tokenwise.eval.SuiteException;
import dev.tokenwise.eval.TaskSuites;
import dev.tokenwise.eval.Verdict;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code tokenwise eval}: runs every task of a suite against every model <em>through the gateway</em>, as a
 * client with a virtual key (so each call is priced, recorded and budgeted like any other), tags each task with
 * {@code X-Task-Id}, grades the answer and posts the outcome, so the run also shows in {@code /api/v1/efficiency}
 * and on the dashboard. Prints a table and optionally writes JSON; see {@code docs/eval.md}.
 *
 * <pre>
 * bin/tokenwise eval --gateway http://127.0.0.1:8080 --key tw-... --models m1,m2 \
 *                    --suite builtin|FILE.jsonl --tasks 200 [--repeat 3] [--concurrency 8] [--json out.json]
 * </pre>
 *
 * <p>Exit status: 0 done; 2 bad input (unknown model, refused key, unreachable gateway, malformed suite line,
 * bad option), with one line on stderr saying which; 3 stopped early (a budget refusal, or the key stopped
 * working) after printing what was measured; 1 another failure.
 */
final class EvalCommand implements TokenwiseCli.Command {
    static final String USAGE = """
            usage: tokenwise eval --models M1,M2[,...] [options]

              --gateway URL       the gateway (default $TOKENWISE_GATEWAY or http://127.0.0.1:8080)
              --key KEY           a virtual key of the gateway (default $TOKENWISE_KEY, else the demo's tw-demo-key)
              --models LIST       models to grade, comma-separated, as clients name them
              --suite S           builtin (generated, default) or a JSONL file of tasks
              --tasks N           how many tasks (builtin: default 100; a file: its first N, default all)
              --seed N            the builtin suite's seed (default 42)
              --repeat N          ask each task N times (default 1)
              --concurrency N     calls in flight at once (default 8)
              --timeout-seconds N the longest wait for one answer (default 120)
              --json FILE         also write the results as JSON

            Each task is one X-Task-Id; its outcome is posted to /api/v1/tasks/{id}/outcome. See docs/eval.md.""";
    private static final int MAX_ATTEMPTS = 3;
    private static final long MAX_RETRY_WAIT_SECONDS = 30;

    private final PrintStream out;
    private final PrintStream err;
    private final boolean terminal;

    /** The command as {@link TokenwiseCli} registers it; each run prints to the streams it is given. */
    EvalCommand() {
        this(System.out, System.err, System.console() != null);
    }

    EvalCommand(PrintStream out, PrintStream err, boolean terminal) {
        this.out = out;
        this.err = err;
        this.terminal = terminal;
    }

    @Override
    public String summary() {
        return "grade models on a task suite through the gateway (docs/eval.md)";
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        return new EvalCommand(out, err, terminal).run(args);
    }

    /** Bad input: printed as one line, exit 2. */
    private static final class BadInput extends Exception {
        private static final long serialVersionUID = 1L;

        BadInput(String message) {
            super(message);
        }
    }

    record Options(URI gateway, String key, List<String> models, String suite, int tasks, long seed, int repeat,
                   int concurrency, Duration timeout, Path json) {
    }

    int run(String[] args) {
        if (List.of(args).contains("--help") || List.of(args).contains("-h")) {
            out.println(USAGE);
            return 0;
        }
        try {
            Options options = parse(args, System.getenv());
            List<EvalTask> tasks = tasks(options);
            GatewayClient client = new GatewayClient(options.gateway(), options.key(), options.timeout());
            preflight(client, options);
            return execute(client, options, tasks);
        } catch (BadInput e) {
            err.println("tokenwise eval: " + e.getMessage());
            return 2;
        } catch (RuntimeException e) {
            err.println("tokenwise eval: failed: " + e);
            return 1;
        }
    }

    static Options parse(String[] args, Map<String, String> env) throws BadInput {
        String gateway = env.getOrDefault("TOKENWISE_GATEWAY", "http://127.0.0.1:8080");
        String key = env.getOrDefault("TOKENWISE_KEY", "tw-demo-key");
        String models = null;
        String suite = "builtin";
        Integer tasks = null;
        long seed = BuiltinSuite.DEFAULT_SEED;
        int repeat = 1;
        int concurrency = 8;
        int timeout = 120;
        Path json = null;
        for (int i = 0; i < args.length; i++) {
            String option = args[i];
            if (!option.startsWith("--")) {
                throw new BadInput("unexpected argument '" + option + "' (see tokenwise eval --help)");
            }
            if (i + 1 >= args.length) {
                throw new BadInput(option + " needs a value (see tokenwise eval --help)");
            }
            String value = args[++i];
            switch (option) {
                case "--gateway" -> gateway = value;
                case "--key" -> key = value;
                case "--models" -> models = value;
                case "--suite" -> suite = value;
                case "--tasks" -> tasks = integer(option, value, 1, BuiltinSuite.MAX_TASKS);
                case "--seed" -> seed = integer(option, value, 0, Integer.MAX_VALUE);
                case "--repeat" -> repeat = integer(option, value, 1, 100);
                case "--concurrency" -> concurrency = integer(option, value, 1, 256);
                case "--timeout-seconds" -> timeout = integer(option, value, 1, 3600);
                case "--json" -> json = Path.of(value);
                default -> throw new BadInput("unknown option " + option + " (see tokenwise eval --help)");
            }
        }
        if (models == null) {
            throw new BadInput("--models is required, e.g. --models sim-small,sim-large");
        }
        List<String> modelList = new ArrayList<>(new LinkedHashSet<>(
                List.of(models.split(",")).stream().map(String::strip).filter(m -> !m.isEmpty()).toList()));
        if (modelList.isEmpty()) {
            throw new BadInput("--models: '" + models + "' (expected: one or more model names, comma-separated)");
        }
        if (key == null || key.isBlank()) {
            throw new BadInput("--key is empty (expected: a virtual key of the gateway)");
        }
        return new Options(gatewayUri(gateway), key.strip(), modelList, suite,
                tasks == null ? (suite.equals("builtin") ? 100 : Integer.MAX_VALUE) : tasks, seed, repeat,
                concurrency, Duration.ofSeconds(timeout), json);
    }

    private static int integer(String option, String value, int min, int max) throws BadInput {
        try {
            int n = Integer.parseInt(value.strip());
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // Reported below.
        }
        throw new BadInput(option + ": '" + value + "' (expected: an integer from " + min + " to " + max + ")");
    }

    /** {@code http://host:port}, without a trailing slash or {@code /v1}. */
    static URI gatewayUri(String text) throws BadInput {
        String t = text.strip();
        while (t.endsWith("/")) {
            t = t.substring(0, t.length() - 1);
        }
        if (t.endsWith("/v1")) {
            t = t.substring(0, t.length() - 3);
        }
        try {
            URI uri = new URI(t);
            if (("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) && uri.getHost() != null) {
                return new URI(uri.getScheme(), null, uri.getHost(), uri.getPort(), "/", null, null);
            }
        } catch (java.net.URISyntaxException e) {
            // Reported below.
        }
        throw new BadInput("--gateway: '" + text + "' (expected: an http:// or https:// URL, e.g. http://127.0.0.1:8080)");
    }

    private static List<EvalTask> tasks(Options options) throws BadInput {
        try {
            if (options.suite().equals("builtin")) {
                return BuiltinSuite.generate(options.seed(), options.tasks());
            }
            List<EvalTask> all = TaskSuites.load(Path.of(options.suite()));
            return all.subList(0, Math.min(all.size(), options.tasks()));
        } catch (SuiteException e) {
            throw new BadInput(e.getMessage());
        }
    }

    /** Checks the gateway, the key and the models before anything is spent. */
    private static void preflight(GatewayClient client, Options options) throws BadInput {
        GatewayClient.Answer models;
        try {
            models = client.models();
        } catch (GatewayClient.Unreachable e) {
            throw new BadInput("cannot reach the gateway at " + display(options.gateway()) + " (" + e.getMessage()
                    + "); is it running? (bin/gateway)");
        }
        if (models.status() == 401 || models.status() == 403) {
            throw new BadInput("the gateway refused the key (" + models.describe() + ")");
        }
        if (models.status() != 200 || models.json() == null) {
            throw new BadInput("the gateway at " + display(options.gateway()) + " answered GET /v1/models with "
                    + models.describe() + " (is it a Tokenwise gateway?)");
        }
        List<String> known = GatewayClient.modelIds(models.json());
        for (String m : options.models()) {
            if (!known.contains(m)) {
                throw new BadInput("unknown model '" + m + "' (this key may use: "
                        + (known.isEmpty() ? "none" : String.join(", ", known)) + ")");
            }
        }
    }

    private static String display(URI gateway) {
        String s = gateway.toString();
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    /** One unit of work: a repeat of a task on a model. */
    private record Item(String model, EvalTask task, int repeat) {
    }

    private int execute(GatewayClient client, Options options, List<EvalTask> tasks) {
        String runId = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss").withZone(ZoneOffset.UTC).format(Instant.now())
                + "-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0x10000));
        Queue<Item> work = new ConcurrentLinkedQueue<>();
        // Repeat by repeat, task by task, model by model: a run stopped early has measured the models evenly.
        for (int r = 1; r <= options.repeat(); r++) {
            for (EvalTask t : tasks) {
                for (String m : options.models()) {
                    work.add(new Item(m, t, r));
                }
            }
        }
        int total = work.size();
        EvalReport report = new EvalReport(options.models());
        AtomicReference<String> stop = new AtomicReference<>();
        List<String> unposted = java.util.Collections.synchronizedList(new ArrayList<>());
        Instant started = Instant.now();
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < Math.min(options.concurrency(), total); i++) {
            Thread worker = new Thread(() -> {
                Item item;
                while (stop.get() == null && (item = work.poll()) != null) {
                    try {
                        EvalReport.Result result = grade(client, runId, item, options.repeat() > 1, stop, unposted);
                        if (result != null) {
                            report.add(result);
                        }
                    } catch (RuntimeException e) {
                        stop.compareAndSet(null, "failed: " + e);
                    }
                }
            }, "tokenwise-eval-" + i);
            worker.setDaemon(true);
            worker.start();
            workers.add(worker);
        }
        long lastDraw = 0;
        for (Thread w : workers) {
            while (w.isAlive()) {
                try {
                    w.join(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    stop.compareAndSet(null, "interrupted");
                    break;
                }
                if (terminal && System.nanoTime() - lastDraw > 200_000_000L) {
                    lastDraw = System.nanoTime();
                    progress(report, total);
                }
            }
        }
        if (terminal) {
            progress(report, total);
            err.println();
        }
        List<EvalReport.ModelFigures> figures = report.figures();
        String summary = EvalReport.summary(figures);
        out.print(EvalReport.table(figures));
        out.println(summary);
        if (!unposted.isEmpty()) {
            err.println("tokenwise eval: the outcomes of " + unposted.size() + " tasks could not be posted (first: "
                    + unposted.get(0) + "); their cost is not in the table");
        }
        if (options.json() != null) {
            writeJson(options, tasks.size(), runId, started, stop.get(), figures, summary);
        }
        if (stop.get() != null) {
            err.println("tokenwise eval: stopped after " + report.done() + " of " + total + " tasks: " + stop.get());
            return 3;
        }
        return 0;
    }

    private void progress(EvalReport report, int total) {
        int done = report.done();
        int width = 30;
        int filled = total == 0 ? width : (int) ((long) width * done / total);
        err.print("\r[" + "=".repeat(filled) + (filled < width ? ">" + " ".repeat(width - filled - 1) : "") + "] "
                + done + "/" + total + report.brief() + "   ");
        err.flush();
    }

    /**
     * Asks, grades and reports one task; {@code null} when the run must stop (set in {@code stop}) and the task was
     * not measured.
     */
    private static EvalReport.Result grade(GatewayClient client, String runId, Item item, boolean repeated,
                                           AtomicReference<String> stop, List<String> unposted) {
        String taskId = taskId(runId, item.model(), item.task().id(), repeated ? item.repeat() : 0);
        GatewayClient.Answer answer = null;
        String error = null;
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            try {
                answer = client.chat(item.model(), item.task(), taskId, attempt);
            } catch (GatewayClient.Unreachable e) {
                error = "no answer from the gateway (" + e.getMessage() + ")";
                answer = null;
                sleep(Math.min(MAX_RETRY_WAIT_SECONDS * 1000, 500L << attempt));
                continue;
            }
            int status = answer.status();
            if (status == 200) {
                error = null;
                break;
            }
            if (status == 402) {
                stop.compareAndSet(null, "the gateway refused a call: " + answer.describe());
                return null;
            }
            if (status == 401 || status == 403 && !"model_not_allowed".equals(answer.errorCode())) {
                stop.compareAndSet(null, "the gateway refused the key: " + answer.describe());
                return null;
            }
            error = answer.describe();
            if (status == 429 || status >= 500) {
                long waitSeconds = Math.min(MAX_RETRY_WAIT_SECONDS, Math.max(1, answer.retryAfterSeconds()));
                sleep(status == 429 ? waitSeconds * 1000 : 250L << attempt);
                continue;
            }
            break; // another 4xx: asking again would not help
        }
        boolean ok = answer != null && answer.status() == 200 && error == null;
        String reply = ok ? answer.json().at("/choices/0/message/content").asText("") : "";
        Verdict verdict = ok ? item.task().grader().grade(reply) : null;
        boolean solved = verdict != null && verdict.passed();
        String note = verdict == null ? "error: " + error
                : solved ? "passed (" + item.task().grader().type() + ")" : "failed: " + verdict.reason()
                        + (verdict.answer().isEmpty() ? "" : "; answered: " + verdict.answer());
        long latency = ok ? answer.millis() : 0;
        long input = ok ? answer.json().at("/usage/prompt_tokens").asLong(0) : 0;
        long output = ok ? answer.json().at("/usage/completion_tokens").asLong(0) : 0;
        // A call the gateway never answered has no task there to report on.
        JsonNode task = answer == null ? null : postOutcome(client, taskId, solved, note, ok ? 8 : 2, unposted);
        if (task != null) {
            return new EvalReport.Result(item.model(), solved, !ok, task.path("input_tokens").asLong(input),
                    task.path("output_tokens").asLong(output), task.path("cost_nanos").asLong(0),
                    task.path("calls").asLong(1), task.path("retries").asLong(0), latency);
        }
        return new EvalReport.Result(item.model(), solved, !ok, input, output, 0, ok ? 1 : 0, 0, latency);
    }

    /**
     * Posts the outcome and answers the task as the gateway books it; retried briefly while the gateway does not
     * know the task yet (its record lands a moment after the response). {@code null} when it could not be posted.
     */
    private static JsonNode postOutcome(GatewayClient client, String taskId, boolean success, String note, int attempts,
                                        List<String> unposted) {
        String problem = null;
        for (int attempt = 0; attempt < attempts; attempt++) {
            try {
                GatewayClient.Answer a = client.outcome(taskId, success, note);
                if (a.status() == 200) {
                    return a.json();
                }
                problem = a.describe();
                if (a.status() != 404 && a.status() != 429 && a.status() < 500) {
                    break;
                }
            } catch (GatewayClient.Unreachable e) {
                problem = e.getMessage();
            }
            sleep(25L << attempt);
        }
        unposted.add(taskId + ": " + problem);
        return null;
    }

    /** {@code eval-<run>.<model>.<task>[.r<n>]}: URL-safe, at most 128 characters. */
    static String taskId(String runId, String model, String task, int repeat) {
        String id = "eval-" + runId + "." + safe(model) + "." + safe(task) + (repeat > 0 ? ".r" + repeat : "");
        return id.length() <= 128 ? id : id.substring(0, 128);
    }

    private static String safe(String s) {
        return s.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void writeJson(Options options, int taskCount, String runId, Instant started, String stopped,
                           List<EvalReport.ModelFigures> figures, String summary) {
        ObjectNode root = GatewayClient.JSON.createObjectNode();
        root.put("run", runId);
        root.put("gateway", display(options.gateway()));
        root.put("suite", options.suite());
        if (options.suite().equals("builtin")) {
            root.put("seed", options.seed());
        }
        root.put("tasks", taskCount);
        root.put("repeat", options.repeat());
        root.put("started_at", started.toString());
        root.put("finished_at", Instant.now().toString());
        if (stopped == null) {
            root.putNull("stopped");
        } else {
            root.put("stopped", stopped);
        }
        EvalReport.json(root, figures);
        root.put("summary", summary);
        try {
            Files.writeString(options.json(), GatewayClient.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root)
                    + "\n");
        } catch (IOException e) {
            err.println("tokenwise eval: cannot write " + options.json() + ": " + e.getMessage());
        }
    }
}
