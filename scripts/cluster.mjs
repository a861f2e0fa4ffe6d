#!/usr/bin/env node
// npm run cluster -- --nodes 3
//
// A deployment of Parley on this machine, to try many nodes: N nodes (node1…nodeN on ports 3001…) sharing this
// machine's PostgreSQL and Redis, behind HAProxy on --port (3000) configured from deploy/haproxy.cfg. Open the
// printed URLs through the balancer; `kill -9` a node's pid to see its clients carry on elsewhere (it is started
// again after --restart-after seconds, 5 by default; 0 leaves it down). HAProxy's stats page on 127.0.0.1:--stats-port
// (8404) shows which nodes it counts up. Ctrl-C (or SIGTERM) stops everything: the nodes gracefully, and HAProxy.
//
// Each node and HAProxy run in a process group of their own, so that Ctrl-C reaches only this script, which then
// stops each of them once (a node given SIGINT by the terminal and SIGTERM by us would exit without its graceful stop).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { renderHaproxyConfig } from './haproxyConfig.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'packages/server/dist/cli.js');

function usage(problem) {
  if (problem) console.error(`npm run cluster: ${problem}\n`);
  console.error(`Usage: npm run cluster -- [--nodes N] [--port P] [--stats-port P] [--database-url postgres://…] [--redis-url redis://…] [--restart-after S]

  --nodes N          how many Parley nodes (default 2, at most 9)
  --port P           the balancer's port on 127.0.0.1 (default 3000); nodes listen on P+1…P+N
  --stats-port P     HAProxy's stats page on 127.0.0.1 (default 8404; 0: none)
  --database-url     PostgreSQL shared by the nodes (default DATABASE_URL, else postgres://postgres@127.0.0.1:5432/parley_cluster,
                     made if missing)
  --redis-url        Redis, the bus between the nodes (default REDIS_URL, else redis://127.0.0.1:6379)
  --restart-after S  a node that dies is started again after S seconds (default 5; 0: left down)`);
  process.exit(problem ? 2 : 0);
}

function parseArgs(argv) {
  const options = {
    nodes: 2,
    port: 3000,
    statsPort: 8404,
    databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/parley_cluster',
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    restartAfter: 5,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    const number = () => {
      if (value === undefined || !/^\d+$/.test(value)) usage(`${flag} expects a whole number`);
      i++;
      return Number(value);
    };
    if (flag === '--help' || flag === '-h') usage();
    else if (flag === '--nodes') options.nodes = number();
    else if (flag === '--port') options.port = number();
    else if (flag === '--stats-port') options.statsPort = number();
    else if (flag === '--restart-after') options.restartAfter = number();
    else if (flag === '--database-url' && value) (options.databaseUrl = value), i++;
    else if (flag === '--redis-url' && value) (options.redisUrl = value), i++;
    else usage(`unknown argument ${flag}`);
  }
  if (options.nodes < 1 || options.nodes > 9) usage('--nodes: expected 1 to 9');
  if (options.port < 1 || options.port + options.nodes > 65535) usage('--port: out of range');
  if (options.statsPort > 65535 || (options.statsPort >= options.port && options.statsPort <= options.port + options.nodes)) {
    usage('--stats-port: out of range, or one of the ports of the balancer and the nodes');
  }
  return options;
}

/** What to say when node1 printed no demo agent: the database has agents that this checkout's data/ did not make. */
const noDemoAgent = () =>
  `(this database has agents already, made from another data directory; add one with\n` +
  `                      DATABASE_URL=${redact(options.databaseUrl)} npx parley agent create --email you@example.com --name You --password '…')`;

const redact = (url) => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

/** Makes the database when missing (the nodes migrate it). */
async function ensureDatabase(databaseUrl) {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`PostgreSQL at ${redact(databaseUrl)} cannot be reached (${err.message}); start it, or pass --database-url`);
  }
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) {
      await client.query(`create database "${name.replace(/"/g, '""')}"`);
      console.log(`[cluster] made the database ${name}`);
    }
  } finally {
    await client.end();
  }
}

function redisAnswers(redisUrl) {
  const url = new URL(redisUrl);
  return accepts(Number(url.port || 6379), url.hostname);
}

function accepts(port, host = '127.0.0.1') {
  return new Promise((done) => {
    const socket = connect({ host, port }, () => (socket.destroy(), done(true)));
    socket.once('error', () => (socket.destroy(), done(false)));
  });
}

async function healthy(url) {
  try {
    return (await fetch(`${url}/healthz`)).status === 200;
  } catch {
    return false;
  }
}

async function until(what, probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Prints a child's output line by line, each line after its name. */
let demoAgent = null;
function prefixed(name, stream, out) {
  let rest = '';
  stream.on('data', (chunk) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const demo = /Demo agent:\s+(.*)$/.exec(line);
      if (demo) demoAgent = demo[1];
      out.write(`${name.padEnd(8)}| ${line}\n`);
    }
  });
}

const options = parseArgs(process.argv.slice(2));
if (!existsSync(CLI)) usage('packages/server/dist/cli.js is missing: run `npm run build` (npm run cluster does)');
const haproxyBinary = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy'].find(existsSync) ?? (spawnSync('sh', ['-c', 'command -v haproxy']).stdout.toString().trim() || null);
if (!haproxyBinary) {
  console.error('npm run cluster needs HAProxy in front of the nodes: apt-get install -y haproxy');
  process.exit(1);
}

const balancerUrl = `http://127.0.0.1:${options.port}`;
/** Running children by name (node1…, haproxy). */
const children = new Map();
let stopping = false;
/** Every node was healthy once: from then on a node that exits is reported (and started again), not fatal. */
let started = false;

