/*
 * Calls that survive what browsers do: a page reloaded during a call rejoins it by itself (media flows again
 * both ways), and a party that closes its tab ends the call for the other once the grace period is over
 * (the server runs with CALL_GRACE_SECONDS=3 here).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escalate, openCallDesk, type CallDesk, type CallPage } from './support/callParties.ts';
import { browserOnly } from './support/fixture.ts';
import { screenshot, waitFor } from './support/harness.ts';
import { renderedCall, sampleInbound, waitForMediaFlowing } from './support/media.ts';

const spec = browserOnly();
const { cleanup } = spec;

/** The grace period the server is started with for the tab-close test. */
const GRACE_SECONDS = 3;

async function assertMediaBothWays(desk: CallDesk, what: string): Promise<void> {
  await waitForMediaFlowing(desk.visitor.page, { remoteId: desk.agent.id, what: `${what}: agent → visitor` });
  await waitForMediaFlowing(desk.agent.page, { remoteId: desk.visitor.id, what: `${what}: visitor → agent` });
}

/** Reloads a party's page and connects it again the way an app would on start. */
async function reloadAndReconnect(desk: CallDesk, side: CallPage): Promise<void> {
  await side.load();
  if (side === desk.visitor) {
    const resumed = await side.connectVisitor();
    assert.equal(resumed.sessionID, desk.sessionID, 'the reloaded visitor resumes its conversation');
  } else {
    await side.connectAgent(desk.account);
    await waitFor(async () => (await side.sessionID()) === desk.sessionID, { what: 'the reloaded agent to get its conversation back' });
  }
}

test('a page reload during a call rejoins it: media flows again both ways, for the visitor and then the agent', async () => {
  const desk = await openCallDesk(spec.browser, cleanup);
  const { visitor, agent } = desk;
  await escalate(desk);
  await assertMediaBothWays(desk, 'before the reloads');

  await reloadAndReconnect(desk, visitor);
  await visitor.waitForVideoState('active');
  await assertMediaBothWays(desk, 'after the visitor reloaded');
  assert.deepEqual(
    (await renderedCall(visitor.page)).remoteVideos.map((v) => v.participantId),
    [agent.id],
    'the reloaded page draws the call into the same div again',
  );
  await screenshot(visitor.page, 'call-07-visitor-after-reload');

  await reloadAndReconnect(desk, agent);
  await agent.waitForVideoState('active');
  await assertMediaBothWays(desk, 'after the agent reloaded');
  const ended = [...(await visitor.events()), ...(await agent.events())].filter((e) => e.name === 'videoEnded');
  assert.deepEqual(ended, [], 'the reloads did not end the call');
  await visitor.actOk('endVideo');
  await agent.waitForEvent('videoEnded', { match: (e) => e.reason === 'hangup' });
});

test('the other party closing its tab ends the call after the grace period', async () => {
  const desk = await openCallDesk(spec.browser, cleanup, { CALL_GRACE_SECONDS: String(GRACE_SECONDS) });
  const { visitor, agent } = desk;
  const since = await escalate(desk);
  await assertMediaBothWays(desk, 'before the tab closes');

  const closedAt = Date.now();
  await visitor.party.context.close();
  const ended = await agent.waitForEvent('videoEnded', { since: since.agentSince, timeoutMs: (GRACE_SECONDS + 15) * 1000 });
  const endedAfterMs = Date.now() - closedAt;
  const data = ended.data as { reason: string; by?: { id: string } };
  assert.equal(data.reason, 'failed', 'the call ends as failed when a party does not come back');
  assert.equal(data.by?.id, visitor.id, 'ended because of the visitor');
  // The grace period is a floor set by configuration: the call must not end before it.
  assert.ok(endedAfterMs >= (GRACE_SECONDS - 0.5) * 1000, `the call waited out the ${GRACE_SECONDS} s grace (ended after ${endedAfterMs} ms)`);

  await agent.waitForVideoState('ended');
  await waitFor(async () => (await renderedCall(agent.page)).children === 0, { what: "the agent's call div to be emptied" });
  assert.equal((await sampleInbound(agent.page)).peerConnections, 0, 'the agent closed its peer connection');
  await waitFor(async () => (await agent.transcript()).some((m) => m.kind === 'event' && /Video call ended/.test(m.text)), {
    what: 'the end of the call in the transcript',
  });
});
