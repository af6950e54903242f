package dev.tokenwise.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** What {@link GatewayApp#shutdown} says about the books: the calls whose records the ledger did not write. */
class ShutdownVerdictTest {
    private static final String CHAT = "{\"model\":\"sim-small\",\"max_tokens\":5,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}";

    @Test
    void findsTheBooksWholeWhenEveryCallWasWritten() throws Exception {
        TestGateway gateway = TestGateway.withSimulator();
        for (int i = 0; i < 3; i++) {
            assertEquals(200, gateway.post("/v1/chat/completions", "tw-test-key", CHAT).statusCode());
        }

        assertEquals(0, gateway.app.shutdown(0));
        assertEquals(3, gateway.app.ledger().committedRecords());
    }

    @Test
    void countsACallThatWasTakenAndNeverSettled() throws Exception {
        TestGateway gateway = TestGateway.withSimulator();
        assertEquals(200, gateway.post("/v1/chat/completions", "tw-test-key", CHAT).statusCode());
        gateway.app.accounting().begin("req_never_settled"); // as a call the proxy lost track of

        assertEquals(1, gateway.app.shutdown(0), "a call taken and never booked is not a clean stop");
    }
}
