package dev.tokenwise.server.admin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tokenwise.core.auth.Principal;
import dev.tokenwise.core.config.BudgetConfig;
import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.core.config.RateLimits;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.spi.ApiRoute;
import dev.tokenwise.server.admin.TeamDirectory.CreatedKey;
import dev.tokenwise.server.admin.TeamDirectory.KeyView;
import dev.tokenwise.server.admin.TeamDirectory.TeamView;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * The admin API over a {@link TeamDirectory}, for the admin key only:
 *
 * <pre>
 * GET    /api/v1/teams                 all teams with this period's books
 * POST   /api/v1/teams                 {"name", "budget"?: {"limit_usd", "period"}}        -> 201
 * GET    /api/v1/teams/{team}          one team
 * PUT    /api/v1/teams/{team}/budget   {"limit_usd", "period"}
 * GET    /api/v1/teams/{team}/rate_limits
 * PUT    /api/v1/teams/{team}/rate_limits  {"requests_per_minute"?, "tokens_per_minute"?, "concurrent_requests"?}
 * GET    /api/v1/keys/{id}/rate_limits
 * PUT    /api/v1/keys/{id}/rate_limits     the same, for one key (inside its team's)
 * POST   /api/v1/teams/{team}/keys     {"name"?, "models"?, "budget"?} -> 201, the secret shown once
 * GET    /api/v1/keys                  all keys, never a secret or a hash
 * DELETE /api/v1/keys/{id}             revokes at once
 * PUT    /api/v1/keys/{id}/budget      {"limit_usd", "period"}: the key's own budget, inside its team's
 * DELETE /api/v1/keys/{id}/budget      removes it: the key spends only within its team's budget
 * </pre>
 *
 * <p>Without a key the answer is 401, with a team key 403, and 403 for everyone while {@code admin.key} is not
 * set. {@link #handle} runs on an event loop: it only checks the caller there; reading the body and every
 * directory call (which may touch the store, a database) run on the executor given to the constructor.
 */
public final class AdminRoutes implements ApiRoute {
    private static final String TEAMS = "/api/v1/teams";
    private static final String KEYS = "/api/v1/keys";
    private static final Set<String> TEAM_FIELDS = Set.of("name", "budget");
    private static final Set<String> BUDGET_FIELDS = Set.of("limit_usd", "period");
    private static final Set<String> KEY_FIELDS = Set.of("name", "models", "budget");
    private static final Set<String> RATE_LIMIT_FIELDS = Set.of("requests_per_minute", "tokens_per_minute",
            "concurrent_requests");

    /** The resources of the admin API, each with the one or two methods it answers. */
    private enum Resource {
        TEAMS(HttpMethod.GET, HttpMethod.POST),
        TEAM(HttpMethod.GET),
        TEAM_BUDGET(HttpMethod.PUT),
        TEAM_KEYS(HttpMethod.POST),
        TEAM_RATE_LIMITS(HttpMethod.GET, HttpMethod.PUT),
        KEYS(HttpMethod.GET),
        KEY(HttpMethod.DELETE),
        KEY_BUDGET(HttpMethod.PUT, HttpMethod.DELETE),
        KEY_RATE_LIMITS(HttpMethod.GET, HttpMethod.PUT);

        private final List<HttpMethod> methods;

        Resource(HttpMethod... methods) {
            this.methods = List.of(methods);
        }
    }

    /** A parsed path: the resource and its one variable segment (raw, still percent-encoded), if any. */
    private record Target(Resource resource, String segment) {
    }

    private final boolean enabled;
    private final TeamDirectory directory;
    private final RateLimitDirectory rateLimits;
    private final Executor executor;

    /**
     * @param config whether {@code admin.key} is set decides whether the API is enabled at all
     * @param executor runs everything after the authorisation check (never an event loop)
     */
    public AdminRoutes(GatewayConfig config, TeamDirectory directory, RateLimitDirectory rateLimits, Executor executor) {
        this.enabled = config.adminKey() != null;
        this.directory = Objects.requireNonNull(directory, "directory");
        this.rateLimits = Objects.requireNonNull(rateLimits, "rateLimits");
        this.executor = Objects.requireNonNull(executor, "executor");
    }

    @Override
    public boolean matches(HttpMethod method, String path) {
        Target target = target(path);
        return target != null && target.resource().methods.contains(method);
    }

    @Override
    public boolean matchesPath(String path) {
        return target(path) != null;
    }

    private static Target target(String path) {
        if (path.equals(TEAMS)) {
            return new Target(Resource.TEAMS, null);
        }
        if (path.equals(KEYS)) {
            return new Target(Resource.KEYS, null);
        }
        if (path.startsWith(KEYS + "/")) {
            String id = path.substring(KEYS.length() + 1);
            if (id.endsWith("/rate_limits")) {
                id = id.substring(0, id.length() - "/rate_limits".length());
                return id.isEmpty() || id.indexOf('/') >= 0 ? null : new Target(Resource.KEY_RATE_LIMITS, id);
            }
            if (id.endsWith("/budget")) {
                id = id.substring(0, id.length() - "/budget".length());
                return id.isEmpty() || id.indexOf('/') >= 0 ? null : new Target(Resource.KEY_BUDGET, id);
            }
            return id.isEmpty() || id.indexOf('/') >= 0 ? null : new Target(Resource.KEY, id);
        }
        if (path.startsWith(TEAMS + "/")) {
            String rest = path.substring(TEAMS.length() + 1);
            int slash = rest.indexOf('/');
            String team = slash < 0 ? rest : rest.substring(0, slash);
            if (team.isEmpty()) {
                return null;
            }
            if (slash < 0) {
                return new Target(Resource.TEAM, team);
            }
            return switch (rest.substring(slash + 1)) {
                case "budget" -> new Target(Resource.TEAM_BUDGET, team);
                case "keys" -> new Target(Resource.TEAM_KEYS, team);
                case "rate_limits" -> new Target(Resource.TEAM_RATE_LIMITS, team);
                default -> null;
            };
        }
        return null;
    }

    @Override
    public CompletableFuture<Response> handle(Request request) {
        authorise(request.principal());
        Target target = target(request.path());
        if (target == null) {
            throw new GatewayException(ErrorType.NOT_FOUND, "no such endpoint: " + request.path());
        }
        return CompletableFuture.supplyAsync(() -> answer(target, request), executor);
    }

    private void authorise(Principal principal) {
        if (!enabled) {
            throw new GatewayException(ErrorType.FORBIDDEN,
                    "the admin API is disabled until admin.key is set (e.g. admin: {key: ${TOKENWISE_ADMIN_KEY}})");
        }
        if (principal == null) {
            throw new GatewayException(ErrorType.INVALID_API_KEY,
                    "missing or invalid API key: send the admin key as 'Authorization: Bearer <key>'");
        }
        if (!principal.admin()) {
            throw new GatewayException(ErrorType.FORBIDDEN, "admin key required");
        }
    }

    private Response answer(Target target, Request request) {
        HttpMethod method = request.method();
        return switch (target.resource()) {
            case TEAMS -> HttpMethod.POST.equals(method) ? createTeam(request) : listTeams();
            case TEAM -> team(decode(target.segment()));
            case TEAM_BUDGET -> setBudget(decode(target.segment()), request);
            case TEAM_KEYS -> createKey(decode(target.segment()), request);
            case TEAM_RATE_LIMITS -> {
                String team = decode(target.segment());
                yield rateLimitsResponse("team", team, HttpMethod.PUT.equals(method)
                        ? rateLimits.setTeam(team, AdminJson.rateLimits(AdminJson.object(request.body(), true,
                                RATE_LIMIT_FIELDS))) : rateLimits.team(team));
            }
            case KEYS -> listKeys();
            case KEY -> revoke(decode(target.segment()));
            case KEY_BUDGET -> setKeyBudget(decode(target.segment()), method, request);
            case KEY_RATE_LIMITS -> {
                String key = decode(target.segment());
                yield rateLimitsResponse("key", key, HttpMethod.PUT.equals(method)
                        ? rateLimits.setKey(key, AdminJson.rateLimits(AdminJson.object(request.body(), true,
                                RATE_LIMIT_FIELDS))) : rateLimits.key(key));
            }
        };
    }

    private Response listTeams() {
        List<TeamView> teams = directory.teams();
        return Response.json(200, AdminJson.write(g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("data");
            for (TeamView team : teams) {
                AdminJson.writeTeam(g, team);
            }
            g.writeEndArray();
            g.writeEndObject();
        }));
    }

    private Response createTeam(Request request) {
        JsonNode body = AdminJson.object(request.body(), false, TEAM_FIELDS);
        String name = AdminJson.requiredString(body, "name");
        BudgetConfig budget = AdminJson.optionalBudget(body, "budget");
        return teamResponse(201, directory.createTeam(name, budget));
    }

    private Response team(String name) {
        return teamResponse(200, directory.team(name).orElseThrow(() -> noTeam(name)));
    }

    private Response setBudget(String team, Request request) {
        JsonNode body = AdminJson.object(request.body(), false, BUDGET_FIELDS);
        BudgetConfig budget = AdminJson.budget(body, "");
        return teamResponse(200, directory.setBudget(team, budget));
    }

    private Response createKey(String team, Request request) {
        JsonNode body = AdminJson.object(request.body(), true, KEY_FIELDS);
        String name = AdminJson.optionalString(body, "name");
        List<String> models = AdminJson.optionalStrings(body, "models");
        BudgetConfig budget = AdminJson.optionalBudget(body, "budget");
        CreatedKey created = directory.createKey(team, name, models, budget);
        return Response.json(201, AdminJson.write(g -> AdminJson.writeKey(g, created.key(), created.secret())));
    }

    private Response listKeys() {
        List<KeyView> keys = directory.keys();
        return Response.json(200, AdminJson.write(g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("data");
            for (KeyView key : keys) {
                AdminJson.writeKey(g, key, null);
            }
            g.writeEndArray();
            g.writeEndObject();
        }));
    }

    private Response setKeyBudget(String id, HttpMethod method, Request request) {
        BudgetConfig budget = null;
        if (HttpMethod.PUT.equals(method)) {
            budget = AdminJson.budget(AdminJson.object(request.body(), false, BUDGET_FIELDS), "");
        } else if (request.body().length > 0) {
            throw new GatewayException(ErrorType.BAD_REQUEST, "request body: DELETE " + request.path()
                    + " takes none (to set a budget: PUT with {\"limit_usd\", \"period\"})");
        }
        KeyView key = directory.setKeyBudget(id, budget);
        return Response.json(200, AdminJson.write(g -> AdminJson.writeKey(g, key, null)));
    }

    private Response revoke(String id) {
        KeyView key = directory.revoke(id);
        return Response.json(200, AdminJson.write(g -> {
            g.writeStartObject();
            g.writeStringField("id", key.id());
            g.writeBooleanField("revoked", true);
            g.writeEndObject();
        }));
    }

    private static Response rateLimitsResponse(String kind, String name, RateLimits limits) {
        return Response.json(200, AdminJson.write(g -> {
            g.writeStartObject();
            g.writeStringField(kind, name);
            AdminJson.writeRateLimits(g, "rate_limits", limits);
            g.writeEndObject();
        }));
    }

    private static Response teamResponse(int status, TeamView team) {
        return Response.json(status, AdminJson.write(g -> AdminJson.writeTeam(g, team)));
    }

    private static GatewayException noTeam(String name) {
        return new GatewayException(ErrorType.NOT_FOUND, "no team " + name);
    }

    /** A percent-decoded path segment; {@code +} stays a plus (it means a space only in query strings). */
    private static String decode(String segment) {
        try {
            return QueryStringDecoder.decodeComponent(segment.replace("+", "%2B"));
        } catch (IllegalArgumentException e) {
            throw new GatewayException(ErrorType.BAD_REQUEST, "bad percent-encoding in path segment: " + segment);
        }
    }
}
