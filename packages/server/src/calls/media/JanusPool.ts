import type { JanodeConnection, JanodeSession } from 'janode';
import type { VideoRoomHandle } from 'janode/plugins/videoroom';
import type { Logger } from 'pino';
import { ParleyServerError } from '../../errors.ts';

/** One Janus of the pool as configured (JANUS_URL, JANUS_PUBLIC_URL). */
export interface JanusInstanceConfig {
  /** Where the server reaches its WebSocket API. */
  url: string;
  /** Where browsers reach it. */
  publicUrl: string;
}

/** What the pool knows of an instance: not checked yet, answering, or down (failed its last checks). */
export type JanusHealth = 'unknown' | 'up' | 'down';

/** How the pool checks its instances; the defaults suit production, tests may shorten them. */
export interface HealthCheckTiming {
  /** Pause between the end of one check of an instance and the next. */
  intervalMs: number;
  /** How long an instance may take to answer one check. */
  timeoutMs: number;
  /** Failures in a row (checks or requests that could not reach it) after which an instance is down. */
  downAfter: number;
}

export const DEFAULT_HEALTH_CHECK: HealthCheckTiming = { intervalMs: 1000, timeoutMs: 2000, downAfter: 2 };

/** How long one request to Janus may take before the call is told Janus is unavailable. */
const REQUEST_TIMEOUT_MS = 10_000;
/** How long opening the connection (and its session and handle) may take, step by step. */
const CONNECT_TIMEOUT_MS = 3_000;
/** Session keepalive (Janus drops sessions silent for 60 s by default). */
const KEEPALIVE_SECONDS = 25;

/** The server's own presence on one Janus: one connection, one session, one VideoRoom handle for admin work. */
interface Admin {
  connection: JanodeConnection;
  session: JanodeSession;
  handle: VideoRoomHandle;
}

/** The instance could not be reached (no connection, or no answer in time): another one may serve instead. */
export class JanusUnreachableError extends ParleyServerError {
  constructor(message: string, cause: unknown) {
    super('unavailable', message, { cause });
  }
}

/** What an instance tells the pool that owns it. */
interface InstanceHooks {
  /** A connection was made again after a previous one: Janus may have restarted and lost rooms. */
  reconnected(instance: JanusInstance, handle: VideoRoomHandle): Promise<void>;
  /** Its health changed. */
  health(instance: JanusInstance, health: JanusHealth): void;
}

/**
 * One Janus of the pool: the admin connection to it (opened on first use, again after a drop, by a
 * request or by the health check), every request bounded in time, and its health — `down` after
 * `downAfter` failures in a row (checks, or requests that could not reach it), `up` again at its
 * first answer.
 */
export class JanusInstance {
  readonly url: string;
  readonly publicUrl: string;
  /** Its place in JANUS_URL (the tie-break between instances equally loaded). */
  readonly index: number;
  readonly #apiSecret: string | null;
  readonly #log: Logger;
  readonly #hooks: InstanceHooks;
  readonly #timing: HealthCheckTiming;
  #health: JanusHealth = 'unknown';
  #failures = 0;
  #admin: Promise<Admin> | null = null;
  #connected: Admin | null = null;
  #everConnected = false;
  #closed = false;
  #checkTimer: ReturnType<typeof setTimeout> | null = null;
  #checking = false;

  constructor(config: JanusInstanceConfig, index: number, opts: { apiSecret: string | null; log: Logger; hooks: InstanceHooks; timing: HealthCheckTiming }) {
    this.url = config.url;
    this.publicUrl = config.publicUrl;
    this.index = index;
    this.#apiSecret = opts.apiSecret;
    this.#log = opts.log;
    this.#hooks = opts.hooks;
    this.#timing = opts.timing;
  }

  get health(): JanusHealth {
    return this.#health;
  }

