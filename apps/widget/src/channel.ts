/*
 * The typed message channel between the loader (on the host page) and the chat app (in the iframe on
 * the Parley origin). Both sides pin the target origin when posting and check `event.origin` and
 * `event.source` when receiving; nothing else is trusted. No chat content crosses this channel: only
 * "show me", "hide me", "the visitor has a conversation" and a short alert for a hidden tab.
 */

/** Marks our messages among whatever else the page posts. */
export const CHANNEL_TAG = 'parley-widget';

/** Messages from the loader to the frame. */
export type HostToFrame =
  /** The panel was shown or hidden by the launcher. */
  { tag: typeof CHANNEL_TAG; type: 'visibility'; open: boolean };

/** Messages from the frame to the loader. */
export type FrameToHost =
  /** The frame's script runs (the host origin is allowed to embed it). */
  | { tag: typeof CHANNEL_TAG; type: 'ready' }
  /** Show the panel (an invitation arrived); `focus` moves keyboard focus into it. */
  | { tag: typeof CHANNEL_TAG; type: 'open'; focus: boolean }
  /** Hide the panel (the visitor minimized it inside the frame). */
  | { tag: typeof CHANNEL_TAG; type: 'close' }
  /** Whether the visitor has an open conversation (the loader then keeps the frame alive on every page). */
  | { tag: typeof CHANNEL_TAG; type: 'conversation'; active: boolean }
  /** New messages while the panel is hidden (0 clears the badge). */
  | { tag: typeof CHANNEL_TAG; type: 'unread'; count: number }
  /** Something needs attention while the tab is hidden: a sound and, when permitted, a notification. */
  | { tag: typeof CHANNEL_TAG; type: 'alert'; title: string; body: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Validates a message received by the loader; anything malformed is null. */
export function readFrameMessage(data: unknown): FrameToHost | null {
  if (!isRecord(data) || data['tag'] !== CHANNEL_TAG) return null;
  switch (data['type']) {
    case 'ready':
    case 'close':
      return { tag: CHANNEL_TAG, type: data['type'] };
    case 'open':
      return { tag: CHANNEL_TAG, type: 'open', focus: data['focus'] === true };
    case 'conversation':
      return { tag: CHANNEL_TAG, type: 'conversation', active: data['active'] === true };
    case 'unread':
      return typeof data['count'] === 'number' && data['count'] >= 0
        ? { tag: CHANNEL_TAG, type: 'unread', count: Math.floor(data['count']) }
        : null;
    case 'alert':
      return typeof data['title'] === 'string' && typeof data['body'] === 'string'
        ? { tag: CHANNEL_TAG, type: 'alert', title: data['title'].slice(0, 200), body: data['body'].slice(0, 500) }
        : null;
    default:
      return null;
  }
}

/** Validates a message received by the frame; anything malformed is null. */
export function readHostMessage(data: unknown): HostToFrame | null {
  if (!isRecord(data) || data['tag'] !== CHANNEL_TAG) return null;
  if (data['type'] === 'visibility') return { tag: CHANNEL_TAG, type: 'visibility', open: data['open'] === true };
  return null;
}

/** What the loader passes to the frame in its URL (the frame cannot read the host page). */
export interface FrameParams {
  /** The host page's origin: the only origin the frame talks to. */
  host: string;
  /** The host page's URL (shown to the agent as "the page they are on"). */
  page: string;
  /** Whether the panel starts visible. */
  open: boolean;
  greeting: string | null;
  color: string | null;
  /** Which call buttons to offer. */
  calls: Array<'video' | 'voice'>;
}

/** Parses the `calls` attribute/parameter: "video,voice" (default both), "none" or "" for none. */
export function parseCalls(raw: string | null | undefined): Array<'video' | 'voice'> {
  if (raw === null || raw === undefined) return ['video', 'voice'];
  const out: Array<'video' | 'voice'> = [];
  for (const part of raw.split(',')) {
    const word = part.trim().toLowerCase();
    if ((word === 'video' || word === 'voice') && !out.includes(word)) out.push(word);
  }
  return out;
}

/** A CSS colour the widget accepts from the host (hex only: nothing else can smuggle CSS). */
export function parseColor(raw: string | null | undefined): string | null {
  return raw && /^#[0-9a-f]{3,8}$/i.test(raw.trim()) ? raw.trim() : null;
}

/** Encodes the frame's URL query. */
export function frameQuery(params: FrameParams): string {
  const query = new URLSearchParams({
    host: params.host,
    page: params.page.slice(0, 2048),
    open: params.open ? '1' : '0',
    calls: params.calls.join(','),
  });
  if (params.greeting) query.set('greeting', params.greeting.slice(0, 300));
  if (params.color) query.set('color', params.color);
  return query.toString();
}

/** Decodes the frame's URL query; `ancestor` (location.ancestorOrigins[0]) wins over the claimed host. */
export function readFrameParams(search: string, ancestor: string | null): FrameParams | null {
  const query = new URLSearchParams(search);
  const claimed = query.get('host');
  const host = ancestor ?? claimed;
  if (!host || (ancestor !== null && claimed !== null && claimed !== ancestor)) return null;
  return {
    host,
    page: query.get('page') ?? '',
    open: query.get('open') === '1',
    greeting: query.get('greeting'),
    color: parseColor(query.get('color')),
    calls: parseCalls(query.get('calls')),
  };
}
