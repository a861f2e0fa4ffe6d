import type { CallStatsRow } from '../events.ts';

/** How often the audio levels are sampled. */
const SAMPLE_MS = 500;
/** Audio level (0..1) from which a participant counts as speaking. */
const SPEAKING_LEVEL = 0.02;
/** Samples in a row without anyone speaking before nobody is marked (about two seconds). */
const QUIET_SAMPLES = 4;

/** What a {@link SpeakerWatch} reads and whom it tells. */
export interface SpeakerWatchDeps {
  /** One stats row per remote participant (its `audioLevel` is what counts). */
  stats(): Promise<CallStatsRow[]>;
  /** False for a participant that muted itself: its level is not taken as speech. */
  sendsAudio(participantId: string): boolean;
  /** The loudest participant changed (null: nobody speaks). */
  onSpeaker(participantId: string | null): void;
}

/**
 * Who speaks in a group: samples every remote participant's audio level twice a second and marks the loudest
 * one. A speaker stays marked through short pauses; after about two seconds of quiet nobody is.
 */
export class SpeakerWatch {
  #timer: ReturnType<typeof setInterval> | null = null;
  #speaker: string | null = null;
  #quietSamples = 0;

  constructor(private readonly deps: SpeakerWatchDeps) {}

  /** Watches while `on` (a group of three or more); off marks nobody. */
  watch(on: boolean): void {
    if (on === (this.#timer !== null)) return;
    if (!on) {
      clearInterval(this.#timer!);
      this.#timer = null;
      this.#set(null);
      return;
    }
    this.#timer = setInterval(() => void this.sample(), SAMPLE_MS);
  }

  /** One sample (the timer's; exposed for tests). */
  async sample(): Promise<void> {
    const rows = await this.deps.stats().catch(() => []);
    if (this.#timer === null) return;
    let loudest: { id: string; level: number } | null = null;
    for (const row of rows) {
      const level = row.audioLevel ?? 0;
      if (level >= SPEAKING_LEVEL && this.deps.sendsAudio(row.participantId) && (!loudest || level > loudest.level)) loudest = { id: row.participantId, level };
    }
    if (loudest) {
      this.#quietSamples = 0;
      this.#set(loudest.id);
    } else if (++this.#quietSamples >= QUIET_SAMPLES) {
      this.#set(null);
    }
  }

  #set(id: string | null): void {
    if (id === this.#speaker) return;
    this.#speaker = id;
    this.deps.onSpeaker(id);
  }
}
