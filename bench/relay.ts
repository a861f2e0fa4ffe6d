import type { IncomingMessage } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';

/*
 * The baseline the chat benchmark compares Parley with: a bare WebSocket relay. No auth, no storage,
 * no validation. It pairs sockets into conversations by query parameters and forwards each frame,
 * byte for byte, to the peer:
 *
 *   ws://HOST:PORT/ws?agent=A           an agent's socket (carries many conversations)
 *   ws://HOST:PORT/ws?conv=C&agent=A    a visitor's socket in conversation C, served by agent A
 *
 * A visitor's frame goes to its agent's socket without being read. An agent's frame is parsed only to
 * find its `sessionID` (the conversation), then goes to that visitor's socket.
 */

/** A running relay. */
export interface Relay {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts a relay on HOST:PORT (PORT 0 picks a free port). */
export function startRelay(port: number, host: string): Promise<Relay> {
  const agents = new Map<string, WebSocket>();
  const visitors = new Map<string, WebSocket>();
  const server = new WebSocketServer({ port, host, path: '/ws', perMessageDeflate: false });

  server.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const query = new URL(request.url ?? '/', 'ws://relay').searchParams;
    const agentID = query.get('agent');
    const conversationID = query.get('conv');
    if (agentID === null) {
      socket.close(4400, 'agent parameter required');
      return;
    }
    if (conversationID === null) {
      agents.set(agentID, socket);
      socket.on('message', (data, isBinary) => {
        const peer = visitors.get(sessionIDOf(data));
        if (peer?.readyState === WebSocket.OPEN) peer.send(data, { binary: isBinary });
      });
      socket.on('close', () => {
        if (agents.get(agentID) === socket) agents.delete(agentID);
      });
    } else {
      visitors.set(conversationID, socket);
      socket.on('message', (data, isBinary) => {
        const peer = agents.get(agentID);
        if (peer?.readyState === WebSocket.OPEN) peer.send(data, { binary: isBinary });
      });
      socket.on('close', () => {
        if (visitors.get(conversationID) === socket) visitors.delete(conversationID);
      });
    }
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      const address = server.address();
      if (typeof address !== 'object' || address === null) {
        reject(new Error('relay has no TCP address'));
        return;
      }
      resolve({
        port: address.port,
        close: () =>
          new Promise<void>((done) => {
            for (const client of server.clients) client.terminate();
            server.close(() => done());
          }),
      });
    });
  });
}

/** The `sessionID` of a JSON frame, or '' when it has none. */
function sessionIDOf(data: WebSocket.RawData): string {
  try {
    const frame = JSON.parse(data.toString()) as { sessionID?: unknown };
    return typeof frame.sessionID === 'string' ? frame.sessionID : '';
  } catch {
    return '';
  }
}
