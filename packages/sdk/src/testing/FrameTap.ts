/*
 * A WebSocket for the SDK's Node tests that records what crosses it (test-only, never imported by the
 * SDK itself): the `ws` package's WebSocket, with every frame sent and received kept, in order, in a
 * tap shared by all the sockets of one test. Where tests ran against a fake server and asked it what
 * it saw, they now ask the tap what the clients sent to the real server and what it relayed to them.
 */
import type { ClientFrame, ServerFrame } from '@parley/protocol';
import { WebSocket } from 'ws';
import type { WebSocketConstructor } from '../signaling/SignalingChannel.ts';

/** Records the frames of the sockets made by its `WebSocket` constructors. */
export class FrameTap {
  /** Every frame a client sent, in the order sent, with the name of the client. */
  readonly sent: Array<{ by: string; frame: ClientFrame }> = [];
  /** Every frame a client received, in the order received, with the name of the client. */
  readonly received: Array<{ by: string; frame: ServerFrame }> = [];
  readonly #sockets = new Set<WebSocket>();

  /** A WebSocket constructor whose sockets record into this tap under `name`. */
  WebSocket(name: string): WebSocketConstructor {
    const tap = this;
    return class TappedWebSocket extends WebSocket {
      constructor(url: string) {
        super(url);
        tap.#sockets.add(this);
        this.on('close', () => tap.#sockets.delete(this));
        this.on('message', (data) => tap.received.push({ by: name, frame: JSON.parse(String(data)) as ServerFrame }));
        const send = this.send.bind(this);
        this.send = ((data: string, ...rest: never[]) => {
          tap.sent.push({ by: name, frame: JSON.parse(data) as ClientFrame });
          send(data, ...rest);
        }) as WebSocket['send'];
      }
    };
  }

  /** Frames of one type sent by any client so far. */
  sentOf<T extends ClientFrame['type']>(type: T): Array<Extract<ClientFrame, { type: T }>> {
    return this.sent.filter((s) => s.frame.type === type).map((s) => s.frame as Extract<ClientFrame, { type: T }>);
  }

  /** Frames of one type received by any client so far. */
  receivedOf<T extends ServerFrame['type']>(type: T): Array<Extract<ServerFrame, { type: T }>> {
    return this.received.filter((r) => r.frame.type === type).map((r) => r.frame as Extract<ServerFrame, { type: T }>);
  }

  /** Cuts every open socket without a close handshake (the client sees 1006, the server a lost peer). */
  dropConnections(): void {
    for (const socket of this.#sockets) socket.terminate();
  }
}
