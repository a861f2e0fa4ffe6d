/*
 * Rejoining a group call after the grace period, for real. A visitor and an agent (bare SDK pages, in a browser on
 * this machine) are in a video call; a colleague added to it runs the agent workspace (/agent) in a browser inside
 * a network namespace of the test's own (e2e/support/netns.ts). The colleague's link goes down past a short grace
 * period (CALL_GRACE_SECONDS=3, and WS_IDLE_TIMEOUT_SECONDS=3 so the server notices the dead socket soon): the
 * call goes on for the other two with media flowing, the colleague is taken out, and once its link is back its
 * workspace says "You left the call" with a "Rejoin" button instead of joining again by itself. The click brings
 * it back: media flows again both ways (frames decoded and audio packets rising), and the transcript tells both.
 * Measured: from the link coming back to the button showing, and from the click to media at both ends.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Page } from 'playwright-core';
import { CallPage, escalate, type CallDesk } from './support/callParties.ts';
import { assertEveryoneReceivesEveryone } from './support/groupParties.ts';
import { Cleanup, createAgent, waitFor, type AgentAccount } from './support/harness.ts';
import { sdkCallStats } from './support/media.ts';
import { createNetworkNamespace } from './support/netns.ts';
import { startAcrossVeth } from './support/vethCall.ts';
import { newWorkspaceParty, signIn } from './support/workspaceDriver.ts';

const cleanup = new Cleanup();
after(() => cleanup.run());

const ana: AgentAccount = { email: 'ana@example.test', name: 'Ana Agent', password: 'correct horse battery' };
const bo: AgentAccount = { email: 'bo@example.test', name: 'Bo Colleague', password: 'correct horse battery' };

/**
 * Installed before the workspace's scripts run: keeps each RTCPeerConnection, and `__inbound()` sums the frames
 * decoded and audio packets received over the open ones. A string: the test runner's transpiler would add
 * helpers the page does not have.
 */
const PEER_WATCH = `(() => {
  const Native = window.RTCPeerConnection;
  if (!Native || window.__peers) return;
  const peers = [];
  window.__peers = peers;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); peers.push(this); }
  };
  window.__inbound = async () => {
    let frames = 0;
    let packets = 0;
    for (const pc of peers) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'video') frames += s.framesDecoded || 0;
        if (s.kind === 'audio') packets += s.packetsReceived || 0;
      });
    }
    return { frames, packets };
  };
})();`;

type Inbound = { frames: number; packets: number };
const inbound = (page: Page) => page.evaluate(() => (window as unknown as { __inbound(): Promise<Inbound> }).__inbound());

/** The workspace receives: frames decoded and audio packets both rise between two samples. */
async function workspaceReceives(page: Page, what: string): Promise<void> {
  let last: Inbound = { frames: 0, packets: 0 };
  await waitFor(
    async () => {
      const before = last;
      last = await inbound(page);
      return last.frames > before.frames && last.packets > before.packets && before.frames > 0 ? true : null;
    },
    { what, timeoutMs: 45_000, intervalMs: 500, seen: () => last },
  );
}

/** `from`'s media reaches each SDK page: its row's frames and packets rise between two samples. */
async function pagesReceiveFrom(pages: CallPage[], from: string, what: string): Promise<void> {
  for (const receiver of pages) {
    let last: { f: number; p: number } = { f: 0, p: 0 };
    await waitFor(
      async () => {
        const row = (await sdkCallStats(receiver.page)).find((r) => r.participantId === from);
        const before = last;
        last = { f: row?.videoFramesDecoded ?? 0, p: row?.audioPacketsReceived ?? 0 };
        return before.f > 0 && last.f > before.f && last.p > before.p ? true : null;
      },
      { what: `${what}: ${receiver.label}`, timeoutMs: 45_000, intervalMs: 500, seen: () => last },
    );
  }
}

