package dev.tokenwise.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class HeaderFilterTest {

    private static List<String> names(HttpHeaders headers) {
        List<String> names = new ArrayList<>();
        headers.forEach(e -> names.add(e.getKey() + ": " + e.getValue()));
        return names;
    }

    @Test
    void dropsCredentialsHopByHopAndGatewayHeadersFromRequestsWhateverTheirCase() {
        HttpHeaders client = new DefaultHttpHeaders()
                .add("Authorization", "Bearer tw-secret").add("X-Api-Key", "k").add("API-KEY", "k")
                .add("x-goog-api-key", "k").add("Cookie", "c=1").add("Accept-Encoding", "gzip")
                .add("Connection", "keep-alive").add("Keep-Alive", "timeout=5").add("TE", "trailers")
                .add("Transfer-Encoding", "chunked").add("Content-Length", "12").add("Host", "gateway")
                .add("Expect", "100-continue").add("Upgrade", "h2c").add("Proxy-Authorization", "p")
                .add("X-Task-Id", "t-1").add("x-task-attempt", "2").add("X-Tokenwise-Anything", "1")
                .add("Content-Type", "application/json").add("OpenAI-Organization", "org-1")
                .add("X-Taskforce", "kept: not the x-task- prefix").add("User-Agent", "sdk/1.0");
        HttpHeaders upstream = new DefaultHttpHeaders();
        HeaderFilter.copyRequestHeaders(client, upstream);
        assertEquals(List.of("Content-Type: application/json", "OpenAI-Organization: org-1",
                "X-Taskforce: kept: not the x-task- prefix", "User-Agent: sdk/1.0"), names(upstream));
    }

    @Test
    void keepsFramingHeadersOfResponsesButNotConnectionOnes() {
        HttpHeaders provider = new DefaultHttpHeaders()
                .add("Content-Type", "application/json").add("CONTENT-LENGTH", "913").add("Connection", "close")
                .add("Keep-Alive", "timeout=5").add("transfer-encoding", "chunked").add("Upgrade", "h2c")
                .add("X-Request-Id", "req-upstream").add("openai-processing-ms", "12");
        HttpHeaders client = new DefaultHttpHeaders();
        HeaderFilter.copyResponseHeaders(provider, client);
        assertEquals(List.of("Content-Type: application/json", "CONTENT-LENGTH: 913", "transfer-encoding: chunked",
                "X-Request-Id: req-upstream", "openai-processing-ms: 12"), names(client));
    }

    @Test
    void dropsTheProvidersCookiesFromResponses() {
        HttpHeaders provider = new DefaultHttpHeaders().add("Content-Type", "application/json")
                .add("Set-Cookie", "__cf_bm=abc; path=/; HttpOnly").add("set-cookie", "session=s").add("SET-COOKIE2", "x=1")
                .add("X-Cookie-Note", "kept");
        HttpHeaders client = new DefaultHttpHeaders();
        HeaderFilter.copyResponseHeaders(provider, client);
        assertEquals(List.of("Content-Type: application/json", "X-Cookie-Note: kept"), names(client));
    }
}
