/**
 * The worker token check (constant-time digest comparison of `authorization: Bearer …`), the
 * refusal log's rate limit and bound, and which listen addresses count as loopback.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { RefusalLog } from '../../master/dispatch/refusal-log.js';
import { checkBearerToken, tokenDigest } from '../../master/dispatch/worker-auth.js';
import { hostOf, isLoopbackAddress } from '../../shared/config/loopback.js';

const TOKEN = 'a-worker-token-for-tests-0123456789';

describe('checkBearerToken', () => {
  const expected = tokenDigest(TOKEN);

  it('accepts exactly "Bearer <token>" (the scheme in any case)', () => {
    assert.equal(checkBearerToken([`Bearer ${TOKEN}`], expected), 'ok');
    assert.equal(checkBearerToken([`bearer ${TOKEN}`], expected), 'ok');
    assert.equal(checkBearerToken([`BEARER  ${TOKEN} `], expected), 'ok');
  });

  it('tells missing, malformed and wrong apart', () => {
    assert.equal(checkBearerToken([], expected), 'missing');
    assert.equal(checkBearerToken([TOKEN], expected), 'malformed');
    assert.equal(checkBearerToken([`Basic ${TOKEN}`], expected), 'malformed');
    assert.equal(checkBearerToken(['Bearer '], expected), 'malformed');
    assert.equal(checkBearerToken([`Bearer ${TOKEN} extra`], expected), 'malformed');
    assert.equal(checkBearerToken([Buffer.from(`Bearer ${TOKEN}`)], expected), 'malformed');
    assert.equal(checkBearerToken([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`], expected), 'malformed', 'two values');
    assert.equal(checkBearerToken([`Bearer ${TOKEN.slice(0, -1)}`], expected), 'wrong', 'a prefix');
    assert.equal(checkBearerToken([`Bearer ${TOKEN}0`], expected), 'wrong', 'longer');
    assert.equal(checkBearerToken([`Bearer ${TOKEN.toUpperCase()}`], expected), 'wrong', 'the token is case-sensitive');
    assert.equal(checkBearerToken(['Bearer x'], expected), 'wrong', 'far shorter: digests are compared, never lengths');
  });

  it('compares digests of equal length whatever was presented', () => {
    assert.equal(tokenDigest('x').length, 32);
    assert.equal(tokenDigest('y'.repeat(10_000)).length, 32);
  });
});

describe('RefusalLog', () => {
  function recorder(): { log: RefusalLog; lines: Record<string, unknown>[]; clock: { now: number } } {
    const lines: Record<string, unknown>[] = [];
    const clock = { now: 1_000_000 };
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    return { log: new RefusalLog({ log: logger, intervalMs: 60_000, maxPeers: 3, now: () => clock.now }), lines, clock };
  }

  it('logs a peer once per interval, then counts what it kept quiet about', () => {
    const { log, lines, clock } = recorder();
    log.refused('10.0.0.1', 'GetTask', 'missing');
    log.refused('10.0.0.1', 'GetTask', 'missing');
    log.refused('10.0.0.1', 'SubmitResult', 'wrong');
    log.refused('10.0.0.2', 'GetTask', 'wrong');
    assert.deepEqual(
      lines.map((l) => [l['peer'], l['method'], l['reason'], l['refusedSinceLastLine']]),
      [
        ['10.0.0.1', 'GetTask', 'missing', 0],
        ['10.0.0.2', 'GetTask', 'wrong', 0],
      ],
    );
    clock.now += 59_999;
    log.refused('10.0.0.1', 'GetTask', 'missing');
    assert.equal(lines.length, 2);
    clock.now += 1;
    log.refused('10.0.0.1', 'ReadSources', 'malformed');
    assert.equal(lines.length, 3);
    assert.equal(lines[2]?.['refusedSinceLastLine'], 3);
    assert.equal(lines[2]?.['level'], 40); // warn
  });

  it('remembers a bounded number of peers, forgetting the oldest first', () => {
    const { log, lines } = recorder();
    for (let i = 0; i < 100; i += 1) log.refused(`10.0.1.${i}`, 'GetTask', 'missing');
    assert.equal(log.size, 3);
    assert.equal(lines.length, 100);
    log.refused('10.0.1.99', 'GetTask', 'missing'); // still remembered: quiet
    log.refused('10.0.1.0', 'GetTask', 'missing'); // forgotten: logged again
    assert.equal(lines.length, 101);
    assert.equal(log.size, 3);
  });
});

describe('isLoopbackAddress', () => {
  it('is true for 127.0.0.0/8, ::1 and localhost only', () => {
    for (const address of ['127.0.0.1:50051', '127.255.0.9:0', '[::1]:1', 'localhost:2', 'LocalHost:3']) assert.ok(isLoopbackAddress(address), address);
    for (const address of ['0.0.0.0:50051', '[::]:50051', '10.1.2.3:1', 'master:50051', 'localhost.example.com:1', '127.0.0.1.nip.io:1', '[::ffff:127.0.0.1]:1']) {
      assert.ok(!isLoopbackAddress(address), address);
    }
  });

  it('takes the host from host:port, IPv6 brackets removed', () => {
    assert.equal(hostOf('[::1]:50051'), '::1');
    assert.equal(hostOf('master.internal:0'), 'master.internal');
  });
});
