import { TypedEmitter } from '../TypedEmitter.ts';
import { BrowserMediaHandler } from './BrowserMediaHandler.ts';
import { DeviceSelection, listDevices, type DeviceChoice, type DeviceKind, type DeviceList } from './devices.ts';
import { LocalMedia, type MediaFailure } from './LocalMedia.ts';
import type { MediaHandler } from './MediaHandler.ts';

/** The words of a {@link DeviceCheck} (English by default). */
export interface DeviceCheckLabels {
  camera: string;
  microphone: string;
  speaker: string;
  preview: string;
  level: string;
  testSound: string;
  /** A device without a label yet (before permission), numbered. */
  unnamed: (kind: DeviceKind, n: number) => string;
}

const ENGLISH: DeviceCheckLabels = {
  camera: 'Camera',
  microphone: 'Microphone',
  speaker: 'Speaker',
  preview: 'Your camera preview',
  level: 'Microphone level',
  testSound: 'Play test sound',
  unnamed: (kind, n) => `${kind[0]!.toUpperCase()}${kind.slice(1)} ${n}`,
};

/** How a {@link DeviceCheck} is opened. */
export interface DeviceCheckOptions {
  /** Open the camera too (default true; false for a voice call: no preview, no camera picker). */
  video?: boolean;
  /** The devices to start with (e.g. the ones chosen last time). */
  initial?: DeviceChoice;
  labels?: Partial<DeviceCheckLabels>;
  /** The browser boundary (default: the real browser). */
  media?: MediaHandler;
}

/** The events of a {@link DeviceCheck}. */
export interface DeviceCheckEvents {
  /** A picker changed: the choice to hand to `contact.setDevices()`. */
  change: [choice: DeviceChoice];
  /** A device could not be opened (denied, missing, failed): show the page's help; the rest of the check goes on. */
  unavailable: [failure: Pick<MediaFailure, 'device' | 'code' | 'message'>];
}

/**
 * The pre-call check, drawn into an element: a live camera preview (`<video data-device-preview>`), a live
 * microphone level (`<meter>`, also as `data-level` on it), a test sound for the speaker, and a labelled
 * `<select>` per kind of device. Give `choice` to `contact.setDevices()` (or `CallOptions.devices`) before the
 * call, and `close()` the check (it holds the devices) before the call opens them.
 * @example
 * ```ts
 * const check = await Parley.DeviceCheck.open(document.getElementById('check')!);
 * joinButton.onclick = async () => {
 *   await contact.setDevices(check.choice);
 *   check.close();
 *   await contact.requestVideoUpgrade('video', true, true);
 * };
 * ```
 */
export class DeviceCheck extends TypedEmitter<DeviceCheckEvents> {
  readonly #root: HTMLElement;
  readonly #media: MediaHandler;
  readonly #labels: DeviceCheckLabels;
  readonly #selection: DeviceSelection;
  readonly #video: boolean;
  readonly #local: LocalMedia;
  #audio: AudioContext | null = null;
  #meterTimer: ReturnType<typeof setInterval> | null = null;
  readonly #pickers = new Map<DeviceKind, HTMLSelectElement>();
  readonly #preview: HTMLVideoElement;
  readonly #meter: HTMLMeterElement;
  #closed = false;
  /** The devices that could not be opened when the check opened (each also an `'unavailable'` event). */
  readonly failures: Array<DeviceCheckEvents['unavailable'][0]> = [];

