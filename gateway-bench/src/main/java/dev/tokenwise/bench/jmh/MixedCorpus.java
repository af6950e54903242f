package dev.tokenwise.bench.jmh;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A mixed text for tokenizer benchmarks, written for this project: English prose, source code (Java,
 * Python, SQL, JSON, shell), Chinese, Japanese and Korean prose, and lines dense with emoji (including
 * ZWJ sequences, skin tones and flags), plus one {@code <|endoftext|>} that must be counted as ordinary text.
 *
 * <p>{@link #build} strings the pieces together in a fixed order that rotates from section to section,
 * each section headed by its number, until the UTF-8 size reaches the target; the result is the same on
 * every run.
 */
public final class MixedCorpus {

    /** What a piece of the corpus is, for the composition table. */
    public enum Kind { PROSE, CODE, CJK, EMOJI }

    /** One piece of text and its kind. */
    public record Piece(Kind kind, String text) {
    }

    static final List<Piece> PIECES = List.of(
            new Piece(Kind.PROSE, """
                    When a team first puts a gateway in front of its language models, the questions are rarely about \
                    latency. They are about money: who spent how much, on which model, for which feature, and whether \
                    anyone will notice before the invoice arrives. A gateway that counts every token on the way through \
                    can answer those questions to the cent, but only if counting is cheap enough to do on every call."""),
            new Piece(Kind.PROSE, """
                    Budgets are enforced before a request leaves the building. The gateway estimates the worst case \
                    (every prompt token at the input price, plus the largest answer the request allows at the output \
                    price), takes that amount from the team's remaining budget with a single atomic operation, and \
                    gives back the difference once the provider reports what the call really cost. Two hundred \
                    concurrent calls against a budget worth fifty of them admit exactly fifty."""),
            new Piece(Kind.PROSE, """
                    The hard part is not arithmetic; it is the tail. A median of a few microseconds means little if \
                    one call in a thousand waits 40 ms for a lock, a full queue, or a garbage collection triggered by \
                    somebody else's allocation. That is why the hot path allocates little, never blocks an event loop, \
                    and hands slow work (tokenizing a 60 kB prompt, writing the ledger) to threads that may block."""),
            new Piece(Kind.PROSE, """
                    Q: Why not trust the provider's usage numbers alone?
                    A: We do, when they arrive. But streams get cancelled, connections drop, and some providers only \
                    report usage in the final event, which a client that disconnects early never sees. In those cases \
                    the local count is the only record of what was produced, and it is usually within a token or two \
                    of what the provider bills. "Usually" is doing real work in that sentence; that's why it's tested."""),
            new Piece(Kind.CODE, """
                    ```java
                    public long worstCaseNanos(long inputTokens, long outputTokens) {
                        long nanoMtok = Math.addExact(
                                Math.multiplyExact(inputTokens, Math.max(inputNanosPerMtok, cacheWriteNanosPerMtok)),
                                Math.multiplyExact(outputTokens, Math.max(outputNanosPerMtok, reasoningNanosPerMtok)));
                        return (nanoMtok + MTOK - 1) / MTOK; // round up: a reservation must never be short
                    }

                    Window tryReserve(long nanos, long nowMillis) {
                        Window w = current(nowMillis);
                        while (true) {
                            long before = w.remainingNanos.get();
                            if (before - nanos < 0) return null;
                            if (w.remainingNanos.compareAndSet(before, before - nanos)) return w;
                        }
                    }
                    ```"""),
            new Piece(Kind.CODE, """
                    ```python
                    import json, statistics
                    from collections import defaultdict

                    def spend_by_team(path: str) -> dict[str, float]:
                        \"\"\"Sum cost_usd per team from a JSON-lines export of the ledger.\"\"\"
                        totals: dict[str, float] = defaultdict(float)
                        with open(path, encoding="utf-8") as f:
                            for line in f:
                                row = json.loads(line)
                                if row.get("status") != "ok":
                                    continue
                                totals[row["team"]] += row["cost_nanos"] / 1e9
                        return dict(sorted(totals.items(), key=lambda kv: -kv[1]))

                    if __name__ == "__main__":
                        for team, usd in spend_by_team("usage.jsonl").items():
                            print(f"{team:<20} ${usd:>10.4f}")
                    ```"""),
            new Piece(Kind.CODE, """
                    ```sql
                    SELECT team, model,
                           COUNT(*)                       AS requests,
                           SUM(input_tokens)              AS input_tokens,
                           SUM(output_tokens)             AS output_tokens,
                           ROUND(SUM(cost_nanos) / 1e9, 6) AS cost_usd
                      FROM usage
                     WHERE created_at_ms >= strftime('%s', 'now', 'start of month') * 1000
                     GROUP BY team, model
                     ORDER BY cost_usd DESC
                     LIMIT 25;
                    ```"""),
            new Piece(Kind.CODE, """
                    {"id":"chatcmpl-7Qx2","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-mini",\
                    "choices":[{"index":0,"delta":{"content":" reservation"},"logprobs":null,"finish_reason":null}],\
                    "usage":null}
                    $ curl -sS http://127.0.0.1:8080/v1/chat/completions -H "Authorization: Bearer $TW_KEY" \\
                        -H 'content-type: application/json' -d @body.json | jq '.usage | {prompt_tokens, completion_tokens}'
                    for f in logs/*.log; do grep -c 'budget_exceeded' "$f"; done | paste -sd+ | bc"""),
            new Piece(Kind.CJK, """
                    团队第一次在大语言模型前面部署网关时，最关心的往往不是延迟，而是费用：谁花了多少钱，用的是哪个模型，\
                    为了哪个功能，以及能否在账单到来之前发现问题。网关在转发每一次调用时都统计词元数量，就能把这些问题\
                    精确到分，但前提是统计本身足够便宜，可以在每一次调用上都做。预算在请求发出之前就会被执行：先按最坏\
                    情况预留费用，调用结束后再按实际用量结算，多退少补。"""),
            new Piece(Kind.CJK, """
                    ゲートウェイはリクエストを転送する前に、最悪の場合の費用を見積もり、チームの残り予算から一度の原子的な\
                    操作で差し引きます。プロバイダーが実際の使用量を報告すると、その差額を予算に戻します。ストリームが途中で\
                    切断された場合でも、それまでに生成されたトークンの分は必ず記録されます。東京リージョンの平均応答時間は\
                    約三百ミリ秒で、そのうちゲートウェイが占める割合は一パーセント未満であるべきです。"""),
            new Piece(Kind.CJK, """
                    게이트웨이는 모든 호출의 토큰을 세고, 가격을 매기고, 예산을 관리합니다. 팀별 예산이 바닥나면 요청은 \
                    업스트림으로 전달되지 않고 402 오류와 함께 남은 금액을 알려 줍니다. 스트리밍 응답이 중간에 끊어져도 \
                    이미 생성된 토큰만큼은 반드시 기록되며, 재시작 후에도 장부는 그대로 남아 있습니다."""),
            new Piece(Kind.EMOJI, """
                    Deploy status: ✅ api 🚀 worker ⚠️ ledger (WAL checkpoint slow) ❌ nightly-export 🔥🔥
                    Team reactions: 👍🏽 x12 🎉 x4 😅 x2 👩🏻‍💻👨🏿‍💻🧑‍🔧 on-call 🌍🇯🇵🇰🇷🇨🇳🇩🇪🇧🇷 regions
                    Budget alerts 📉💸: team-payments 81% 🟡, team-search 97% 🔴, team-docs 12% 🟢 ... 🤔💭
                    👨‍👩‍👧‍👦 family plan, 🏳️‍🌈 pride build, 🧪🧬🔬 eval suite, ☕️🍵🧋 coffee chat, 🐛🐞🪲 bug bash"""),
            new Piece(Kind.PROSE, """
                    Tokenizers disagree in small ways that add up. The same sentence costs a different number of tokens \
                    under cl100k_base and o200k_base, and text with many numbers, URLs or non-Latin scripts differs the \
                    most. A prompt that contains the literal string <|endoftext|> must be counted as ordinary characters, \
                    exactly as the provider counts it, rather than rejected or read as a control token. Version 2.4.1 \
                    changed the default from 1,024 to 4,096 cached entries (see https://example.com/changelog#v2-4-1)."""));

    private MixedCorpus() {
    }

    /** The pieces in a rotating order, each section numbered, until at least {@code targetUtf8Bytes}. */
    public static String build(int targetUtf8Bytes) {
        StringBuilder out = new StringBuilder(targetUtf8Bytes);
        int bytes = 0;
        for (int section = 0; bytes < targetUtf8Bytes; section++) {
            String heading = "\n\n## Section " + (section + 1) + "\n\n";
            out.append(heading);
            bytes += heading.length();
            for (int i = 0; i < PIECES.size() && bytes < targetUtf8Bytes; i++) {
                String text = PIECES.get((section * 5 + i) % PIECES.size()).text();
                out.append(text).append("\n\n");
                bytes += text.getBytes(StandardCharsets.UTF_8).length + 2;
            }
        }
        return out.toString().strip();
    }

    /** UTF-8 bytes of each kind in {@link #PIECES}, for describing the corpus. */
    public static String composition() {
        long[] perKind = new long[Kind.values().length];
        long total = 0;
        for (Piece piece : PIECES) {
            int n = piece.text().getBytes(StandardCharsets.UTF_8).length;
            perKind[piece.kind().ordinal()] += n;
            total += n;
        }
        StringBuilder s = new StringBuilder();
        for (Kind kind : Kind.values()) {
            s.append(String.format("%s %.0f%% ", kind.name().toLowerCase(), 100.0 * perKind[kind.ordinal()] / total));
        }
        return s.toString().strip() + " (of UTF-8 bytes)";
    }
}
