package dev.tokenwise.core.spi;

import io.netty.handler.codec.http.HttpMethod;
import java.util.Objects;

/** A local route that answers {@code GET} on one path (the usage, efficiency, alerts, prices, latency … APIs). */
public abstract class GetRoute implements ApiRoute {
    private final String path;

    /** @param path the route's path, e.g. {@code /api/v1/usage} */
    protected GetRoute(String path) {
        this.path = Objects.requireNonNull(path, "path");
    }

    /** The path this route answers, e.g. {@code /api/v1/usage}. */
    public final String path() {
        return path;
    }

    @Override
    public final boolean matches(HttpMethod method, String path) {
        return HttpMethod.GET.equals(method) && matchesPath(path);
    }

    @Override
    public final boolean matchesPath(String path) {
        return this.path.equals(path);
    }
}
