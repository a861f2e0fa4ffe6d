import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Message, ServerFrame } from '@parley/protocol';
import { freePort } from '../../../../e2e/support/harness.ts';
import { loadConfig, startServer } from '../../src/index.ts';
import { COPIED_TABLES } from '../../src/store/tables.ts';
import { createVisitor, loginAgent } from '../support/http.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { ProtocolClient } from '../support/ProtocolClient.ts';
import { createTestStoreLocation, type TestStoreLocation } from '../support/server.ts';
import { cliEnv, CLI_TIMEOUT_MS, runCli, startCliServer } from './runCli.ts';

/*
 * `parley db copy` as a newcomer moving off SQLite runs it: chat on the embedded store, stop the
 * server, copy into an empty PostgreSQL database, start on DATABASE_URL; the visitor's old token,
 * the conversation, its seqs and client ids all carry on. Plus the usage errors and the refusal of
 * a target that is not empty. With PARLEY_TEST_STORE=postgres the source is a PostgreSQL database
 * (moving to another PostgreSQL server).
 */

const PASSWORD = 'Target-pw-never-printed';

describe('parley db copy', () => {
  /** The installation to copy: SQLite in its DATA_DIR, or (PARLEY_TEST_STORE=postgres) a PostgreSQL database. */
  let source: TestStoreLocation;
  let target: TestDatabase;
  let targetUrl = '';
  let env: Record<string, string>;

  before(async () => {
    source = await createTestStoreLocation();
    target = await createTestDatabase('dbcopy');
    const url = new URL(target.url);
    url.password = PASSWORD; // trust authentication ignores it; no output may show it
    targetUrl = url.href;
    env = cliEnv(source.dataDir, source.env);
  });

  after(async () => {
    await source.remove();
    await target.drop();
  });

  it('answers a usage error (exit 2) without --to or with a URL that is not postgres://', { timeout: 6 * CLI_TIMEOUT_MS }, async () => {
    const cases: [string[], RegExp][] = [
      [['db', 'copy'], /parley db copy: missing --to/],
      [['db', 'copy', '--to'], /parley db copy: .*--to/],
      [['db', 'copy', '--to', `mysql://parley:${PASSWORD}@127.0.0.1/parley`], /--to: the scheme "mysql" is not postgres/],
      [['db', 'copy', '--to', `postgres://parley:${PASSWORD}@127.0.0.1:5432`], /--to has no database name/],
      [['db', 'paste'], /parley db: expected "copy"/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(args, env);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.match(run.stderr, /Usage: parley/);
      assert.ok(!`${run.stdout}${run.stderr}`.includes(PASSWORD), `${args.join(' ')} printed the password`);
    }
  });

  it('copies an installation (SQLite; PostgreSQL with PARLEY_TEST_STORE=postgres) that a server then carries on from PostgreSQL', { timeout: 3 * CLI_TIMEOUT_MS }, async () => {
    // A chat on the installation's store.
    const original = await startServer(loadConfig({ ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' }));
    let sessionID = '';
    let visitorToken = '';
    let before: Message[] = [];
    try {
      await original.createAgent({ email: 'ann@example.com', name: 'Ann', password: 'ann long password' });
      const agent = await ProtocolClient.connect(original.url, (await loginAgent(original.url, 'ann@example.com', 'ann long password')).token);
      const visitor = await createVisitor(original.url, 'Vera');
      visitorToken = visitor.token;
      const client = await ProtocolClient.connect(original.url, visitor.token);
      sessionID = (await client.request('chat.start', { text: 'Hello?', clientId: 'v-0' })).conversation.sessionID;
      await agent.waitFor((f: ServerFrame) => f.type === 'conversation.assigned' && f.conversation.sessionID === sessionID);
      for (let i = 1; i <= 5; i++) {
        await client.request('message.send', { sessionID, clientId: `v-${i}`, text: `visitor ${i}` });
        await agent.request('message.send', { sessionID, clientId: `a-${i}`, text: `agent ${i}` });
      }
      before = (await client.request('conversation.sync', { sessionID, afterSeq: 0 })).messages;
      agent.close();
      client.close();
    } finally {
      await original.close();
    }
    assert.ok(before.length >= 12, 'the opening, 10 messages and the join event');

    // The copy.
    const copy = await runCli(['db', 'copy', '--to', targetUrl], env);
    const output = `${copy.stdout}${copy.stderr}`;
    assert.equal(copy.code, 0, output);
    assert.ok(!output.includes(PASSWORD), `the password was printed:\n${output}`);
    const from = source.databaseUrl === null ? 'SQLite .*parley\\.db' : `postgres://.*/${new URL(source.databaseUrl).pathname.slice(1)}`;
    assert.match(copy.stdout, new RegExp(`Copied ${from} into postgres://postgres:\\*\\*\\*@.* in \\d+\\.\\d\\d s:`));
    const rows = Object.fromEntries([...copy.stdout.matchAll(/^ {2}(\w+) +(\d+)/gm)].map((m) => [m[1], Number(m[2])]));
    const expected: Record<string, number> = { ...Object.fromEntries(COPIED_TABLES.map((t) => [t.name, 0])), agents: 1, visitors: 1, conversations: 1 };
    expected['messages'] = before.length;
    expected['total'] = before.length + 3;
    assert.deepEqual(rows, expected);
    assert.match(copy.stdout, new RegExp(`Verified: the rows of all ${COPIED_TABLES.length} tables, and the last seq of all 1 conversations, match the source\\.`));

    // A server on the copy: same token, same transcript, next seq, a retried client id found.
    const { url, process: server } = await startCliServer({ ...env, DATABASE_URL: target.url });
    try {
      const client = await ProtocolClient.connect(url, visitorToken);
      assert.deepEqual(client.ready.conversations.map((c) => c.sessionID), [sessionID]);
      const after = await client.request('conversation.sync', { sessionID, afterSeq: 0 });
      assert.deepEqual(after.messages, before);
      const retried = await client.request('message.send', { sessionID, clientId: 'v-3', text: 'visitor 3' });
      assert.equal(retried.duplicate, true);
      assert.equal(retried.message.id, before.find((m) => m.clientId === 'v-3')?.id);
      const next = await client.request('message.send', { sessionID, clientId: 'v-after', text: 'still here' });
      assert.equal(next.message.seq, before[before.length - 1]!.seq + 1);
      client.close();
      assert.equal((await loginAgent(url, 'ann@example.com', 'ann long password')).agent.name, 'Ann');
    } finally {
      await server.stop();
    }
  });

  it('refuses a target with rows (exit 1), naming the table, and leaves it as it was', { timeout: 3 * CLI_TIMEOUT_MS }, async () => {
    const again = await runCli(['db', 'copy', '--to', targetUrl], env);
    assert.equal(again.code, 1, again.stdout);
    assert.match(again.stderr, /parley db copy: the target is not empty: table agents has rows, table visitors has rows/);
    assert.ok(!`${again.stdout}${again.stderr}`.includes(PASSWORD));
    const list = await runCli(['agent', 'list'], { ...env, DATABASE_URL: target.url });
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout.trim().split('\n').length, 1, 'still the one copied agent');
  });

  it('says when the target cannot be reached, and exits 1', async () => {
    const port = await freePort();
    const run = await runCli(['db', 'copy', '--to', `postgres://parley:${PASSWORD}@127.0.0.1:${port}/parley`], env);
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`--to=postgres://parley:\\*\\*\\*@127\\.0\\.0\\.1:${port}/parley: cannot reach the PostgreSQL server`));
    assert.ok(!`${run.stdout}${run.stderr}`.includes(PASSWORD));
  });
});
