import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION } from '@parley/protocol/limits';
import { ParleyError } from '../errors.ts';
import { FakeParleyServer } from '../testing/FakeParleyServer.ts';
import { immediateRetry, waitFor } from '../testing/helpers.ts';
import { IN_CALL_RETRY_CEILING_MS, SignalingChannel, type SignalingChannelOptions } from './SignalingChannel.ts';

let server: FakeParleyServer;
before(async () => {
  server = await new FakeParleyServer().start();
});
after(() => server.stop());

function channelFor(token: string, options: Partial<SignalingChannelOptions> = {}): SignalingChannel {
  return new SignalingChannel({
    url: `${server.url.replace('http', 'ws')}/ws`,
    token,
    WebSocket,
    heartbeatIntervalMs: 0,
    retryPolicy: immediateRetry,
    ...options,
  });
}

function connectionsOf(token: string) {
  return server.connections.filter((c) => c.frames[0]?.type === 'auth' && c.frames[0].token === token);
}

test('auth is the first frame; requests are correlated with their answers', async () => {
  const { party, token } = server.addVisitor('Ada');
  const channel = channelFor(token);
  const states: string[] = [];
  channel.on('connectionStateChanged', (s) => states.push(s));
  const ready = await channel.connect();
  assert.equal(ready.identity.id, party.id);
  const [connection] = connectionsOf(token);
  assert.deepEqual(connection!.frames[0], { type: 'auth', v: PROTOCOL_VERSION, token });
  const [pong, queue] = await Promise.all([channel.request('ping', {}), channel.request('queue.list', {})]);
  assert.equal(typeof pong.now, 'string');
  assert.deepEqual(Array.isArray(queue.queue), true);
  assert.deepEqual(
    connection!.frames.slice(1).map((f) => f.type),
    ['ping', 'queue.list'],
  );
  channel.disconnect();
  assert.deepEqual(states, ['connecting', 'connected', 'disconnected']);
});

test('a request without an answer rejects with code timeout', async () => {
  const { token } = server.addVisitor('Bo');
  const channel = channelFor(token);
  await channel.connect();
  server.requestHook = (frame) => (frame.type === 'ping' ? 'ignore' : undefined);
  try {
    await assert.rejects(channel.request('ping', {}, { timeoutMs: 30 }), (err: ParleyError) => err.code === 'timeout');
  } finally {
    server.requestHook = null;
    channel.disconnect();
  }
});

test('a refused token fails the connection with unauthorized and is not retried', async () => {
  const channel = channelFor('no-such-token');
  let scheduled = 0;
  channel.on('reconnectScheduled', () => scheduled++);
  await assert.rejects(channel.connect(), (err: ParleyError) => err.code === 'unauthorized');
  assert.equal(channel.state, 'disconnected');
  assert.equal(scheduled, 0);
  assert.equal(connectionsOf('no-such-token').length, 1);
});

test('close 4401 on a live connection is final: disconnected, no reconnection', async () => {
  const { token } = server.addVisitor('Cy');
  const channel = channelFor(token);
  await channel.connect();
  let scheduled = 0;
  channel.on('reconnectScheduled', () => scheduled++);
  server.refusedTokens.add(token);
  const disconnected = waitFor(channel, 'disconnected');
  for (const c of connectionsOf(token)) c.socket.close(4401);
  const [error] = await disconnected;
  assert.equal(error?.code, 'unauthorized');
  assert.equal(channel.state, 'disconnected');
  assert.equal(scheduled, 0);
  assert.equal(connectionsOf(token).length, 1);
});

test('a dropped socket is retried; a request made meanwhile waits and is answered', async () => {
  const { token } = server.addVisitor('Di');
  const channel = channelFor(token);
  await channel.connect();
  const inFlight = channel.request('ping', {});
  server.requestHook = (frame) => (frame.type === 'ping' ? 'drop-connection-after' : undefined);
  await assert.rejects(inFlight, (err: ParleyError) => err.code === 'unavailable');
  server.requestHook = null;
  assert.equal(channel.state, 'reconnecting');
  const queued = channel.request('ping', {});
  const [, info] = await waitFor(channel, 'ready');
  assert.equal(info.reconnected, true);
  assert.equal(typeof (await queued).now, 'string');
  assert.equal(connectionsOf(token).length, 2);
  channel.disconnect();
});

