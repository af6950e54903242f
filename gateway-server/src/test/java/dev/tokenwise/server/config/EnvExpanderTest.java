package dev.tokenwise.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tokenwise.core.config.ConfigException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EnvExpanderTest {

    private final EnvExpander env = new EnvExpander(Map.of("HOST", "example.com", "EMPTY", "", "PORT", "9090"));

    private String expand(String raw) {
        return env.expand(raw, "a.b");
    }

    @Test
    void expandsSetVariable() {
        assertEquals("https://example.com:9090/v1", expand("https://${HOST}:${PORT}/v1"));
    }

    @Test
    void expandsUnsetVariableToEmpty() {
        assertEquals("", expand("${MISSING}"));
        assertEquals("a--b", expand("a-${MISSING}-b"));
    }

    @Test
    void usesDefaultWhenVariableIsUnsetOrEmpty() {
        assertEquals("tw-demo-key", expand("${MISSING:-tw-demo-key}"));
        assertEquals("fallback", expand("${EMPTY:-fallback}"));
        assertEquals("", expand("${MISSING:-}"));
    }

    @Test
    void keepsValueOverDefaultWhenSet() {
        assertEquals("example.com", expand("${HOST:-localhost}"));
    }

    @Test
    void expandsVariablesInsideDefault() {
        assertEquals("example.com", expand("${MISSING:-${HOST}}"));
        assertEquals("x", expand("${MISSING:-${ALSO_MISSING:-x}}"));
    }

    @Test
    void turnsDoubleDollarIntoOneDollar() {
        assertEquals("${HOST}", expand("$${HOST}"));
        assertEquals("a$b", expand("a$$b"));
        assertEquals("$example.com", expand("$$${HOST}"));
    }

    @Test
    void keepsLoneDollarAsWritten() {
        assertEquals("$5 and $HOST and a$", expand("$5 and $HOST and a$"));
    }

    @Test
    void usesDefaultContainingColonsAndSlashes() {
        assertEquals("http://localhost:8080/v1", expand("${MISSING:-http://localhost:8080/v1}"));
    }

    @Test
    void rejectsUnterminatedReferenceNamingItsPath() {
        ConfigException e = assertThrows(ConfigException.class, () -> expand("${HOST"));
        assertEquals("a.b: unterminated ${ (expected: ${VAR} or ${VAR:-default})", e.getMessage());
    }

    @Test
    void rejectsMalformedReferenceNamingItsPath() {
        ConfigException e = assertThrows(ConfigException.class, () -> expand("${OPENAI-KEY}"));
        assertEquals("a.b: ${OPENAI-KEY} (expected: ${VAR} or ${VAR:-default}, VAR made of letters, digits and _)",
                e.getMessage());
        assertThrows(ConfigException.class, () -> expand("${}"));
        assertThrows(ConfigException.class, () -> expand("${1A}"));
    }

    @Test
    void listsReferencedVariablesIncludingThoseInDefaults() {
        assertEquals(List.of("A", "B"), EnvExpander.variables("${A:-${B}}-$${C}-${A}"));
        assertEquals(List.of(), EnvExpander.variables("plain $text"));
    }
}
