/*
 * An HAProxy of the test's own in front of one Parley server: writes a configuration into a temporary directory
 * (mode http, `option forwardfor`, WebSocket-friendly timeouts, as in README "Behind a reverse proxy"), starts
 * `haproxy -db -f <cfg>` in the foreground as a child, and resolves once its port on 127.0.0.1 accepts
 * connections. Fails loudly when HAProxy is missing (`.ci/run` installs it) or exits, with what it printed.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, makeTempDir, startDaemon, systemBinary } from '../../../../e2e/support/harness.ts';

/** An HAProxy started by {@link startHaproxy}. */
export interface Haproxy {
  /** Its frontend, e.g. http://127.0.0.1:41234. */
  url: string;
  port: number;
  /** Everything it printed so far. */
  output(): string;
  /** Stops it (SIGTERM, then SIGKILL if it lingers) and removes its configuration directory. */
  stop(): Promise<void>;
}

function config(port: number, backendPort: number): string {
  return `global
    nbthread 1
    maxconn 2000

defaults
    mode http
    option forwardfor
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s
    # WebSockets: once upgraded, the tunnel timeout applies; Parley closes silent ones itself.
    timeout tunnel 1h

frontend chat
    bind 127.0.0.1:${port}
    default_backend parley

backend parley
    server parley1 127.0.0.1:${backendPort}
`;
}

/** Resolves true when something accepts a TCP connection on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port }, () => (socket.destroy(), done(true)));
    socket.once('error', () => (socket.destroy(), done(false)));
  });
}

/**
 * Starts an HAProxy on a free port of 127.0.0.1 that forwards to the Parley server on 127.0.0.1:`backendPort`.
 * @throws when HAProxy is not installed, exits, or does not accept connections in time (with its output's tail).
 */
export async function startHaproxy(backendPort: number, opts: { readyTimeoutMs?: number } = {}): Promise<Haproxy> {
  const binary = systemBinary('haproxy', 'PARLEY_HAPROXY', '/usr/sbin/haproxy');
  if (!existsSync(binary)) {
    throw new Error(
      `HAProxy is missing at ${binary}. The proxy case is tested against a real HAProxy and never skipped: ` +
        'install it with `apt-get install -y haproxy` (or run .ci/run, which does), or point PARLEY_HAPROXY at an HAProxy binary.',
    );
  }
  const dir = await makeTempDir('parley-haproxy-');
  const port = await freePort();
  const cfg = join(dir, 'haproxy.cfg');
  await writeFile(cfg, config(port, backendPort));

  const daemon = await startDaemon({
    name: 'haproxy',
    binary,
    args: ['-db', '-f', cfg],
    dir,
    ready: () => accepts(port),
    what: `HAProxy to accept connections on 127.0.0.1:${port}`,
    timeoutMs: opts.readyTimeoutMs ?? 10_000,
  });
  return { url: `http://127.0.0.1:${port}`, port, ...daemon };
}
