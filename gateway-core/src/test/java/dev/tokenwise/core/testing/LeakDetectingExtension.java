package dev.tokenwise.core.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Fails a test class when Netty reports a leaked buffer during it. Use with {@code @ExtendWith}. */
public final class LeakDetectingExtension implements BeforeAllCallback, AfterAllCallback {
    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        LeakDetection.install();
        LeakDetection.collectLeaks(); // start clean: leaks of earlier classes were reported there
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        List<String> leaks = LeakDetection.collectLeaks();
        assertTrue(leaks.isEmpty(), () -> leaks.size() + " buffer leak(s) in " + context.getDisplayName() + ":\n"
                + String.join("\n", leaks));
    }
}
