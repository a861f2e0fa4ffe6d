/*
 * Drives the agent workspace (apps/agent, served at /agent) the way an agent would: by role and
 * accessible name. Also: proof that a call's remote video plays (numbers read from the <video>
 * element) and axe-core runs. Screenshots: harness.ts's viewportShot, under test-results/screenshots/.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { Browser, FrameLocator, Locator, Page } from 'playwright-core';
import type { SpecFixture } from './fixture.ts';
import { newParty, waitFor, type AgentAccount, type Party } from './harness.ts';
import { queueEntryIn, queueRegion } from './queue.ts';

/** The workspace is designed for 1280×800 and up. */
export const WORKSPACE_VIEWPORT = { width: 1280, height: 800 };

/** A party in its own browser context, at the workspace's design size. */
export async function newWorkspaceParty(browser: Browser): Promise<Party> {
  const party = await newParty(browser);
  await party.page.setViewportSize(WORKSPACE_VIEWPORT);
  return party;
}


/** Opens /agent and signs in with email and password; resolves when the workspace shows. */
export async function signIn(page: Page, baseUrl: string, account: AgentAccount): Promise<void> {
  const response = await page.goto(`${baseUrl}/agent`);
  assert.equal(response?.status(), 200, 'GET /agent answers 200');
  await page.getByRole('textbox', { name: 'Email' }).fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'My conversations' }).waitFor();
}

/** Turns "Available for new chats" on or off (online / away) and waits for the presence to show it. */
export async function setAvailable(page: Page, available: boolean): Promise<void> {
  const toggle = page.getByRole('checkbox', { name: 'Available for new chats' });
  await toggle.setChecked(available);
  await page.locator('#presence-state').getByText(available ? 'Online' : 'Away', { exact: true }).waitFor();
}

/**
 * An agent signed in to the workspace of the file's server and away, so new visitors wait in the queue
 * instead of being routed straight to them; the context closes with the file's cleanup.
 */
export async function openWorkspaceAway(spec: SpecFixture, account: AgentAccount): Promise<Party> {
  const agent = await newWorkspaceParty(spec.browser);
  spec.cleanup.add(() => agent.context.close());
  await signIn(agent.page, spec.server.url, account);
  await setAvailable(agent.page, false);
  return agent;
}

/** The workspace's queue region is named by its heading, "Waiting visitors" and the count. */
const QUEUE_NAME = /^Waiting visitors/;

/** The queue region. */
export function queue(page: Page): Locator {
  return queueRegion(page, QUEUE_NAME);
}

/** One visitor's entry in the queue. */
export function queueEntry(page: Page, visitorName: string): Locator {
  return queueEntryIn(page, QUEUE_NAME, visitorName);
}

/** Waits for the queue entry showing `firstMessage`; resolves with it and the visitor name it shows. */
export async function queuedVisitor(page: Page, firstMessage: string): Promise<{ entry: Locator; visitorName: string }> {
  const entry = queueEntry(page, firstMessage);
  await entry.waitFor();
  const visitorName = ((await entry.locator('.queue-name').textContent()) ?? '').trim();
  return { entry, visitorName };
}

/** Accepts the waiting visitor and waits for the conversation to open. */
export async function acceptVisitor(page: Page, visitorName: string): Promise<void> {
  const entry = queueEntry(page, visitorName);
  await entry.waitFor();
  await entry.getByRole('button', { name: 'Accept', exact: true }).click();
  await page.getByRole('heading', { name: `Chat with ${visitorName}` }).waitFor();
}

/** The workspace's composer. */
export function workspaceComposer(page: Page): Locator {
  return page.getByRole('textbox', { name: 'Message', exact: true });
}

/** Types a reply and sends it with Enter. */
export async function reply(page: Page, text: string): Promise<void> {
  const box = workspaceComposer(page);
  await box.fill(text);
  await box.press('Enter');
}

/** Texts of the open conversation's transcript, in order (chat messages and call events). */
export function workspaceTranscript(page: Page): Promise<string[]> {
  return page.getByRole('log', { name: 'Transcript' }).locator('.msg-text').allTextContents();
}

/** Waits until the open conversation's transcript holds a line matching `text`. */
export async function waitForLine(page: Page, text: string | RegExp, what = 'a line'): Promise<string> {
  const test = (line: string) => (typeof text === 'string' ? line === text : text.test(line));
  let seen: string[] = [];
  return waitFor(
    async () => {
      seen = await workspaceTranscript(page);
      return seen.find(test);
    },
    { what: `${what} ${String(text).slice(0, 60)} in the workspace transcript`, timeoutMs: 15_000 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; transcript: ${JSON.stringify(seen.slice(-8))}`);
  });
}

/** The running call's region of the workspace (request banner, state, controls, video). */
export function callRegion(page: Page): Locator {
  return page.getByRole('region', { name: 'Current call', exact: true });
}

/** Numbers read from a remote <video data-participant-id>: its size and clock. */
export interface VideoReading {
  videoWidth: number;
  videoHeight: number;
  currentTime: number;
  paused: boolean;
}

/** Reads the first remote video inside `root` (a page or a widget frame), or null when there is none. */
export async function readRemoteVideo(root: Page | FrameLocator, scope = 'body'): Promise<VideoReading | null> {
  // evaluateAll does not wait: the SDK may replace the element between two readings.
  const readings = await root.locator(`${scope} video[data-participant-id]`).evaluateAll((videos) =>
    (videos as HTMLVideoElement[]).map((v) => ({ videoWidth: v.videoWidth, videoHeight: v.videoHeight, currentTime: v.currentTime, paused: v.paused })),
  );
  return readings[0] ?? null;
}

/**
 * Proves the remote video plays in `root`: a remote <video> with videoWidth > 0 whose currentTime
 * advances between two readings. Returns both readings.
 */
export async function waitForRemoteVideoPlaying(
  root: Page | FrameLocator,
  what: string,
  scope = 'body',
): Promise<{ first: VideoReading; later: VideoReading }> {
  let last: VideoReading | null = null;
  const first = await waitFor(
    async () => {
      last = await readRemoteVideo(root, scope);
      return last && last.videoWidth > 0 && !last.paused ? last : null;
    },
    { what: `a remote video with a picture (${what})`, timeoutMs: 20_000 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last reading ${JSON.stringify(last)}`);
  });
  const later = await waitFor(
    async () => {
      last = await readRemoteVideo(root, scope);
      return last && last.videoWidth > 0 && last.currentTime > first.currentTime + 0.2 ? last : null;
    },
    { what: `the remote video's clock to advance (${what})`, timeoutMs: 15_000 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; first ${JSON.stringify(first)}, last ${JSON.stringify(last)}`);
  });
  return { first, later };
}

const require = createRequire(import.meta.url);

/** One axe-core finding, reduced to what a failure message needs. */
export interface AxeFinding {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** Runs axe-core in the page and returns the serious and critical violations. */
export async function seriousAxeViolations(page: Page): Promise<AxeFinding[]> {
  const axe = require('axe-core') as { source: string };
  // Evaluated through the debugging protocol: the workspace's CSP (script-src 'self') rightly refuses inline tags.
  await page.evaluate(axe.source);
  const violations = await page.evaluate(async () => {
    const result = await (window as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }> }> } }).axe.run();
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => String(n.target[0])) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
