// Active/backup pairings with the real tools: ovsdb-ts → ovsdb-ts, reference active → ovsdb-ts backup,
// ovsdb-ts active → reference backup; role switches back and forth; data compared with `ovsdb-client dump`
// after every step; read-only behaviour, exclusion, self-replication and schema checks.
import fs from 'node:fs';
import { describe, it, expect, afterEach } from 'vitest';
import { JsonRpcClient } from '../../server/jsonrpc.ts';
import { client, count, rpc, dump, Lab, referenceStatus, TEST_SCHEMA, transact, waitFor, type Kind, type ServerProc } from './replication-harness.ts';

let lab: Lab;
afterEach(async () => lab?.cleanup());

const replicating = (p: ServerProc, active: ServerProc, dbs = 'Test') =>
  referenceStatus(p.appctl('ovsdb-server/sync-status').stdout) === `state: backup\nreplicating: ${active.remote}\ndatabase: ${dbs}\n`;

async function inSync(a: ServerProc, b: ServerProc, what: string): Promise<void> {
  await waitFor(() => dump(a) === dump(b), what);
}

let seq = 0;
function someWrites(p: ServerProc): void {
  const k = seq++;
  transact(
    p,
    { op: 'insert', table: 'Child', row: { v: k }, 'uuid-name': 'c' },
    { op: 'insert', table: 'Root', row: { name: `r${k}`, n: k, kids: ['set', [['named-uuid', 'c']]], tags: ['map', [['k', `v${k}`]]] } },
    { op: 'insert', table: 'Limited', row: { x: k } },
  );
  transact(
    p,
    { op: 'mutate', table: 'Root', where: [['name', '==', `r${k}`]], mutations: [['n', '+=', 100], ['tags', 'insert', ['map', [['z', 'zz']]]]] },
    { op: 'update', table: 'Limited', where: [['x', '==', k]], row: { x: k + 1000 } },
  );
  if (k > 0) transact(p, { op: 'delete', table: 'Root', where: [['name', '==', `r${k - 1}`]] });
}

const READ_ONLY = [{ details: 'insert operation not allowed when database server is in read only mode', error: 'not allowed' }];

async function expectReadOnly(p: ServerProc): Promise<void> {
  expect(transact(p, { op: 'insert', table: 'Limited', row: { x: 1 } })).toEqual(READ_ONLY);
  for (const method of ['lock', 'steal', 'unlock']) {
    expect(await rpc(p, method, ['L1'])).toEqual({ error: 'lock and unlock methods not allowed, DB server is read only.' });
  }
}

const PAIRS: [Kind, Kind][] = [
  ['ts', 'ts'],
  ['c', 'ts'],
  ['ts', 'c'],
];

