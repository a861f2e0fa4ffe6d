/*
 * Screen sharing through both real apps, clicked by role and accessible name: the agent in the workspace calls
 * the visitor on the demo shop, clicks "Share screen", and the visitor's widget draws the agent's screen large
 * (bigger than the agent's camera, which stays) and playing; both transcripts say so; the workspace shows its
 * "You are sharing your screen" preview; "Stop sharing" takes the screen away again. Then the visitor shares from
 * the widget while the agent's screen is gone, and the workspace draws it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { browserAndServer } from './support/fixture.ts';
import { newParty, viewportShot, waitFor, type AgentAccount } from './support/harness.ts';
import { acceptVisitor, callRegion, openWorkspaceAway, queuedVisitor, waitForLine, waitForRemoteVideoPlaying } from './support/workspaceDriver.ts';
import { launcher, waitForWidgetLine, widgetFrame, widgetSend } from './support/widgetDesk.ts';

const account: AgentAccount = { email: 'sam@example.test', name: 'Sam Sharer', password: 'correct horse battery' };
const spec = browserAndServer([account]);

interface ScreenReading {
  videoWidth: number;
  currentTime: number;
  area: number;
  cameraArea: number;
  /** Square pixels of the screen's picture (inside its letterbox) that camera videos cover. */
  covered: number;
}

/** Reads the `<video data-screen>` in `scope` of a page or frame, and the area of the largest camera video there. */
async function readScreen(root: Parameters<typeof waitForRemoteVideoPlaying>[0], scope: string): Promise<ScreenReading | null> {
  // No named helpers inside: the page gets the function's source as it is.
  const readings = await root.locator(scope).evaluateAll((elements) =>
    elements.map((element) => {
      const screen = element.querySelector<HTMLVideoElement>('video[data-screen]');
      if (!screen) return null;
      const rect = screen.getBoundingClientRect();
      // The picture as drawn: object-fit contain letterboxes it inside the element.
      const scale = screen.videoWidth > 0 ? Math.min(rect.width / screen.videoWidth, rect.height / screen.videoHeight) : 0;
      const [pw, ph] = [screen.videoWidth * scale, screen.videoHeight * scale];
      const picture = { left: rect.left + (rect.width - pw) / 2, top: rect.top + (rect.height - ph) / 2, right: rect.left + (rect.width + pw) / 2, bottom: rect.top + (rect.height + ph) / 2 };
      const boxes = [...element.querySelectorAll('video[data-participant-id]:not([data-screen]), video[data-local]')]
        .map((camera) => camera.getBoundingClientRect())
        .filter((box) => box.width > 0 && box.height > 0);
      const covered = boxes.reduce((sum, box) => {
        const w = Math.min(box.right, picture.right) - Math.max(box.left, picture.left);
        const h = Math.min(box.bottom, picture.bottom) - Math.max(box.top, picture.top);
        return sum + (w > 0 && h > 0 ? w * h : 0);
      }, 0);
      return {
        videoWidth: screen.videoWidth,
        currentTime: screen.currentTime,
        area: Math.round(rect.width * rect.height),
        cameraArea: Math.max(0, ...boxes.map((box) => Math.round(box.width * box.height))),
        covered: Math.round(covered),
      };
    }),
  );
  return readings[0] ?? null;
}

/** Waits until the screen in `scope` has a picture and its clock advances. */
async function waitForScreenPlaying(root: Parameters<typeof readScreen>[0], scope: string, what: string): Promise<ScreenReading> {
  const first = await waitFor(async () => {
    const r = await readScreen(root, scope);
    return r && r.videoWidth > 0 ? r : null;
  }, { what: `the shared screen drawn (${what})`, timeoutMs: 20_000 });
  return waitFor(async () => {
    const r = await readScreen(root, scope);
    return r && r.currentTime > first.currentTime ? r : null;
  }, { what: `the shared screen playing (${what})`, timeoutMs: 15_000 });
}

test('the agent clicks "Share screen" in the workspace and the visitor sees it large in the widget; "Stop sharing" ends it', async () => {
  const agent = await openWorkspaceAway(spec, account);
  const ws = agent.page;
  const visitor = await newParty(spec.browser);
  spec.cleanup.add(() => visitor.context.close());
  await visitor.page.goto(`${spec.server.url}/`);
  const shop = visitor.page;
  await launcher(shop, 'Open chat').click();
  await widgetSend(shop, 'Can you show me where the setting is?');
  const { visitorName } = await queuedVisitor(ws, 'Can you show me where the setting is?');
  await acceptVisitor(ws, visitorName);

  await ws.getByRole('button', { name: 'Start video', exact: true }).click();
  await widgetFrame(shop).getByRole('alertdialog').getByRole('button', { name: 'Accept', exact: true }).click();
  const call = callRegion(ws);
  await waitFor(async () => (await call.getByRole('status').textContent()) === 'Connected', { what: 'the workspace call state "Connected"' });
  await waitForRemoteVideoPlaying(widgetFrame(shop), 'the agent camera in the widget', '#parley-call-media');

  await call.getByRole('button', { name: 'Share screen', exact: true }).click();
  await call.getByRole('button', { name: 'Stop sharing', exact: true }).waitFor();
  const seen = await waitForScreenPlaying(widgetFrame(shop), '#parley-call-media', 'the agent screen in the widget');
  assert.ok(seen.area > 2 * seen.cameraArea, `the screen is drawn large, the camera small: ${JSON.stringify(seen)}`);
  await waitForRemoteVideoPlaying(widgetFrame(shop), 'the agent camera goes on while sharing', '#parley-call-media');
  await call.getByText('You are sharing your screen', { exact: true }).waitFor();
  await waitForLine(ws, 'Sam Sharer shared their screen', 'the share in the workspace transcript');
  await waitForWidgetLine(shop, 'Sam Sharer shared their screen', 'the share in the widget transcript');
  await viewportShot(shop, 'screen-share-visitor-sees-agent-screen');
  await viewportShot(ws, 'screen-share-agent-sharing');

  await call.getByRole('button', { name: 'Stop sharing', exact: true }).click();
  await call.getByRole('button', { name: 'Share screen', exact: true }).waitFor();
  await waitFor(async () => (await readScreen(widgetFrame(shop), '#parley-call-media')) === null, { what: 'the screen gone from the widget' });
  await waitForWidgetLine(shop, 'Sam Sharer stopped sharing', 'the stop in the widget transcript');

  // The visitor shares from the widget; the workspace draws it.
  const widgetCall = widgetFrame(shop).getByRole('region', { name: 'Call' });
  await widgetCall.getByRole('button', { name: 'Share screen', exact: true }).click();
  await widgetCall.getByRole('button', { name: 'Stop sharing', exact: true }).waitFor();
  const agentSees = await waitForScreenPlaying(ws, '#call-stage', "the visitor's screen in the workspace");
  assert.ok(agentSees.area > 2 * agentSees.cameraArea, `large in the workspace too: ${JSON.stringify(agentSees)}`);
  assert.equal(agentSees.covered, 0, `no camera hides part of the screen in the workspace: ${JSON.stringify(agentSees)}`);
  await waitForLine(ws, `${visitorName} shared their screen`, "the visitor's share in the workspace transcript");
  await viewportShot(ws, 'screen-share-agent-sees-visitor-screen');
  await widgetCall.getByRole('button', { name: 'Stop sharing', exact: true }).click();
  await waitFor(async () => (await readScreen(ws, '#call-stage')) === null, { what: 'the screen gone from the workspace' });
  await call.getByRole('button', { name: 'End call', exact: true }).click();
});
