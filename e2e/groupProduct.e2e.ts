/*
 * Group calls through the product's own pages, each party in its own browser context with fake camera and
 * microphone: the visitor on the demo shop (`/`, the widget), the agent in the workspace (`/agent`), a guest
 * on the page an invitation link opens (`/guest#…`), and a second agent added with "Add people".
 *
 * The link is read from the widget's UI, as a person would copy it. Media is proven per remote participant:
 * each remote <video data-participant-id> is matched to the RTCRtpReceivers carrying its tracks, and that
 * participant's decoded video frames and received audio packets must rise between two samples.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Frame, Locator, Page } from 'playwright-core';
import { browserAndServer } from './support/fixture.ts';
import { newParty, viewportShot, waitFor, type AgentAccount, type Party } from './support/harness.ts';
import { chatFrame, launcher, widgetFrame, widgetSend } from './support/widgetDesk.ts';
import {
  acceptVisitor,
  callRegion,
  newWorkspaceParty,
  queuedVisitor,
  seriousAxeViolations,
  setAvailable,
  signIn,
} from './support/workspaceDriver.ts';

const petra: AgentAccount = { email: 'petra@example.test', name: 'Petra Product', password: 'correct horse battery' };
const ari: AgentAccount = { email: 'ari@example.test', name: 'Ari Second', password: 'correct horse battery' };
const GUEST_NAME = 'Sam Guest';
const spec = browserAndServer([petra, ari]);
const { cleanup } = spec;

/**
 * Installed in every frame before its scripts run: keeps each RTCPeerConnection, and `__groupMedia()`
 * reports, per remote <video data-participant-id>, the frames decoded and audio packets received by the
 * receivers whose tracks that element plays, with the participant's name from its cell.
 * A string, not a function: the test runner's transpiler would add helpers the page does not have.
 */
const MEDIA_WATCH = `(() => {
  const Native = window.RTCPeerConnection;
  if (!Native || window.__groupPeers) return;
  const peers = [];
  window.__groupPeers = peers;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); peers.push(this); }
  };
  window.__groupMedia = async () => {
    const out = [];
    for (const video of document.querySelectorAll('video[data-participant-id]')) {
      const stream = video.srcObject;
      const tracks = stream && typeof stream.getTracks === 'function' ? stream.getTracks() : [];
      let frames = 0;
      let packets = 0;
      for (const pc of peers) {
        if (pc.connectionState === 'closed') continue;
        for (const receiver of pc.getReceivers()) {
          if (!receiver.track || !tracks.includes(receiver.track)) continue;
          const report = await receiver.getStats();
          report.forEach((s) => {
            if (s.type !== 'inbound-rtp') return;
            if (s.kind === 'video') frames += s.framesDecoded || 0;
            if (s.kind === 'audio') packets += s.packetsReceived || 0;
          });
        }
      }
      const cell = video.closest('.parley-cell');
      const label = cell && cell.querySelector('.parley-name');
      out.push({
        id: video.getAttribute('data-participant-id'),
        name: label ? label.textContent : '',
        frames,
        packets,
        width: video.videoWidth,
        time: video.currentTime,
      });
    }
    return out;
  };
})();`;

/** What one page receives from one remote participant. */
interface RemoteMedia {
  id: string;
  name: string;
  frames: number;
  packets: number;
  width: number;
  time: number;
}

type Scope = Page | Frame;

async function remoteMedia(scope: Scope): Promise<RemoteMedia[]> {
  return scope.evaluate(() => (window as unknown as { __groupMedia(): Promise<RemoteMedia[]> }).__groupMedia());
}

/**
 * Proves `scope` receives media from each of `names` and from nobody else: for each, a picture (videoWidth > 0),
 * frames decoded and audio packets received, then frames, packets and the video clock all higher in a later sample.
 */
