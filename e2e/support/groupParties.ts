/*
 * Group-call parties for e2e tests and benchmarks: a colleague signed in on the same server, a guest joining
 * from a link, and the proof that every participant receives media from every other one.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { CallPage, type CallDesk } from './callParties.ts';
import { createAgent, waitFor, type AgentAccount, type Cleanup } from './harness.ts';
import type { CallStatsRow } from '@parley/sdk';
import { renderedCall, sdkCallStats } from './media.ts';

type Row = CallStatsRow;
const rowOf = (rows: Row[], id: string) => rows.find((r) => r.participantId === id);

/**
 * Every page receives media from every other page: for each (receiver, sender) pair, the sender's audio
 * packets and decoded frames rise between two samples of the receiver's `getCallStats()`, and the receiver
 * draws the sender's <video> with a width and a moving clock.
 */
export async function assertEveryoneReceivesEveryone(pages: CallPage[], what: string): Promise<void> {
  for (const receiver of pages) {
    const senders = pages.filter((p) => p !== receiver).map((p) => p.id);
    const describe = async () => `${JSON.stringify(await sdkCallStats(receiver.page))} ${JSON.stringify(await renderedCall(receiver.page))}`;
    const first = await waitFor(
      async () => {
        const rows = await sdkCallStats(receiver.page);
        return senders.every((id) => (rowOf(rows, id)?.videoFramesDecoded ?? 0) > 0 && (rowOf(rows, id)?.audioPacketsReceived ?? 0) > 0) ? rows : null;
      },
      { what: `${what}: ${receiver.label} to receive from ${senders.length} others`, timeoutMs: 30_000 },
    ).catch(async (e: Error) => assert.fail(`${e.message}; ${await describe()}; errors: ${receiver.errors.join('; ') || 'none'}`));
    const firstVideo = await renderedCall(receiver.page);
    await waitFor(
      async () => {
        const rows = await sdkCallStats(receiver.page);
        const video = await renderedCall(receiver.page);
        return senders.every((id) => {
          const [a, b] = [rowOf(first, id)!, rowOf(rows, id)];
          const [va, vb] = [firstVideo.remoteVideos.find((v) => v.participantId === id), video.remoteVideos.find((v) => v.participantId === id)];
          return (
            b !== undefined &&
            b.videoFramesDecoded > a.videoFramesDecoded &&
            b.audioPacketsReceived > a.audioPacketsReceived &&
            (vb?.videoWidth ?? 0) > 0 &&
            (vb?.currentTime ?? 0) > (va?.currentTime ?? 0)
          );
        });
      },
      { what: `${what}: ${receiver.label}'s counters from every sender to rise`, timeoutMs: 30_000 },
    ).catch(async (e: Error) => assert.fail(`${e.message}; first ${JSON.stringify(first)}; now ${await describe()}`));
  }
}

/** The participant's tile is gone from every page in `pages`. */
export async function assertTileGone(pages: CallPage[], id: string): Promise<void> {
  for (const page of pages) {
    await waitFor(async () => !(await renderedCall(page.page)).remoteVideos.some((v) => v.participantId === id), {
      what: `${page.label} to remove the tile of ${id}`,
    });
  }
}

let agentCount = 0;
/** Another agent of the desk's server, signed in on a page of its own. */
export async function colleagueOn(browser: Browser, cleanup: Cleanup, desk: CallDesk, name = 'Bo Colleague'): Promise<CallPage> {
  const account: AgentAccount = { email: `colleague${++agentCount}@example.test`, name, password: 'correct horse battery' };
  createAgent(desk.server.dataDir, account);
  const bo = await CallPage.open(browser, desk.server.url, 'colleague');
  cleanup.add(() => bo.party.context.close());
  await bo.connectAgent(account);
  return bo;
}

/** A guest on a page of its own, joining from a link `inviter` made. */
export async function guestFrom(browser: Browser, cleanup: Cleanup, desk: CallDesk, inviter: CallPage, name = 'Gus Guest'): Promise<CallPage> {
  const invite = (await inviter.actOk('createGuestInvite')) as { url: string; token: string };
  assert.equal(invite.url, `${desk.server.url}/guest#${invite.token}`);
  const guest = await CallPage.open(browser, desk.server.url, 'guest');
  cleanup.add(() => guest.party.context.close());
  await guest.joinAsGuest(invite.token, name);
  return guest;
}