  private constructor(element: HTMLElement, options: DeviceCheckOptions) {
    super();
    this.#media = options.media ?? new BrowserMediaHandler();
    this.#labels = { ...ENGLISH, ...options.labels };
    this.#selection = new DeviceSelection(options.initial);
    this.#video = options.video ?? true;
    this.#local = new LocalMedia(this.#media, this.#selection);
    const root = (this.#root = document.createElement('div'));
    root.className = 'parley-device-check';
    const preview = (this.#preview = document.createElement('video'));
    Object.assign(preview, { muted: true, autoplay: true, playsInline: true });
    preview.setAttribute('data-device-preview', '');
    preview.setAttribute('aria-label', this.#labels.preview);
    preview.hidden = !this.#video;
    root.append(preview);
    if (this.#video) root.append(this.#picker('camera'));
    root.append(this.#picker('microphone'));
    const meter = (this.#meter = document.createElement('meter'));
    Object.assign(meter, { min: 0, max: 1, value: 0, low: 0.05, high: 0.6 });
    meter.setAttribute('aria-label', this.#labels.level);
    meter.setAttribute('data-level', '0');
    root.append(meter);
    const speakerRow = this.#picker('speaker');
    speakerRow.hidden = typeof (preview as { setSinkId?: unknown }).setSinkId !== 'function';
    root.append(speakerRow);
    const test = document.createElement('button');
    test.type = 'button';
    test.textContent = this.#labels.testSound;
    test.addEventListener('click', () => void this.playTestSound());
    root.append(test);
    element.append(root);
  }

  /** Draws the check into `element` and opens the devices. Never rejects: a device that fails is in `failures`. */
  static async open(element: HTMLElement, options: DeviceCheckOptions = {}): Promise<DeviceCheck> {
    const check = new DeviceCheck(element, options);
    await check.#start();
    return check;
  }

  /** The devices picked (ids of the devices open now). */
  get choice(): DeviceChoice {
    const choice: DeviceChoice = {};
    for (const [kind, select] of this.#pickers) if (select.value && !(kind === 'camera' && !this.#video)) choice[kind] = select.value;
    return choice;
  }

  /** Plays a short tone on the chosen speaker. */
  async playTestSound(): Promise<void> {
    const context = this.#context();
    if (!context) return;
    const tone = context.createOscillator();
    const gain = context.createGain();
    gain.gain.value = 0.2;
    const out = context.createMediaStreamDestination();
    tone.frequency.value = 660;
    tone.connect(gain).connect(out);
    const player = new Audio() as HTMLAudioElement & { setSinkId?(id: string): Promise<void> };
    player.srcObject = out.stream;
    player.setAttribute('data-test-sound', '');
    const speaker = this.#pickers.get('speaker')?.value;
    if (speaker && player.setSinkId) await player.setSinkId(speaker).catch(() => {});
    tone.start();
    await player.play().catch(() => {});
    tone.stop(context.currentTime + 0.6);
    tone.onended = () => {
      player.srcObject = null;
    };
  }

  /** Releases the devices and removes what was drawn. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#meterTimer) clearInterval(this.#meterTimer);
    void this.#audio?.close().catch(() => {});
    this.#local.release();
    this.#preview.srcObject = null;
    this.#root.remove();
  }

  async #start(): Promise<void> {
    const outcome = await this.#local.acquire({ audio: true, video: this.#video });
    if (this.#closed) return this.#local.release();
    for (const { device, code, message } of outcome.failures) {
      this.failures.push({ device, code, message });
      this.emit('unavailable', { device, code, message });
    }
    this.#preview.srcObject = this.#local.stream as unknown as MediaStream;
    void this.#preview.play()?.catch(() => {});
    this.#listen();
    await this.#fill();
  }

  /** Fills the pickers (labels are there now that a device was granted) with the open devices selected. */
  async #fill(): Promise<void> {
    const list: DeviceList = await listDevices(this.#media).catch(() => ({ cameras: [], microphones: [], speakers: [] }));
    const open = { camera: this.#local.track('video')?.getSettings().deviceId, microphone: this.#local.track('audio')?.getSettings().deviceId, speaker: this.#selection.speaker };
    const lists: Record<DeviceKind, DeviceList[keyof DeviceList]> = { camera: list.cameras, microphone: list.microphones, speaker: list.speakers };
    for (const [kind, select] of this.#pickers) {
      select.replaceChildren(...lists[kind].map((d, i) => new Option(d.label || this.#labels.unnamed(kind, i + 1), d.id)));
      const current = open[kind];
      if (current && lists[kind].some((d) => d.id === current)) select.value = current;
      select.disabled = lists[kind].length === 0;
    }
  }

  /** A labelled picker for one kind; choosing reopens that device. */
  #picker(kind: DeviceKind): HTMLLabelElement {
    const label = document.createElement('label');
    label.className = 'parley-device-picker';
    const select = document.createElement('select');
    select.name = kind;
    label.append(this.#labels[kind], select);
    select.addEventListener('change', () => void this.#picked(kind, select.value));
    this.#pickers.set(kind, select);
    return label;
  }

  async #picked(kind: DeviceKind, id: string): Promise<void> {
    this.#selection.apply({ [kind]: id });
    if (kind !== 'speaker') {
      const trackKind = kind === 'camera' ? 'video' : 'audio';
      try {
        this.#local.adopt(await this.#local.openDevice(trackKind, id));
        this.#listen();
      } catch {
        this.emit('unavailable', { device: trackKind, code: 'media-failed', message: `${kind}: it could not be started` });
      }
    }
    this.emit('change', this.choice);
  }

  /** Feeds the level meter from the microphone now open. */
  #listen(): void {
    if (this.#meterTimer) clearInterval(this.#meterTimer);
    const track = this.#local.track('audio');
    const context = this.#context();
    if (!track || !context) return;
    const source = context.createMediaStreamSource(new MediaStream([track as unknown as MediaStreamTrack]));
    const analyser = context.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    this.#meterTimer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let peak = 0;
      for (const v of samples) peak = Math.max(peak, Math.abs(v));
      this.#meter.value = peak;
      this.#meter.setAttribute('data-level', peak.toFixed(3));
    }, 100);
  }

  #context(): AudioContext | null {
    if (typeof AudioContext === 'undefined') return null;
    this.#audio ??= new AudioContext();
    void this.#audio.resume().catch(() => {});
    return this.#audio;
  }
}
