import { randomBytes, randomInt } from 'node:crypto';
import type { MediaAccess } from '@parley/protocol';
import type { JanodeConnection, JanodeSession } from 'janode';
import type { VideoRoomHandle } from 'janode/plugins/videoroom';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import type { Store } from '../../store/Store.ts';
import { ParleyServerError } from '../../errors.ts';
import type { MediaTopology } from './MediaTopology.ts';

type JanusConfig = NonNullable<Config['janus']>;

/** Where rooms are kept so that they outlive this process (the Store; calls' media rows). */
export type RoomStore = Pick<Store, 'saveCallMedia' | 'getCallMedia' | 'deleteCallMedia'>;

/** A room as stored: everything needed to use it again, or to make it again the same. */
interface StoredRoom {
  kind: 'janus';
  id: number;
  pin: string;
  secret: string;
  tokens: Record<string, string[]>;
}

/** A call's VideoRoom, with what only the server knows about it. */
interface Room {
  callId: string;
  id: number;
  /** Needed by everyone to join (handed out with `access`). */
  pin: string;
  /** Needed for admin actions (allow, kick, destroy); never leaves the server. */
  secret: string;
  /** Join tokens handed out, by party id (a party that rejoins gets another one). */
  tokens: Map<string, string[]>;
}

/** The server's own presence on Janus: one connection, one session, one VideoRoom handle for admin work. */
interface Admin {
  connection: JanodeConnection;
  session: JanodeSession;
  handle: VideoRoomHandle;
}

/** A room being made (`ready`), and the room once it is. */
interface RoomEntry {
  ready: Promise<Room>;
  room: Room | null;
}

/** How long one request to Janus may take before the call is told Janus is unavailable. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Session keepalive (Janus drops sessions silent for 60 s by default). */
const KEEPALIVE_SECONDS = 25;
/** Reconnection after a drop while calls run: first delay, doubled up to the cap. */
const RECONNECT_FIRST_MS = 500;
const RECONNECT_MAX_MS = 30_000;
/** VideoRoom error codes this adapter tells apart. */
const NO_SUCH_ROOM = 426;
const ROOM_EXISTS = 427;

/**
 * Calls through a Janus VideoRoom (`JANUS_URL`): one room per call, made when the call is accepted and
 * destroyed when it ends. A room has a random id, a PIN and an admin secret, and admits only the join
 * tokens this server adds to its `allowed` list — one per participant, removed (and the participant
 * kicked) when it leaves. The connection to Janus is made on first use and again after a drop; rooms
 * Janus lost meanwhile (a restart) are made again with the same id, PIN and tokens.
 *
 * Rooms are stored (`rooms`): a Parley that restarts uses the room still running in Janus for a call in
 * progress, and makes it again the same only when Janus lost it. Stopping this adapter leaves rooms running;
 * a room goes when its call ends.
 */
export class JanusTopology implements MediaTopology {
  readonly kind = 'sfu' as const;
  readonly capacity: number;
  readonly capacityHint: string;
  readonly #janus: JanusConfig;
  readonly #log: Logger;
  readonly #store: RoomStore | null;
  readonly #rooms = new Map<string, RoomEntry>();
  #admin: Promise<Admin> | null = null;
  #connected: Admin | null = null;
  #everConnected = false;
  #reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  #reconnectDelayMs = RECONNECT_FIRST_MS;
  #shutDown = false;

  constructor({ janus, log, rooms }: { janus: JanusConfig; log: Logger; rooms?: RoomStore }) {
    this.#janus = janus;
    this.#store = rooms ?? null;
    this.#log = log.child({ component: 'janus' });
    this.capacity = janus.maxParticipants;
    this.capacityHint = `calls through Janus carry up to ${janus.maxParticipants} people; raise JANUS_MAX_PARTICIPANTS to carry more`;
  }

  async open(callId: string): Promise<void> {
    await this.#room(callId);
  }

