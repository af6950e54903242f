/** JSON trees read with Jackson's streaming parser: plain trees, and chat bodies whose messages stay as bytes until read. */
package dev.tokenwise.core.json;
