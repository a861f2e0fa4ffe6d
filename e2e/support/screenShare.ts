/*
 * Proving a shared screen in a page, with numbers: the receiver's `<video data-screen>` has a width, its clock
 * advances and the frames decoded on the screen's own receiver rise; the sharer has its preview; and audio
 * packets keep arriving while a share starts and stops (sampled every 20 ms in the page, the longest stand-still
 * measured). Every wait is bounded by counts, with a timeout only as an upper limit.
 */
import type { Page } from 'playwright-core';
import { waitFor } from './harness.ts';
import { CALL_DIV_ID } from './media.ts';
import type { AudioWatch, RenderedScreen } from './page/probe.ts';

export type { AudioWatch, RenderedScreen } from './page/probe.ts';

/**
 * The shared screen drawn in the call div (`preview`: this page's own "you are sharing" preview), or null.
 * `divId`: the div a product page draws its call into (the workspace's, the guest page's).
 */
export function renderedScreen(page: Page, preview = false, divId = CALL_DIV_ID): Promise<RenderedScreen | null> {
  return page.evaluate(([div, own]) => window.parleyProbe.screen(div, own), [divId, preview] as const);
}

/** Waits until `page` decodes the screen of `sharerId`: a width, then frames decoded rising and the clock advancing. */
export async function waitForScreenFlowing(page: Page, sharerId: string, what: string, divId = CALL_DIV_ID): Promise<{ first: RenderedScreen; later: RenderedScreen }> {
  const seen = () => renderedScreen(page, false, divId);
  const shown = async () => {
    const screen = await seen();
    return screen && screen.participantId === sharerId && screen.videoWidth > 0 && screen.framesDecoded > 0 ? screen : null;
  };
  const first = await waitFor(shown, { timeoutMs: 15_000, what: `the screen drawn (${what})`, seen });
  const later = await waitFor(
    async () => {
      const screen = await shown();
      return screen && screen.framesDecoded > first.framesDecoded && screen.currentTime > first.currentTime ? screen : null;
    },
    { timeoutMs: 15_000, what: `screen frames rising (${what})`, seen },
  );
  return { first, later };
}

/** Waits until no shared screen is drawn in `page` (`preview`: the sharer's own preview). */
export async function waitForScreenGone(page: Page, what: string, preview = false, divId = CALL_DIV_ID): Promise<void> {
  const seen = () => renderedScreen(page, preview, divId);
  await waitFor(async () => (await seen()) === null, { timeoutMs: 15_000, what, seen });
}

/** Starts sampling inbound audio packets in `page`, every 20 ms (each sample waits for the last). */
export function startAudioWatch(page: Page): Promise<void> {
  return page.evaluate(() => window.parleyProbe.startAudioWatch(20));
}

/** Stops sampling: how many packets came and the longest stretch with none. */
export function stopAudioWatch(page: Page): Promise<AudioWatch> {
  return page.evaluate(() => window.parleyProbe.stopAudioWatch());
}

/**
 * Ends the share the way the browser's own "Stop sharing" bar does: the captured track stops and fires `ended`
 * (the page's own `track.stop()` fires nothing, so the event is dispatched as the browser would).
 */
export async function stopSharingFromBrowser(page: Page, divId = CALL_DIV_ID): Promise<void> {
  const stopped = await page.evaluate((div) => {
    const video = document.getElementById(div)?.querySelector<HTMLVideoElement>('video[data-screen-preview]');
    const track = (video?.srcObject as MediaStream | null)?.getVideoTracks()[0];
    if (!track) return false;
    track.stop();
    track.dispatchEvent(new Event('ended'));
    return true;
  }, divId);
  if (!stopped) throw new Error('no shared screen to stop: the sharer has no preview');
}
