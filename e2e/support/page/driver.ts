/*
 * Call driver, bundled for the browser with the probe (see e2e/support/media.ts): lets a Node test act as a visitor
 * or an agent through the real SDK that the page loaded from `{server}/sdk/parley.js` (window.Parley), and
 * records every contact event in order so the test can wait for it. Results cross to Node as plain JSON;
 * a rejected SDK call comes back as `{ ok: false, code, message }` instead of throwing.
 */

/** A party as the SDK reports it. */
interface PartyLike {
  id: string;
  role: string;
  name: string;
}

/** The call half of the public Contact (packages/sdk/src/call/ContactVideoApi.ts). */
interface CallContact {
  sessionID: string;
  messages: Array<{ seq: number; kind: string; text: string; from: PartyLike }>;
  video: { state: string; useAudio: boolean; useVideo: boolean; participants: Array<PartyLike & { audio: boolean; video: boolean }> };
  on(event: string, listener: (...args: unknown[]) => void): () => void;
  bindVideoParticipantEvent(callback: (event: unknown, eventName: string) => void): unknown;
  [method: string]: unknown;
}

interface SessionLike {
  id: string;
  /** The signaling link: connecting, connected, reconnecting, disconnected. */
  connectionState?: string;
  on(event: string, listener: (...args: unknown[]) => void): () => void;
  disconnect(): void;
}

/** One recorded event. */
export interface DriverEvent {
  /** Contact event name, or `participant:<eventName>` for `bindVideoParticipantEvent`. */
  name: string;
  at: number;
  data: unknown;
}

/** What an SDK call gave. */
export type ActResult = { ok: true; value: unknown } | { ok: false; code: string; message: string };

/** The call methods a test may invoke on the contact. */
export type CallMethod =
  | 'requestVideoUpgrade'
  | 'responseVideoUpgrade'
  | 'inviteToVideo'
  | 'endVideo'
  | 'disableVideo'
  | 'enableVideo'
  | 'muteAudio'
  | 'unmuteAudio'
  | 'getCallStats'
  | 'leaveVideo'
  | 'removeVideoParticipant'
  | 'addParticipant'
  | 'createGuestInvite'
  | 'startScreenShare'
  | 'stopScreenShare'
  | 'setDevices';

/** The driver's API, at `window.parleyE2E`. */
export interface CallDriver {
  events: DriverEvent[];
  /** `call`: the SDK's call options (JSON only), e.g. `{ videoFallback: false }`. */
  connectVisitor(server: string, name?: string, call?: Record<string, unknown>): Promise<{ id: string; sessionID: string | null }>;
  connectAgent(server: string, email: string, password: string): Promise<{ id: string }>;
  startChat(text?: string): Promise<{ sessionID: string }>;
  /** Joins a call as a guest with an invitation token; the guest's contact becomes the bound contact. */
  joinAsGuest(server: string, token: string, name: string, divID: string): Promise<ActResult>;
  /** The bound contact's sessionID, or null while there is none. */
  sessionID(): string | null;
  act(method: CallMethod, args: unknown[], markAs?: string): Promise<ActResult>;
  /** Answers the latest `videoInvite`. */
  answerInvite(accept: boolean, divID: string, markAs?: string): Promise<ActResult>;
  video(): unknown;
  connectionState(): string | null;
  transcript(): Array<{ seq: number; kind: string; text: string }>;
  disconnect(): void;
}

declare global {
  interface Window {
    parleyE2E: CallDriver;
  }
}

/** JSON-safe copy: drops functions (e.g. an invite's accept/decline). */
function plain(value: unknown): unknown {
  if (value === undefined) return null;
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'function' ? undefined : v))) as unknown;
}

function failure(error: unknown): ActResult {
  const e = error as { code?: unknown; message?: unknown };
  return { ok: false, code: typeof e?.code === 'string' ? e.code : 'thrown', message: String(e?.message ?? error) };
}

