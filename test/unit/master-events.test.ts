import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MasterEvents, type MasterEventName } from '../../master/master-events.js';

test('a listener that throws is reported and does not stop the others or the emitter', () => {
  const reported: Array<[unknown, MasterEventName]> = [];
  const events = new MasterEvents((error, event) => void reported.push([error, event]));
  const seen: string[] = [];
  events.on('tile:done', () => {
    throw new Error('listener bug');
  });
  events.on('tile:done', ({ taskId }) => void seen.push(taskId));
  events.emit('tile:done', { taskId: 'r/1/0', workerId: 'w', attempt: 1 });
  assert.deepEqual(seen, ['r/1/0']);
  assert.equal(reported.length, 1);
  assert.equal(reported[0]?.[1], 'tile:done');
});

test('next() resolves with the first matching payload and unsubscribes; on() returns an unsubscribe', async () => {
  const events = new MasterEvents();
  const gone = events.next('worker:gone', ({ released }) => released > 0);
  events.emit('worker:gone', { workerId: 'a', released: 0 });
  events.emit('worker:gone', { workerId: 'b', released: 2 });
  events.emit('worker:gone', { workerId: 'c', released: 3 });
  assert.deepEqual(await gone, { workerId: 'b', released: 2 });
  let count = 0;
  const off = events.on('tile:requeued', () => void (count += 1));
  events.emit('tile:requeued', { taskId: 't', attempt: 1, reason: 'x' });
  off();
  events.emit('tile:requeued', { taskId: 't', attempt: 2, reason: 'y' });
  assert.equal(count, 1);
});
