import { ParleyError } from '../errors.ts';
import type { CallView, MediaStreamLike } from './MediaHandler.ts';
import type { ConnectionQuality } from './quality/linkQuality.ts';

/** The signal icon of each level (bars), and its words for screen readers. */
const QUALITY_ICON: Record<ConnectionQuality, { bars: string; words: string }> = {
  good: { bars: '▂▄▆', words: 'Connection good' },
  fair: { bars: '▂▄', words: 'Connection fair' },
  poor: { bars: '▂', words: 'Connection poor' },
  lost: { bars: '✕', words: 'Connection lost' },
};

/** The part of a DOM element the view uses. */
export interface ElementLike {
  textContent: string | null;
  readonly style: { setProperty(name: string, value: string): void; removeProperty(name: string): string };
  setAttribute(name: string, value: string): void;
  removeAttribute(name: string): void;
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
  /** Chooses the audio output (absent in browsers that cannot). */
  setSinkId?(deviceId: string): Promise<void>;
}

/** The part of `document` the view uses. */
export interface DocumentLike {
  readonly body: ElementLike | null;
  getElementById(id: string): ElementLike | null;
  createElement(tag: 'div'): ElementLike;
  createElement(tag: 'video'): VideoElementLike;
}

interface Tile {
  /** The participant's cell: its video, its tile and its name. */
  cell: ElementLike;
  video: VideoElementLike;
  tile: ElementLike;
  label: ElementLike;
  /** The signal icon, once the link's quality is known. */
  quality?: ElementLike;
  /** "Video paused: weak connection", while the audio fallback holds the participant's video back. */
  paused?: ElementLike;
  /** The "Reconnecting…" line, while the link to the participant is being restored. */
  reconnecting?: ElementLike;
}

/** From this many people on, the call is drawn as a grid of equal cells with names. */
const GRID_FROM = 3;

/**
 * Draws a call into `document.getElementById(divID)`: one `<video data-participant-id>` per remote
 * participant (it plays the audio too), a muted, mirrored local preview `<video data-local>`, and a
 * named tile (`data-tile`, the participant's name as text) in place of any video that is off.
 * Each participant's elements sit in a cell (`.parley-cell`, `data-cell` = its id or `local`).
 * Two people: the cells take no box of their own (`display: contents`), so the page lays the remote video
 * and the preview out as it likes. Three or more: the div becomes a grid that adapts to the count
 * (`data-parley-layout="grid"`, `data-parley-count`), each cell shows its participant's name
 * (`.parley-name`), and the active speaker's cell carries `data-speaking`.
 * A shared screen is one more cell (`.parley-screen-cell`, `data-cell` = `screen:` and the sharer's id) with a
 * `<video data-participant-id data-screen>` (class `parley-screen`), drawn large: the div carries
 * `data-parley-screen` (the sharer's id) so the page's CSS puts it first and keeps the camera tiles small, and in
 * a grid it spans the whole first row. The sharer itself sees a small muted preview `<video data-screen-preview>`
 * labelled "You are sharing your screen" (the div carries `data-parley-sharing`).
 * When the element is missing, a hidden container on `<body>` still plays the sound.
 * `clear()` removes everything it added, its styles on the div included. Elements carry the classes
 * `parley-video`, `parley-local`, `parley-tile`, `parley-cell` and `parley-name` for styling.
 */
export class DomCallView implements CallView {
  private container: ElementLike | null = null;
  private ownContainer = false;
  private readonly remotes = new Map<string, Tile>();
  /** Shared screens by sharer id (`local` for this page's own preview). */
  private readonly screens = new Map<string, Tile>();
  private local: Tile | null = null;
  private speaking: string | null = null;
  private gridColumns = 0;
  /** The chosen audio output, for elements made later. */
  private speaker: string | null = null;

  constructor(
    private readonly doc: DocumentLike,
    private readonly divID: string | null,
  ) {}

