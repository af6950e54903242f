// The Vercel AI SDK (ai with @ai-sdk/openai and @ai-sdk/anthropic), unchanged, against the gateway.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { APICallError, embed, generateObject, generateText, streamText, tool } from 'ai';
import { z } from 'zod';
import { assertAbortBilled, assertBilled } from '../lib/check.js';
import { BROKE_KEY, KEY, capturingFetch, eventually, startGateway } from '../lib/gateway.js';
import { CITY, USAGE } from '../lib/standins.js';

let gateway;
let seen;
const openai = (apiKey = KEY) => createOpenAI({ baseURL: `${gateway.base}/v1`, apiKey, fetch: seen.fetch });
const anthropic = (apiKey = KEY) => createAnthropic({ baseURL: `${gateway.base}/v1`, apiKey, fetch: seen.fetch });
const weather = tool({ description: 'The weather in a city', inputSchema: z.object({ city: z.string() }) });

before(async () => {
  gateway = await startGateway();
  seen = capturingFetch();
});
after(() => gateway?.stop());

test('generateText (OpenAI chat)', async () => {
  const { text } = await generateText({ model: openai().chat('gpt-4o-mini'), prompt: 'Hi', maxRetries: 0 });
  assert.equal(text, 'Hello from the stand-in.');
  assertBilled(await gateway.record(seen.last()), { model: 'gpt-4o-mini', input: USAGE.openai.prompt_tokens,
    output: USAGE.openai.completion_tokens });
});

test('streamText (Anthropic)', async () => {
  const result = streamText({ model: anthropic()('claude-sonnet-4-5'), prompt: 'Hi', maxRetries: 0 });
  let text = '';
  for await (const delta of result.textStream) text += delta;
  assert.equal(text, 'Hello from the stand-in.');
  assertBilled(await gateway.record(seen.last()), { model: 'claude-sonnet-4-5', input: USAGE.anthropic.input_tokens,
    output: USAGE.anthropic.output_tokens });
});

test('streamText aborted mid-way (Anthropic)', async () => {
  const controller = new AbortController();
  const result = streamText({ model: anthropic()('claude-sonnet-4-5'), prompt: 'LONG answer please',
    abortSignal: controller.signal, maxRetries: 0, onError: () => {} });
  let deltas = 0;
  try {
    for await (const delta of result.textStream) if (delta && ++deltas === 9) controller.abort();
  } catch (e) {
    if (!controller.signal.aborted) throw e;
  }
  assert.ok(deltas >= 9);
  const id = seen.last();
  const record = await eventually(async () => {
    const r = await gateway.record(id);
    assert.equal(r.status, 'client_cancelled');
    return r;
  });
  assertAbortBilled(record, { model: 'claude-sonnet-4-5', input: USAGE.anthropic.input_tokens });
});

test('tools (OpenAI chat and Anthropic)', async () => {
  const viaOpenAi = await generateText({ model: openai().chat('gpt-4o-mini'), prompt: 'Weather in Paris?',
    tools: { get_weather: weather }, maxRetries: 0 });
  assert.equal(viaOpenAi.toolCalls[0].toolName, 'get_weather');
  assertBilled(await gateway.record(seen.last()), { model: 'gpt-4o-mini', input: USAGE.openaiTool.prompt_tokens,
    output: USAGE.openaiTool.completion_tokens });

  const viaAnthropic = await generateText({ model: anthropic()('claude-sonnet-4-5'), prompt: 'Weather in Paris?',
    tools: { get_weather: weather }, maxRetries: 0 });
  assert.equal(viaAnthropic.toolCalls[0].toolName, 'get_weather');
  assertBilled(await gateway.record(seen.last()), { model: 'claude-sonnet-4-5', input: USAGE.anthropicTool.input_tokens,
    output: USAGE.anthropicTool.output_tokens });
});

test('generateObject through OpenAI chat, translated to a Claude model', async () => {
  const { object } = await generateObject({ model: openai().chat('claude-sonnet-4-5'), prompt: 'Which city?',
    schema: z.object({ city: z.string(), population: z.number() }), maxRetries: 0 });
  assert.deepEqual(object, CITY);
  const upstream = gateway.standins.requests.findLast((r) => r.path === '/anthropic/v1/messages');
  assert.equal(upstream.body.output_config.format.type, 'json_schema');
  assertBilled(await gateway.record(seen.last()), { model: 'claude-sonnet-4-5', input: USAGE.anthropic.input_tokens,
    output: USAGE.anthropic.output_tokens });
});

test('embed', async () => {
  const { embedding } = await embed({ model: openai().embedding('text-embedding-3-small'), value: 'a', maxRetries: 0 });
  assert.equal(embedding.length, 3);
  assertBilled(await gateway.record(seen.last()), { model: 'text-embedding-3-small',
    input: USAGE.openaiEmbedding.prompt_tokens, output: 0 });
});

test('errors: 401, 402, 404 show the gateway\'s message, for the Anthropic provider too', async () => {
  const failing = (status, message) => (e) => APICallError.isInstance(e.lastError ?? e)
    && (e.lastError ?? e).statusCode === status && message.test((e.lastError ?? e).message);
  for (const provider of [(key) => anthropic(key)('claude-sonnet-4-5'), (key) => openai(key).chat('gpt-4o-mini')]) {
    await assert.rejects(generateText({ model: provider('tw-wrong'), prompt: 'Hi', maxRetries: 0 }),
      failing(401, /invalid API key/));
    await assert.rejects(generateText({ model: provider(BROKE_KEY), prompt: 'Hi', maxRetries: 0 }),
      failing(402, /budget/));
  }
  await assert.rejects(generateText({ model: anthropic()('claude-nope'), prompt: 'Hi', maxRetries: 0 }),
    failing(404, /claude-nope/));
  await assert.rejects(generateText({ model: openai().chat('gpt-nope'), prompt: 'Hi', maxRetries: 0 }),
    failing(404, /gpt-nope/));
});