  async access(callId: string, partyId: string): Promise<MediaAccess> {
    const room = await this.#room(callId);
    const token = randomSecret();
    try {
      await this.#request(`admit ${partyId} to the room of call ${callId}`, (handle) =>
        handle.allow({ room: room.id, action: 'add', list: [token], secret: room.secret }),
      );
    } catch (err) {
      throw this.#unavailable('refused a join token for the call', err);
    }
    room.tokens.set(partyId, [...(room.tokens.get(partyId) ?? []), token]);
    await this.#save(room);
    return { kind: 'sfu', url: this.#janus.publicUrl, room: room.id, pin: room.pin, token, display: partyId };
  }

  async revoke(callId: string, partyId: string): Promise<void> {
    const entry = this.#rooms.get(callId);
    if (!entry) return;
    try {
      const room = await entry.ready;
      const tokens = room.tokens.get(partyId) ?? [];
      room.tokens.delete(partyId);
      await this.#save(room);
      if (tokens.length > 0) {
        await this.#request('withdraw join tokens', (handle) => handle.allow({ room: room.id, action: 'remove', list: tokens, secret: room.secret }));
      }
      const { participants } = await this.#request('list participants', (handle) => handle.listParticipants({ room: room.id, secret: room.secret }));
      for (const participant of participants) {
        if (participant.display !== partyId) continue;
        await this.#request('kick a participant', (handle) => handle.kick({ room: room.id, feed: participant.feed, secret: room.secret }));
      }
    } catch (err) {
      if (janusCode(err) === NO_SUCH_ROOM) return; // the room went first (the call ended)
      this.#log.warn({ err, callId, partyId }, 'could not take a participant out of its Janus room');
    }
  }

  async close(callId: string): Promise<void> {
    const entry = this.#rooms.get(callId);
    if (!entry) return;
    this.#rooms.delete(callId);
    let room: Room;
    try {
      room = await entry.ready;
    } catch {
      return; // never made: nothing to destroy
    }
    try {
      await this.#request('destroy a room', (handle) => handle.destroy({ room: room.id, secret: room.secret }));
    } catch (err) {
      if (janusCode(err) !== NO_SUCH_ROOM) this.#log.warn({ err, callId }, 'could not destroy the Janus room of a call');
    }
    await this.#store?.deleteCallMedia(callId).catch((err: unknown) => this.#log.warn({ err, callId }, 'could not forget the room of a call'));
  }

