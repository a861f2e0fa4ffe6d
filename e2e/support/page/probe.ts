/*
 * Media probe, bundled for the browser and installed as an init script (see e2e/support/media.ts): it runs before
 * any page script, so it sees every RTCPeerConnection, getUserMedia call and WebSocket frame the page makes,
 * whoever makes them (the Parley SDK or a bench page). It keeps a timeline of what happened when, on the
 * shared epoch clock (`performance.timeOrigin + performance.now()`), and samples inbound-rtp statistics.
 */

/** One timestamped step (epoch milliseconds, sub-millisecond precision). */
export interface TimelineEntry {
  at: number;
  what: string;
  detail?: string;
}

/** Inbound media received by this page, summed over every live peer connection. */
export interface InboundSample {
  /** Epoch ms when the sample was taken. */
  at: number;
  /** Peer connections that are not closed. */
  peerConnections: number;
  videoFramesDecoded: number;
  videoFrameWidth: number;
  audioPacketsReceived: number;
  /** Sum of `totalAudioEnergy` over inbound audio. */
  audioEnergy: number;
}

/** A remote `<video data-participant-id>` as rendered in a call div. */
export interface RenderedVideo {
  participantId: string;
  videoWidth: number;
  videoHeight: number;
  currentTime: number;
  readyState: number;
}

/** What the call div holds. */
export interface RenderedCall {
  /** The div exists. */
  present: boolean;
  /** Number of child elements (0 once everything the SDK added is gone). */
  children: number;
  remoteVideos: RenderedVideo[];
  /** Local preview `<video data-local>` elements. */
  localPreviews: number;
}

/** A shared screen as drawn in a call div: `<video data-screen>` (receivers) or `<video data-screen-preview>` (the sharer). */
export interface RenderedScreen {
  participantId: string;
  videoWidth: number;
  videoHeight: number;
  currentTime: number;
  /** Frames decoded by the receiver of the screen's own track (0 for the sharer's preview). */
  framesDecoded: number;
  /** The element's drawn area in CSS pixels, and the largest camera element's, to tell "large". */
  area: number;
  largestCameraArea: number;
}

/** What `stopAudioWatch` found: the longest time without a new inbound audio packet, over the watch. */
export interface AudioWatch {
  samples: number;
  /** Audio packets received over the watch. */
  packets: number;
  /** The longest interval (ms) between two samples that saw new packets (or from the last one to the end). */
  longestGapMs: number;
  /** When (epoch ms) that interval began. */
  longestGapFrom: number;
}

/** The probe's API, at `window.parleyProbe`. */
export interface MediaProbe {
  timeline: TimelineEntry[];
  mark(what: string, detail?: string): void;
  clearTimeline(): void;
  sample(): Promise<InboundSample>;
  rendered(divId: string): RenderedCall;
  /** The page's peer connections that are not closed, oldest first (for statistics a sample does not sum). */
  peerConnections(): RTCPeerConnection[];
  /** The shared screen drawn in the div (`preview`: this page's own), or null. */
  screen(divId: string, preview: boolean): Promise<RenderedScreen | null>;
  /** Samples inbound audio packets every `everyMs` until `stopAudioWatch`. */
  startAudioWatch(everyMs: number): void;
  stopAudioWatch(): Promise<AudioWatch>;
}

declare global {
  interface Window {
    parleyProbe: MediaProbe;
  }
}

const now = (): number => performance.timeOrigin + performance.now();
const timeline: TimelineEntry[] = [];
const peers = new Set<RTCPeerConnection>();

function mark(what: string, detail?: string): void {
  timeline.push(detail === undefined ? { at: now(), what } : { at: now(), what, detail });
}

/** Polls a video receiver until its first frame is decoded, then marks `frame:first` (and `rtp:first` at its first packet). */
function watchFirstFrame(pc: RTCPeerConnection, receiver: RTCRtpReceiver, id: number): void {
  const poll = async (): Promise<void> => {
    let packetSeen = false;
    while (pc.connectionState !== 'closed') {
      const report = await receiver.getStats().catch(() => null);
      let decoded = 0;
      let packets = 0;
      report?.forEach((s: { type: string; kind?: string; framesDecoded?: number; packetsReceived?: number }) => {
        if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
        decoded += s.framesDecoded ?? 0;
        packets += s.packetsReceived ?? 0;
      });
      if (packets > 0 && !packetSeen) {
        packetSeen = true;
        mark('rtp:first', `pc${id}`);
      }
      if (decoded > 0) {
        mark('frame:first', `pc${id}`);
        return;
      }
      await new Promise((done) => setTimeout(done, 4));
    }
  };
  void poll();
}

