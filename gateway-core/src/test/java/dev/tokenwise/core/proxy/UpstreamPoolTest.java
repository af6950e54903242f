package dev.tokenwise.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The pool against a quirk of the epoll transport: events are keyed by file descriptor only, so when a
 * handler closes a connection and opens a new one within one batch of ready events, the new socket can
 * take the closed one's descriptor and receive its pending hang-up. A connect still in progress is then
 * closed by Netty although the provider never refused it.
 */
class UpstreamPoolTest {
    private static final int TRIALS = 50;

    private ServerSocket server;
    private final BlockingQueue<Socket> accepted = new LinkedBlockingQueue<>();
    private final List<Socket> peers = new ArrayList<>();
    private final List<Channel> channels = new ArrayList<>();
    private EventLoopGroup group;
    private EventLoop loop;

    @BeforeEach
    void start() throws IOException {
        assumeTrue(Transport.best() == Transport.EPOLL, "the quirk belongs to the epoll transport");
        server = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(() -> {
            try {
                while (true) {
                    accepted.add(server.accept());
                }
            } catch (IOException closed) {
                // The test is over.
            }
        }, "test-acceptor");
        acceptor.setDaemon(true);
        acceptor.start();
        group = Transport.EPOLL.newGroup(1, new DefaultThreadFactory("pool-test"));
        loop = group.next();
    }

    @AfterEach
    void stop() throws Exception {
        if (group == null) {
            return;
        }
        for (Channel ch : channels) {
            ch.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        server.close();
        for (Socket s : peers) {
            s.close();
        }
        for (Socket s : accepted) {
            s.close();
        }
    }

    @Test
    void aHangUpPendingForAClosedConnectionClosesANewConnectThatReusesItsDescriptor() throws Exception {
        int hits = 0;
        for (int i = 0; i < TRIALS && hits == 0; i++) {
            int[] fds = new int[2];
            Future<Channel> connect = inOneBatchAfterClosingAConnection(fds, () -> {
                Bootstrap plain = new Bootstrap().group(loop).channel(EpollSocketChannel.class)
                        .handler(new ChannelInboundHandlerAdapter());
                ChannelFuture f = plain.connect(server.getLocalSocketAddress());
                channels.add(f.channel());
                fds[1] = ((EpollSocketChannel) f.channel()).fd().intValue();
                Promise<Channel> mirrored = loop.newPromise();
                f.addListener(done -> {
                    if (done.isSuccess()) {
                        mirrored.setSuccess(f.channel());
                    } else {
                        mirrored.setFailure(done.cause());
                    }
                });
                return mirrored;
            });
            assertTrue(connect.await(5, TimeUnit.SECONDS), "the connect did not complete");
            if (fds[0] == fds[1] && !connect.isSuccess()) {
                assertInstanceOf(ClosedChannelException.class, connect.cause());
                hits++;
            }
        }
        assertTrue(hits > 0, "no trial reproduced the stale hang-up in " + TRIALS + " tries");
    }

    @Test
    void aConnectClosedByAStaleEventOfAReusedDescriptorIsMadeAgainWithoutFailingTheCall() throws Exception {
        UpstreamPool pool = new UpstreamPool(Transport.EPOLL, 60);
        Origin origin = new Origin(false, "127.0.0.1", server.getLocalPort(), "");
        for (int i = 0; i < TRIALS && pool.connectsLostBeforeCompleting() == 0; i++) {
            Future<Channel> acquired = inOneBatchAfterClosingAConnection(new int[2],
                    () -> pool.acquire(origin, loop, 2_000, true));
            assertTrue(acquired.await(5, TimeUnit.SECONDS), "the acquire did not complete");
            assertTrue(acquired.isSuccess(), () -> "the acquire failed: " + acquired.cause());
            channels.add(acquired.getNow());
            assertTrue(acquired.getNow().isActive());
        }
        assertTrue(pool.connectsLostBeforeCompleting() > 0,
                "no trial reproduced the stale hang-up in " + TRIALS + " tries");
    }

    @Test
    void aRefusedConnectStillFailsWithTheRefusal() throws Exception {
        int port;
        try (ServerSocket closed = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = closed.getLocalPort();
        }
        UpstreamPool pool = new UpstreamPool(Transport.EPOLL, 60);
        Origin origin = new Origin(false, "127.0.0.1", port, "");
        CompletableFuture<Future<Channel>> started = new CompletableFuture<>();
        loop.execute(() -> started.complete(pool.acquire(origin, loop, 2_000, true)));
        Future<Channel> acquired = started.get(5, TimeUnit.SECONDS);
        assertTrue(acquired.await(5, TimeUnit.SECONDS));
        assertInstanceOf(java.net.ConnectException.class, acquired.cause());
        assertEquals(0, pool.connectsLostBeforeCompleting());
    }

    /**
     * Connects a victim and a trigger, then holds the event loop while the trigger's peer sends a byte and,
     * just after, the victim's peer hangs up, so both events come out of one {@code epoll_wait}, the
     * trigger's first. The trigger's handler closes the victim (whose descriptor it records in
     * {@code fds[0]}) and runs {@code next}, whose connect gets the lowest free descriptor.
     */
    private Future<Channel> inOneBatchAfterClosingAConnection(int[] fds, Supplier<Future<Channel>> next)
            throws Exception {
        CompletableFuture<Future<Channel>> result = new CompletableFuture<>();
        Channel victim = connect(new ChannelInboundHandlerAdapter());
        Socket victimPeer = peerOf(victim);
        Channel trigger = connect(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
                fds[0] = ((EpollSocketChannel) victim).fd().intValue();
                victim.close();
                try {
                    result.complete(next.get());
                } catch (RuntimeException e) {
                    result.completeExceptionally(e);
                }
            }
        });
        Socket triggerPeer = peerOf(trigger);
        CompletableFuture<Void> holding = new CompletableFuture<>();
        loop.execute(() -> {
            holding.complete(null);
            sleep(150);
        });
        holding.get(5, TimeUnit.SECONDS);
        sleep(20);
        triggerPeer.getOutputStream().write('x');
        triggerPeer.getOutputStream().flush();
        sleep(20);
        victimPeer.close();
        Future<Channel> f = result.get(5, TimeUnit.SECONDS);
        channels.add(trigger);
        return f;
    }

    /** The accepted socket at the other end of {@code ch}; other accepted sockets are kept to be closed. */
    private Socket peerOf(Channel ch) throws InterruptedException {
        int port = ((java.net.InetSocketAddress) ch.localAddress()).getPort();
        while (true) {
            Socket s = accepted.poll(5, TimeUnit.SECONDS);
            if (s == null) {
                throw new AssertionError("no accepted socket for " + ch);
            }
            peers.add(s);
            if (s.getPort() == port) {
                return s;
            }
        }
    }

    private Channel connect(ChannelInboundHandlerAdapter handler) throws InterruptedException {
        Channel ch = new Bootstrap().group(loop).channel(EpollSocketChannel.class).handler(handler)
                .connect(server.getLocalSocketAddress()).sync().channel();
        channels.add(ch);
        return ch;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
