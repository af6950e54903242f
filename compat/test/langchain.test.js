// LangChain.js (@langchain/openai with @langchain/core), unchanged, against the gateway.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { z } from 'zod';
import { assertAbortBilled, assertBilled } from '../lib/check.js';
import { BROKE_KEY, KEY, capturingFetch, eventually, startGateway } from '../lib/gateway.js';
import { CITY, USAGE } from '../lib/standins.js';

let gateway;
let seen;
const chat = (model, apiKey = KEY) => new ChatOpenAI({ model, apiKey, maxRetries: 0,
  configuration: { baseURL: `${gateway.base}/v1`, fetch: seen.fetch } });

before(async () => {
  gateway = await startGateway();
  seen = capturingFetch();
});
after(() => gateway?.stop());

test('invoke', async () => {
  const answer = await chat('gpt-4o-mini').invoke('Hi');
  assert.equal(answer.content, 'Hello from the stand-in.');
  assertBilled(await gateway.record(seen.last()), { model: 'gpt-4o-mini', input: USAGE.openai.prompt_tokens,
    output: USAGE.openai.completion_tokens });
});

test('stream, translated to a Claude model', async () => {
  let text = '';
  for await (const chunk of await chat('claude-sonnet-4-5').stream('Hi')) text += chunk.content;
  assert.equal(text, 'Hello from the stand-in.');
  assertBilled(await gateway.record(seen.last()), { model: 'claude-sonnet-4-5', input: USAGE.anthropic.input_tokens,
    output: USAGE.anthropic.output_tokens });
});

test('stream aborted mid-way', async () => {
  const controller = new AbortController();
  let chunks = 0;
  try {
    for await (const chunk of await chat('claude-sonnet-4-5').stream('LONG answer please', { signal: controller.signal })) {
      if (chunk.content && ++chunks === 9) controller.abort();
    }
  } catch (e) {
    if (!controller.signal.aborted) throw e;
  }
  assert.equal(chunks, 9);
  const id = seen.last();
  const record = await eventually(async () => {
    const r = await gateway.record(id);
    assert.equal(r.status, 'client_cancelled');
    return r;
  });
  assertAbortBilled(record, { model: 'claude-sonnet-4-5', input: USAGE.anthropic.input_tokens });
});

test('bindTools', async () => {
  const model = chat('gpt-4o-mini').bindTools([{ type: 'function', function: { name: 'get_weather',
    description: 'The weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]);
  const answer = await model.invoke('Weather in Paris?');
  assert.equal(answer.tool_calls[0].name, 'get_weather');
  assertBilled(await gateway.record(seen.last()), { model: 'gpt-4o-mini', input: USAGE.openaiTool.prompt_tokens,
    output: USAGE.openaiTool.completion_tokens });
});

test('withStructuredOutput, translated to a Claude model', async () => {
  const structured = chat('claude-sonnet-4-5').withStructuredOutput(z.object({ city: z.string(), population: z.number() }));
  assert.deepEqual(await structured.invoke('Which city?'), CITY);
  const upstream = gateway.standins.requests.findLast((r) => r.path === '/anthropic/v1/messages');
  assert.equal(upstream.body.output_config.format.type, 'json_schema');
  assertBilled(await gateway.record(seen.last()), { model: 'claude-sonnet-4-5', input: USAGE.anthropic.input_tokens,
    output: USAGE.anthropic.output_tokens });
});

test('withStructuredOutput in JSON mode, translated to a Claude model', async () => {
  const structured = chat('claude-sonnet-4-5').withStructuredOutput(
    z.object({ city: z.string(), population: z.number() }), { method: 'jsonMode' });
  assert.deepEqual(await structured.invoke('Which city? Answer in JSON.'), CITY);
  assertBilled(await gateway.record(seen.last()), { model: 'claude-sonnet-4-5', input: USAGE.anthropicTool.input_tokens,
    output: USAGE.anthropicTool.output_tokens });
});

test('OpenAIEmbeddings', async () => {
  const embeddings = new OpenAIEmbeddings({ model: 'text-embedding-3-small', apiKey: KEY, maxRetries: 0,
    configuration: { baseURL: `${gateway.base}/v1`, fetch: seen.fetch } });
  assert.equal((await embeddings.embedQuery('a')).length, 3);
  assertBilled(await gateway.record(seen.last()), { model: 'text-embedding-3-small',
    input: USAGE.openaiEmbedding.prompt_tokens, output: 0 });
});

test('errors: 401, 402, 404', async () => {
  const failing = (status, message) => (e) => e.status === status && message.test(e.message);
  await assert.rejects(chat('gpt-4o-mini', 'tw-wrong').invoke('Hi'), failing(401, /invalid API key/));
  await assert.rejects(chat('gpt-4o-mini', BROKE_KEY).invoke('Hi'), failing(402, /budget/));
  await assert.rejects(chat('gpt-nope').invoke('Hi'), failing(404, /gpt-nope/));
});
