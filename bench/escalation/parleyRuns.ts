/*
 * The Parley half of bench:escalation: a real server (the built CLI, as the e2e tests run it), an agent and a
 * visitor in their own browser contexts on bare pages that load `/sdk/parley.js`, chatting in one
 * conversation. Each run: the visitor asks for video; once the path prepared while it rings is connected on both
 * pages, the agent accepts (the `accept` mark is set in the
 * agent's page just before `responseVideoUpgrade(true)`), both pages wait for their first decoded remote
 * frame, then the visitor hangs up and both sides settle before the next run.
 */
import type { Browser } from 'playwright-core';
import { openCallDesk } from '../../e2e/support/callParties.ts';
import { Cleanup, waitFor } from '../../e2e/support/harness.ts';
import { CALL_DIV_ID, sampleInbound, timeline } from '../../e2e/support/media.ts';
import type { CallBench } from './baseline.ts';
import { ACCEPT_MARK, FIRST_FRAME_MARK, runTiming } from './timing.ts';

/** A run in which the call never delivered a frame (the call was ended; the bench can go on). */
export class RunFailed extends Error {
  override readonly name = 'RunFailed';
}

/** For each run: ms from the request to both prepared peer connections connected (while it rang, before the accept). */
export const preparedAfterMs: number[] = [];

/** Opens a server, an agent and a visitor chatting; each `run` is one escalation in that conversation. */
export async function openParley(browser: Browser): Promise<CallBench> {
  const cleanup = new Cleanup();
  try {
    // Every run is a new call in one conversation: more than the default limit of calls a minute allows.
    const desk = await openCallDesk(browser, cleanup, { CALL_REQUESTS_PER_MINUTE: '600' });
    const { visitor, agent } = desk;
    return {
      async run(label) {
        const agentSince = await agent.eventCount();
        const visitorSince = await visitor.eventCount();
        for (const side of [agent, visitor]) await side.page.evaluate(() => window.parleyProbe.clearTimeline());
        const askedAt = Date.now();
        await visitor.actOk('requestVideoUpgrade', [CALL_DIV_ID, true, true]);
        await agent.waitForEvent('requestVideoUpgrade', { since: agentSince });
        // It rings as it would for a person: the agent answers once the path prepared while ringing is connected
        // (a person takes longer than that to reach the button), and how long that took is kept.
        let preparedAt = askedAt;
        for (const side of [agent, visitor]) {
          const connected = await waitFor(async () => (await timeline(side.page)).find((e) => e.what === 'pc:connected'), {
            what: `${label}: the ${side.label}'s path to be prepared while it rings`,
            timeoutMs: 10_000,
            intervalMs: 10,
          });
          preparedAt = Math.max(preparedAt, connected.at);
        }
        preparedAfterMs.push(preparedAt - askedAt);
        for (const side of [agent, visitor]) await side.page.evaluate(() => window.parleyProbe.clearTimeline());
        await agent.actOk('responseVideoUpgrade', [true, CALL_DIV_ID], ACCEPT_MARK);
        let failure: Error | null = null;
        for (const side of [agent, visitor]) {
          await waitFor(async () => (await timeline(side.page)).some((e) => e.what === FIRST_FRAME_MARK), {
            what: `${label}: the ${side.label}'s first decoded remote frame`,
            timeoutMs: 20_000,
            intervalMs: 10,
          }).catch((error: Error) => (failure ??= error));
        }
        if (failure) {
          // A call that never shows a frame is a finding, not noise: say what each side got, end it, go on.
          const seen = async (side: typeof agent) => (await timeline(side.page)).map((e) => e.what).filter((w) => !w.includes('candidate'));
          const detail = `agent: ${(await seen(agent)).join(', ')}; visitor: ${(await seen(visitor)).join(', ')}`;
          await visitor.act('endVideo');
          await agent.waitForEvent('videoEnded', { since: agentSince }).catch(() => {});
          throw new RunFailed(`${(failure as Error).message}. Steps seen — ${detail}`);
        }
        const timing = runTiming(await timeline(agent.page), await timeline(visitor.page));

        await visitor.actOk('endVideo');
        await visitor.waitForEvent('videoEnded', { since: visitorSince });
        await agent.waitForEvent('videoEnded', { since: agentSince });
        for (const side of [agent, visitor]) {
          await waitFor(async () => (await sampleInbound(side.page)).peerConnections === 0, { what: `${label}: the ${side.label} to close its call` });
        }
        return timing;
      },
      close: () => cleanup.run(),
    };
  } catch (error) {
    await cleanup.run();
    throw error;
  }
}
