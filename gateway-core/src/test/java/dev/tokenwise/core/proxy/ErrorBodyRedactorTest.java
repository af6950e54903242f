package dev.tokenwise.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ErrorBodyRedactorTest {
    private static final Origin ORIGIN = new Origin(false, "10.0.3.7", 8443, "/v1");

    @Test
    void takesOutTheKeyKeyShapedStringsAndAddressesButKeepsTheMessage() {
        String body = "{\"error\":{\"message\":\"Incorrect API key provided: my-own-provider-key-1234. Did you mean "
                + "sk-proj-****abcd or AIzaSyA-0123456789abcdefghij? Upstream 10.0.3.7:8443 via 192.168.1.20:3128 failed.\","
                + "\"code\":\"invalid_api_key\"}}";
        assertEquals("{\"error\":{\"message\":\"Incorrect API key provided: [redacted]. Did you mean [redacted] or "
                        + "[redacted]? Upstream [redacted] via [redacted] failed.\",\"code\":\"invalid_api_key\"}}",
                ErrorBodyRedactor.redact(body, "my-own-provider-key-1234", ORIGIN));
    }

    @Test
    void leavesWordsThatMerelyContainSkDashAndShortKeysAlone() {
        String body = "{\"error\":{\"message\":\"task-runner and disk-quota-exceeded; version 1.2.3.4\"}}";
        assertEquals(body, ErrorBodyRedactor.redact(body, "short", ORIGIN));
    }

    @Test
    void returnsTheSameBytesWhenThereIsNothingToTakeOut() {
        byte[] body = "{\"error\":{\"message\":\"Rate limit reached\"}}".getBytes(StandardCharsets.UTF_8);
        assertSame(body, ErrorBodyRedactor.redact(body, null, ORIGIN));
    }

    @Test
    void namesNoAddressInWhatAClientReadsOfAConnectionFailure() {
        assertEquals("connection refused", ErrorBodyRedactor.reason(new java.net.ConnectException(
                "finishConnect(..) failed: Connection refused: /10.0.3.7:8443")));
        assertEquals("connect timed out", ErrorBodyRedactor.reason(new io.netty.channel.ConnectTimeoutException(
                "connection timed out after 2000 ms: /10.0.3.7:8443")));
        assertEquals("host name not found", ErrorBodyRedactor.reason(new java.net.UnknownHostException("internal.example")));
        assertEquals("connection failed", ErrorBodyRedactor.reason(new java.io.IOException("recvAddress(..) failed: Connection reset by peer")));
    }
}
