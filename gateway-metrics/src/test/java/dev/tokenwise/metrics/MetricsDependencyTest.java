package dev.tokenwise.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The metrics module reads the proxy only through the SPI ({@code core.spi.ProviderStats},
 * {@code core.spi.UpstreamPoolStats}): none of its sources names a class of {@code dev.tokenwise.core.proxy},
 * so the proxy's classes can be restructured without touching metrics.
 */
class MetricsDependencyTest {

    private static final String PROXY_PACKAGE = "dev.tokenwise.core.proxy.";

    @Test
    void metricsSourcesNeverNameTheProxyPackage() throws IOException {
        Path sources = Path.of("src", "main", "java");
        if (!Files.isDirectory(sources)) {
            sources = Path.of("gateway-metrics", "src", "main", "java");
        }
        List<String> offenders = new ArrayList<>();
        int files = 0;
        try (Stream<Path> walk = Files.walk(sources)) {
            for (Path file : walk.filter(p -> p.toString().endsWith(".java")).toList()) {
                files++;
                List<String> lines = Files.readAllLines(file);
                for (int i = 0; i < lines.size(); i++) {
                    if (lines.get(i).contains(PROXY_PACKAGE)) {
                        offenders.add(sources.relativize(file) + ":" + (i + 1) + ": " + lines.get(i).strip());
                    }
                }
            }
        }
        assertTrue(files > 50, "found the metrics sources (" + files + " files under " + sources.toAbsolutePath() + ")");
        assertEquals(List.of(), offenders);
    }
}
