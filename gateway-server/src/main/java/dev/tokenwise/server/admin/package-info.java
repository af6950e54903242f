/** The live directory of teams and virtual keys, and the admin API that changes it. */
package dev.tokenwise.server.admin;
