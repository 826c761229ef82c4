// storage/file.ts: commits as records (diffs and full values), replay, torn-tail and mid-file corruption
// fixtures made here, online compaction, the automatic compaction schedule, storage status.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CompactionSchedule, COMPACT_MIN_BYTES, FileStorage } from '../../storage/file.ts';
import { execute } from '../../storage/execution.ts';
import type { Database } from '../../storage/database.ts';
import type { JsonValue } from '../../schema/json.ts';
import { frame, rmDir, tmpDir } from './log-util.ts';

const SCHEMA = {
  name: 'S',
  version: '1.2.3',
  tables: {
    T: {
      columns: {
        name: { type: 'string' },
        n: { type: 'integer' },
        small: { type: { key: 'integer', min: 1, max: 2 } },
        tags: { type: { key: 'string', min: 0, max: 'unlimited' } },
        m: { type: { key: 'string', value: 'integer', min: 0, max: 'unlimited' } },
        eph: { type: 'integer', ephemeral: true },
      },
    },
  },
};

let dir: string;
let file: string;
beforeEach(() => {
  dir = tmpDir('file-storage');
  file = path.join(dir, 's.db');
  FileStorage.create(file, SCHEMA);
});
afterEach(() => rmDir(dir));

function transact(db: Database, storage: FileStorage, ops: JsonValue[]): JsonValue[] {
  const out = execute(db, ops);
  if (out.kind !== 'done') throw new Error('blocked');
  if (out.commit) {
    storage.write(out.commit);
    db.apply(out.commit);
  }
  return out.result;
}

function rowsOf(db: Database): Record<string, unknown>[] {
  return [...db.table('T').rows.values()]
    .map((r) => ({ uuid: r.uuid, data: JSON.stringify(r.data.slice(0, 5)) })) // without the ephemeral column
    .sort((a, b) => a.uuid.localeCompare(b.uuid));
}

function records(): Record<string, unknown>[] {
  const text = fs.readFileSync(file, 'utf8').split('\n');
  const out: Record<string, unknown>[] = [];
  for (let i = 1; i < text.length; i += 2) if (text[i]) out.push(JSON.parse(text[i]) as Record<string, unknown>);
  return out;
}

