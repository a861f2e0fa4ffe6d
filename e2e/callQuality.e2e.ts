/*
 * Link quality on a real, throttled network. The visitor's browser runs in a network namespace of the test's own
 * (e2e/support/netns.ts), joined to this machine by a veth pair; the server listens on the host side's address and
 * the agent's browser runs here. In a peer-to-peer video call, the visitor's sending is capped at 60 kbit/s with a
 * token bucket (tc tbf): the agent's page rates the visitor's link poor (or lost), the visitor's page rates its own
 * sending the same, and the agent's tile shows it as a signal icon with words for screen readers. The visitor's page
 * then stops sending its video to keep its audio alive (the audio fallback): everyone hears 'videoPaused' (reason
 * network), the agent's tile says "Video paused: weak connection", and at the agent video stands still while audio
 * packets go on arriving, still under the cap. With the cap lifted, both ratings come back to good and the video
 * comes back by itself ('videoResumed', frames decoded again). Measured: the time from the cap to each change, and back.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type CallPage, type DriverEvent } from './support/callParties.ts';
import { Cleanup, waitFor } from './support/harness.ts';
import { waitForMediaFlowing, waitForVideoStill } from './support/media.ts';
import { createNetworkNamespace } from './support/netns.ts';
import { callAcrossVeth } from './support/vethCall.ts';

const cleanup = new Cleanup();
after(() => cleanup.run());

const quality = (e: DriverEvent) => (e.data as { quality?: string }).quality;
const about = (e: DriverEvent) => (e.data as { participant?: { id?: string } }).participant?.id;

test('a capped link: rated poor on both sides, the sender pauses its video and keeps its audio; lifted, all comes back by itself', { timeout: 170_000 }, async (t) => {
  const ns = await createNetworkNamespace(1 + (process.pid % 250));
  cleanup.add(() => ns.remove());
  const { agent, visitor, since } = await callAcrossVeth(ns, cleanup);

  // An open link: good on both sides, with the numbers behind it in getCallStats.
  await agent.waitForEvent('participant:connectionQuality', { since: since.agentSince, match: (e) => e.quality === 'good' });
  const open = (await agent.actOk('getCallStats')) as Array<{ participantId: string; quality?: string; availableOutgoingBitrateKbps?: number }>;
  const row = open.find((r) => r.participantId === visitor.id);
  assert.equal(row?.quality, 'good', `the visitor's row: ${JSON.stringify(open)}`);
  assert.ok((row?.availableOutgoingBitrateKbps ?? 0) > 0, `the agent's sending estimate is on the row: ${JSON.stringify(row)}`);

  const badFor = (page: CallPage, id: string, from: number) =>
    page.waitForEvent('participant:connectionQuality', {
      since: from,
      timeoutMs: 30_000,
      match: (e) => (e.participant as { id?: string } | undefined)?.id === id && ['poor', 'lost'].includes(String(e.quality)),
    });
  const goodFor = (page: CallPage, id: string, from: number) =>
    page.waitForEvent('participant:connectionQuality', {
      since: from,
      timeoutMs: 30_000,
      match: (e) => (e.participant as { id?: string } | undefined)?.id === id && e.quality === 'good',
    });

  const beforeCap = { agent: await agent.eventCount(), visitor: await visitor.eventCount() };
  ns.cap(60);
  const cappedAt = Date.now();
  const agentSaw = await badFor(agent, visitor.id, beforeCap.agent);
  const visitorSaw = await badFor(visitor, visitor.id, beforeCap.visitor);
  t.diagnostic(`capped at 60 kbit/s → agent rates the visitor ${quality(agentSaw)} after ${Math.round(agentSaw.at - cappedAt)} ms; the visitor rates its sending ${quality(visitorSaw)} after ${Math.round(visitorSaw.at - cappedAt)} ms`);
  const tile = agent.page.locator(`[data-cell="${visitor.id}"] .parley-quality`);
  await waitFor(async () => ['poor', 'lost'].includes((await tile.getAttribute('data-quality')) ?? ''), { what: "the visitor's tile to show the weak link" });
  assert.match((await tile.getAttribute('aria-label')) ?? '', /^Connection (poor|lost)$/, 'the icon says it in words');

  // The audio fallback: the visitor's page holds its video back; everyone is told why; audio goes on under the cap.
  const network = (e: Record<string, unknown>) => (e.participant as { id?: string } | undefined)?.id === visitor.id && e.reason === 'network';
  const paused = await agent.waitForEvent('participant:videoPaused', { since: beforeCap.agent, timeoutMs: 30_000, match: network });
  await visitor.waitForEvent('participant:videoPaused', { since: beforeCap.visitor, timeoutMs: 30_000, match: network });
  t.diagnostic(`capped → the visitor's video paused for the network after ${Math.round(paused.at - cappedAt)} ms`);
  const note = agent.page.locator(`[data-cell="${visitor.id}"] .parley-paused`);
  await note.waitFor();
  assert.equal(await note.textContent(), 'Video paused: weak connection');
  assert.equal(((await agent.video()).participants.find((p) => p.id === visitor.id) as { videoPaused?: boolean } | undefined)?.videoPaused, true);
  const still = await waitForVideoStill(agent.page, 'video to stand still at the agent while audio arrives, under the cap', 40_000);
  t.diagnostic(`under the cap with the video paused: ${still.to.audioPacketsReceived - still.from.audioPacketsReceived} audio packets in ${Math.round(still.to.at - still.from.at)} ms, no frame`);

  const beforeLift = { agent: await agent.eventCount(), visitor: await visitor.eventCount() };
  ns.uncap();
  const liftedAt = Date.now();
  const agentBack = await goodFor(agent, visitor.id, beforeLift.agent);
  const visitorBack = await goodFor(visitor, visitor.id, beforeLift.visitor);
  t.diagnostic(`cap lifted → good again for the agent after ${Math.round(agentBack.at - liftedAt)} ms, for the visitor after ${Math.round(visitorBack.at - liftedAt)} ms`);
  await waitFor(async () => (await tile.getAttribute('data-quality')) === 'good', { what: "the visitor's tile to show a good link again" });
  assert.equal(await tile.getAttribute('aria-label'), 'Connection good');
  const resumed = await agent.waitForEvent('participant:videoResumed', { since: beforeLift.agent, timeoutMs: 60_000, match: network });
  t.diagnostic(`cap lifted → the visitor's video resumed by itself after ${Math.round(resumed.at - liftedAt)} ms`);
  await note.waitFor({ state: 'detached' });
  await waitForMediaFlowing(agent.page, { remoteId: visitor.id, what: 'the visitor’s video decoded again at the agent' });
  // The call never stopped meanwhile.
  await waitForMediaFlowing(agent.page, { remoteId: visitor.id, what: 'visitor → agent after the cap' });
  assert.deepEqual([...(await agent.events()), ...(await visitor.events())].filter((e) => e.name === 'videoEnded'), [], 'nobody’s call ended');
  assert.equal(about(agentSaw), visitor.id);
});
