/*
 * A server restart in the middle of a video call, as a deploy (SIGTERM) or a crash (SIGKILL) does it: the
 * process starts again on the same store and port within seconds, and the call goes on. Both pages keep
 * saying "in a call" (the SDK shows only its signaling link reconnecting), remote video keeps advancing on
 * the peer-to-peer links that never touched the server, and the call works afterwards: the agent mutes and
 * the visitor sees it; the visitor ends the call and the agent hears of it once. On SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase } from '../packages/server/test/support/postgres.ts';
import { escalate, openCallDesk, type CallDesk } from './support/callParties.ts';
import { browserOnly } from './support/fixture.ts';
import { screenshot, startParley, waitFor } from './support/harness.ts';
import { waitForMediaFlowing } from './support/media.ts';

const spec = browserOnly();
const { cleanup } = spec;
const stores = process.env['PARLEY_TEST_STORE'] ? [process.env['PARLEY_TEST_STORE']] : ['sqlite', 'postgres'];

async function assertMediaBothWays(desk: CallDesk, what: string): Promise<void> {
  await waitForMediaFlowing(desk.visitor.page, { remoteId: desk.agent.id, what: `${what}: agent → visitor` });
  await waitForMediaFlowing(desk.agent.page, { remoteId: desk.visitor.id, what: `${what}: visitor → agent` });
}

for (const store of stores) {
  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    test(`${store}: a video call carries on through a ${signal} and restart of the server`, async () => {
      const env: Record<string, string> = {};
      if (store === 'postgres') {
        const database = await createTestDatabase('e2e');
        cleanup.add(() => database.drop());
        env['DATABASE_URL'] = database.url;
      }
      const desk = await openCallDesk(spec.browser, cleanup, env);
      const { visitor, agent } = desk;
      const since = await escalate(desk);
      await assertMediaBothWays(desk, 'before the restart');

      await desk.server.kill(signal);
      const restarted = await startParley({ dataDir: desk.server.dataDir, port: Number(new URL(desk.server.url).port), env });
      cleanup.add(() => restarted.stop());
      // Media never went through the server: it flows while the signaling is away and after it is back.
      await assertMediaBothWays(desk, `after the ${signal}`);
      for (const side of [visitor, agent]) {
        await waitFor(async () => (await side.video()).state === 'active', { what: `${side === visitor ? 'the visitor' : 'the agent'} to still be in the call` });
      }
      const ended = [...(await visitor.events()), ...(await agent.events())].filter((e) => e.name === 'videoEnded');
      assert.deepEqual(ended, [], 'the restart ended nobody’s call');
      // Both sides are back on the new process before the call is used again.
      for (const side of [visitor, agent]) {
        await waitFor(async () => (await side.connectionState()) === 'connected', { what: 'the signaling to reconnect to the restarted server', timeoutMs: 20_000 });
      }
      await screenshot(visitor.page, `restart-${store}-${signal}-visitor`);

      const muteSince = await visitor.eventCount();
      await agent.actOk('muteAudio');
      await visitor.waitForEvent('participant:audioMuted', { since: muteSince });
      await waitFor(async () => (await visitor.video()).participants.find((p) => p.id === agent.id)?.audio === false, {
        what: "the visitor to see the agent muted after the restart",
      });

      await visitor.actOk('endVideo');
      await agent.waitForEvent('videoEnded', { since: since.agentSince, match: (e) => e.reason === 'hangup' });
      await agent.waitForVideoState('ended');
      await new Promise((resolve) => setTimeout(resolve, 500)); // a second end would arrive by now
      const agentEnds = (await agent.events()).filter((e) => e.name === 'videoEnded');
      assert.equal(agentEnds.length, 1, 'the agent hears the end once');
      const events = (await agent.transcript()).filter((m) => m.kind === 'event').map((m) => m.text);
      assert.equal(events.filter((t) => /started/i.test(t)).length, 1, `one "call started" in ${JSON.stringify(events)}`);
    });
  }
}