describe('FileStorage', () => {
  it('writes diffs, skips ephemeral-only commits, and replays to the same contents (fixed diff reader)', () => {
    const { db, storage } = FileStorage.open(file);
    const [r] = transact(db, storage, [
      { op: 'insert', table: 'T', row: { name: 'a', n: 1, tags: ['set', ['x', 'y']], m: ['map', [['k', 1]]] } },
      { op: 'comment', comment: 'first' },
    ]);
    const uuid = ((r as { uuid: [string, string] }).uuid)[1];
    const where = [['_uuid', '==', ['uuid', uuid]]];
    transact(db, storage, [{ op: 'update', table: 'T', where, row: { tags: ['set', ['y', 'z']], n: 2 } }]);
    // small holds its default {0}: the 3.1 reader would store a diff instead of applying it (BUG-3.1), so this
    // commit is written with full values.
    transact(db, storage, [{ op: 'mutate', table: 'T', where, mutations: [['small', 'insert', 7]] }]);
    transact(db, storage, [{ op: 'update', table: 'T', where, row: { eph: 5 } }]);
    expect(records()[3].T).toEqual({ [uuid]: { small: ['set', [0, 7]] } });
    expect(records()[3]._is_diff).toBeUndefined();
    transact(db, storage, [{ op: 'mutate', table: 'T', where, mutations: [['small', 'delete', 0]] }]);
    const recs = records();
    expect(recs.length).toBe(5); // schema + 4 (the ephemeral-only update wrote nothing)
    expect(recs[1]).toMatchObject({ _comment: 'first', _is_diff: true });
    expect(recs[2].T).toEqual({ [uuid]: { n: 2, tags: ['set', ['x', 'z']] } });
    expect(recs[4]).toMatchObject({ _is_diff: true, T: { [uuid]: { small: 0 } } });
    const before = rowsOf(db);
    storage.close();
    const again = FileStorage.open(file);
    expect(rowsOf(again.db)).toEqual(before);
    again.storage.close();
  });

  it('--disable-file-column-diff writes full values without _is_diff', () => {
    const { db, storage } = FileStorage.open(file, { disableColumnDiff: true });
    transact(db, storage, [{ op: 'insert', table: 'T', row: { name: 'a', tags: ['set', ['x']] } }]);
    transact(db, storage, [{ op: 'mutate', table: 'T', where: [], mutations: [['tags', 'insert', 'z']] }]);
    const rec = records()[2];
    expect(rec._is_diff).toBeUndefined();
    expect(Object.values(rec.T as object)[0]).toEqual({ tags: ['set', ['x', 'z']] });
    storage.enableColumnDiff();
    transact(db, storage, [{ op: 'mutate', table: 'T', where: [], mutations: [['tags', 'delete', 'x']] }]);
    expect(records()[3]).toMatchObject({ _is_diff: true });
    storage.close();
  });

  it('replays a diff on a min-1 set at its default correctly (the fixed reader; BUG-3.1 in 3.1)', () => {
    const u = '00000000-0000-4000-8000-0000000000aa';
    fs.appendFileSync(file, Buffer.concat([
      frame(`{"_date":1,"_is_diff":true,"T":{"${u}":{"name":"x"}}}\n`),
      frame(`{"_date":2,"_is_diff":true,"T":{"${u}":{"small":9223372036854775807}}}\n`),
      frame(`{"_date":3,"_is_diff":true,"T":{"${u}":{"small":["set",[0]]}}}\n`),
    ]));
    const row = FileStorage.read(file).table('T').rows.get(u)!;
    expect(row.data[2].keys).toEqual([9223372036854775807n]);
  });

  it('drops a torn tail with a WARN naming the offset and truncates it on the next write', () => {
    const { db, storage } = FileStorage.open(file);
    transact(db, storage, [{ op: 'insert', table: 'T', row: { name: 'kept' } }]);
    storage.close();
    const good = fs.statSync(file).size;
    const torn = frame('{"_date":1,"T":{"00000000-0000-4000-8000-000000000001":{"name":"lost"}}}\n');
    fs.appendFileSync(file, torn.subarray(0, torn.length - 7));
    const logs: string[] = [];
    const again = FileStorage.open(file, { onLog: (level, m) => logs.push(`${level} ${m}`) });
    expect(logs).toHaveLength(1);
    const body = good + torn.indexOf(0x0a) + 1;
    expect(logs[0]).toBe(`WARN I/O error: ${file}: error reading ${torn.length - torn.indexOf(0x0a) - 1} bytes starting at offset ${body} (End of file); using the data before offset ${good} (${torn.length - 7} bytes of an incomplete last record dropped)`);
    expect([...again.db.table('T').rows.values()].map((r) => r.data[0].keys[0])).toEqual(['kept']);
    transact(again.db, again.storage, [{ op: 'insert', table: 'T', row: { name: 'next' } }]);
    again.storage.close();
    expect(records().map((r) => JSON.stringify(r.T ?? '')).filter((t) => t.includes('lost'))).toEqual([]);
    expect(FileStorage.read(file).table('T').rows.size).toBe(2);
  });

  it('refuses mid-file corruption with the offset (strict); the reference policy keeps the data before it', () => {
    const { db, storage } = FileStorage.open(file);
    transact(db, storage, [{ op: 'insert', table: 'T', row: { name: 'one' } }]);
    const offset = fs.statSync(file).size;
    transact(db, storage, [{ op: 'insert', table: 'T', row: { name: 'two' } }]);
    transact(db, storage, [{ op: 'insert', table: 'T', row: { name: 'three' } }]);
    storage.close();
    const bytes = fs.readFileSync(file);
    const at = bytes.indexOf('"two"', offset);
    bytes[at + 1] = 'X'.charCodeAt(0); // same length, wrong hash
    fs.writeFileSync(file, bytes);
    const body = bytes.indexOf(0x0a, offset) + 1;
    expect(() => FileStorage.open(file)).toThrow(new RegExp(`^syntax error: ${file}: \\d+ bytes starting at offset ${body} have SHA-1 hash [0-9a-f]{40} but should have hash [0-9a-f]{40}`));
    const logs: string[] = [];
    const db2 = FileStorage.read(file, { policy: 'reference', onLog: (l, m) => logs.push(`${l} ${m}`) });
    expect(db2.table('T').rows.size).toBe(1);
    expect(logs[0]).toMatch(/^ERR .*have SHA-1 hash/);
  });

  it('online compaction writes schema + one record and keeps serving appends', () => {
    const { db, storage } = FileStorage.open(file);
    for (let i = 0; i < 20; i++) transact(db, storage, [{ op: 'insert', table: 'T', row: { name: `r${i}`, n: i } }]);
    transact(db, storage, [{ op: 'delete', table: 'T', where: [['n', '<', 10]] }]);
    storage.compact(db);
    let recs = records();
    expect(recs.length).toBe(2);
    expect(recs[1]).toMatchObject({ _comment: 'compacting database online', _is_diff: true });
    expect(Object.keys(recs[1].T as object).length).toBe(10);
    transact(db, storage, [{ op: 'insert', table: 'T', row: { name: 'after' } }]);
    recs = records();
    expect(recs.length).toBe(3);
    expect(storage.status()).toBeNull();
    const before = rowsOf(db);
    storage.close();
    expect(rowsOf(FileStorage.read(file))).toEqual(before);
    expect(fs.existsSync(`${file}.tmp`)).toBe(false);
  });
});

