/*
 * A call through Janus is prepared while it rings too, in headless Chromium with a Janus of the test's own: the
 * room is made when the call rings, and both pages join it, publish (transceivers with no track) and subscribe to
 * each other's feed before anyone answers, the invited page with no camera or microphone open. Accepting puts the
 * tracks on the published transceivers: no join, offer or answer after the accept, and media is proven flowing
 * both ways through the SFU. A declined call leaves no room, participant or peer connection behind.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deskErrors, openCallDesk, type CallPage } from './support/callParties.ts';
import { browserAndJanus } from './support/fixture.ts';
import { waitFor } from './support/harness.ts';
import { videoroomRequest } from './support/janus.ts';
import { janusJoins, reloadRecordingJoins, roomParticipants } from './support/janusJoins.ts';
import { CALL_DIV_ID, sampleInbound, timelineCount, waitForMediaFlowing } from './support/media.ts';

const spec = browserAndJanus();

/** How many of the page's timeline entries start with `what`, after `since`. */
const count = (party: CallPage, what: string, since = 0) => timelineCount(party.page, what, since);

/** Waits until the page's publishing and subscribing connections to Janus are both connected. */
async function waitForPrepared(party: CallPage): Promise<void> {
  await waitFor(async () => (await count(party, 'pc:connected')) >= 2, { what: `${party.label}'s publisher and subscription to connect while it rings` });
}

test('through Janus: both pages join the room, publish and subscribe while it rings, the visitor with no device open; accepting sends media with no new negotiation', async () => {
  const desk = await openCallDesk(spec.browser, spec.cleanup, { JANUS_URL: spec.janus.url });
  const { visitor, agent } = desk;
  await reloadRecordingJoins(desk);
  const since = await visitor.eventCount();
  const invited = agent.act('inviteToVideo', [CALL_DIV_ID, { useAudio: true, useVideo: true }]);
  await visitor.waitForEvent('videoInvite', { since });
  await waitForPrepared(visitor);
  await waitForPrepared(agent);
  assert.equal(await count(visitor, 'gum:start'), 0, 'the invited visitor opened no camera or microphone before Accept');
  assert.equal((await visitor.video()).state, 'invited', 'it still rings');
  const room = (await janusJoins(visitor.page))[0]?.room;
  assert.ok(typeof room === 'number', 'the visitor joined the room while it rang');
  assert.deepEqual(await roomParticipants(spec.janus.url, room), [[agent.id, true], [visitor.id, true]].sort(), 'both in the room, publishing, before Accept');
  assert.equal((await sampleInbound(visitor.page)).videoFramesDecoded, 0, 'nothing received while it rings');

  const acceptedAt = Date.now();
  const accepted = await visitor.answerInvite(true);
  assert.ok(accepted.ok, `accept(divID) resolves: ${JSON.stringify(accepted)}`);
  assert.deepEqual(await invited, { ok: true, value: { accepted: true } });
  for (const [into, from] of [[visitor, agent], [agent, visitor]] as const) {
    const flow = await waitForMediaFlowing(into.page, { remoteId: from.id, what: `through Janus, prepared: ${from.label} → ${into.label}` });
    assert.ok(flow.after.videoFramesDecoded > flow.before.videoFramesDecoded && flow.after.audioPacketsReceived > flow.before.audioPacketsReceived);
  }
  for (const side of [visitor, agent]) {
    assert.deepEqual((await janusJoins(side.page)).map((j) => j.ptype).sort(), ['publisher', 'subscriber'], `${side.label} joined the room once as each`);
    assert.equal(await count(side, 'pc:created'), 2, `${side.label} made only the connections prepared while it rang`);
    assert.equal(await count(side, 'sdp:', acceptedAt), 0, `${side.label} negotiated nothing after the accept`);
  }
  await agent.actOk('endVideo');
  await waitFor(async () => (await videoroomRequest(spec.janus.url, { request: 'exists', room })).exists === false, { what: 'the room destroyed after the hang-up' });
  assert.deepEqual([...visitor.errors, ...agent.errors], [], deskErrors(desk));
});

test('through Janus, declined after both prepared: the room is destroyed, no connection is left open, the agent never opened a device', async () => {
  const desk = await openCallDesk(spec.browser, spec.cleanup, { JANUS_URL: spec.janus.url });
  const { visitor, agent } = desk;
  await reloadRecordingJoins(desk);
  const since = { visitor: await visitor.eventCount(), agent: await agent.eventCount() };
  await visitor.actOk('requestVideoUpgrade', [CALL_DIV_ID, true, true]);
  await agent.waitForEvent('requestVideoUpgrade', { since: since.agent });
  await waitForPrepared(visitor);
  await waitForPrepared(agent);
  const room = (await janusJoins(agent.page))[0]?.room;
  assert.ok(typeof room === 'number', 'the agent joined the room while it rang');
  await agent.actOk('responseVideoUpgrade', [false]);
  await visitor.waitForEvent('videoEnded', { since: since.visitor, match: (e) => e.reason === 'declined' });
  await waitFor(async () => (await videoroomRequest(spec.janus.url, { request: 'exists', room })).exists === false, { what: `room ${room} destroyed after the decline` });
  for (const side of [visitor, agent]) {
    await waitFor(async () => (await sampleInbound(side.page)).peerConnections === 0, { what: `${side.label}'s prepared connections to close` });
  }
  assert.equal(await count(agent, 'gum:start'), 0, 'the agent never opened a device');
  assert.deepEqual([...visitor.errors, ...agent.errors], [], deskErrors(desk));
});
