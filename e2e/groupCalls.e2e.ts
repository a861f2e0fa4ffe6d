/*
 * Group calls in headless Chromium, through the real server and `/sdk/parley.js`, once peer-to-peer (mesh)
 * and once through a Janus VideoRoom started by the test: a visitor and an agent in a call, a guest from the
 * visitor's link (3 people), then a colleague added by the agent (4 people). At each size every participant
 * proves, with numbers from `getCallStats()` and its rendered <video> elements, that it receives audio packets
 * and decodes frames from every other participant. A guest removed by the agent and a colleague leaving are
 * seen by all: their tiles disappear, the call goes on, and the removed guest's page is told why.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deskErrors, escalate, openCallDesk } from './support/callParties.ts';
import { assertEveryoneReceivesEveryone, assertTileGone, colleagueOn, guestFrom } from './support/groupParties.ts';
import { browserOnly } from './support/fixture.ts';
import { screenshot, waitFor } from './support/harness.ts';
import { startJanus } from './support/janus.ts';
import { renderedCall } from './support/media.ts';

const spec = browserOnly();
const { cleanup } = spec;

for (const topology of ['mesh', 'janus'] as const) {
  describe(`group call (${topology})`, () => {
    test('3 then 4 people: everyone receives everyone; a removed guest and a leaving colleague are seen by all', async () => {
      const env: Record<string, string> = {};
      if (topology === 'janus') {
        const janus = await startJanus();
        cleanup.add(() => janus.stop());
        env.JANUS_URL = janus.url;
      }
      const desk = await openCallDesk(spec.browser, cleanup, env);
      await escalate(desk);
      const { agent, visitor } = desk;

      const guest = await guestFrom(spec.browser, cleanup, desk, visitor);
      const trio = [visitor, agent, guest];
      await assertEveryoneReceivesEveryone(trio, `3 people (${topology})`);
      const grid = await visitor.page.evaluate(() => {
        const div = document.getElementById('video')!;
        return { layout: div.dataset.parleyLayout, count: div.dataset.parleyCount, names: [...div.querySelectorAll('.parley-name')].map((n) => n.textContent) };
      });
      assert.deepEqual(grid.layout, 'grid');
      assert.equal(grid.count, '3');
      assert.deepEqual([...grid.names].sort(), ['Ana Agent', 'Gus Guest', 'Vic Visitor']);

      const bo = await colleagueOn(spec.browser, cleanup, desk);
      const boSince = await bo.eventCount();
      await agent.actOk('addParticipant', [bo.id]);
      await bo.waitForEvent('videoInvite', { since: boSince });
      const accepted = await bo.answerInvite(true);
      assert.ok(accepted.ok, JSON.stringify(accepted));
      const quartet = [visitor, agent, guest, bo];
      await assertEveryoneReceivesEveryone(quartet, `4 people (${topology})`);
      for (const page of quartet) {
        const video = await page.video();
        assert.equal(video.participants.length, 4, `${page.label} lists four participants`);
      }
      await screenshot(visitor.page, `group-${topology}-visitor`);
      // Someone is heard: the active speaker is reported somewhere (fake microphones beep).
      await waitFor(
        async () => {
          for (const page of quartet) if ((await page.events()).some((e) => e.name === 'activeSpeaker' && (e.data as { participantId: unknown }).participantId)) return true;
          return null;
        },
        { what: 'an active speaker to be reported', timeoutMs: 20_000 },
      );
      if (topology === 'mesh') {
        const fifth = await visitor.act('createGuestInvite');
        assert.deepEqual(fifth.ok ? 'ok' : fifth.code, 'capacity', 'a fifth person is refused in mesh');
      }

      // The agent removes the guest: the guest's page is told, everyone else's tile of it goes.
      const guestSince = await guest.eventCount();
      const visitorSince = await visitor.eventCount();
      await agent.actOk('removeVideoParticipant', [guest.id]);
      await guest.waitForEvent('videoEnded', { since: guestSince, match: (e) => e.reason === 'removed' });
      await waitFor(async () => (await renderedCall(guest.page)).children === 0, { what: "the guest's div to be emptied" });
      await visitor.waitForEvent('participant:participantLeft', { since: visitorSince, match: (e) => (e.participant as { id: string }).id === guest.id });
      await assertTileGone([visitor, agent, bo], guest.id);

      // The colleague leaves; the call goes on between the visitor and the agent, media still flowing.
      const boLeft = await bo.eventCount();
      await bo.actOk('leaveVideo');
      await bo.waitForEvent('videoEnded', { since: boLeft, match: (e) => e.reason === 'left' });
      await assertTileGone([visitor, agent], bo.id);
      await assertEveryoneReceivesEveryone([visitor, agent], `after the others left (${topology})`);
      assert.equal((await visitor.video()).state, 'active');
      const story = (await visitor.transcript()).map((m) => m.text);
      for (const line of ['Gus Guest (guest of Vic Visitor) joined the call', 'Ana Agent invited Bo Colleague into the call', 'Ana Agent removed Gus Guest from the call', 'Bo Colleague left the call']) {
        assert.ok(story.includes(line), `the transcript tells "${line}": ${JSON.stringify(story)}`);
      }
      assert.deepEqual([visitor, agent, guest, bo].flatMap((p) => p.errors), [], deskErrors(desk));
    });
  });
}
