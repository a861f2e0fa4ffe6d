/*
 * Recovery from a dropped network, for real. The visitor's browser runs in a network namespace of the test's own
 * (e2e/support/netns.ts), joined to this machine by a veth pair; the server listens on the host side's address and
 * the agent's browser runs here. In a video call the visitor's link goes down for 3 s (ICE only disconnects), for
 * 20 s (ICE fails: the SDK must restart it by itself), and the visitor moves to a new address (its signaling socket
 * and its ICE candidates are dead). Each time media flows again at both ends (frames decoded and audio packets
 * rising) and the call never ends; meanwhile the agent's tile of the visitor says "Reconnecting…". Measured: the
 * time from the network coming back to media rising again at both ends (reported, not held to a threshold).
 * In mesh, and through a Janus listening on the host side of the veth.
 */
import assert from 'node:assert/strict';
import { after, test, type TestContext } from 'node:test';
import type { CallPage } from './support/callParties.ts';
import { Cleanup, waitFor } from './support/harness.ts';
import { sampleInbound, waitForMediaFlowing, type InboundSample } from './support/media.ts';
import { startJanus } from './support/janus.ts';
import { createNetworkNamespace, type NetworkNamespace } from './support/netns.ts';
import { callAcrossVeth } from './support/vethCall.ts';

const cleanup = new Cleanup();
after(() => cleanup.run());

/** Longer than the longest outage here: the visitor stays in the call while its network is away. */
const GRACE_SECONDS = '60';

/**
 * Milliseconds from `since` until media rises at both ends: two samples of each page in a row with more frames
 * decoded and more audio packets than the one before.
 */
async function timeToMediaBack(pages: CallPage[], since: number, timeoutMs = 30_000): Promise<number> {
  const last = new Map<CallPage, InboundSample>();
  const backAt = new Map<CallPage, number>();
  await waitFor(
    async () => {
      await Promise.all(
        pages.map(async (page) => {
          if (backAt.has(page)) return;
          const now = await sampleInbound(page.page);
          const before = last.get(page);
          last.set(page, now);
          if (before && now.videoFramesDecoded > before.videoFramesDecoded && now.audioPacketsReceived > before.audioPacketsReceived) backAt.set(page, before.at);
        }),
      );
      return backAt.size === pages.length;
    },
    { timeoutMs, intervalMs: 50, what: 'media to rise again at both ends', seen: () => Object.fromEntries([...last].map(([p, s]) => [p.label, s])) },
  );
  return Math.max(0, Math.max(...backAt.values()) - since);
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
  for (const seconds of [3, 20]) {
    ns.setLink(false);
    if (seconds === 20 && marked) await waitForReconnectingMark(agent, visitor.id, true);
    await new Promise((done) => setTimeout(done, seconds * 1000)); // the outage itself: what is tested is its length
    ns.setLink(true);
    const backAt = performance.timeOrigin + performance.now();
    const ms = await timeToMediaBack(parties, backAt);
    t.diagnostic(`link down ${seconds} s → media rising at both ends ${ms} ms after it came back`);
    if (marked) await waitForReconnectingMark(agent, visitor.id, false);
  }

  const movedAt = performance.timeOrigin + performance.now();
  const address = ns.moveParty();
  const ms = await timeToMediaBack(parties, movedAt);
  t.diagnostic(`visitor moved to ${address} → media rising at both ends ${ms} ms later`);

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