  /** Draws (or updates) the muted local preview, `data-local`; a named tile when there is no video. */
  showLocal(stream: MediaStreamLike | null, name: string, hasVideo: boolean): void {
    if (!this.local) {
      this.local = this.makeCell('local', name);
      const { video, tile } = this.local;
      video.setAttribute('data-local', '');
      video.setAttribute('class', 'parley-video parley-local');
      video.style.setProperty('transform', 'scaleX(-1)');
      tile.setAttribute('data-local', '');
      this.layout();
    }
    this.local.video.muted = true;
    this.update(this.local, stream, name, hasVideo);
  }

  /** Draws (or updates) one remote participant, `data-participant-id`; a named tile when it sends no video. */
  showRemote(participantId: string, name: string, stream: MediaStreamLike | null, hasVideo: boolean): void {
    let entry = this.remotes.get(participantId);
    if (!entry) {
      entry = this.makeCell(participantId, name);
      entry.video.setAttribute('data-participant-id', participantId);
      entry.video.setAttribute('class', 'parley-video');
      entry.tile.setAttribute('data-participant-id', participantId);
      this.remotes.set(participantId, entry);
      if (this.speaker) entry.video.setSinkId?.(this.speaker).catch((err: unknown) => console.warn('Parley: the speaker could not be set', err));
      this.layout();
    }
    this.update(entry, stream, name, hasVideo);
  }

  /** Draws a remote participant's shared screen large (`data-participant-id` and `data-screen`), or removes it (null). */
  showScreen(participantId: string, name: string, stream: MediaStreamLike | null): void {
    this.drawScreen(participantId, `${name}'s screen`, stream);
  }

  /** Draws this page's own shared screen as a small preview (`data-screen-preview`), or removes it (null). */
  showLocalScreen(stream: MediaStreamLike | null): void {
    this.drawScreen('local', 'You are sharing your screen', stream);
  }

  private drawScreen(id: string, label: string, stream: MediaStreamLike | null): void {
    let entry = this.screens.get(id);
    if (!stream || stream.getVideoTracks().length === 0) {
      if (!entry) return;
      this.screens.delete(id);
      detach(entry);
      this.layout();
      return;
    }
    if (!entry) {
      entry = this.makeCell(`screen:${id}`, label);
      entry.cell.setAttribute('class', 'parley-cell parley-screen-cell');
      // A screen never shows a named tile: the tile stays empty and hidden, out of the accessibility tree.
      entry.tile.style.setProperty('display', 'none');
      entry.tile.removeAttribute('role');
      entry.tile.removeAttribute('aria-label');
      entry.tile.textContent = '';
      const { video } = entry;
      if (id === 'local') {
        video.setAttribute('data-screen-preview', '');
        video.setAttribute('class', 'parley-video parley-screen-preview');
        entry.label.setAttribute('class', 'parley-name parley-sharing');
        entry.label.removeAttribute('aria-hidden');
        entry.label.setAttribute('role', 'status');
      } else {
        video.setAttribute('data-participant-id', id);
        video.setAttribute('data-screen', '');
        video.setAttribute('class', 'parley-video parley-screen');
      }
      video.setAttribute('aria-label', label);
      this.screens.set(id, entry);
      this.layout();
    }
    entry.video.muted = true; // a screen carries no sound: the participant's camera element plays its audio
    if (entry.video.srcObject !== stream) {
      entry.video.srcObject = stream;
      playQuietly(entry.video);
    }
  }

  /** Removes what was drawn for a participant that left (its screen too). */
  removeRemote(participantId: string): void {
    this.showScreen(participantId, '', null);
    const entry = this.remotes.get(participantId);
    if (!entry) return;
    this.remotes.delete(participantId);
    detach(entry);
    if (this.speaking === participantId) this.speaking = null;
    this.layout();
  }

