/*
 * The agent workspace (apps/agent at /agent), clicked through by role and accessible name, against
 * visitors driven through the real SDK on a bare page (e2e/support/callParties.ts). Covers: sign-in, the queue
 * with wait time, accept and reply, visitor details, unread counts and the tab title, the visitor's call
 * request as a banner (Accept) with remote video playing on both sides, Mute / Camera off / End call,
 * "Start video", markup shown as text, reload keeping the conversation, and axe-core.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { CallPage } from './support/callParties.ts';
import { browserAndServer } from './support/fixture.ts';
import { viewportShot, waitFor, type AgentAccount, type Party } from './support/harness.ts';
import { CALL_DIV_ID } from './support/media.ts';
import {
  acceptVisitor,
  callRegion,
  openWorkspaceAway,
  queueEntry,
  reply,
  seriousAxeViolations,
  waitForLine,
  waitForRemoteVideoPlaying,
  workspaceComposer,
  workspaceTranscript,
} from './support/workspaceDriver.ts';

const account: AgentAccount = { email: 'wanda@example.test', name: 'Wanda Workspace', password: 'correct horse battery' };
const spec = browserAndServer([account]);
const { cleanup } = spec;

function openAgent(): Promise<Party> {
  return openWorkspaceAway(spec, account);
}

async function openVisitor(name: string, firstMessage: string): Promise<CallPage> {
  const visitor = await CallPage.open(spec.browser, spec.server.url, name);
  cleanup.add(() => visitor.party.context.close());
  await visitor.connectVisitor(name);
  await visitor.startChat(firstMessage);
  return visitor;
}

async function assertAxeClean(page: Page, where: string): Promise<void> {
  const found = await seriousAxeViolations(page);
  assert.deepEqual(found, [], `no serious or critical axe-core violations ${where}: ${JSON.stringify(found, null, 1)}`);
}

async function visitorHas(visitor: CallPage, text: string): Promise<void> {
  await waitFor(async () => (await visitor.transcript()).some((m) => m.text === text), {
    what: `the visitor to receive ${JSON.stringify(text)}`,
  });
}

test('an agent signs in, takes a visitor from the queue, chats, and handles both kinds of call', async () => {
  const agent = await openAgent();
  const page = agent.page;
  await assertAxeClean(page, 'on the empty workspace');
  await viewportShot(page, 'workspace-signed-in');

  // A visitor waits: the queue shows the name, the wait time and the first message; the title counts it.
  const vera = await openVisitor('Vera Visitor', 'Hello, where is my order?');
  const entry = queueEntry(page, 'Vera Visitor');
  await entry.waitFor();
  assert.match((await entry.textContent()) ?? '', /waiting \d+ s/, 'the wait time shows');
  assert.match((await entry.textContent()) ?? '', /Hello, where is my order\?/, 'the first message shows');
  await waitFor(async () => (await page.title()) === '(1) Parley', { what: 'the tab title to count the waiting visitor' });
  await viewportShot(page, 'workspace-queue');

  await acceptVisitor(page, 'Vera Visitor');
  await waitForLine(page, 'Hello, where is my order?', 'the first message');
  await waitFor(async () => (await page.title()) === 'Parley', { what: 'the title to clear once the queue is empty' });
  await reply(page, 'Hi Vera, let me check that for you.');
  await visitorHas(vera, 'Hi Vera, let me check that for you.');

  // Visitor details: name, page, spec.browser.
  const details = page.getByRole('complementary', { name: 'Visitor' });
  const facts = (await details.locator('dl').textContent()) ?? '';
  assert.match(facts, /Vera Visitor/, 'the visitor name shows');
  assert.match(facts, new RegExp(`${spec.server.url.replace(/[.:/]/g, '\\$&')}/`), 'the page the visitor is on shows');
  assert.match(facts, /Chrome \d+ on Linux/, 'the spec.browser shows');

  // A second visitor: while her chat is open, Vera's new message counts as unread, in the list and the title.
  await openVisitor('Otto Other', 'Hi there');
  await acceptVisitor(page, 'Otto Other');
  const veraItem = page.getByRole('button', { name: /^Vera Visitor/ });
  await sendAsVisitor(vera, 'Are you still there?');
  await waitFor(async () => /1 unread message/.test((await veraItem.textContent()) ?? ''), {
    what: "Vera's conversation to show 1 unread message",
  });
  await waitFor(async () => (await page.title()) === '(1) Parley', { what: 'the tab title to count the unread message' });
  await viewportShot(page, 'workspace-unread');
  await veraItem.click();
  await waitForLine(page, 'Are you still there?', 'the unread message');
  await waitFor(async () => (await page.title()) === 'Parley', { what: 'the title to clear once read' });
  assert.doesNotMatch((await veraItem.textContent()) ?? '', /unread/, 'the unread count clears when the chat is opened');

  // The visitor asks for a video call: a banner with Accept and Decline, focused; Accept starts the call.
  await vera.actOk('requestVideoUpgrade', [CALL_DIV_ID, true, true]);
  const banner = page.getByRole('alertdialog', { name: /Vera Visitor asks for a video call/ });
  await banner.waitFor();
  const acceptCall = banner.getByRole('button', { name: 'Accept', exact: true });
  await waitFor(async () => acceptCall.evaluate((b) => b === document.activeElement), { what: 'focus on the Accept of the banner' });
  assert.equal(await banner.getByRole('button', { name: 'Decline', exact: true }).count(), 1, 'the banner offers Decline');
  await viewportShot(page, 'workspace-request-banner');
  await assertAxeClean(page, 'with the call request banner');
  await acceptCall.click();

  const call = callRegion(page);
  await waitFor(async () => (await call.getByRole('status').textContent()) === 'Connected', { what: 'the call state "Connected"' });
  const agentVideo = await waitForRemoteVideoPlaying(page, 'agent side, visitor-initiated', '#call-stage');
  const visitorVideo = await waitForRemoteVideoPlaying(vera.page, 'visitor side, visitor-initiated', `#${CALL_DIV_ID}`);
  assert.ok(agentVideo.first.videoWidth > 0 && agentVideo.later.currentTime > agentVideo.first.currentTime);
  assert.ok(visitorVideo.first.videoWidth > 0 && visitorVideo.later.currentTime > visitorVideo.first.currentTime);
  const timer = call.getByRole('timer', { name: 'Call duration' });
  const t0 = (await timer.textContent()) ?? '';
  await waitFor(async () => ((await timer.textContent()) ?? '') !== t0, { what: 'the call duration to tick' });
  await viewportShot(page, 'workspace-in-call');
  await assertAxeClean(page, 'in a call');

  // Mute, camera off, and back; the visitor's SDK sees the agent's state change.
  const agentInCall = async (key: 'audio' | 'video') =>
    (await vera.video()).participants.find((p) => p.id !== vera.id)?.[key];
  await call.getByRole('button', { name: 'Mute', exact: true }).click();
  await call.getByRole('button', { name: 'Unmute', exact: true }).waitFor();
  await waitFor(async () => (await agentInCall('audio')) === false, { what: "the visitor to see the agent's microphone muted" });
  await call.getByRole('button', { name: 'Camera off', exact: true }).click();
  await call.getByRole('button', { name: 'Camera on', exact: true }).waitFor();
  await waitFor(async () => (await agentInCall('video')) === false, { what: "the visitor to see the agent's camera off" });
  await viewportShot(page, 'workspace-muted');
  await call.getByRole('button', { name: 'Unmute', exact: true }).click();
  await call.getByRole('button', { name: 'Camera on', exact: true }).click();
  await call.getByRole('button', { name: 'Camera off', exact: true }).waitFor();
  await waitFor(async () => (await agentInCall('video')) === true, { what: "the visitor to see the agent's camera back on" });
  await call.getByRole('button', { name: 'End call', exact: true }).click();
  await vera.waitForVideoState('ended');
  await waitFor(async () => (await call.isHidden()), { what: 'the call panel to close' });
  assert.equal(await page.locator('#call-stage video').count(), 0, 'the call stage is emptied');
  const events = await page.getByRole('log', { name: 'Transcript' }).locator('li.event').allTextContents();
  assert.ok(events.length >= 2, `call events are in the transcript, styled as events: ${JSON.stringify(events)}`);

  // Agent-initiated: "Start video", the visitor accepts the invitation, video both ways, End call.
  const since = await vera.eventCount();
  await page.getByRole('button', { name: 'Start video', exact: true }).click();
  await vera.waitForEvent('videoInvite', { since });
  await waitFor(async () => /Calling Vera Visitor/.test((await call.textContent()) ?? ''), { what: 'the "Calling…" state' });
  const answered = await vera.answerInvite(true);
  assert.ok(answered.ok, `the visitor accepts: ${JSON.stringify(answered)}`);
  await waitForRemoteVideoPlaying(page, 'agent side, agent-initiated', '#call-stage');
  await waitForRemoteVideoPlaying(vera.page, 'visitor side, agent-initiated', `#${CALL_DIV_ID}`);
  await vera.actOk('endVideo');
  await waitFor(async () => (await call.isHidden()), { what: 'the call panel to close when the visitor hangs up' });
  assert.deepEqual(agent.errors.filter((e) => !/favicon/.test(e)), [], 'no page errors in the workspace');
});

/**
 * Sends a chat message as the visitor of a driver page: a second connection of the same visitor (its
 * identity is in the page's storage) resumes the open conversation and sends through the SDK.
 */
