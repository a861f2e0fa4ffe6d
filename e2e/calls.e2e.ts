/*
 * Lifting a chat into a call, both ways, through the real server and `/sdk/parley.js` in headless Chromium
 * with fake devices (one browser context per party). Each accepted call is proven with numbers: frames and
 * audio packets rising on both sides, the remote <video> playing. Declines, hang-ups from each side and the
 * call's story in the transcript are checked too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deskErrors, escalate, openCallDesk, type CallDesk, type CallPage } from './support/callParties.ts';
import { browserOnly } from './support/fixture.ts';
import { screenshot, waitFor } from './support/harness.ts';
import { CALL_DIV_ID, renderedCall, sampleInbound, waitForMediaFlowing } from './support/media.ts';

const spec = browserOnly();
const { cleanup } = spec;

/** Media flows both ways: each side decodes the other's video and receives its audio. */
async function assertMediaBothWays(desk: CallDesk, what: string): Promise<void> {
  const intoVisitor = await waitForMediaFlowing(desk.visitor.page, { remoteId: desk.agent.id, what: `${what}: agent → visitor` });
  const intoAgent = await waitForMediaFlowing(desk.agent.page, { remoteId: desk.visitor.id, what: `${what}: visitor → agent` });
  for (const flow of [intoVisitor, intoAgent]) {
    assert.ok(flow.after.videoFramesDecoded > flow.before.videoFramesDecoded, 'frames decoded rise');
    assert.ok(flow.after.audioPacketsReceived > flow.before.audioPacketsReceived, 'audio packets rise');
    assert.ok(flow.after.videoFrameWidth > 0, 'decoded frames have a width');
  }
}

/** The call div after a call: everything the SDK added is gone. */
async function waitForDivEmptied(party: CallPage): Promise<void> {
  await waitFor(async () => (await renderedCall(party.page)).children === 0, {
    what: `${party.label}'s call div to be emptied (now ${JSON.stringify(await renderedCall(party.page))})`,
  });
}

/** Both sides got `videoEnded` with `reason` after the cursors, and their divs are empty again. */
async function assertEndedOnBoth(desk: CallDesk, since: { visitorSince: number; agentSince: number }, reason: string): Promise<void> {
  const match = (e: Record<string, unknown>) => e.reason === reason;
  await desk.visitor.waitForEvent('videoEnded', { since: since.visitorSince, match });
  await desk.agent.waitForEvent('videoEnded', { since: since.agentSince, match });
  await desk.visitor.waitForVideoState('ended');
  await desk.agent.waitForVideoState('ended');
  await waitForDivEmptied(desk.visitor);
  await waitForDivEmptied(desk.agent);
}

/** Waits until the conversation's event messages include one matching each pattern, in this order. */
async function waitForCallStory(party: CallPage, patterns: RegExp[]): Promise<string[]> {
  let texts: string[] = [];
  try {
    await waitFor(
      async () => {
        texts = (await party.transcript()).filter((m) => m.kind === 'event').map((m) => m.text);
        let from = 0;
        for (const pattern of patterns) {
          const at = texts.findIndex((t, i) => i >= from && pattern.test(t));
          if (at < 0) return false;
          from = at + 1;
        }
        return true;
      },
      { what: `${party.label}'s transcript to tell the call's story` },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; events: ${JSON.stringify(texts)}; expected ${patterns.join(', ')}`);
  }
  return texts;
}

test('visitor requests video, the agent accepts: media flows both ways; the visitor hangs up; the transcript tells it', async () => {
  const desk = await openCallDesk(spec.browser, cleanup);
  const { visitor, agent } = desk;
  const agentSince = await agent.eventCount();
  const since = await escalate(desk);

  const request = await agent.waitForEvent('requestVideoUpgrade', { since: agentSince });
  const asked = request.data as { sessionID: string; useAudio: boolean; useVideo: boolean; from: { id: string; role: string } };
  assert.equal(asked.sessionID, desk.sessionID);
  assert.equal(asked.useAudio, true);
  assert.equal(asked.useVideo, true);
  assert.equal(asked.from.id, visitor.id, 'the request comes from the visitor');
  assert.equal(asked.from.role, 'visitor');

  await assertMediaBothWays(desk, 'requested call');
  for (const [side, other] of [[visitor, agent], [agent, visitor]] as const) {
    const video = await side.video();
    assert.equal(video.state, 'active', `${side.label}'s call is active`);
    assert.ok(video.participants.some((p) => p.id === other.id), `${side.label} lists ${other.label} as a participant`);
    const div = await renderedCall(side.page);
    assert.deepEqual(div.remoteVideos.map((v) => v.participantId), [other.id], `${side.label} renders one remote video: ${other.label}`);
    assert.equal(div.localPreviews, 1, `${side.label} shows a local preview`);
  }
  await screenshot(visitor.page, 'call-01-visitor-in-call');
  await screenshot(agent.page, 'call-02-agent-in-call');

  await visitor.actOk('endVideo');
  await assertEndedOnBoth(desk, since, 'hangup');
  const afterEnd = await sampleInbound(agent.page);
  assert.equal(afterEnd.peerConnections, 0, 'no peer connection is left open on the agent side');

  const story = [/Vic Visitor asked for a video call/, /Ana Agent accepted/, /Video call started/, /Video call ended by Vic Visitor after .*\d/];
  await waitForCallStory(visitor, story);
  await waitForCallStory(agent, story);

  const chat = await visitor.act('requestVideoUpgrade', [CALL_DIV_ID, true, true]);
  assert.ok(chat.ok, `a new call can be requested in the same conversation after the end: ${JSON.stringify(chat)}`);
  assert.deepEqual([...visitor.errors, ...agent.errors], [], `no page errors (${deskErrors(desk)})`);
});

