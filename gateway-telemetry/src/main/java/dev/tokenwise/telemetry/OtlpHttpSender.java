package dev.tokenwise.telemetry;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Posts encoded OTLP export requests ({@code application/x-protobuf}) to an OTLP/HTTP traces endpoint with the JDK's
 * {@link HttpClient}, the way the OpenTelemetry SDK's exporter did: the configured headers on each request, a connect
 * timeout of 5 s, and up to 10 s for an export, retries included. An answer of 429, 502, 503 or 504, or an I/O error
 * other than TLS's, is retried up to four times after a backoff of about 1 s, growing 1.5 times each retry (up to 5 s),
 * as long as the 10 s last.
 */
final class OtlpHttpSender implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OtlpHttpSender.class);
    private static final Set<Integer> RETRYABLE_STATUS = Set.of(429, 502, 503, 504);
    private static final int MAX_ATTEMPTS = 5;
    private static final long INITIAL_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final double BACKOFF_MULTIPLIER = 1.5;
    private static final long LOG_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final URI uri;
    private final String[] headers;
    private final long timeoutNanos;
    private final ExecutorService executor;
    private final HttpClient client;
    private long lastLogNanos;
    private boolean logged;

    /**
     * @param tracesUrl where exports are posted (e.g. {@code http://127.0.0.1:4318/v1/traces})
     * @param headers sent with each export (e.g. a backend's API key); never logged
     * @param timeout how long an export may take, retries included
     * @param connectTimeout how long a connection may take to open
     */
    OtlpHttpSender(String tracesUrl, Map<String, String> headers, Duration timeout, Duration connectTimeout) {
        this.uri = URI.create(tracesUrl);
        this.headers = new String[headers.size() * 2 + 2];
        int i = 0;
        for (Map.Entry<String, String> h : headers.entrySet()) {
            this.headers[i++] = h.getKey();
            this.headers[i++] = h.getValue();
        }
        this.headers[i++] = "Content-Type";
        this.headers[i] = "application/x-protobuf";
        this.timeoutNanos = timeout.toNanos();
        AtomicInteger threads = new AtomicInteger();
        this.executor = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS, new SynchronousQueue<>(),
                r -> {
                    Thread t = new Thread(r, "tokenwise-otlp-http-" + threads.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.client = HttpClient.newBuilder().connectTimeout(connectTimeout).executor(executor).build();
    }

    /**
     * Posts {@code length} bytes of {@code body} from {@code offset}, retrying as the class says; {@code true} when the
     * endpoint answered 2xx. The bytes must not change until it returns.
     *
     * @throws InterruptedException when the thread was interrupted meanwhile (the export is abandoned)
     */
    boolean send(byte[] body, int offset, int length) throws InterruptedException {
        long started = System.nanoTime();
        long backoffNanos = INITIAL_BACKOFF_NANOS;
        int status = 0;
        IOException error = null;
        for (int attempt = 1; ; attempt++) {
            long left = timeoutNanos - (System.nanoTime() - started);
            if (left <= 0) {
                break;
            }
            HttpRequest request = HttpRequest.newBuilder(uri)
                    .timeout(Duration.ofNanos(left))
                    .headers(headers)
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body, offset, length))
                    .build();
            boolean retryable;
            try {
                status = client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
                error = null;
                if (status >= 200 && status < 300) {
                    return true;
                }
                retryable = RETRYABLE_STATUS.contains(status);
            } catch (IOException e) {
                error = e;
                retryable = !(e instanceof SSLException);
            }
            if (!retryable || attempt >= MAX_ATTEMPTS) {
                break;
            }
            long sleep = (long) (ThreadLocalRandom.current().nextDouble(0.8, 1.2) * backoffNanos);
            backoffNanos = Math.min((long) (backoffNanos * BACKOFF_MULTIPLIER), MAX_BACKOFF_NANOS);
            if (System.nanoTime() - started + sleep >= timeoutNanos) {
                break;
            }
            TimeUnit.NANOSECONDS.sleep(sleep);
        }
        logFailure(status, error);
        return false;
    }

    /** Says why exports fail, at most once a minute (each failed span is counted anyway). */
    private void logFailure(int status, IOException error) {
        long now = System.nanoTime();
        if (logged && now - lastLogNanos < LOG_EVERY_NANOS) {
            return;
        }
        logged = true;
        lastLogNanos = now;
        if (error != null) {
            log.warn("Span export to {} failed: {}; further failures are counted in tokenwise_otel_spans_failed_total",
                    uri, error.toString());
        } else {
            log.warn("Span export to {} failed: HTTP {}{}; further failures are counted in"
                    + " tokenwise_otel_spans_failed_total", uri, status, status == 0 ? " (no time left)" : "");
        }
    }

    /** Stops the client's threads. */
    @Override
    public void close() {
        executor.shutdownNow();
    }
}
