/*
 * The real Parley server, in this process, for the SDK's Node tests that need its rules (calls):
 * started the way the server's integration tests start it (a temporary DATA_DIR, port 0), with real
 * visitor and agent tokens from its HTTP API. Test-only, never imported by the SDK itself.
 */
import type { IceServerInfo, Party } from '@parley/protocol';
import { newAgent, newVisitor, startTestServer } from '../../../server/test/support/server.ts';

/** A running server; `stop` closes it and removes its data directory. */
export type InProcessServer = Awaited<ReturnType<typeof startTestServer>>;

/** The ICE servers the test server hands out in `call.join`. */
export const TEST_ICE_SERVERS: IceServerInfo[] = [{ urls: 'stun:127.0.0.1:3478' }];

/** Starts the server; `env` overrides its configuration (e.g. `CALL_RING_SECONDS`). */
export function startInProcessServer(env: Record<string, string> = {}): Promise<InProcessServer> {
  return startTestServer({ ICE_SERVERS: JSON.stringify(TEST_ICE_SERVERS), ...env });
}

/** Both sides of one conversation the server routed: who they are and their tokens. */
export interface RoutedConversation {
  sessionID: string;
  visitor: { party: Party; token: string };
  agent: { party: Party; token: string };
}

/**
 * A visitor starts a chat and the server routes it to a new agent, over raw-protocol clients that are
 * closed again before returning: the SDK sessions of the test then find the conversation in `ready`.
 * The agent is the only one online (earlier agents of the server must be disconnected).
 */
export async function routedConversation(server: InProcessServer, names = { visitor: 'Vera', agent: 'Ana' }): Promise<RoutedConversation> {
  const agent = await newAgent(server, names.agent);
  const visitor = await newVisitor(server, names.visitor);
  try {
    const { conversation } = await visitor.client.request('chat.start', {});
    await agent.client.waitFor((f) => f.type === 'conversation.assigned' && f.conversation.sessionID === conversation.sessionID);
    return {
      sessionID: conversation.sessionID,
      visitor: { party: visitor.client.ready.identity, token: visitor.token },
      agent: { party: agent.client.ready.identity, token: agent.token },
    };
  } finally {
    await Promise.all([visitor.client.close(), agent.client.close()]);
  }
}
