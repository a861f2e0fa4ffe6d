import { randomBytes, randomInt } from 'node:crypto';
import type { MediaAccess } from '@parley/protocol';
import type { VideoRoomHandle } from 'janode/plugins/videoroom';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import type { Store } from '../../store/Store.ts';
import { ParleyServerError } from '../../errors.ts';
import { KeyedSerial } from '../../events/KeyedSerial.ts';
import { JanusPool, JanusUnreachableError, messageOf, withTimeout, type HealthCheckTiming, type JanusHealth, type JanusInstance } from './JanusPool.ts';
import type { MediaTopology } from './MediaTopology.ts';

type JanusConfig = NonNullable<Config['janus']>;

/**
 * Where rooms are kept so that they outlive this process and are shared by every node (the Store; calls'
 * media rows). With `withLock`, moving a room to another instance is done by one node at a time.
 */
export type RoomStore = Pick<Store, 'saveCallMedia' | 'getCallMedia' | 'deleteCallMedia'> & Partial<Pick<Store, 'withLock'>>;

/** A room as stored: everything needed to use it again, or to make it again the same, and where it is. */
interface StoredRoom {
  kind: 'janus';
  id: number;
  pin: string;
  secret: string;
  tokens: Record<string, string[]>;
  /** The instance it is on (its JANUS_URL entry). Rooms stored before the pool have none: the first instance. */
  instance?: string;
  /** Times it was made on another instance because its own died. */
  moves?: number;
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
  /** The URL (JANUS_URL entry) of the instance the room is on. */
  instance: string;
  moves: number;
}

/** What a room's `instance` says when the call fell back to peer-to-peer (no Janus was left for it). */
const PEER_TO_PEER = 'peer-to-peer';
/** Most participants a call may have to fall back to peer-to-peer. */
const PEER_TO_PEER_MAX = 2;

/** VideoRoom error codes this adapter tells apart. */
const NO_SUCH_ROOM = 426;
const ROOM_EXISTS = 427;

/**
 * Calls through Janus VideoRooms (`JANUS_URL`, one instance or a pool): one room per call, made when the
 * call is accepted and destroyed when it ends. A room has a random id, a PIN and an admin secret, and
 * admits only the join tokens this server adds to its `allowed` list — one per participant, removed (and
 * the participant kicked) when it leaves.
 *
 * The pool: every instance is health-checked ({@link JanusPool}); a new room goes to the healthy instance
 * holding the fewest rooms this node knows of (rooms it made, and rooms of other nodes it admitted someone
 * to). The stored room names its instance, so any node can admit to or remove from any room. When an
 * instance goes down, each room there that this node knows is made on another healthy instance with the
 * same id (another when taken), PIN, secret and tokens, stored, and `onMoved` listeners are told: the call's
 * participants must join again, for the new instance's URL. Under the store's lock one node moves a room;
 * the others find it moved. With no healthy instance left, a call of two falls back to peer-to-peer (its
 * participants are told the same way, and get `{ kind: 'mesh' }`) for the rest of the call; bigger calls
 * wait: on the instance's return their rooms are made again there (or on whichever instance comes up first).
 *
 * Rooms are stored (`rooms`): a Parley that restarts uses the room still running in Janus for a call in
 * progress, and makes it again the same only when Janus lost it. Stopping this adapter leaves rooms running;
 * a room goes when its call ends.
 */
export class JanusTopology implements MediaTopology {
  readonly kind = 'sfu' as const;
  readonly capacity: number;
  readonly capacityHint: string;
  readonly #log: Logger;
  readonly #store: RoomStore | null;
  readonly #pool: JanusPool;
  /** Rooms this node knows, by call id (it made them, used them, or found them in the store). */
  readonly #rooms = new Map<string, Room>();
  /** Rooms being made, per instance URL (they count as load before they exist). */
  readonly #placing = new Map<string, number>();
  /** Rooms left behind on an instance that died, destroyed if it comes back. */
  readonly #orphans = new Map<string, Array<{ id: number; secret: string }>>();
  /** One operation at a time per call. */
  readonly #serial = new KeyedSerial();
  /** Moves after an instance died, one at a time (each holds the store's lock for its call). */
  readonly #moves = new KeyedSerial();
  readonly #movedListeners: Array<(callId: string, moves: number) => void> = [];
  #shutDown = false;

