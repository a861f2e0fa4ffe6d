import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort, makeTempDir, removeDir } from '../../../../e2e/support/harness.ts';
import { md5PasswordMessage, startFakePostgres, type FakePostgres } from '../support/fakePostgres.ts';
import { pgUrlOf } from '../support/postgres.ts';
import { accepts, cliEnv, CLI_TIMEOUT_MS, startCli } from './runCli.ts';

/*
 * A bad DATABASE_URL is a clear stop, never a half-started server: `parley start` (the real
 * command, in its own process) exits non-zero within its time, says DATABASE_URL and what went
 * wrong, never prints the password, and never listens on its port.
 */

const PASSWORD = 'Sekr1t-never-printed';

/**
 * Runs `parley start` with DATABASE_URL=`url` on a free port, probing the port until it exits.
 * Returns what it printed (stdout and stderr) and whether the port ever accepted a connection.
 */
async function startWith(url: string): Promise<{ output: string; listened: boolean }> {
  const dataDir = await makeTempDir('parley-cli-');
  const port = await freePort();
  try {
    // LOG_LEVEL=info: a server that got as far as listening would log it.
    const cli = startCli(['start'], cliEnv(dataDir, { DATABASE_URL: url, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' }));
    let running = true;
    let listened = false;
    const probing = (async () => {
      while (running) {
        if (await accepts(port)) listened = true;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const result = await cli.exited(CLI_TIMEOUT_MS).finally(() => (running = false));
    await probing;
    const output = `${result.stdout}${result.stderr}`;
    assert.equal(result.signal, null, output);
    assert.equal(result.code, 1, `exit code of parley start\n${output}`);
    return { output, listened };
  } finally {
    await removeDir(dataDir);
  }
}

/** Asserts the stop: names DATABASE_URL and the cause, hides the password, never listened. */
function assertClearStop(run: { output: string; listened: boolean }, cause: RegExp): void {
  assert.match(run.output, /DATABASE_URL/);
  assert.match(run.output, cause);
  assert.ok(!run.output.includes(PASSWORD), `the password was printed:\n${run.output}`);
  assert.doesNotMatch(run.output, /listening/i);
  assert.equal(run.listened, false, 'something accepted connections on the port while parley start ran');
}

describe('parley start with a bad DATABASE_URL', () => {
  const fakes: FakePostgres[] = [];
  let closedPort = 0;

  before(async () => {
    closedPort = await freePort();
  });

  after(async () => {
    for (const fake of fakes) await fake.close();
  });

  it('malformed: not a URL', async () => {
    assertClearStop(await startWith(`postgres//parley:${PASSWORD}@127.0.0.1/parley`), /DATABASE_URL: not a URL; expected postgres:\/\//);
  });

  it('malformed: another scheme', async () => {
    assertClearStop(await startWith(`mysql://parley:${PASSWORD}@127.0.0.1/parley`), /DATABASE_URL: the scheme "mysql" is not postgres/);
  });

  it('malformed: no database name', async () => {
    assertClearStop(await startWith(`postgres://parley:${PASSWORD}@127.0.0.1:5432`), /DATABASE_URL: no database name after the host/);
  });

  it('unreachable: nothing listens on the port', async () => {
    const url = `postgres://parley:${PASSWORD}@127.0.0.1:${closedPort}/parley`;
    assertClearStop(
      await startWith(url),
      new RegExp(`DATABASE_URL=postgres://parley:\\*\\*\\*@127\\.0\\.0\\.1:${closedPort}/parley: cannot reach the PostgreSQL server \\(ECONNREFUSED`),
    );
  });

  it('unreachable: the host name does not resolve', async () => {
    assertClearStop(
      await startWith(`postgres://parley:${PASSWORD}@no-such-host.invalid:5432/parley`),
      /DATABASE_URL=postgres:\/\/parley:\*\*\*@no-such-host\.invalid:5432\/parley: cannot reach the PostgreSQL server \((ENOTFOUND|EAI_AGAIN)/,
    );
  });

  it('wrong password (cleartext password request)', async () => {
    const fake = await startFakePostgres('cleartext-password');
    fakes.push(fake);
    assertClearStop(
      await startWith(fake.url('parley', PASSWORD, 'parley')),
      /DATABASE_URL=postgres:\/\/parley:\*\*\*@127\.0\.0\.1:\d+\/parley: the server refused the login \(password authentication failed for user "parley"\); check the user name and password/,
    );
    assert.deepEqual(
      fake.logins.map((l) => [l.user, l.database, l.password]),
      [['parley', 'parley', PASSWORD]],
      'the server asked for the password, got it, and refused it',
    );
  });

  it('wrong password (MD5 password request)', async () => {
    const fake = await startFakePostgres('md5-password');
    fakes.push(fake);
    assertClearStop(await startWith(fake.url('ann', PASSWORD, 'support')), /the server refused the login \(password authentication failed for user "ann"\)/);
    const [login] = fake.logins;
    assert.ok(login?.salt, 'one MD5 login');
    assert.equal(fake.logins.length, 1);
    assert.equal(login.password, md5PasswordMessage('ann', PASSWORD, login.salt));
  });

  it('the database does not exist', async () => {
    const url = new URL(pgUrlOf('parley_no_such_database'));
    url.password = PASSWORD; // trust authentication ignores it; it must not be printed all the same
    assertClearStop(await startWith(url.href), /DATABASE_URL=postgres:\/\/[^\s]*:\*\*\*@[^\s]+\/parley_no_such_database: the database does not exist/);
  });

  it('the server is not PostgreSQL', async () => {
    const fake = await startFakePostgres('not-postgres');
    fakes.push(fake);
    assertClearStop(await startWith(fake.url('parley', PASSWORD, 'parley')), /DATABASE_URL=postgres:\/\/parley:\*\*\*@.*: .*is it a PostgreSQL server/);
  });
});
