// Member order inside monitor replies and updates, byte for byte against the real ovsdb-server: tables,
// rows and columns by name for unconditional monitor_cond / monitor_cond_since, the reference's hash order
// for `monitor` and conditional monitors (server/ovs-order.ts). The Python IDL with an index on a
// reference column (ovsdbapp's indexed tables) depends on it: its JSON parser re-hashes the tables, so a
// different wire order changes which table it processes first.
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { TempDir, Server, startServer, SCHEMA, IMPLS, RawClient, REPO, LineFollower, type Impl } from './lib/harness.ts';

const PYTHON = '/usr/bin/python3';
const SB_INDEX = path.join(REPO, 'test/interop/py/sb_index.py');

let tmp: TempDir;
const srv = {} as Record<Impl, Server>;
const clients: RawClient[] = [];

// Ours without history, as the reference keeps none for standalone databases: then even update3's
// last-txn-id (all zeros) is the same.
const NO_HISTORY = ['--standalone-history=off'];

beforeAll(async () => {
  tmp = new TempDir();
  await Promise.all(
    IMPLS.map(async (impl) => (srv[impl] = await startServer(impl, tmp, [SCHEMA.sb], { name: impl, args: impl === 'ours' ? NO_HISTORY : [] }))),
  );
});

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(IMPLS.map((impl) => srv[impl]?.stop()));
  tmp?.cleanup();
});

async function client(impl: Impl): Promise<RawClient> {
  const c = await RawClient.connect(srv[impl].sock);
  clients.push(c);
  return c;
}

const U = (n: number) => `${n.toString(16).padStart(8, '0')}-0000-4000-8000-${(n * 7919).toString(16).padStart(12, '0')}`;
const DB = 'OVN_Southbound';

// Tables named out of order, one left empty (it still takes a place in the reference's table list).
const TABLES = ['IP_Multicast', 'Datapath_Binding', 'Port_Binding', 'Chassis', 'Encap', 'MAC_Binding', 'Logical_Flow', 'SB_Global', 'Meter', 'DNS'];
const v1Request = Object.fromEntries(TABLES.map((t) => [t, {}]));
const v2Request = Object.fromEntries(TABLES.map((t) => [t, [{}]]));
const v2Conditional = { ...v2Request, Port_Binding: [{ where: [['tunnel_key', '>', 1]] }], Meter: [] };

/** Commits that touch many tables, each in an order unlike the table order. */
function commits(base: number): unknown[][] {
  const dp = ['uuid', U(base + 1)];
  const ins = (table: string, n: number, row: Record<string, unknown>) => ({ op: 'insert', table, uuid: U(base + n), row });
  return [
    [
      ins('IP_Multicast', 2, { datapath: dp, enabled: true, eth_src: 'aa' }),
      ins('Port_Binding', 3, { datapath: dp, logical_port: `lp${base}a`, tunnel_key: 1, mac: ['set', ['m1', 'm2']] }),
      ins('Port_Binding', 4, { datapath: dp, logical_port: `lp${base}b`, tunnel_key: 2 }),
      ins('Port_Binding', 5, { datapath: dp, logical_port: `lp${base}c`, tunnel_key: 3, type: 'patch' }),
      ins('Datapath_Binding', 1, { tunnel_key: base, external_ids: ['map', [['k', 'v']]] }),
      ins('Encap', 6, { type: 'geneve', ip: '10.0.0.1', chassis_name: `ch${base}` }),
      ins('Chassis', 7, { name: `ch${base}`, hostname: 'h', encaps: ['uuid', U(base + 6)] }),
      ins('SB_Global', 8, { nb_cfg: 1 }),
      ins('DNS', 9, { datapaths: dp, records: ['map', [['a', 'b']]] }),
      ins('MAC_Binding', 10, { logical_port: `lp${base}a`, ip: '1.1.1.1', mac: 'aa', datapath: dp }),
      ins('Logical_Flow', 11, { logical_datapath: dp, pipeline: 'ingress', table_id: 0, priority: 5, match: '1', actions: 'next;' }),
    ],
    [
      { op: 'update', table: 'Port_Binding', where: [['tunnel_key', '==', 2]], row: { tunnel_key: 7, options: ['map', [['x', 'y']]] } },
      { op: 'update', table: 'Chassis', where: [], row: { hostname: 'h2', nb_cfg: 3 } },
      { op: 'mutate', table: 'Datapath_Binding', where: [], mutations: [['external_ids', 'insert', ['map', [['k2', 'v2']]]]] },
      { op: 'update', table: 'Port_Binding', where: [['tunnel_key', '==', 3]], row: { tunnel_key: 9 } },
    ],
    [
      { op: 'delete', table: 'Logical_Flow', where: [] },
      { op: 'delete', table: 'MAC_Binding', where: [] },
      { op: 'update', table: 'IP_Multicast', where: [], row: { enabled: false } },
    ],
  ];
}