describe('CompactionSchedule (reference §7.5)', () => {
  it('waits 10–20 minutes, then needs 100 records, 10 MiB and twice the loaded size; after 24 h any record', () => {
    let now = 1_000_000;
    const s = new CompactionSchedule(() => now, () => 0.5);
    expect(s.nextMin).toBe(now + 15 * 60_000);
    expect(s.nextMax).toBe(now + 24 * 3600_000);
    const big = COMPACT_MIN_BYTES + 1;
    expect(s.due(1000, big * 3, big)).toBe(false); // too early
    now += 15 * 60_000;
    expect(s.due(99, big * 3, big)).toBe(false);
    expect(s.due(100, COMPACT_MIN_BYTES, 1)).toBe(false);
    expect(s.due(100, big * 2, big)).toBe(false);
    expect(s.due(100, big * 2 + 1, big)).toBe(true);
    now += 24 * 3600_000;
    expect(s.due(1, 100, 100)).toBe(true);
    expect(s.due(0, 100, 100)).toBe(false);
    s.reset();
    expect(s.due(1000, big * 3, big)).toBe(false);
  });

  it('FileStorage.maybeCompact follows the schedule', () => {
    let now = 0;
    const logs: string[] = [];
    const { db, storage } = FileStorage.open(file, { now: () => now, random: () => 0, onLog: (l, m) => logs.push(`${l} ${m}`) });
    transact(db, storage, [{ op: 'insert', table: 'T', row: { name: 'x' } }]);
    expect(storage.maybeCompact()).toBe(false);
    now = 24 * 3600_000;
    expect(storage.maybeCompact()).toBe(true);
    expect(records()[1]).toMatchObject({ _comment: 'compacting database online' });
    expect(logs.some((l) => l.startsWith('INFO') && l.includes('compacting database online'))).toBe(true);
    expect(storage.maybeCompact()).toBe(false); // rescheduled
    storage.close();
  });
});

describe('applyRecord with the 3.1.0 reader (clustered apply)', () => {
  it('a diff to a min-1 set holding its default replaces the value, as every 3.1.0 cluster member does', async () => {
    const { applyRecord } = await import('../../storage/file.ts');
    const { Database } = await import('../../storage/database.ts');
    const { parseSchema } = await import('../../schema/schema.ts');
    const { datumToJson } = await import('../../schema/datum.ts');
    const read = (reader31: boolean) => {
      const db = new Database(parseSchema(SCHEMA as unknown as JsonValue));
      const uuid = '4c5e3428-f3ea-4406-bab8-66175b3e56ea';
      applyRecord(db, { T: { [uuid]: { name: 'r' } } });
      // The diff the writer emits for `small += INT64_MAX` on a row holding the default {0}.
      applyRecord(db, { _is_diff: true, T: { [uuid]: { small: ['set', [0, 9223372036854775807n]] } } }, 'r', { reader31 });
      const t = db.table('T');
      const col = t.schema.columnsByName.get('small')!;
      return datumToJson(col.type, t.rows.get(uuid)!.data[col.index]);
    };
    expect(read(true)).toEqual(['set', [0, 9223372036854775807n]]);
    expect(read(false)).toEqual(9223372036854775807n);
  });
});
