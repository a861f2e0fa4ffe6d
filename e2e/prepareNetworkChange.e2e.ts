/*
 * The invited side's network drops while the call rings, for real: the visitor's browser runs in a network
 * namespace of the test's own behind a veth pair (e2e/support/netns.ts), the server and the agent's browser here.
 * The agent invites; the path is prepared (the visitor's peer connection connects with no device open); then the
 * visitor's link goes down for 3 s and comes back. Accepting then brings media both ways on the prepared path, with
 * the visitor's devices still unopened until Accept. Measured: accept → media both ways (reported, not held to a
 * threshold).
 * Not yet: the visitor moving to a new address while it rings. The idle prepared link was still `connected` 45 s
 * later (nothing flows on it for the silence watch to miss), and the page's socket stayed dead until its heartbeat.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { CallPage } from './support/callParties.ts';
import { Cleanup, waitFor } from './support/harness.ts';
import { CALL_DIV_ID, timelineCount, waitForMediaFlowing } from './support/media.ts';
import { createNetworkNamespace } from './support/netns.ts';
import { deskAcrossVeth } from './support/vethCall.ts';

const cleanup = new Cleanup();
after(() => cleanup.run());

const count = (party: CallPage, what: string, since = 0) => timelineCount(party.page, what, since);

test('the invited visitor’s network drops for 3 s while it rings: Accept then brings media both ways on the prepared path', { timeout: 120_000 }, async (t) => {
  const ns = await createNetworkNamespace(1 + ((process.pid + 200) % 250));
  cleanup.add(() => ns.remove());
  const { agent, visitor } = await deskAcrossVeth(ns, cleanup);
  const since = await visitor.eventCount();
  const invited = agent.act('inviteToVideo', [CALL_DIV_ID, { useAudio: true, useVideo: true }]);
  await visitor.waitForEvent('videoInvite', { since });
  await waitFor(async () => (await count(visitor, 'pc:connected')) > 0, { what: "the visitor's prepared link to connect while it rings" });

  ns.setLink(false);
  await new Promise((done) => setTimeout(done, 3000)); // the outage itself: what is tested is its length
  ns.setLink(true);
  assert.equal((await visitor.video()).state, 'invited', 'it still rings');
  assert.equal(await count(visitor, 'gum:start'), 0, 'the visitor opened no device before Accept');

  const acceptedAt = Date.now();
  const accepted = await visitor.answerInvite(true);
  assert.ok(accepted.ok, `accept resolves: ${JSON.stringify(accepted)}`);
  assert.deepEqual(await invited, { ok: true, value: { accepted: true } });
  await waitForMediaFlowing(agent.page, { remoteId: visitor.id, what: 'visitor → agent' });
  await waitForMediaFlowing(visitor.page, { remoteId: agent.id, what: 'agent → visitor' });
  t.diagnostic(`link down 3 s while it rang: accept → media both ways ${Date.now() - acceptedAt} ms`);
  assert.equal(await count(visitor, 'pc:created'), 1, 'the call went on the link prepared before the outage');
  assert.deepEqual([...visitor.errors, ...agent.errors], [], 'no page errors');
});
