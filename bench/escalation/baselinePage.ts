/*
 * The bare WebRTC baseline, in the page (bundled for the browser with the media probe): camera and microphone
 * are opened once up front, and so is a WebSocket to the bench's relay; each run makes one RTCPeerConnection per
 * page and exchanges the offer, the answer and the ICE candidates as JSON over that socket, which the relay
 * hands to the other page. No state machine, no server logic: the least any call can do.
 */

/** A signaling message between the two baseline pages. */
export type BaselineSignal = { description: RTCSessionDescriptionInit } | { candidate: RTCIceCandidateInit };

/** The baseline's API, at `window.baselineCall`. */
export interface BaselineCall {
  /** Opens camera and microphone and the socket to the relay at `relayUrl` (kept for every run). */
  open(relayUrl: string): Promise<void>;
  /** The accepting side: marks `accept`, then offers. */
  start(): Promise<void>;
  /** Closes this run's peer connection. */
  hangup(): void;
}

declare global {
  interface Window {
    baselineCall: BaselineCall;
  }
}

let stream: MediaStream | null = null;
let pc: RTCPeerConnection | null = null;
let socket: WebSocket | null = null;
let queue: Promise<void> = Promise.resolve();

function relayToPeer(signal: BaselineSignal): void {
  socket?.send(JSON.stringify(signal));
}

function connection(): RTCPeerConnection {
  if (pc) return pc;
  const next = new RTCPeerConnection();
  next.onicecandidate = ({ candidate }) => {
    if (candidate) relayToPeer({ candidate: candidate.toJSON() });
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
      relayToPeer({ description: { type: 'answer', sdp: peer.localDescription?.sdp ?? '' } });
    }
  } else {
    await peer.addIceCandidate(signal.candidate);
  }
}

window.baselineCall = {
  async open(relayUrl) {
    stream ??= await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: { ideal: 1280 }, height: { ideal: 720 } } });
    if (socket) return;
    const opened = new WebSocket(relayUrl);
    await new Promise((resolve, reject) => {
      opened.onopen = resolve;
      opened.onerror = () => reject(new Error(`the relay at ${relayUrl} could not be reached`));
    });
    // Applied strictly in arrival order, as a signaling channel would.
    opened.onmessage = ({ data }) => {
      const signal = JSON.parse(String(data)) as BaselineSignal;
      queue = queue.then(() => apply(signal)).catch((err: unknown) => console.error('baseline: a signal failed', err));
    };
    socket = opened;
  },
  async start() {
    window.parleyProbe.mark('accept');
    const peer = connection();
    await peer.setLocalDescription();
    relayToPeer({ description: { type: 'offer', sdp: peer.localDescription?.sdp ?? '' } });
  },
  hangup() {
    pc?.close();
    pc = null;
    queue = Promise.resolve();
  },
};