test('goaway.retryAfterMs is added to the backoff; 1008 starts the backoff high', async () => {
  const { token } = server.addVisitor('Ed');
  const attempts: number[] = [];
  const channel = channelFor(token, {
    retryPolicy: (attempt) => {
      attempts.push(attempt);
      return 5;
    },
  });
  await channel.connect();
  const scheduled = waitFor(channel, 'reconnectScheduled');
  for (const c of connectionsOf(token)) {
    c.socket.send(JSON.stringify({ type: 'goaway', reason: 'shutdown', retryAfterMs: 40 }));
    c.socket.close(1012);
  }
  const [first] = await scheduled;
  assert.equal(first.delayMs, 45);
  assert.equal(first.closeCode, 1012);
  await waitFor(channel, 'ready');

  const policyClose = waitFor(channel, 'reconnectScheduled');
  for (const c of connectionsOf(token)) c.socket.close(1008);
  const [second] = await policyClose;
  assert.equal(second.delayMs, 5, 'the goaway delay applies once');
  assert.ok(attempts[attempts.length - 1]! >= 6, `attempt after a policy close was ${attempts.at(-1)}`);
  await waitFor(channel, 'ready');
  channel.disconnect();
});

test('in a call, a reconnection waits at most IN_CALL_RETRY_CEILING_MS whatever the backoff has grown to', async () => {
  const { token } = server.addVisitor('Ida');
  let inCall = false;
  const channel = channelFor(token, { retryPolicy: () => 60_000, inCall: () => inCall });
  await channel.connect();
  const outOfCall = waitFor(channel, 'reconnectScheduled');
  for (const c of connectionsOf(token)) c.socket.close(1011);
  assert.equal((await outOfCall)[0].delayMs, 60_000, 'out of a call the policy rules');
  channel.disconnect();

  inCall = true;
  const delays: number[] = [];
  const again = channelFor(token, { retryPolicy: () => 60_000, inCall: () => inCall });
  again.on('reconnectScheduled', ({ delayMs }) => delays.push(delayMs));
  await again.connect();
  for (let round = 0; round < 3; round++) {
    const back = waitFor(again, 'ready');
    for (const c of connectionsOf(token)) c.socket.close(1011);
    await back;
  }
  assert.equal(delays.length, 3);
  for (const delay of delays) assert.ok(delay >= 0 && delay < IN_CALL_RETRY_CEILING_MS, `waited ${delay} ms in a call`);
  again.disconnect();
});

test('the first connection failing is reported, not retried', async () => {
  const channel = new SignalingChannel({ url: 'ws://127.0.0.1:1/ws', token: 't', WebSocket, retryPolicy: immediateRetry });
  let scheduled = 0;
  channel.on('reconnectScheduled', () => scheduled++);
  await assert.rejects(channel.connect(), (err: ParleyError) => err.code === 'unavailable');
  assert.equal(scheduled, 0);
});

test('the browser coming back online replaces a socket that looks connected, at once', async (t) => {
  // A page's window: the channel listens to its `online` event.
  const page = new EventTarget();
  const global = globalThis as unknown as Record<string, unknown>;
  global.window = page;
  global.addEventListener = page.addEventListener.bind(page);
  global.removeEventListener = page.removeEventListener.bind(page);
  t.after(() => {
    delete global.window;
    delete global.addEventListener;
    delete global.removeEventListener;
  });
  const { token } = server.addVisitor('Ola');
  const channel = channelFor(token, { retryPolicy: () => 60_000 }); // only the online event may reconnect this soon
  await channel.connect();
  const back = waitFor(channel, 'ready');
  page.dispatchEvent(new Event('online'));
  const [, info] = await back;
  assert.equal(info.reconnected, true);
  assert.equal(connectionsOf(token).length, 2, 'a second socket');
  assert.equal(typeof (await channel.request('ping', {})).now, 'string');
  channel.disconnect();
});

test('verify: a socket that answers its ping is kept; one that does not is replaced at once, not after the backoff', async () => {
  const { token } = server.addVisitor('Vic');
  const channel = channelFor(token, { retryPolicy: () => 60_000 });
  await channel.connect();
  try {
    assert.equal(await channel.verify(), true);
    assert.equal(connectionsOf(token).length, 1);
    server.requestHook = (frame) => (frame.type === 'ping' ? 'ignore' : undefined);
    const ready = waitFor(channel, 'ready');
    assert.equal(await channel.verify(50), false);
    server.requestHook = null;
    const [, info] = await ready;
    assert.equal(info.reconnected, true);
    assert.equal(connectionsOf(token).length, 2, 'a second socket, opened without waiting out the 60 s backoff');
  } finally {
    server.requestHook = null;
    channel.disconnect();
  }
});
