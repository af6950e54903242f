// Stand-ins for OpenAI, Anthropic and Gemini: each answers in its provider's documented shapes and reports a known
// usage, so that the gateway's records can be checked against it. A prompt containing "LONG" gets a slow stream of
// a hundred pieces (for the abort tests); a request with tools gets a tool call.
import http from 'node:http';

/** The usage each stand-in reports. */
export const USAGE = {
  openai: { prompt_tokens: 21, completion_tokens: 9 },
  openaiTool: { prompt_tokens: 40, completion_tokens: 12 },
  openaiEmbedding: { prompt_tokens: 8 },
  anthropic: { input_tokens: 25, output_tokens: 12 },
  anthropicTool: { input_tokens: 60, output_tokens: 18 },
  anthropicCount: { input_tokens: 17 },
  gemini: { promptTokenCount: 14, candidatesTokenCount: 6 },
  geminiTool: { promptTokenCount: 30, candidatesTokenCount: 8 },
  geminiCount: { totalTokens: 19 },
};

/** What a structured-output request is answered with. */
export const CITY = { city: 'Paris', population: 2100000 };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const json = (res, status, body) => {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.length });
  res.end(bytes);
};
const sseHead = (res) => res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
const long = (body) => JSON.stringify(body).includes('LONG');
const WORDS = ['Hello', ' from', ' the', ' stand', '-in', '.'];

async function openai(req, res, path, body) {
  if (path === '/embeddings') {
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    return json(res, 200, {
      object: 'list', model: body.model,
      data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: body.encoding_format === 'base64'
        ? Buffer.from(new Float32Array([0.1, 0.2, 0.3]).buffer).toString('base64') : [0.1, 0.2, 0.3] })),
      usage: { prompt_tokens: USAGE.openaiEmbedding.prompt_tokens, total_tokens: USAGE.openaiEmbedding.prompt_tokens },
    });
  }
  if (path !== '/chat/completions') return json(res, 404, { error: { message: 'no route ' + path, type: 'invalid_request_error' } });
  const tool = Array.isArray(body.tools) && body.tools.length > 0 && !body.messages.some((m) => m.role === 'tool');
  const usage = tool ? USAGE.openaiTool : USAGE.openai;
  const u = { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens };
  const base = { id: 'chatcmpl-standin', created: 1_700_000_000, model: body.model };
  const call = { id: 'call_standin', type: 'function', function: { name: body.tools?.[0]?.function?.name, arguments: '{"city":"Paris"}' } };
  if (!body.stream) {
    const message = tool ? { role: 'assistant', content: null, tool_calls: [call] }
      : { role: 'assistant', content: WORDS.join('') };
    return json(res, 200, { ...base, object: 'chat.completion', usage: u,
      choices: [{ index: 0, message, logprobs: null, finish_reason: tool ? 'tool_calls' : 'stop' }] });
  }
  sseHead(res);
  const chunk = (delta, finish = null) => res.write('data: ' + JSON.stringify({ ...base, object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] }) + '\n\n');
  chunk({ role: 'assistant', content: '' });
  if (tool) {
    chunk({ tool_calls: [{ index: 0, ...call }] });
  } else {
    const pieces = long(body) ? Array.from({ length: 100 }, (_, i) => ` word${i}`) : WORDS;
    for (const p of pieces) {
      if (res.destroyed) return;
      chunk({ content: p });
      if (long(body)) await sleep(30);
    }
  }
  chunk({}, tool ? 'tool_calls' : 'stop');
  if (body.stream_options?.include_usage) {
    res.write('data: ' + JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage: u }) + '\n\n');
  }
  res.end('data: [DONE]\n\n');
}

