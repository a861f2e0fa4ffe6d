import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAgent, startServer } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { ParleyServerError } from './errors.ts';
import { copyStore, StoreCopyError, type StoreCopyReport } from './store/copy.ts';
import { openStore, redactUrl } from './store/index.ts';

const USAGE = `Usage: parley <command>

Commands:
  start                                         run the server (configuration from environment variables)
  agent create --email E --name N --password P  create an agent who can sign in to the workspace
  agent list                                    list the agents (id, email, name)
  db copy --to postgres://user:pw@host/db       copy this installation's store (SQLite in DATA_DIR, or
                                                DATABASE_URL) into an empty PostgreSQL database, verified;
                                                stop the server first. Then start with DATABASE_URL set to it
  help                                          show this text

Environment: PORT (3000), HOST (127.0.0.1), DATA_DIR (./data), DATABASE_URL (unset: SQLite in
DATA_DIR; postgres://… for PostgreSQL), PUBLIC_URL, ALLOWED_ORIGINS,
TOKEN_SECRET, LOG_LEVEL (info), DEMO_AGENT (true), AGENT_MAX_CHATS (5), RATE_LIMIT_RPS (20),
RATE_LIMIT_BURST (60), ICE_SERVERS, TURN_SECRET, TURN_URLS. See the README for each.`;

const DEMO_EMAIL = 'demo@parley.local';

async function main(argv: string[]): Promise<number> {
  const [command = 'start', ...rest] = argv;
  switch (command) {
    case 'start':
      return start();
    case 'agent':
      return agentCommand(rest);
    case 'db':
      return dbCommand(rest);
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    default:
      console.error(`parley: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

function config(): Config {
  return loadConfig();
}

async function start(): Promise<number> {
  const cfg = config();
  const server = await startServer(cfg);
  const demo = cfg.demoAgent ? await ensureDemoAgent(cfg, server) : null;
  console.log(`Parley listening on ${server.url}`);
  console.log(`  Visitor demo page:  ${server.url}/`);
  console.log(`  Agent workspace:    ${server.url}/agent`);
  if (demo) console.log(`  Demo agent:         ${demo.email} / ${demo.password}`);
  console.log('Press Ctrl+C to stop.');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      console.error(`parley: ${signal} again, exiting at once`);
      process.exit(1);
    }
    stopping = true;
    console.log(`parley: ${signal} received, stopping (clients will reconnect)...`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('parley: error while stopping', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return -1; // keep running
}

/**
 * On an empty database, creates the demo agent with a random password kept in DATA_DIR/demo-agent.txt,
 * so every start can print it again. Returns null when other agents exist and no demo agent was made.
 */
async function ensureDemoAgent(cfg: Config, server: Awaited<ReturnType<typeof startServer>>) {
  const file = join(cfg.dataDir, 'demo-agent.txt');
  if ((await server.store.countAgents()) === 0) {
    const password = randomBytes(9).toString('base64url');
    await server.createAgent({ email: DEMO_EMAIL, name: 'Demo Agent', password });
    await mkdir(cfg.dataDir, { recursive: true });
    await writeFile(file, `${DEMO_EMAIL}\n${password}\n`, { mode: 0o600 });
    return { email: DEMO_EMAIL, password };
  }
  try {
    const [email, password] = (await readFile(file, 'utf8')).split('\n');
    if (email && password && (await server.store.getAgentByEmail(email))) return { email, password };
  } catch {
    // no demo agent file: nothing to print
  }
  return null;
}

async function agentCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'create') return agentCreate(rest);
  if (sub === 'list') return agentList(rest);
  console.error(`parley agent: expected "create" or "list"\n\n${USAGE}`);
  return 2;
}

async function agentCreate(rest: string[]): Promise<number> {
  let values: { email?: string; name?: string; password?: string };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { email: { type: 'string' }, name: { type: 'string' }, password: { type: 'string' } },
      strict: true,
    }));
  } catch (err) {
    console.error(`parley agent create: ${(err as Error).message}`);
    return 2;
  }
  const missing = (['email', 'name', 'password'] as const).filter((k) => !values[k]);
  if (missing.length > 0) {
    console.error(`parley agent create: missing ${missing.map((m) => `--${m}`).join(', ')}`);
    return 2;
  }
  if (!/^[^\s@]+@[^\s@]+$/.test(values.email ?? '')) {
    console.error('parley agent create: --email must be an email address');
    return 2;
  }
  const store = await openStore(config());
  try {
    const agent = await createAgent(store, { email: values.email!, name: values.name!, password: values.password! });
    console.log(`created agent ${agent.name} <${agent.email}> (id ${agent.id})`);
    return 0;
  } catch (err) {
    if (err instanceof ParleyServerError) {
      console.error(`parley agent create: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    await store.close();
  }
}

/** Prints every agent, one a line: id, email, name (tab-separated, oldest first). */
async function agentList(rest: string[]): Promise<number> {
  if (rest.length > 0) {
    console.error(`parley agent list: takes no arguments (got ${rest.join(' ')})`);
    return 2;
  }
  const store = await openStore(config());
  try {
    for (const agent of await store.listAgents()) console.log(`${agent.id}\t${agent.email}\t${agent.name}`);
    return 0;
  } finally {
    await store.close();
  }
}

async function dbCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'copy') {
    console.error(`parley db: expected "copy"\n\n${USAGE}`);
    return 2;
  }
  let to: string | undefined;
  try {
    ({ values: { to } } = parseArgs({ args: rest, options: { to: { type: 'string' } }, strict: true }));
  } catch (err) {
    console.error(`parley db copy: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const problem = to === undefined ? 'missing --to' : postgresUrlProblem(to);
  if (problem !== null) {
    console.error(`parley db copy: ${problem}; expected --to postgres://user:password@host:5432/database (an empty database)\n\n${USAGE}`);
    return 2;
  }
  const targetUrl = to!;
  const cfg = config();
  console.log(`parley db copy: copying into ${redactUrl(targetUrl)} in one transaction (if anything fails, the target keeps no rows)...`);
  let report: StoreCopyReport;
  try {
    report = await copyStore({ source: cfg, targetUrl });
  } catch (err) {
    if (err instanceof StoreCopyError) {
      console.error(`parley db copy: ${err.message}`);
      return 1;
    }
    throw err;
  }
  console.log(copySummary(report));
  return 0;
}

