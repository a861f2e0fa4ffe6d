/*
 * What the spec files share: one browser for the whole file (and, as the file needs, one Parley server
 * with the agent accounts the file signs in with, or a Janus), started in `before` and stopped in `after`
 * whether the tests passed or failed, together with everything the tests added to `cleanup` — servers of
 * a test's own (`startServer`) included.
 */
import { after, before } from 'node:test';
import type { Browser } from 'playwright-core';
import {
  Cleanup,
  createAgent,
  launchBrowser,
  startParley,
  type AgentAccount,
  type ParleyServer,
  type StartOptions,
} from './harness.ts';
import { startJanus, type JanusServer } from './janus.ts';

/** The file's browser; read it inside tests and hooks (it exists once `before` ran). */
export interface BrowserFixture {
  readonly cleanup: Cleanup;
  readonly browser: Browser;
  /** Starts a server of the caller's own with `accounts`; it stops with the file's cleanup. */
  startServer(accounts?: readonly AgentAccount[], opts?: StartOptions): Promise<ParleyServer>;
}

/** The file's browser and server. */
export interface SpecFixture extends BrowserFixture {
  readonly server: ParleyServer;
}

/** The file's browser and Janus (tests start their servers with JANUS_URL pointing at it). */
export interface JanusFixture extends BrowserFixture {
  readonly janus: JanusServer;
}

/** Something `before` starts: reading it earlier is a mistake in the spec, said as such. */
class Started<T> {
  readonly #what: string;
  #value: T | undefined;
  constructor(what: string) {
    this.#what = what;
  }
  set(value: T): T {
    this.#value = value;
    return value;
  }
  get(): T {
    if (this.#value === undefined) throw new Error(`${this.#what} starts in before()`);
    return this.#value;
  }
}

class FileBrowser implements BrowserFixture {
  readonly cleanup = new Cleanup();
  readonly #browser = new Started<Browser>('the browser');

  constructor() {
    before(async () => {
      const browser = this.#browser.set(await launchBrowser());
      this.cleanup.add(() => browser.close());
    });
    after(() => this.cleanup.run());
  }

  get browser(): Browser {
    return this.#browser.get();
  }

  async startServer(accounts: readonly AgentAccount[] = [], opts: StartOptions = {}): Promise<ParleyServer> {
    const server = await startParley(opts);
    this.cleanup.add(() => server.stop());
    for (const account of accounts) createAgent(server.dataDir, account);
    return server;
  }
}

class FileBrowserAndServer extends FileBrowser implements SpecFixture {
  readonly #server = new Started<ParleyServer>('the server');

  constructor(accounts: readonly AgentAccount[], opts: StartOptions) {
    super();
    before(async () => {
      this.#server.set(await this.startServer(accounts, opts));
    });
  }

  get server(): ParleyServer {
    return this.#server.get();
  }
}

class FileBrowserAndJanus extends FileBrowser implements JanusFixture {
  readonly #janus = new Started<JanusServer>('Janus');

  constructor() {
    super();
    before(async () => {
      const janus = this.#janus.set(await startJanus());
      this.cleanup.add(() => janus.stop());
    });
  }

  get janus(): JanusServer {
    return this.#janus.get();
  }
}

/** Registers the file's `before`/`after` for a browser alone (each test starts its own server). */
export function browserOnly(): BrowserFixture {
  return new FileBrowser();
}

/** Registers the file's `before`/`after`: a browser, a server (started with `opts`) with `accounts`, and their teardown. */
export function browserAndServer(accounts: readonly AgentAccount[] = [], opts: StartOptions = {}): SpecFixture {
  return new FileBrowserAndServer(accounts, opts);
}

/** Registers the file's `before`/`after`: a browser, a Janus, and their teardown. */
export function browserAndJanus(): JanusFixture {
  return new FileBrowserAndJanus();
}