test('a colleague dropped past the grace period sees "You left the call" and rejoins with "Rejoin"', { timeout: 300_000 }, async (t) => {
  const ns = await createNetworkNamespace(1 + ((process.pid + 200) % 250));
  cleanup.add(() => ns.remove());
  const env = { CALL_GRACE_SECONDS: '3', WS_IDLE_TIMEOUT_SECONDS: '3' };
  const { server, here, behindLink } = await startAcrossVeth(ns, cleanup, env);

  createAgent(server.dataDir, ana);
  createAgent(server.dataDir, bo);
  const agent = await CallPage.open(here, server.url, 'agent');
  await agent.connectAgent(ana);
  const visitor = await CallPage.open(here, server.url, 'visitor');
  await visitor.connectVisitor('Vic Visitor');
  const sessionID = await visitor.startChat('Can we talk on video?');
  await waitFor(async () => (await agent.sessionID()) === sessionID, { what: 'the conversation to reach the agent' });
  const desk: CallDesk = { server, account: ana, agent, visitor, sessionID };
  await escalate(desk);

  // Bo's id, as an SDK connection tells it (then that connection goes: the workspace is Bo's page).
  const probe = await CallPage.open(here, server.url, 'bo-probe');
  await probe.connectAgent(bo);
  const boId = probe.id;
  await probe.party.context.close();

  const ws = await newWorkspaceParty(behindLink);
  cleanup.add(() => ws.context.close());
  await ws.page.addInitScript(PEER_WATCH);
  await signIn(ws.page, server.url, bo);
  await agent.actOk('addParticipant', [boId]);
  const banner = ws.page.getByRole('alertdialog', { name: /invites you to join the video call/ });
  await banner.getByRole('button', { name: 'Accept', exact: true }).click();
  await pagesReceiveFrom([visitor, agent], boId, 'Bo reaches the others');
  await workspaceReceives(ws.page, 'the workspace to receive from the others');

  // Bo's link goes down past the grace period: the call goes on for the other two, without Bo.
  const agentSince = await agent.eventCount();
  ns.setLink(false);
  const cutAt = Date.now();
  await agent.waitForEvent('participant:participantLeft', { since: agentSince, timeoutMs: 60_000, match: (e) => (e.participant as { id: string }).id === boId });
  t.diagnostic(`Bo taken out ${Date.now() - cutAt} ms after the cut (the 3 s grace runs once the server counts him offline)`);
  assert.equal((await visitor.video()).state, 'active', 'the call goes on for the others');
  await assertEveryoneReceivesEveryone([visitor, agent], 'the other two while Bo is away');

  // The link is back: the workspace is told, and offered to rejoin; it does not rejoin by itself.
  ns.setLink(true);
  const upAt = Date.now();
  await ws.page.getByText('You left the call', { exact: true }).waitFor({ timeout: 90_000 });
  const rejoin = ws.page.getByRole('button', { name: 'Rejoin', exact: true });
  await rejoin.waitFor();
  t.diagnostic(`"Rejoin" offered ${Date.now() - upAt} ms after the link came back`);
  assert.equal((await agent.video()).participants.some((p) => p.id === boId), false, 'Bo did not rejoin by itself');

  const clickAt = Date.now();
  await rejoin.click();
  await pagesReceiveFrom([visitor, agent], boId, 'Bo reaches the others again');
  await workspaceReceives(ws.page, 'the workspace to receive again');
  t.diagnostic(`media at both ends ${Date.now() - clickAt} ms after "Rejoin"`);
  assert.equal(await rejoin.isVisible(), false, 'the button is gone once back in the call');
  assert.equal((await agent.video()).participants.length, 3);

  const story = (await visitor.transcript()).map((m) => m.text);
  for (const line of ['Bo Colleague lost the connection and left the call', 'Bo Colleague rejoined the call']) {
    assert.ok(story.includes(line), `the transcript tells "${line}": ${JSON.stringify(story)}`);
  }

  // The call ends for everyone: nothing is left to rejoin.
  await agent.actOk('endVideo');
  await waitFor(async () => !(await rejoin.isVisible()) && !(await ws.page.getByText('You left the call', { exact: true }).isVisible()), {
    what: 'no Rejoin once the call is over',
  });
  assert.deepEqual([agent, visitor].flatMap((p) => p.errors), []);
});
