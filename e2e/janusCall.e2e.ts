/*
 * A 1:1 call through a Janus VideoRoom: the Parley server runs with JANUS_URL pointing at a Janus of the
 * test's own, the visitor asks for a call, the agent accepts, and each page publishes to the call's room
 * and subscribes to the other's feed. Proven with numbers on both sides (frames decoded and audio packets
 * rising, in the page's statistics and in getCallStats), with Janus's own view of the room (both
 * participants in it under their party ids), with no SDP relayed through the Parley server, and with the
 * room gone once the call ends.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deskErrors, escalate, openCallDesk } from './support/callParties.ts';
import { browserAndJanus } from './support/fixture.ts';
import { screenshot, waitFor } from './support/harness.ts';
import { videoroomRequest } from './support/janus.ts';
import { janusJoins, reloadRecordingJoins, roomParticipants } from './support/janusJoins.ts';
import { renderedCall, sampleInbound, sdkCallStats, timeline, waitForMediaFlowing, type TimelineEntry } from './support/media.ts';

const spec = browserAndJanus();

/** Milliseconds from the latest offer applied (Janus's, to the subscribing connection) to the first decoded frame. */
function offerToFirstFrameMs(entries: TimelineEntry[]): number | null {
  const frame = entries.find((e) => e.what === 'frame:first');
  const offer = frame && entries.filter((e) => e.what === 'sdp:setRemote:start' && e.detail === 'offer' && e.at <= frame.at).at(-1);
  return frame && offer ? Math.round(frame.at - offer.at) : null;
}

test('a 1:1 call through Janus: media flows both ways through the SFU, and the room goes when the call ends', async (t) => {
  const desk = await openCallDesk(spec.browser, spec.cleanup, { JANUS_URL: spec.janus.url });
  const { visitor, agent } = desk;
  // The pages are loaded already; the join recorder applies from the next navigation, so load them again.
  await reloadRecordingJoins(desk);

  await escalate(desk);
  const intoVisitor = await waitForMediaFlowing(visitor.page, { remoteId: agent.id, what: 'through Janus: agent → visitor' });
  const intoAgent = await waitForMediaFlowing(agent.page, { remoteId: visitor.id, what: 'through Janus: visitor → agent' });
  for (const flow of [intoVisitor, intoAgent]) {
    assert.ok(flow.after.videoFramesDecoded > flow.before.videoFramesDecoded, 'frames decoded rise');
    assert.ok(flow.after.audioPacketsReceived > flow.before.audioPacketsReceived, 'audio packets rise');
    assert.ok(flow.after.videoFrameWidth > 0, 'decoded frames have a width');
  }
  for (const [side, other] of [
    [visitor, agent],
    [agent, visitor],
  ] as const) {
    const rows = await sdkCallStats(side.page);
    assert.deepEqual(
      rows.map((r) => r.participantId),
      [other.id],
      `${side.label}: one stats row, for the other party`,
    );
    assert.ok(rows[0]!.videoFramesDecoded > 0 && rows[0]!.audioPacketsReceived > 0, `${side.label}: ${JSON.stringify(rows)}`);
  }
  await screenshot(agent.page, 'janus-01-agent-in-call');

  // Through the SFU: each page published once and subscribed once in the same room, and no SDP went through Parley.
  const visitorJoins = await janusJoins(visitor.page);
  const agentJoins = await janusJoins(agent.page);
  const room = visitorJoins[0]?.room;
  assert.ok(typeof room === 'number', `the visitor joined a room: ${JSON.stringify(visitorJoins)}`);
  for (const [side, joins] of [
    [visitor, visitorJoins],
    [agent, agentJoins],
  ] as const) {
    assert.deepEqual(
      joins.map((j) => [j.ptype, j.room]).sort(),
      [
        ['publisher', room],
        ['subscriber', room],
      ],
      `${side.label}'s joins: ${JSON.stringify(joins)}`,
    );
    const publisherJoin = joins.find((j) => j.ptype === 'publisher')!;
    assert.equal(publisherJoin.display, side.id, 'published under its party id');
    assert.ok(publisherJoin.pin && publisherJoin.token, 'with the PIN and a token');
    const sample = await sampleInbound(side.page);
    assert.equal(sample.peerConnections, 2, `${side.label}: one publishing and one subscribing connection`);
    const relayed = (await timeline(side.page)).filter((e) => e.what.startsWith('ws:send signal') || e.what.startsWith('ws:recv signal'));
    assert.deepEqual(relayed, [], `${side.label}: no SDP or candidates relayed by the Parley server`);
  }
  assert.deepEqual(
    await roomParticipants(spec.janus.url, room),
    [
      [agent.id, true],
      [visitor.id, true],
    ].sort(),
    'Janus holds both participants, publishing',
  );
  assert.equal((await videoroomRequest(spec.janus.url, { request: 'exists', room })).exists, true);

  for (const side of [visitor, agent]) {
    const ms = offerToFirstFrameMs(await timeline(side.page));
    t.diagnostic(`${side.label}: Janus's offer to the first decoded frame: ${ms ?? '?'} ms`);
  }

  const since = { visitor: await visitor.eventCount(), agent: await agent.eventCount() };
  await visitor.actOk('endVideo');
  await visitor.waitForEvent('videoEnded', { since: since.visitor });
  await agent.waitForEvent('videoEnded', { since: since.agent });
  await waitFor(async () => (await videoroomRequest(spec.janus.url, { request: 'exists', room })).exists === false, {
    what: `room ${room} to be destroyed once the call ended`,
  });
  for (const side of [visitor, agent]) {
    await waitFor(async () => (await renderedCall(side.page)).children === 0, { what: `${side.label}'s call div to be emptied` });
    await waitFor(async () => (await sampleInbound(side.page)).peerConnections === 0, { what: `${side.label}'s connections to close` });
  }
  assert.deepEqual([...visitor.errors, ...agent.errors], [], deskErrors(desk));
});
