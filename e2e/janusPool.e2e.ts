/*
 * A 1:1 call through a Janus pool of two (JANUS_URL lists both): the room is on one instance, the pages
 * publish and receive there. That instance is killed (SIGKILL) mid-call. Both pages, by themselves, join the
 * call again, reach the other instance and publish there; the video each receives advances again (frames
 * decoded rising, the remote <video> playing on). The call was never ended meanwhile, and ends once after.
 * With both instances killed, the call of two goes on peer-to-peer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deskErrors, escalate, openCallDesk, type CallPage } from './support/callParties.ts';
import { browserOnly } from './support/fixture.ts';
import { screenshot, tail, waitFor } from './support/harness.ts';
import { startJanus, videoroomRequest, type JanusServer } from './support/janus.ts';
import { janusJoins, reloadRecordingJoins, roomParticipants, type JanusJoin } from './support/janusJoins.ts';
import { sampleInbound, timeline, waitForMediaFlowing } from './support/media.ts';

const spec = browserOnly();

const publishedAt = (joins: JanusJoin[], url: string) => joins.filter((j) => j.ptype === 'publisher' && j.url === url);

/**
 * Two Janus, a server with both in JANUS_URL, a visitor and an agent in a conversation (their Janus joins
 * recorded) and a video call between them, its media flowing both ways through Janus.
 */
async function poolCall() {
  const pool: JanusServer[] = [];
  for (let i = 0; i < 2; i++) {
    const janus = await startJanus();
    spec.cleanup.add(() => janus.stop());
    pool.push(janus);
  }
  const desk = await openCallDesk(spec.browser, spec.cleanup, { JANUS_URL: pool.map((j) => j.url).join(',') });
  await reloadRecordingJoins(desk);
  const since = { visitor: await desk.visitor.eventCount(), agent: await desk.agent.eventCount() };
  const endedEvents = async (side: CallPage) => (await side.events()).slice(since[side.label as 'visitor' | 'agent']).filter((e) => e.name === 'videoEnded');
  await escalate(desk);
  await flowing(desk.visitor, desk.agent, 'through Janus: agent → visitor');
  await flowing(desk.agent, desk.visitor, 'through Janus: visitor → agent');
  return { pool, desk, since, endedEvents };
}

/** Runs a probe of `janus`; when it fails, says whether that Janus is still running, with the tail of what it printed. */
async function probing<T>(janus: JanusServer, what: string, probe: () => Promise<T>): Promise<T> {
  try {
    return await probe();
  } catch (error) {
    throw new Error(`${what} at ${janus.url}: ${(error as Error).message}; that Janus is ${janus.state()}\n--- its output (tail) ---\n${tail(janus.output(), 80)}`);
  }
}

function flowing(side: CallPage, other: CallPage, what: string) {
  return waitForMediaFlowing(side.page, { remoteId: other.id, what, timeoutMs: 30_000 });
}

/** Both pages were told by the server, in a `call.updated`, that the call's media moved (the `moves`th time). */
async function assertToldMoved(pages: CallPage[], moves: number): Promise<void> {
  for (const side of pages) {
    const told = (await timeline(side.page)).filter((e) => e.what.startsWith('ws:recv call.updated active') && e.detail?.includes(`"mediaMoved":${moves}`));
    assert.ok(told.length > 0, `${side.label} was told by the server that the call's media moved`);
  }
}