function installPeerConnection(): void {
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  let next = 0;
  class TrackedPeerConnection extends Native {
    constructor(config?: RTCConfiguration) {
      super(config);
      const id = ++next;
      peers.add(this);
      mark('pc:created', `pc${id}`);
      this.addEventListener('iceconnectionstatechange', () => mark(`ice:${this.iceConnectionState}`, `pc${id}`));
      this.addEventListener('connectionstatechange', () => {
        mark(`pc:${this.connectionState}`, `pc${id}`);
        if (this.connectionState === 'closed') peers.delete(this);
      });
      this.addEventListener('track', (e) => {
        mark(`track:${e.track.kind}`, `pc${id}`);
        if (e.track.kind === 'video') watchFirstFrame(this, e.receiver, id);
      });
    }
    override setLocalDescription(description?: RTCLocalSessionDescriptionInit): Promise<void> {
      mark('sdp:setLocal:start', description?.type ?? 'implicit');
      return super.setLocalDescription(description).then(() => mark('sdp:setLocal', this.localDescription?.type));
    }
    override setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
      mark('sdp:setRemote:start', description.type);
      return super.setRemoteDescription(description).then(() => mark('sdp:setRemote', description.type));
    }
    override close(): void {
      peers.delete(this);
      super.close();
    }
  }
  window.RTCPeerConnection = TrackedPeerConnection;
}

function installGetUserMedia(): void {
  const devices = navigator.mediaDevices;
  if (!devices?.getUserMedia) return;
  const native = devices.getUserMedia.bind(devices);
  devices.getUserMedia = (constraints?: MediaStreamConstraints) => {
    const wants = `audio=${Boolean(constraints?.audio)} video=${Boolean(constraints?.video)}`;
    mark('gum:start', wants);
    return native(constraints).then(
      (stream) => {
        mark('gum:end', wants);
        return stream;
      },
      (error: unknown) => {
        mark('gum:error', String(error));
        throw error;
      },
    );
  };
}

/** Names a call-related frame for the timeline, or null for frames the timeline does not need. */
function describeFrame(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  let frame: { type?: string; call?: { state?: string; callId?: string }; description?: { type?: string }; candidate?: unknown; data?: { call?: { state?: string } } };
  try {
    frame = JSON.parse(raw) as typeof frame;
  } catch {
    return null;
  }
  const type = frame.type ?? '?';
  if (type === 'call.updated') return `call.updated ${frame.call?.state ?? '?'} ${frame.call?.callId ?? ''}`;
  if (type === 'signal') return `signal ${frame.description ? frame.description.type : frame.candidate ? 'candidate' : 'end-of-candidates'}`;
  if (type.startsWith('call.')) return type;
  if (type === 'result' && frame.data?.call) return `result call ${frame.data.call.state ?? '?'}`;
  return null;
}

function installWebSocket(): void {
  const Native = window.WebSocket;
  class TrackedWebSocket extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener('open', () => mark('ws:open'));
      this.addEventListener('close', (e: CloseEvent) => mark('ws:close', String(e.code)));
      this.addEventListener('message', (e: MessageEvent) => {
        const what = describeFrame(e.data);
        if (what) mark(`ws:recv ${what}`, typeof e.data === 'string' ? e.data.slice(0, 2000) : undefined);
      });
    }
    override send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
      const what = describeFrame(data);
      if (what) mark(`ws:send ${what}`, typeof data === 'string' ? data.slice(0, 2000) : undefined);
      super.send(data);
    }
  }
  window.WebSocket = TrackedWebSocket;
}

async function sample(): Promise<InboundSample> {
  const result: InboundSample = {
    at: now(),
    peerConnections: 0,
    videoFramesDecoded: 0,
    videoFrameWidth: 0,
    audioPacketsReceived: 0,
    audioEnergy: 0,
  };
  for (const pc of peers) {
    if (pc.connectionState === 'closed') continue;
    result.peerConnections += 1;
    const report = await pc.getStats();
    report.forEach(
      (s: { type: string; kind?: string; framesDecoded?: number; frameWidth?: number; packetsReceived?: number; totalAudioEnergy?: number }) => {
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'video') {
          result.videoFramesDecoded += s.framesDecoded ?? 0;
          result.videoFrameWidth = Math.max(result.videoFrameWidth, s.frameWidth ?? 0);
        } else if (s.kind === 'audio') {
          result.audioPacketsReceived += s.packetsReceived ?? 0;
          result.audioEnergy += s.totalAudioEnergy ?? 0;
        }
      },
    );
  }
  return result;
}

