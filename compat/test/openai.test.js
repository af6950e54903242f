// openai-node, unchanged, against the gateway: OpenAI models, and a Claude model through translation.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { assertAbortBilled, assertBilled } from '../lib/check.js';
import { BROKE_KEY, KEY, capturingFetch, eventually, startGateway } from '../lib/gateway.js';
import { CITY, USAGE } from '../lib/standins.js';

let gateway;
let client;
const client_ = (apiKey) => new OpenAI({ baseURL: `${gateway.base}/v1`, apiKey, maxRetries: 0 });
const id = (response) => response.headers.get('x-request-id');
const weather = [{ type: 'function', function: { name: 'get_weather', description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];

/** Reads `deltas` content deltas of `stream`, then aborts it (the SDK ends the iteration, or throws). */
async function leaveAfter(stream, controller, deltas) {
  let seen = 0;
  try {
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content && ++seen === deltas) controller.abort();
    }
  } catch (e) {
    if (!controller.signal.aborted) throw e;
  }
  assert.equal(seen, deltas);
}

before(async () => {
  gateway = await startGateway();
  client = client_(KEY);
});
after(() => gateway?.stop());

test('plain chat completion', async () => {
  const { data, response } = await client.chat.completions
    .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
  assert.equal(data.choices[0].message.content, 'Hello from the stand-in.');
  assertBilled(await gateway.record(id(response)), { model: 'gpt-4o-mini', input: USAGE.openai.prompt_tokens,
    output: USAGE.openai.completion_tokens });
});

test('streamed chat completion', async () => {
  const { data: stream, response } = await client.chat.completions
    .create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  assert.equal(text, 'Hello from the stand-in.');
  assertBilled(await gateway.record(id(response)), { model: 'gpt-4o-mini', input: USAGE.openai.prompt_tokens,
    output: USAGE.openai.completion_tokens });
});

test('stream aborted mid-way', async () => {
  const controller = new AbortController();
  const { data: stream, response } = await client.chat.completions.create(
    { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'LONG answer please' }] },
    { signal: controller.signal }).withResponse();
  await leaveAfter(stream, controller, 5);
  const record = await eventually(async () => {
    const r = await gateway.record(id(response));
    assert.equal(r.status, 'client_cancelled');
    return r;
  });
  assertAbortBilled(record, { model: 'gpt-4o-mini' });
});

test('tools', async () => {
  const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', tools: weather,
    messages: [{ role: 'user', content: 'Weather in Paris?' }] }).withResponse();
  assert.equal(data.choices[0].message.tool_calls[0].function.name, 'get_weather');
  const record = await gateway.record(id(response));
  assert.equal(record.finish_reason, 'tool_calls');
  assertBilled(record, { model: 'gpt-4o-mini', input: USAGE.openaiTool.prompt_tokens, output: USAGE.openaiTool.completion_tokens });
});

test('structured output with .parse, translated to a Claude model', async () => {
  const City = z.object({ city: z.string(), population: z.number() });
  const { data, response } = await client.chat.completions.parse({ model: 'claude-sonnet-4-5',
    messages: [{ role: 'user', content: 'Which city?' }], response_format: zodResponseFormat(City, 'city') }).withResponse();
  assert.deepEqual(data.choices[0].message.parsed, CITY);
  const upstream = gateway.standins.requests.findLast((r) => r.path === '/anthropic/v1/messages');
  assert.equal(upstream.body.output_config.format.type, 'json_schema');
  assertBilled(await gateway.record(id(response)), { model: 'claude-sonnet-4-5', input: USAGE.anthropic.input_tokens,
    output: USAGE.anthropic.output_tokens });
});

test('streamed chat translated to a Claude model, aborted mid-way', async () => {
  const controller = new AbortController();
  const { data: stream, response } = await client.chat.completions.create(
    { model: 'claude-sonnet-4-5', stream: true, messages: [{ role: 'user', content: 'LONG answer please' }] },
    { signal: controller.signal }).withResponse();
  await leaveAfter(stream, controller, 9);
  const record = await eventually(async () => {
    const r = await gateway.record(id(response));
    assert.equal(r.status, 'client_cancelled');
    return r;
  });
  assertAbortBilled(record, { model: 'claude-sonnet-4-5', input: USAGE.anthropic.input_tokens });
});

test('embeddings', async () => {
  const { data, response } = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] })
    .withResponse();
  assert.equal(data.data.length, 2);
  assertBilled(await gateway.record(id(response)), { model: 'text-embedding-3-small',
    input: USAGE.openaiEmbedding.prompt_tokens, output: 0 });
});

test('models.retrieve', async () => {
  assert.equal((await client.models.retrieve('claude-sonnet-4-5')).id, 'claude-sonnet-4-5');
  await assert.rejects(client.models.retrieve('gpt-nope'), OpenAI.NotFoundError);
});

test('errors: 401, 402, 404', async () => {
  const ask = (c, model = 'gpt-4o-mini') => c.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }] });
  await assert.rejects(ask(client_('tw-wrong')), (e) => e instanceof OpenAI.AuthenticationError && /invalid API key/.test(e.message));
  await assert.rejects(ask(client_(BROKE_KEY)), (e) => e instanceof OpenAI.APIError && e.status === 402 && /budget/.test(e.message));
  await assert.rejects(ask(client, 'gpt-nope'), (e) => e instanceof OpenAI.NotFoundError && /gpt-nope/.test(e.message));
});
