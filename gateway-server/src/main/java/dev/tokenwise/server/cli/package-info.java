/** The {@code bin/tokenwise} command line: one class per subcommand, dispatched by {@link dev.tokenwise.server.cli.TokenwiseCli}. */
package dev.tokenwise.server.cli;
