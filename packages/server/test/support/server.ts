import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, startServer, type ParleyServer } from '../../src/index.ts';
import { createVisitor, loginAgent } from './http.ts';
import { ProtocolClient } from './ProtocolClient.ts';

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123456789';

/** A Parley server on a free loopback port with a fresh data directory. */
export async function startTestServer(env: Record<string, string> = {}): Promise<ParleyServer & { dataDir: string; stop(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'parley-test-'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DEMO_AGENT: 'false',
    TOKEN_SECRET: TEST_SECRET,
    ...env,
  });
  const server = await startServer(config);
  return Object.assign(server, {
    dataDir,
    async stop() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  });
}

/** A new visitor identity, with a client connected on its token. */
export async function newVisitor(server: ParleyServer, name = 'Vera Visitor') {
  const body = await createVisitor(server.url, name);
  const client = await ProtocolClient.connect(server.url, body.token);
  return { ...body, client };
}

let agentCount = 0;
/** A new agent account, signed in, with a client connected on its token. */
export async function newAgent(server: ParleyServer, name = `Agent ${++agentCount}`) {
  const email = `agent${agentCount}-${Math.random().toString(36).slice(2)}@example.test`;
  await server.createAgent({ email, name, password: 'correct horse battery' });
  const body = await loginAgent(server.url, email, 'correct horse battery');
  const client = await ProtocolClient.connect(server.url, body.token);
  return { ...body, email, client };
}
