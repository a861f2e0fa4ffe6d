/*
 * Cameras, microphones and speakers: what there is (`Parley.listDevices()`), what this page chose
 * (`contact.setDevices()`, before or during a call) and how a choice is checked before anything changes.
 */
import { ParleyError } from '../errors.ts';
import type { MediaDeviceInfoLike, MediaHandler } from './MediaHandler.ts';

/** One camera, microphone or speaker. `label` is empty until the page was granted a device. */
export interface Device {
  id: string;
  label: string;
}

/** What `Parley.listDevices()` gives. */
export interface DeviceList {
  cameras: Device[];
  microphones: Device[];
  speakers: Device[];
}

/** Which device of each kind to use (`contact.setDevices`); a kind left out stays as it is. */
export interface DeviceChoice {
  camera?: string;
  microphone?: string;
  speaker?: string;
}

/** The devices in use (`contact.video.devices`): ids, null for the browser's default (nothing chosen, nothing open). */
export interface DevicesInUse {
  camera: string | null;
  microphone: string | null;
  speaker: string | null;
}

/** The three kinds, named as in {@link DeviceChoice}. */
export type DeviceKind = keyof DeviceChoice;

const LIST_OF: Record<DeviceKind, keyof DeviceList> = { camera: 'cameras', microphone: 'microphones', speaker: 'speakers' };
const KIND_OF: Record<MediaDeviceInfoLike['kind'], DeviceKind> = { videoinput: 'camera', audioinput: 'microphone', audiooutput: 'speaker' };

/** The track kind a capture device gives. */
export const trackKindOf = (kind: 'camera' | 'microphone'): 'audio' | 'video' => (kind === 'camera' ? 'video' : 'audio');

/** The devices there are, by kind, in the browser's order. */
export async function listDevices(media: MediaHandler): Promise<DeviceList> {
  const list: DeviceList = { cameras: [], microphones: [], speakers: [] };
  for (const info of await media.enumerateDevices()) {
    const kind = KIND_OF[info.kind];
    if (kind) list[LIST_OF[kind]].push({ id: info.deviceId, label: info.label });
  }
  return list;
}

/** The devices of `next` that `previous` did not have, with their kind. */
export function addedDevices(previous: DeviceList, next: DeviceList): Array<Device & { kind: DeviceKind }> {
  const added: Array<Device & { kind: DeviceKind }> = [];
  for (const kind of Object.keys(LIST_OF) as DeviceKind[]) {
    const known = new Set(previous[LIST_OF[kind]].map((d) => d.id));
    for (const device of next[LIST_OF[kind]]) if (!known.has(device.id)) added.push({ ...device, kind });
  }
  return added;
}

/**
 * Checks a choice against the devices there are, before anything changes.
 * @throws ParleyError `invalid_frame` (an id that is not a non-empty string, an unknown kind),
 *   `device_not_found` (no device of that kind with that id).
 */
export async function checkChoice(media: MediaHandler, choice: DeviceChoice): Promise<void> {
  if (typeof choice !== 'object' || choice === null) throw ParleyError.invalid('setDevices takes { camera?, microphone?, speaker? }');
  const entries = Object.entries(choice) as Array<[string, unknown]>;
  for (const [kind, id] of entries) {
    if (!(kind in LIST_OF)) throw ParleyError.invalid(`unknown device kind "${kind}" (camera, microphone or speaker)`);
    if (id !== undefined && (typeof id !== 'string' || id.length === 0)) throw ParleyError.invalid(`the ${kind} id must be a non-empty string`);
  }
  if (entries.every(([, id]) => id === undefined)) return;
  const list = await listDevices(media);
  for (const [kind, id] of entries) {
    if (id === undefined) continue;
    if (!list[LIST_OF[kind as DeviceKind]].some((d) => d.id === id)) throw ParleyError.deviceNotFound(`there is no ${kind} with the id "${String(id)}"`);
  }
}

/**
 * The devices chosen for one conversation's calls (null: the browser's default). Read whenever a device is
 * opened, so a choice made before the call is what the call opens.
 */
export class DeviceSelection {
  camera: string | null;
  microphone: string | null;
  speaker: string | null;

  constructor(initial: DeviceChoice = {}) {
    this.camera = initial.camera ?? null;
    this.microphone = initial.microphone ?? null;
    this.speaker = initial.speaker ?? null;
  }

  /** Takes the kinds `choice` names. */
  apply(choice: DeviceChoice): void {
    if (choice.camera !== undefined) this.camera = choice.camera;
    if (choice.microphone !== undefined) this.microphone = choice.microphone;
    if (choice.speaker !== undefined) this.speaker = choice.speaker;
  }

  /** The chosen id for a track kind, for `getUserMedia`. */
  idFor(kind: 'audio' | 'video'): string | undefined {
    return (kind === 'audio' ? this.microphone : this.camera) ?? undefined;
  }

  /** A copy. */
  snapshot(): DevicesInUse {
    return { camera: this.camera, microphone: this.microphone, speaker: this.speaker };
  }
}
