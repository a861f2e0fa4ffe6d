/*
 * A visitor and an agent as bare pages on the server's origin, each in its own browser context, acting
 * through the real SDK (`/sdk/parley.js`) via the in-page call driver (e2e/support/page/driver.ts). A "desk" is a
 * fresh server with one agent and one visitor already chatting, ready for a call.
 */
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { ActResult, CallMethod, DriverEvent } from './page/driver.ts';
import {
  Cleanup,
  createAgent,
  newParty,
  startParley,
  waitFor,
  type AgentAccount,
  type Party,
  type ParleyServer,
} from './harness.ts';
import { CALL_DIV_ID, installInPageTools, loadCallPage, timeline } from './media.ts';

export type { ActResult, CallMethod, DriverEvent } from './page/driver.ts';

/** One person in a call test: a page on the server's origin with the SDK and the in-page tools. */
export class CallPage {
  /** The party's id (visitor or agent), once connected. */
  id = '';
  /** Uncaught page errors and console errors, except the browser's own favicon request for the origin page. */
  readonly errors: string[] = [];

  private constructor(
    readonly party: Party,
    readonly baseUrl: string,
    readonly label: string,
  ) {}

  /** Opens a new browser context for one party and loads the bare call page. */
  static async open(browser: Browser, baseUrl: string, label: string): Promise<CallPage> {
    const party = await newParty(browser);
    await installInPageTools(party.page);
    const callPage = new CallPage(party, baseUrl, label);
    party.page.on('pageerror', (error) => callPage.errors.push(`pageerror: ${error.message}`));
    party.page.on('console', (message) => {
      if (message.type() !== 'error' || message.location().url.endsWith('/favicon.ico')) return;
      callPage.errors.push(`console: ${message.text()} (${message.location().url})`);
    });
    await callPage.load();
    return callPage;
  }

  get page(): Page {
    return this.party.page;
  }

  /** Loads the bare call page (again, for a reload): the SDK is loaded and the tools are installed. */
  async load(): Promise<void> {
    await loadCallPage(this.page, this.baseUrl);
  }

  /** Connects as a visitor (resuming the stored identity after a reload). */
  async connectVisitor(name?: string, call?: Record<string, unknown>): Promise<{ id: string; sessionID: string | null }> {
    const url = this.baseUrl;
    const result = await this.page.evaluate(([server, n, c]) => window.parleyE2E.connectVisitor(server!, n, c ?? undefined), [url, name, call ?? null] as const);
    this.id = result.id;
    return result;
  }

  /** Connects as an agent with email and password. */
  async connectAgent(account: AgentAccount): Promise<void> {
    const args = [this.baseUrl, account.email, account.password] as const;
    const result = await this.page.evaluate(([server, email, password]) => window.parleyE2E.connectAgent(server, email, password), args);
    this.id = result.id;
  }

  /** Joins a call as a guest with an invitation token. */
  async joinAsGuest(token: string, name: string): Promise<void> {
    const args = [this.baseUrl, token, name, CALL_DIV_ID] as const;
    const result = await this.page.evaluate(([server, t, n, div]) => window.parleyE2E.joinAsGuest(server, t, n, div), args);
    if (!result.ok) assert.fail(`${this.label}: joinAsGuest rejected: ${result.code}: ${result.message}`);
    this.id = (result.value as { id: string }).id;
  }

  /** The visitor opens its conversation. */
  async startChat(text?: string): Promise<string> {
    const result = await this.page.evaluate((t) => window.parleyE2E.startChat(t ?? undefined), text ?? null);
    return result.sessionID;
  }

  /** The sessionID of the conversation this page acts in, or null. */
  sessionID(): Promise<string | null> {
    return this.page.evaluate(() => window.parleyE2E.sessionID());
  }

  /** Calls a call method of the contact; never throws for an SDK rejection (see ActResult). */
  act(method: CallMethod, args: unknown[] = [], markAs?: string): Promise<ActResult> {
    return this.page.evaluate(([m, a, k]) => window.parleyE2E.act(m, a, k ?? undefined), [method, args, markAs ?? null] as const);
  }

  /** Calls a call method and fails the test when the SDK rejects it. */
  async actOk(method: CallMethod, args: unknown[] = [], markAs?: string): Promise<unknown> {
    const result = await this.act(method, args, markAs);
    if (!result.ok) assert.fail(`${this.label}: contact.${method}(${JSON.stringify(args).slice(1, -1)}) rejected: ${result.code}: ${result.message}`);
    return result.value;
  }

  /** Answers the latest videoInvite (accept renders into the call div). */
  answerInvite(accept: boolean, markAs?: string): Promise<ActResult> {
    return this.page.evaluate(([a, div, k]) => window.parleyE2E.answerInvite(a, div, k ?? undefined), [accept, CALL_DIV_ID, markAs ?? null] as const);
  }

  /** Every contact event recorded since the page loaded. */
  events(): Promise<DriverEvent[]> {
    return this.page.evaluate(() => window.parleyE2E.events.slice());
  }

  /** How many events were recorded so far (a cursor for `waitForEvent`). */
  async eventCount(): Promise<number> {
    return this.page.evaluate(() => window.parleyE2E.events.length);
  }

