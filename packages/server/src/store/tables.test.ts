import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openPostgresStore, openSqliteStore } from './index.ts';
import { STORE_TABLES } from './tables.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/postgres.ts';

/*
 * tables.ts must list every table the migrations create, with its primary key, parents first: a
 * table missing from it would be left behind by `parley db copy`. Both dialects are migrated and
 * their catalogs compared with the list, so a forgotten line fails here.
 */

/** What a migrated database says about one table. */
interface CatalogTable {
  primaryKey: string[];
  /** Tables its foreign keys point to. */
  references: string[];
}

type Catalog = Map<string, CatalogTable>;

/** The store's tables in a SQLite file (kysely's bookkeeping and SQLite's own tables aside). */
function sqliteCatalog(path: string): Catalog {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const names = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'kysely_%'")
      .pluck()
      .all() as string[];
    const catalog: Catalog = new Map();
    for (const name of names) {
      const columns = db.prepare('SELECT name, pk FROM pragma_table_info(?)').all(name) as { name: string; pk: number }[];
      const references = db.prepare('SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)').pluck().all(name) as string[];
      const primaryKey = columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
      catalog.set(name, { primaryKey, references });
    }
    return catalog;
  } finally {
    db.close();
  }
}

/** The store's tables in a PostgreSQL database's current schema (kysely's bookkeeping aside). */
async function postgresCatalog(url: string): Promise<Catalog> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables
        WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'kysely_%'`,
    );
    const keys = await client.query<{ table_name: string; column_name: string }>(
      `SELECT k.table_name, k.column_name
         FROM information_schema.table_constraints c
         JOIN information_schema.key_column_usage k
           ON k.constraint_schema = c.constraint_schema AND k.constraint_name = c.constraint_name
        WHERE c.table_schema = current_schema() AND c.constraint_type = 'PRIMARY KEY'
        ORDER BY k.table_name, k.ordinal_position`,
    );
    const references = await client.query<{ child: string; parent: string }>(
      `SELECT DISTINCT conrelid::regclass::text AS child, confrelid::regclass::text AS parent
         FROM pg_constraint WHERE contype = 'f' AND connamespace = current_schema()::regnamespace`,
    );
    const catalog: Catalog = new Map(tables.rows.map((t) => [t.name, { primaryKey: [], references: [] }]));
    for (const k of keys.rows) catalog.get(k.table_name)?.primaryKey.push(k.column_name);
    for (const r of references.rows) catalog.get(r.child)?.references.push(r.parent);
    return catalog;
  } finally {
    await client.end();
  }
}

/** Asserts that STORE_TABLES is exactly the catalog's tables, with their keys, parents first. */
function assertListed(catalog: Catalog, dialect: string): void {
  const listed = STORE_TABLES.map((t) => t.name as string);
  assert.equal(new Set(listed).size, listed.length, `store/tables.ts lists a table twice: ${listed.join(', ')}`);
  const unlisted = [...catalog.keys()].filter((name) => !listed.includes(name));
  assert.deepEqual(unlisted, [], `${dialect}: the migrations create tables store/tables.ts does not list: ${unlisted.join(', ')}`);
  const missing = listed.filter((name) => !catalog.has(name));
  assert.deepEqual(missing, [], `${dialect}: store/tables.ts lists tables the migrations do not create: ${missing.join(', ')}`);
  for (const [index, table] of STORE_TABLES.entries()) {
    const actual = catalog.get(table.name);
    assert.ok(actual);
    assert.deepEqual([...table.primaryKey], actual.primaryKey, `${dialect}: primary key of ${table.name}`);
    for (const parent of actual.references) {
      if (parent === table.name) continue;
      const parentIndex = listed.indexOf(parent);
      assert.ok(parentIndex >= 0 && parentIndex < index, `${dialect}: ${table.name} refers to ${parent}, which must be listed before it`);
    }
  }
}

describe('STORE_TABLES', () => {
  let dir = '';
  let database: TestDatabase | null = null;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-tables-'));
    database = await createTestDatabase('tables');
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await database?.drop();
  });

  it('lists every table the SQLite migrations create, with its primary key, parents first', async () => {
    const path = join(dir, 'parley.db');
    await (await openSqliteStore(path)).close();
    assertListed(sqliteCatalog(path), 'SQLite');
  });

  it('lists every table the PostgreSQL migrations create, with its primary key, parents first', async () => {
    assert.ok(database);
    await (await openPostgresStore(database.url)).close();
    assertListed(await postgresCatalog(database.url), 'PostgreSQL');
  });

  it('has no generated keys (serial, identity): a copy keeps key values as they are and would not advance a sequence', async () => {
    assert.ok(database);
    await (await openPostgresStore(database.url)).close();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const generated = await client.query<{ column: string }>(
        `SELECT table_name || '.' || column_name AS column FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name NOT LIKE 'kysely_%'
            AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')`,
      );
      assert.deepEqual(
        generated.rows.map((r) => r.column),
        [],
        'store/copy.ts must set these columns\' sequences after copying before a generated key is added',
      );
    } finally {
      await client.end();
    }
  });

  it('is checked against a catalog: a table the list does not name fails', () => {
    const catalog: Catalog = new Map(STORE_TABLES.map((t) => [t.name as string, { primaryKey: [...t.primaryKey], references: [] }]));
    catalog.set('call_deadlines', { primaryKey: ['call_id', 'kind'], references: [] });
    assert.throws(() => assertListed(catalog, 'test'), /call_deadlines/);
  });
});
