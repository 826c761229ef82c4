// storage/lmdb.ts: create/open/reload without replay, deletes, durable commits, snapshots, recognition of
// LMDB files, the reference's errors, and the shared .NAME.~lock~ lock.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLmdbFile, LmdbStorage } from '../../storage/lmdb.ts';
import { FileStorage } from '../../storage/file.ts';
import { execute } from '../../storage/execution.ts';
import type { Database } from '../../storage/database.ts';
import type { JsonValue } from '../../schema/json.ts';
import { OvsdbError } from '../../schema/error.ts';
import { rmDir, tmpDir } from './log-util.ts';

const SCHEMA = {
  name: 'L',
  version: '2.0.0',
  cksum: '1 2',
  tables: {
    P: { columns: { name: { type: 'string' }, kids: { type: { key: { type: 'uuid', refTable: 'C' }, min: 0, max: 'unlimited' } } } },
    C: { columns: { v: { type: 'integer' }, eph: { type: 'integer', ephemeral: true } }, isRoot: false },
  },
};

let dir: string;
let file: string;
beforeEach(() => {
  dir = tmpDir('lmdb');
  file = path.join(dir, 'l.mdb');
  LmdbStorage.create(file, SCHEMA);
});
afterEach(() => rmDir(dir));

function transact(db: Database, storage: LmdbStorage, ops: JsonValue[]): JsonValue[] {
  const out = execute(db, ops);
  if (out.kind !== 'done') throw new Error('blocked');
  if (out.commit) {
    storage.write(out.commit, 'txn');
    db.apply(out.commit);
  }
  return out.result;
}

function rendered(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return e instanceof OvsdbError ? e.render() : String(e);
  }
  return 'no error';
}

const dump = (db: Database) =>
  [...db.tables.values()].flatMap((t) => [...t.rows.values()].map((r) => `${t.schema.name} ${r.uuid} ${JSON.stringify(r.data.slice(0, t.schema.name === 'C' ? 1 : 2))}`)).sort();

describe('LmdbStorage', () => {
  it('creates an LMDB file that is recognised, holds the schema, and refuses to be created twice', () => {
    expect(isLmdbFile(file)).toBe(true);
    expect(LmdbStorage.readSchema(file)).toMatchObject({ name: 'L', version: '2.0.0', cksum: '1 2' });
    expect(rendered(() => LmdbStorage.create(file, SCHEMA))).toBe(`I/O error: ${file}: create failed (File exists)`);
    const std = path.join(dir, 'std.db');
    FileStorage.create(std, SCHEMA);
    expect(isLmdbFile(std)).toBe(false);
    expect(() => LmdbStorage.open(std)).toThrow(`ovsdb error: ${std}: not an LMDB database (use --storage=file for the standard format)`);
    expect(rendered(() => LmdbStorage.open(path.join(dir, 'nope')))).toBe(`I/O error: ${path.join(dir, 'nope')}: open failed (No such file or directory)`);
  });

  it('commits survive reopening, including garbage collection, deletes and durable commits', () => {
    const { db, storage } = LmdbStorage.open(file);
    transact(db, storage, [
      { op: 'insert', table: 'C', uuid: '11111111-1111-4111-8111-111111111111', row: { v: 1, eph: 3 } },
      { op: 'insert', table: 'C', uuid: '22222222-2222-4222-8222-222222222222', row: { v: 2 } },
      { op: 'insert', table: 'P', row: { name: 'p', kids: ['set', [['uuid', '11111111-1111-4111-8111-111111111111'], ['uuid', '22222222-2222-4222-8222-222222222222']]] } },
    ]);
    transact(db, storage, [
      { op: 'mutate', table: 'P', where: [], mutations: [['kids', 'delete', ['uuid', '22222222-2222-4222-8222-222222222222']]] },
      { op: 'delete', table: 'C', where: [['v', '==', 2]] },
      { op: 'commit', durable: true },
    ]);
    expect(db.table('C').rows.size).toBe(1);
    const before = dump(db);
    storage.close();
    const again = LmdbStorage.open(file);
    expect(dump(again.db)).toEqual(before);
    again.storage.close();
  });

  it('writeSnapshot replaces every row in one transaction; compact is a no-op', () => {
    const { db, storage } = LmdbStorage.open(file);
    transact(db, storage, [{ op: 'insert', table: 'P', row: { name: 'old' } }]);
    const fresh = LmdbStorage.read(file); // an independent copy to edit
    const out = execute(fresh, [{ op: 'delete', table: 'P', where: [] }, { op: 'insert', table: 'P', row: { name: 'new' } }]);
    if (out.kind !== 'done' || !out.commit) throw new Error('failed');
    fresh.apply(out.commit);
    storage.writeSnapshot(fresh, 'snapshot', 'id');
    storage.compact();
    storage.close();
    expect([...LmdbStorage.read(file).table('P').rows.values()].map((r) => r.data[0].keys[0])).toEqual(['new']);
  });

  it('takes the .NAME.~lock~ lock like the file engine', () => {
    const { storage } = LmdbStorage.open(file);
    expect(fs.existsSync(path.join(dir, '.l.mdb.~lock~'))).toBe(true);
    expect(() => LmdbStorage.open(file)).toThrow(`I/O error: ${file}: failed to lock lockfile (Resource deadlock avoided)`);
    storage.close();
    LmdbStorage.open(file).storage.close();
  });
});