  /** Waits for the first event named `name` at or after index `since` that matches. */
  async waitForEvent(name: string, opts: { since?: number; match?: (data: Record<string, unknown>) => boolean; timeoutMs?: number } = {}): Promise<DriverEvent> {
    const { since = 0, match = () => true, timeoutMs = 15_000 } = opts;
    try {
      return await waitFor(
        async () => (await this.events()).slice(since).find((e) => e.name === name && match((e.data ?? {}) as Record<string, unknown>)),
        { what: `${this.label} to get "${name}"`, timeoutMs },
      );
    } catch (error) {
      const seen = (await this.events()).map((e) => `${e.name} ${JSON.stringify(e.data).slice(0, 160)}`);
      throw new Error(`${(error as Error).message}; events so far: ${seen.join(' | ')}; errors: ${this.errors.join('; ') || 'none'}`);
    }
  }

  /** The contact's `video` snapshot. */
  video(): Promise<{ state: string; useAudio: boolean; useVideo: boolean; participants: Array<{ id: string; audio: boolean; video: boolean }> }> {
    return this.page.evaluate(() => window.parleyE2E.video() as never);
  }

  /** The session's signaling link state (`connected`, `reconnecting`, …). */
  connectionState(): Promise<string | null> {
    return this.page.evaluate(() => window.parleyE2E.connectionState());
  }

  /** Waits until `contact.video.state` is `state`. */
  async waitForVideoState(state: string): Promise<void> {
    let last = '';
    await waitFor(
      async () => {
        const video = await this.video();
        last = JSON.stringify(video);
        return video?.state === state;
      },
      { what: `${this.label}'s contact.video.state to be "${state}"`, timeoutMs: 15_000 },
    ).catch((e: Error) => {
      throw new Error(`${e.message}; video = ${last}`);
    });
  }

  /** The callId of the latest call this page heard of (from the `call.updated` frames the probe saw). */
  async latestCallId(): Promise<string> {
    const entries = await timeline(this.page);
    const updates = entries.filter((e) => e.what.startsWith('ws:recv call.updated'));
    const last = updates.at(-1)?.what.split(' ').at(-1);
    if (!last) assert.fail(`${this.label} has seen no call.updated frame`);
    return last;
  }

  /** The conversation's messages as the SDK holds them. */
  transcript(): Promise<Array<{ seq: number; kind: string; text: string }>> {
    return this.page.evaluate(() => window.parleyE2E.transcript());
  }
}

/** A server with an agent and a visitor chatting in one conversation. */
export interface CallDesk {
  server: ParleyServer;
  account: AgentAccount;
  agent: CallPage;
  visitor: CallPage;
  sessionID: string;
}

let deskCount = 0;

/**
 * Starts a server (with `env`), creates an agent, connects it in its own context, then a visitor in
 * another context who starts a chat; resolves once routing has given the conversation to the agent.
 */
export async function openCallDesk(browser: Browser, cleanup: Cleanup, env: Record<string, string> = {}): Promise<CallDesk> {
  deskCount += 1;
  const server = await startParley({ env });
  cleanup.add(() => server.stop());
  const account: AgentAccount = { email: `ana${deskCount}@example.test`, name: 'Ana Agent', password: 'correct horse battery' };
  createAgent(server.dataDir, account, env);
  const agent = await CallPage.open(browser, server.url, 'agent');
  cleanup.add(() => agent.party.context.close());
  await agent.connectAgent(account);
  const visitor = await CallPage.open(browser, server.url, 'visitor');
  cleanup.add(() => visitor.party.context.close());
  await visitor.connectVisitor('Vic Visitor');
  const sessionID = await visitor.startChat('Can we talk on video?');
  await waitFor(async () => (await agent.sessionID()) === sessionID, { what: 'the conversation to reach the agent' });
  return { server, account, agent, visitor, sessionID };
}

/** Page errors of both parties, for failure messages. */
export function deskErrors(desk: CallDesk): string {
  return `agent: ${desk.agent.errors.join('; ') || 'none'} | visitor: ${desk.visitor.errors.join('; ') || 'none'}`;
}

/** What `escalate` asks for. */
export interface EscalateOptions {
  useAudio?: boolean;
  useVideo?: boolean;
}

/**
 * The customer-initiated path up to a started call: the visitor requests, the agent gets
 * `requestVideoUpgrade` and accepts into its call div, both sides get `videoStarted`.
 * Returns the event cursors from before the request, for later waits.
 */
export async function escalate(desk: CallDesk, opts: EscalateOptions = {}): Promise<{ visitorSince: number; agentSince: number }> {
  const { useAudio = true, useVideo = true } = opts;
  const visitorSince = await desk.visitor.eventCount();
  const agentSince = await desk.agent.eventCount();
  await desk.visitor.actOk('requestVideoUpgrade', [CALL_DIV_ID, useAudio, useVideo]);
  await desk.agent.waitForEvent('requestVideoUpgrade', { since: agentSince });
  await desk.agent.actOk('responseVideoUpgrade', [true, CALL_DIV_ID], 'accept');
  await desk.visitor.waitForEvent('responseVideoUpgrade', { since: visitorSince, match: (e) => e.response === true });
  await desk.visitor.waitForEvent('videoStarted', { since: visitorSince });
  await desk.agent.waitForEvent('videoStarted', { since: agentSince });
  return { visitorSince, agentSince };
}
