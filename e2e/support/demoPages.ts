/*
 * Drives the demo pages (packages/server/public) the way a person would: by role and accessible name.
 */
import type { Locator, Page } from 'playwright-core';
import type { BrowserFixture } from './fixture.ts';
import { newParty, waitFor, type AgentAccount, type Party, type ParleyServer } from './harness.ts';
import { queueEntryIn } from './queue.ts';

/** The chat composer on either page ("Message"). */
export function composer(page: Page): Locator {
  return page.getByRole('textbox', { name: 'Message', exact: true });
}

/** The transcript (a log region). */
export function transcript(page: Page): Locator {
  return page.getByRole('log', { name: 'Transcript' });
}

/** Texts of the transcript's messages, in display order. */
export async function transcriptTexts(page: Page): Promise<string[]> {
  return transcript(page).locator('li .msg-text').allTextContents();
}

/** Waits until a message with exactly this text is in the transcript. */
export async function waitForMessage(page: Page, text: string, what = 'a message'): Promise<void> {
  await waitFor(async () => (await transcriptTexts(page)).includes(text), {
    what: `${what} ${JSON.stringify(text.slice(0, 60))} in the transcript of ${page.url()}`,
  });
}

/** Types into the composer and presses Enter. */
export async function sendWithEnter(page: Page, text: string): Promise<void> {
  const box = composer(page);
  await box.fill(text);
  await box.press('Enter');
}

/** The visitor page's status line state (idle, connecting, queued, connected, reconnecting, closed). */
export async function visitorStatus(page: Page): Promise<string | null> {
  return page.locator('#status').getAttribute('data-state');
}

/** Waits for the visitor page's status line to reach `state`. */
export async function waitForVisitorStatus(page: Page, state: string): Promise<void> {
  await waitFor(async () => (await visitorStatus(page)) === state, { what: `visitor status "${state}"` });
}

/** Navigates to a demo page, failing with the server's answer when it is not 200. */
export async function openPage(page: Page, url: string): Promise<void> {
  const response = await page.goto(url);
  if (!response || response.status() !== 200) {
    const body = response ? (await response.text()).slice(0, 300) : 'no response';
    throw new Error(`GET ${url} answered ${response?.status() ?? '-'}: ${body}`);
  }
}

/** Opens the plain SDK example visitor page (/static/index.html) and starts a chat, optionally giving a name. */
export async function visitorStartsChat(page: Page, baseUrl: string, name?: string): Promise<void> {
  await openPage(page, `${baseUrl}/static/index.html`);
  if (name !== undefined) await page.getByRole('textbox', { name: 'Your name (optional)' }).fill(name);
  await page.getByRole('button', { name: 'Start chat' }).click();
  await waitFor(async () => ['queued', 'connected'].includes((await visitorStatus(page)) ?? ''), {
    what: 'the visitor chat to open (status queued or connected)',
  });
}

/** Opens the plain SDK example agent page (/static/agent.html) and signs in. */
export async function agentSignsIn(page: Page, baseUrl: string, account: AgentAccount): Promise<void> {
  await openPage(page, `${baseUrl}/static/agent.html`);
  await page.getByRole('textbox', { name: 'Email' }).fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'My conversations' }).waitFor();
}

/** The presence toggle on the agent page. */
export function availability(page: Page): Locator {
  return page.getByRole('checkbox', { name: 'Available for new chats' });
}

/** Unchecks "Available for new chats" and waits for the agent page to show the agent away. */
export async function setAway(page: Page): Promise<void> {
  await availability(page).uncheck();
  await waitFor(async () => (await page.locator('#connection').getAttribute('data-state')) === 'away', {
    what: 'the agent to be away',
  });
}

/** One agent signed in on the agent page of `server`, and one visitor context (not on a page yet). */
export interface DemoDesk {
  server: ParleyServer;
  account: AgentAccount;
  agent: Party;
  visitor: Party;
}

/** Opens the agent's and the visitor's contexts (closed with the file's cleanup) and signs the agent in. */
export async function openDemoDesk(spec: BrowserFixture, server: ParleyServer, account: AgentAccount): Promise<DemoDesk> {
  const agent = await newParty(spec.browser);
  const visitor = await newParty(spec.browser);
  spec.cleanup.add(() => agent.context.close());
  spec.cleanup.add(() => visitor.context.close());
  await agentSignsIn(agent.page, server.url, account);
  return { server, account, agent, visitor };
}

/** The visitor starts a chat as `visitorName`, is connected to the agent, and the agent gets `firstMessage`. */
export async function chatReachesAgent(desk: DemoDesk, visitorName: string, firstMessage: string): Promise<void> {
  await visitorStartsChat(desk.visitor.page, desk.server.url, visitorName);
  await waitForVisitorStatus(desk.visitor.page, 'connected');
  await sendWithEnter(desk.visitor.page, firstMessage);
  await waitForMessage(desk.agent.page, firstMessage);
}

/** Errors either page logged, for failure messages. */
export function demoDeskErrors(desk: DemoDesk): string {
  return `agent page: ${desk.agent.errors.join('; ') || 'none'} | visitor page: ${desk.visitor.errors.join('; ') || 'none'}`;
}

/** The queue entry of a visitor (by the name shown); the demo agent page's queue is the region "Queue". */
export function queueEntry(page: Page, visitorName: string): Locator {
  return queueEntryIn(page, 'Queue', visitorName);
}
