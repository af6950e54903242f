package dev.tokenwise.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * An HTTP/1.1 load generator: {@code connections} keep-alive connections, each with at most one request
 * outstanding, sending the same method, path, headers and {@link RequestBody}.
 *
 * <p><b>Closed loop</b> ({@code ratePerSecond == 0}): every connection sends its next request as soon as the
 * previous response is complete; the result is the maximum throughput at this concurrency, and latency
 * is measured from the actual send.
 *
 * <p><b>Open loop</b> ({@code ratePerSecond > 0}): each connection owns an even share of the rate and a fixed
 * schedule of intended send times, phase-shifted against the other connections. A request is sent at its
 * intended time, or at once when the previous response came back late, and its latency is measured from
 * the <em>intended</em> time. A stall therefore shows up in every request it delayed, not only in the one
 * that was in flight: this is wrk2's correction for coordinated omission. When the measurement window
 * opens, a connection that is behind its schedule skips the send times it missed during the warmup, so a
 * backlog built up by a cold JIT on either side does not leak into the window; connections on schedule
 * are untouched. A rate above capacity builds a new backlog inside the window and shows as such.
 *
 * <p>Implementation notes: every connection (a {@code Slot}) is pinned to one event loop and its state is
 * touched only there. Latencies go into one HdrHistogram {@link Recorder}, whose writers are wait-free.
 * Only responses completing inside the measurement window (after the warmup, before the end) count.
 * Requests are written as raw bytes (precomputed request line and headers, shared body prefix, per-request
 * suffix); responses are parsed by {@link HttpResponseDecoder} and their content discarded.
 *
 * <pre>{@code
 * LoadResult result = new LoadGenerator(LoadGenerator.Options.closedLoop(
 *         URI.create("http://127.0.0.1:8080/v1/chat/completions"), ChatBodies.SHORT.body(), 32,
 *         Duration.ofSeconds(3), Duration.ofSeconds(10))).run("gateway");
 * System.out.println(result.summary());
 * }</pre>
 */
public final class LoadGenerator {
    /** The response header a Tokenwise gateway answers {@code hit} on when its response cache served the call. */
    private static final String CACHE_HEADER = "x-tokenwise-cache";


    /**
     * @param url target, {@code http} only
     * @param method HTTP method
     * @param headers extra request headers, sent as given after {@code host}
     * @param body request body
     * @param connections concurrent keep-alive connections
     * @param warmup time before the measurement window; its responses are discarded
     * @param duration length of the measurement window
     * @param ratePerSecond total intended request rate; {@code 0} means closed loop
     * @param timeout a request without a complete response after this long counts as a timeout and its
     *     connection is replaced
     * @param threads event loop threads of the generator
     */
    public record Options(URI url, String method, List<Map.Entry<String, String>> headers, RequestBody body,
                          int connections, Duration warmup, Duration duration, double ratePerSecond,
                          Duration timeout, int threads) {
        public Options {
            Objects.requireNonNull(url, "url");
            if (!"http".equalsIgnoreCase(url.getScheme()) || url.getHost() == null) {
                throw new IllegalArgumentException("url: " + url + " (expected: http://host[:port]/path)");
            }
            Objects.requireNonNull(method, "method");
            headers = List.copyOf(headers);
            Objects.requireNonNull(body, "body");
            if (connections <= 0) {
                throw new IllegalArgumentException("connections: " + connections + " (expected: > 0)");
            }
            if (warmup.isNegative()) {
                throw new IllegalArgumentException("warmup: " + warmup + " (expected: >= 0)");
            }
            if (duration.isNegative() || duration.isZero()) {
                throw new IllegalArgumentException("duration: " + duration + " (expected: > 0)");
            }
            if (!(ratePerSecond >= 0) || Double.isInfinite(ratePerSecond)) {
                throw new IllegalArgumentException("rate: " + ratePerSecond + " (expected: >= 0, 0 for closed loop)");
            }
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
            }
            if (threads <= 0) {
                throw new IllegalArgumentException("threads: " + threads + " (expected: > 0)");
            }
        }