const CONTACT_EVENTS = [
  'message',
  'requestVideoUpgrade',
  'responseVideoUpgrade',
  'videoInvite',
  'videoStarted',
  'videoEnded',
  'closed',
  'activeSpeaker',
  'deviceChanged',
  'deviceListChanged',
];

/** Installs the driver once per document. */
export function installDriver(): void {
  if (window.parleyE2E) return;
  const events: DriverEvent[] = [];
  const bound = new WeakSet<object>();
  let session: SessionLike | null = null;
  let contact: CallContact | null = null;
  let lastInvite: { accept(divID: string): Promise<void>; decline(): Promise<void> } | null = null;

  const record = (name: string, data: unknown): void => {
    events.push({ name, at: performance.timeOrigin + performance.now(), data: plain(data) });
  };

  const bind = (next: unknown): void => {
    const c = next as CallContact;
    contact = c;
    if (bound.has(c)) return;
    bound.add(c);
    for (const name of CONTACT_EVENTS) {
      c.on(name, (payload: unknown) => {
        if (name === 'videoInvite') lastInvite = payload as typeof lastInvite;
        record(name, payload);
      });
    }
    if (typeof c.bindVideoParticipantEvent === 'function') {
      c.bindVideoParticipantEvent((event, eventName) => record(`participant:${eventName}`, event));
    }
  };

  const need = (): CallContact => {
    if (!contact) throw new Error('no conversation yet');
    return contact;
  };

  window.parleyE2E = {
    events,
    async connectVisitor(server, name, call) {
      const visitor = await window.Parley.connectVisitor({ server, ...(name === undefined ? {} : { name }), ...(call ? { call } : {}) });
      session = visitor as unknown as SessionLike;
      visitor.on('contact', bind);
      if (visitor.contact) bind(visitor.contact);
      return { id: visitor.id, sessionID: contact?.sessionID ?? null };
    },
    async connectAgent(server, email, password) {
      const agent = await window.Parley.connectAgent({ server, email, password });
      session = agent as unknown as SessionLike;
      agent.on('contact', bind);
      for (const c of agent.contacts) bind(c);
      return { id: agent.id };
    },
    async startChat(text) {
      const visitor = session as unknown as { startChat(o: { text?: string }): Promise<unknown> };
      const started = (await visitor.startChat(text === undefined ? {} : { text })) as CallContact;
      bind(started);
      return { sessionID: started.sessionID };
    },
    async joinAsGuest(server, token, name, divID) {
      try {
        const guest = await (window.Parley as unknown as { joinAsGuest(o: object): Promise<unknown> }).joinAsGuest({ server, token, name, divID });
        session = guest as unknown as SessionLike;
        bind(guest);
        return { ok: true, value: { id: (guest as { party: PartyLike }).party.id } };
      } catch (error) {
        return failure(error);
      }
    },
    sessionID: () => contact?.sessionID ?? null,
    async act(method, args, markAs) {
      try {
        const c = need();
        const fn = c[method];
        if (typeof fn !== 'function') return { ok: false, code: 'missing', message: `contact.${method} is not a function` };
        if (markAs) window.parleyProbe?.mark(markAs);
        const value: unknown = await (fn as (...a: unknown[]) => unknown).apply(c, args);
        return { ok: true, value: plain(value) };
      } catch (error) {
        return failure(error);
      }
    },
    async answerInvite(accept, divID, markAs) {
      try {
        if (!lastInvite) return { ok: false, code: 'missing', message: 'no videoInvite received' };
        if (markAs) window.parleyProbe?.mark(markAs);
        await (accept ? lastInvite.accept(divID) : lastInvite.decline());
        return { ok: true, value: null };
      } catch (error) {
        return failure(error);
      }
    },
    video: () => plain(contact?.video ?? null),
    connectionState: () => session?.connectionState ?? null,
    transcript: () => (contact?.messages ?? []).map((m) => ({ seq: m.seq, kind: m.kind, text: m.text })),
    disconnect: () => session?.disconnect(),
  };
}