function startNode(index) {
  const name = `node${index + 1}`;
  const port = options.port + index + 1;
  const dataDir = join(ROOT, 'data', 'cluster', name);
  mkdirSync(dataDir, { recursive: true });
  const child = spawn(process.execPath, [CLI, 'start'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.redisUrl,
      NODE_ID: name,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      PUBLIC_URL: balancerUrl,
      ALLOWED_ORIGINS: [balancerUrl, `http://localhost:${options.port}`, `http://127.0.0.1:${port}`].join(','),
      TRUST_PROXY: '127.0.0.1',
      DEMO_AGENT: index === 0 ? (process.env.DEMO_AGENT ?? 'true') : 'false',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  prefixed(name, child.stdout, process.stdout);
  prefixed(name, child.stderr, process.stderr);
  children.set(name, child);
  child.once('exit', (code, signal) => {
    if (stopping || children.get(name) !== child) return;
    children.delete(name);
    if (!started) {
      console.error(`[cluster] ${name} (pid ${child.pid}) exited (${signal ?? code}) while starting; see its lines above`);
      void stopAll(1);
      return;
    }
    console.log(`[cluster] ${name} (pid ${child.pid}) exited (${signal ?? code}); the others carry on${options.restartAfter > 0 ? `; it starts again in ${options.restartAfter} s` : ''}`);
    if (options.restartAfter > 0) {
      setTimeout(() => {
        if (stopping) return;
        const again = startNode(index);
        console.log(`[cluster] ${name} started again (pid ${again.pid})`);
      }, options.restartAfter * 1000).unref();
    }
  });
  return child;
}

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  console.log('\n[cluster] stopping');
  const exits = [...children.values()].map((child) => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', resolve))));
  for (const child of children.values()) child.kill('SIGTERM');
  const force = setTimeout(() => {
    for (const child of children.values()) child.kill('SIGKILL');
  }, 8000);
  await Promise.all(exits);
  clearTimeout(force);
  process.exit(code);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => void stopAll(0));
// Whatever ends this script, no child outlives it (they are in process groups of their own).
process.on('exit', () => {
  for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

try {
  await ensureDatabase(options.databaseUrl);
  if (!(await redisAnswers(options.redisUrl))) throw new Error(`Redis at ${redact(options.redisUrl)} does not answer; start it, or pass --redis-url`);
  for (let p = options.port; p <= options.port + options.nodes; p++) {
    if (await accepts(p)) throw new Error(`port ${p} is taken (the balancer uses --port, ${options.port}, and the nodes the ports after it); pass another --port`);
  }
  const withStats = options.statsPort > 0 && !(await accepts(options.statsPort));
  if (options.statsPort > 0 && !withStats) console.log(`[cluster] port ${options.statsPort} is taken: no HAProxy stats page (pass --stats-port)`);
  // The first node migrates the database and makes the demo agent; the others start beside it after.
  startNode(0);
  await until('node1 to be healthy', () => healthy(`http://127.0.0.1:${options.port + 1}`), 60_000);
  for (let i = 1; i < options.nodes; i++) startNode(i);
  for (let i = 1; i < options.nodes; i++) await until(`node${i + 1} to be healthy`, () => healthy(`http://127.0.0.1:${options.port + i + 1}`), 60_000);

  const dir = join(ROOT, 'data', 'cluster');
  const cfg = join(dir, 'haproxy.cfg');
  const nodes = Array.from({ length: options.nodes }, (_, i) => ({ name: `node${i + 1}`, port: options.port + i + 1 }));
  writeFileSync(
    cfg,
    renderHaproxyConfig({ port: options.port, nodes, statsSocket: join(dir, 'haproxy.sock'), ...(withStats ? { statsPort: options.statsPort } : {}) }),
  );
  const haproxy = spawn(haproxyBinary, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  prefixed('haproxy', haproxy.stdout, process.stdout);
  prefixed('haproxy', haproxy.stderr, process.stderr);
  children.set('haproxy', haproxy);
  haproxy.once('exit', (code, signal) => {
    if (stopping) return;
    console.error(`[cluster] HAProxy exited (${signal ?? code}); stopping`);
    void stopAll(1);
  });
  await until('HAProxy to accept connections', () => accepts(options.port), 10_000);
  await until('a node to answer through HAProxy', () => healthy(balancerUrl), 10_000);
  started = true;

  const pids = [...children.entries()].filter(([name]) => name !== 'haproxy').map(([name, child]) => `${name} pid ${child.pid} on http://127.0.0.1:${options.port + Number(name.slice(4))}`);
  console.log(`
[cluster] ${options.nodes} Parley node${options.nodes === 1 ? '' : 's'} behind HAProxy, sharing ${redact(options.databaseUrl)} and ${redact(options.redisUrl)}

  Visitor demo page:  ${balancerUrl}/
  Agent workspace:    ${balancerUrl}/agent
  Each node's state:  ${balancerUrl}/healthz  (answers name the node that served it)
  Balancer config:    ${cfg}${withStats ? `\n  HAProxy stats:      http://127.0.0.1:${options.statsPort}/  (each node UP or DOWN, as the balancer sees it)` : ''}
  Demo agent:         ${demoAgent ?? noDemoAgent()}

  ${pids.join('\n  ')}

  Open the visitor page and the agent workspace in two windows: they may sit on different nodes. Kill a node
  (kill -9 <pid>) mid-chat or mid-call: its clients reconnect through HAProxy to another node.
  Ctrl-C stops everything.
`);
} catch (err) {
  console.error(`[cluster] ${err.message}`);
  await stopAll(1);
}
