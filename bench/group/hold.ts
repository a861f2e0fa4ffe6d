/*
 * The held call of bench:group, on one server (mesh or Janus): first the server idles with four people
 * signed in and no call (the baseline), then a 2-party call, then a 6-party call (visitor, agent, two guests
 * from links, two colleagues added by the agent). Each span is measured by phaseMeter.ts. The 6-party call
 * is proven to carry media from everyone to everyone before and after its span, and every page's
 * `getCallStats()` is read at both ends of it for the frames and packets each pair received.
 */
import type { Browser } from 'playwright-core';
import { escalate, openCallDesk, type CallPage } from '../../e2e/support/callParties.ts';
import { assertEveryoneReceivesEveryone, colleagueOn, guestFrom } from '../../e2e/support/groupParties.ts';
import { Cleanup } from '../../e2e/support/harness.ts';
import type { Topology } from './joins.ts';
import { pairRates, summarizeRates, type PairRate, type RateSummary } from './mediaRates.ts';
import { sampleStats, type StatsSample } from './pages.ts';
import { measurePhase, type PhaseFigures, type Watched } from './phaseMeter.ts';
import { ourJanus } from './processes.ts';

/** How long the desk settles after sign-in before the idle span, so start-up work is not counted as idle. */
const SETTLE_MS = 3_000;

/** Everything measured on one server. */
export interface HoldResult {
  topology: Topology;
  idle: PhaseFigures | null;
  twoParty: PhaseFigures | null;
  sixParty: PhaseFigures | null;
  /** 'ok', or what the media proof found, at the start and at the end of the 6-party span. */
  proofAtStart: string | null;
  proofAtEnd: string | null;
  /** Media per (receiver, sender) pair over the 6-party span, by label. */
  pairs: PairRate[];
  rates: RateSummary | null;
  /** The same over the 2-party span (what one pair gets when the browsers are not crowded). */
  twoPartyRates: RateSummary | null;
  /** What stopped the run before its end, if anything. */
  failure: string | null;
}

/** Options of a held call. */
export interface HoldOptions {
  seconds: number;
  twoPartySeconds: number;
  /** The Janus's configuration directory (to find its process), or null for mesh. */
  janusConfigDir: string | null;
  log(line: string): void;
}

const firstLine = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 600);

/** Runs the proof and says what it found instead of throwing. */
async function proof(pages: CallPage[], what: string): Promise<string> {
  try {
    await assertEveryoneReceivesEveryone(pages, what);
    return 'ok';
  } catch (error) {
    return firstLine(error);
  }
}

/** `getCallStats()` of each page, one after the other. */
async function samplesOf(pages: CallPage[]): Promise<StatsSample[]> {
  const out: StatsSample[] = [];
  for (const page of pages) out.push(await sampleStats(page));
  return out;
}

/** What each page received from each other one between two rounds of samples. */
function ratesBetween(pages: CallPage[], before: StatsSample[], after: StatsSample[]): PairRate[] {
  return pairRates(
    pages.map((page, i) => ({ receiver: page.id, from: before[i]!, to: after[i]! })),
    pages.map((p) => p.id),
  );
}

/** Idle, 2-party and 6-party spans on one fresh server; whatever happens, everything opened is closed. */
export async function holdCall(browser: Browser, topology: Topology, env: Record<string, string>, opts: HoldOptions): Promise<HoldResult> {
  const result: HoldResult = { topology, idle: null, twoParty: null, sixParty: null, proofAtStart: null, proofAtEnd: null, pairs: [], rates: null, twoPartyRates: null, failure: null };
  const cleanup = new Cleanup();
  try {
    const desk = await openCallDesk(browser, cleanup, env);
    const { visitor, agent } = desk;
    const colleagues = [await colleagueOn(browser, cleanup, desk, 'Cy Colleague'), await colleagueOn(browser, cleanup, desk, 'Di Colleague')];
    let janusPid: number | null = null;
    if (opts.janusConfigDir !== null) {
      janusPid = ourJanus(opts.janusConfigDir)?.pid ?? null;
      if (janusPid === null) throw new Error(`no Janus process of this benchmark runs from ${opts.janusConfigDir}`);
    }
    const watched: Watched = { serverPid: desk.server.pid, janusPid };

    await new Promise((done) => setTimeout(done, SETTLE_MS));
    opts.log(`  ${topology}: idle, 4 people signed in, no call (${opts.seconds} s)`);
    result.idle = await measurePhase(watched, opts.seconds);

    await escalate(desk);
    const twoProof = await proof([visitor, agent], `2 people (${topology})`);
    if (twoProof !== 'ok') opts.log(`  ${topology}: the 2-party call's media proof failed: ${twoProof}`);
    opts.log(`  ${topology}: 2-party call (${opts.twoPartySeconds} s)`);
    const pair = [visitor, agent];
    const pairBefore = await samplesOf(pair);
    result.twoParty = await measurePhase(watched, opts.twoPartySeconds);
    result.twoPartyRates = summarizeRates(ratesBetween(pair, pairBefore, await samplesOf(pair)));

    const labels = new Map<string, string>([
      [visitor.id, 'visitor'],
      [agent.id, 'agent'],
    ]);
    const guests = [await guestFrom(browser, cleanup, desk, visitor, 'Gus Guest'), await guestFrom(browser, cleanup, desk, agent, 'Gia Guest')];
    guests.forEach((g, i) => labels.set(g.id, `guest ${i + 1}`));
    for (const [i, colleague] of colleagues.entries()) {
      const since = await colleague.eventCount();
      await agent.actOk('addParticipant', [colleague.id]);
      await colleague.waitForEvent('videoInvite', { since });
      const accepted = await colleague.answerInvite(true);
      if (!accepted.ok) throw new Error(`colleague ${i + 1} could not accept: ${accepted.code}: ${accepted.message}`);
      labels.set(colleague.id, `colleague ${i + 1}`);
    }
    const everyone = [visitor, agent, ...guests, ...colleagues];
    opts.log(`  ${topology}: 6 people; proving media from everyone to everyone`);
    result.proofAtStart = await proof(everyone, `6 people, start of the hold (${topology})`);
    if (result.proofAtStart !== 'ok') opts.log(`  ${topology}: media proof at the start: ${result.proofAtStart}`);

    const before = await samplesOf(everyone);
    opts.log(`  ${topology}: 6-party call (${opts.seconds} s)`);
    result.sixParty = await measurePhase(watched, opts.seconds);
    const after = await samplesOf(everyone);
    result.proofAtEnd = await proof(everyone, `6 people, end of the hold (${topology})`);
    if (result.proofAtEnd !== 'ok') opts.log(`  ${topology}: media proof at the end: ${result.proofAtEnd}`);

    const name = (id: string) => labels.get(id) ?? id;
    result.pairs = ratesBetween(everyone, before, after).map((r) => ({ ...r, receiver: name(r.receiver), sender: name(r.sender) }));
    result.rates = summarizeRates(result.pairs);
  } catch (error) {
    result.failure = firstLine(error);
    opts.log(`  ${topology}: stopped: ${result.failure}`);
  } finally {
    await cleanup.run().catch((error: unknown) => opts.log(`  ${topology}: cleanup: ${firstLine(error)}`));
  }
  return result;
}
