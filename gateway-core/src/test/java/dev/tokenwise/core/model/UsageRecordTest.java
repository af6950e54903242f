package dev.tokenwise.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class UsageRecordTest {

    @Test
    void buildsARecordByNameWithTheDefaultsOfACallAnsweredAtItsFirstAttempt() {
        UsageRecord r = UsageRecord.builder().id("req_1").team("a").keyId("a1").model("m").provider("p")
                .endpoint(Endpoint.CHAT_COMPLETIONS).status(CallStatus.OK).httpStatus(200).usage(TokenUsage.of(3, 4))
                .usageFromProvider(true).costNanos(42).build();
        assertEquals("m", r.requestedModel(), "the model asked for is the one that answered unless said otherwise");
        assertEquals(1, r.attempts());
        assertEquals(0, r.flags());
        assertNull(r.cache());
        assertEquals(42, r.costNanos());
        assertEquals(TokenUsage.of(3, 4), r.usage());
    }

    @Test
    void copiesEveryValueThroughItsBuilderAndChangesOnlyWhatIsSet() {
        UsageRecord r = UsageRecord.builder().id("req_1").team("a").keyId("a1").model("m2").provider("p")
                .endpoint(Endpoint.EMBEDDINGS).status(CallStatus.UPSTREAM_ERROR).httpStatus(503).usage(TokenUsage.ZERO)
                .requestedModel("m1").attempts(3).flags(RecordFlag.USAGE_REJECTED.bit()).priceVersion("abc.flex")
                .inputTextBytes(9).savedNanos(5).promptPrefixHash(-7).build();
        assertEquals(r, r.toBuilder().build());
        UsageRecord flagged = r.withFlags(RecordFlag.COUNT_BOUNDED.bit());
        assertEquals(RecordFlag.USAGE_REJECTED.bit() | RecordFlag.COUNT_BOUNDED.bit(), flagged.flags());
        assertEquals(r, flagged.toBuilder().flags(r.flags()).build());
        assertSame(r, r.withFlags(RecordFlag.USAGE_REJECTED.bit()), "nothing new: the same record");
        assertThrows(IllegalArgumentException.class, () -> r.toBuilder().inputTextBytes(-1).build());
    }
}
