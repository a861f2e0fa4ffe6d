/*
 * The pre-call check, clicked through by role and accessible name: in the visitor widget (from the agent's
 * invitation, before Accept) and in the agent workspace (before "Start video"). Each shows labelled pickers for
 * camera, microphone and speaker (filled from the browser's devices: Chromium's fake capture lists one camera,
 * three microphones and three speakers), a microphone level that moves with the fake microphone (it beeps once
 * a second, so the level rises on the beep and falls between beeps), and a camera preview that plays. The
 * microphone picked there is the one the call then sends (read from the call's own local track).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FrameLocator, Page } from 'playwright-core';
import { CallPage } from './support/callParties.ts';
import { browserAndServer } from './support/fixture.ts';
import { newParty, viewportShot, waitFor, type AgentAccount } from './support/harness.ts';
import { CALL_DIV_ID } from './support/media.ts';
import { DeskAgent, launcher, waitForRemoteVideoPlaying, waitForWidgetText, widgetFrame, widgetSend } from './support/widgetDesk.ts';
import { acceptVisitor, openWorkspaceAway, waitForRemoteVideoPlaying as waitForStageVideo } from './support/workspaceDriver.ts';

const account: AgentAccount = { email: 'pia@example.test', name: 'Pia Agent', password: 'correct horse battery' };
const spec = browserAndServer([account]);
const { cleanup } = spec;
const PICKED_MIC = 'Fake Audio Input 1';

/** The check in `scope` works: pickers labelled and filled, the level moves, the preview plays; then `PICKED_MIC` is picked. */
async function exerciseCheck(scope: Page | FrameLocator, where: string): Promise<void> {
  const camera = scope.getByRole('combobox', { name: 'Camera' });
  const microphone = scope.getByRole('combobox', { name: 'Microphone' });
  const speaker = scope.getByRole('combobox', { name: 'Speaker' });
  await waitFor(async () => (await microphone.locator('option').count()) >= 3, { what: `${where}: the microphones listed` });
  assert.ok((await camera.locator('option').count()) >= 1, `${where}: a camera listed`);
  assert.ok((await speaker.locator('option').count()) >= 1, `${where}: a speaker listed`);
  assert.deepEqual(await microphone.locator('option').allTextContents().then((l) => l.includes(PICKED_MIC)), true, `${where}: labels are shown`);

  const meter = scope.getByRole('meter', { name: 'Microphone level' });
  const levels: number[] = [];
  await waitFor(
    async () => {
      levels.push(Number(await meter.getAttribute('data-level')));
      const high = Math.max(...levels);
      return high > 0.01 && levels.some((l) => l < high / 2);
    },
    { what: `${where}: the microphone level to rise and fall with the fake microphone's beep`, timeoutMs: 15_000 },
  ).catch((e: Error) => {
    throw new Error(`${e.message}; levels ${levels.slice(-20).join(', ')}`);
  });

  const preview = scope.locator('video[data-device-preview]');
  const reading = () => preview.evaluate((v: HTMLVideoElement) => ({ width: v.videoWidth, time: v.currentTime }));
  const first = await waitFor(async () => ((await reading()).width > 0 ? reading() : null), { what: `${where}: the preview to show the camera` });
  await waitFor(async () => (await reading()).time > first.time, { what: `${where}: the preview to play` });
  await speaker.selectOption({ index: 1 }).catch(() => {});
  await scope.getByRole('button', { name: 'Play test sound' }).click();
  await microphone.selectOption({ label: PICKED_MIC });
}

/** The label of the call's own local microphone track in `scope`'s call div. */
async function callMicrophone(root: Page | FrameLocator, divSelector: string): Promise<string | null> {
  return root.locator(`${divSelector} video[data-local]`).evaluate((v: HTMLVideoElement) => (v.srcObject as MediaStream | null)?.getAudioTracks()[0]?.label ?? null);
}

test('widget: the check opens from the invitation; picked microphone is what the accepted call sends', async () => {
  const visitor = await newParty(spec.browser, spec.server.url);
  cleanup.add(() => visitor.context.close());
  const page = visitor.page;
  await page.goto('/');
  await launcher(page).click();
  await widgetSend(page, 'Can I show you the broken grinder?');
  await waitForWidgetText(page, 'Can I show you the broken grinder?');
  const agent = await DeskAgent.open(spec.browser, spec.server.url, account);
  cleanup.add(() => agent.party.context.close());
  const sessionID = await agent.acceptWaiting();
  const frame = widgetFrame(page);
  await frame.getByText('Online', { exact: true }).waitFor();

  await agent.invite(sessionID, true);
  const invitation = frame.getByRole('alertdialog', { name: 'Pia Agent invites you to a video call' });
  await invitation.getByRole('button', { name: 'Check camera and microphone' }).click();
  await frame.getByRole('region', { name: 'Camera and microphone check' }).waitFor();
  await exerciseCheck(frame, 'widget');
  await viewportShot(page, 'widget-precall-check');

  await invitation.getByRole('button', { name: 'Accept' }).click();
  await waitForRemoteVideoPlaying(frame, 'the widget, after the check');
  await waitForRemoteVideoPlaying(agent.page, 'the agent, from the checked devices');
  assert.equal(await frame.getByRole('region', { name: 'Camera and microphone check' }).count(), 0, 'the check closed for the call');
  assert.equal(await callMicrophone(frame, '#parley-call-media'), PICKED_MIC, 'the call sends the microphone picked in the check');
  const pageErrors = visitor.errors.filter((e) => e.startsWith('pageerror'));
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the shop page or the widget');
  await agent.endCall(sessionID);
  await agent.party.context.close(); // the agent account is the workspace test's too: it must be free
});

test('workspace: the check before "Start video"; the call opens the picked microphone', async () => {
  const agent = await openWorkspaceAway(spec, account);
  const page = agent.page;
  const vera = await CallPage.open(spec.browser, spec.server.url, 'visitor');
  cleanup.add(() => vera.party.context.close());
  await vera.connectVisitor('Vera Visitor');
  await vera.startChat('Hello from Vera');
  await acceptVisitor(page, 'Vera Visitor');

  const toggle = page.getByRole('button', { name: 'Check camera and microphone' });
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  const check = page.getByRole('group', { name: 'Camera and microphone check' });
  await check.waitFor();
  await exerciseCheck(page, 'workspace');
  await viewportShot(page, 'workspace-precall-check');

  const since = await vera.eventCount();
  await page.getByRole('button', { name: 'Start video', exact: true }).click();
  await vera.waitForEvent('videoInvite', { since });
  assert.equal(await check.count(), 0, 'the check let go of the devices for the call');
  const answered = await vera.answerInvite(true);
  assert.ok(answered.ok, JSON.stringify(answered));
  await waitForStageVideo(page, 'the workspace, after the check', '#call-stage');
  await waitForStageVideo(vera.page, 'the visitor', `#${CALL_DIV_ID}`);
  assert.equal(await callMicrophone(page, '#call-stage'), PICKED_MIC, 'the call sends the microphone picked in the check');
  assert.deepEqual(agent.errors.filter((e) => !/favicon/.test(e)), []);
});