        /** POST {@code body} as JSON in a closed loop on one thread, 10 s timeout. */
        public static Options closedLoop(URI url, RequestBody body, int connections, Duration warmup, Duration duration) {
            return new Options(url, "POST", List.of(Map.entry("content-type", "application/json")), body,
                    connections, warmup, duration, 0, Duration.ofSeconds(10), 1);
        }

        public boolean openLoop() {
            return ratePerSecond > 0;
        }
    }

    private static final long RECONNECT_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final Options options;
    private PrintStream progress;

    public LoadGenerator(Options options) {
        this.options = Objects.requireNonNull(options, "options");
    }

    /** Also print one line per second (warmup included) with that second's completions and latency. */
    public LoadGenerator printProgressTo(PrintStream out) {
        this.progress = out;
        return this;
    }

    /**
     * Connects, runs warmup plus measurement window, closes every connection and returns what the window saw.
     *
     * @throws IOException when a connection cannot be opened at the start
     */
    public LoadResult run(String label) throws IOException, InterruptedException {
        URI url = options.url();
        int port = url.getPort() < 0 ? 80 : url.getPort();
        MultiThreadIoEventLoopGroup group = Transport.newGroup(options.threads(), "load-" + label);
        Run run = new Run(options, requestHead(url, port), url.getHost(), port);
        List<Slot> slots = new ArrayList<>(options.connections());
        try {
            Bootstrap bootstrap = new Bootstrap()
                    .channel(Transport.socketChannel())
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5_000);
            List<ChannelFuture> connects = new ArrayList<>();
            for (int i = 0; i < options.connections(); i++) {
                EventLoop loop = group.next();
                Slot slot = new Slot(i, run, loop, bootstrap.clone(loop));
                slots.add(slot);
                connects.add(slot.connect());
            }
            for (ChannelFuture connect : connects) {
                if (!connect.await(10, TimeUnit.SECONDS) || !connect.isSuccess()) {
                    throw new IOException("cannot connect to " + url.getHost() + ":" + port, connect.cause());
                }
            }
            long startNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(5);
            run.start(startNanos);
            for (Slot slot : slots) {
                slot.loop.execute(slot::start);
                if (run.openLoop) {
                    slot.loop.schedule(slot::skipWarmupBacklog, run.measureStartNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
                }
            }
            if (progress != null) {
                reportProgress(run);
            }
            sleepUntil(run.endNanos);
        } finally {
            run.running = false;
            for (Slot slot : slots) {
                slot.loop.execute(slot::stop);
            }
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
            run.release();
        }
        Histogram latencyMicros = run.recorder.getIntervalHistogram();
        return new LoadResult(label, options.duration().toNanos(), latencyMicros,
                run.firstByte.getIntervalHistogram(), run.eventDelay.getIntervalHistogram(), run.succeeded.sum(),
                run.non2xx.sum(), run.connectionErrors.sum(), run.timeouts.sum(), run.cacheHits.sum());
    }

    /** Request line, host and the configured headers; the per-request content-length follows. */
    private String requestHead(URI url, int port) {
        String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
        if (url.getRawQuery() != null) {
            path += "?" + url.getRawQuery();
        }
        StringBuilder head = new StringBuilder(256);
        head.append(options.method().toUpperCase(Locale.ROOT)).append(' ').append(path).append(" HTTP/1.1\r\n");
        head.append("host: ").append(url.getHost()).append(':').append(port).append("\r\n");
        head.append("user-agent: tokenwise-bench\r\n");
        for (Map.Entry<String, String> header : options.headers()) {
            head.append(header.getKey()).append(": ").append(header.getValue()).append("\r\n");
        }
        return head.toString();
    }

    private void reportProgress(Run run) throws InterruptedException {
        run.progress = new Recorder(3);
        Histogram interval = null;
        long start = run.startNanos;
        for (int second = 1; start + second * 1_000_000_000L - run.endNanos <= 0; second++) {
            sleepUntil(start + second * 1_000_000_000L);
            interval = run.progress.getIntervalHistogram(interval);
            progress.printf(Locale.ROOT, "  %3ds %s %8d responses  p50 %8.3f  p99 %8.3f  max %8.3f ms%n", second,
                    start + second * 1_000_000_000L - run.measureStartNanos <= 0 ? "warmup" : "      ",
                    interval.getTotalCount(), interval.getValueAtPercentile(50) / 1000.0,
                    interval.getValueAtPercentile(99) / 1000.0, interval.getMaxValue() / 1000.0);
        }
    }

    private static void sleepUntil(long deadlineNanos) throws InterruptedException {
        long left;
        while ((left = deadlineNanos - System.nanoTime()) > 0) {
            TimeUnit.NANOSECONDS.sleep(left);
        }
    }

    /** State shared by the slots of one run: schedule, window, counters, recorder and shared buffers. */
    private static final class Run {
        final Recorder recorder = new Recorder(3);
        /** Time to the first byte of the response body (for a stream: its first event). */
        final Recorder firstByte = new Recorder(3);
        /** From the mock's send time of a paced stream's event to its arrival (see {@link MockResponses#stamped}). */
        final Recorder eventDelay = new Recorder(3);
        /** Set for {@link #printProgressTo}: every completion, warmup included; read once a second. */
        volatile Recorder progress;
        final LongAdder succeeded = new LongAdder();
        final LongAdder non2xx = new LongAdder();
        /** 2xx responses a gateway answered from its response cache ({@code X-Tokenwise-Cache: hit}). */
        final LongAdder cacheHits = new LongAdder();
        final LongAdder connectionErrors = new LongAdder();
        final LongAdder timeouts = new LongAdder();
        final RequestBody body;
        final boolean sendsContentLength;
        final ByteBuf head;
        final ByteBuf bodyPrefix;
        final InetSocketAddress address;
        final int connections;
        final boolean openLoop;
        /** Between two intended sends of one connection, in an open-loop run. */
        final double intervalNanos;
        final long warmupNanos;
        final long windowNanos;
        final long timeoutNanos;
        volatile boolean running;
        long startNanos;
        long measureStartNanos;
        long endNanos;

        Run(Options options, String head, String host, int port) {
            this.body = options.body();
            String method = options.method().toUpperCase(Locale.ROOT);
            this.sendsContentLength = !body.isEmpty() || !(method.equals("GET") || method.equals("HEAD") || method.equals("DELETE"));
            this.head = Unpooled.directBuffer(head.length()).writeBytes(head.getBytes(StandardCharsets.ISO_8859_1));
            byte[] prefix = body.prefix();
            this.bodyPrefix = Unpooled.directBuffer(Math.max(1, prefix.length)).writeBytes(prefix);
            this.address = new InetSocketAddress(host, port);
            this.connections = options.connections();
            this.openLoop = options.openLoop();
            this.intervalNanos = openLoop ? 1e9 * options.connections() / options.ratePerSecond() : 0;
            this.warmupNanos = options.warmup().toNanos();
            this.windowNanos = options.duration().toNanos();
            this.timeoutNanos = options.timeout().toNanos();
        }

        /** Called before any slot starts; the event loop tasks that follow see these fields. */
        void start(long startNanos) {
            this.startNanos = startNanos;
            this.measureStartNanos = startNanos + warmupNanos;
            this.endNanos = measureStartNanos + windowNanos;
            this.running = true;
        }

        boolean inWindow(long nanos) {
            return nanos - measureStartNanos >= 0 && nanos - endNanos < 0;
        }

        /**
         * Intended send time of tick {@code n} of connection {@code slot} (open loop); connections are
         * phase-shifted by a fraction of the interval so that their sends interleave.
         */
        long intendedNanos(int slot, long n) {
            return startNanos + (long) ((n + (double) slot / connections) * intervalNanos);
        }

        void release() {
            head.release();
            bodyPrefix.release();
        }
    }

    /** One connection and its schedule; replaced channels keep the slot (and its sequence and schedule). */
    private static final class Slot {
        final int id;
        final Run run;
        final EventLoop loop;
        final Bootstrap bootstrap;
        Channel channel;
        long sequence;
        boolean outstanding;
        long intendedNanos;
        long sentNanos;
        boolean firstByteSeen;
        int status;
        /** The response in progress says it came from a gateway's response cache. */
        boolean cacheHit;
        /** The response is an event stream, whose events may carry the mock's send time. */
        boolean eventStream;
        boolean closeAfterResponse;
        ScheduledFuture<?> pendingSend;
        ScheduledFuture<?> timeoutCheck;
        /** Open loop: request {@code sequence} goes out at tick {@code sequence + skippedTicks}. */
        long skippedTicks;

        Slot(int id, Run run, EventLoop loop, Bootstrap bootstrap) {
            this.id = id;
            this.run = run;
            this.loop = loop;
            this.bootstrap = bootstrap.handler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel ch) {
                    ch.pipeline().addLast(new HttpResponseDecoder(), new Handler());
                }
            });
        }

        ChannelFuture connect() {
            ChannelFuture future = bootstrap.connect(run.address);
            channel = future.channel();
            return future;
        }

        void start() {
            long checkEveryNanos = Math.max(TimeUnit.MILLISECONDS.toNanos(10), run.timeoutNanos / 4);
            timeoutCheck = loop.scheduleAtFixedRate(this::checkTimeout, checkEveryNanos, checkEveryNanos, TimeUnit.NANOSECONDS);
            sendNext();
        }

        /** At the start of the measurement window: forget the warmup's backlog. */
        void skipWarmupBacklog() {
            long next = run.intendedNanos(id, sequence + skippedTicks);
            long behindNanos = run.measureStartNanos - next;
            if (behindNanos > 0) {
                // Behind, so no send is pending: the next one waits for the first tick inside the window.
                skippedTicks += (long) Math.ceil(behindNanos / run.intervalNanos);
            }
        }

        void stop() {
            if (timeoutCheck != null) {
                timeoutCheck.cancel(false);
            }
            if (pendingSend != null) {
                pendingSend.cancel(false);
            }
            if (channel != null) {
                channel.close();
            }
        }

        void sendNext() {
            pendingSend = null;
            if (!run.running || outstanding || channel == null || !channel.isActive()) {
                return;
            }
            long now = System.nanoTime();
            if (now - run.endNanos >= 0) {
                return;
            }
            long intended = now;
            if (run.openLoop) {
                intended = run.intendedNanos(id, sequence + skippedTicks);
                if (intended - now > 0) {
                    pendingSend = loop.schedule(this::sendNext, intended - now, TimeUnit.NANOSECONDS);
                    return;
                }
            }
            byte[] suffix = run.body.suffix(id, sequence);
            sequence++;
            outstanding = true;
            intendedNanos = intended;
            sentNanos = now;
            firstByteSeen = false;
            status = 0;
            closeAfterResponse = false;
            Channel ch = channel;
            ch.write(run.head.retainedDuplicate(), ch.voidPromise());
            ByteBuf end = ch.alloc().buffer(32);
            if (run.sendsContentLength) {
                end.writeCharSequence("content-length: " + (run.bodyPrefix.readableBytes() + suffix.length) + "\r\n",
                        StandardCharsets.US_ASCII);
            }
            end.writeCharSequence("\r\n", StandardCharsets.US_ASCII);
            ch.write(end, ch.voidPromise());
            if (run.bodyPrefix.isReadable()) {
                ch.write(run.bodyPrefix.retainedDuplicate(), ch.voidPromise());
            }
            if (suffix.length > 0) {
                ch.write(Unpooled.wrappedBuffer(suffix), ch.voidPromise());
            }
            ch.flush();
        }

        void onResponseHead(HttpResponse response) {
            status = response.status().code();
            closeAfterResponse = !HttpUtil.isKeepAlive(response);
            String contentType = response.headers().get(HttpHeaderNames.CONTENT_TYPE);
            eventStream = contentType != null && contentType.startsWith("text/event-stream");
            cacheHit = "hit".equals(response.headers().get(CACHE_HEADER));
        }

        void onResponseBytes() {
            if (firstByteSeen || !outstanding) {
                return;
            }
            firstByteSeen = true;
            long now = System.nanoTime();
            if (run.inWindow(now) && status >= 200 && status < 300) {
                run.firstByte.recordValue(Math.max(0, (now - intendedNanos) / 1000));
            }
        }

        /**
         * Records how long each event in {@code content} took from the mock's send time to here. Both clocks are
         * {@link System#nanoTime()} on this machine; an event without a send time, or whose marker or digits a
         * proxy split across two reads, is not recorded.
         */
        void onEventBytes(ByteBuf content) {
            long now = System.nanoTime();
            if (!outstanding || !run.inWindow(now) || status < 200 || status >= 300) {
                return;
            }
            int end = content.writerIndex();
            byte[] marker = MockResponses.SENT_MARKER_BYTES;
            for (int at = MockUpstreamHandler.indexOf(content, marker, content.readerIndex(), end); at >= 0;
                    at = MockUpstreamHandler.indexOf(content, marker, at + marker.length, end)) {
                long sent = MockResponses.sentNanosAt(content, at, end);
                if (sent > 0) {
                    run.eventDelay.recordValue(Math.max(0, (now - sent) / 1000));
                }
            }
        }

        void onResponseEnd() {
            if (!outstanding) {
                return;
            }
            long now = System.nanoTime();
            outstanding = false;
            Recorder progress = run.progress;
            if (progress != null) {
                progress.recordValue(Math.max(0, (now - intendedNanos) / 1000));
            }
            if (run.inWindow(now)) {
                if (status >= 200 && status < 300) {
                    run.recorder.recordValue(Math.max(0, (now - intendedNanos) / 1000));
                    run.succeeded.increment();
                    if (cacheHit) {
                        run.cacheHits.increment();
                    }
                } else {
                    run.non2xx.increment();
                }
            }
            if (closeAfterResponse) {
                channel.close();
            } else {
                sendNext();
            }
        }

        /** A connection went away: count the request it carried and open a new one while the run lasts. */
        void onClosed(Channel closed, boolean failed) {
            if (closed != channel) {
                return;
            }
            if (outstanding) {
                outstanding = false;
                if (run.inWindow(System.nanoTime())) {
                    run.connectionErrors.increment();
                }
                failed = true;
            }
            if (pendingSend != null) {
                pendingSend.cancel(false);
                pendingSend = null;
            }
            if (run.running) {
                loop.schedule(this::reconnect, failed ? RECONNECT_DELAY_NANOS : 0, TimeUnit.NANOSECONDS);
            }
        }

        void reconnect() {
            if (!run.running) {
                return;
            }
            connect().addListener(f -> {
                if (f.isSuccess()) {
                    sendNext();
                } else if (run.running) {
                    if (run.inWindow(System.nanoTime())) {
                        run.connectionErrors.increment();
                    }
                    loop.schedule(this::reconnect, RECONNECT_DELAY_NANOS, TimeUnit.NANOSECONDS);
                }
            });
        }

        void checkTimeout() {
            if (outstanding && System.nanoTime() - sentNanos > run.timeoutNanos) {
                outstanding = false;
                if (run.inWindow(System.nanoTime())) {
                    run.timeouts.increment();
                }
                channel.close();
            }
        }

        /** Per channel; forwards to the slot, which outlives the channel. */
        private final class Handler extends ChannelInboundHandlerAdapter {
            private boolean failed;

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                try {
                    if (ctx.channel() != channel || !(msg instanceof HttpObject object)) {
                        return;
                    }
                    if (object.decoderResult().isFailure()) {
                        failed = true;
                        ctx.close();
                        return;
                    }
                    if (object instanceof HttpResponse response) {
                        onResponseHead(response);
                    }
                    if (object instanceof HttpContent content && content.content().isReadable()) {
                        onResponseBytes();
                        if (eventStream) {
                            onEventBytes(content.content());
                        }
                    }
                    // Content is discarded: only the end of the response matters to the latency.
                    if (object instanceof LastHttpContent) {
                        onResponseEnd();
                    }
                } finally {
                    ReferenceCountUtil.release(msg);
                }
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                onClosed(ctx.channel(), failed);
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                failed = true;
                ctx.close();
            }
        }
    }
}
