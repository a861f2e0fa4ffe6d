/*
 * What the group benchmark does in the pages: a first-frame watcher that polls the SDK's own
 * `getCallStats()` in the page and keeps, for each remote participant, the page's epoch time
 * (`performance.timeOrigin + performance.now()`) at which its first decoded video frame was seen; and the
 * two ways a newcomer starts joining (a guest's `joinAsGuest`, a colleague's `invite.accept`), timed in the
 * newcomer's page at the moment the SDK is called. Both clocks are the pages' own, in one browser on one
 * machine, so they compare across pages without a round trip to Node in between.
 */
import assert from 'node:assert/strict';
import type { CallPage } from '../../e2e/support/callParties.ts';
import type { CallStatsRow } from '@parley/sdk';
import { CALL_DIV_ID, sdkCallStats } from '../../e2e/support/media.ts';

/** How often the watcher polls `getCallStats()`; the first-frame times are this fine, at worst. */
export const FIRST_FRAME_POLL_MS = 20;

/**
 * The watcher's state in a page. Plain data only: functions defined inside `page.evaluate` must stay
 * anonymous, as tsx names named ones with a helper the page does not have.
 */
interface FirstFrameWatcher {
  /** Participant id → epoch ms at which its first decoded frame was seen. */
  firstFrames: Record<string, number>;
  /** Cleared to stop the watcher. */
  running: boolean;
}

declare global {
  interface Window {
    groupBenchWatcher?: FirstFrameWatcher;
  }
}

/** Starts the first-frame watcher in a page (once; it waits quietly while the page has no call yet). */
export async function watchFirstFrames(page: CallPage): Promise<void> {
  await page.page.evaluate((intervalMs) => {
    if (window.groupBenchWatcher) return;
    const watcher: FirstFrameWatcher = { firstFrames: {}, running: true };
    window.groupBenchWatcher = watcher;
    void (async () => {
      while (watcher.running) {
        const result = await window.parleyE2E.act('getCallStats', []);
        // Stamped when the statistics come back: a frame counted in them was decoded by then.
        const at = performance.timeOrigin + performance.now();
        if (result.ok) {
          for (const row of result.value as Array<{ participantId: string; videoFramesDecoded: number }>) {
            if (row.videoFramesDecoded > 0 && watcher.firstFrames[row.participantId] === undefined) watcher.firstFrames[row.participantId] = at;
          }
        }
        await new Promise((done) => setTimeout(done, intervalMs));
      }
    })();
  }, FIRST_FRAME_POLL_MS);
}

/** The first-frame times the page's watcher has seen so far. */
export function firstFrames(page: CallPage): Promise<Record<string, number>> {
  return page.page.evaluate(() => ({ ...(window.groupBenchWatcher?.firstFrames ?? {}) }));
}

/** Stops the page's watcher (it polls `getStats` and would cost the page CPU). */
export async function stopWatching(page: CallPage): Promise<void> {
  await page.page
    .evaluate(() => {
      if (window.groupBenchWatcher) window.groupBenchWatcher.running = false;
    })
    .catch(() => {});
}

/** The guest joins with a link; resolves with the epoch ms at which the page called `joinAsGuest`. */
export async function joinAsGuestTimed(guest: CallPage, token: string, name: string): Promise<number> {
  const args = [guest.baseUrl, token, name, CALL_DIV_ID] as const;
  const { startedAt, result } = await guest.page.evaluate(async ([server, t, n, div]) => {
    const at = performance.timeOrigin + performance.now();
    return { startedAt: at, result: await window.parleyE2E.joinAsGuest(server, t, n, div) };
  }, args);
  if (!result.ok) assert.fail(`${guest.label}: joinAsGuest rejected: ${result.code}: ${result.message}`);
  guest.id = (result.value as { id: string }).id;
  return startedAt;
}

/** The colleague accepts its latest `videoInvite`; resolves with the epoch ms at which the page called `accept`. */
export async function acceptInviteTimed(colleague: CallPage): Promise<number> {
  const { startedAt, result } = await colleague.page.evaluate(async (div) => {
    const at = performance.timeOrigin + performance.now();
    return { startedAt: at, result: await window.parleyE2E.answerInvite(true, div) };
  }, CALL_DIV_ID);
  if (!result.ok) assert.fail(`${colleague.label}: invite.accept rejected: ${result.code}: ${result.message}`);
  return startedAt;
}

/** One page's `getCallStats()` with the Node-side monotonic time it was taken at. */
export interface StatsSample {
  at: number;
  rows: CallStatsRow[];
}

/** Samples `getCallStats()` in a page; an SDK rejection (no call any more) reads as no rows. */
export async function sampleStats(page: CallPage): Promise<StatsSample> {
  const rows = await sdkCallStats(page.page).catch(() => []);
  return { at: performance.now(), rows };
}
