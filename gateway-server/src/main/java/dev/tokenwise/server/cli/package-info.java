/**
 * The {@code bin/tokenwise} command line: one class per subcommand, dispatched by
 * {@link dev.tokenwise.server.cli.TokenwiseCli}.
 *
 * <p>Invariants: a subcommand returns an exit code and writes to the streams it is given (never {@code System.exit}
 * inside a command), so tests run them in-process; a usage error prints the problem and the command's help and
 * returns the usage code. Only {@code TokenwiseCli.main} exits the JVM.
 */
package dev.tokenwise.server.cli;