async function sendAsVisitor(visitor: CallPage, text: string): Promise<void> {
  await visitor.page.evaluate(async (t) => {
    type SdkVisitor = { contact: { sendMessage(t: string): Promise<unknown> } | null; disconnect(): void };
    const sdk = (window as unknown as { Parley: { connectVisitor(o: { server: string }): Promise<SdkVisitor> } }).Parley;
    const again = await sdk.connectVisitor({ server: location.origin });
    try {
      if (!again.contact) throw new Error('the visitor has no open conversation');
      await again.contact.sendMessage(t);
    } finally {
      again.disconnect();
    }
  }, text);
}

test('markup in visitor names and messages shows as text in the workspace', async () => {
  const agent = await openAgent();
  const page = agent.page;
  const name = `<img src=x onerror="window.__parleyXss='name'">`;
  const payloads = [
    `<script>window.__parleyXss='script'</script>`,
    `<img src=x onerror="window.__parleyXss='img'">`,
    `"><svg onload="window.__parleyXss='svg'">`,
    `<a href="javascript:window.__parleyXss='link'">click</a>`,
  ];
  const visitor = await openVisitor(name, payloads[0]!);
  await acceptVisitor(page, name);
  for (const p of payloads.slice(1)) await sendAsVisitor(visitor, p);
  for (const p of payloads) await waitForLine(page, p, 'a payload');
  await reply(page, payloads[1]!);
  await visitorHas(visitor, payloads[1]!);
  assert.equal(await page.evaluate(() => (window as unknown as { __parleyXss?: unknown }).__parleyXss), undefined, 'nothing ran');
  assert.equal(await page.locator('main img, main svg, nav img, aside img, a[href^="javascript:"]').count(), 0, 'no injected elements');
  assert.equal(await page.locator('#queue, #conversations').getByText(name, { exact: true }).count() >= 1, true, 'the name shows literally');
  await viewportShot(page, 'workspace-xss-as-text');
});

test('a reload keeps the agent signed in and the conversation open', async () => {
  const agent = await openAgent();
  const page = agent.page;
  const visitor = await openVisitor('Rita Reload', 'Before the reload');
  await acceptVisitor(page, 'Rita Reload');
  await reply(page, 'Reply before the reload');
  await visitorHas(visitor, 'Reply before the reload');
  await page.reload();
  await page.getByRole('heading', { name: 'Chat with Rita Reload' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Sign in' }).count(), 0, 'no sign-in after a reload');
  const lines = await workspaceTranscript(page);
  for (const line of ['Before the reload', 'Reply before the reload']) assert.ok(lines.includes(line), `${line} is kept: ${JSON.stringify(lines)}`);
  await reply(page, 'Reply after the reload');
  await visitorHas(visitor, 'Reply after the reload');
  assert.equal(await workspaceComposer(page).count(), 1);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await page.reload();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await assertAxeClean(page, 'on the sign-in page');
});
