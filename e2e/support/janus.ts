/*
 * A Janus of the test's own: copies the system configuration (/etc/janus, Debian's `janus` package) to a
 * temporary directory, pins it to loopback (HTTP off, the WebSocket API on a free port of 127.0.0.1, ICE on
 * `lo` only; `reach` names another address and interface) and starts `janus -F <dir>`. Ready once its WebSocket API answers an `info` request. Used by
 * the integration tests, the end-to-end tests and the benchmarks; fails loudly when Janus is missing or
 * does not start, with the tail of what it printed.
 */
import { existsSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import WebSocket from 'ws';
import { freePort, makeTempDir, startDaemon, systemBinary } from './harness.ts';

/** Where the configuration to copy lives. */
const SYSTEM_CONFIG_DIR = process.env.PARLEY_JANUS_CONFIG ?? '/etc/janus';

/** Transports Parley does not use; some of them also fail noisily when their broker is absent. */
const UNUSED_TRANSPORTS = ['libjanus_http.so', 'libjanus_mqtt.so', 'libjanus_nanomsg.so', 'libjanus_pfunix.so', 'libjanus_rabbitmq.so'];
/** Plugins Parley does not use (the VideoRoom is the only one it needs; echotest is kept for quick probes). */
const UNUSED_PLUGINS = [
  'libjanus_audiobridge.so',
  'libjanus_duktape.so',
  'libjanus_lua.so',
  'libjanus_nosip.so',
  'libjanus_recordplay.so',
  'libjanus_sip.so',
  'libjanus_streaming.so',
  'libjanus_textroom.so',
  'libjanus_videocall.so',
  'libjanus_voicemail.so',
];

/** A Janus started by {@link startJanus}. */
export interface JanusServer {
  /** The WebSocket API, e.g. ws://127.0.0.1:41234 (subprotocol `janus-protocol`). */
  url: string;
  /** The configuration directory it runs from. */
  configDir: string;
  /** Everything it printed so far. */
  output(): string;
  /** `running (pid N)` or how it ended, for failure messages. */
  state(): string;
  /** Stops it (SIGTERM, then SIGKILL if it lingers) and removes its configuration directory. */
  stop(): Promise<void>;
  /** Kills it with `signal` (default SIGKILL: a crash) and resolves once it exited; `stop` still cleans up. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Sets `key = value` in the `section: { … }` block of a Janus .jcfg (libconfig) text: drops any active
 * line of that key in the block (libconfig refuses duplicates) and puts the new one first; `null` only drops.
 */
function setJcfg(text: string, section: string, key: string, value: string | number | boolean | null): string {
  const rendered = typeof value === 'string' ? JSON.stringify(value) : String(value);
  const open = new RegExp(`^${section}:\\s*\\{[^\\n]*$`, 'm').exec(text);
  if (!open) return value === null ? text : `${text}\n${section}: {\n\t${key} = ${rendered}\n}\n`;
  const bodyStart = open.index + open[0].length;
  const close = text.indexOf('\n}', bodyStart);
  const bodyEnd = close < 0 ? text.length : close;
  const active = new RegExp(`^[ \\t]*${key}[ \\t]*=.*$\\n?`, 'gm');
  const body = text.slice(bodyStart, bodyEnd).replace(active, '');
  const line = value === null ? '' : `\n\t${key} = ${rendered}`;
  return `${text.slice(0, bodyStart)}${line}${body}${text.slice(bodyEnd)}`;
}

async function editConfig(dir: string, file: string, edit: (text: string) => string): Promise<void> {
  const path = join(dir, file);
  await writeFile(path, edit(await readFile(path, 'utf8')));
}

/** Where a Janus listens and gathers ICE candidates: loopback by default. */
export interface JanusReach {
  /** The address its WebSocket API listens on (default 127.0.0.1). */
  host: string;
  /** Its ICE enforce list: the interfaces (or addresses) it gathers candidates on (default `lo`). */
  iceInterfaces: string;
}

/** Writes the configuration into `dir` (a copy of the system one), pinned to `reach`. */
async function writeConfig(dir: string, port: number, reach: JanusReach): Promise<void> {
  await cp(SYSTEM_CONFIG_DIR, dir, { recursive: true });
  await editConfig(dir, 'janus.jcfg', (text) => {
    let out = setJcfg(text, 'general', 'configs_folder', dir);
    out = setJcfg(out, 'general', 'interface', reach.host);
    out = setJcfg(out, 'general', 'debug_level', 4);
    out = setJcfg(out, 'nat', 'ice_enforce_list', reach.iceInterfaces);
    out = setJcfg(out, 'nat', 'ice_ignore_list', null); // moot with an enforce list (Janus warns when both are set)
    out = setJcfg(out, 'plugins', 'disable', UNUSED_PLUGINS.join(','));
    out = setJcfg(out, 'transports', 'disable', UNUSED_TRANSPORTS.join(','));
    return out;
  });
  await editConfig(dir, 'janus.transport.websockets.jcfg', (text) => {
    let out = setJcfg(text, 'general', 'ws', true);
    out = setJcfg(out, 'general', 'ws_port', port);
    out = setJcfg(out, 'general', 'ws_ip', reach.host);
    out = setJcfg(out, 'general', 'wss', false);
    out = setJcfg(out, 'admin', 'admin_ws', false);
    return out;
  });
  await editConfig(dir, 'janus.transport.http.jcfg', (text) => setJcfg(setJcfg(text, 'general', 'http', false), 'admin', 'admin_http', false));
}

/** Resolves true when a Janus WebSocket API at `url` answers `info` with `server_info`. */
export function answersInfo(url: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((done) => {
    const socket = new WebSocket(url, 'janus-protocol');
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.terminate();
      done(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('open', () => socket.send(JSON.stringify({ janus: 'info', transaction: 'ready?' })));
    socket.on('message', (data) => {
      try {
        finish((JSON.parse(String(data)) as { janus?: string }).janus === 'server_info');
      } catch {
        finish(false);
      }
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}

/**
 * Starts a Janus on 127.0.0.1 for one test file and resolves once its WebSocket API answers. `reach` puts it
 * elsewhere: e.g. a network namespace's host side (`{ host: ns.hostAddress, iceInterfaces: ns.hostAddress }`),
 * so that a browser in the namespace reaches both its API and its media.
 * @throws when Janus is not installed, exits, or does not answer in time (with its output's tail).
 */
export async function startJanus(opts: { readyTimeoutMs?: number; reach?: Partial<JanusReach> } = {}): Promise<JanusServer> {
  const binary = systemBinary('janus', 'PARLEY_JANUS', '/usr/bin/janus');
  if (!existsSync(binary)) {
    throw new Error(
      `Janus is missing at ${binary}. Calls through the SFU are tested against a real Janus and never skipped: ` +
        'install it with `apt-get install -y janus` (or run .ci/run, which does), or point PARLEY_JANUS at a Janus binary.',
    );
  }
  if (!existsSync(join(SYSTEM_CONFIG_DIR, 'janus.jcfg'))) {
    throw new Error(`Janus's configuration is missing at ${SYSTEM_CONFIG_DIR}/janus.jcfg (Debian's \`janus\` package puts it there; PARLEY_JANUS_CONFIG names another).`);
  }
  const configDir = await makeTempDir('parley-janus-');
  const port = await freePort();
  const reach: JanusReach = { host: '127.0.0.1', iceInterfaces: 'lo', ...opts.reach };
  await writeConfig(configDir, port, reach);

  const url = `ws://${reach.host}:${port}`;
  const daemon = await startDaemon({
    name: 'janus',
    binary,
    args: ['-F', configDir, '-C', join(configDir, 'janus.jcfg')],
    dir: configDir,
    ready: () => answersInfo(url),
    what: `Janus at ${url} to answer an info request`,
    timeoutMs: opts.readyTimeoutMs ?? 15_000,
    keepOutput: 200_000,
  });
  return { url, configDir, ...daemon };
}

/** The probe's connection to Janus failed or closed before the answer came: worth trying again. */
class ProbeConnectionLost extends Error {}

/**
 * One VideoRoom request on a session of its own (made and destroyed around it), as any Janus client could
 * send it: resolves with the plugin's answer, e.g. `{ videoroom: 'success', room, exists: false }`. Janus now
 * and then resets one of many short connections (seen as a bare `read ECONNRESET` while a test polled a room);
 * a connection lost before the answer is tried again, twice. An answer, or a request it never answers, is final.
 */
export async function videoroomRequest(url: string, body: Record<string, unknown>, timeoutMs = 5000): Promise<Record<string, unknown>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await videoroomRequestOnce(url, body, timeoutMs);
    } catch (err) {
      if (!(err instanceof ProbeConnectionLost) || attempt === 3) throw err;
    }
  }
}

async function videoroomRequestOnce(url: string, body: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>> {
  const socket = new WebSocket(url, 'janus-protocol');
  const answers = new Map<string, (message: Record<string, unknown>) => void>();
  let lost: ((err: Error) => void) | null = null;
  const connectionLost = new Promise<never>((_, reject) => (lost = reject));
  connectionLost.catch(() => {}); // read by whichever step is waiting
  socket.on('error', (err) => lost?.(new ProbeConnectionLost(`Janus probe at ${url}: ${err.message}`)));
  socket.on('close', (code) => lost?.(new ProbeConnectionLost(`Janus probe at ${url}: closed (${code}) before the answer`)));
  socket.on('message', (raw) => {
    const message = JSON.parse(String(raw)) as Record<string, unknown>;
    if (message.janus === 'ack') return;
    answers.get(message.transaction as string)?.(message);
  });
  let counter = 0;
  const send = (request: Record<string, unknown>) =>
    Promise.race([
      connectionLost,
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const transaction = `probe-${++counter}`;
        const timer = setTimeout(() => reject(new Error(`Janus at ${url} did not answer ${JSON.stringify(request)}`)), timeoutMs);
        answers.set(transaction, (message) => {
          clearTimeout(timer);
          resolve(message);
        });
        socket.send(JSON.stringify({ ...request, transaction }));
      }),
    ]);
  try {
    await Promise.race([connectionLost, new Promise<void>((resolve) => socket.once('open', () => resolve()))]);
    const session = ((await send({ janus: 'create' })).data as { id: number }).id;
    const handle = ((await send({ janus: 'attach', session_id: session, plugin: 'janus.plugin.videoroom' })).data as { id: number }).id;
    const answer = await send({ janus: 'message', session_id: session, handle_id: handle, body });
    lost = null; // the answer is in: what happens to the connection now no longer matters
    await send({ janus: 'destroy', session_id: session }).catch(() => {});
    if (answer.janus === 'error') throw new Error(`Janus refused ${JSON.stringify(body)}: ${JSON.stringify(answer.error)}`);
    return (answer.plugindata as { data: Record<string, unknown> }).data;
  } finally {
    lost = null;
    await closeGently(socket);
  }
}

/**
 * Closes a probe's connection with a WebSocket close handshake (at most 1 s, then the socket is dropped). Janus
 * 1.1.2 was seen to crash (a segfault in a request thread, in the kernel log) in runs whose probes reset their
 * connections right after the last answer; a clean close leaves its WebSocket transport nothing half-done.
 */
async function closeGently(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return;
  await new Promise<void>((done) => {
    const timer = setTimeout(() => (socket.terminate(), done()), 1000);
    socket.once('close', () => (clearTimeout(timer), done()));
    if (socket.readyState === WebSocket.OPEN) socket.close(1000);
    else socket.terminate();
  });
}
