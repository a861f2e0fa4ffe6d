/*
 * The product end to end, through both real apps: the visitor on the demo shop (`/`, the widget in its
 * iframe) and the agent in the workspace (`/agent`), each in its own browser context with fake camera
 * and microphone, clicked by role and accessible name. Both escalation flows, call controls, reloads.
 * Remote video is proven with numbers read from the <video> element (videoWidth > 0, currentTime advancing).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { browserAndServer } from './support/fixture.ts';
import { newParty, viewportShot, waitFor, type AgentAccount, type Party } from './support/harness.ts';
import {
  acceptVisitor,
  callRegion,
  openWorkspaceAway,
  queuedVisitor,
  reply,
  seriousAxeViolations,
  waitForLine,
  waitForRemoteVideoPlaying,
} from './support/workspaceDriver.ts';
import { launcher, waitForWidgetLine, widgetFrame, widgetSend } from './support/widgetDesk.ts';

const account: AgentAccount = { email: 'petra@example.test', name: 'Petra Product', password: 'correct horse battery' };
const spec = browserAndServer([account]);
const { cleanup } = spec;

async function openVisitor(): Promise<Party> {
  const visitor = await newParty(spec.browser);
  cleanup.add(() => visitor.context.close());
  const response = await visitor.page.goto(`${spec.server.url}/`);
  assert.equal(response?.status(), 200, 'the demo shop answers 200');
  return visitor;
}

test('a visitor on the demo shop and an agent in the workspace chat, the agent calls, both reload', async () => {
  const agent = await openWorkspaceAway(spec, account);
  const ws = agent.page;

  // The visitor opens the widget and writes; the conversation waits in the queue.
  const visitor = await openVisitor();
  const shop = visitor.page;
  await launcher(shop, 'Open chat').click();
  await widgetSend(shop, 'Hi! Do you ship to Norway?');
  await viewportShot(shop, 'product-visitor-chat');
  const { entry, visitorName } = await queuedVisitor(ws, 'Do you ship to Norway?');
  assert.match(visitorName, /^Visitor \d+$/, 'the visitor shows with the default name');
  assert.match((await entry.textContent()) ?? '', /waiting \d+ s/, 'with the wait time');

  // The agent accepts and replies; the visitor's page and spec.browser show in the details.
  await acceptVisitor(ws, visitorName);
  await waitForLine(ws, 'Hi! Do you ship to Norway?', "the visitor's first message");
  const facts = (await ws.getByRole('complementary', { name: 'Visitor' }).locator('dl').textContent()) ?? '';
  assert.ok(facts.includes(`${spec.server.url}/`), `the page the visitor is on shows: ${facts}`);
  assert.match(facts, /Chrome \d+ on Linux/, 'the spec.browser shows');
  await reply(ws, 'Yes, we ship all over Europe.');
  await waitForWidgetLine(shop, 'Yes, we ship all over Europe.', "the agent's reply");

  // The visitor types: the workspace shows it.
  await widgetFrame(shop).getByRole('textbox', { name: 'Message', exact: true }).fill('How long does');
  await waitFor(async () => ((await ws.locator('#typing').textContent()) ?? '').includes(`${visitorName} is typing`), {
    what: 'the typing indicator in the workspace',
  });
  await widgetSend(shop, 'How long does it take?');
  await waitForLine(ws, 'How long does it take?', 'the second message');
  await viewportShot(ws, 'workspace-chat');

  // Agent-initiated: the visitor closed the widget; "Start video" opens it with an invitation.
  await widgetFrame(shop).getByRole('button', { name: 'Minimize chat' }).click();
  await launcher(shop, 'Open chat').waitFor();
  await ws.getByRole('button', { name: 'Start video', exact: true }).click();
  const invitation = widgetFrame(shop).getByRole('alertdialog');
  await invitation.waitFor();
  await launcher(shop, 'Close chat').waitFor();
  assert.match((await invitation.textContent()) ?? '', /Petra Product invites you to a video call/);
  await viewportShot(shop, 'product-visitor-invitation');
  await invitation.getByRole('button', { name: 'Accept', exact: true }).click();

  const call = callRegion(ws);
  await waitFor(async () => (await call.getByRole('status').textContent()) === 'Connected', { what: 'the workspace call state "Connected"' });
  const agentSees = await waitForRemoteVideoPlaying(ws, 'workspace, agent-initiated', '#call-stage');
  const visitorSees = await waitForRemoteVideoPlaying(widgetFrame(shop), 'widget, agent-initiated', '#parley-call-media');
  assert.ok(agentSees.first.videoWidth > 0 && agentSees.later.currentTime > agentSees.first.currentTime, 'video plays in the workspace');
  assert.ok(visitorSees.first.videoWidth > 0 && visitorSees.later.currentTime > visitorSees.first.currentTime, 'video plays in the widget');
  const timer = call.getByRole('timer', { name: 'Call duration' });
  const t0 = await timer.textContent();
  await waitFor(async () => (await timer.textContent()) !== t0, { what: 'the call duration to tick' });
  await viewportShot(ws, 'workspace-call');
  await viewportShot(shop, 'product-visitor-call');
  const inCallAxe = await seriousAxeViolations(ws);
  assert.deepEqual(inCallAxe, [], `no serious/critical axe violations in a call: ${JSON.stringify(inCallAxe)}`);

  // Mute, camera off, on both sides; the agent ends the call.
  await call.getByRole('button', { name: 'Mute', exact: true }).click();
  await call.getByRole('button', { name: 'Unmute', exact: true }).waitFor();
  await call.getByRole('button', { name: 'Camera off', exact: true }).click();
  await call.getByRole('button', { name: 'Camera on', exact: true }).waitFor();
  const widgetCall = widgetFrame(shop).getByRole('region', { name: 'Call' });
  await widgetCall.getByRole('button', { name: 'Mute', exact: true }).click();
  await widgetCall.getByRole('button', { name: 'Unmute', exact: true }).waitFor();
  await widgetCall.getByRole('button', { name: 'Camera off', exact: true }).click();
  await widgetCall.getByRole('button', { name: 'Camera on', exact: true }).waitFor();
  await viewportShot(ws, 'workspace-call-muted');
  await call.getByRole('button', { name: 'Unmute', exact: true }).click();
  await call.getByRole('button', { name: 'Camera on', exact: true }).click();
  await call.getByRole('button', { name: 'Camera off', exact: true }).waitFor();
  await call.getByRole('button', { name: 'End call', exact: true }).click();
  await waitFor(async () => /Call ended/.test((await widgetCall.textContent().catch(() => '')) ?? ''), {
    what: 'the widget to say the call ended',
  });
  await waitFor(async () => call.isHidden(), { what: 'the workspace call panel to close' });
  await waitForLine(ws, /ended/i, 'the call-ended event in the transcript');

  // Reload mid-chat, both apps: the same conversation continues.
  await ws.reload();
  await ws.getByRole('heading', { name: `Chat with ${visitorName}` }).waitFor();
  await waitForLine(ws, 'How long does it take?', 'the history after the workspace reload');
  await shop.reload();
  // The widget may come back open (it remembers); open it if it did not.
  const either = shop.getByRole('button', { name: /^(Open|Close) chat$/ });
  await either.waitFor();
  if ((await either.getAttribute('aria-label')) === 'Open chat') await either.click();
  await waitForWidgetLine(shop, 'Yes, we ship all over Europe.', 'the history after the shop reload');
  await widgetSend(shop, 'Back after a reload');
  await waitForLine(ws, 'Back after a reload', 'the message written after both reloads');
  await reply(ws, 'Still here!');
  await waitForWidgetLine(shop, 'Still here!', 'the reply after both reloads');

  assert.deepEqual(agent.errors.filter((e) => !/favicon/.test(e)), [], 'no errors in the workspace');
});

test('the visitor asks for a video call from the widget and the agent accepts from the banner', async () => {
  const agent = await openWorkspaceAway(spec, account);
  const ws = agent.page;
  const visitor = await openVisitor();
  const shop = visitor.page;
  await launcher(shop, 'Open chat').click();
  await widgetSend(shop, 'Can you show me the grinder on video?');
  const { visitorName } = await queuedVisitor(ws, 'Can you show me the grinder on video?');
  await acceptVisitor(ws, visitorName);
  await waitForWidgetLine(shop, 'Petra Product joined the conversation', 'the agent joining');

  await widgetFrame(shop).getByRole('button', { name: 'Video call', exact: true }).click();
  const banner = ws.getByRole('alertdialog', { name: `${visitorName} asks for a video call` });
  await banner.waitFor();
  const accept = banner.getByRole('button', { name: 'Accept', exact: true });
  await waitFor(async () => accept.evaluate((b) => b === document.activeElement), { what: 'focus on the banner Accept' });
  await viewportShot(ws, 'workspace-call-request');
  await accept.click();
  const agentSees = await waitForRemoteVideoPlaying(ws, 'workspace, visitor-initiated', '#call-stage');
  const visitorSees = await waitForRemoteVideoPlaying(widgetFrame(shop), 'widget, visitor-initiated', '#parley-call-media');
  assert.ok(agentSees.later.currentTime > agentSees.first.currentTime && agentSees.first.videoWidth > 0);
  assert.ok(visitorSees.later.currentTime > visitorSees.first.currentTime && visitorSees.first.videoWidth > 0);
  await widgetFrame(shop).getByRole('region', { name: 'Call' }).getByRole('button', { name: 'End call', exact: true }).click();
  await waitFor(async () => callRegion(ws).isHidden(), { what: 'the workspace call panel to close after the visitor hangs up' });
  await waitForLine(ws, /ended/i, 'the call-ended event in the transcript');
  assert.deepEqual(agent.errors.filter((e) => !/favicon/.test(e)), [], 'no errors in the workspace');
});
