package dev.tokenwise.server.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TextTableTest {
    private static String usd(String amount) {
        return TextTable.usd(DecimalNode.valueOf(new BigDecimal(amount)));
    }

    @Test
    void writesDollarsWithTwoToSixDecimals() {
        assertEquals("$5.00", usd("5"));
        assertEquals("$12.50", usd("12.5"));
        assertEquals("$0.000029", usd("0.000029"));
        assertEquals("$0.000001", usd("0.0000005"), "rounded half up at six decimals");
        assertEquals("$0.00", usd("0.000000001"));
        assertEquals("-$0.001004", usd("-0.001004"));
        assertEquals("-", TextTable.usd(NullNode.getInstance()));
        assertEquals("-", TextTable.usd(null));
        assertEquals("none", TextTable.budget(NullNode.getInstance()));
        assertEquals("$50.00 monthly", TextTable.budget(JsonNodeFactory.instance.objectNode()
                .put("limit_usd", new BigDecimal("50")).put("period", "monthly")));
    }

    @Test
    void padsEachColumnToItsWidestCell() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new TextTable("TEAM", "SPENT", "KEYS").row("research", "$0.00", "1").row("a", "$12345.00", "")
                .print(new PrintStream(out, true, StandardCharsets.UTF_8));
        assertEquals("""
                TEAM      SPENT      KEYS
                research  $0.00      1
                a         $12345.00
                """, out.toString(StandardCharsets.UTF_8));
        assertThrows(IllegalArgumentException.class, () -> new TextTable("A", "B").row("only one"));
    }

    @Test
    void parsesOptionsWithOrWithoutEqualsAndRefusesUnknownOnes() throws Exception {
        CliArgs args = CliArgs.parse(new String[] {"set", "demo", "50", "--period=weekly", "--json", "-n", "0"},
                Set.of("--period", "-n"), Set.of("--json"));
        assertEquals(java.util.List.of("set", "demo", "50"), args.positional());
        assertEquals("weekly", args.value("--period"));
        assertEquals("0", args.value("-n"));
        assertTrue(args.has("--json"));
        assertEquals("-5", CliArgs.parse(new String[] {"-5"}, Set.of(), Set.of()).positional(0, "x"),
                "a negative number is an argument, not an option");
        CliError unknown = assertThrows(CliError.class, () -> CliArgs.parse(new String[] {"--colour"}, Set.of(), Set.of()));
        assertEquals("unknown option: --colour", unknown.getMessage());
        assertEquals(TokenwiseCli.USAGE, unknown.status());
        CliError noValue = assertThrows(CliError.class, () -> CliArgs.parse(new String[] {"--period"}, Set.of("--period"),
                Set.of()));
        assertEquals("--period needs a value", noValue.getMessage());
        CliError missing = assertThrows(CliError.class, () -> args.positional(3, "the budget in USD"));
        assertEquals("the budget in USD is missing", missing.getMessage());
    }
}