async function provesMediaFrom(scope: Scope, names: string[], who: string): Promise<void> {
  const byName = (rows: RemoteMedia[], name: string) => rows.find((r) => r.name === name);
  let last: RemoteMedia[] = [];
  const first = await waitFor(
    async () => {
      last = await remoteMedia(scope);
      const ok = names.every((n) => {
        const r = byName(last, n);
        return r && r.width > 0 && r.frames > 0 && r.packets > 0;
      });
      return ok && last.length === names.length ? last : null;
    },
    { what: `${who} to receive media from ${names.join(', ')}`, timeoutMs: 30_000 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last sample ${JSON.stringify(last)}`);
  });
  await waitFor(
    async () => {
      last = await remoteMedia(scope);
      return names.every((n) => {
        const before = byName(first, n)!;
        const now = byName(last, n);
        return now && now.frames > before.frames && now.packets > before.packets && now.time > before.time;
      });
    },
    { what: `${who}: media from ${names.join(', ')} to keep rising`, timeoutMs: 20_000 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; first ${JSON.stringify(first)}, last ${JSON.stringify(last)}`);
  });
}

async function assertAxeClean(page: Page, where: string): Promise<void> {
  const found = await seriousAxeViolations(page);
  assert.deepEqual(found, [], `no serious or critical axe-core violations ${where}: ${JSON.stringify(found, null, 1)}`);
}

async function openWorkspace(account: AgentAccount): Promise<Party> {
  const party = await newWorkspaceParty(spec.browser);
  cleanup.add(() => party.context.close());
  await party.page.addInitScript({ content: MEDIA_WATCH });
  await signIn(party.page, spec.server.url, account);
  return party;
}

function visibleText(locator: Locator): Promise<string> {
  return locator.innerText().catch(() => '');
}

