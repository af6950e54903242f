/** Efficiency routes: the policy that picks a route's candidate, the router that applies and teaches it, and its API. */
package dev.tokenwise.metrics.routing;
