/*
 * Getting the visitor's attention while the tab is hidden: a short two-tone sound made with WebAudio
 * (no audio file) and a browser notification when the site already has the permission.
 */

/** Plays a short two-tone chime. Silently does nothing where audio cannot start. */
export function chime(): void {
  try {
    const Ctx = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (!Ctx) return;
    const ctx = new Ctx();
    const start = ctx.currentTime + 0.02;
    [880, 660].forEach((frequency, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      const at = start + i * 0.18;
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.16);
      osc.connect(gain).connect(ctx.destination);
      osc.start(at);
      osc.stop(at + 0.17);
      if (i === 1) osc.onended = () => void ctx.close();
    });
  } catch {
    // no audio here: the notification and the open panel still tell
  }
}

/** Shows a notification when permitted; clicking it focuses the tab and calls `onClick`. */
export function notify(title: string, body: string, onClick: () => void): void {
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  try {
    const note = new Notification(title, { body, tag: 'parley-widget' });
    note.onclick = () => {
      window.focus();
      onClick();
      note.close();
    };
  } catch {
    // some browsers only allow notifications from a service worker
  }
}

/** Asks for the notification permission once (must run inside a click). */
export function askNotificationPermission(): void {
  if (typeof Notification === 'undefined' || Notification.permission !== 'default') return;
  Notification.requestPermission().catch(() => {});
}