/** Message text with every _version value masked (it is random on both servers). */
const masked = (m: unknown) => JSON.stringify(m).replace(/"_version":\["uuid","[0-9a-f-]{36}"\]/g, '"_version":"V"');

async function scenario(impl: Impl): Promise<string[]> {
  const kinds: [string, string, unknown][] = [
    ['monitor', 'm1', v1Request],
    ['monitor_cond', 'm2', v2Request],
    ['monitor_cond', 'm3', v2Conditional],
    ['monitor_cond_since', 'm4', v2Request],
  ];
  const watchers: RawClient[] = [];
  for (const [method, id, req] of kinds) {
    const c = await client(impl);
    const params = method === 'monitor_cond_since' ? [DB, id, req, '00000000-0000-0000-0000-000000000000'] : [DB, id, req];
    await c.call(method, params, id);
    watchers.push(c);
  }
  const writer = await client(impl);
  let n = 0;
  for (const ops of commits(1000)) {
    const r = await writer.call('transact', [DB, ...ops], `t${n++}`);
    expect(JSON.stringify(r), impl).not.toContain('"error":"');
  }
  // A condition change, then monitors opened on the populated database (initial contents).
  await watchers[2].call('monitor_cond_change', ['m3', 'm3', { Port_Binding: [{ where: [['tunnel_key', '<', 5]] }], DNS: [{ where: [false] }] }], 'cc');
  for (const [method, id, req] of kinds) {
    const c = await client(impl);
    const params = method === 'monitor_cond_since' ? [DB, `${id}i`, req, '00000000-0000-0000-0000-000000000000'] : [DB, `${id}i`, req];
    await c.call(method, params, `${id}i`);
    watchers.push(c);
  }
  for (const w of watchers) await w.call('echo', [], 'sync');
  return watchers.map((w) => w.messages.map(masked).join('\n'));
}

describe('member order of monitor updates (tables, rows, columns) as the reference', () => {
  it('monitor, monitor_cond (unconditional and conditional), monitor_cond_since, condition change, initial replies', async () => {
    const ours = await scenario('ours');
    const real = await scenario('real');
    expect(ours.length).toBe(real.length);
    for (let i = 0; i < real.length; i++) expect(ours[i], `watcher ${i}`).toBe(real[i]);
    // Unconditional v2: tables by name (not the transaction's order).
    expect(real[1]).toContain('{"Chassis":');
    expect(real[1].indexOf('"Datapath_Binding":')).toBeLessThan(real[1].indexOf('"IP_Multicast":'));
  });
});

describe('Python IDL with an index on a reference column (ovsdbapp)', () => {
  const fresh = {} as Record<Impl, Server>;
  beforeAll(async () => {
    await Promise.all(IMPLS.map(async (impl) => (fresh[impl] = await startServer(impl, tmp, [SCHEMA.sb], { name: `${impl}-py` }))));
  });
  afterAll(async () => {
    await Promise.all(IMPLS.map((impl) => fresh[impl]?.stop()));
  });

  it('a commit inserting ports before their datapath leaves every index entry resolved', async () => {
    for (const impl of IMPLS) {
      const idl = new LineFollower(tmp, PYTHON, [SB_INDEX, fresh[impl].remote, SCHEMA.sb, 'Port_Binding', 'datapath', '3']);
      await idl.waitLines(1);
      const w = await RawClient.connect(fresh[impl].sock);
      clients.push(w);
      const dp = (n: number) => ({ op: 'insert', table: 'Datapath_Binding', 'uuid-name': `dp${n}`, row: { tunnel_key: 500 + n } });
      const pb = (n: number, lp: string, key: number) => ({
        op: 'insert',
        table: 'Port_Binding',
        row: { datapath: ['named-uuid', `dp${n}`], logical_port: `${impl}-${lp}`, tunnel_key: key },
      });
      const ok = (r: Record<string, unknown>) => expect(JSON.stringify(r), impl).not.toContain('"error":"');
      ok(await w.call('transact', [DB, dp(1), pb(1, 'a', 1)], 1));
      await idl.waitMatch(/^rows 1$/);
      // Ports first in the transaction: the reference still writes Datapath_Binding first, and the IDL
      // (whose parser re-hashes the tables) then resolves the new ports' datapath like the first one's.
      ok(await w.call('transact', [DB, pb(2, 'b', 1), pb(2, 'c', 2), dp(2)], 2));
      const lines = await idl.waitLines(6);
      expect(lines, impl).toEqual([
        'ready',
        'rows 1',
        'rows 3',
        'Port_Binding.datapath -> Row',
        'Port_Binding.datapath -> Row',
        'Port_Binding.datapath -> Row',
      ]);
      expect((await idl.exited).code).toBe(0);
    }
  });
});