test('visitor requests video, the agent refuses: the visitor hears no, the call ends declined, nothing starts', async () => {
  const desk = await openCallDesk(spec.browser, cleanup);
  const { visitor, agent } = desk;
  const visitorSince = await visitor.eventCount();
  const agentSince = await agent.eventCount();
  await visitor.actOk('requestVideoUpgrade', [CALL_DIV_ID, true, true]);
  await visitor.waitForVideoState('requested');
  await agent.waitForEvent('requestVideoUpgrade', { since: agentSince });

  await agent.actOk('responseVideoUpgrade', [false]);
  const answer = await visitor.waitForEvent('responseVideoUpgrade', { since: visitorSince });
  assert.equal((answer.data as { response: boolean }).response, false, 'the visitor gets response false');
  await visitor.waitForEvent('videoEnded', { since: visitorSince, match: (e) => e.reason === 'declined' });
  await agent.waitForEvent('videoEnded', { since: agentSince, match: (e) => e.reason === 'declined' });
  await visitor.waitForVideoState('ended');

  const started = [...(await visitor.events()), ...(await agent.events())].filter((e) => e.name === 'videoStarted');
  assert.deepEqual(started, [], 'no call started');
  assert.equal((await sampleInbound(visitor.page)).peerConnections, 0, 'the visitor opened no peer connection');
  assert.equal((await renderedCall(visitor.page)).children, 0, "the visitor's div stays empty");
  await waitForCallStory(visitor, [/Vic Visitor asked for a video call/, /Ana Agent declined/]);
});

test('the agent invites, the visitor declines: inviteToVideo resolves { accepted: false }', async () => {
  const desk = await openCallDesk(spec.browser, cleanup);
  const { visitor, agent } = desk;
  const visitorSince = await visitor.eventCount();
  const agentSince = await agent.eventCount();
  const invited = agent.act('inviteToVideo', [CALL_DIV_ID]);

  const invite = await visitor.waitForEvent('videoInvite', { since: visitorSince });
  const offer = invite.data as { sessionID: string; useAudio: boolean; useVideo: boolean; from: { id: string } };
  assert.equal(offer.sessionID, desk.sessionID);
  assert.equal(offer.useAudio, true, 'audio on by default');
  assert.equal(offer.useVideo, true, 'video on by default');
  assert.equal(offer.from.id, agent.id, 'the invitation comes from the agent');
  await visitor.waitForVideoState('invited');

  const declined = await visitor.answerInvite(false);
  assert.ok(declined.ok, `decline() resolves: ${JSON.stringify(declined)}`);
  assert.deepEqual(await invited, { ok: true, value: { accepted: false } }, 'inviteToVideo resolves { accepted: false }');
  const answer = await agent.waitForEvent('responseVideoUpgrade', { since: agentSince });
  assert.equal((answer.data as { response: boolean }).response, false, "the agent's responseVideoUpgrade says no");
  await agent.waitForEvent('videoEnded', { since: agentSince, match: (e) => e.reason === 'declined' });
  await visitor.waitForEvent('videoEnded', { since: visitorSince, match: (e) => e.reason === 'declined' });
  assert.equal((await sampleInbound(agent.page)).peerConnections, 0, 'the agent opened no peer connection');
  await waitForCallStory(agent, [/Ana Agent invited Vic Visitor/, /Vic Visitor declined/]);
});

test('the agent invites, the visitor accepts: media flows both ways; the agent hangs up', async () => {
  const desk = await openCallDesk(spec.browser, cleanup);
  const { visitor, agent } = desk;
  const since = { visitorSince: await visitor.eventCount(), agentSince: await agent.eventCount() };
  const invited = agent.act('inviteToVideo', [CALL_DIV_ID, { useAudio: true, useVideo: true }]);
  await visitor.waitForEvent('videoInvite', { since: since.visitorSince });
  const accepted = await visitor.answerInvite(true);
  assert.ok(accepted.ok, `accept(divID) resolves: ${JSON.stringify(accepted)}`);
  assert.deepEqual(await invited, { ok: true, value: { accepted: true } }, 'inviteToVideo resolves { accepted: true }');
  const answer = await agent.waitForEvent('responseVideoUpgrade', { since: since.agentSince });
  assert.equal((answer.data as { response: boolean }).response, true);
  await visitor.waitForEvent('videoStarted', { since: since.visitorSince });
  await agent.waitForEvent('videoStarted', { since: since.agentSince });

  await assertMediaBothWays(desk, 'invited call');
  await screenshot(visitor.page, 'call-03-visitor-accepted-invite');

  await agent.actOk('endVideo');
  await assertEndedOnBoth(desk, since, 'hangup');
  for (const side of [visitor, agent]) {
    assert.equal((await sampleInbound(side.page)).peerConnections, 0, `${side.label} closed its peer connections`);
  }
  const ended = await visitor.waitForEvent('videoEnded', { since: since.visitorSince });
  assert.equal((ended.data as { by?: { id: string } }).by?.id, agent.id, 'videoEnded says the agent hung up');
  await waitForCallStory(visitor, [/Ana Agent invited Vic Visitor/, /Vic Visitor accepted/, /Video call started/, /Video call ended by Ana Agent/]);
  assert.deepEqual([...visitor.errors, ...agent.errors], [], `no page errors (${deskErrors(desk)})`);
});
