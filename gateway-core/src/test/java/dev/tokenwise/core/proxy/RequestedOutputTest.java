package dev.tokenwise.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.Endpoint;
import org.junit.jupiter.api.Test;

class RequestedOutputTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static RequestedOutput of(String body, Endpoint endpoint) throws Exception {
        return RequestedOutput.of((ObjectNode) JSON.readTree(body), endpoint);
    }

    @Test
    void takesTheLargestOfEveryOutputCapNamed() throws Exception {
        assertEquals(16_000, of("{\"max_completion_tokens\":1,\"max_tokens\":16000}", Endpoint.CHAT_COMPLETIONS).maxOutputTokens());
        assertEquals(16_000, of("{\"max_tokens\":16000,\"max_completion_tokens\":1}", Endpoint.CHAT_COMPLETIONS).maxOutputTokens());
        assertEquals(7, of("{\"max_output_tokens\":7}", Endpoint.RESPONSES).maxOutputTokens());
        assertEquals(0, of("{\"max_tokens\":null}", Endpoint.CHAT_COMPLETIONS).maxOutputTokens());
        assertEquals(900, of("{\"generationConfig\":{\"maxOutputTokens\":900,\"candidateCount\":3}}",
                Endpoint.GEMINI_GENERATE).maxOutputTokens());
    }

    @Test
    void countsEveryChoiceAskedFor() throws Exception {
        assertEquals(1, of("{}", Endpoint.CHAT_COMPLETIONS).choices());
        assertEquals(128, of("{\"n\":128}", Endpoint.CHAT_COMPLETIONS).choices());
        assertEquals(5, of("{\"n\":2,\"best_of\":5}", Endpoint.CHAT_COMPLETIONS).choices());
        assertEquals(3, of("{\"generationConfig\":{\"candidateCount\":3}}", Endpoint.GEMINI_STREAM_GENERATE).choices());
        assertEquals(1, of("{\"n\":4}", Endpoint.EMBEDDINGS).choices(), "embeddings have no choices");
    }

    @Test
    void seesContextTheProviderKeepsOnlyOnTheResponsesApi() throws Exception {
        assertTrue(of("{\"previous_response_id\":\"resp_1\"}", Endpoint.RESPONSES).storedContext());
        assertTrue(of("{\"conversation\":{\"id\":\"conv_1\"}}", Endpoint.RESPONSES).storedContext());
        assertFalse(of("{\"previous_response_id\":null}", Endpoint.RESPONSES).storedContext());
        assertFalse(of("{\"previous_response_id\":\"resp_1\"}", Endpoint.CHAT_COMPLETIONS).storedContext());
    }

    @Test
    void readsTheServiceTierTheRequestPinsOrNoneWhenTheProviderChooses() throws Exception {
        assertEquals(dev.tokenwise.core.model.ServiceTier.FLEX,
                of("{\"service_tier\": \"flex\"}", Endpoint.CHAT_COMPLETIONS).serviceTier());
        assertEquals(dev.tokenwise.core.model.ServiceTier.STANDARD,
                of("{\"service_tier\": \"default\"}", Endpoint.RESPONSES).serviceTier());
        assertEquals(dev.tokenwise.core.model.ServiceTier.STANDARD,
                of("{\"service_tier\": \"standard_only\"}", Endpoint.MESSAGES).serviceTier());
        assertEquals(null, of("{\"service_tier\": \"auto\"}", Endpoint.CHAT_COMPLETIONS).serviceTier());
        assertEquals(null, of("{\"service_tier\": 3}", Endpoint.CHAT_COMPLETIONS).serviceTier());
        assertEquals(null, of("{}", Endpoint.CHAT_COMPLETIONS).serviceTier());
    }

    @Test
    void refusesCapsAndChoiceCountsOutsideTheirRange() {
        for (String body : new String[] {"{\"max_tokens\":0}", "{\"max_tokens\":1.5}", "{\"max_tokens\":\"9\"}",
                "{\"max_tokens\":1000000000000}", "{\"n\":129}", "{\"n\":-1}", "{\"best_of\":99999999999999999999}"}) {
            GatewayException e = assertThrows(GatewayException.class, () -> of(body, Endpoint.CHAT_COMPLETIONS), body);
            assertEquals(ErrorType.BAD_REQUEST, e.type(), body);
        }
        assertThrows(GatewayException.class, () -> of("{\"generationConfig\":7}", Endpoint.GEMINI_GENERATE));
    }
}