  /** Marks the participant heard loudest now (`local` for this page), or nobody. */
  setActiveSpeaker(participantId: string | null): void {
    if (participantId === this.speaking) return;
    this.cellOf(this.speaking)?.cell.removeAttribute('data-speaking');
    this.speaking = participantId;
    this.cellOf(participantId)?.cell.setAttribute('data-speaking', '');
  }

  /**
   * Shows the quality of a participant's link (`local`: this page's sending) as a signal icon in its cell,
   * `.parley-quality` with `data-quality` and a text label for screen readers.
   */
  setQuality(participantId: string, quality: ConnectionQuality): void {
    const entry = this.cellOf(participantId);
    if (!entry) return;
    if (!entry.quality) {
      entry.quality = this.doc.createElement('div');
      entry.quality.setAttribute('class', 'parley-quality');
      entry.quality.setAttribute('role', 'img');
      entry.cell.appendChild(entry.quality);
    }
    const icon = QUALITY_ICON[quality];
    entry.quality.setAttribute('data-quality', quality);
    entry.quality.setAttribute('aria-label', icon.words);
    entry.quality.setAttribute('title', icon.words);
    entry.quality.textContent = icon.bars;
  }

  /**
   * Marks a remote participant's cell while its link is being restored: `data-reconnecting` on the cell and a
   * `.parley-reconnecting` line saying "Reconnecting…" (a polite live region, so screen readers announce it).
   */
  setReconnecting(participantId: string, reconnecting: boolean): void {
    const entry = this.cellOf(participantId);
    if (!entry) return;
    if (!reconnecting) {
      entry.cell.removeAttribute('data-reconnecting');
      entry.reconnecting?.remove();
      delete entry.reconnecting;
      return;
    }
    entry.cell.setAttribute('data-reconnecting', '');
    if (entry.reconnecting) return;
    const line = this.doc.createElement('div');
    line.setAttribute('class', 'parley-reconnecting');
    line.setAttribute('role', 'status');
    line.setAttribute('aria-live', 'polite');
    line.textContent = 'Reconnecting…';
    entry.cell.appendChild(line);
    entry.reconnecting = line;
  }

  /** Plays the remote participants' sound on `deviceId` (`setSinkId`). @throws ParleyError `not_supported`. */
  async setSpeaker(deviceId: string): Promise<void> {
    if (typeof this.doc.createElement('video').setSinkId !== 'function') throw ParleyError.notSupported('this browser cannot choose the speaker');
    this.speaker = deviceId;
    await Promise.all([...this.remotes.values()].map(({ video }) => video.setSinkId?.(deviceId)));
  }

  /**
   * Notes on a participant's cell that its video is paused because its connection is weak (`.parley-paused`,
   * `data-paused` on the cell, a status the screen reader reads); its name tile shows meanwhile.
   */
  setPaused(participantId: string, paused: boolean): void {
    const entry = this.remotes.get(participantId);
    if (!entry || paused === (entry.paused !== undefined)) return;
    if (!paused) {
      entry.paused?.remove();
      delete entry.paused;
      entry.cell.removeAttribute('data-paused');
      return;
    }
    const note = this.doc.createElement('div');
    note.setAttribute('class', 'parley-paused');
    note.setAttribute('role', 'status');
    note.textContent = 'Video paused: weak connection';
    entry.cell.setAttribute('data-paused', 'network');
    entry.cell.appendChild(note);
    entry.paused = note;
  }

  /** Removes everything this view added to the page. */
  clear(): void {
    for (const entry of [...this.remotes.values(), ...this.screens.values()]) detach(entry);
    this.remotes.clear();
    this.screens.clear();
    if (this.local) detach(this.local);
    this.local = null;
    this.speaking = null;
    this.layout();
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
    entry.label.textContent = name;
    if (showVideo) tile.style.setProperty('display', 'none');
    else tile.style.removeProperty('display');
  }

  private cellOf(id: string | null): Tile | null {
    if (id === null) return null;
    return id === 'local' ? this.local : (this.remotes.get(id) ?? null);
  }

