// The catalog's prices (config/prices.yaml), and the gateway's cost formula: integer nano-USD, tokens times the price
// per million, summed and rounded half up once.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CATALOG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'config', 'prices.yaml');
const text = fs.readFileSync(CATALOG, 'utf8');

/** USD per million tokens as nano-USD per million tokens (a BigInt), read exactly from its decimal text. */
function nanosPerMtok(usd) {
  const [whole, fraction = ''] = usd.split('.');
  return BigInt(whole) * 1_000_000_000n + BigInt((fraction + '000000000').slice(0, 9));
}

/** The catalog entry of `model`: {input, output, cachedInput} in nano-USD per million tokens. */
export function price(model) {
  const line = text.split('\n').find((l) => new RegExp(`^\\s+${model.replace(/[.]/g, '\\.')}:\\s*\\{`).test(l));
  if (!line) throw new Error(`${model} is not in the catalog`);
  const field = (name) => {
    const m = new RegExp(`\\b${name}:\\s*([0-9.]+)`).exec(line);
    return m ? nanosPerMtok(m[1]) : null;
  };
  const input = field('input_per_mtok');
  return { input, output: field('output_per_mtok'), cachedInput: field('cached_input_per_mtok') ?? input };
}

/** The cost in nano-USD of `input` and `output` tokens of `model` (no cache), as the gateway computes it. */
export function costNanos(model, input, output) {
  const p = price(model);
  const total = BigInt(input) * p.input + BigInt(output) * p.output;
  return Number((total + 500_000n) / 1_000_000n);
}