describe.each(PAIRS)('%s active → %s backup', (activeKind, backupKind) => {
  it('initial sync, live updates, read-only backup, and role switches back and forth', async () => {
    lab = new Lab();
    const aDb = lab.createDb('a.db');
    const bDb = lab.createDb('b.db');
    const a = await lab.start(activeKind, 'a', [aDb]);
    someWrites(a);
    someWrites(a);
    const b = await lab.start(backupKind, 'b', [bDb], [`--sync-from=${a.remote}`]);
    await waitFor(() => replicating(b, a), 'backup replicating');
    await inSync(a, b, 'initial sync');
    expect(count(b, 'Root')).toBeGreaterThan(0);

    // A client of the backup: its monitor sees replicated changes, and it stays connected across the switch.
    const stay = await JsonRpcClient.connect(b.remote);
    const seen = new Set<string>();
    stay.on('notification', (method, params) => {
      const rows = (params[1] as { Root?: Record<string, { new?: { name: string } }> }).Root ?? {};
      if (method === 'update') for (const r of Object.values(rows)) if (r.new) seen.add(r.new.name);
    });
    await stay.request('monitor', ['Test', 'stay', { Root: { columns: ['name'] } }]);
    someWrites(a);
    await inSync(a, b, 'live updates');
    await waitFor(() => seen.size > 0, 'replicated change seen by a client of the backup');
    await expectReadOnly(b);

    // Promote b; it keeps its data and accepts writes; a becomes b's backup.
    expect(b.appctl('ovsdb-server/disconnect-active-ovsdb-server')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(b.appctl('ovsdb-server/sync-status').stdout).toBe('state: active\n');
    const ins = (await stay.request('transact', ['Test', { op: 'insert', table: 'Limited', row: { x: -1 } }])) as { uuid?: unknown }[];
    expect(ins[0].uuid).toBeDefined();
    stay.close();
    someWrites(b);
    expect(a.appctl('ovsdb-server/set-active-ovsdb-server', b.remote).code).toBe(0);
    expect(a.appctl('ovsdb-server/connect-active-ovsdb-server')).toEqual({ code: 0, stdout: '', stderr: '' });
    await waitFor(() => replicating(a, b), 'a replicating from b');
    await inSync(b, a, 'a caught up with b');
    someWrites(b);
    await inSync(b, a, 'a follows b');
    await expectReadOnly(a);

    // And back again.
    a.appctl('ovsdb-server/disconnect-active-ovsdb-server');
    someWrites(a); // diverge: b must drop its own changes when it follows a again
    someWrites(b);
    expect(b.appctl('ovsdb-server/set-active-ovsdb-server', a.remote).code).toBe(0);
    b.appctl('ovsdb-server/connect-active-ovsdb-server');
    await waitFor(() => replicating(b, a), 'b replicating from a again');
    await inSync(a, b, 'b resynced from a');
    someWrites(a);
    await inSync(a, b, 'b follows a again');
  });

  it('excluded tables are not replicated and keep their local rows', async () => {
    lab = new Lab();
    const aDb = lab.createDb('a.db');
    const bDb = lab.createDb('b.db');
    // A local row in the excluded table, written with the real ovsdb-tool.
    fs.writeFileSync(lab.file('ops.json'), JSON.stringify(['Test', { op: 'insert', table: 'Limited', row: { x: 42 } }, { op: 'insert', table: 'Root', row: { name: 'local' } }]));
    expect(spawnTool(['transact', bDb, fs.readFileSync(lab.file('ops.json'), 'utf8')])).toBe(0);
    const a = await lab.start(activeKind, 'a', [aDb]);
    someWrites(a);
    const b = await lab.start(backupKind, 'b', [bDb], [`--sync-from=${a.remote}`, '--sync-exclude-tables=Test:Limited']);
    await waitFor(
      () => referenceStatus(b.appctl('ovsdb-server/sync-status').stdout) === `state: backup\nreplicating: ${a.remote}\ndatabase: Test\nexclude: Test:Limited\n`,
      'replicating with exclusion',
    );
    await waitFor(() => !dump(b).includes('local'), 'Root replaced');
    someWrites(a);
    const rootOf = (p: ServerProc) =>
      dump(p)
        .split('\n\n')
        .filter((block) => !block.startsWith('Limited table'))
        .join('\n\n');
    await waitFor(() => rootOf(a) === rootOf(b), 'Root and Child in sync');
    const limited = JSON.parse(client('transact', b.remote, JSON.stringify(['Test', { op: 'select', table: 'Limited', where: [], columns: ['x'] }])).stdout);
    expect(limited).toEqual([{ rows: [{ x: 42 }] }]);
    expect(b.appctl('ovsdb-server/get-sync-exclude-tables').stdout).toBe('Test:Limited\n');
  });
});

import { spawnSync } from 'node:child_process';
function spawnTool(args: string[]): number | null {
  return spawnSync('ovsdb-tool', args, { encoding: 'utf8' }).status;
}

describe('handshake failures', () => {
  it('refuses to replicate from itself and becomes active', async () => {
    lab = new Lab();
    const sock = lab.file('self.sock');
    const p = await lab.start('ts', 'self', [lab.createDb('self.db')], [`--sync-from=unix:${sock}`]);
    await waitFor(() => p.log().includes('Self replicating is not allowed'), 'self-replication error');
    expect(p.log()).toContain('ovsdb_error|ERR|unexpected ovsdb error: Server ID check failed: Self replicating is not allowed');
    await waitFor(() => p.appctl('ovsdb-server/sync-status').stdout === 'state: active\n', 'active');
    expect(transact(p, { op: 'insert', table: 'Limited', row: { x: 1 } })).toHaveLength(1);
  });

  it('schema checks: a superset on the active cannot be replicated, a subset can (same log lines as the reference)', async () => {
    lab = new Lab();
    const bigger = structuredClone(TEST_SCHEMA) as typeof TEST_SCHEMA & { tables: { Limited: { columns: Record<string, unknown> } } };
    bigger.version = '1.1.0';
    bigger.tables.Limited.columns.extra = { type: 'integer' };
    const bigSchema = lab.writeSchema('big.ovsschema', bigger);
    const logs: Record<string, string> = {};
    for (const kind of ['c', 'ts'] as Kind[]) {
      // Active has an extra column: the backup cannot replicate and turns active.
      const a = await lab.start('ts', `big-${kind}`, [lab.createDb(`big-${kind}.db`, bigSchema)]);
      const b = await lab.start(kind, `small-${kind}`, [lab.createDb(`small-${kind}.db`)], [`--sync-from=${a.remote}`]);
      await waitFor(() => b.log().includes('Nothing to replicate.'), 'nothing to replicate');
      await waitFor(() => b.appctl('ovsdb-server/sync-status').stdout === 'state: active\n', 'backup turned active');
      logs[kind] = b
        .log()
        .split('\n')
        .filter((l) => /\|replication\|/.test(l))
        .map((l) => l.replace(/^[^|]*\|[^|]*\|/, ''))
        .join('\n');
      // The other way round: the active's schema is a subset of the backup's.
      const c = await lab.start(kind, `big-backup-${kind}`, [lab.createDb(`bb-${kind}.db`, bigSchema)], [`--sync-from=${b.remote}`]);
      transact(b, { op: 'insert', table: 'Limited', row: { x: 7 } });
      await waitFor(() => c.log().includes('Test can be replicated.'), 'subset accepted');
      await waitFor(() => count(c, 'Limited') === 1, 'subset replicated');
      for (const p of [a, b, c]) await p.stop();
    }
    expect(logs.ts).toBe(logs.c);
    expect(logs.ts).toBe(
      [
        'replication|INFO|Schema version mismatch, checking if Test can still be replicated or not.',
        'replication|INFO|Column extra not present in the local db schema table Limited.',
        'replication|INFO|Test cannot be replicated.',
        'replication|WARN|Nothing to replicate.',
      ].join('\n'),
    );
  });
});

describe('better than the reference', () => {
  it('the initial snapshot is one file record, and a reconnect to an ovsdb-ts active resyncs incrementally', async () => {
    lab = new Lab();
    const a = await lab.start('ts', 'a', [lab.createDb('a.db')]);
    someWrites(a);
    const bDb = lab.createDb('b.db');
    fs.writeFileSync(lab.file('ops.json'), JSON.stringify(['Test', { op: 'insert', table: 'Root', row: { name: 'old' } }]));
    expect(spawnTool(['transact', bDb, fs.readFileSync(lab.file('ops.json'), 'utf8')])).toBe(0);
    const records = () => fs.readFileSync(bDb, 'utf8').split('\n').filter((l) => l.startsWith('OVSDB JSON ')).length;
    expect(records()).toBe(2);
    const b = await lab.start('ts', 'b', [bDb], [`--sync-from=${a.remote}`]);
    await waitFor(() => replicating(b, a), 'replicating');
    await inSync(a, b, 'initial sync');
    expect(records()).toBe(3); // the old rows were replaced by one record, not a delete record plus an insert record
    expect(b.appctl('ovsdb-server/sync-status').stdout).toMatch(/\nlast initial sync: full, \d+ ms\n/);

    // Reconnect (a full re-initialization for the reference): only the missed changes come over.
    b.appctl('ovsdb-server/disconnect-active-ovsdb-server');
    someWrites(a);
    b.appctl('ovsdb-server/connect-active-ovsdb-server');
    await waitFor(() => replicating(b, a), 'replicating again');
    await inSync(a, b, 'incremental resync');
    const status = b.appctl('ovsdb-server/sync-status').stdout;
    expect(status).toMatch(/\nlast initial sync: incremental, \d+ ms\n/);
    expect(b.log()).toMatch(/replication\|INFO\|Test: resuming from transaction [0-9a-f-]{36} \(incremental resync\)/);
    // Status extras: the active's last txn id is ours.
    const m = /last transaction id: Test ([0-9a-f-]{36})/.exec(status);
    expect(m).not.toBeNull();
    expect(status).toMatch(/\ntransactions applied: \d+\nseconds since last update: \d+\.\d{3}\n/);
  });

  it('add-db and remove-db while backup re-initialize replication', async () => {
    lab = new Lab();
    const other = lab.writeSchema('other.ovsschema', { name: 'Other', tables: { T: { columns: { s: { type: 'string' } } } } });
    const a = await lab.start('ts', 'a', [lab.createDb('a.db'), lab.createDb('ao.db', other)]);
    client('transact', a.remote, JSON.stringify(['Other', { op: 'insert', table: 'T', row: { s: 'hello' } }]));
    const b = await lab.start('ts', 'b', [lab.createDb('b.db')], [`--sync-from=${a.remote}`]);
    await waitFor(() => replicating(b, a, 'Test'), 'replicating Test');
    expect(b.appctl('ovsdb-server/add-db', lab.createDb('bo.db', other))).toEqual({ code: 0, stdout: '', stderr: '' });
    await waitFor(() => replicating(b, a, 'Test, Other'), 'replicating Test and Other');
    await waitFor(() => count(b, 'T', 'Other') === 1, 'Other replicated');
    expect(b.appctl('ovsdb-server/remove-db', 'Test').code).toBe(0);
    await waitFor(() => replicating(b, a, 'Other'), 'replicating Other only');
  });
});
