package dev.tokenwise.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tokenwise.core.error.ErrorType;
import dev.tokenwise.core.error.GatewayException;
import dev.tokenwise.core.model.Endpoint;
import dev.tokenwise.core.model.UsageRecord;
import dev.tokenwise.core.spi.AdmissionStage;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AdmissionTest {
    private static final AdmissionStage.Call CALL = new AdmissionStage.Call("req_1", "team", "key", "m",
            Endpoint.CHAT_COMPLETIONS, 10, 20, 0);

    private final List<String> events = new ArrayList<>();

    /** A stage that records what happens to its lease, and optionally refuses or fails. */
    private AdmissionStage stage(String name, boolean refuse, boolean leaseThrows) {
        return call -> {
            if (refuse) {
                throw new GatewayException(ErrorType.RATE_LIMITED, name + " refused");
            }
            events.add(name + " admitted");
            return new AdmissionStage.Lease() {
                @Override
                public void decorate(HttpHeaders headers) {
                    headers.add("x-stage", name);
                }

                @Override
                public void decorateUpstream(HttpHeaders upstreamHeaders) {
                    if (leaseThrows) {
                        throw new IllegalStateException(name + " broke");
                    }
                    upstreamHeaders.add("x-upstream-stage", name);
                }

                @Override
                public void settle(UsageRecord record) {
                    events.add(name + " settled");
                    if (leaseThrows) {
                        throw new IllegalStateException(name + " broke");
                    }
                }

                @Override
                public void abort() {
                    events.add(name + " aborted");
                    if (leaseThrows) {
                        throw new IllegalStateException(name + " broke");
                    }
                }
            };
        };
    }

    @Test
    void everyStageDecoratesTheUpstreamRequestInOrderAndOneThatFailsDoesNotStopTheOthers() {
        Admission admission = new Admission("req_1");
        admission.run(List.of(stage("a", false, false), stage("b", false, true), stage("c", false, false)), CALL);
        HttpHeaders upstream = new DefaultHttpHeaders();
        admission.decorateUpstream(upstream);
        assertEquals(List.of("a", "c"), upstream.getAll("x-upstream-stage"));
    }

    @Test
    void givesBackWhatEarlierStagesTookWhenALaterOneRefuses() {
        Admission admission = new Admission("req_1");
        GatewayException refused = assertThrows(GatewayException.class, () -> admission.run(
                List.of(stage("a", false, false), stage("b", false, false), stage("c", true, false)), CALL));
        assertEquals("c refused", refused.getMessage());
        assertEquals(List.of("a admitted", "b admitted", "b aborted", "a aborted"), events);
        admission.abort();
        admission.settle(null);
        assertEquals(4, events.size(), "given back once only");
    }

    @Test
    void settlesEveryLeaseOnceInReverseOrderEvenWhenOneThrows() {
        Admission admission = new Admission("req_1");
        admission.run(List.of(stage("a", false, false), stage("b", false, true), stage("c", false, false)), CALL);
        admission.settle(null);
        admission.settle(null);
        admission.abort();
        assertEquals(List.of("a admitted", "b admitted", "c admitted", "c settled", "b settled", "a settled"), events);
    }

    @Test
    void abortsEveryLeaseWhenTheCallNeverWentUpstream() {
        Admission admission = new Admission("req_1");
        admission.run(List.of(stage("a", false, true), stage("b", false, false)), CALL);
        admission.abort();
        admission.settle(null);
        assertEquals(List.of("a admitted", "b admitted", "b aborted", "a aborted"), events);
    }

    @Test
    void addsEveryStagesHeadersToTheResponse() {
        Admission admission = new Admission("req_1");
        admission.run(List.of(stage("a", false, false), call -> AdmissionStage.Lease.NONE, stage("b", false, false)), CALL);
        HttpHeaders headers = new DefaultHttpHeaders();
        admission.decorate(headers);
        assertEquals(List.of("a", "b"), headers.getAll("x-stage"));
        assertSame(null, admission.reservation());
    }

    /** A stage whose lease answers {@code answer} (which may fail). */
    private static AdmissionStage answering(java.util.concurrent.CompletableFuture<AdmissionStage.Answer> answer) {
        return call -> new AdmissionStage.Lease() {
            @Override
            public java.util.concurrent.CompletableFuture<AdmissionStage.Answer> answer() {
                return answer;
            }
        };
    }

    @Test
    void aRemoteRefusalOfAnEarlierStageFailsTheAnswerWhateverALaterStageAnswers() {
        Admission admission = new Admission("req_1");
        java.util.concurrent.CompletableFuture<AdmissionStage.Answer> remote = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.CompletableFuture<AdmissionStage.Answer> cached = new java.util.concurrent.CompletableFuture<>();
        admission.run(List.of(answering(remote), answering(cached)), CALL);
        java.util.concurrent.CompletableFuture<AdmissionStage.Answer> decided = admission.answer();
        cached.complete(null);
        assertEquals(false, decided.isDone(), "waits for the earlier stage");
        remote.completeExceptionally(new GatewayException(ErrorType.RATE_LIMIT_EXCEEDED, "shared limit"));
        java.util.concurrent.CompletionException failed =
                assertThrows(java.util.concurrent.CompletionException.class, decided::join);
        assertEquals("shared limit", failed.getCause().getMessage());
    }

    @Test
    void aLaterStagesAnswerServesOnceTheEarlierStageAdmits() {
        Admission admission = new Admission("req_1");
        java.util.concurrent.CompletableFuture<AdmissionStage.Answer> remote = new java.util.concurrent.CompletableFuture<>();
        AdmissionStage.Answer stored = new AdmissionStage.Answer(
                UsageRecord.builder().id("req_0").team("team").keyId("key").model("m").provider("p")
                        .endpoint(Endpoint.CHAT_COMPLETIONS).status(dev.tokenwise.core.model.CallStatus.OK)
                        .httpStatus(200).build(), "application/json",
                List.of(new byte[] {'{', '}'}));
        admission.run(List.of(answering(remote), answering(
                java.util.concurrent.CompletableFuture.completedFuture(stored))), CALL);
        java.util.concurrent.CompletableFuture<AdmissionStage.Answer> decided = admission.answer();
        remote.complete(null);
        assertSame(stored, decided.join());
    }
}
