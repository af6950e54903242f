/** Cluster mode: budgets shared by every gateway instance on one Redis. */
package dev.tokenwise.server.cluster;
