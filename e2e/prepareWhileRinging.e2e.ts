/*
 * A peer-to-peer call connects while it rings, in headless Chromium through the real server: both pages make and
 * connect their peer connection before anyone answers, the invited page with no camera or microphone open (the
 * probe sees every getUserMedia and every RTCPeerConnection); accepting puts the devices' tracks on that
 * connection with no offer or answer after the accept, and media is proven flowing both ways. A declined call
 * leaves no peer connection open; a page reloaded while it rings prepares again. An agent on two tabs answers on
 * either. A colleague invited into a running call links to everyone in it while the invitation rings, and joins
 * with media flowing at once on Accept.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CallPage, deskErrors, escalate, openCallDesk, type CallDesk } from './support/callParties.ts';
import { browserOnly } from './support/fixture.ts';
import { assertEveryoneReceivesEveryone, colleagueOn } from './support/groupParties.ts';
import { waitFor } from './support/harness.ts';
import { CALL_DIV_ID, renderedCall, sampleInbound, timelineCount, waitForMediaFlowing } from './support/media.ts';

const spec = browserOnly();
const { cleanup } = spec;

/** How many of the page's timeline entries start with `what`, after `since`. */
const count = (party: CallPage, what: string, since = 0) => timelineCount(party.page, what, since);

/** Waits until the page has a connected peer connection (its prepared one). */
async function waitForLinked(party: CallPage): Promise<void> {
  await waitFor(async () => (await count(party, 'pc:connected')) > 0, { what: `${party.label}'s prepared peer connection to connect while it rings` });
}

/** Media flows both ways: each side decodes the other's video and receives its audio. */
async function assertMediaBothWays(desk: CallDesk, what: string): Promise<void> {
  for (const [into, from] of [[desk.visitor, desk.agent], [desk.agent, desk.visitor]] as const) {
    const flow = await waitForMediaFlowing(into.page, { remoteId: from.id, what: `${what}: ${from.label} → ${into.label}` });
    assert.ok(flow.after.videoFramesDecoded > flow.before.videoFramesDecoded, 'frames decoded rise');
    assert.ok(flow.after.audioPacketsReceived > flow.before.audioPacketsReceived, 'audio packets rise');
  }
}

test('the agent invites: both peer connections connect while it rings, the visitor opens no device until Accept; accepting sends media with no new negotiation', async () => {
  const desk = await openCallDesk(spec.browser, cleanup);
  const { visitor, agent } = desk;
  const since = await visitor.eventCount();
  const invited = agent.act('inviteToVideo', [CALL_DIV_ID, { useAudio: true, useVideo: true }]);
  await visitor.waitForEvent('videoInvite', { since });
  await waitForLinked(visitor);
  await waitForLinked(agent);
  assert.equal(await count(visitor, 'gum:start'), 0, 'the invited visitor opened no camera or microphone before Accept');
  assert.equal((await visitor.video()).state, 'invited', 'it still rings');
  const inbound = await sampleInbound(visitor.page);
  assert.equal(inbound.videoFramesDecoded, 0, 'nothing received while it rings');

  const acceptedAt = Date.now();
  const accepted = await visitor.answerInvite(true);
  assert.ok(accepted.ok, `accept(divID) resolves: ${JSON.stringify(accepted)}`);
  assert.deepEqual(await invited, { ok: true, value: { accepted: true } });
  await assertMediaBothWays(desk, 'a call prepared while it rang');
  assert.equal(await count(visitor, 'gum:start'), 1, 'the visitor opened its devices on Accept');
  for (const side of [visitor, agent]) {
    assert.equal(await count(side, 'pc:created'), 1, `${side.label} made one peer connection: the prepared one`);
    assert.equal(await count(side, 'sdp:', acceptedAt), 0, `${side.label} negotiated nothing after the accept`);
  }
  await agent.actOk('endVideo');
  await waitFor(async () => (await sampleInbound(visitor.page)).peerConnections === 0 && (await sampleInbound(agent.page)).peerConnections === 0, {
    what: 'both peer connections closed after the hang-up',
  });
  assert.deepEqual([...visitor.errors, ...agent.errors], [], `no page errors (${deskErrors(desk)})`);
});

test('the visitor asks and the agent declines after the path was prepared: no peer connection is left open, the agent never opened a device', async () => {
  const desk = await openCallDesk(spec.browser, cleanup);
  const { visitor, agent } = desk;
  const since = { visitor: await visitor.eventCount(), agent: await agent.eventCount() };
  await visitor.actOk('requestVideoUpgrade', [CALL_DIV_ID, true, true]);
  await agent.waitForEvent('requestVideoUpgrade', { since: since.agent });
  await waitForLinked(visitor);
  await waitForLinked(agent);
  await agent.actOk('responseVideoUpgrade', [false]);
  await visitor.waitForEvent('videoEnded', { since: since.visitor, match: (e) => e.reason === 'declined' });
  for (const side of [visitor, agent]) {
    await waitFor(async () => (await sampleInbound(side.page)).peerConnections === 0, { what: `${side.label}'s prepared peer connection closed` });
  }
  assert.equal(await count(agent, 'gum:start'), 0, 'the agent never opened a device');
  assert.deepEqual([...visitor.errors, ...agent.errors], [], `no page errors (${deskErrors(desk)})`);
});