test('a visitor, an agent, a guest from a link and an added colleague share one call; the guest is removed', async () => {
  // The agent waits for visitors in the queue.
  const agent = await openWorkspace(petra);
  const ws = agent.page;
  await setAvailable(ws, false);

  // The visitor writes from the demo shop's widget; the agent takes the conversation.
  const visitorContext = await spec.browser.newContext({
    permissions: ['camera', 'microphone', 'clipboard-read', 'clipboard-write'],
    viewport: { width: 1200, height: 800 },
  });
  cleanup.add(() => visitorContext.close());
  const shop = await visitorContext.newPage();
  await shop.addInitScript({ content: MEDIA_WATCH });
  await shop.goto(`${spec.server.url}/`);
  await launcher(shop).click();
  await widgetSend(shop, 'Could my husband join us on the call?');
  const { visitorName } = await queuedVisitor(ws, 'Could my husband join us on the call?');
  await acceptVisitor(ws, visitorName);

  // A video call between the two.
  await ws.getByRole('button', { name: 'Start video', exact: true }).click();
  await widgetFrame(shop).getByRole('alertdialog').getByRole('button', { name: 'Accept', exact: true }).click();
  const frame = await chatFrame(shop);
  await provesMediaFrom(ws, [visitorName], 'the agent');
  await provesMediaFrom(frame, [petra.name], 'the visitor');

  // The visitor invites someone: the link is copied and shown.
  const widgetCall = widgetFrame(shop).getByRole('region', { name: 'Call' });
  await widgetCall.getByRole('button', { name: 'Invite someone', exact: true }).click();
  const linkField = widgetCall.getByRole('textbox', { name: 'Invitation link' });
  await linkField.waitFor();
  const url = await linkField.inputValue();
  assert.match(url, new RegExp(`^${spec.server.url.replace(/[.:/]/g, '\\$&')}/guest#[\\w.-]+$`), `a guest link: ${url}`);
  const note = await visibleText(widgetCall.getByRole('status').filter({ hasText: /valid for/ }));
  assert.match(note, /^Link copied — valid for 15 minutes, for one person/, `the widget says what the link is good for: ${note}`);
  const copied = await shop.evaluate(() => navigator.clipboard.readText()).catch(() => null);
  assert.equal(copied, url, 'the link is on the clipboard');
  await viewportShot(shop, 'group-widget-invite');
  await widgetCall.getByRole('button', { name: 'Done', exact: true }).click();
  await widgetCall.getByRole('button', { name: 'Invite someone', exact: true }).waitFor();

  // The guest opens the link on a phone-sized screen, gives a name and joins.
  const guest = await newParty(spec.browser);
  cleanup.add(() => guest.context.close());
  const gp = guest.page;
  await gp.setViewportSize({ width: 390, height: 844 });
  await gp.addInitScript({ content: MEDIA_WATCH });
  const response = await gp.goto(url);
  assert.equal(response?.status(), 200, 'the guest page answers 200');
  assert.match(response?.headers()['content-security-policy'] ?? '', /script-src 'self'/, 'the guest page has the CSP of every page');
  await gp.getByRole('heading', { name: 'Join the call' }).waitFor();
  assert.ok(!gp.url().includes('#'), `the token is taken out of the address bar: ${gp.url()}`);
  await waitFor(() => gp.locator('#preview-video').evaluate((v: HTMLVideoElement) => v.videoWidth > 0), { what: 'the camera preview' });
  await assertAxeClean(gp, 'on the guest page before joining');
  await gp.getByRole('button', { name: 'Join the call' }).click();
  await gp.getByText('Please enter your name.').waitFor();
  await gp.getByRole('textbox', { name: 'Your name' }).fill(GUEST_NAME);
  await gp.getByRole('button', { name: 'Join the call' }).click();
  await gp.getByRole('button', { name: 'Leave', exact: true }).waitFor();

  // All three receive media from both others.
  await provesMediaFrom(gp, [petra.name, visitorName], 'the guest');
  await provesMediaFrom(ws, [visitorName, GUEST_NAME], 'the agent');
  await provesMediaFrom(frame, [petra.name, GUEST_NAME], 'the visitor');
  const people = await gp.getByRole('list', { name: 'In the call' }).innerText();
  for (const name of [`${GUEST_NAME} (you)`, petra.name, visitorName]) assert.ok(people.includes(name), `the guest page lists ${name}: ${people}`);
  await viewportShot(gp, 'guest-page');
  await assertAxeClean(gp, 'on the guest page in the call');

  // The same link a second time, a tampered one, and none at all: each says what happened.
  const stranger = await newParty(spec.browser);
  cleanup.add(() => stranger.context.close());
  const refused = async (link: string, name: string | null, message: RegExp) => {
    await stranger.page.goto(link);
    if (name !== null) {
      await stranger.page.getByRole('textbox', { name: 'Your name' }).fill(name);
      await stranger.page.getByRole('button', { name: 'Join the call' }).click();
    }
    await waitFor(async () => message.test(await visibleText(stranger.page.getByRole('alert'))), {
      what: `the guest page to say ${message}`,
    }).catch(async (error: Error) => {
      throw new Error(`${error.message}; it says ${JSON.stringify(await visibleText(stranger.page.locator('main')))}`);
    });
    assert.equal(await stranger.page.getByRole('button', { name: 'Join the call' }).isVisible(), false, `no Join button after ${message}`);
  };
  await refused(url, 'Second Try', /^This invitation has already been used/);
  const token = url.slice(url.indexOf('#') + 1);
  const tampered = `${spec.server.url}/guest#${token.slice(0, -6)}${token.slice(-6).split('').reverse().join('')}`;
  await refused(tampered === url ? `${url}x` : tampered, 'Mallory', /^This invitation link is not valid/);
  await refused(`${spec.server.url}/guest`, null, /^This page opens from an invitation link/);
  await assertAxeClean(stranger.page, 'on the guest page without a link');

  // The agent can make a guest link too; without clipboard access the page says to copy it by hand.
  const call = callRegion(ws);
  await call.getByRole('button', { name: 'Invite guest', exact: true }).click();
  const agentLink = await call.getByRole('textbox', { name: 'Invitation link' }).inputValue();
  assert.match(agentLink, /\/guest#[\w.-]+$/, `the agent's guest link: ${agentLink}`);
  assert.notEqual(agentLink, url, 'each link is its own');
  const agentNote = await visibleText(call.getByRole('status').filter({ hasText: /valid for/ }));
  assert.match(agentNote, /valid for 15 minutes, for one person/, `the workspace says what the link is good for: ${agentNote}`);
  await call.getByRole('button', { name: 'Done', exact: true }).click();

  // The agent adds a colleague with "Add people"; she accepts in her own workspace.
  const second = await openWorkspace(ari);
  const ws2 = second.page;
  await setAvailable(ws2, true);
  await call.getByRole('button', { name: 'Add people', exact: true }).click();
  const addAri = call.getByRole('button', { name: `Add ${ari.name} to the call` });
  await waitFor(async () => addAri.isEnabled(), { what: 'the online colleague to be offered' });
  await addAri.click();
  await call.getByText(`${ari.name} was invited to the call.`).waitFor();
  const banner = ws2.getByRole('alertdialog', { name: `${petra.name} invites you to join the video call with ${visitorName}` });
  await banner.waitFor();
  await ws2.getByRole('heading', { name: `Chat with ${visitorName}` }).waitFor();
  await banner.getByRole('button', { name: 'Accept', exact: true }).click();

  // Four parties: every one receives media from every other.
  await provesMediaFrom(ws2, [petra.name, visitorName, GUEST_NAME], 'the added colleague').catch(async (error: Error) => {
    throw new Error(`${error.message}; the colleague's call panel: ${JSON.stringify(await visibleText(callRegion(ws2)))}, errors ${JSON.stringify(second.errors)}`);
  });
  await provesMediaFrom(ws, [visitorName, GUEST_NAME, ari.name], 'the agent');
  await provesMediaFrom(frame, [petra.name, GUEST_NAME, ari.name], 'the visitor');
  await provesMediaFrom(gp, [petra.name, visitorName, ari.name], 'the guest');
  assert.equal(await ws.locator('#call-stage').getAttribute('data-parley-layout'), 'grid', 'four people are drawn as a grid');
  await call.getByRole('button', { name: 'Add people', exact: true }).click(); // closes the list for the picture
  await call.getByRole('button', { name: 'Leave', exact: true }).waitFor();
  await call.getByRole('button', { name: 'End for all', exact: true }).waitFor();
  await viewportShot(ws, 'group-workspace');
  await viewportShot(shop, 'group-widget');
  await viewportShot(gp, 'guest-page-four');
  await assertAxeClean(ws, 'in the workspace during a group call');
  await assertAxeClean(ws2, "in the added colleague's workspace");

  // Four is all a peer-to-peer call carries: a fifth link is refused, and the widget says so.
  await widgetCall.getByRole('button', { name: 'Invite someone', exact: true }).click();
  await widgetCall.getByRole('alert').filter({ hasText: 'Could not make a link: this call is full' }).waitFor();

  // The agent takes the guest out: the guest's page says the call ended for it; the others go on.
  await call.getByRole('button', { name: `Remove ${GUEST_NAME} from the call` }).click();
  await gp.getByRole('heading', { name: 'The call has ended' }).waitFor();
  assert.match(await gp.locator('#ended-detail').innerText(), /removed you from the call|were removed from the call/);
  assert.equal(await gp.locator('#guest-call-media video').count(), 0, 'the guest page no longer draws the call');
  await assertAxeClean(gp, 'on the guest page after the call ended for it');
  await viewportShot(gp, 'guest-page-ended');
  await provesMediaFrom(ws, [visitorName, ari.name], 'the agent after the guest left');
  await provesMediaFrom(frame, [petra.name, ari.name], 'the visitor after the guest left');
  await provesMediaFrom(ws2, [petra.name, visitorName], 'the colleague after the guest left');

  const errors = [...agent.errors, ...second.errors, ...guest.errors].filter((e) => !/favicon/.test(e));
  assert.deepEqual(errors, [], 'no page errors in the workspaces or the guest page');
});
