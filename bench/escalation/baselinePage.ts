/*
 * The bare WebRTC baseline, in the page (bundled for the browser with the media probe): camera and microphone
 * are opened once up front; each run makes one RTCPeerConnection per page and exchanges the offer, the answer
 * and the ICE candidates through `window.relayToPeer` — a Playwright binding that hands them to the other
 * page. No server, no state machine: the least any call can do.
 */

/** A signaling message between the two baseline pages. */
export type BaselineSignal = { description: RTCSessionDescriptionInit } | { candidate: RTCIceCandidateInit };

/** The baseline's API, at `window.baselineCall`. */
export interface BaselineCall {
  /** Opens camera and microphone (kept for every run). */
  open(): Promise<void>;
  /** The accepting side: marks `accept`, then offers. */
  start(): Promise<void>;
  receive(signal: BaselineSignal): Promise<void>;
  /** Closes this run's peer connection. */
  hangup(): void;
}

declare global {
  interface Window {
    baselineCall: BaselineCall;
    relayToPeer(signal: BaselineSignal): Promise<void>;
  }
}

let stream: MediaStream | null = null;
let pc: RTCPeerConnection | null = null;
let queue: Promise<void> = Promise.resolve();

function connection(): RTCPeerConnection {
  if (pc) return pc;
  const next = new RTCPeerConnection();
  next.onicecandidate = ({ candidate }) => {
    if (candidate) void window.relayToPeer({ candidate: candidate.toJSON() });
  };
  if (!stream) throw new Error('open() first');
  for (const track of stream.getTracks()) next.addTrack(track, stream);
  pc = next;
  return next;
}

async function apply(signal: BaselineSignal): Promise<void> {
  const peer = connection();
  if ('description' in signal) {
    await peer.setRemoteDescription(signal.description);
    if (signal.description.type === 'offer') {
      await peer.setLocalDescription();
      await window.relayToPeer({ description: { type: 'answer', sdp: peer.localDescription?.sdp ?? '' } });
    }
  } else {
    await peer.addIceCandidate(signal.candidate);
  }
}

window.baselineCall = {
  async open() {
    stream ??= await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: { ideal: 1280 }, height: { ideal: 720 } } });
  },
  async start() {
    window.parleyProbe.mark('accept');
    const peer = connection();
    await peer.setLocalDescription();
    await window.relayToPeer({ description: { type: 'offer', sdp: peer.localDescription?.sdp ?? '' } });
  },
  receive(signal) {
    // Applied strictly in arrival order, as a signaling channel would.
    queue = queue.then(() => apply(signal));
    return queue;
  },
  hangup() {
    pc?.close();
    pc = null;
    queue = Promise.resolve();
  },
};
