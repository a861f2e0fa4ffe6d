/*
 * A 1:1 call through a Janus pool of two (JANUS_URL lists both): the room is on one instance, the pages
 * publish and receive there. That instance is killed (SIGKILL) mid-call. Both pages, by themselves, join the
 * call again, reach the other instance and publish there; the video each receives advances again (frames
 * decoded rising, the remote <video> playing on). The call was never ended meanwhile, and ends once after.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deskErrors, escalate, openCallDesk, type CallPage } from './support/callParties.ts';
import { browserOnly } from './support/fixture.ts';
import { screenshot, waitFor } from './support/harness.ts';
import { startJanus, videoroomRequest, type JanusServer } from './support/janus.ts';
import { janusJoins, reloadRecordingJoins, roomParticipants, type JanusJoin } from './support/janusJoins.ts';
import { sampleInbound, timeline, waitForMediaFlowing } from './support/media.ts';

const spec = browserOnly();

const publishedAt = (joins: JanusJoin[], url: string) => joins.filter((j) => j.ptype === 'publisher' && j.url === url);

test('a Janus of the pool killed mid-call: both pages join again on the other by themselves and the video flows again', async (t) => {
  const pool: JanusServer[] = [];
  for (let i = 0; i < 2; i++) {
    const janus = await startJanus();
    spec.cleanup.add(() => janus.stop());
    pool.push(janus);
  }
  const desk = await openCallDesk(spec.browser, spec.cleanup, { JANUS_URL: pool.map((j) => j.url).join(',') });
  const { visitor, agent } = desk;
  await reloadRecordingJoins(desk);
  const since = { visitor: await visitor.eventCount(), agent: await agent.eventCount() };

  await escalate(desk);
  const flowing = (side: CallPage, other: CallPage, what: string) => waitForMediaFlowing(side.page, { remoteId: other.id, what, timeoutMs: 30_000 });
  await flowing(visitor, agent, 'before: agent → visitor');
  await flowing(agent, visitor, 'before: visitor → agent');
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
  for (const side of [visitor, agent]) {
    const told = (await timeline(side.page)).filter((e) => e.what.startsWith('ws:recv call.updated active') && e.detail?.includes('"mediaMoved":1'));
    assert.ok(told.length > 0, `${side.label} was told by the server that the call's media moved`);
  }
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
    await roomParticipants(survivor.url, room),
    [
      [agent.id, true],
      [visitor.id, true],
    ].sort(),
    'the survivor holds both participants, publishing',
  );

  const endedEvents = async (side: CallPage) => (await side.events()).slice(since[side.label as 'visitor' | 'agent']).filter((e) => e.name === 'videoEnded');
  for (const side of [visitor, agent]) assert.deepEqual(await endedEvents(side), [], `${side.label}: the call went on`);
  await visitor.actOk('endVideo');
  await visitor.waitForEvent('videoEnded', { since: since.visitor });
  await agent.waitForEvent('videoEnded', { since: since.agent });
  await waitFor(async () => (await videoroomRequest(survivor.url, { request: 'exists', room })).exists === false, {
    what: `room ${room} to be destroyed once the call ended`,
  });
  for (const side of [visitor, agent]) assert.equal((await endedEvents(side)).length, 1, `${side.label}: the call ended once`);
  assert.deepEqual(
    // The browser reports each failed attempt to reach the dead instance; nothing else may go wrong.
    [...visitor.errors, ...agent.errors].filter((e) => !e.includes(`WebSocket connection to '${victim.url}/' failed`)),
    [],
    deskErrors(desk),
  );
});
