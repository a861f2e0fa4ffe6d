/*
 * Calls in the visitor widget, with real media between two browser contexts: the agent (a stand-in
 * page using the SDK) invites while the widget is closed, after a reload → the widget opens itself
 * with the invitation focused → Accept → video plays on both sides → Mute, Camera off/on, End call.
 * And the visitor's own "Video call" accepted by the agent; and a declined invitation.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { browserOnly } from './support/fixture.ts';
import { CHROMIUM_FLAGS, CHROMIUM_PATH, viewportShot, waitFor, type AgentAccount } from './support/harness.ts';
import { DeskAgent, axeProblems, chatFrame, launcher, waitForRemoteVideoPlaying, waitForWidgetText, widgetFrame, widgetSend } from './support/widgetDesk.ts';

describe('visitor widget calls', () => {
  const spec = browserOnly();
  const { cleanup } = spec;

  /** A fresh server, and a visitor on its demo shop chatting with the one agent signed in. */
  async function chatting(
    visitorBrowser: Browser = spec.browser,
    permissions = ['camera', 'microphone'],
  ): Promise<{ page: Page; agent: DeskAgent; sessionID: string; errors: string[] }> {
    const account: AgentAccount = { email: 'cal@example.test', name: 'Cal Agent', password: 'correct horse battery' };
    const server = await spec.startServer([account]);
    const context = await visitorBrowser.newContext({ baseURL: server.url, permissions, viewport: { width: 1200, height: 800 } });
    cleanup.add(() => context.close());
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
    await page.goto('/');
    await launcher(page).click();
    await widgetSend(page, 'Could you show me the grinder?');
    await waitForWidgetText(page, 'Could you show me the grinder?');
    const agent = await DeskAgent.open(spec.browser, server.url, account);
    cleanup.add(() => agent.party.context.close());
    const sessionID = await agent.acceptWaiting();
    await widgetFrame(page).getByText('Online', { exact: true }).waitFor();
    return { page, agent, sessionID, errors };
  }

  test('agent invites while the widget is closed → it opens itself → Accept → video both ways, Mute, Camera off, End call', async () => {
    const { page, agent, sessionID } = await chatting();
    const frame = widgetFrame(page);
    await frame.getByRole('button', { name: 'Minimize chat' }).click();
    await launcher(page).waitFor();
    // A new page load with the panel closed: the chat frame is there, hidden, so invitations reach it.
    await page.reload();
    await launcher(page).waitFor();
    await waitFor(() => page.frames().some((f) => f.url().includes('/widget/frame.html')), { what: 'the hidden chat frame' });
    assert.equal(await page.locator('iframe[title="Chat window"]').isVisible(), false, 'the panel stays closed');

    await agent.invite(sessionID, true);
    const invitation = frame.getByRole('alertdialog', { name: 'Cal Agent invites you to a video call' });
    await invitation.waitFor();
    await launcher(page, 'Close chat').waitFor();
    await waitFor(
      () => page.frames().find((f) => f.url().includes('/widget/frame.html'))?.evaluate(() => document.activeElement?.getAttribute('role')) ?? null,
      { what: 'focus on the invitation', timeoutMs: 20_000 },
    ).then((role) => assert.equal(role, 'alertdialog'));
    await viewportShot(page, 'widget-invitation');
    assert.deepEqual(await axeProblems(await chatFrame(page)), [], 'axe with the invitation');

    await invitation.getByRole('button', { name: 'Accept' }).click();
    await waitForRemoteVideoPlaying(frame, 'the visitor sees the agent');
    await waitForRemoteVideoPlaying(agent.page, 'the agent sees the visitor');
    await frame.getByRole('status').filter({ hasText: 'In a video call' }).waitFor();
    await waitFor(() => agent.page.evaluate(() => (window as unknown as { desk: { answer?: boolean } }).desk.answer === true), {
      what: "the agent's inviteToVideo to resolve accepted",
    });
    assert.equal(await frame.locator('video[data-local]').count(), 1, 'a self-view');
    await viewportShot(page, 'widget-call');
    assert.deepEqual(await axeProblems(await chatFrame(page)), [], 'axe in a call');

    await frame.getByRole('button', { name: 'Mute', exact: true }).click();
    await frame.getByRole('button', { name: 'Unmute', exact: true }).waitFor();
    await waitFor(async () => (await agent.visitorInCall(sessionID))?.audio === false, { what: 'the agent to see the visitor muted' });
    await frame.getByRole('button', { name: 'Unmute', exact: true }).click();
    await frame.getByRole('button', { name: 'Mute', exact: true }).waitFor();

    await frame.getByRole('button', { name: 'Camera off' }).click();
    await frame.getByRole('button', { name: 'Camera on' }).waitFor();
    await waitFor(async () => (await agent.visitorInCall(sessionID))?.video === false, { what: "the agent to see the visitor's camera off" });
    await frame.getByRole('button', { name: 'Camera on' }).click();
    await frame.getByRole('button', { name: 'Camera off' }).waitFor();
    await waitFor(async () => (await agent.visitorInCall(sessionID))?.video === true, { what: "the agent to see the visitor's camera on" });

    await frame.getByRole('button', { name: 'End call' }).click();
    await frame.getByRole('status').filter({ hasText: /^Call ended: / }).waitFor();
    assert.equal(await frame.locator('video').count(), 0, 'the call view is cleared');
    await waitFor(async () => ['ended', 'idle'].includes(await agent.videoState(sessionID)), { what: 'the call to end for the agent' });
  });

  test('visitor clicks "Video call" → the agent accepts → video both ways → the agent hangs up', async () => {
    const { page, agent, sessionID } = await chatting();
    const frame = widgetFrame(page);
    await frame.getByRole('button', { name: 'Video call' }).click();
    await frame.getByRole('status').filter({ hasText: 'waiting for an answer' }).waitFor();
    await agent.acceptRequest(sessionID);
    await waitForRemoteVideoPlaying(frame, 'the visitor sees the agent');
    await waitForRemoteVideoPlaying(agent.page, 'the agent sees the visitor');
    await agent.endCall(sessionID);
    await frame.getByRole('status').filter({ hasText: /^Call ended: / }).waitFor();
    await frame.getByRole('button', { name: 'Video call' }).waitFor();
  });

  test('the visitor declines an invitation: the agent hears no, the chat goes on', async () => {
    const { page, agent, sessionID } = await chatting();
    const frame = widgetFrame(page);
    await agent.invite(sessionID, false);
    const invitation = frame.getByRole('alertdialog', { name: 'Cal Agent invites you to a voice call' });
    await invitation.getByRole('button', { name: 'Decline' }).click();
    await waitFor(() => agent.page.evaluate(() => (window as unknown as { desk: { answer?: boolean } }).desk.answer === false), {
      what: "the agent's inviteToVideo to resolve declined",
    });
    await invitation.waitFor({ state: 'detached' });
    await widgetSend(page, 'Maybe later');
    await agent.waitForText(sessionID, 'Maybe later');
  });

  test('camera blocked: plain instructions, and the call goes on voice only', async () => {
    // A browser without the fake permission prompt: a camera this context was not granted is refused,
    // as when a person clicks "Block"; the microphone is granted.
    const strict = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_FLAGS.filter((flag) => flag !== '--use-fake-ui-for-media-stream'),
      headless: true,
    });
    cleanup.add(() => strict.close());
    const { page, agent, sessionID } = await chatting(strict, ['microphone']);
    const frame = widgetFrame(page);
    await agent.invite(sessionID, true);
    await frame.getByRole('alertdialog').getByRole('button', { name: 'Accept' }).click();
    const help = frame.getByRole('alert').filter({ hasText: 'Your browser blocked the camera' });
    await help.waitFor();
    await help.getByText('Set Camera and Microphone to "Allow" for this site.').waitFor();
    await viewportShot(page, 'widget-camera-blocked');
    await help.getByRole('button', { name: 'Continue with voice only' }).click();
    await help.waitFor({ state: 'detached' });
    await frame.getByRole('status').filter({ hasText: 'In a video call — your camera is off' }).waitFor();
    await waitForRemoteVideoPlaying(frame, 'the visitor still sees the agent');
    await frame.getByRole('button', { name: 'Mute', exact: true }).waitFor();
    await frame.getByRole('button', { name: 'End call' }).click();
    await frame.getByRole('status').filter({ hasText: /^Call ended: / }).waitFor();
  });
});
