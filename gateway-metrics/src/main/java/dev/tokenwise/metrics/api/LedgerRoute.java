package dev.tokenwise.metrics.api;

import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.spi.GetRoute;
import java.sql.SQLException;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The base of the {@code GET} routes that answer from the ledger (usage, efficiency, latency, recent calls, the
 * dashboard's summary): one path, the caller's key checked first, the query on a worker, the answer written as JSON.
 * A subclass says what to read and how to write it; this class does the rest the same way for all of them:
 *
 * <ul>
 *   <li>{@link #handle} asks for a valid key (401 otherwise) and hands the {@link Principal} to {@link #answer},
 *       which reads the query string and checks access on the event loop, where a bad parameter is a cheap 400;</li>
 *   <li>{@link #read} runs the blocking ledger read on the executor, never on the event loop; a read that fails
 *       ({@link SQLException} or any runtime error, a closed or locked ledger) is logged once and answered 503
 *       {@code unavailable}, while a {@link GatewayException} it throws (a 404) passes through as it is; the
 *       JSON is written after the read, so a bug there is a 500, not a misleading 503;</li>
 *   <li>{@link #json} writes a body with Jackson's streaming generator ({@link JsonBody}).</li>
 * </ul>
 *
 * <pre>{@code
 * protected CompletableFuture<Response> answer(Request request, Principal caller) {
 *     TimeRange range = TimeRange.of(request, clock.millis());
 *     return read(() -> ledger.usage(GroupBy.TEAM, range.fromMillis(), range.toMillis(), ownTeam(caller)),
 *             rows -> json(256, g -> writeRows(g, rows)));
 * }
 * }</pre>
 */
public abstract class LedgerRoute extends GetRoute {
    /** What a failed read answers. */
    static final String UNREADABLE = "the usage ledger cannot be read right now";

    private final Logger log = LoggerFactory.getLogger(getClass());
    private final Executor executor;

    /**
     * @param path the route's path, e.g. {@code /api/v1/usage}
     * @param executor where the ledger is read (a worker pool, not an event loop)
     */
    protected LedgerRoute(String path, Executor executor) {
        super(path);
        this.executor = Objects.requireNonNull(executor, "executor");
    }

    /** A blocking read of the ledger. */
    @FunctionalInterface
    protected interface LedgerRead<T> {
        T read() throws SQLException;
    }

    @Override
    public final CompletableFuture<Response> handle(Request request) {
        return answer(request, caller(request));
    }

    /** Who calls: any valid key by default (401 without one); a route for the admin only narrows it. */
    protected Principal caller(Request request) {
        return request.requirePrincipal();
    }

    /**
     * The answer to an authenticated caller; runs on the event loop, so it reads parameters and checks access here
     * and leaves every ledger read to {@link #read}.
     */
    protected abstract CompletableFuture<Response> answer(Request request, Principal caller);

    /**
     * Runs {@code read} on the executor and answers 200 with {@code render} of its result.
     *
     * @param render writes the JSON body; runs after the read, outside its 503 mapping
     */
    protected final <T> CompletableFuture<Response> read(LedgerRead<T> read, Function<T, byte[]> render) {
        return CompletableFuture.supplyAsync(() -> guarded(read), executor)
                .thenApply(result -> Response.json(200, render.apply(result)));
    }

    private <T> T guarded(LedgerRead<T> read) {
        try {
            return read.read();
        } catch (GatewayException e) {
            throw e;
        } catch (SQLException | RuntimeException e) {
            log.error("{}: reading the ledger failed", path(), e);
            throw new GatewayException(ErrorType.UNAVAILABLE, UNREADABLE);
        }
    }

    /** The team a caller may see: {@code null} (every team) for the admin key, else the key's own team. */
    protected static String ownTeam(Principal caller) {
        return caller.admin() ? null : caller.team();
    }

    /** A JSON body written by {@code body}; {@code sizeHint} is the buffer's first capacity. */
    protected static byte[] json(int sizeHint, JsonBody.Writer body) {
        return JsonBody.write(sizeHint, body);
    }
}
