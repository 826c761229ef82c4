// The transaction records we append to a database file, byte for byte as the real server writes them
// for the same transactions (members of every object in its hash order: tables, then _comment, _is_diff,
// _date; rows; columns), before and after online compaction (upstream "compacting online" reads the file).
import fs from 'node:fs';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { TempDir, Server, startServer, SCHEMA, IMPLS, run, type Impl } from './lib/harness.ts';

let tmp: TempDir;
const srv = {} as Record<Impl, Server>;
const file = {} as Record<Impl, string>;

beforeAll(async () => {
  tmp = new TempDir();
  await Promise.all(
    IMPLS.map(async (impl) => {
      srv[impl] = await startServer(impl, tmp, [SCHEMA.nb], { name: impl });
      file[impl] = tmp.file(`${impl}-0.db`);
    }),
  );
});

afterAll(async () => {
  await Promise.all(IMPLS.map((impl) => srv[impl]?.stop()));
  tmp?.cleanup();
});

const U = (n: number) => `${n.toString(16).padStart(8, '0')}-aaaa-4bbb-8ccc-${(n * 104729).toString(16).padStart(12, '0')}`;
const DB = 'OVN_Northbound';

const TXNS: unknown[][] = [
  [
    { op: 'insert', table: 'Logical_Switch_Port', uuid: U(2), row: { name: 'p1', addresses: ['set', ['00:00:00:00:00:01 10.0.0.1']], external_ids: ['map', [['a', 'b']]], enabled: true, type: 'router' } },
    { op: 'insert', table: 'Logical_Switch_Port', uuid: U(3), row: { name: 'p2', tag_request: 7 } },
    { op: 'insert', table: 'Logical_Switch', uuid: U(1), row: { name: 'sw0', ports: ['set', [['uuid', U(2)], ['uuid', U(3)]]], other_config: ['map', [['mcast_snoop', 'true']]] } },
    { op: 'insert', table: 'Address_Set', uuid: U(4), row: { name: 'as1', addresses: ['set', ['10.0.0.1', '10.0.0.2']] } },
    { op: 'comment', comment: 'first' },
  ],
  [
    { op: 'update', table: 'Logical_Switch_Port', where: [['name', '==', 'p1']], row: { up: true, addresses: ['set', ['00:00:00:00:00:02 10.0.0.2']] } },
    { op: 'mutate', table: 'Address_Set', where: [], mutations: [['addresses', 'insert', ['set', ['10.0.0.3']]]] },
  ],
  [
    { op: 'mutate', table: 'Logical_Switch', where: [], mutations: [['ports', 'delete', ['set', [['uuid', U(3)]]]]] },
    { op: 'delete', table: 'Address_Set', where: [] },
    { op: 'comment', comment: 'gone' },
  ],
];

/** The record lines after the schema, _date masked. */
function records(impl: Impl): string[] {
  return fs
    .readFileSync(file[impl], 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('OVSDB JSON'))
    .slice(1)
    .map((l) => l.replace(/"_date":\d+/, '"_date":0'));
}

describe('database file records', () => {
  it('appended records and the compacted snapshot have the reference’s member order', async () => {
    for (const impl of IMPLS) {
      for (const ops of TXNS) {
        const r = await run('ovsdb-client', ['transact', srv[impl].remote, JSON.stringify([DB, ...ops])], { env: tmp.env });
        expect(r.stdout, impl).not.toContain('"error"');
      }
    }
    expect(records('ours')).toEqual(records('real'));
    expect(records('real')).toHaveLength(3);
    for (const impl of IMPLS) expect((await srv[impl].appctl('ovsdb-server/compact')).code).toBe(0);
    expect(records('ours')).toEqual(records('real'));
    expect(records('real')).toHaveLength(1);
    expect(records('real')[0]).toContain('"Logical_Switch_Port":');
  });
});