  async shutdown(): Promise<void> {
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    // Rooms stay: their calls go on, and the next start (or another node) uses them again.
    await Promise.allSettled([...this.#rooms.values()].map((entry) => entry.ready));
    this.#rooms.clear();
    this.#shutDown = true;
    const admin = this.#connected;
    this.#admin = null;
    this.#connected = null;
    if (!admin) return;
    try {
      await withTimeout(admin.session.destroy(), REQUEST_TIMEOUT_MS, 'destroy the session');
    } catch {
      // the connection is closed next either way
    }
    try {
      await admin.connection.close();
    } catch (err) {
      this.#log.debug({ err }, 'closing the Janus connection failed');
    }
  }

  /** The call's room, made on first use; concurrent callers share one creation. */
  #room(callId: string): Promise<Room> {
    if (this.#shutDown) return Promise.reject(new ParleyServerError('unavailable', 'the server is shutting down'));
    const known = this.#rooms.get(callId);
    if (known) return known.ready;
    const entry: RoomEntry = { ready: this.#createRoom(callId), room: null };
    this.#rooms.set(callId, entry);
    entry.ready.then(
      (room) => (entry.room = room),
      () => {
        if (this.#rooms.get(callId) === entry) this.#rooms.delete(callId); // the next attempt starts afresh
      },
    );
    return entry.ready;
  }

  /** The stored room of a call, used again when Janus still has it, made again the same when not; else a new one. */
  async #createRoom(callId: string): Promise<Room> {
    const stored = await this.#load(callId);
    if (stored) {
      const { exists } = await this.#request('check a room', (handle) => handle.exists({ room: stored.id })).catch((err: unknown) => {
        throw this.#unavailable('could not be asked for a room', err);
      });
      if (!exists) {
        try {
          await this.#request(`make the room of call ${callId} again`, (handle) => handle.message(this.#createBody(stored)));
        } catch (err) {
          throw this.#unavailable('refused to make the room of the call again', err);
        }
      }
      this.#log.info({ callId, room: stored.id, reused: exists }, exists ? 'Janus room used again' : 'Janus room made again');
      return stored;
    }
    const room: Room = { callId, id: 0, pin: randomSecret(), secret: randomSecret(), tokens: new Map() };
    for (let attempt = 1; ; attempt++) {
      room.id = randomInt(1, 2 ** 47); // a JSON-safe integer; Janus refuses one in use, then another is drawn
      try {
        await this.#request(`create the room of call ${callId}`, (handle) => handle.message(this.#createBody(room)));
        this.#log.debug({ callId, room: room.id }, 'Janus room created');
        await this.#save(room);
        return room;
      } catch (err) {
        if (janusCode(err) === ROOM_EXISTS && attempt < 5) continue;
        throw this.#unavailable('refused to create a room for the call', err);
      }
    }
  }

  async #load(callId: string): Promise<Room | null> {
    const data = (await this.#store?.getCallMedia(callId)) as StoredRoom | null | undefined;
    if (!data || data.kind !== 'janus') return null;
    return { callId, id: data.id, pin: data.pin, secret: data.secret, tokens: new Map(Object.entries(data.tokens)) };
  }

  /** Stores the room as it is now (its tokens change as participants come and go). */
  async #save(room: Room): Promise<void> {
    if (!this.#store) return;
    const data: StoredRoom = { kind: 'janus', id: room.id, pin: room.pin, secret: room.secret, tokens: Object.fromEntries(room.tokens) };
    await this.#store.saveCallMedia(room.callId, data);
  }

  /** The VideoRoom `create` request for `room` (also used to make it again after Janus lost it). */
  #createBody(room: Room): Record<string, unknown> {
    return {
      request: 'create',
      room: room.id,
      description: `Parley call ${room.callId}`,
      is_private: true,
      permanent: false,
      secret: room.secret,
      pin: room.pin,
      publishers: this.capacity,
      // An `allowed` list (even empty) makes the room admit listed tokens only.
      allowed: [...room.tokens.values()].flat(),
      // Who is talking, for active-speaker display.
      audiolevel_event: true,
    };
  }

