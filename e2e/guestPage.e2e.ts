/*
 * The guest page (/guest#…) on a phone-sized screen, clicked by role and accessible name: its pre-call check
 * (camera preview, a microphone level that moves with Chromium's fake microphone, a test sound, and pickers
 * filled with the fake devices, which also take in a device plugged in while the page is open), the microphone
 * picked there being what the joined call sends (read from the call's own RTP senders), switching the
 * microphone in the call, and sharing the screen: the agent's workspace decodes the guest's screen frames in
 * `<video data-screen>`, the browser's own "Stop sharing" (the captured track's `ended`) puts the button back,
 * and while the agent shares, the guest's "Share screen" is refused with a sentence. Last, a guest whose browser
 * blocks the camera is told so before joining, and joins sending its microphone alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { CallPage } from './support/callParties.ts';
import { browserAndServer } from './support/fixture.ts';
import { newParty, viewportShot, waitFor, type AgentAccount } from './support/harness.ts';
import { installInPageTools } from './support/media.ts';
import { stopSharingFromBrowser, waitForScreenFlowing, waitForScreenGone } from './support/screenShare.ts';
import { acceptVisitor, callRegion, newWorkspaceParty, setAvailable, signIn, waitForRemoteVideoPlaying } from './support/workspaceDriver.ts';

const account: AgentAccount = { email: 'gia@example.test', name: 'Gia Agent', password: 'correct horse battery' };
const spec = browserAndServer([account]);
const { cleanup } = spec;
const GUEST_DIV = 'guest-call-media';
const STAGE_DIV = 'call-stage';
const PICKED_MIC = 'Fake Audio Input 1';
const SWITCHED_MIC = 'Fake Audio Input 2';
const PLUGGED_MIC = 'USB Headset';

/**
 * Installed before the guest page's scripts: `enumerateDevices` also lists what is in `window.__plugged`, so a
 * test can plug a device in (and out) and fire `devicechange` as the browser would. A string: the page gets it as is.
 */
const PLUGGABLE_DEVICES = `(() => {
  const proto = window.MediaDevices && MediaDevices.prototype;
  if (!proto || proto.__pluggable) return;
  const native = proto.enumerateDevices;
  proto.__pluggable = true;
  window.__plugged = [];
  proto.enumerateDevices = async function () {
    const listed = await native.call(this);
    return listed.concat(window.__plugged.map((d) => ({ ...d, groupId: 'plugged', toJSON() { return this; } })));
  };
})();`;

/** Plugs `label` in as a microphone (or, with null, takes it out again) and fires `devicechange`. */
async function plugMicrophone(page: Page, label: string | null): Promise<void> {
  await page.evaluate((name) => {
    (window as unknown as { __plugged: object[] }).__plugged = name ? [{ deviceId: 'plugged-headset', kind: 'audioinput', label: name }] : [];
    navigator.mediaDevices.dispatchEvent(new Event('devicechange'));
  }, label);
}

/** The labels of the tracks the guest's call sends, per kind (every live RTP sender of every peer connection). */
function sentTrackLabels(page: Page, kind: 'audio' | 'video'): Promise<string[]> {
  return page.evaluate(
    (k) =>
      window.parleyProbe
        .peerConnections()
        .flatMap((pc) => pc.getSenders())
        .filter((s) => s.track && s.track.kind === k && s.track.readyState === 'live')
        .map((s) => s.track!.label),
    kind,
  );
}