function rendered(divId: string): RenderedCall {
  const div = document.getElementById(divId);
  if (!div) return { present: false, children: 0, remoteVideos: [], localPreviews: 0 };
  const remoteVideos = [...div.querySelectorAll<HTMLVideoElement>('video[data-participant-id]:not([data-local]):not([data-screen])')].map((v) => ({
    participantId: v.dataset.participantId ?? '',
    videoWidth: v.videoWidth,
    videoHeight: v.videoHeight,
    currentTime: v.currentTime,
    readyState: v.readyState,
  }));
  return { present: true, children: div.childElementCount, remoteVideos, localPreviews: div.querySelectorAll('video[data-local]').length };
}

const areaOf = (element: Element): number => {
  const rect = element.getBoundingClientRect();
  return Math.round(rect.width * rect.height);
};

async function screen(divId: string, preview: boolean): Promise<RenderedScreen | null> {
  const div = document.getElementById(divId);
  const video = div?.querySelector<HTMLVideoElement>(preview ? 'video[data-screen-preview]' : 'video[data-screen]');
  if (!div || !video) return null;
  const track = (video.srcObject as MediaStream | null)?.getVideoTracks()[0] ?? null;
  let framesDecoded = 0;
  for (const pc of peers) {
    if (pc.connectionState === 'closed') continue;
    for (const receiver of pc.getReceivers()) {
      if (!track || receiver.track !== track) continue;
      (await receiver.getStats()).forEach((s: { type: string; kind?: string; framesDecoded?: number }) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') framesDecoded += s.framesDecoded ?? 0;
      });
    }
  }
  const cameras = [...div.querySelectorAll('video.parley-video:not([data-screen]):not([data-screen-preview])')];
  return {
    participantId: video.dataset.participantId ?? '',
    videoWidth: video.videoWidth,
    videoHeight: video.videoHeight,
    currentTime: video.currentTime,
    framesDecoded,
    area: areaOf(video),
    largestCameraArea: Math.max(0, ...cameras.map(areaOf)),
  };
}

let audioWatch: { timer: ReturnType<typeof setTimeout> | null; running: Promise<void>; first: number | null; last: number; lastRiseAt: number; gap: number; gapFrom: number; samples: number } | null = null;

/** Inbound audio packets over every live connection, from the audio receivers' own statistics (quicker than the whole report). */
async function audioPackets(): Promise<{ at: number; packets: number }> {
  const receivers = [...peers].filter((pc) => pc.connectionState !== 'closed').flatMap((pc) => pc.getReceivers().filter((r) => r.track.kind === 'audio'));
  const reports = await Promise.all(receivers.map((r) => r.getStats().catch(() => null)));
  let packets = 0;
  for (const report of reports) {
    report?.forEach((s: { type: string; kind?: string; packetsReceived?: number }) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') packets += s.packetsReceived ?? 0;
    });
  }
  return { at: now(), packets };
}

/** Samples one after another (a sample waits for getStats), `everyMs` apart, noting when audio packets rose. */
function startAudioWatch(everyMs: number): void {
  const watch = { timer: null as ReturnType<typeof setTimeout> | null, running: Promise.resolve(), first: null as number | null, last: 0, lastRiseAt: now(), gap: 0, gapFrom: now(), samples: 0 };
  audioWatch = watch;
  const step = async (): Promise<void> => {
    const s = await audioPackets();
    watch.samples += 1;
    if (watch.first === null) watch.first = s.packets;
    if (s.packets > watch.last) {
      if (s.at - watch.lastRiseAt > watch.gap) [watch.gap, watch.gapFrom] = [s.at - watch.lastRiseAt, watch.lastRiseAt];
      watch.lastRiseAt = s.at;
      watch.last = s.packets;
    }
    if (audioWatch === watch) watch.timer = setTimeout(() => (watch.running = step()), everyMs);
  };
  watch.running = step();
}

async function stopAudioWatch(): Promise<AudioWatch> {
  const watch = audioWatch;
  if (!watch) throw new Error('no audio watch running');
  audioWatch = null;
  if (watch.timer) clearTimeout(watch.timer);
  await watch.running;
  const end = now();
  if (end - watch.lastRiseAt > watch.gap) [watch.gap, watch.gapFrom] = [end - watch.lastRiseAt, watch.lastRiseAt];
  return { samples: watch.samples, packets: watch.last - (watch.first ?? 0), longestGapMs: watch.gap, longestGapFrom: watch.gapFrom };
}

/** Installs the probe once per document. */
export function installProbe(): void {
  if (window.parleyProbe) return;
  installPeerConnection();
  installGetUserMedia();
  installWebSocket();
  window.parleyProbe = {
    timeline,
    mark,
    clearTimeline: () => void timeline.splice(0, timeline.length),
    sample,
    rendered,
    peerConnections: () => [...peers],
    screen,
    startAudioWatch,
    stopAudioWatch,
  };
}
