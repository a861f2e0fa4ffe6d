/*
 * The baseline of bench:quality's outages: a bare WebRTC call across the same veth, two pages that each open the
 * fake camera and microphone, one RTCPeerConnection apiece, one offer and one answer carried by this script (ICE
 * gathered in full first, so no trickle is needed), and no recovery code of any kind: only what the browser does by
 * itself when a link goes away and comes back. The pages carry the e2e probe, so they are measured like Parley's.
 */
import type { Browser } from 'playwright-core';
import { newParty, type Cleanup } from '../../e2e/support/harness.ts';
import { installInPageTools } from '../../e2e/support/media.ts';
import { timeToMediaBack, type CallEnd } from '../../e2e/support/mediaBack.ts';

declare global {
  interface Window {
    bareCall?: RTCPeerConnection;
  }
}

/** Opens one bare page on `origin` (treated as secure by the browser's flags), with the probe installed. */
async function openEnd(browser: Browser, origin: string, label: string, cleanup: Cleanup): Promise<CallEnd> {
  const party = await newParty(browser);
  cleanup.add(() => party.context.close());
  await installInPageTools(party.page);
  const response = await party.page.goto(`${origin}/healthz`);
  if (response?.status() !== 200) throw new Error(`GET ${origin}/healthz answered ${response?.status() ?? 'nothing'}`);
  await party.page.setContent('<!doctype html><title>bare call</title><video autoplay muted playsinline></video>');
  // Devices and the connection, then this end's description once ICE gathering is complete.
  await party.page.evaluate(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
    const pc = new RTCPeerConnection();
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    pc.ontrack = (e) => {
      const video = document.querySelector('video')!;
      video.srcObject = e.streams[0] ?? new MediaStream([e.track]);
    };
    window.bareCall = pc;
  });
  return { page: party.page, label };
}

/** This end's local description, `offer` or `answer` to `remote`, after ICE gathering completed. */
async function describe(end: CallEnd, remote: RTCSessionDescriptionInit | null): Promise<RTCSessionDescriptionInit> {
  return end.page.evaluate(async (remoteDescription) => {
    const pc = window.bareCall!;
    if (remoteDescription) await pc.setRemoteDescription(remoteDescription);
    await pc.setLocalDescription(remoteDescription ? await pc.createAnswer() : await pc.createOffer());
    if (pc.iceGatheringState !== 'complete') {
      await new Promise<void>((done) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && done()));
    }
    return pc.localDescription!.toJSON() as RTCSessionDescriptionInit;
  }, remote);
}

/** A bare call between a page in `here` and one in `behind`; resolves once media flows both ways. */
export async function openBareCall(browsers: { here: Browser; behind: Browser }, origin: string, cleanup: Cleanup): Promise<[CallEnd, CallEnd]> {
  const here = await openEnd(browsers.here, origin, 'bare here', cleanup);
  const behind = await openEnd(browsers.behind, origin, 'bare behind the link', cleanup);
  const offer = await describe(here, null);
  const answer = await describe(behind, offer);
  await here.page.evaluate((a) => window.bareCall!.setRemoteDescription(a), answer);
  // Flowing both ways, by the probe's counters: the same test as for media coming back after an outage.
  await timeToMediaBack([here, behind], Date.now(), 15_000);
  return [here, behind];
}