test('a Janus of the pool killed mid-call: both pages join again on the other by themselves and the video flows again', async (t) => {
  const { pool, desk, since, endedEvents } = await poolCall();
  const { visitor, agent } = desk;
  const firstJoin = (await janusJoins(visitor.page)).find((j) => j.ptype === 'publisher');
  assert.ok(firstJoin, 'the visitor published to a Janus');
  const victim = pool.find((j) => j.url === firstJoin.url);
  const survivor = pool.find((j) => j !== victim);
  assert.ok(victim && survivor, `the visitor's Janus is one of the pool: ${firstJoin.url}`);
  assert.equal(publishedAt(await janusJoins(agent.page), victim.url).length, 1, 'both pages publish to the same instance');

  await victim.kill('SIGKILL');
  const killedAt = Date.now();
  for (const side of [visitor, agent]) {
    await waitFor(async () => publishedAt(await janusJoins(side.page), survivor.url).length > 0, {
      timeoutMs: 30_000,
      what: `${side.label} to publish to the surviving Janus by itself`,
    });
  }
  t.diagnostic(`kill → both pages published to the survivor: ${Date.now() - killedAt} ms`);
  await assertToldMoved([visitor, agent], 1);
  const afterVisitor = await flowing(visitor, agent, 'after the move: agent → visitor');
  const afterAgent = await flowing(agent, visitor, 'after the move: visitor → agent');
  t.diagnostic(`kill → media flowing again both ways: ${Date.now() - killedAt} ms`);
  for (const flow of [afterVisitor, afterAgent]) {
    assert.ok(flow.after.videoFramesDecoded > flow.before.videoFramesDecoded, 'frames decoded rise again');
    assert.ok(flow.after.audioPacketsReceived > flow.before.audioPacketsReceived, 'audio packets rise again');
  }
  for (const side of [visitor, agent]) {
    assert.equal((await sampleInbound(side.page)).peerConnections, 2, `${side.label}: one publishing and one subscribing connection, on the survivor`);
  }
  await screenshot(agent.page, 'janus-pool-01-agent-after-move');

  const room = publishedAt(await janusJoins(visitor.page), survivor.url).at(-1)!.room;
  assert.equal(publishedAt(await janusJoins(agent.page), survivor.url).at(-1)!.room, room, 'both in the same room there');
  assert.deepEqual(
    await probing(survivor, 'reading the room on the survivor', () => roomParticipants(survivor.url, room)),
    [
      [agent.id, true],
      [visitor.id, true],
    ].sort(),
    'the survivor holds both participants, publishing',
  );

  for (const side of [visitor, agent]) assert.deepEqual(await endedEvents(side), [], `${side.label}: the call went on`);
  await visitor.actOk('endVideo');
  await visitor.waitForEvent('videoEnded', { since: since.visitor });
  await agent.waitForEvent('videoEnded', { since: since.agent });
  await probing(survivor, `waiting for room ${room} to go`, () =>
    waitFor(async () => (await videoroomRequest(survivor.url, { request: 'exists', room })).exists === false, {
      what: `room ${room} to be destroyed once the call ended`,
    }),
  );
  for (const side of [visitor, agent]) assert.equal((await endedEvents(side)).length, 1, `${side.label}: the call ended once`);
  assert.deepEqual(
    // The browser reports each failed attempt to reach the dead instance; nothing else may go wrong.
    [...visitor.errors, ...agent.errors].filter((e) => !e.includes(`WebSocket connection to '${victim.url}/' failed`)),
    [],
    deskErrors(desk),
  );
});

test('with every Janus of the pool killed, the call of two goes on peer-to-peer by itself', async (t) => {
  const { pool, desk, since, endedEvents } = await poolCall();
  const { visitor, agent } = desk;
  const joinsBefore = (await janusJoins(visitor.page)).length + (await janusJoins(agent.page)).length;

  await Promise.all(pool.map((janus) => janus.kill('SIGKILL')));
  const killedAt = Date.now();
  const intoVisitor = await flowing(visitor, agent, 'peer-to-peer: agent → visitor');
  const intoAgent = await flowing(agent, visitor, 'peer-to-peer: visitor → agent');
  t.diagnostic(`both Janus killed → media flowing again peer-to-peer both ways: ${Date.now() - killedAt} ms`);
  for (const flow of [intoVisitor, intoAgent]) assert.ok(flow.after.videoFramesDecoded > flow.before.videoFramesDecoded, 'frames decoded rise again');
  await assertToldMoved([visitor, agent], 1);
  for (const side of [visitor, agent]) {
    assert.equal((await sampleInbound(side.page)).peerConnections, 1, `${side.label}: one peer-to-peer connection`);
    const relayed = (await timeline(side.page)).filter((e) => e.what.startsWith('ws:recv signal'));
    assert.ok(relayed.length > 0, `${side.label}: the link was set up through the Parley server`);
  }
  assert.equal((await janusJoins(visitor.page)).length + (await janusJoins(agent.page)).length, joinsBefore, 'no Janus joined since');
  await screenshot(visitor.page, 'janus-pool-02-visitor-peer-to-peer');

  for (const side of [visitor, agent]) assert.deepEqual(await endedEvents(side), [], `${side.label}: the call went on`);
  await visitor.actOk('endVideo');
  await visitor.waitForEvent('videoEnded', { since: since.visitor });
  await agent.waitForEvent('videoEnded', { since: since.agent });
  await waitFor(async () => (await sampleInbound(visitor.page)).peerConnections === 0 && (await sampleInbound(agent.page)).peerConnections === 0, {
    what: 'the peer-to-peer connections to close',
  });
  for (const side of [visitor, agent]) assert.equal((await endedEvents(side)).length, 1, `${side.label}: the call ended once`);
  const dead = pool.map((janus) => `WebSocket connection to '${janus.url}/' failed`);
  assert.deepEqual(
    [...visitor.errors, ...agent.errors].filter((e) => !dead.some((d) => e.includes(d))),
    [],
    deskErrors(desk),
  );
});
