/** The {@code tokenwise} command line ({@code bin/tokenwise}): a small dispatcher and one class per subcommand. */
package dev.tokenwise.server.cli;
