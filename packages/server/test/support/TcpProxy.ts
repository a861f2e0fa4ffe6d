import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/** One client connection through the proxy, and its connection to the target once made. */
interface Link {
  client: Socket;
  upstream: Socket | null;
}

/**
 * A TCP proxy on a free loopback port, for tests that take a dependency (PostgreSQL) away from a running
 * server and give it back:
 * - `cut()`: every connection through it is destroyed, and new ones are reset as soon as they arrive
 *   (the database went away); `cutAfter(marker)` does it right after a given request has gone through;
 * - `stall()`: connections stay open but nothing goes through either way, and new ones are held, never
 *   answered (a black-holed network);
 * - `restore()`: new connections go through again, and stalled or held ones carry on where they stopped.
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #links = new Set<Link>();
  #mode: 'open' | 'cut' | 'stalled' = 'open';
  /** Bytes that, once a client has sent them on, make the proxy cut (see {@link cutAfter}). */
  #cutMarker: Buffer | null = null;
  /** Connections accepted: how many times the server behind it connected. */
  accepted = 0;

  private constructor(
    readonly targetHost: string,
    readonly targetPort: number,
  ) {
    this.#server = createServer((client) => this.#accept(client));
  }

  /** Listens on 127.0.0.1 (a free port) and forwards to the target. */
  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Live connections through the proxy. */
  get connections(): number {
    return this.#links.size;
  }

  /** Destroys every connection; new ones are reset on arrival until {@link restore}. */
  cut(): void {
    this.#mode = 'cut';
    for (const link of this.#links) this.#drop(link);
  }

  /**
   * Cuts (as {@link cut}) as soon as a client has sent bytes containing `marker` and they have been passed on:
   * the server behind gets that request, and its answer never comes back. With `commit`, a transaction is
   * committed that its client cannot know of.
   */
  cutAfter(marker: string): void {
    this.#cutMarker = Buffer.from(marker);
  }

  /** Stops forwarding either way, keeping the connections; new ones are held until {@link restore}. */
  stall(): void {
    this.#mode = 'stalled';
    for (const link of this.#links) this.#hold(link);
  }

  /** Forwards again: held connections are connected, stalled ones resume. */
  restore(): void {
    this.#mode = 'open';
    for (const link of this.#links) {
      if (link.upstream === null) this.#connectUpstream(link);
      else this.#forward(link, link.upstream);
    }
  }

  /** Destroys every connection and stops listening. */
  async close(): Promise<void> {
    for (const link of this.#links) this.#drop(link);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.accepted++;
    client.on('error', () => undefined);
    if (this.#mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const link: Link = { client, upstream: null };
    this.#links.add(link);
    client.once('close', () => this.#drop(link));
    if (this.#mode === 'stalled') this.#hold(link);
    else this.#connectUpstream(link);
  }

  #connectUpstream(link: Link): void {
    const upstream = connect(this.targetPort, this.targetHost);
    link.upstream = upstream;
    upstream.on('error', () => undefined);
    upstream.once('close', () => this.#drop(link));
    this.#forward(link, upstream);
  }

  /** Bytes flow as they come, both ways. */
  #forward(link: Link, upstream: Socket): void {
    link.client.pipe(upstream);
    upstream.pipe(link.client);
    if (link.client.listenerCount('data') > 1) return;
    // After the pipe's own listener: the chunk is on its way to the target when this sees it.
    link.client.on('data', (chunk: Buffer) => {
      const marker = this.#cutMarker;
      if (marker === null || this.#mode !== 'open' || !chunk.includes(marker)) return;
      this.#cutMarker = null;
      upstream.write(Buffer.alloc(0), () => this.cut());
    });
  }

  /** Nothing is read either way: what is sent waits in the sockets' buffers, as over a silent network. */
  #hold(link: Link): void {
    link.client.unpipe();
    link.upstream?.unpipe();
    link.client.pause();
    link.upstream?.pause();
  }

  #drop(link: Link): void {
    if (!this.#links.delete(link)) return;
    link.client.destroy();
    link.upstream?.destroy();
  }
}
