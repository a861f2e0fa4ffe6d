/*
 * One join run of bench:group: a fresh server (mesh or Janus), a visitor and an agent in a call with media
 * flowing, then a guest joins from the visitor's link (the 3rd participant) and a colleague the agent adds
 * accepts its invitation (the 4th). Each join is timed from the newcomer's call into the SDK to the first
 * decoded frame at everyone (see joinTiming.ts); each page's watcher stamps its first frames.
 */
import type { Browser } from 'playwright-core';
import { CallPage, escalate, openCallDesk } from '../../e2e/support/callParties.ts';
import { assertEveryoneReceivesEveryone, colleagueOn } from '../../e2e/support/groupParties.ts';
import { Cleanup, waitFor } from '../../e2e/support/harness.ts';
import { joinTiming, missingPairs, type JoinObservation, type JoinTiming } from './joinTiming.ts';
import { acceptInviteTimed, firstFrames, joinAsGuestTimed, stopWatching, watchFirstFrames } from './pages.ts';

/** How the call carries media. */
export type Topology = 'mesh' | 'janus';

/** An upper bound on one join, not an expected duration: past it the join is reported as failed. */
const JOIN_BOUND_MS = 60_000;

/** What one run gave: a timing per join, or why it has none. */
export interface JoinRun {
  third: JoinTiming | null;
  fourth: JoinTiming | null;
  failures: string[];
}

/** How many of the page's peer connections are connected now. */
function connectedLinks(page: CallPage): Promise<number> {
  return page.page.evaluate(() => window.parleyProbe.peerConnections().filter((pc) => pc.connectionState === 'connected').length);
}

/** Waits until the newcomer and the others have each decoded a frame of one another (bounded). */
async function observeJoin(newcomer: CallPage, others: CallPage[], startedAt: number, what: string): Promise<JoinTiming> {
  let seen: JoinObservation = { startedAt, newcomerFirstFrames: {}, others: [] };
  const look = async (): Promise<JoinObservation> => {
    const newcomerFirstFrames = await firstFrames(newcomer);
    const othersSeen = [];
    for (const other of others) othersSeen.push({ id: other.id, firstFrameOfNewcomer: (await firstFrames(other))[newcomer.id] });
    return { startedAt, newcomerFirstFrames, others: othersSeen };
  };
  try {
    await waitFor(
      async () => {
        seen = await look();
        return missingPairs(seen, newcomer.id).length === 0;
      },
      { what, timeoutMs: JOIN_BOUND_MS, intervalMs: 100 },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; no decoded frame for ${missingPairs(seen, newcomer.id).join(', ')}`);
  }
  return joinTiming(seen, newcomer.id);
}

/** One run: a fresh desk, the 3rd and the 4th participant timed; everything it opened is closed after. */
export async function joinRun(browser: Browser, topology: Topology, env: Record<string, string>, label: string): Promise<JoinRun> {
  const run: JoinRun = { third: null, fourth: null, failures: [] };
  const cleanup = new Cleanup();
  const watched: CallPage[] = [];
  try {
    const desk = await openCallDesk(browser, cleanup, env);
    const { visitor, agent } = desk;
    await escalate(desk);
    // The two already in the call exchange media before anyone joins: only the newcomer's join is timed.
    await assertEveryoneReceivesEveryone([visitor, agent], `${label}: 2 people (${topology})`);
    for (const page of [visitor, agent]) {
      await watchFirstFrames(page);
      watched.push(page);
    }

    // The 3rd: a guest from the visitor's link, on a page that is loaded and watching before it joins.
    const invite = (await visitor.actOk('createGuestInvite')) as { token: string };
    const guest = await CallPage.open(browser, desk.server.url, 'guest');
    cleanup.add(() => guest.party.context.close());
    await watchFirstFrames(guest);
    watched.push(guest);
    const guestStartedAt = await joinAsGuestTimed(guest, invite.token, 'Gus Guest');
    try {
      run.third = await observeJoin(guest, [visitor, agent], guestStartedAt, `${label}: the guest (3rd) to be seen and to see everyone`);
    } catch (error) {
      run.failures.push(`3rd: ${(error as Error).message}`);
      return run;
    }

    // The 4th: a colleague the agent adds, timed from its accept.
    const colleague = await colleagueOn(browser, cleanup, desk);
    await watchFirstFrames(colleague);
    watched.push(colleague);
    const since = await colleague.eventCount();
    await agent.actOk('addParticipant', [colleague.id]);
    await colleague.waitForEvent('videoInvite', { since });
    if (topology === 'mesh') {
      // Peer-to-peer, the colleague's links to the three in the call are prepared while the invitation rings, as
      // they would be by the time a person reaches Accept; the colleague accepts once they are connected.
      await waitFor(async () => (await connectedLinks(colleague)) >= 3, {
        what: `${label}: the colleague's links to be prepared while the invitation rings`,
        timeoutMs: 10_000,
      });
    }
    const colleagueStartedAt = await acceptInviteTimed(colleague);
    try {
      run.fourth = await observeJoin(colleague, [visitor, agent, guest], colleagueStartedAt, `${label}: the colleague (4th) to be seen and to see everyone`);
    } catch (error) {
      run.failures.push(`4th: ${(error as Error).message}`);
    }
    return run;
  } catch (error) {
    run.failures.push(`run: ${(error as Error).message.split('\n')[0]}`);
    return run;
  } finally {
    for (const page of watched) await stopWatching(page);
    await cleanup.run().catch((error: unknown) => run.failures.push(`cleanup: ${String(error)}`));
  }
}
