import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { StoreHealth, type StoreHealthState } from './StoreHealth.ts';

/*
 * The monitor with a scripted ping and short intervals. The tests wait for its `change` events, never for time.
 */

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const refused = () => Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' });

const monitors: StoreHealth[] = [];
// The monitor's timers do not hold the process open (unref): this one does, while a test waits for them.
let keepAlive: NodeJS.Timeout | undefined;
beforeEach(() => {
  keepAlive = setInterval(() => undefined, 1000);
});
afterEach(() => {
  clearInterval(keepAlive);
  for (const m of monitors.splice(0)) m.stop();
});

/** A monitor whose ping fails while `down.value` is set, counting its probes. */
function monitor(options: { probeTimeoutMs?: number; ping?: () => Promise<void> } = {}) {
  const down = { value: null as Error | null };
  const probes = { count: 0 };
  const health = new StoreHealth({
    log: silent,
    healthyIntervalMs: 20,
    unhealthyIntervalMs: 5,
    ...(options.probeTimeoutMs !== undefined ? { probeTimeoutMs: options.probeTimeoutMs } : {}),
    ping:
      options.ping ??
      (async () => {
        probes.count++;
        if (down.value) throw down.value;
      }),
  });
  monitors.push(health);
  return { health, down, probes };
}

function nextChange(health: StoreHealth): Promise<StoreHealthState> {
  return new Promise((resolve) => {
    const listener = (state: StoreHealthState) => {
      health.off('change', listener);
      resolve(state);
    };
    health.on('change', listener);
  });
}

test('a failed request marks it unhealthy at once, with the reason in fixed words; it recovers by itself', async () => {
  const { health, down, probes } = monitor();
  health.start();
  assert.deepEqual(health.state, { healthy: true });

  down.value = refused();
  health.failed(refused());
  const state = health.state;
  assert.equal(state.healthy, false);
  assert.equal(!state.healthy && state.reason, 'connection refused');
  assert.doesNotMatch(JSON.stringify(state), /10\.0\.0\.5/, 'no address of the driver message');

  // Probes keep failing while the database is away; once it answers, the next probe says so.
  const seen = probes.count;
  const back = nextChange(health);
  setTimeout(() => (down.value = null), 0);
  assert.deepEqual(await back, { healthy: true });
  assert.ok(probes.count > seen, 'recovery came from a probe');
});

test('while healthy it is probed too: an outage nobody has hit yet shows', async () => {
  const { health, down } = monitor();
  health.start();
  down.value = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
  const state = await nextChange(health);
  assert.equal(!state.healthy && state.reason, 'the database server is shutting down');
  down.value = null;
  assert.deepEqual(await nextChange(health), { healthy: true });
});

test('a probe that gets no answer counts as failed', async () => {
  const { health } = monitor({ probeTimeoutMs: 10, ping: () => new Promise<void>(() => undefined) });
  health.start();
  const state = await nextChange(health);
  assert.equal(!state.healthy && state.reason, 'the database does not answer');
});

test('a failure that is not the database being away changes nothing', () => {
  const { health } = monitor();
  health.failed(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }));
  health.failed(Object.assign(new Error('terminating connection due to idle-session timeout'), { code: '57P05' }));
  assert.deepEqual(health.state, { healthy: true });
});

test('repeated failures of the same kind are one change; `since` stays the start of the outage', async () => {
  const { health, down } = monitor();
  down.value = refused();
  const changes: StoreHealthState[] = [];
  health.on('change', (s) => changes.push(s));
  health.failed(refused());
  const since = !health.state.healthy && health.state.since;
  health.failed(refused());
  health.failed(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
  assert.equal(changes.length, 2, 'refused, then lost: two changes');
  assert.equal(!health.state.healthy && health.state.since, since);
});
