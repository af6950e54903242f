/** Gateway errors: one exception type with a classifier, mapped in one place to HTTP status and JSON body. */
package dev.tokenwise.core.error;
