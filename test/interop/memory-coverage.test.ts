// `memory/show` and `coverage/show` side by side with the real server: the memory counters are the
// reference's (atoms, cells, monitors as distinct monitor shapes, n-weak-refs, sessions, triggers), equal
// for the same database and clients; coverage lists the counters hit, in its format.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { TempDir, Server, startServer, SCHEMA, IMPLS, RawClient, waitFor, type Impl } from './lib/harness.ts';

let tmp: TempDir;
const srv = {} as Record<Impl, Server>;
const clients: RawClient[] = [];

beforeAll(async () => {
  tmp = new TempDir();
  // Without history, as the reference (which would not count ours).
  await Promise.all(
    IMPLS.map(async (impl) => (srv[impl] = await startServer(impl, tmp, [SCHEMA.sb], { args: impl === 'ours' ? ['--standalone-history=off'] : [] }))),
  );
});

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(IMPLS.map((impl) => srv[impl]?.stop()));
  tmp?.cleanup();
});

const DB = 'OVN_Southbound';
const TXN = [
  DB,
  { op: 'insert', table: 'Chassis', 'uuid-name': 'ch', row: { name: 'c1', hostname: 'h', encaps: ['named-uuid', 'e'], external_ids: ['map', [['a', 'b'], ['c', 'd']]] } },
  { op: 'insert', table: 'Encap', 'uuid-name': 'e', row: { type: 'geneve', ip: '1.1.1.1', chassis_name: 'c1' } },
  { op: 'insert', table: 'Datapath_Binding', 'uuid-name': 'dp', row: { tunnel_key: 1 } },
  { op: 'insert', table: 'Port_Binding', row: { datapath: ['named-uuid', 'dp'], logical_port: 'p', tunnel_key: 1, chassis: ['named-uuid', 'ch'] } },
];

describe('memory/show and coverage/show', () => {
  it('memory/show: the same counters as the reference for the same state', async () => {
    for (const impl of IMPLS) {
      const c = await RawClient.connect(srv[impl].sock);
      clients.push(c);
      expect((await c.call('transact', TXN, 't')).error).toBeNull();
      // Two monitors of one shape (one shared monitor in the reference) and one of another.
      for (const [id, cols] of [['a', ['name']], ['b', ['name']], ['c', ['hostname']]] as const) {
        await c.call('monitor', [DB, id, { Chassis: { columns: cols } }], id);
      }
      // A transaction blocked in `wait` (a trigger) until its timeout.
      c.request('transact', [DB, { op: 'wait', table: 'Chassis', timeout: 60000, where: [], columns: ['name'], until: '==', rows: [] }], 'w');
    }
    const show = async (impl: Impl) => (await srv[impl].appctl('memory/show')).stdout;
    await waitFor(async () => (await show('real')).includes('triggers:1'), 'the real server to count the trigger');
    const real = await show('real');
    expect(await show('ours')).toBe(real);
    expect(real).toBe('atoms:39 cells:65 monitors:2 n-weak-refs:1 sessions:1 triggers:1\n');
  });

  it('coverage/show: counters hit, the reference’s layout; read-counter', async () => {
    const r = await srv.ours.appctl('coverage/show');
    expect(r.stdout).toMatch(/^Event coverage, avg rate over last: 5 seconds, last minute, last hour, {2}hash=[0-9a-f]{8}:\n/);
    expect(r.stdout).toMatch(/\nlockfile_lock {14}0\.0\/sec {5}0\.000\/sec {8}0\.0000\/sec {3}total: 1\n/);
    expect(r.stdout).toMatch(/\npstream_open {13}[ 0-9.]{5}\/sec [ 0-9.]{9}\/sec [ 0-9.]{13}\/sec {3}total: 2\n/);
    expect(r.stdout).toMatch(/\n\d+ events never hit\n$/);
    // The real server's layout (its counters are its internals, folded in from its threads once a second).
    const real = (await srv.real.appctl('coverage/show')).stdout;
    expect(real).toMatch(/^Event coverage, avg rate over last: 5 seconds, last minute, last hour, {2}hash=[0-9a-f]{8}:\n(\S+ +[ 0-9.]{5}\/sec [ 0-9.]{9}\/sec [ 0-9.]{13}\/sec {3}total: \d+\n)*\d+ events never hit\n$/);
    expect(r.stdout).toMatch(/^Event coverage, avg rate over last: 5 seconds, last minute, last hour, {2}hash=[0-9a-f]{8}:\n(\S+ +[ 0-9.]{5}\/sec [ 0-9.]{9}\/sec [ 0-9.]{13}\/sec {3}total: \d+\n)*\d+ events never hit\n$/);
    expect((await srv.ours.appctl('coverage/read-counter', 'pstream_open')).stdout).toBe('2\n');
    for (const impl of IMPLS) {
      expect(await srv[impl].appctl('coverage/read-counter', 'no_such')).toMatchObject({ code: 2, stdout: '', stderr: `No such counter\novs-appctl: ${srv[impl].ctl}: server returned an error\n` });
    }
  });
});
