/*
 * A 1:1 video call with the visitor's browser behind a link the test controls (e2e/support/netns.ts): the server
 * listens on the host side of the veth pair, the agent's browser runs here, the visitor's in the namespace. Both
 * browsers are told to treat the server's origin as secure (it is not loopback), so the pages may use the camera.
 * Resolves once media flows both ways across the veth.
 */
import { chromium, type Browser } from 'playwright-core';
import { CallPage, escalate, type CallDesk } from './callParties.ts';
import { CHROMIUM_FLAGS, CHROMIUM_PATH, createAgent, startParley, waitFor, type Cleanup, type ParleyServer } from './harness.ts';
import { waitForMediaFlowing } from './media.ts';
import type { NetworkNamespace } from './netns.ts';

export interface VethCall {
  server: ParleyServer;
  agent: CallPage;
  visitor: CallPage;
  /** The event cursors from before the call was asked for. */
  since: { visitorSince: number; agentSince: number };
}

/** A server on the host side of the veth, a browser here and one behind the link (in the namespace). */
export interface VethSides {
  server: ParleyServer;
  here: Browser;
  behindLink: Browser;
}

/**
 * Starts Parley on the host side of the veth and one browser on each side, both told to treat the server's
 * origin as secure; `cleanup` stops all three.
 */
export async function startAcrossVeth(ns: NetworkNamespace, cleanup: Cleanup, env: Record<string, string> = {}): Promise<VethSides> {
  const server = await startParley({ host: ns.hostAddress, env });
  cleanup.add(() => server.stop());
  const args = [...CHROMIUM_FLAGS, `--unsafely-treat-insecure-origin-as-secure=${server.url}`];
  const launch = async (executablePath: string): Promise<Browser> => {
    const browser = await chromium.launch({ executablePath, args });
    cleanup.add(() => browser.close());
    return browser;
  };
  return { server, here: await launch(CHROMIUM_PATH), behindLink: await launch(ns.chromium) };
}

/** The agent here and the visitor behind the link, chatting (the conversation routed to the agent), no call yet. */
export async function deskAcrossVeth(ns: NetworkNamespace, cleanup: Cleanup, env: Record<string, string> = {}): Promise<CallDesk> {
  const { server, here, behindLink } = await startAcrossVeth(ns, cleanup, env);
  const account = { email: 'quinn@example.test', name: 'Quinn Agent', password: 'correct horse battery' };
  createAgent(server.dataDir, account);
  const agent = await CallPage.open(here, server.url, 'agent');
  await agent.connectAgent(account);
  const visitor = await CallPage.open(behindLink, server.url, 'visitor');
  await visitor.connectVisitor('Vera Visitor');
  const sessionID = await visitor.startChat('Can you see me?');
  await waitFor(async () => (await agent.sessionID()) === sessionID, { what: 'the conversation to reach the agent' });
  return { server, account, agent, visitor, sessionID };
}

export async function callAcrossVeth(ns: NetworkNamespace, cleanup: Cleanup, env: Record<string, string> = {}): Promise<VethCall> {
  const desk = await deskAcrossVeth(ns, cleanup, env);
  const { server, agent, visitor } = desk;
  const since = await escalate(desk);
  await waitForMediaFlowing(agent.page, { remoteId: visitor.id, what: 'visitor → agent, across the veth' });
  await waitForMediaFlowing(visitor.page, { remoteId: agent.id, what: 'agent → visitor, across the veth' });
  return { server, agent, visitor, since };
}
