import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParleyServerError } from '../errors.ts';
import { SqliteStore } from './SqliteStore.ts';
import { StoreConflictError } from './Store.ts';
import { guardStore, StoreUnavailableError, unavailableReason } from './unavailable.ts';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

test('failures that say the database cannot answer now are `unavailable`, in fixed words', () => {
  const cases: Array<[unknown, string]> = [
    [withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'), 'connection refused'],
    [withCode('read ECONNRESET', 'ECONNRESET'), 'connection lost'],
    [new Error('Connection terminated unexpectedly'), 'connection lost'],
    [new Error('Client has encountered a connection error and is not queryable'), 'connection lost'],
    [new Error('timeout exceeded when trying to connect'), 'timed out connecting'],
    [new Error('Connection terminated due to connection timeout'), 'timed out connecting'],
    [new Error('Query read timeout'), 'query timed out'],
    [withCode('terminating connection due to administrator command', '57P01'), 'the database server is shutting down'],
    [withCode('the database system is starting up', '57P03'), 'the database server is not accepting connections yet'],
    [withCode('canceling statement due to statement timeout', '57014'), 'query timed out'],
    [withCode('sorry, too many clients already', '53300'), 'the database server is out of resources'],
    [withCode('connection failure', '08006'), 'connection lost'],
    [new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')]), 'connection refused'],
    [new Error('append failed', { cause: withCode('read ECONNRESET', 'ECONNRESET') }), 'connection lost'],
  ];
  for (const [err, reason] of cases) assert.equal(unavailableReason(err), reason, String(err));
});

test('request errors, constraint violations and a closed store are not `unavailable`', () => {
  for (const err of [
    withCode('duplicate key value violates unique constraint', '23505'),
    withCode('syntax error at or near', '42601'),
    new StoreConflictError('taken'),
    new Error('The store is closed'),
    new Error('conversation x does not exist'),
    'a string',
    null,
  ]) {
    assert.equal(unavailableReason(err), null, String(err));
  }
});

test('the coded error says what is wrong without the driver message', () => {
  const err = new StoreUnavailableError('connection refused', { cause: withCode('connect ECONNREFUSED 10.1.2.3:5432', 'ECONNREFUSED') });
  assert.ok(err instanceof ParleyServerError);
  assert.equal(err.code, 'unavailable');
  assert.equal(err.message, 'the database is unavailable (connection refused); try again');
});

test('a guarded store turns unavailable failures into the coded error, tells of them, and passes everything else', async () => {
  const store = new SqliteStore(':memory:');
  await store.migrate();
  const heard: StoreUnavailableError[] = [];
  const guarded = guardStore(store, (err) => heard.push(err));
  try {
    // Methods keep working through the guard (private fields included), and so do plain properties.
    assert.equal(await guarded.countAgents(), 0);
    assert.equal(guarded.path, ':memory:');
    assert.equal(guarded.connectionSettings().foreignKeys, true);
    assert.ok(guarded instanceof SqliteStore);

    await guarded.createAgent({ id: 'a', email: 'a@example.test', name: 'A', passwordHash: 'x' });
    await assert.rejects(guarded.createAgent({ id: 'a', email: 'a@example.test', name: 'A', passwordHash: 'x' }), StoreConflictError);
    assert.equal(heard.length, 0);

    // The database "goes away" under the store.
    store.countAgents = () => Promise.reject(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'));
    const failure = await guarded.countAgents().catch((err: unknown) => err);
    assert.ok(failure instanceof StoreUnavailableError);
    assert.equal(failure.reason, 'connection refused');
    assert.equal(heard.length, 1);
  } finally {
    await store.close();
  }
});
