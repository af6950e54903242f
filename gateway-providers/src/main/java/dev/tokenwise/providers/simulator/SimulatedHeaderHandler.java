package dev.tokenwise.providers.simulator;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpResponse;

/**
 * Labels every response as simulated with {@code X-Tokenwise-Simulated: true}, including those Netty's
 * codecs write themselves (such as {@code 413} from the aggregator).
 */
@ChannelHandler.Sharable
final class SimulatedHeaderHandler extends ChannelOutboundHandlerAdapter {

    static final String HEADER = "X-Tokenwise-Simulated";
    static final SimulatedHeaderHandler INSTANCE = new SimulatedHeaderHandler();

    private SimulatedHeaderHandler() {
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof HttpResponse response) {
            response.headers().set(HEADER, "true");
        }
        ctx.write(msg, promise);
    }
}
