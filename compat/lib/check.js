// Assertions on the gateway's records.
import assert from 'node:assert/strict';
import { costNanos } from './prices.js';

/** The record says what the stand-in reported and costs the catalog's price of it. */
export function assertBilled(record, { model, status = 'ok', input, output, endpoint }) {
  assert.equal(record.model, model, JSON.stringify(record));
  assert.equal(record.status, status, JSON.stringify(record));
  if (endpoint) assert.equal(record.endpoint, endpoint);
  if (input !== undefined) assert.equal(record.input_tokens, input, 'input tokens: ' + JSON.stringify(record));
  if (output !== undefined) assert.equal(record.output_tokens, output, 'output tokens: ' + JSON.stringify(record));
  assert.equal(record.cost_nanos, costNanos(model, record.input_tokens, record.output_tokens),
    'cost at the catalog price: ' + JSON.stringify(record));
}

/**
 * A stream the client left: cancelled, and billed for what was relayed (the local count, or the provider's running
 * figure when that is larger), never for the placeholder of a stream's first event.
 */
export function assertAbortBilled(record, { model, input }) {
  assert.equal(record.status, 'client_cancelled', JSON.stringify(record));
  if (input !== undefined) assert.equal(record.input_tokens, input, JSON.stringify(record));
  assert.ok(record.local_output_tokens > 1, 'text was relayed: ' + JSON.stringify(record));
  assert.ok(record.output_tokens >= record.local_output_tokens, 'billed for what was relayed: ' + JSON.stringify(record));
  assert.equal(record.cost_nanos, costNanos(model, record.input_tokens, record.output_tokens), JSON.stringify(record));
}
