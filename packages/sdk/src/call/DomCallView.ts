import type { CallView, MediaStreamLike } from './MediaHandler.ts';

/** The part of a DOM element the view uses. */
export interface ElementLike {
  textContent: string | null;
  readonly style: { setProperty(name: string, value: string): void; removeProperty(name: string): string };
  setAttribute(name: string, value: string): void;
  appendChild(child: ElementLike): unknown;
  remove(): void;
}

/** The part of a `<video>` element the view uses. */
export interface VideoElementLike extends ElementLike {
  srcObject: unknown;
  muted: boolean;
  autoplay: boolean;
  playsInline: boolean;
  play(): Promise<void> | void;
}

/** The part of `document` the view uses. */
export interface DocumentLike {
  readonly body: ElementLike | null;
  getElementById(id: string): ElementLike | null;
  createElement(tag: 'div'): ElementLike;
  createElement(tag: 'video'): VideoElementLike;
}

interface Tile {
  video: VideoElementLike;
  tile: ElementLike;
}

/**
 * Draws a call into `document.getElementById(divID)`: one `<video data-participant-id>` per remote
 * participant (it plays the audio too), a muted, mirrored local preview `<video data-local>`, and a
 * named tile (`data-tile`, the participant's name as text) in place of any video that is off.
 * When the element is missing, a hidden container on `<body>` still plays the sound.
 * `clear()` removes everything it added. Elements carry the classes `parley-video`, `parley-local`
 * and `parley-tile` for styling.
 */
export class DomCallView implements CallView {
  private container: ElementLike | null = null;
  private ownContainer = false;
  private readonly remotes = new Map<string, Tile>();
  private local: Tile | null = null;

  constructor(
    private readonly doc: DocumentLike,
    private readonly divID: string | null,
  ) {}

  showLocal(stream: MediaStreamLike | null, name: string, hasVideo: boolean): void {
    if (!this.local) {
      const video = this.doc.createElement('video');
      video.setAttribute('data-local', '');
      video.setAttribute('class', 'parley-video parley-local');
      video.style.setProperty('transform', 'scaleX(-1)');
      const tile = this.makeTile(name);
      tile.setAttribute('data-local', '');
      this.local = { video, tile };
      this.append(video);
      this.append(tile);
    }
    this.local.video.muted = true;
    this.update(this.local, stream, name, hasVideo);
  }

  showRemote(participantId: string, name: string, stream: MediaStreamLike | null, hasVideo: boolean): void {
    let entry = this.remotes.get(participantId);
    if (!entry) {
      const video = this.doc.createElement('video');
      video.setAttribute('data-participant-id', participantId);
      video.setAttribute('class', 'parley-video');
      const tile = this.makeTile(name);
      tile.setAttribute('data-participant-id', participantId);
      entry = { video, tile };
      this.remotes.set(participantId, entry);
      this.append(video);
      this.append(tile);
    }
    this.update(entry, stream, name, hasVideo);
  }

  removeRemote(participantId: string): void {
    const entry = this.remotes.get(participantId);
    if (!entry) return;
    this.remotes.delete(participantId);
    detach(entry);
  }

  clear(): void {
    for (const entry of this.remotes.values()) detach(entry);
    this.remotes.clear();
    if (this.local) detach(this.local);
    this.local = null;
    if (this.ownContainer) this.container?.remove();
    this.container = null;
    this.ownContainer = false;
  }

  private update(entry: Tile, stream: MediaStreamLike | null, name: string, hasVideo: boolean): void {
    const { video, tile } = entry;
    if (video.srcObject !== stream) {
      video.srcObject = stream;
      if (stream) playQuietly(video);
    }
    const showVideo = hasVideo && stream !== null && stream.getVideoTracks().length > 0;
    if (showVideo) video.style.removeProperty('display');
    else video.style.setProperty('display', 'none');
    tile.textContent = name;
    if (showVideo) tile.style.setProperty('display', 'none');
    else tile.style.removeProperty('display');
  }

  private makeTile(name: string): ElementLike {
    const tile = this.doc.createElement('div');
    tile.setAttribute('class', 'parley-tile');
    tile.setAttribute('data-tile', '');
    tile.setAttribute('role', 'img');
    tile.setAttribute('aria-label', name);
    tile.textContent = name;
    return tile;
  }

  private append(element: ElementLike): void {
    if (element !== null && 'autoplay' in element) {
      const video = element as VideoElementLike;
      video.autoplay = true;
      video.playsInline = true;
      video.setAttribute('autoplay', '');
      video.setAttribute('playsinline', '');
    }
    this.target().appendChild(element);
  }

  private target(): ElementLike {
    if (this.container) return this.container;
    const found = this.divID ? this.doc.getElementById(this.divID) : null;
    if (found) {
      this.container = found;
      return found;
    }
    const hidden = this.doc.createElement('div');
    hidden.setAttribute('data-parley-call', '');
    hidden.style.setProperty('display', 'none');
    if (this.divID) console.warn(`Parley: no element #${this.divID}; the call plays without video`);
    this.doc.body?.appendChild(hidden);
    this.container = hidden;
    this.ownContainer = true;
    return hidden;
  }
}

function detach(entry: Tile): void {
  entry.video.srcObject = null;
  entry.video.remove();
  entry.tile.remove();
}

function playQuietly(video: VideoElementLike): void {
  try {
    const played = video.play();
    if (played && typeof played.catch === 'function') played.catch(() => {});
  } catch {
    // autoplay refused: the element starts on the next user gesture
  }
}
