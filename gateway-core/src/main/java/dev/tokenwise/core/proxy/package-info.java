/** The Netty reverse proxy: client frontend, upstream backend, connection pool and SSE relay. */
package dev.tokenwise.core.proxy;
