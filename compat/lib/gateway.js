// Starts the real gateway as a process (the shaded jar `./mvnw verify` builds) in front of the stand-ins, and reads
// its records back through the admin API.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStandins } from './standins.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const JAR = path.join(ROOT, 'gateway-server', 'target', 'tokenwise-gateway.jar');
export const ADMIN_KEY = 'tw-compat-admin';
export const KEY = 'tw-compat-key';
/** A key whose team has a budget of a millionth of a dollar: every call is refused with 402. */
export const BROKE_KEY = 'tw-broke-key';

async function freePort() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** The gateway and the stand-ins: {base, port, standins, record(id), stop()}. */
export async function startGateway() {
  if (!fs.existsSync(JAR)) {
    throw new Error(`${JAR} is missing: build it first (./mvnw -pl gateway-server -am package -DskipTests)`);
  }
  const standins = await startStandins();
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenwise-compat-'));
  const up = `http://127.0.0.1:${standins.port}`;
  const config = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(config, `
server: {host: 127.0.0.1, port: ${port}}
admin: {key: ${ADMIN_KEY}}
storage: {path: ${JSON.stringify(path.join(dir, 'ledger.db'))}}
pricing: {catalog: ${JSON.stringify(path.join(ROOT, 'config', 'prices.yaml'))}}
providers:
  openai: {type: openai, base_url: "${up}/openai/v1", api_key: sk-standin}
  anthropic: {type: anthropic, base_url: "${up}/anthropic/v1", api_key: sk-ant-standin}
  google: {type: gemini, base_url: "${up}/gemini/v1beta", api_key: AIza-standin}
models:
  - {name: gpt-4o-mini, provider: openai}
  - {name: text-embedding-3-small, provider: openai}
  - {name: claude-sonnet-4-5, provider: anthropic}
  - {name: gemini-2.5-flash, provider: google}
  - {name: gemini-embedding-001, provider: google}
teams:
  - name: compat
    keys: [{key: ${KEY}, name: compat-key}]
  - name: broke
    budget: {limit_usd: 0.000001, period: daily}
    keys: [{key: ${BROKE_KEY}, name: broke-key}]
`);
  const log = fs.openSync(path.join(dir, 'gateway.log'), 'w');
  const child = spawn('java', ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-cp', JAR, 'dev.tokenwise.server.Main',
    '--config', config], { cwd: dir, stdio: ['ignore', log, log] });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error('the gateway exited: ' + fs.readFileSync(path.join(dir, 'gateway.log'), 'utf8'));
    }
    try {
      if ((await fetch(base + '/healthz')).ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error('the gateway did not start within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    port,
    standins,
    /** The record of call `id`, as GET /api/v1/requests/{id} gives it to the admin key. */
    async record(id) {
      if (!id) throw new Error('no request id');
      const r = await fetch(`${base}/api/v1/requests/${id}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      if (!r.ok) throw new Error(`record ${id}: ${r.status} ${await r.text()}`);
      return r.json();
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      await standins.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fetch that remembers the X-Request-Id of the last answer, for clients that hide their response headers. */
export function capturingFetch() {
  const seen = { ids: [] };
  seen.fetch = async (input, init) => {
    const response = await fetch(input, init);
    const id = response.headers.get('x-request-id');
    if (id) seen.ids.push(id);
    return response;
  };
  seen.last = () => seen.ids[seen.ids.length - 1];
  return seen;
}

/** Waits until `predicate()` holds (records of aborted streams settle right after the client leaves). */
export async function eventually(fn, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
