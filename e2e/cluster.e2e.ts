/*
 * Many nodes, the way a newcomer meets them: two real node processes on PostgreSQL and Redis behind a real HAProxy
 * configured from deploy/haproxy.cfg (what `npm run cluster -- --nodes 2` starts). The visitor is on the demo shop
 * (the widget in its iframe) and the agent in the workspace, both through the balancer, and they sit on different
 * nodes (read from the store's `node_parties`). They chat both ways and hold a video call; then the visitor's node
 * is SIGKILLed, started again, and the agent's node is SIGKILLed. Across each kill: remote video keeps decoding
 * frames on both sides (peer-to-peer media never touched a node), the page that lost its node reconnects through
 * the balancer to the other one (seen in `node_parties`), the call stays up on both sides, and chat works both ways
 * afterwards. The call then ends once: one "started" and one "ended" line in the transcript.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import type { Frame, Page } from 'playwright-core';
import { startCluster, type Cluster } from '../packages/server/test/support/cluster.ts';
import { browserOnly } from './support/fixture.ts';
import { viewportShot, waitFor, type AgentAccount } from './support/harness.ts';
import { installInPageTools, type InboundSample } from './support/media.ts';
import { chatFrame, launcher, waitForWidgetLine, widgetFrame, widgetSend } from './support/widgetDesk.ts';
import {
  acceptVisitor,
  callRegion,
  newWorkspaceParty,
  queuedVisitor,
  reply,
  setAvailable,
  signIn,
  waitForLine,
  waitForRemoteVideoPlaying,
  workspaceTranscript,
} from './support/workspaceDriver.ts';

const spec = browserOnly();
const { cleanup } = spec;
const account: AgentAccount = { email: 'nia@example.test', name: 'Nia Nodes', password: 'correct horse battery' };

/** Which node holds each role's connections, from the store (node id → roles are what the nodes wrote). */
async function nodesOf(cluster: Cluster, role: 'visitor' | 'agent'): Promise<string[]> {
  const client = new pg.Client({ connectionString: cluster.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ node_id: string }>('SELECT node_id FROM node_parties WHERE party_role = $1 ORDER BY node_id', [role]);
    return rows.map((r) => r.node_id);
  } finally {
    await client.end();
  }
}

/** Waits until one node holds `role`'s connections, and names it. */
async function heldBy(cluster: Cluster, role: 'visitor' | 'agent'): Promise<string> {
  const nodes = await waitFor(async () => {
    const held = await nodesOf(cluster, role);
    return held.length === 1 ? held : null;
  }, { what: `the ${role}'s connection in node_parties` });
  return nodes[0] as string;
}

/** Waits until `role`'s connections are held by `nodeId` alone: the page reconnected there. */
async function waitHeldBy(cluster: Cluster, role: 'visitor' | 'agent', nodeId: string, what: string): Promise<void> {
  let seen: string[] = [];
  await waitFor(async () => (seen = await nodesOf(cluster, role)).length === 1 && seen[0] === nodeId, {
    what,
    timeoutMs: 20_000,
    seen: () => `held by ${JSON.stringify(seen)}`,
  }).catch((error: Error) => {
    throw new Error(`${error.message}\n${cluster.describe()}`);
  });
}

/** The media the widget's frame (where the widget's peer connection lives) or the workspace page receives. */
const inbound = (target: Page | Frame): Promise<InboundSample> => target.evaluate(() => window.parleyProbe.sample());

/** Waits until decoded video frames and audio packets rose past `since` (the media kept flowing). */
async function waitForMoreMedia(target: Page | Frame, since: InboundSample, what: string): Promise<InboundSample> {
  let last = since;
  return waitFor(
    async () => {
      last = await inbound(target);
      return last.videoFramesDecoded > since.videoFramesDecoded + 10 && last.audioPacketsReceived > since.audioPacketsReceived + 25 ? last : null;
    },
    { what, timeoutMs: 15_000, seen: () => `from ${JSON.stringify(since)} to ${JSON.stringify(last)}` },
  );
}

/** The workspace's transcript lines about the call: how many say it started, how many that it ended. */
async function callLines(ws: Page): Promise<{ started: number; ended: number; lines: string[] }> {
  const lines = (await workspaceTranscript(ws)).filter((t) => /call/i.test(t));
  return { started: lines.filter((t) => /started/i.test(t)).length, ended: lines.filter((t) => /ended/i.test(t)).length, lines };
}

