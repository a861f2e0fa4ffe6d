import { parseCalls, parseColor } from '../channel.ts';

/** How the host page configured the widget, from the data attributes of its script tag. */
export interface LoaderConfig {
  /** The Parley server's origin: where widget.js came from, and the only origin the frame may have. */
  parleyOrigin: string;
  /** Accent colour (hex), `data-color`. */
  color: string;
  /** Corner, `data-position`: "right" (default) or "left". */
  position: 'left' | 'right';
  /** First words in an empty chat, `data-greeting`. */
  greeting: string | null;
  /** Call buttons to offer, `data-calls="video,voice"` (default both; "none" for none). */
  calls: Array<'video' | 'voice'>;
  /** `data-notifications="ask"`: ask for notification permission on the first launcher click. */
  askNotifications: boolean;
}

/** The default accent colour. */
export const DEFAULT_COLOR = '#1f5fbf';

/** The script element that loaded the widget (async scripts still have `document.currentScript` while they run). */
export function findOwnScript(doc: Document): HTMLScriptElement | null {
  const current = doc.currentScript;
  if (current instanceof HTMLScriptElement && current.src) return current;
  const all = doc.querySelectorAll<HTMLScriptElement>('script[src]');
  for (let i = all.length - 1; i >= 0; i--) {
    const script = all[i]!;
    if (/\/widget\.js(\?|#|$)/.test(script.src)) return script;
  }
  return null;
}

/** Reads the configuration from the script tag. */
export function readConfig(script: HTMLScriptElement): LoaderConfig {
  const data = script.dataset;
  return {
    parleyOrigin: new URL(script.src, location.href).origin,
    color: parseColor(data['color']) ?? DEFAULT_COLOR,
    position: data['position'] === 'left' ? 'left' : 'right',
    greeting: data['greeting']?.trim() || null,
    calls: parseCalls(data['calls']),
    askNotifications: data['notifications'] === 'ask',
  };
}
