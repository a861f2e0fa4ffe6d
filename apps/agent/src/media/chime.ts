/**
 * Short notification sounds made with WebAudio (no audio files to load). Browsers only let a page
 * play sound after the user interacted with it; before that, or without WebAudio, it stays silent.
 */
let context: AudioContext | null = null;

function audio(): AudioContext | null {
  if (typeof AudioContext === 'undefined') return null;
  try {
    context ??= new AudioContext();
    if (context.state === 'suspended') void context.resume().catch(() => undefined);
    return context;
  } catch {
    return null;
  }
}

/** Plays the given tones one after another: [frequency Hz, length s]. */
function play(tones: ReadonlyArray<readonly [number, number]>, volume: number): void {
  const ctx = audio();
  if (!ctx) return;
  let at = ctx.currentTime + 0.01;
  for (const [frequency, length] of tones) {
    const oscillator = ctx.createOscillator();
    const gain = ctx.createGain();
    oscillator.type = 'sine';
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(volume, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + length);
    oscillator.connect(gain).connect(ctx.destination);
    oscillator.start(at);
    oscillator.stop(at + length + 0.02);
    at += length;
  }
}

/** A soft two-note chime: a new message or a new visitor. */
export function playMessageChime(): void {
  play([[880, 0.12], [1320, 0.18]], 0.15);
}

/** A brighter three-note ring: the visitor asks for a call. */
export function playCallRing(): void {
  play([[660, 0.15], [880, 0.15], [660, 0.15], [880, 0.25]], 0.2);
}