  /**
   * Runs one request on the admin handle, connecting first when needed; bounded in time. A request the
   * connection dropped under is sent once more on a new connection (every request made here may be repeated).
   * @throws JanusUnreachableError when the instance cannot be reached or does not answer; Janus's own refusals as they come.
   */
  async request<T>(what: string, op: (handle: VideoRoomHandle) => Promise<T>, retried = false): Promise<T> {
    const admin = await this.#connect();
    try {
      const result = await withTimeout(op(admin.handle), REQUEST_TIMEOUT_MS, what);
      this.#answered();
      return result;
    } catch (err) {
      if (err instanceof TimeoutError) {
        this.#lost(admin, err.message); // a Janus that stops answering is treated as gone
        this.#failed();
        throw new JanusUnreachableError(`Janus (JANUS_URL=${this.url}) did not answer: ${err.message}`, err);
      }
      if (this.#connected !== admin && !retried && !this.#closed) return this.request(what, op, true);
      throw err;
    }
  }

  /** Starts checking this instance every `intervalMs` (idempotent). */
  startChecks(): void {
    if (this.#closed || this.#checkTimer || this.#checking) return;
    this.#scheduleCheck(0);
  }

  /** Checks now: connects if needed and asks Janus for its `info`. Resolves true when it answered. */
  async check(): Promise<boolean> {
    if (this.#closed) return false;
    let admin: Admin;
    try {
      admin = await this.#connect();
    } catch {
      return false; // counted by #connect
    }
    try {
      await withTimeout(admin.connection.getInfo(), this.#timing.timeoutMs, 'answer an info request');
    } catch (err) {
      this.#lost(admin, `health check failed (${messageOf(err)})`);
      this.#failed();
      return false;
    }
    this.#answered();
    return true;
  }

  /** Stops checking and closes the connection (the rooms on Janus stay). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#checkTimer) clearTimeout(this.#checkTimer);
    this.#checkTimer = null;
    const admin = this.#connected ?? (await this.#admin?.catch(() => null)) ?? null;
    this.#admin = null;
    this.#connected = null;
    if (!admin) return;
    try {
      await withTimeout(admin.session.destroy(), CONNECT_TIMEOUT_MS, 'destroy the session');
    } catch {
      // the connection is closed next either way
    }
    try {
      await admin.connection.close();
    } catch (err) {
      this.#log.debug({ err, url: this.url }, 'closing the Janus connection failed');
    }
  }

  #scheduleCheck(delayMs: number): void {
    this.#checkTimer = setTimeout(() => {
      this.#checkTimer = null;
      this.#checking = true;
      void this.check().finally(() => {
        this.#checking = false;
        if (!this.#closed) this.#scheduleCheck(this.#timing.intervalMs);
      });
    }, delayMs);
    this.#checkTimer.unref?.();
  }

  #answered(): void {
    this.#failures = 0;
    this.#setHealth('up');
  }

  #failed(): void {
    this.#failures++;
    if (this.#failures >= this.#timing.downAfter) this.#setHealth('down');
  }

  #setHealth(health: JanusHealth): void {
    if (this.#health === health || this.#closed) return;
    const was = this.#health;
    this.#health = health;
    if (health === 'down') this.#log.warn({ url: this.url, failures: this.#failures }, 'Janus instance is down');
    else if (was === 'down') this.#log.info({ url: this.url }, 'Janus instance is back');
    this.#hooks.health(this, health);
  }

  /** The admin connection, opened on first use and after a drop. */
  #connect(): Promise<Admin> {
    if (this.#closed) return Promise.reject(new ParleyServerError('unavailable', 'the server is shutting down'));
    this.#admin ??= this.#openAdmin().catch((err: unknown) => {
      this.#admin = null;
      this.#failed();
      throw new JanusUnreachableError(`cannot reach Janus at JANUS_URL=${this.url}: ${messageOf(err)}`, err);
    });
    return this.#admin;
  }

  async #openAdmin(): Promise<Admin> {
    // Loaded on first use, so servers without JANUS_URL never load janode (nor its native dependency).
    const [{ default: Janode }, { default: VideoRoomPlugin }] = await Promise.all([import('janode'), import('janode/plugins/videoroom')]);
    Janode.Logger.setLevel(this.#log.isLevelEnabled('debug') ? 'warning' : 'none');
    const address = { url: this.url, ...(this.#apiSecret ? { apisecret: this.#apiSecret } : {}) };
    const connection = await withTimeout(Janode.connect({ address, max_retries: 0, retry_time_secs: 1 }), CONNECT_TIMEOUT_MS, 'connect');
    let admin: Admin;
    try {
      const session = await withTimeout(connection.create(KEEPALIVE_SECONDS), CONNECT_TIMEOUT_MS, 'create a session');
      const handle = await withTimeout(session.attach(VideoRoomPlugin), CONNECT_TIMEOUT_MS, 'attach to the VideoRoom plugin');
      admin = { connection, session, handle };
    } catch (err) {
      connection.close().catch(() => {});
      throw err;
    }
    if (this.#closed) {
      connection.close().catch(() => {});
      throw new ParleyServerError('unavailable', 'the server is shutting down');
    }
    connection.once(Janode.EVENT.CONNECTION_ERROR, (err: Error) => this.#dropped(admin, `connection dropped (${err.message})`));
    connection.once(Janode.EVENT.CONNECTION_CLOSED, () => this.#dropped(admin, 'connection closed'));
    admin.session.once(Janode.EVENT.SESSION_DESTROYED, () => this.#dropped(admin, 'session destroyed'));
    const reconnected = this.#everConnected;
    this.#everConnected = true;
    this.#connected = admin;
    this.#log.info({ url: this.url, reconnected }, 'connected to Janus');
    if (reconnected) await this.#hooks.reconnected(this, admin.handle);
    return admin;
  }

  /** The connection went while in use (Janus died, or the network): one failure; the next check or request reconnects. */
  #dropped(admin: Admin, why: string): void {
    if (this.#connected !== admin) return;
    this.#lost(admin, why);
    if (!this.#closed) this.#failed();
  }

  /** Forgets the admin connection: the next request or check opens another. */
  #lost(admin: Admin, why: string): void {
    if (this.#connected !== admin) return;
    this.#connected = null;
    this.#admin = null;
    admin.connection.close().catch(() => {});
    if (!this.#closed) this.#log.warn({ url: this.url, why }, 'lost the connection to Janus');
  }
}

/**
 * The Janus instances of JANUS_URL, each health-checked (once started) every `intervalMs`, and told apart
 * by their URL (what a stored room names). With one instance it is simply that Janus.
 */
export class JanusPool {
  readonly instances: readonly JanusInstance[];
  #started = false;

  constructor(opts: {
    instances: readonly JanusInstanceConfig[];
    apiSecret: string | null;
    log: Logger;
    timing?: Partial<HealthCheckTiming>;
    /** Janus may have lost the rooms it held (it was reconnected to, after a drop). */
    onReconnected: (instance: JanusInstance, handle: VideoRoomHandle) => Promise<void>;
    onHealth: (instance: JanusInstance, health: JanusHealth) => void;
  }) {
    if (opts.instances.length === 0) throw new Error('a Janus pool needs at least one instance');
    const timing = { ...DEFAULT_HEALTH_CHECK, ...opts.timing };
    const hooks: InstanceHooks = { reconnected: opts.onReconnected, health: opts.onHealth };
    this.instances = opts.instances.map((config, i) => new JanusInstance(config, i, { apiSecret: opts.apiSecret, log: opts.log, hooks, timing }));
  }

  /** The instance at `url` (a stored room's), or null when JANUS_URL does not list it (any more). */
  byUrl(url: string): JanusInstance | null {
    return this.instances.find((instance) => instance.url === url) ?? null;
  }

  /** Starts the health checks (on first use: a server that never makes a call never connects). Idempotent. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const instance of this.instances) instance.startChecks();
  }

  /** The instances that may take a room, least `load` first (JANUS_URL's order between equals); down ones are left out. */
  candidates(load: (instance: JanusInstance) => number, except: JanusInstance | null = null): JanusInstance[] {
    return this.instances
      .filter((instance) => instance.health !== 'down' && instance !== except)
      .map((instance) => ({ instance, load: load(instance), checked: instance.health === 'up' ? 0 : 1 }))
      .sort((a, b) => a.load - b.load || a.checked - b.checked || a.instance.index - b.instance.index)
      .map((c) => c.instance);
  }

  async close(): Promise<void> {
    await Promise.all(this.instances.map((instance) => instance.close()));
  }
}

export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
