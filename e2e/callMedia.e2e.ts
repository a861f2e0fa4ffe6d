/*
 * What a call carries, changed while it runs, proven with inbound statistics on the other side: an audio-only
 * call upgraded to video, video turned off (voice only) and on again without audio ever stopping, and a
 * muted microphone seen as a participant event and as silence.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escalate, openCallDesk, type CallPage } from './support/callParties.ts';
import { browserOnly } from './support/fixture.ts';
import { screenshot, waitFor } from './support/harness.ts';
import { SILENT_ENERGY, renderedCall, sampleInbound, waitForAudioAudible, waitForAudioSilent, waitForMediaFlowing, waitForVideoStill } from './support/media.ts';

const spec = browserOnly();
const { cleanup } = spec;

/** Waits for a participant event about `about` and returns the participant it carries. */
async function participantEvent(side: CallPage, eventName: string, about: CallPage, since: number): Promise<{ id: string; audio: boolean; video: boolean }> {
  const event = await side.waitForEvent(`participant:${eventName}`, {
    since,
    match: (e) => (e.participant as { id?: string } | undefined)?.id === about.id,
  });
  return (event.data as { participant: { id: string; audio: boolean; video: boolean } }).participant;
}

test('an audio-only call carries sound and no frames; enableVideo on each side starts frames on the other', async () => {
  const desk = await openCallDesk(spec.browser, cleanup);
  const { visitor, agent } = desk;
  await escalate(desk, { useAudio: true, useVideo: false });

  await waitForMediaFlowing(agent.page, { video: false, remoteId: visitor.id, what: 'audio-only: visitor → agent' });
  await waitForMediaFlowing(visitor.page, { video: false, remoteId: agent.id, what: 'audio-only: agent → visitor' });
  for (const side of [visitor, agent]) {
    const sample = await sampleInbound(side.page);
    assert.equal(sample.videoFramesDecoded, 0, `${side.label} decodes no video in an audio-only call`);
    assert.equal((await side.video()).useVideo, false);
    assert.ok((await renderedCall(side.page)).remoteVideos.every((v) => v.videoWidth === 0), `${side.label} shows no remote picture`);
  }
  await screenshot(agent.page, 'call-04-agent-audio-only');

  const agentSince = await agent.eventCount();
  await visitor.actOk('enableVideo');
  const enabled = await participantEvent(agent, 'videoEnabled', visitor, agentSince);
  assert.equal(enabled.video, true, 'the visitor now sends video');
  await waitForMediaFlowing(agent.page, { remoteId: visitor.id, what: 'after the visitor enabled video: visitor → agent' });
  await agent.waitForVideoState('active');
  assert.equal((await agent.video()).useVideo, true, 'the call was upgraded to video');

  const visitorSince = await visitor.eventCount();
  await agent.actOk('enableVideo');
  await participantEvent(visitor, 'videoEnabled', agent, visitorSince);
  await waitForMediaFlowing(visitor.page, { remoteId: agent.id, what: 'after the agent enabled video: agent → visitor' });
  await screenshot(visitor.page, 'call-05-visitor-upgraded-to-video');
  await visitor.actOk('endVideo');
});

test('disableVideo: frames stop on the other side while audio packets keep rising; enableVideo: frames rise again', async () => {
  const desk = await openCallDesk(spec.browser, cleanup);
  const { visitor, agent } = desk;
  await escalate(desk);
  await waitForMediaFlowing(agent.page, { remoteId: visitor.id, what: 'call up: visitor → agent' });
  await waitForMediaFlowing(visitor.page, { remoteId: agent.id, what: 'call up: agent → visitor' });

  const since = await agent.eventCount();
  await visitor.actOk('disableVideo');
  const disabled = await participantEvent(agent, 'videoDisabled', visitor, since);
  assert.equal(disabled.video, false, 'the participant event says video is off');
  assert.equal(disabled.audio, true, 'and audio still on');
  const still = await waitForVideoStill(agent.page, "the visitor's video to stop on the agent side while its audio goes on");
  assert.equal(still.to.videoFramesDecoded, still.from.videoFramesDecoded, 'no frame decoded across the stretch');
  assert.ok(still.to.audioPacketsReceived > still.from.audioPacketsReceived, 'audio packets kept rising across it');
  assert.equal((await visitor.video()).useAudio, true);
  await waitForMediaFlowing(visitor.page, { remoteId: agent.id, what: "the agent's media to the visitor is untouched" });
  await screenshot(agent.page, 'call-06-agent-sees-voice-only');

  const again = await agent.eventCount();
  await visitor.actOk('enableVideo');
  await participantEvent(agent, 'videoEnabled', visitor, again);
  const flow = await waitForMediaFlowing(agent.page, { remoteId: visitor.id, what: "the visitor's video back on the agent side" });
  assert.ok(flow.after.videoFramesDecoded > still.to.videoFramesDecoded, 'frames rise again after enableVideo');
  await agent.actOk('endVideo');
});

test('muteAudio: the other side gets audioMuted and hears silence while video goes on; unmuteAudio brings sound back', async () => {
  const desk = await openCallDesk(spec.browser, cleanup);
  const { visitor, agent } = desk;
  await escalate(desk);
  await waitForMediaFlowing(agent.page, { remoteId: visitor.id, what: 'call up: visitor → agent' });

  const since = await agent.eventCount();
  await visitor.actOk('muteAudio');
  const muted = await participantEvent(agent, 'audioMuted', visitor, since);
  assert.equal(muted.audio, false, 'the participant event says audio is off');
  await waitFor(async () => (await agent.video()).participants.find((p) => p.id === visitor.id)?.audio === false, {
    what: "the agent's participant list to show the visitor muted",
  });
  const silent = await waitForAudioSilent(agent.page, "the visitor's audio to go silent on the agent side while video goes on");
  assert.ok(silent.to.audioEnergy - silent.from.audioEnergy < SILENT_ENERGY, 'no audible energy received across the stretch');
  assert.ok(silent.to.videoFramesDecoded > silent.from.videoFramesDecoded, 'video kept flowing across it');

  const unmuteSince = await agent.eventCount();
  await visitor.actOk('unmuteAudio');
  const unmuted = await participantEvent(agent, 'audioUnmuted', visitor, unmuteSince);
  assert.equal(unmuted.audio, true);
  await waitForAudioAudible(agent.page, 'audio energy to rise again on the agent side after unmuteAudio');
  await visitor.actOk('endVideo');
});
