package dev.tokenwise.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tokenwise.core.testing.LeakDetectingExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakDetectingExtension.class)
class OtlpSinkTest {
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @Test
    void acceptsEveryExportAndCountsItsBytes() throws Exception {
        try (OtlpSink sink = OtlpSink.start()) {
            for (int size : new int[] {0, 1_000, 300_000}) {
                HttpResponse<byte[]> r = CLIENT.send(HttpRequest.newBuilder(URI.create(sink.endpoint() + "/v1/traces"))
                        .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/x-protobuf")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[size])).build(),
                        HttpResponse.BodyHandlers.ofByteArray());
                assertEquals(200, r.statusCode());
                assertEquals(0, r.body().length);
                assertEquals("application/x-protobuf", r.headers().firstValue("content-type").orElse(""));
            }
            assertEquals(3, sink.exports());
            assertEquals(301_000, sink.bytes());
        }
    }
}
