package dev.tokenwise.core.proxy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tokenwise.core.accounting.AccountingCore;
import dev.tokenwise.core.auth.KeyRegistry;
import dev.tokenwise.core.budget.BudgetBook;
import dev.tokenwise.core.config.GatewayConfig;
import dev.tokenwise.core.spi.AdmissionStage;
import dev.tokenwise.core.spi.ApiRoute;
import dev.tokenwise.core.spi.DurabilityGate;
import dev.tokenwise.core.spi.ModelRouter;
import dev.tokenwise.core.spi.TokenCalibration;
import dev.tokenwise.core.spi.TokenCounter;
import java.util.List;
import java.util.Map;

/**
 * What every connection handler shares: the config snapshot, the model routes, the key registry, the
 * counter, the accounting core, the budgets, the upstream pool, the local routes and the admission stages every
 * call passes (in order) before its budget is reserved. Immutable apart from the
 * thread-safe parts it holds. {@code router} resolves the efficiency routes ({@link ModelRouter#NONE} without any). {@code durability} is {@code null} unless {@code storage.sync} is strict.
 */
record ProxyContext(GatewayConfig config, Map<String, Deployment> deployments, KeyRegistry keys,
                    TokenCounter counter, AccountingCore accounting, BudgetBook budgets, UpstreamPool pool, List<ApiRoute> routes,
                    ObjectMapper json, DurabilityGate durability,
                    Map<String, ProviderHealth> health,
                    TokenCalibration calibration, List<AdmissionStage> stages, ModelRouter router) {
}
