/*
 * Recovery from a dropped network, for real. The visitor's browser runs in a network namespace of the test's own
 * (e2e/support/netns.ts), joined to this machine by a veth pair; the server listens on the host side's address and
 * the agent's browser runs here. In a video call the visitor's link goes down for 3 s (ICE only disconnects), for
 * 20 s (ICE fails: the SDK must restart it by itself), and the visitor moves to a new address (its signaling socket
 * and its ICE candidates are dead). Each time media flows again at both ends (frames decoded and audio packets
 * rising) and the call never ends, and the audio fallback never takes the outage for a link too weak for video;
 * meanwhile the agent's tile of the visitor says "Reconnecting…". Measured: the time from the network coming back to
 * media flowing again, video and audio apart, at both ends (reported, not held to a threshold).
 * In mesh, and through a Janus listening on the host side of the veth.
 */
import assert from 'node:assert/strict';
import { after, test, type TestContext } from 'node:test';
import type { CallPage } from './support/callParties.ts';
import { Cleanup, waitFor } from './support/harness.ts';
import { waitForMediaFlowing } from './support/media.ts';
import { describeBack, timeToMediaBack } from './support/mediaBack.ts';
import { startJanus } from './support/janus.ts';
import { createNetworkNamespace, type NetworkNamespace } from './support/netns.ts';
import { callAcrossVeth } from './support/vethCall.ts';

const cleanup = new Cleanup();
after(() => cleanup.run());

/** Longer than the longest outage here: the visitor stays in the call while its network is away. */
const GRACE_SECONDS = '60';

/** The audio fallback paused someone's video "for the network" since the event cursors: an outage taken for a weak link. */
async function networkPauses(pages: CallPage[], since: Map<CallPage, number>): Promise<string[]> {
  const paused: string[] = [];
  for (const page of pages) {
    for (const e of (await page.events()).slice(since.get(page) ?? 0)) {
      if (e.name === 'participant:videoPaused' && (e.data as { reason?: string } | null)?.reason === 'network') paused.push(`${page.label} saw a pause at ${e.at}`);
    }
  }
  return paused;
}

/** The agent's tile of the visitor says "Reconnecting…" (a data attribute and words), or no longer does. */
async function waitForReconnectingMark(agent: CallPage, visitorId: string, shown: boolean): Promise<void> {
  const cell = agent.page.locator(`[data-cell="${visitorId}"]`);
  await waitFor(async () => ((await cell.getAttribute('data-reconnecting')) !== null) === shown, {
    timeoutMs: 20_000,
    what: `the visitor's tile ${shown ? 'to say' : 'to stop saying'} reconnecting`,
    seen: () => cell.evaluate((el) => el.outerHTML.slice(0, 400)),
  });
  if (shown) assert.match((await cell.locator('.parley-reconnecting').textContent()) ?? '', /Reconnecting…/);
}

/**
 * The 3 s and 20 s outages and the move, in one call; measured at both ends each time. `marked`: the agent's own
 * link to the visitor drops, so its tile says reconnecting (in mesh; through Janus the agent's link is to Janus,
 * which stays up, and nothing tells the agent yet).
 */
async function outagesAndMove(t: TestContext, ns: NetworkNamespace, agent: CallPage, visitor: CallPage, marked: boolean): Promise<void> {
  const parties = [agent, visitor];
  const cursors = async () => new Map(await Promise.all(parties.map(async (p) => [p, await p.eventCount()] as const)));
  for (const seconds of [3, 20]) {
    const since = await cursors();
    ns.setLink(false);
    const outage = new Promise((done) => setTimeout(done, seconds * 1000)); // the outage itself: what is tested is its length
    if (seconds === 20 && marked) await waitForReconnectingMark(agent, visitor.id, true);
    await outage;
    ns.setLink(true);
    const backAt = performance.timeOrigin + performance.now();
    const back = await timeToMediaBack(parties, backAt);
    t.diagnostic(`link down ${seconds} s → media flowing again ${describeBack(back)} after it came back`);
    if (marked) await waitForReconnectingMark(agent, visitor.id, false);
    assert.deepEqual(await networkPauses(parties, since), [], `the ${seconds} s outage was not taken for a link too weak for video`);
  }

  const since = await cursors();
  const movedAt = performance.timeOrigin + performance.now();
  const address = ns.moveParty();
  const back = await timeToMediaBack(parties, movedAt);
  t.diagnostic(`visitor moved to ${address} → media flowing again ${describeBack(back)} later`);
  assert.deepEqual(await networkPauses(parties, since), [], 'the move was not taken for a link too weak for video');

  await waitForMediaFlowing(agent.page, { remoteId: visitor.id, what: 'visitor → agent after everything' });
  await waitForMediaFlowing(visitor.page, { remoteId: agent.id, what: 'agent → visitor after everything' });
  assert.deepEqual(
    [...(await agent.events()), ...(await visitor.events())].filter((e) => e.name === 'videoEnded'),
    [],
    'nobody’s call ended',
  );
}

test('a mesh call survives a 3 s outage, a 20 s outage and a change of address', { timeout: 240_000 }, async (t) => {
  const ns = await createNetworkNamespace(1 + ((process.pid + 100) % 250));
  cleanup.add(() => ns.remove());
  const { agent, visitor } = await callAcrossVeth(ns, cleanup, { CALL_GRACE_SECONDS: GRACE_SECONDS });
  await outagesAndMove(t, ns, agent, visitor, true);
});

// Not yet: through Janus a 20 s outage took ~21 s to recover and after the move the visitor's subscription never
// received again; the agent is not told the visitor is reconnecting (its own link, to Janus, stays up).
test('through Janus, a call survives a 3 s outage, a 20 s outage and a change of address', { timeout: 240_000, todo: 'the Janus publisher and subscriber restart after a long outage or a move' }, async (t) => {
  const ns = await createNetworkNamespace(1 + ((process.pid + 150) % 250));
  cleanup.add(() => ns.remove());
  // Janus listens and gathers candidates on the host side of the veth, which both browsers reach.
  const janus = await startJanus({ reach: { host: ns.hostAddress, iceInterfaces: ns.hostAddress } });
  cleanup.add(() => janus.stop());
  const { agent, visitor } = await callAcrossVeth(ns, cleanup, { CALL_GRACE_SECONDS: GRACE_SECONDS, JANUS_URL: janus.url });
  await outagesAndMove(t, ns, agent, visitor, false);
});