async function anthropic(req, res, path, body) {
  if (path === '/messages/count_tokens') return json(res, 200, USAGE.anthropicCount);
  if (path !== '/messages') return json(res, 404, { type: 'error', error: { type: 'not_found_error', message: 'no route' } });
  const jsonTool = body.tool_choice?.name === 'json_object_output';
  const tool = !jsonTool && Array.isArray(body.tools) && body.tools.length > 0
    && !body.messages.some((m) => Array.isArray(m.content) && m.content.some((b) => b.type === 'tool_result'));
  const usage = tool || jsonTool ? USAGE.anthropicTool : USAGE.anthropic;
  const text = body.output_config?.format ? JSON.stringify(CITY) : WORDS.join('');
  const block = jsonTool ? { type: 'tool_use', id: 'toolu_json', name: 'json_object_output', input: CITY }
    : tool ? { type: 'tool_use', id: 'toolu_standin', name: body.tools[0].name, input: { city: 'Paris' } }
      : { type: 'text', text };
  const stop = tool || jsonTool ? 'tool_use' : 'end_turn';
  const message = { id: 'msg_standin', type: 'message', role: 'assistant', model: body.model, stop_sequence: null };
  if (!body.stream) {
    return json(res, 200, { ...message, content: [block], stop_reason: stop,
      usage: { input_tokens: usage.input_tokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: usage.output_tokens } });
  }
  sseHead(res);
  const event = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  event('message_start', { message: { ...message, content: [], stop_reason: null,
    usage: { input_tokens: usage.input_tokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 } } });
  if (block.type === 'tool_use') {
    event('content_block_start', { index: 0, content_block: { ...block, input: {} } });
    event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
  } else {
    event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    const pieces = long(body) ? Array.from({ length: 100 }, (_, i) => ` word${i}`) : body.output_config?.format ? [text] : WORDS;
    for (const p of pieces) {
      if (res.destroyed) return;
      event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: p } });
      if (long(body)) await sleep(30);
    }
  }
  event('content_block_stop', { index: 0 });
  event('message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
  event('message_stop', {});
  res.end();
}

async function gemini(req, res, path, body) {
  const m = /^\/models\/([^:]+):(\w+)$/.exec(path);
  if (!m) return json(res, 404, { error: { code: 404, message: 'no route', status: 'NOT_FOUND' } });
  const [, model, method] = m;
  if (method === 'countTokens') return json(res, 200, USAGE.geminiCount);
  if (method === 'batchEmbedContents') return json(res, 200, { embeddings: body.requests.map(() => ({ values: [0.1, 0.2, 0.3] })) });
  if (method === 'embedContent') return json(res, 200, { embedding: { values: [0.1, 0.2, 0.3] } });
  const tool = Array.isArray(body.tools) && body.tools.length > 0
    && !body.contents.some((c) => c.parts?.some((p) => p.functionResponse));
  const usage = tool ? USAGE.geminiTool : USAGE.gemini;
  const meta = (candidates) => ({ promptTokenCount: usage.promptTokenCount, candidatesTokenCount: candidates,
    totalTokenCount: usage.promptTokenCount + candidates });
  const parts = tool ? [{ functionCall: { name: body.tools[0].functionDeclarations[0].name, args: { city: 'Paris' } } }]
    : [{ text: WORDS.join('') }];
  const response = (ps, finish, candidates) => ({ candidates: [{ content: { role: 'model', parts: ps }, index: 0,
    ...(finish ? { finishReason: finish } : {}) }], usageMetadata: meta(candidates), modelVersion: model, responseId: 'resp-standin' });
  if (method === 'generateContent') return json(res, 200, response(parts, 'STOP', usage.candidatesTokenCount));
  if (method !== 'streamGenerateContent') return json(res, 404, { error: { code: 404, message: 'no method', status: 'NOT_FOUND' } });
  sseHead(res);
  const pieces = tool ? [parts] : (long(body) ? Array.from({ length: 100 }, (_, i) => ` word${i}`) : WORDS).map((t) => [{ text: t }]);
  for (let i = 0; i < pieces.length; i++) {
    if (res.destroyed) return;
    const last = i === pieces.length - 1 && !long(body);
    // Gemini's usage grows with the stream; the running count is 1 until the finishing event.
    res.write('data: ' + JSON.stringify(response(pieces[i], last ? 'STOP' : null, last ? usage.candidatesTokenCount : 1)) + '\r\n\r\n');
    if (long(body)) await sleep(30);
  }
  res.end();
}

/** Starts the stand-ins on a random loopback port: {port, close(), requests}. */
export async function startStandins() {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url, 'http://standin');
      let body = {};
      try { body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {}; } catch { /* left empty */ }
      requests.push({ path: url.pathname, headers: req.headers, body });
      try {
        if (url.pathname.startsWith('/openai/v1')) await openai(req, res, url.pathname.slice('/openai/v1'.length), body);
        else if (url.pathname.startsWith('/anthropic/v1')) await anthropic(req, res, url.pathname.slice('/anthropic/v1'.length), body);
        else if (url.pathname.startsWith('/gemini/v1beta')) await gemini(req, res, url.pathname.slice('/gemini/v1beta'.length), body);
        else json(res, 404, { error: { message: 'no route' } });
      } catch (e) {
        if (!res.headersSent) json(res, 500, { error: { message: String(e) } });
        else res.destroy();
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    requests,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}
