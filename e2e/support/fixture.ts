/*
 * What most spec files share: one browser and one Parley server for the whole file, started in
 * `before` (with the agent accounts the file signs in with) and stopped in `after` whether the tests
 * passed or failed, together with everything the tests added to `cleanup`.
 */
import { after, before } from 'node:test';
import type { Browser } from 'playwright-core';
import { Cleanup, createAgent, launchBrowser, startParley, type AgentAccount, type ParleyServer } from './harness.ts';

/** The file's browser and server; read them inside tests and hooks (they exist once `before` ran). */
export interface SpecFixture {
  readonly cleanup: Cleanup;
  readonly browser: Browser;
  readonly server: ParleyServer;
}

/** Registers the file's `before`/`after`: a browser, a server with `accounts`, and their teardown. */
export function browserAndServer(accounts: readonly AgentAccount[] = []): SpecFixture {
  const cleanup = new Cleanup();
  let browser: Browser | undefined;
  let server: ParleyServer | undefined;
  before(async () => {
    browser = await launchBrowser();
    cleanup.add(() => browser?.close());
    server = await startParley();
    cleanup.add(() => server?.stop());
    for (const account of accounts) createAgent(server.dataDir, account);
  });
  after(() => cleanup.run());
  return {
    cleanup,
    get browser() {
      if (!browser) throw new Error('the browser starts in before()');
      return browser;
    },
    get server() {
      if (!server) throw new Error('the server starts in before()');
      return server;
    },
  };
}
