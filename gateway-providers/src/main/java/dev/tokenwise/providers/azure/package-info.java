/**
 * Azure OpenAI: deployment URLs with {@code api-version}, the {@code api-key} header, OpenAI's response format.
 *
 * <p>Invariants: stateless and shared by all event loops; the deployment is the model's {@code upstream_name} and the
 * {@code api-version} comes from the provider's config, checked when the adapter is built.
 */
package dev.tokenwise.providers.azure;
