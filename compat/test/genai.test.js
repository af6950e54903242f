// @google/genai, unchanged, against the gateway's native Gemini routes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ApiError, GoogleGenAI } from '@google/genai';
import { assertAbortBilled, assertBilled } from '../lib/check.js';
import { BROKE_KEY, KEY, eventually, startGateway } from '../lib/gateway.js';
import { USAGE } from '../lib/standins.js';

let gateway;
let ai;
const sdk = (apiKey) => new GoogleGenAI({ apiKey, httpOptions: { baseUrl: gateway.base } });
const id = (response) => response.sdkHttpResponse?.headers?.['x-request-id'];
const MODEL = 'gemini-2.5-flash';

before(async () => {
  gateway = await startGateway();
  ai = sdk(KEY);
});
after(() => gateway?.stop());

test('generateContent', async () => {
  const response = await ai.models.generateContent({ model: MODEL, contents: 'Hi' });
  assert.equal(response.text, 'Hello from the stand-in.');
  assertBilled(await gateway.record(id(response)), { model: MODEL, input: USAGE.gemini.promptTokenCount,
    output: USAGE.gemini.candidatesTokenCount });
});

test('generateContentStream', async () => {
  let text = '';
  let requestId;
  for await (const chunk of await ai.models.generateContentStream({ model: MODEL, contents: 'Hi' })) {
    text += chunk.text ?? '';
    requestId ??= id(chunk);
  }
  assert.equal(text, 'Hello from the stand-in.');
  assertBilled(await gateway.record(requestId), { model: MODEL, input: USAGE.gemini.promptTokenCount,
    output: USAGE.gemini.candidatesTokenCount });
});

test('stream aborted mid-way is billed for the text relayed, not the running count', async () => {
  const controller = new AbortController();
  let requestId;
  let chunks = 0;
  try {
    for await (const chunk of await ai.models.generateContentStream({ model: MODEL, contents: 'LONG answer please',
      config: { abortSignal: controller.signal } })) {
      requestId ??= id(chunk);
      if (++chunks === 6) controller.abort();
    }
  } catch (e) {
    if (!controller.signal.aborted) throw e;
  }
  assert.equal(chunks, 6);
  const record = await eventually(async () => {
    const r = await gateway.record(requestId);
    assert.equal(r.status, 'client_cancelled');
    return r;
  });
  assertAbortBilled(record, { model: MODEL, input: USAGE.gemini.promptTokenCount });
});

test('tools', async () => {
  const response = await ai.models.generateContent({ model: MODEL, contents: 'Weather in Paris?', config: {
    tools: [{ functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: { type: 'object',
      properties: { city: { type: 'string' } } } }] }] } });
  assert.equal(response.functionCalls[0].name, 'get_weather');
  const record = await gateway.record(id(response));
  assert.equal(record.finish_reason, 'tool_calls');
  assertBilled(record, { model: MODEL, input: USAGE.geminiTool.promptTokenCount, output: USAGE.geminiTool.candidatesTokenCount });
});

test('embedContent (batchEmbedContents) priced at the catalog\'s input price', async () => {
  const response = await ai.models.embedContent({ model: 'gemini-embedding-001', contents: ['first text', 'second text'] });
  assert.equal(response.embeddings.length, 2);
  const record = await gateway.record(id(response));
  assert.equal(record.endpoint, '/v1beta/models/{model}:batchEmbedContents');
  // Gemini reports no usage for embeddings: the gateway's count of the texts is billed.
  assert.equal(record.usage_source, 'local');
  assert.ok(record.input_tokens >= 4, JSON.stringify(record));
  assertBilled(record, { model: 'gemini-embedding-001', input: record.local_input_tokens, output: 0 });
});

test('countTokens is booked at no cost', async () => {
  const response = await ai.models.countTokens({ model: MODEL, contents: 'How many tokens?' });
  assert.equal(response.totalTokens, USAGE.geminiCount.totalTokens);
  const record = await gateway.record(id(response));
  assert.equal(record.endpoint, '/v1beta/models/{model}:countTokens');
  assert.equal(record.cost_nanos, 0);
});

test('errors: 401, 402, 404 in Google\'s error shape', async () => {
  const shaped = (status, googleStatus, message) => (e) => e instanceof ApiError && e.status === status
    && JSON.parse(e.message).error.status === googleStatus && message.test(JSON.parse(e.message).error.message);
  await assert.rejects(sdk('tw-wrong').models.generateContent({ model: MODEL, contents: 'Hi' }),
    shaped(401, 'UNAUTHENTICATED', /invalid API key/));
  await assert.rejects(sdk(BROKE_KEY).models.generateContent({ model: MODEL, contents: 'Hi' }),
    shaped(402, 'RESOURCE_EXHAUSTED', /budget/));
  await assert.rejects(ai.models.generateContent({ model: 'gemini-nope', contents: 'Hi' }),
    shaped(404, 'NOT_FOUND', /gemini-nope/));
});
