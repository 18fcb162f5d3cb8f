import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NODE_FLAGS, withNodeFlags } from '../../cli/node-flags.js';

test('withNodeFlags adds the flags a child node process lacks, once, after its own', () => {
  assert.deepEqual(withNodeFlags([]), [...NODE_FLAGS]);
  assert.deepEqual(withNodeFlags(['--enable-source-maps']), ['--enable-source-maps', ...NODE_FLAGS]);
  assert.deepEqual(withNodeFlags([...NODE_FLAGS, '--inspect']), [...NODE_FLAGS, '--inspect']);
});