  constructor({ janus, log, rooms, healthCheck }: { janus: JanusConfig; log: Logger; rooms?: RoomStore; healthCheck?: Partial<HealthCheckTiming> }) {
    this.#store = rooms ?? null;
    this.#log = log.child({ component: 'janus' });
    this.capacity = janus.maxParticipants;
    this.capacityHint = `calls through Janus carry up to ${janus.maxParticipants} people; raise JANUS_MAX_PARTICIPANTS to carry more`;
    this.#pool = new JanusPool({
      instances: janus.instances,
      apiSecret: janus.apiSecret,
      log: this.#log,
      ...(healthCheck ? { timing: healthCheck } : {}),
      onReconnected: (instance, handle) => this.#restoreRooms(instance, handle),
      onHealth: (instance, health) => this.#healthChanged(instance, health),
    });
  }

  /** The instances, for tests and diagnostics: URL, health and the rooms this node knows there. */
  get instances(): Array<{ url: string; health: JanusHealth; rooms: number }> {
    return this.#pool.instances.map((instance) => ({ url: instance.url, health: instance.health, rooms: this.#roomsOn(instance.url) }));
  }

  onMoved(listener: (callId: string, moves: number) => void): void {
    this.#movedListeners.push(listener);
  }

  async open(callId: string): Promise<void> {
    await this.#serial.run(callId, () => this.#ensure(callId));
  }

  access(callId: string, partyId: string): Promise<MediaAccess> {
    return this.#serial.run(callId, async () => {
      const room = await this.#ensure(callId);
      await this.#refresh(room);
      if (room.instance === PEER_TO_PEER) return { kind: 'mesh' };
      const token = randomSecret();
      let instance = this.#instanceOf(room);
      for (let attempt = 1; ; attempt++) {
        try {
          if (!instance) throw new JanusUnreachableError(`the room's Janus (${room.instance}) is not in JANUS_URL`, null);
          await instance.request(`admit ${partyId} to the room of call ${callId}`, (handle) =>
            handle.allow({ room: room.id, action: 'add', list: [token], secret: room.secret }),
          );
          break;
        } catch (err) {
          if (attempt === 2 || !(err instanceof JanusUnreachableError)) throw this.#unavailable(instance, 'refused a join token for the call', err);
          // Not reached: checked once more, and when that fails too (down), the room is made elsewhere.
          if (!instance || !(await instance.check())) await this.#relocate(room);
          instance = this.#instanceOf(room);
        }
      }
      room.tokens.set(partyId, [...(room.tokens.get(partyId) ?? []), token]);
      await this.#save(room);
      return { kind: 'sfu', url: instance!.publicUrl, room: room.id, pin: room.pin, token, display: partyId };
    });
  }

  async revoke(callId: string, partyId: string): Promise<void> {
    try {
      await this.#serial.run(callId, async () => {
        const room = this.#rooms.get(callId) ?? (await this.#adopt(callId));
        if (!room) return;
        await this.#refresh(room);
        const tokens = room.tokens.get(partyId) ?? [];
        room.tokens.delete(partyId);
        await this.#save(room);
        const instance = this.#instanceOf(room);
        if (!instance || instance.health === 'down') return; // made again elsewhere without its tokens
        if (tokens.length > 0) {
          await instance.request('withdraw join tokens', (handle) => handle.allow({ room: room.id, action: 'remove', list: tokens, secret: room.secret }));
        }
        const { participants } = await instance.request('list participants', (handle) => handle.listParticipants({ room: room.id, secret: room.secret }));
        for (const participant of participants) {
          if (participant.display !== partyId) continue;
          await instance.request('kick a participant', (handle) => handle.kick({ room: room.id, feed: participant.feed, secret: room.secret }));
        }
      });
    } catch (err) {
      if (janusCode(err) === NO_SUCH_ROOM) return; // the room went first (the call ended)
      this.#log.warn({ err, callId, partyId }, 'could not take a participant out of its Janus room');
    }
  }

  async close(callId: string): Promise<void> {
    await this.#serial
      .run(callId, async () => {
        const room = this.#rooms.get(callId) ?? (await this.#adopt(callId));
        this.#rooms.delete(callId);
        if (!room) return;
        const instance = this.#instanceOf(room);
        if (room.instance === PEER_TO_PEER) {
          // nothing was made on Janus for it
        } else if (instance && instance.health !== 'down') {
          try {
            await instance.request('destroy a room', (handle) => handle.destroy({ room: room.id, secret: room.secret }));
          } catch (err) {
            if (err instanceof JanusUnreachableError) this.#orphan(room.instance, room);
            else if (janusCode(err) !== NO_SUCH_ROOM) this.#log.warn({ err, callId }, 'could not destroy the Janus room of a call');
          }
        } else this.#orphan(room.instance, room);
        await this.#store?.deleteCallMedia(callId);
      })
      .catch((err: unknown) => this.#log.warn({ err, callId }, 'could not forget the room of a call'));
  }

  async shutdown(): Promise<void> {
    // Rooms stay: their calls go on, and the next start (or another node) uses them again.
    this.#shutDown = true;
    await Promise.all([this.#serial.idle(), this.#moves.idle()]);
    this.#rooms.clear();
    await this.#pool.close();
  }

  // ---------------------------------------------------------------- rooms

  /** The call's room: known here, found in the store (used again, made again, or moved), or made anew. */
  async #ensure(callId: string): Promise<Room> {
    if (this.#shutDown) throw new ParleyServerError('unavailable', 'the server is shutting down');
    this.#pool.start();
    const known = this.#rooms.get(callId);
    if (known) {
      const instance = this.#instanceOf(known);
      if (known.instance === PEER_TO_PEER || (instance && instance.health !== 'down')) return known;
      await this.#relocate(known);
      return known;
    }
    const stored = await this.#load(callId);
    const room = stored ? await this.#resume(stored) : await this.#create(callId);
    this.#rooms.set(callId, room);
    return room;
  }

  async #create(callId: string): Promise<Room> {
    const room: Room = { callId, id: 0, pin: randomSecret(), secret: randomSecret(), tokens: new Map(), instance: '', moves: 0 };
    await this.#place(room, null, false);
    this.#log.debug({ callId, room: room.id, instance: room.instance }, 'Janus room created');
    await this.#save(room);
    return room;
  }

  /** A stored room: used again where it is, made again there when Janus lost it, or moved when its instance is down. */
  async #resume(room: Room): Promise<Room> {
    if (room.instance === PEER_TO_PEER) return room;
    const instance = this.#instanceOf(room);
    for (let attempt = 1; instance && instance.health !== 'down'; attempt++) {
      try {
        const { exists } = await instance.request('check a room', (handle) => handle.exists({ room: room.id }));
        if (!exists) await this.#makeAgain(instance, room);
        this.#log.info({ callId: room.callId, room: room.id, instance: room.instance, reused: exists }, exists ? 'Janus room used again' : 'Janus room made again');
        return room;
      } catch (err) {
        if (!(err instanceof JanusUnreachableError) || attempt === 2) throw this.#unavailable(instance, 'could not make the room of the call again', err);
        // Not reached: checked once more, and when that fails too (down), the room is made elsewhere.
        if (!(await instance.check())) break;
      }
    }
    this.#rooms.set(room.callId, room);
    await this.#relocate(room);
    return room;
  }

  /** Makes `room` on the least-loaded instance that takes it (not `avoid`); `keepId`: its id first (a move). */
  async #place(room: Room, avoid: JanusInstance | null, keepId: boolean): Promise<void> {
    const candidates = this.#pool.candidates((instance) => this.#roomsOn(instance.url), avoid);
    let unreachable: unknown = null;
    for (const instance of candidates) {
      this.#placing.set(instance.url, (this.#placing.get(instance.url) ?? 0) + 1);
      try {
        await this.#makeOn(instance, room, keepId);
        room.instance = instance.url;
        return;
      } catch (err) {
        if (!(err instanceof JanusUnreachableError)) throw this.#unavailable(instance, 'refused to create a room for the call', err);
        unreachable = err; // the next instance may take it
      } finally {
        this.#placing.set(instance.url, (this.#placing.get(instance.url) ?? 1) - 1);
      }
    }
    if (unreachable instanceof ParleyServerError && candidates.length === 1 && this.#pool.instances.length === 1) throw unreachable;
    const urls = this.#pool.instances.map((i) => `${i.url} (${i.health})`).join(', ');
    throw new ParleyServerError('unavailable', `no Janus of JANUS_URL can take the room of the call now: ${urls}`, { cause: unreachable });
  }

  async #makeOn(instance: JanusInstance, room: Room, keepId: boolean): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (!keepId || attempt > 1) room.id = randomInt(1, 2 ** 47); // a JSON-safe integer; Janus refuses one in use, then another is drawn
      try {
        await instance.request(`create the room of call ${room.callId}`, (handle) => handle.message(this.#createBody(room)));
        return;
      } catch (err) {
        if (janusCode(err) === ROOM_EXISTS && attempt < 5) continue;
        throw err;
      }
    }
  }

  /** Makes a room Janus lost again, the same (another node doing the same first is as good). */
  async #makeAgain(instance: JanusInstance, room: Room): Promise<void> {
    try {
      await instance.request(`make the room of call ${room.callId} again`, (handle) => handle.message(this.#createBody(room)));
    } catch (err) {
      if (janusCode(err) !== ROOM_EXISTS) throw err;
    }
  }

  /**
   * The room's instance is down, or gone from JANUS_URL: the room is made on another healthy instance, under
   * the store's lock for the call — unless another node did so meanwhile — and listeners are told.
   * With no instance left, a call of two falls back to peer-to-peer instead.
   * @throws ParleyServerError `unavailable` when no instance can take a bigger call (its room waits for one to come up).
   */
  async #relocate(room: Room): Promise<void> {
    const movesBefore = room.moves;
    const bad = room.instance;
    await this.#locked(room.callId, async () => {
      await this.#refresh(room, false);
      const at = this.#instanceOf(room);
      if (room.instance !== bad && (room.instance === PEER_TO_PEER || (at && at.health !== 'down'))) return; // another node moved it
      const left = { id: room.id, secret: room.secret, instance: room.instance };
      try {
        await this.#place(room, at, true);
      } catch (err) {
        // No Janus left at all: a call of two goes on peer-to-peer.
        if (room.tokens.size > PEER_TO_PEER_MAX || this.#pool.candidates(() => 0).length > 0) throw err;
        room.instance = PEER_TO_PEER;
      }
      room.moves++;
      await this.#save(room);
      this.#orphan(left.instance, left);
      this.#log.warn(
        { callId: room.callId, from: left.instance, to: room.instance, room: room.id, moves: room.moves },
        room.instance === PEER_TO_PEER ? 'no Janus left: the call falls back to peer-to-peer' : 'Janus room moved to another instance',
      );
    });
    if (room.moves > movesBefore) this.#tellMoved(room);
  }

  /**
   * An instance's health changed: every room whose instance is down (or gone) is moved — to one that came up,
   * or away from one that went down; with none left a call of two goes peer-to-peer.
   */
  #healthChanged(instance: JanusInstance, health: JanusHealth): void {
    if (this.#shutDown) return;
    if (health === 'up') this.#destroyOrphans(instance);
    for (const room of this.#rooms.values()) {
      if (room.instance === PEER_TO_PEER) continue; // stays so until the call ends
      const at = this.#instanceOf(room);
      if (!at || at.health === 'down') this.#moveLater(room.callId);
    }
  }

  #moveLater(callId: string): void {
    void this.#moves.run('moves', () =>
      this.#serial.run(callId, async () => {
        const room = this.#rooms.get(callId);
        const at = room && this.#instanceOf(room);
        if (!room || this.#shutDown || room.instance === PEER_TO_PEER || (at && at.health !== 'down')) return;
        await this.#relocate(room).catch((err: unknown) =>
          this.#log.warn({ err: messageOf(err), callId }, 'the Janus room of a call could not be moved; it waits for an instance to come up'),
        );
      }),
    );
  }

  /** After a reconnection: rooms on that instance that Janus no longer has (it restarted) are made again, same id, PIN and tokens. */
  async #restoreRooms(instance: JanusInstance, handle: VideoRoomHandle): Promise<void> {
    for (const room of this.#rooms.values()) {
      if (room.instance !== instance.url) continue;
      try {
        const { exists } = await withTimeout(handle.exists({ room: room.id }), 10_000, 'check a room');
        if (exists) continue;
        await this.#refresh(room, false);
        if (room.instance !== instance.url) continue; // another node moved it meanwhile
        await withTimeout(handle.message(this.#createBody(room)), 10_000, 'create a room again');
        this.#log.info({ callId: room.callId, room: room.id, instance: instance.url }, 'Janus room made again after a reconnection');
      } catch (err) {
        if (janusCode(err) !== ROOM_EXISTS) this.#log.warn({ err, callId: room.callId }, 'could not make a Janus room again after a reconnection');
      }
    }
  }

  // ---------------------------------------------------------------- bookkeeping

  #tellMoved(room: Room): void {
    for (const listener of this.#movedListeners) {
      try {
        listener(room.callId, room.moves);
      } catch (err) {
        this.#log.warn({ err, callId: room.callId }, 'a listener of moved rooms failed');
      }
    }
  }

  /** A room left on an instance that could not be told to destroy it: destroyed when it answers again. */
  #orphan(url: string, room: { id: number; secret: string }): void {
    const list = this.#orphans.get(url) ?? [];
    list.push({ id: room.id, secret: room.secret });
    this.#orphans.set(url, list);
  }

  #destroyOrphans(instance: JanusInstance): void {
    const list = this.#orphans.get(instance.url);
    if (!list) return;
    this.#orphans.delete(instance.url);
    for (const { id, secret } of list) {
      instance.request('destroy a room left behind', (handle) => handle.destroy({ room: id, secret })).catch(() => undefined);
    }
  }

  #roomsOn(url: string): number {
    let n = this.#placing.get(url) ?? 0;
    for (const room of this.#rooms.values()) if (room.instance === url) n++;
    return n;
  }

  #instanceOf(room: Room): JanusInstance | null {
    return this.#pool.byUrl(room.instance);
  }

  /** The stored room of a call that this node did not know yet, kept as it is (no request to Janus). */
  async #adopt(callId: string): Promise<Room | null> {
    const room = await this.#load(callId);
    if (room) this.#rooms.set(callId, room);
    return room;
  }

  /**
   * Brings a known room up to what the store says (another node may have admitted someone, or moved it).
   * `tell`: listeners hear of a move found this way.
   */
  async #refresh(room: Room, tell = true): Promise<void> {
    const stored = await this.#load(room.callId);
    if (!stored) return;
    const moved = stored.moves > room.moves;
    room.tokens = stored.tokens;
    if (moved || stored.instance !== room.instance) {
      room.id = stored.id;
      room.instance = stored.instance;
      room.moves = stored.moves;
    }
    if (moved && tell) this.#tellMoved(room);
  }

  async #load(callId: string): Promise<Room | null> {
    const data = (await this.#store?.getCallMedia(callId)) as StoredRoom | null | undefined;
    if (!data || data.kind !== 'janus') return null;
    return {
      callId,
      id: data.id,
      pin: data.pin,
      secret: data.secret,
      tokens: new Map(Object.entries(data.tokens)),
      instance: data.instance ?? this.#pool.instances[0]!.url,
      moves: data.moves ?? 0,
    };
  }

  /** Stores the room as it is now (its tokens change as participants come and go; its instance when it moves). */
  async #save(room: Room): Promise<void> {
    if (!this.#store) return;
    const data: StoredRoom = {
      kind: 'janus',
      id: room.id,
      pin: room.pin,
      secret: room.secret,
      tokens: Object.fromEntries(room.tokens),
      instance: room.instance,
      moves: room.moves,
    };
    await this.#store.saveCallMedia(room.callId, data);
  }

  /** Runs `fn` holding the deployment-wide lock of the call's room, when the store has one. */
  #locked<T>(callId: string, fn: () => Promise<T>): Promise<T> {
    return this.#store?.withLock ? this.#store.withLock(`janus-room:${callId}`, fn) : fn();
  }

  /** The VideoRoom `create` request for `room` (also used to make it again after Janus lost it, or elsewhere). */
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
  #unavailable(instance: JanusInstance | null, what: string, err: unknown): ParleyServerError {
    if (err instanceof ParleyServerError) return err;
    const url = instance?.url ?? 'JANUS_URL';
    this.#log.warn({ err, url }, `Janus ${what}`);
    return new ParleyServerError('unavailable', `Janus (JANUS_URL=${url}) ${what}: ${messageOf(err)}`, { cause: err });
  }
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
