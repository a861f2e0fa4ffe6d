import assert from 'node:assert/strict';
import type { CallSnapshot, ServerFrame } from '@parley/protocol';
import { makeTempDir, removeDir, startParley, type ParleyServer } from '../../../../e2e/support/harness.ts';
import { createAgent } from '../../src/app.ts';
import { openStore } from '../../src/store/index.ts';
import { createVisitor, loginAgent } from '../support/http.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { ProtocolClient, type ConnectedClient } from '../support/ProtocolClient.ts';
import { TEST_SECRET } from '../support/server.ts';

/** The stores restart tests run on: PARLEY_TEST_STORE picks one; both when unset. */
export const restartStores = process.env['PARLEY_TEST_STORE'] ? [process.env['PARLEY_TEST_STORE']] : ['sqlite', 'postgres'];

export const callIn = (state: CallSnapshot['state'], callId: string) => (f: ServerFrame) =>
  f.type === 'call.updated' && f.call.state === state && f.call.callId === callId;

/**
 * A Parley process (the real CLI) on one store that a test kills or stops and starts again on the same data,
 * database and port, with the clients that talk to it.
 */
export class RestartDesk {
  server: ParleyServer;
  readonly #clients: ProtocolClient[] = [];
  #agents = 0;

  private constructor(
    server: ParleyServer,
    readonly dataDir: string,
    readonly database: TestDatabase | null,
    readonly env: Record<string, string>,
  ) {
    this.server = server;
  }

  static async start(store: string, env: Record<string, string> = {}): Promise<RestartDesk> {
    const dataDir = await makeTempDir('parley-restart-');
    const database = store === 'postgres' ? await createTestDatabase('restart') : null;
    const full = { TOKEN_SECRET: TEST_SECRET, ...env, ...(database ? { DATABASE_URL: database.url } : {}) };
    try {
      return new RestartDesk(await startParley({ dataDir, env: full }), dataDir, database, full);
    } catch (err) {
      await database?.drop();
      await removeDir(dataDir);
      throw err;
    }
  }

  async stop(): Promise<void> {
    for (const c of this.#clients) c.ws.terminate();
    await this.server.stop();
    await this.database?.drop();
    await removeDir(this.dataDir);
  }

  /**
   * Kills (or stops) the server and starts it again on the same data and port; resolves with when it went down.
   * `env` replaces the environment of the new process (a crash hook is for the first one only).
   */
  async restart(signal: NodeJS.Signals, env: Record<string, string> = this.env): Promise<Date> {
    await this.server.kill(signal);
    const downAt = new Date();
    this.server = await startParley({ dataDir: this.dataDir, port: Number(new URL(this.server.url).port), env });
    return downAt;
  }

  async connect(token: string): Promise<ConnectedClient> {
    const client = await ProtocolClient.connect(this.server.url, token, { timeoutMs: 10_000 });
    this.#clients.push(client);
    return client;
  }

  /** An agent (made in the store directly) and a visitor in an assigned chat; earlier clients are dropped. */
  async chat() {
    for (const c of this.#clients.splice(0)) c.ws.terminate();
    const email = `agent${++this.#agents}@example.test`;
    const store = await openStore({ dataDir: this.dataDir, databaseUrl: this.database?.url ?? null });
    try {
      await createAgent(store, { email, name: `Ann ${this.#agents}`, password: 'correct horse battery' });
    } finally {
      await store.close();
    }
    const agentLogin = await loginAgent(this.server.url, email, 'correct horse battery');
    const visitorBody = await createVisitor(this.server.url, 'Vera');
    const agent = await this.connect(agentLogin.token);
    const visitor = await this.connect(visitorBody.token);
    const sessionID = (await visitor.request('chat.start', {})).conversation.sessionID;
    await agent.waitFor((f) => f.type === 'conversation.assigned' && f.conversation.sessionID === sessionID);
    return { agent, visitor, sessionID, agentToken: agentLogin.token, visitorToken: visitorBody.token, visitorId: visitorBody.visitor.id, agentId: agentLogin.agent.id };
  }

  /** A chat whose video call is active (both joined, one link reported connected). */
  async activeCall() {
    const c = await this.chat();
    const { call } = await c.visitor.request('call.request', { sessionID: c.sessionID, useAudio: true, useVideo: true });
    await c.agent.request('call.answer', { sessionID: c.sessionID, callId: call.callId, accept: true });
    const visitorJoin = await c.visitor.request('call.join', { sessionID: c.sessionID, callId: call.callId });
    const agentJoin = await c.agent.request('call.join', { sessionID: c.sessionID, callId: call.callId });
    c.visitor.send({ type: 'call.connection', sessionID: c.sessionID, callId: call.callId, peerId: c.agentId, state: 'connected' });
    await c.agent.waitFor(callIn('active', call.callId));
    return { ...c, callId: call.callId, visitorJoin, agentJoin };
  }
}

/** The event texts of a conversation's transcript. */
export async function eventTexts(client: ProtocolClient, sessionID: string): Promise<string[]> {
  const page = await client.request('conversation.sync', { sessionID, afterSeq: 0 });
  assert.equal(page.more, false, 'the transcript fits one page');
  return page.messages.filter((m) => m.kind === 'event').map((m) => m.text);
}