test('a visitor and an agent on different nodes chat and hold a video call while each node in turn is killed', { timeout: 300_000 }, async (t) => {
  const cluster = await startCluster({ nodes: 2 });
  cleanup.add(() => cluster.stop());
  cluster.createAgent(account);
  const nodeIndex = (nodeId: string) => cluster.nodes.findIndex((n) => n.nodeId === nodeId);

  // The agent signs in to the workspace through the balancer, away, so the visitor waits in the queue.
  const agent = await newWorkspaceParty(spec.browser);
  cleanup.add(() => agent.context.close());
  await installInPageTools(agent.page);
  const ws = agent.page;
  await signIn(ws, cluster.url, account);
  await setAvailable(ws, false);
  const agentNode = await heldBy(cluster, 'agent');

  // The visitor opens the demo shop through the balancer. HAProxy balances by least connections, so the visitor's
  // socket goes to the other node; a reload moves it if it did not (the test needs the two nodes, not the luck).
  const visitor = await spec.browser.newContext({ baseURL: cluster.url, permissions: ['camera', 'microphone'], viewport: { width: 1200, height: 800 } });
  cleanup.add(() => visitor.close());
  const shop = await visitor.newPage();
  await installInPageTools(shop);
  const visitorErrors: string[] = [];
  shop.on('pageerror', (error) => visitorErrors.push(`pageerror: ${error.message}`));
  await shop.goto('/');
  await launcher(shop).click();
  await widgetSend(shop, 'Hi! Is anyone there?');
  await waitForWidgetLine(shop, 'Hi! Is anyone there?', 'the first message');
  let visitorNode = '';
  for (let attempt = 0; ; attempt++) {
    visitorNode = await heldBy(cluster, 'visitor');
    if (visitorNode !== agentNode) break;
    assert.ok(attempt < 10, `the visitor stayed on ${agentNode}, the agent's node, over ${attempt} reloads`);
    await shop.reload();
    await waitFor(async () => ((await nodesOf(cluster, 'visitor'))[0] ?? agentNode) !== agentNode || null, { what: 'the reloaded visitor to connect', timeoutMs: 5000 }).catch(() => undefined);
  }
  const visitorAt = nodeIndex(visitorNode);
  const agentAt = nodeIndex(agentNode);
  assert.ok(visitorAt >= 0 && agentAt >= 0 && visitorAt !== agentAt, `visitor on ${visitorNode}, agent on ${agentNode}`);

  // Chat across the two nodes, both ways, with typing.
  const { visitorName } = await queuedVisitor(ws, 'Hi! Is anyone there?');
  await acceptVisitor(ws, visitorName);
  await waitForLine(ws, 'Hi! Is anyone there?', "the visitor's first message");
  await reply(ws, `Hello from ${agentNode}.`);
  await waitForWidgetLine(shop, `Hello from ${agentNode}.`, "the agent's reply across nodes");
  await widgetFrame(shop).getByRole('textbox', { name: 'Message', exact: true }).fill('Can you');
  await waitFor(async () => ((await ws.locator('#typing').textContent()) ?? '').includes(`${visitorName} is typing`), {
    what: "the visitor's typing shown to the agent on the other node",
  });
  await widgetSend(shop, `Can you show me on video? (from ${visitorNode})`);
  await waitForLine(ws, `Can you show me on video? (from ${visitorNode})`, "the visitor's message across nodes");

  // The visitor asks for a call; the agent accepts from the banner. Video plays both ways.
  await widgetFrame(shop).getByRole('button', { name: 'Video call', exact: true }).click();
  const banner = ws.getByRole('alertdialog', { name: `${visitorName} asks for a video call` });
  await banner.waitFor();
  await banner.getByRole('button', { name: 'Accept', exact: true }).click();
  const call = callRegion(ws);
  const widgetCall = widgetFrame(shop).getByRole('region', { name: 'Call' });
  await waitForRemoteVideoPlaying(ws, 'workspace, before any kill', '#call-stage');
  await waitForRemoteVideoPlaying(widgetFrame(shop), 'widget, before any kill', '#parley-call-media');
  const frame = await chatFrame(shop);
  let atAgent = await waitForMoreMedia(ws, await inbound(ws), 'the agent to receive media');
  let atVisitor = await waitForMoreMedia(frame, await inbound(frame), 'the visitor to receive media');
  await viewportShot(ws, 'cluster-workspace-call');

  /** Kills node `at` mid-call and proves the call, the media and the chat survive it on the other node. */
  const survive = async (at: number, whose: string) => {
    const dead = cluster.nodes[at]!.nodeId;
    const other = cluster.nodes[1 - at]!.nodeId;
    await cluster.kill(at, 'SIGKILL');
    const killedAt = Date.now();
    // The page that was on the dead node reconnects through the balancer: the other node writes its row.
    const moved = whose === "the visitor's" ? 'visitor' : 'agent';
    let held: string[] = [];
    await waitFor(async () => (held = await nodesOf(cluster, moved)).includes(other), {
      what: `the ${moved} to reconnect to ${other} after ${dead} died`,
      timeoutMs: 20_000,
      intervalMs: 20,
      seen: () => `held by ${JSON.stringify(held)}`,
    });
    const reconnectedMs = Date.now() - killedAt;
    // Media is peer to peer: it never stopped, and it goes on with the pages on one node.
    atAgent = await waitForMoreMedia(ws, atAgent, `the agent's video and audio to go on after ${whose} node ${dead} died`);
    atVisitor = await waitForMoreMedia(frame, atVisitor, `the visitor's video and audio to go on after ${whose} node ${dead} died`);
    // Once the dead node is reaped, only the other node holds either page.
    await waitHeldBy(cluster, 'visitor', other, `the visitor to be on ${other} alone after ${dead} died`);
    await waitHeldBy(cluster, 'agent', other, `the agent to be on ${other} alone after ${dead} died`);
    const reapedMs = Date.now() - killedAt;
    atAgent = await waitForMoreMedia(ws, atAgent, `the agent's media after ${dead} was reaped`);
    atVisitor = await waitForMoreMedia(frame, atVisitor, `the visitor's media after ${dead} was reaped`);
    // The call is still up on both sides: nothing said it ended.
    assert.equal(await call.isVisible(), true, `the workspace still shows the call after ${dead} died`);
    assert.equal(await widgetCall.getByRole('button', { name: 'End call', exact: true }).isVisible(), true, `the widget still shows the call after ${dead} died`);
    assert.equal((await callLines(ws)).ended, 0, `no "call ended" line after ${dead} died: ${JSON.stringify((await callLines(ws)).lines)}`);
    // And chat goes on both ways.
    await widgetSend(shop, `Still there after ${dead}?`);
    await waitForLine(ws, `Still there after ${dead}?`, `the visitor's message after ${dead} died`);
    await reply(ws, `Yes, now on ${other}.`);
    await waitForWidgetLine(shop, `Yes, now on ${other}.`, `the agent's reply after ${dead} died`);
    t.diagnostic(`${whose} node ${dead} killed: the ${moved} reconnected to ${other} after ${reconnectedMs} ms (read every 20 ms), the dead node's rows gone after ${reapedMs} ms, chat both ways after ${Date.now() - killedAt} ms`);
  };

  await survive(visitorAt, "the visitor's");
  await cluster.start(visitorAt);
  await cluster.waitBalancer(visitorAt, 'UP');
  await survive(agentAt, "the agent's");
  await viewportShot(shop, 'cluster-visitor-after-kills');

  // The visitor ends the call; it ends once, for both.
  await widgetCall.getByRole('button', { name: 'End call', exact: true }).click();
  await waitFor(async () => /Call ended/.test((await widgetCall.textContent().catch(() => '')) ?? ''), { what: 'the widget to say the call ended' });
  await waitFor(async () => call.isHidden(), { what: 'the workspace call panel to close' });
  await waitForLine(ws, /ended/i, 'the call-ended line in the transcript');
  await new Promise((resolve) => setTimeout(resolve, 1000)); // a second "ended" from another node would be here by now
  const lines = await callLines(ws);
  assert.equal(lines.started, 1, `one "started" line: ${JSON.stringify(lines.lines)}`);
  assert.equal(lines.ended, 1, `one "ended" line: ${JSON.stringify(lines.lines)}`);
  assert.deepEqual(visitorErrors, [], 'no errors in the shop page');
});
