import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import client from 'prom-client';
import { Metrics, registerMetrics, type BusFigures, type MetricSources, type MetricsRouteOptions, type SourceName } from './metrics.ts';

/*
 * GET /metrics on a bare Fastify app with scripted sources. A hung source is a promise that never settles, left
 * out by a short source time limit: the tests wait for the answer, never for time.
 */

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key = '', value = ''] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample named `name` whose labels include `labels`; undefined when there is none. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

/** Scripted sources, changed by the test between scrapes. */
function fakeSources(nodeId = 'node-a') {
  const figures = {
    connections: 7,
    conversations: { queued: 3, active: 5 },
    calls: { invited: 1, connecting: 2, active: 4 } as Record<string, number>,
    bus: { connected: true, roundTripMs: 1.5, published: 10, received: 20, dropped: 2 } as BusFigures,
    store: { healthy: true, errors: 1 },
  };
  const reads = { conversations: 0 };
  const sources: MetricSources = {
    nodeId,
    version: '9.8.7',
    connections: () => figures.connections,
    openConversations: async () => {
      reads.conversations++;
      return figures.conversations;
    },
    callsByState: async () => figures.calls,
    bus: () => figures.bus,
    store: () => figures.store,
  };
  return { sources, figures, reads };
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function serve(metrics: Metrics, options?: MetricsRouteOptions, trustProxy?: string) {
  const app = Fastify({ logger: false, ...(trustProxy ? { trustProxy } : {}) });
  apps.push(app);
  registerMetrics(app, metrics, options);
  await app.ready();
  return app;
}

async function scrape(app: FastifyInstance) {
  const response = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(response.statusCode, 200, response.body);
  return { response, samples: parse(response.body) };
}

test('every metric carries what its sources say, and every sample names the node', async () => {
  const { sources } = fakeSources('node-a');
  const app = await serve(new Metrics(sources));
  const { response, samples } = await scrape(app);
  assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  assert.equal(response.headers['cache-control'], 'no-store');

  assert.equal(valueOf(samples, 'parley_node_info', { version: '9.8.7' }), 1);
  assert.equal(valueOf(samples, 'parley_connections'), 7);
  assert.equal(valueOf(samples, 'parley_conversations', { status: 'queued' }), 3);
  assert.equal(valueOf(samples, 'parley_conversations', { status: 'active' }), 5);
  assert.equal(valueOf(samples, 'parley_calls', { state: 'invited' }), 1);
  assert.equal(valueOf(samples, 'parley_calls', { state: 'connecting' }), 2);
  assert.equal(valueOf(samples, 'parley_calls', { state: 'active' }), 4);
  // A live state no call is in shows 0 rather than nothing.
  assert.equal(valueOf(samples, 'parley_calls', { state: 'requested' }), 0);
  assert.equal(valueOf(samples, 'parley_messages_stored_total', { kind: 'text' }), 0);
  assert.equal(valueOf(samples, 'parley_messages_stored_total', { kind: 'event' }), 0);
  assert.equal(valueOf(samples, 'parley_client_frames_received_total'), 0);
  assert.equal(valueOf(samples, 'parley_bus_connected'), 1);
  assert.equal(valueOf(samples, 'parley_bus_last_round_trip_seconds'), 0.0015);
  assert.equal(valueOf(samples, 'parley_bus_round_trip_seconds_count'), 0);
  assert.equal(valueOf(samples, 'parley_bus_frames_published_total'), 10);
  assert.equal(valueOf(samples, 'parley_bus_frames_received_total'), 20);
  assert.equal(valueOf(samples, 'parley_bus_frames_dropped_total'), 2);
  assert.equal(valueOf(samples, 'parley_store_up'), 1);
  assert.equal(valueOf(samples, 'parley_store_errors_total'), 1);
  assert.equal(valueOf(samples, 'parley_metrics_source_errors_total', { source: 'conversations' }), 0);

  for (const sample of samples) assert.equal(sample.labels.node, 'node-a', `${sample.name} without its node`);
});

test('counters grow with what the node records and with the totals its sources report', async () => {
  const { sources, figures } = fakeSources();
  const metrics = new Metrics(sources);
  const app = await serve(metrics);
  metrics.messageStored('text');
  metrics.messageStored('text');
  metrics.messageStored('event');
  metrics.frameReceived();
  metrics.observeBusRoundTrip(3);
  metrics.observeBusRoundTrip(2000);
  figures.bus = { connected: false, roundTripMs: null, published: 15, received: 26, dropped: 5 };
  figures.store = { healthy: false, errors: 4 };

  const first = (await scrape(app)).samples;
  assert.equal(valueOf(first, 'parley_messages_stored_total', { kind: 'text' }), 2);
  assert.equal(valueOf(first, 'parley_messages_stored_total', { kind: 'event' }), 1);
  assert.equal(valueOf(first, 'parley_client_frames_received_total'), 1);
  assert.equal(valueOf(first, 'parley_bus_round_trip_seconds_count'), 2);
  assert.equal(valueOf(first, 'parley_bus_round_trip_seconds_sum'), 2.003);
  assert.equal(valueOf(first, 'parley_bus_round_trip_seconds_bucket', { le: '0.005' }), 1);
  assert.equal(valueOf(first, 'parley_bus_round_trip_seconds_bucket', { le: '+Inf' }), 2);
  assert.equal(valueOf(first, 'parley_bus_connected'), 0);
  assert.equal(valueOf(first, 'parley_bus_last_round_trip_seconds'), undefined, 'no round trip measured yet');
  assert.equal(valueOf(first, 'parley_bus_frames_published_total'), 15);
  assert.equal(valueOf(first, 'parley_bus_frames_received_total'), 26);
  assert.equal(valueOf(first, 'parley_bus_frames_dropped_total'), 5);
  assert.equal(valueOf(first, 'parley_store_up'), 0);
  assert.equal(valueOf(first, 'parley_store_errors_total'), 4);

  // A source whose total starts again (its bus was replaced) never makes the counter go down.
  figures.bus = { ...figures.bus, published: 3 };
  const second = (await scrape(app)).samples;
  assert.equal(valueOf(second, 'parley_bus_frames_published_total'), 18);
  assert.equal(valueOf(second, 'parley_bus_frames_received_total'), 26);
});

test('a source that throws or never answers is left out, counted, and the rest is served', async () => {
  const { sources, reads } = fakeSources();
  const failures: SourceName[] = [];
  const hung = {
    ...sources,
    openConversations: () => {
      reads.conversations++;
      return new Promise<never>(() => undefined);
    },
    callsByState: async () => {
      throw new Error('connection terminated');
    },
    connections: () => {
      throw new Error('gateway closed');
    },
  };
  const metrics = new Metrics(hung, { sourceTimeoutMs: 20, onSourceError: (source) => failures.push(source) });
  const app = await serve(metrics);

  const first = (await scrape(app)).samples;
  assert.equal(first.filter((s) => s.name === 'parley_conversations').length, 0);
  assert.equal(first.filter((s) => s.name === 'parley_calls').length, 0);
  assert.equal(valueOf(first, 'parley_connections'), undefined);
  assert.equal(valueOf(first, 'parley_bus_connected'), 1, 'the sources that answered are served');
  assert.equal(valueOf(first, 'parley_store_up'), 1);
  // The store's own 1, and the read the scrape gave up waiting for (a read that throws is the store's to count).
  assert.equal(valueOf(first, 'parley_store_errors_total'), 2);
  assert.equal(valueOf(first, 'parley_metrics_source_errors_total', { source: 'conversations' }), 1);
  assert.equal(valueOf(first, 'parley_metrics_source_errors_total', { source: 'calls' }), 1);
  assert.equal(valueOf(first, 'parley_metrics_source_errors_total', { source: 'connections' }), 1);
  assert.equal(valueOf(first, 'parley_metrics_source_errors_total', { source: 'bus' }), 0);
  assert.deepEqual(failures.sort(), ['calls', 'connections', 'conversations']);

  // The next scrape waits for the read still under way instead of asking the hung database again.
  const second = (await scrape(app)).samples;
  assert.equal(reads.conversations, 1);
  assert.equal(valueOf(second, 'parley_metrics_source_errors_total', { source: 'conversations' }), 2);
  assert.equal(valueOf(second, 'parley_store_errors_total'), 3);
});

test('a source that gives something other than numbers is left out like a failed one', async () => {
  const { sources, figures } = fakeSources();
  const metrics = new Metrics(sources);
  const app = await serve(metrics);
  figures.connections = Number.NaN;
  figures.bus = { ...figures.bus, dropped: -1 };
  const { samples } = await scrape(app);
  assert.equal(valueOf(samples, 'parley_connections'), undefined);
  assert.equal(valueOf(samples, 'parley_bus_connected'), undefined);
  assert.equal(valueOf(samples, 'parley_bus_frames_published_total'), undefined);
  assert.equal(valueOf(samples, 'parley_metrics_source_errors_total', { source: 'connections' }), 1);
  assert.equal(valueOf(samples, 'parley_metrics_source_errors_total', { source: 'bus' }), 1);
  assert.equal(valueOf(samples, 'parley_store_up'), 1);
});

test('two servers in one process keep their figures apart, and the global registry is untouched', async () => {
  const a = new Metrics(fakeSources('node-a').sources);
  const b = new Metrics(fakeSources('node-b').sources);
  const appA = await serve(a);
  const appB = await serve(b);
  a.messageStored('text');
  a.messageStored('text');
  b.frameReceived();

  const fromA = (await scrape(appA)).samples;
  const fromB = (await scrape(appB)).samples;
  assert.equal(valueOf(fromA, 'parley_messages_stored_total', { kind: 'text' }), 2);
  assert.equal(valueOf(fromB, 'parley_messages_stored_total', { kind: 'text' }), 0);
  assert.equal(valueOf(fromA, 'parley_client_frames_received_total'), 0);
  assert.equal(valueOf(fromB, 'parley_client_frames_received_total'), 1);
  assert.ok(fromB.every((s) => s.labels.node === 'node-b'));
  assert.equal(await client.register.metrics(), '\n');
});

test('only loopback and the allowed addresses may scrape', async () => {
  const { sources } = fakeSources();
  const metrics = new Metrics(sources);
  const app = await serve(metrics, { allow: (ip) => ip === '10.1.2.3' });
  const from = (remoteAddress: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url: '/metrics', remoteAddress, headers });

  for (const address of ['127.0.0.1', '127.8.0.1', '::1', '::ffff:127.0.0.1', '10.1.2.3']) {
    assert.equal((await from(address)).statusCode, 200, address);
  }
  for (const address of ['203.0.113.5', '10.1.2.4', '::ffff:203.0.113.5', '2001:db8::1']) {
    const refused = await from(address);
    assert.equal(refused.statusCode, 403, address);
    assert.equal(refused.json().code, 'forbidden');
    assert.match(refused.json().message, /loopback/);
    assert.doesNotMatch(refused.body, /parley_/);
  }
  // A balancer on this machine that the server does not trust: its clients are not loopback.
  assert.equal((await from('127.0.0.1', { 'x-forwarded-for': '203.0.113.5' })).statusCode, 403);
  assert.equal((await from('127.0.0.1', { forwarded: 'for=203.0.113.5' })).statusCode, 403);
});

test('behind a trusted proxy the client is judged, not the proxy', async () => {
  const { sources } = fakeSources();
  const app = await serve(new Metrics(sources), { allow: (ip) => ip === '198.51.100.7' }, '127.0.0.1');
  const via = (client: string) =>
    app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': client } });
  assert.equal((await via('203.0.113.5')).statusCode, 403);
  assert.equal((await via('198.51.100.7')).statusCode, 200);
});
