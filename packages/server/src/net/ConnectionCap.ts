import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ProxyTrust } from './ProxyTrust.ts';

/**
 * Counts the open connections of each client address and refuses one over the cap. Each `acquire` that
 * succeeded is paired with exactly one `release` of the same address.
 */
export class ConnectionCap {
  readonly #open = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Counts one more connection of `address`; false (and nothing counted) when it holds `max` already. */
  acquire(address: string): boolean {
    const open = this.#open.get(address) ?? 0;
    if (open >= this.max) return false;
    this.#open.set(address, open + 1);
    return true;
  }

  release(address: string): void {
    const open = this.#open.get(address) ?? 0;
    if (open <= 1) this.#open.delete(address);
    else this.#open.set(address, open - 1);
  }

  /** Open connections of `address`. */
  count(address: string): number {
    return this.#open.get(address) ?? 0;
  }
}

/**
 * Applies the cap to every TCP connection of an HTTP server, keyed by the peer's address. A trusted proxy's
 * connections are not capped here (they carry many clients); the WebSocket upgrade caps those per forwarded
 * client. Over the cap the socket gets a plain 503 and is closed before any request is read.
 */
export function capConnections(server: Server, cap: ConnectionCap, trust: ProxyTrust, onRefused: (address: string) => void): void {
  server.on('connection', (socket: Socket) => {
    const address = trust.clientAddress(socket.remoteAddress, undefined);
    if (trust.isTrusted(address)) return;
    if (!cap.acquire(address)) {
      onRefused(address);
      const text = 'too many connections from this address';
      socket.end(`HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`, () => socket.destroy());
      return;
    }
    socket.once('close', () => cap.release(address));
  });
}
