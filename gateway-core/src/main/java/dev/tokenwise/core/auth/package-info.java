/** Virtual keys: hashed storage, constant-time lookup, the principal a request acts as. */
package dev.tokenwise.core.auth;