  /** A participant's cell with its video, tile and name label, appended to the div. */
  private makeCell(id: string, name: string): Tile {
    const cell = this.doc.createElement('div');
    cell.setAttribute('class', 'parley-cell');
    cell.setAttribute('data-cell', id);
    const video = this.doc.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.setAttribute('autoplay', '');
    video.setAttribute('playsinline', '');
    const tile = this.doc.createElement('div');
    tile.setAttribute('class', 'parley-tile');
    tile.setAttribute('data-tile', '');
    tile.setAttribute('role', 'img');
    tile.setAttribute('aria-label', name);
    tile.textContent = name;
    const label = this.doc.createElement('div');
    label.setAttribute('class', 'parley-name');
    label.setAttribute('aria-hidden', 'true');
    label.textContent = name;
    cell.appendChild(video);
    cell.appendChild(tile);
    cell.appendChild(label);
    this.target().appendChild(cell);
    return { cell, video, tile, label };
  }

  /** Pair layout (the page's own CSS) up to two people; a grid of named cells from three on. */
  private layout(): void {
    const container = this.container;
    if (!container) return;
    const count = this.remotes.size + (this.local ? 1 : 0);
    const grid = count >= GRID_FROM && !this.ownContainer;
    const columns = grid ? Math.ceil(Math.sqrt(count)) : 0;
    const cells = [...(this.local ? [this.local] : []), ...this.remotes.values()];
    for (const { cell, label } of [...cells, ...this.screens.values()]) {
      if (grid) {
        cell.style.setProperty('display', 'block');
        cell.style.setProperty('position', 'relative');
        cell.style.setProperty('min-height', '0');
        label.style.removeProperty('display');
      } else {
        cell.style.setProperty('display', 'contents');
        cell.style.removeProperty('position');
        label.style.setProperty('display', 'none');
      }
    }
    for (const [id, { cell, label }] of this.screens) {
      // Large: first, across the whole grid; the sharer's own preview stays a small cell like the others.
      if (grid && id !== 'local') {
        cell.style.setProperty('grid-column', '1 / -1');
        cell.style.setProperty('grid-row', 'span 2');
        cell.style.setProperty('order', '-1');
      } else {
        for (const property of ['grid-column', 'grid-row', 'order']) cell.style.removeProperty(property);
      }
      if (id === 'local') label.style.removeProperty('display'); // "You are sharing your screen" is always said
    }
    const sharer = [...this.screens.keys()].find((id) => id !== 'local');
    if (sharer === undefined) container.removeAttribute('data-parley-screen');
    else container.setAttribute('data-parley-screen', sharer);
    if (this.screens.has('local')) container.setAttribute('data-parley-sharing', '');
    else container.removeAttribute('data-parley-sharing');
    if (count === 0) container.removeAttribute('data-parley-count');
    else container.setAttribute('data-parley-count', String(count));
    if (columns === this.gridColumns) return;
    this.gridColumns = columns;
    if (grid) {
      container.setAttribute('data-parley-layout', 'grid');
      container.style.setProperty('display', 'grid');
      container.style.setProperty('grid-template-columns', `repeat(${columns}, minmax(0, 1fr))`);
      container.style.setProperty('grid-auto-rows', 'minmax(0, 1fr)');
      container.style.setProperty('gap', '4px');
    } else {
      container.removeAttribute('data-parley-layout');
      for (const property of ['display', 'grid-template-columns', 'grid-auto-rows', 'gap']) container.style.removeProperty(property);
      if (this.ownContainer) container.style.setProperty('display', 'none');
    }
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
  entry.cell.remove();
}

function playQuietly(video: VideoElementLike): void {
  try {
    const played = video.play();
    if (played && typeof played.catch === 'function') played.catch(() => {});
  } catch {
    // autoplay refused: the element starts on the next user gesture
  }
}