  /** `err` as the error a participant sees (Janus's own errors are logged, not shown). */
  #unavailable(what: string, err: unknown): ParleyServerError {
    if (err instanceof ParleyServerError) return err;
    this.#log.warn({ err, url: this.#janus.url }, `Janus ${what}`);
    return new ParleyServerError('unavailable', `Janus (JANUS_URL=${this.#janus.url}) ${what}: ${messageOf(err)}`, { cause: err });
  }

  /**
   * Runs one request on the admin handle, connecting first when needed; bounded in time. A request the
   * connection dropped under is sent once more on a new connection (every request here may be repeated).
   */
  async #request<T>(what: string, op: (handle: VideoRoomHandle) => Promise<T>, retried = false): Promise<T> {
    const admin = await this.#connect();
    try {
      return await withTimeout(op(admin.handle), REQUEST_TIMEOUT_MS, what);
    } catch (err) {
      if (err instanceof TimeoutError) {
        this.#lost(admin, err.message); // a Janus that stops answering is treated as gone
        throw new ParleyServerError('unavailable', `Janus (JANUS_URL=${this.#janus.url}) did not answer: ${err.message}`, { cause: err });
      }
      if (this.#connected !== admin && !retried && !this.#shutDown) return this.#request(what, op, true);
      throw err;
    }
  }

  /** The admin connection, opened on first use and after a drop. */
  #connect(): Promise<Admin> {
    this.#admin ??= this.#openAdmin().catch((err: unknown) => {
      this.#admin = null;
      throw new ParleyServerError('unavailable', `cannot reach Janus at JANUS_URL=${this.#janus.url}: ${messageOf(err)}`, { cause: err });
    });
    return this.#admin;
  }

  async #openAdmin(): Promise<Admin> {
    // Loaded on first use, so servers without JANUS_URL never load janode (nor its native dependency).
    const [{ default: Janode }, { default: VideoRoomPlugin }] = await Promise.all([import('janode'), import('janode/plugins/videoroom')]);
    Janode.Logger.setLevel(this.#log.isLevelEnabled('debug') ? 'warning' : 'none');
    const address = { url: this.#janus.url, ...(this.#janus.apiSecret ? { apisecret: this.#janus.apiSecret } : {}) };
    const connection = await withTimeout(Janode.connect({ address, max_retries: 0, retry_time_secs: 1 }), REQUEST_TIMEOUT_MS, 'connect');
    let admin: Admin;
    try {
      const session = await withTimeout(connection.create(KEEPALIVE_SECONDS), REQUEST_TIMEOUT_MS, 'create a session');
      const handle = await withTimeout(session.attach(VideoRoomPlugin), REQUEST_TIMEOUT_MS, 'attach to the VideoRoom plugin');
      admin = { connection, session, handle };
    } catch (err) {
      connection.close().catch(() => {});
      throw err;
    }
    connection.once(Janode.EVENT.CONNECTION_ERROR, (err: Error) => this.#lost(admin, `connection dropped (${err.message})`));
    connection.once(Janode.EVENT.CONNECTION_CLOSED, () => this.#lost(admin, 'connection closed'));
    admin.session.once(Janode.EVENT.SESSION_DESTROYED, () => this.#lost(admin, 'session destroyed'));
    const reconnected = this.#everConnected;
    this.#everConnected = true;
    this.#connected = admin;
    this.#reconnectDelayMs = RECONNECT_FIRST_MS;
    this.#log.info({ url: this.#janus.url, reconnected }, 'connected to Janus');
    if (reconnected) await this.#restoreRooms(admin.handle);
    return admin;
  }

  /** The admin connection is gone: the next request reconnects; while calls run, reconnect now. */
  #lost(admin: Admin, why: string): void {
    if (this.#connected !== admin) return;
    this.#connected = null;
    this.#admin = null;
    admin.connection.close().catch(() => {});
    if (this.#shutDown) return;
    this.#log.warn({ url: this.#janus.url, why }, 'lost the connection to Janus');
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#reconnectTimer || this.#shutDown || this.#rooms.size === 0) return;
    const delay = this.#reconnectDelayMs;
    this.#reconnectDelayMs = Math.min(delay * 2, RECONNECT_MAX_MS);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      if (this.#connected || this.#shutDown) return;
      this.#connect().catch((err: unknown) => {
        this.#log.warn({ err: messageOf(err), retryInMs: this.#reconnectDelayMs }, 'reconnecting to Janus failed');
        this.#scheduleReconnect();
      });
    }, delay);
    this.#reconnectTimer.unref?.();
  }

  /** After a reconnection: rooms Janus no longer has (it restarted) are made again, same id, PIN and tokens. */
  async #restoreRooms(handle: VideoRoomHandle): Promise<void> {
    for (const entry of this.#rooms.values()) {
      const room = entry.room;
      if (!room) continue;
      try {
        const { exists } = await withTimeout(handle.exists({ room: room.id }), REQUEST_TIMEOUT_MS, 'check a room');
        if (exists) continue;
        await withTimeout(handle.message(this.#createBody(room)), REQUEST_TIMEOUT_MS, 'create a room again');
        this.#log.info({ callId: room.callId, room: room.id }, 'Janus room made again after a reconnection');
      } catch (err) {
        this.#log.warn({ err, callId: room.callId }, 'could not make a Janus room again after a reconnection');
      }
    }
  }
}

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A random secret for PINs, admin secrets and join tokens (144 bits, URL-safe). */
function randomSecret(): string {
  return randomBytes(18).toString('base64url');
}

/** The VideoRoom error code janode attached to an error, if any. */
function janusCode(err: unknown): number | undefined {
  const code = (err as { _code?: unknown } | null)?._code;
  return typeof code === 'number' ? code : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
