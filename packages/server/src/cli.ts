import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAgent, startServer } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { ParleyServerError } from './errors.ts';
import { openStore } from './store/index.ts';

const USAGE = `Usage: parley <command>

Commands:
  start                                         run the server (configuration from environment variables)
  agent create --email E --name N --password P  create an agent who can sign in to the workspace
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
  if (sub !== 'create') {
    console.error(`parley agent: expected "create"\n\n${USAGE}`);
    return 2;
  }
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
  const cfg = config();
  const store = await openStore(cfg);
  try {
    await store.migrate();
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

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(`parley: ${err.message}`);
      process.exit(1);
    }
    console.error('parley: failed to start:', err instanceof Error ? err.message : err);
    if (process.env['LOG_LEVEL'] === 'debug') console.error(err);
    process.exit(1);
  },
);