test('the invited visitor reloads while it rings: the page prepares again, and its Accept connects media both ways', async () => {
  const desk = await openCallDesk(spec.browser, cleanup);
  const { visitor, agent } = desk;
  const invited = agent.act('inviteToVideo', [CALL_DIV_ID, { useAudio: true, useVideo: true }]);
  await visitor.waitForEvent('videoInvite');
  await waitForLinked(visitor);
  await visitor.load();
  await visitor.connectVisitor('Vic Visitor');
  await visitor.waitForEvent('videoInvite');
  await waitForLinked(visitor);
  assert.equal(await count(visitor, 'gum:start'), 0, 'the reloaded page opened nothing before Accept');
  const accepted = await visitor.answerInvite(true);
  assert.ok(accepted.ok, `accept(divID) resolves: ${JSON.stringify(accepted)}`);
  assert.deepEqual(await invited, { ok: true, value: { accepted: true } });
  await assertMediaBothWays(desk, 'a call prepared again after a reload');
  assert.deepEqual([...visitor.errors, ...agent.errors], [], `no page errors (${deskErrors(desk)})`);
});

test('an agent signed in on two tabs: both ring, one prepares, and accepting on either tab brings media both ways with the visitor', async () => {
  const desk = await openCallDesk(spec.browser, cleanup);
  const { visitor, agent } = desk;
  const tab = await CallPage.open(spec.browser, desk.server.url, 'agent tab 2');
  cleanup.add(() => tab.party.context.close());
  await tab.connectAgent(desk.account);
  await waitFor(async () => (await tab.sessionID()) === desk.sessionID, { what: 'the conversation on the second tab too' });
  for (const accepting of [agent, tab]) {
    const since = { visitor: await visitor.eventCount(), agent: await agent.eventCount(), tab: await tab.eventCount() };
    await visitor.actOk('requestVideoUpgrade', [CALL_DIV_ID, true, true]);
    await agent.waitForEvent('requestVideoUpgrade', { since: since.agent });
    await tab.waitForEvent('requestVideoUpgrade', { since: since.tab });
    await waitForLinked(visitor); // to whichever tab prepared last
    await accepting.actOk('responseVideoUpgrade', [true, CALL_DIV_ID]);
    await assertMediaBothWays({ ...desk, agent: accepting }, `accepted on ${accepting.label}`);
    const idle = accepting === agent ? tab : agent;
    assert.equal((await renderedCall(idle.page)).remoteVideos.length, 0, `${idle.label}, not accepting, draws nothing`);
    await visitor.actOk('endVideo');
    await accepting.waitForEvent('videoEnded', { since: since[accepting === agent ? 'agent' : 'tab'] });
    await visitor.waitForVideoState('ended');
  }
  assert.deepEqual([...visitor.errors, ...agent.errors, ...tab.errors], [], `no page errors (${deskErrors(desk)})`);
});

test('a colleague invited into a running call links to everyone while its invitation rings, with no device open and nothing drawn; Accept brings media with no new negotiation', async () => {
  const desk = await openCallDesk(spec.browser, cleanup);
  const { visitor, agent } = desk;
  await escalate(desk);
  const bo = await colleagueOn(spec.browser, cleanup, desk);
  const boSince = await bo.eventCount();
  await agent.actOk('addParticipant', [bo.id]);
  await bo.waitForEvent('videoInvite', { since: boSince });
  await waitFor(async () => (await count(bo, 'pc:connected')) >= 2, { what: "the colleague's links to the visitor and the agent to connect while the invitation rings" });
  assert.equal(await count(bo, 'gum:start'), 0, 'the invited colleague opened no camera or microphone before Accept');
  for (const side of [visitor, agent]) {
    const drawn = (await renderedCall(side.page)).remoteVideos.map((v) => v.participantId);
    assert.ok(!drawn.includes(bo.id), `${side.label} draws nothing of the colleague while the invitation rings: ${JSON.stringify(drawn)}`);
  }
  const acceptedAt = Date.now();
  const accepted = await bo.answerInvite(true);
  assert.ok(accepted.ok, JSON.stringify(accepted));
  await assertEveryoneReceivesEveryone([visitor, agent, bo], '3 people, the colleague prepared while invited');
  assert.equal(await count(bo, 'pc:created'), 2, 'the colleague made only the two links prepared while it was invited');
  for (const side of [visitor, agent, bo]) assert.equal(await count(side, 'sdp:', acceptedAt), 0, `${side.label} negotiated nothing after the accept`);
  assert.deepEqual([...visitor.errors, ...agent.errors, ...bo.errors], [], `no page errors (${deskErrors(desk)})`);
});
