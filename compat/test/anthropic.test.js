// @anthropic-ai/sdk, unchanged, against the gateway's native /v1/messages and /v1/messages/count_tokens.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { assertAbortBilled, assertBilled } from '../lib/check.js';
import { BROKE_KEY, KEY, eventually, startGateway } from '../lib/gateway.js';
import { CITY, USAGE } from '../lib/standins.js';

let gateway;
let client;
const sdk = (apiKey) => new Anthropic({ baseURL: gateway.base, apiKey, maxRetries: 0 });
const id = (response) => response.headers.get('x-request-id');
const MODEL = 'claude-sonnet-4-5';
const ask = (content, extra = {}) => ({ model: MODEL, max_tokens: 256, messages: [{ role: 'user', content }], ...extra });

before(async () => {
  gateway = await startGateway();
  client = sdk(KEY);
});
after(() => gateway?.stop());

test('plain message', async () => {
  const { data, response } = await client.messages.create(ask('Hi')).withResponse();
  assert.equal(data.content[0].text, 'Hello from the stand-in.');
  assertBilled(await gateway.record(id(response)), { model: MODEL, input: USAGE.anthropic.input_tokens,
    output: USAGE.anthropic.output_tokens, endpoint: '/v1/messages' });
});

test('streamed message', async () => {
  const stream = client.messages.stream(ask('Hi'));
  const message = await stream.finalMessage();
  assert.equal(message.content[0].text, 'Hello from the stand-in.');
  assert.equal(message.usage.output_tokens, USAGE.anthropic.output_tokens);
  const record = await gateway.record(id(stream.response ?? (await stream.withResponse()).response));
  assertBilled(record, { model: MODEL, input: USAGE.anthropic.input_tokens, output: USAGE.anthropic.output_tokens });
});

test('stream aborted mid-way is billed for the text relayed, not message_start\'s 1', async () => {
  const { data: stream, response } = await client.messages.create(ask('LONG answer please', { stream: true })).withResponse();
  let deltas = 0;
  try {
    for await (const event of stream) {
      if (event.type === 'content_block_delta' && ++deltas === 9) stream.controller.abort();
    }
  } catch (e) {
    if (!stream.controller.signal.aborted) throw e;
  }
  assert.equal(deltas, 9);
  const record = await eventually(async () => {
    const r = await gateway.record(id(response));
    assert.equal(r.status, 'client_cancelled');
    return r;
  });
  assertAbortBilled(record, { model: MODEL, input: USAGE.anthropic.input_tokens });
  assert.ok(record.output_tokens > 1, JSON.stringify(record));
});

test('tools', async () => {
  const { data, response } = await client.messages.create(ask('Weather in Paris?', { tools: [{ name: 'get_weather',
    description: 'The weather in a city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }] }))
    .withResponse();
  assert.equal(data.content[0].type, 'tool_use');
  const record = await gateway.record(id(response));
  assert.equal(record.finish_reason, 'tool_calls');
  assertBilled(record, { model: MODEL, input: USAGE.anthropicTool.input_tokens, output: USAGE.anthropicTool.output_tokens });
});

test('structured output (output_config.format), native', async () => {
  const { data, response } = await client.messages.create(ask('Which city?', { output_config: { format: {
    type: 'json_schema', schema: { type: 'object', properties: { city: { type: 'string' }, population: { type: 'number' } },
      required: ['city', 'population'], additionalProperties: false } } } })).withResponse();
  assert.deepEqual(JSON.parse(data.content[0].text), CITY);
  assertBilled(await gateway.record(id(response)), { model: MODEL, input: USAGE.anthropic.input_tokens,
    output: USAGE.anthropic.output_tokens });
});

test('countTokens is answered in Anthropic\'s shape and booked at no cost', async () => {
  const { data, response } = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] })
    .withResponse();
  assert.equal(data.input_tokens, USAGE.anthropicCount.input_tokens);
  const record = await gateway.record(id(response));
  assert.equal(record.endpoint, '/v1/messages/count_tokens');
  assert.equal(record.cost_nanos, 0);
  assert.equal(record.status, 'ok');
});

test('errors: 401, 402, 404 in Anthropic\'s error shape', async () => {
  const shaped = (type, cls, status, message) => (e) => e instanceof cls && e.status === status
    && e.error?.type === 'error' && e.error?.error?.type === type && message.test(e.error.error.message);
  await assert.rejects(sdk('tw-wrong').messages.create(ask('Hi')),
    shaped('authentication_error', Anthropic.AuthenticationError, 401, /invalid API key/));
  await assert.rejects(sdk(BROKE_KEY).messages.create(ask('Hi')), shaped('billing_error', Anthropic.APIError, 402, /budget/));
  await assert.rejects(client.messages.create({ ...ask('Hi'), model: 'claude-nope' }),
    shaped('not_found_error', Anthropic.NotFoundError, 404, /claude-nope/));
  await assert.rejects(sdk('tw-wrong').messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] }),
    shaped('authentication_error', Anthropic.AuthenticationError, 401, /invalid API key/));
});
