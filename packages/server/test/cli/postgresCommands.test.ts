import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { makeTempDir, removeDir } from '../../../../e2e/support/harness.ts';
import { loginAgent } from '../support/http.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { accepts, cliEnv, CLI_TIMEOUT_MS, runCli, startCliServer } from './runCli.ts';

/*
 * Every `parley` command works against DATABASE_URL, on a database made for this file: agents
 * created and listed there (and nothing written to an SQLite file in DATA_DIR), and a server
 * started on it that they can sign in to.
 */

describe('parley commands with DATABASE_URL', () => {
  let database: TestDatabase;
  let dataDir = '';
  let env: Record<string, string>;

  before(async () => {
    database = await createTestDatabase('cli');
    dataDir = await makeTempDir('parley-cli-pg-');
    env = cliEnv(dataDir, { DATABASE_URL: database.url });
  });

  after(async () => {
    await removeDir(dataDir);
    await database.drop();
  });

  /** The agents table of the test database, by email. */
  async function agentRows(): Promise<{ email: string; name: string }[]> {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query<{ email: string; name: string }>('SELECT email, name FROM agents ORDER BY email')).rows;
    } finally {
      await client.end();
    }
  }

  it('agent create stores the agent in PostgreSQL (migrating the empty database first)', { timeout: 3 * CLI_TIMEOUT_MS }, async () => {
    const first = await runCli(['agent', 'create', '--email', 'ann@example.com', '--name', 'Ann', '--password', 'ann long password'], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^created agent Ann <ann@example\.com> \(id [0-9a-f-]{36}\)/);
    const second = await runCli(['agent', 'create', '--email', 'bob@example.com', '--name', 'Bob', '--password', 'bob long password'], env);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(await agentRows(), [
      { email: 'ann@example.com', name: 'Ann' },
      { email: 'bob@example.com', name: 'Bob' },
    ]);
    assert.equal(existsSync(join(dataDir, 'parley.db')), false, 'no SQLite store was made in DATA_DIR');
  });

  it('agent create refuses an email that exists in PostgreSQL, whatever its case', async () => {
    const again = await runCli(['agent', 'create', '--email', 'ANN@example.com', '--name', 'Ann 2', '--password', 'another long one'], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /parley agent create: an agent with email ANN@example\.com exists already/);
    assert.equal((await agentRows()).length, 2);
  });

  it('agent list lists the agents stored in PostgreSQL', async () => {
    const list = await runCli(['agent', 'list'], env);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split('\n').map((line) => line.split('\t'));
    assert.deepEqual(
      lines.map(([, email, name]) => [email, name]),
      [
        ['ann@example.com', 'Ann'],
        ['bob@example.com', 'Bob'],
      ],
    );
    for (const [id] of lines) assert.match(id ?? '', /^[0-9a-f-]{36}$/);
  });

  it('start serves from PostgreSQL: the agents made by the CLI sign in', { timeout: 3 * CLI_TIMEOUT_MS }, async () => {
    const { url, port, process: server } = await startCliServer(env);
    try {
      assert.equal(await accepts(port), true);
      assert.match(server.stdout(), new RegExp(`Parley listening on ${url}`));
      const login = await loginAgent(url, 'bob@example.com', 'bob long password');
      assert.equal(login.agent.name, 'Bob');
    } finally {
      await server.stop();
    }
    assert.equal(server.child.exitCode, 0, `parley start stopped cleanly on SIGTERM: ${server.stderr()}`);
  });

  it('help names every command, db copy included', async () => {
    const help = await runCli(['--help'], env);
    assert.equal(help.code, 0);
    for (const command of ['start', 'agent create', 'agent list', 'db copy --to postgres://']) assert.ok(help.stdout.includes(command), command);
  });
});