/** Why `raw` is not a postgres:// URL with a host and a database, or null. Never repeats the URL (it may hold a password). */
function postgresUrlProblem(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '--to is not a URL';
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') return `--to: the scheme "${url.protocol.slice(0, -1)}" is not postgres`;
  if (url.hostname === '') return '--to has no host';
  if (url.pathname.replace(/^\//, '') === '') return '--to has no database name after the host';
  return null;
}

/** Rows per table, the total, what was verified and how long it took. */
function copySummary(report: StoreCopyReport): string {
  const width = Math.max(...report.tables.map((t) => t.table.length), 'total'.length);
  const total = report.tables.reduce((sum, t) => sum + t.rows, 0);
  const line = (name: string, rows: number) => `  ${name.padEnd(width)}  ${String(rows).padStart(9)}`;
  return [
    `Copied ${report.source} into ${report.target} in ${(report.durationMs / 1000).toFixed(2)} s:`,
    ...report.tables.map((t) => line(t.table, t.rows)),
    `${line('total', total)} rows`,
    `Verified: the rows of all ${report.tables.length} tables, and the last seq of all ${report.conversations} conversations, match the source.`,
    'Start Parley with DATABASE_URL set to the target to use it.',
  ].join('\n');
}

const argvCommand = process.argv[2] ?? 'start';
main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(`parley: ${err.message}`);
      process.exit(1);
    }
    console.error(`parley: ${argvCommand === 'start' ? 'failed to start' : `${argvCommand} failed`}:`, err instanceof Error ? err.message : err);
    if (process.env['LOG_LEVEL'] === 'debug') console.error(err);
    process.exit(1);
  },
);
