package dev.tokenwise.core.proxy;

import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Takes out of a provider's error answer what it must not tell the gateway's clients: the provider key the gateway
 * sent (providers echo it: "Incorrect API key provided: sk-..."), anything else shaped like a provider key, and
 * network addresses with a port, the provider's own first (its {@code host:port}, which also covers its base URL).
 * Each is replaced by {@value #REDACTED}; the rest of the message stays as the provider wrote it, so the client
 * still learns what went wrong.
 *
 * <p>Key shapes: OpenAI's and Anthropic's {@code sk-...} (also masked ones such as {@code sk-proj-****abcd}) and
 * Google's {@code AIza...}. Addresses: the provider's {@code host:port} and any IPv4 address followed by a port.
 */
final class ErrorBodyRedactor {
    static final String REDACTED = "[redacted]";
    private static final Pattern KEY_SHAPED = Pattern.compile(
            "(?<![A-Za-z0-9_-])(?:sk-[A-Za-z0-9_*.\\-]{6,}|AIza[A-Za-z0-9_\\-]{20,})");
    private static final Pattern IPV4_AND_PORT = Pattern.compile("\\b\\d{1,3}(?:\\.\\d{1,3}){3}:\\d{1,5}\\b");
    /** Keys shorter than this are not looked for as such (a short value would match ordinary words). */
    private static final int MIN_KEY_LENGTH = 8;

    private ErrorBodyRedactor() {
    }

    /**
     * {@code body} (UTF-8) without the provider's key, key-shaped strings and addresses; the same array when it had
     * none of them.
     *
     * @param apiKey the provider key the gateway sends, or {@code null}
     */
    static byte[] redact(byte[] body, String apiKey, Origin origin) {
        String text = new String(body, StandardCharsets.UTF_8);
        String clean = redact(text, apiKey, origin);
        return clean.equals(text) ? body : clean.getBytes(StandardCharsets.UTF_8);
    }

    static String redact(String text, String apiKey, Origin origin) {
        String clean = text;
        if (apiKey != null && apiKey.length() >= MIN_KEY_LENGTH) {
            clean = clean.replace(apiKey, REDACTED);
        }
        if (origin != null) {
            clean = clean.replace(origin.host() + ":" + origin.port(), REDACTED);
        }
        clean = replaceAll(KEY_SHAPED, clean);
        return replaceAll(IPV4_AND_PORT, clean);
    }

    private static String replaceAll(Pattern pattern, String text) {
        Matcher m = pattern.matcher(text);
        return m.find() ? m.replaceAll(REDACTED) : text;
    }

    /**
     * What a client may read of a connection failure: its kind, never its message, which names the provider's
     * address ("Connection refused: /10.0.3.7:8443").
     */
    static String reason(Throwable cause) {
        if (cause instanceof io.netty.channel.ConnectTimeoutException) {
            return "connect timed out";
        }
        if (cause instanceof java.net.ConnectException) {
            return "connection refused";
        }
        if (cause instanceof java.net.UnknownHostException) {
            return "host name not found";
        }
        if (cause instanceof javax.net.ssl.SSLException || cause instanceof io.netty.handler.ssl.SslHandshakeTimeoutException) {
            return "TLS failed";
        }
        if (cause instanceof java.nio.channels.ClosedChannelException) {
            return "connection closed";
        }
        if (cause instanceof java.io.IOException) {
            return "connection failed";
        }
        return "unexpected " + cause.getClass().getSimpleName();
    }
}