test('a guest checks its devices, joins with the picked microphone, switches it, and shares its screen with the agent', async () => {
  // The agent, away, takes a visitor's conversation and calls them.
  const agent = await newWorkspaceParty(spec.browser);
  cleanup.add(() => agent.context.close());
  const ws = agent.page;
  await installInPageTools(ws);
  await signIn(ws, spec.server.url, account);
  await setAvailable(ws, false);
  const vera = await CallPage.open(spec.browser, spec.server.url, 'visitor');
  cleanup.add(() => vera.party.context.close());
  await vera.connectVisitor('Vera Visitor');
  await vera.startChat('Could my colleague join the call?');
  await acceptVisitor(ws, 'Vera Visitor');
  const since = await vera.eventCount();
  await ws.getByRole('button', { name: 'Start video', exact: true }).click();
  await vera.waitForEvent('videoInvite', { since });
  const answered = await vera.answerInvite(true);
  assert.ok(answered.ok, JSON.stringify(answered));
  await waitForRemoteVideoPlaying(ws, 'the workspace, from the visitor', `#${STAGE_DIV}`);

  const call = callRegion(ws);
  await call.getByRole('button', { name: 'Invite guest', exact: true }).click();
  const url = await call.getByRole('textbox', { name: 'Invitation link' }).inputValue();
  assert.match(url, /\/guest#[\w.-]+$/, `a guest link: ${url}`);

  // The guest opens the link on a phone-sized screen: the check shows before joining.
  const guest = await newParty(spec.browser);
  cleanup.add(() => guest.context.close());
  const gp = guest.page;
  await gp.setViewportSize({ width: 390, height: 844 });
  await installInPageTools(gp);
  await gp.addInitScript({ content: PLUGGABLE_DEVICES });
  await gp.goto(url);
  const check = gp.getByRole('group', { name: 'Camera and microphone check' });
  const camera = check.getByRole('combobox', { name: 'Camera' });
  const microphone = check.getByRole('combobox', { name: 'Microphone' });
  const speaker = check.getByRole('combobox', { name: 'Speaker' });
  const micLabels = () => microphone.locator('option').allTextContents();
  await waitFor(async () => (await micLabels()).includes(PICKED_MIC), { what: 'the fake microphones listed by name', seen: micLabels });
  assert.ok((await micLabels()).length >= 3, `the three fake microphones: ${await micLabels()}`);
  assert.ok((await camera.locator('option').count()) >= 1, 'the fake camera listed');
  assert.ok((await speaker.locator('option').count()) >= 1, 'a speaker listed');

  // The level rises on the fake microphone's beep (once a second) and falls between beeps: two beeps are seen.
  const meter = check.getByRole('meter', { name: 'Microphone level' });
  const beeps = { rises: 0, quiet: true, last: [] as number[] };
  const countBeep = async () => {
    const level = Number(await meter.getAttribute('data-level'));
    beeps.last = [...beeps.last.slice(-19), level];
    if (beeps.quiet && level > 0.01) [beeps.rises, beeps.quiet] = [beeps.rises + 1, false];
    else if (level < 0.004) beeps.quiet = true;
    return beeps.rises >= 2;
  };
  await waitFor(countBeep, { what: 'the microphone level to follow two beeps of the fake microphone', timeoutMs: 15_000, seen: () => beeps });

  // The preview plays; the toggles still say what the guest will join with.
  const preview = gp.locator('#preview-video');
  const reading = () => preview.evaluate((v: HTMLVideoElement) => ({ width: v.videoWidth, time: v.currentTime }));
  const first = await waitFor(async () => ((await reading()).width > 0 ? reading() : null), { what: 'the preview to show the camera' });
  await waitFor(async () => (await reading()).time > first.time, { what: 'the preview to play' });
  await gp.getByRole('button', { name: 'Join with camera off' }).click();
  assert.equal(await preview.isHidden(), true, 'camera off hides the preview');
  await gp.getByRole('button', { name: 'You will join with camera off' }).click();
  await gp.getByRole('button', { name: 'Join with camera off' }).waitFor();
  await gp.getByRole('button', { name: 'Play test sound' }).click();

  // A headset plugged in appears in the picker, and goes when it is taken out.
  await plugMicrophone(gp, PLUGGED_MIC);
  await waitFor(async () => (await micLabels()).includes(PLUGGED_MIC), { what: 'the plugged-in headset in the picker', seen: micLabels });
  await plugMicrophone(gp, null);
  await waitFor(async () => !(await micLabels()).includes(PLUGGED_MIC), { what: 'the headset gone from the picker', seen: micLabels });

  await microphone.selectOption({ label: PICKED_MIC });
  await viewportShot(gp, 'guest-page-check');

  // Joining: the call sends the microphone picked in the check.
  await gp.getByRole('textbox', { name: 'Your name' }).fill('Sam Guest');
  await gp.getByRole('button', { name: 'Join the call' }).click();
  await gp.getByRole('button', { name: 'Leave', exact: true }).waitFor();
  await waitForRemoteVideoPlaying(ws, 'the workspace, from the guest too', `#${STAGE_DIV}`);
  await waitFor(async () => (await sentTrackLabels(gp, 'audio')).length > 0, { what: 'the guest to send audio' });
  const sent = await sentTrackLabels(gp, 'audio');
  assert.ok(sent.every((label) => label === PICKED_MIC), `the call sends the picked microphone: ${sent}`);

  // The microphone switched in the call is what the call sends from then on.
  await gp.getByRole('button', { name: 'Devices', exact: true }).click();
  const inCall = gp.getByRole('group', { name: 'Devices in the call' });
  const callMic = inCall.getByRole('combobox', { name: 'Microphone' });
  await waitFor(async () => (await callMic.locator('option:checked').textContent()) === PICKED_MIC, { what: 'the call picker on the microphone in use' });
  await callMic.selectOption({ label: SWITCHED_MIC });
  await waitFor(async () => {
    const labels = await sentTrackLabels(gp, 'audio');
    return labels.length > 0 && labels.every((label) => label === SWITCHED_MIC);
  }, { what: 'the call to send the switched microphone', seen: () => sentTrackLabels(gp, 'audio') });
  await gp.getByRole('button', { name: 'Devices', exact: true }).click();

  // The guest shares its screen; the workspace decodes it.
  const guestId = await gp.locator(`#people li[data-participant-id]`).filter({ hasText: '(you)' }).getAttribute('data-participant-id');
  assert.ok(guestId, 'the guest is listed with its id');
  await gp.getByRole('button', { name: 'Share screen', exact: true }).click();
  await gp.getByRole('button', { name: 'Stop sharing', exact: true }).waitFor();
  const { first: shown, later } = await waitForScreenFlowing(ws, guestId, "the guest's screen in the workspace", STAGE_DIV);
  assert.ok(later.framesDecoded > shown.framesDecoded, `screen frames decoded rise: ${JSON.stringify({ shown, later })}`);
  await viewportShot(gp, 'guest-page-sharing');

  // The browser's own "Stop sharing": the button comes back, the workspace's screen goes.
  await stopSharingFromBrowser(gp, GUEST_DIV);
  await gp.getByRole('button', { name: 'Share screen', exact: true }).waitFor();
  await waitForScreenGone(ws, "the guest's screen gone from the workspace", false, STAGE_DIV);

  // One screen at a time: while the agent shares, the guest is told so and keeps its button.
  await call.getByRole('button', { name: 'Share screen', exact: true }).click();
  await call.getByRole('button', { name: 'Stop sharing', exact: true }).waitFor();
  await waitFor(async () => (await gp.locator(`#${GUEST_DIV} video[data-screen]`).count()) === 1, { what: "the agent's screen on the guest page" });
  await gp.getByRole('button', { name: 'Share screen', exact: true }).click();
  await gp.getByRole('alert').filter({ hasText: /^Someone else is sharing their screen/ }).waitFor();
  await gp.getByRole('button', { name: 'Share screen', exact: true }).waitFor();
  await call.getByRole('button', { name: 'Stop sharing', exact: true }).click();

  assert.deepEqual(guest.errors.filter((e) => e.startsWith('pageerror')), [], 'no uncaught errors on the guest page');
  await gp.getByRole('button', { name: 'Leave', exact: true }).click();
  await gp.getByRole('heading', { name: 'The call has ended' }).waitFor();

  // A guest whose browser blocks the camera gets today's plain help, and joins with the microphone alone.
  await call.getByRole('button', { name: 'Invite guest', exact: true }).click();
  const secondUrl = await waitFor(
    async () => {
      const link = await call.getByRole('textbox', { name: 'Invitation link' }).inputValue().catch(() => '');
      return link && link !== url ? link : null;
    },
    { what: 'a second guest link' },
  );
  const blocked = await newParty(spec.browser);
  cleanup.add(() => blocked.context.close());
  const bp = blocked.page;
  await bp.setViewportSize({ width: 390, height: 844 });
  await installInPageTools(bp);
  await bp.addInitScript(() => {
    const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = (constraints) => (constraints?.video ? Promise.reject(new DOMException('blocked', 'NotAllowedError')) : open(constraints));
  });
  await bp.goto(secondUrl);
  await bp.getByText(/^Your browser blocked the camera\. Allow it/).waitFor();
  await bp.getByRole('meter', { name: 'Microphone level' }).waitFor();
  await bp.getByRole('textbox', { name: 'Your name' }).fill('Pat Blocked');
  await bp.getByRole('button', { name: 'Join the call' }).click();
  await bp.getByRole('button', { name: 'Leave', exact: true }).waitFor();
  await waitForRemoteVideoPlaying(bp, 'the guest without a camera still sees the others', `#${GUEST_DIV}`);
  await waitFor(async () => (await sentTrackLabels(bp, 'audio')).length > 0 && (await sentTrackLabels(bp, 'video')).length === 0, {
    what: 'the guest without a camera to send its microphone only',
  });
  await bp.getByRole('button', { name: 'Leave', exact: true }).click();
  await bp.getByRole('heading', { name: 'The call has ended' }).waitFor();
});
