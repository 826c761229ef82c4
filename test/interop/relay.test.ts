// Relay mode (raft.md §5) with the real tools: ovsdb-ts relays in front of the real ovsdb-server (standalone
// and a 3-member Raft cluster) and of ovsdb-ts, a real C relay in front of ovsdb-ts, chains of relays,
// ovn-sbctl --no-leader-only and conditional monitors through a relay, forwarded writes and their exact
// replies, "canceled" on reconnect, source failover while clients keep their sessions, and a schema change
// upstream.
import fs from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ZERO_UUID } from '../../schema/atom.ts';
import type { JsonValue } from '../../schema/json.ts';
import { JsonRpcClient, JsonRpcConnection, type JsonRpcMessage } from '../../server/jsonrpc.ts';
import { SERVER_SCHEMA_JSON, schemaColumnText } from '../../server/server-db.ts';
import { parseSchema } from '../../schema/schema.ts';
import { IMPLS, LineFollower, run, TempDir } from './lib/harness.ts';
import { OvnNode } from './ops-lib/ovn-node.ts';
import { client, dump, Lab, TEST_SCHEMA, transact, waitFor, type ServerProc } from './replication-harness.ts';
import { currentSource, exists, lastTxnId, serverRow, startCCluster, startRelay, waitConnected } from './relay-harness.ts';

const SB_SCHEMA = '/usr/share/ovn/ovn-sb.ovsschema';
const PY_RELAY_IDL = new URL('./py/relay_idl.py', import.meta.url).pathname;

let lab: Lab | null = null;
afterEach(async () => {
  await lab?.cleanup();
  lab = null;
});

function newLab(): Lab {
  lab = new Lab();
  return lab;
}

/** The reply and notifications one session sees, in arrival order. */
async function session(p: ServerProc): Promise<{ c: JsonRpcClient; events: string[]; notes: [string, JsonValue[]][] }> {
  const c = await JsonRpcClient.connect(p.remote);
  const events: string[] = [];
  const notes: [string, JsonValue[]][] = [];
  c.on('notification', (method, params) => {
    events.push(method);
    notes.push([method, params]);
  });
  c.on('close', () => events.push('closed'));
  return { c, events, notes };
}

describe('relay of the real ovsdb-server (standalone)', () => {
  it('serves reads and monitors, forwards writes with the reference replies, and looks like the reference relay', async () => {
    const l = newLab();
    const src = await l.start('c', 'src', [l.createDb('src.db')]);
    const relay = await startRelay(l, 'ts', 'relay', 'Test', [src]);
    const cRelay = await startRelay(l, 'c', 'crelay', 'Test', [src]);
    await waitConnected(relay, 'Test');
    await waitConnected(cRelay, 'Test');

    // _Server row as the reference relay shows it.
    const row = serverRow(relay, 'Test')!;
    const cRow = serverRow(cRelay, 'Test')!;
    expect({ ...row, schema: typeof row.schema }).toEqual({ ...cRow, schema: 'string' });
    expect(row).toMatchObject({ model: 'relay', leader: false, connected: true, cid: ['set', []], sid: ['set', []], index: ['set', []] });
    expect(parseSchema(JSON.parse(row.schema as string))).toEqual(parseSchema(JSON.parse(cRow.schema as string)));

    // A watcher on the relay sees its own change before the reply.
    const w = await session(relay);
    await w.c.request('monitor_cond', ['Test', 'w', { Root: [{ columns: ['name'] }] }]);
    const reply = await w.c.request('transact', ['Test', { op: 'insert', table: 'Root', row: { name: 'a', n: 1 } }]);
    w.events.push('reply');
    expect(w.events).toEqual(['update2', 'reply']);
    expect(reply).toMatchObject([{ uuid: ['uuid', expect.any(String)] }]);

    // Forwarded writes get the source's exact replies: compare with the same transactions on the C relay.
    const txns: object[][] = [
      [{ op: 'wait', timeout: 0, table: 'Root', where: [], columns: ['name'], until: '==', rows: [] }], // fails locally
      [{ op: 'insert', table: 'Child', row: { v: 1 } }], // garbage collected at the source: empty result, no update
      [{ op: 'insert', table: 'Root', row: { name: 'b', kids: ['set', [['uuid', '00000000-0000-0000-0000-000000000001']]] } }],
      [{ op: 'update', table: 'Root', where: [['name', '==', 'zzz']], row: { n: 5 } }], // changes nothing: still forwarded
      [{ op: 'insert', table: 'Root', row: { name: 'c' } }, { op: 'abort' }], // fails locally
      [{ op: 'insert', table: 'Nope', row: {} }], // fails locally
      [{ op: 'commit', durable: true }],
    ];
    for (const t of txns) {
      const ours = client('transact', relay.remote, JSON.stringify(['Test', ...t]));
      const theirs = client('transact', cRelay.remote, JSON.stringify(['Test', ...t]));
      expect(ours.code).toBe(theirs.code);
      const mask = (x: string) => x.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'U');
      expect(mask(ours.stdout)).toBe(mask(theirs.stdout));
    }
    await waitFor(() => dump(relay) === dump(src) && dump(cRelay) === dump(src), 'both relays equal to the source');

    // The reference standalone has no transaction ids: history is off, as on the C relay.
    expect(await lastTxnId(relay, 'Test')).toEqual({ found: false, id: ZERO_UUID });
    expect(await lastTxnId(cRelay, 'Test')).toEqual({ found: false, id: ZERO_UUID });

    // Operator commands.
    for (const p of [relay, cRelay]) {
      expect(p.appctl('ovsdb-server/compact')).toMatchObject({ code: 0, stdout: '' });
      expect(p.appctl('ovsdb-server/compact', 'Test')).toMatchObject({ code: 0, stdout: '' });
      expect(p.appctl('ovsdb-server/get-db-storage-status', 'Test')).toMatchObject({ code: 0, stdout: 'status: ok\n' });
      expect(p.appctl('ovsdb-server/sync-status')).toMatchObject({ code: 0, stdout: 'state: active\n' });
      expect(p.appctl('ovsdb-server/list-dbs').stdout).toBe('Test\n_Server\n');
    }
    w.c.close();
  });

  it('relay: arguments through add-db: syntax errors, duplicates, a database not available yet, remove-db', async () => {
    const l = newLab();
    const src = await l.start('c', 'src', [l.createDb('src.db')]);
    const servers = [await l.start('ts', 'ours', ['--no-dbs']), await l.start('c', 'ref', ['--no-dbs'])];
    const nowhere = `unix:${l.file('nowhere.sock')}`;
    const results: string[][] = [];
    for (const p of servers) {
      const out: string[] = [];
      for (const arg of ['relay:Bad', 'relay:', `relay:Test:${src.remote}`, `relay:Test:${src.remote}`, `relay:Later:${nowhere}`]) {
        const r = p.appctl('ovsdb-server/add-db', arg);
        out.push(`${r.code} ${r.stdout}${r.stderr}`);
      }
      await waitConnected(p, 'Test');
      const early = client('transact', p.remote, JSON.stringify(['Later', { op: 'select', table: 'T', where: [] }]));
      out.push(`${early.code} ${early.stdout}${early.stderr}`);
      const schema = client('get-schema', p.remote, 'Later');
      out.push(`${schema.code} ${schema.stderr}`);
      out.push(JSON.stringify(serverRow(p, 'Later')));
      out.push(p.appctl('ovsdb-server/list-dbs').stdout);
      results.push(out.map((x) => x.replaceAll(p.ctl, 'CTL')));
    }
    expect(results[0]).toEqual(results[1]);
    // With a relay that never connected, the reference crashes on compact and on remove-db (of either
    // database): ours only.
    const ours = servers[0];
    expect(ours.appctl('ovsdb-server/compact')).toMatchObject({ code: 0, stdout: '' });
    expect(ours.appctl('ovsdb-server/remove-db', 'Test')).toMatchObject({ code: 0, stdout: '' });
    expect(ours.appctl('ovsdb-server/remove-db', 'Later')).toMatchObject({ code: 0, stdout: '' });
    expect(ours.appctl('ovsdb-server/list-dbs').stdout).toBe('_Server\n');
    expect(serverRow(ours, 'Later')).toBe(null);
    expect(results[0].slice(0, 4)).toEqual([
      '2 ovsdb error: relay:Bad: invalid syntax\novs-appctl: CTL: server returned an error\n',
      '2 ovsdb error: relay:: invalid syntax\novs-appctl: CTL: server returned an error\n',
      '0 ',
      '2 ovsdb error: Test: duplicate database name\novs-appctl: CTL: server returned an error\n',
    ]);
    expect(results[0][5]).toBe(
      '1 ovsdb-client: transaction returned error: {"details":"transact request specifies database Later which is not yet available because it has not completed joining its cluster","error":"database not available"}\n',
    );
    expect(JSON.parse(results[0][7])).toEqual({
      name: 'Later', model: 'relay', connected: false, leader: false, schema: ['set', []], cid: ['set', []], sid: ['set', []], index: ['set', []],
    });
  });
});

describe('relays of ovsdb-ts', () => {
  it('a chain of relays (ovsdb-ts and the real one) republishes the source ids, so clients resume on any of them', async () => {
    const l = newLab();
    const src = await l.start('ts', 'src', [l.createDb('src.db')]);
    const r1 = await startRelay(l, 'ts', 'r1', 'Test', [src], ['-vjsonrpc:file:dbg']);
    await waitConnected(r1, 'Test');
    const r2 = await startRelay(l, 'ts', 'r2', 'Test', [r1], ['-vjsonrpc:file:dbg']);
    const c3 = await startRelay(l, 'c', 'c3', 'Test', [r2]); // the real relay in front of ours
    await waitConnected(r2, 'Test');
    await waitConnected(c3, 'Test');
    const r4 = await startRelay(l, 'ts', 'r4', 'Test', [c3]); // and ours in front of the real one
    await waitConnected(r4, 'Test');

    for (let i = 0; i < 5; i++) transact(r4, { op: 'insert', table: 'Root', row: { name: `n${i}`, n: i } });
    const chain = [src, r1, r2, c3, r4];
    await waitFor(async () => {
      const ids = await Promise.all(chain.map((p) => lastTxnId(p, 'Test')));
      return ids.every((x) => x.id === ids[0].id && x.id !== ZERO_UUID);
    }, 'every server of the chain at the same transaction id');
    const expected = dump(src);
    for (const p of chain) expect(dump(p)).toBe(expected);

    // A client that monitored r2 resumes on r4 (and on the source) with only what it missed.
    const { id } = await lastTxnId(r2, 'Test');
    transact(src, { op: 'insert', table: 'Root', row: { name: 'late', n: 99 } });
    await waitFor(async () => (await lastTxnId(r4, 'Test')).id !== id, 'r4 to get the new transaction');
    for (const p of [r4, src, c3]) {
      const c = await JsonRpcClient.connect(p.remote);
      const r = (await c.request('monitor_cond_since', ['Test', 'm', { Root: [{ columns: ['name'] }] }, id])) as JsonValue[];
      c.close();
      expect(r[0]).toBe(true);
      expect(Object.values((r[2] as Record<string, Record<string, unknown>>).Root)).toEqual([{ insert: { name: 'late' } }]);
    }

    // The upstream update3 ids a relay logs are those its own source logs (the upstream relay tests' check).
    const ids = (p: ServerProc) =>
      p
        .log()
        .split('\n')
        .filter((x) => x.includes('received notification, method="update3"'))
        .map((x) => /"monid","Test"\],"([0-9a-f-]+)",\{"/.exec(x)?.[1]);
    expect(ids(r1).length).toBeGreaterThanOrEqual(6);
    expect(ids(r2)).toEqual(ids(r1));
    expect(ids(r1)).not.toContain(ZERO_UUID);
  });

  it('a forwarded transaction lost on reconnect is answered "canceled"; without a source, writes wait', async () => {
    const l = newLab();
    const sock = l.file('fake.sock');
    const fake = new FakeSource(sock);
    await fake.listen();
    const relay = await l.start('ts', 'relay', [`relay:Test:unix:${sock}`]);
    await waitConnected(relay, 'Test');

    const a = await session(relay);
    a.c.request('set_db_change_aware', [true]);
    const pending = a.c.request('transact', ['Test', { op: 'insert', table: 'Root', row: { name: 'x' } }]).catch((e: Error) => e);
    const got = await fake.nextTransact();
    // Verbatim params under a new id.
    expect(got.params).toEqual(['Test', { op: 'insert', table: 'Root', row: { name: 'x' } }]);
    fake.dropAll();
    expect(String(await pending)).toContain('canceled');
    expect(a.c.closed).toBe(false);

    // The source is gone: a write waits for it, then gets the source's reply under the client's id.
    await fake.close();
    const later = a.c.request('transact', ['Test', { op: 'insert', table: 'Root', row: { name: 'y' } }]);
    const fake2 = new FakeSource(sock);
    await fake2.listen();
    const t2 = await fake2.nextTransact();
    expect(t2.params).toEqual(['Test', { op: 'insert', table: 'Root', row: { name: 'y' } }]);
    fake2.reply(t2, [{ uuid: ['uuid', '11111111-2222-3333-4444-555555555555'] }]);
    expect(await later).toEqual([{ uuid: ['uuid', '11111111-2222-3333-4444-555555555555'] }]);
    a.c.close();
    await fake2.close();
  });

  it('source restart: clients keep their sessions, the relay never serves an empty copy, changes keep flowing', async () => {
    const l = newLab();
    const file = l.createDb('src.db');
    let src = await l.start('ts', 'src', [file]);
    for (let i = 0; i < 20; i++) transact(src, { op: 'insert', table: 'Root', row: { name: `r${i}` } });
    const relay = await startRelay(l, 'ts', 'relay', 'Test', [src]);
    await waitConnected(relay, 'Test');
    await waitFor(() => dump(relay) === dump(src), 'the relay synced');

    const w = await session(relay);
    await w.c.request('monitor_cond_since', ['Test', 'w', { Root: [{ columns: ['name'] }] }, ZERO_UUID]);
    await src.stop('SIGKILL');
    src = await l.start('ts', 'src', [file]);
    // While the source was away and after it is back, the relay keeps serving the same rows.
    expect(dump(relay)).toBe(dump(src));
    transact(relay, { op: 'insert', table: 'Root', row: { name: 'after' } });
    await waitFor(() => w.notes.length > 0, 'the watcher to see the new row');
    // The resync after the restart was a no-op for the watcher: its only update is the new row.
    expect(w.notes.map(([m, p]) => [m, Object.values((p[2] as Record<string, Record<string, unknown>>).Root)])).toEqual([
      ['update3', [{ insert: { name: 'after' } }]],
    ]);
    expect(w.c.closed).toBe(false);
    w.c.close();
  });

  it('a schema change upstream: db-change-aware sessions get monitor_canceled, others are disconnected, the new schema is served', async () => {
    const l = newLab();
    const src = await l.start('ts', 'src', [l.createDb('src.db')]);
    transact(src, { op: 'insert', table: 'Root', row: { name: 'kept' } });
    const relay = await startRelay(l, 'ts', 'relay', 'Test', [src]);
    await waitConnected(relay, 'Test');
    const aware = await session(relay);
    await aware.c.request('set_db_change_aware', [true]);
    await aware.c.request('monitor_cond', ['Test', 'm', { Root: [{}] }]);
    const unaware = await session(relay);
    await unaware.c.request('monitor_cond', ['Test', 'm', { Root: [{}] }]);

    const v2 = { ...TEST_SCHEMA, version: '1.1.0', tables: { ...TEST_SCHEMA.tables, Extra: { columns: { e: { type: 'integer' } } } } };
    const r = client('convert', src.remote, l.writeSchema('v2.ovsschema', v2));
    expect(r).toMatchObject({ code: 0 });
    await waitFor(() => aware.events.includes('monitor_canceled') && unaware.events.includes('closed'), 'the relay to switch schemas');
    expect(aware.c.closed).toBe(false);
    await waitFor(() => {
      const s = client('get-schema-version', relay.remote, 'Test');
      return s.stdout === '1.1.0\n';
    }, 'the relay to serve 1.1.0');
    expect(dump(relay)).toBe(dump(src));
    expect(relay.log()).toContain('disconnecting (database Test schema changed)');
    aware.c.close();
  });
});

describe('relay of a Raft cluster of the real ovsdb-server', () => {
  it('ovn-sbctl --no-leader-only and a conditional monitor through the relay; member failover keeps client sessions', async () => {
    const l = newLab();
    const members = await startCCluster(l, SB_SCHEMA, 'OVN_Southbound');
    const relay = await startRelay(l, 'ts', 'relay', 'OVN_Southbound', members);
    await waitConnected(relay, 'OVN_Southbound');
    const tmp = new TempDir('ovsdb-relay-mon-');
    try {
      const sbctl = (...args: string[]) => spawnSbctl(relay, ...args);
      expect((await sbctl('chassis-add', 'ch1', 'geneve', '127.0.0.1')).code).toBe(0);

      // ovn-controller-style: only this chassis's rows.
      const mon = new LineFollower(tmp, 'ovsdb-client', [
        'monitor-cond',
        relay.remote,
        'OVN_Southbound',
        '[["name","==","ch2"]]',
        'Chassis',
        'name,hostname',
      ]);
      // Nothing matches yet, so nothing is printed; the monitor is up once the relay counts it.
      await waitFor(() => /monitors:1/.test(relay.appctl('memory/show').stdout), 'the monitor on the relay');
      expect((await sbctl('chassis-add', 'ch2', 'geneve', '127.0.0.2')).code).toBe(0);
      expect((await sbctl('chassis-add', 'ch3', 'geneve', '127.0.0.3')).code).toBe(0);
      await mon.waitMatch(/insert.*ch2/);

      // Same transaction ids as the cluster.
      await waitFor(async () => (await lastTxnId(relay, 'OVN_Southbound')).id === (await lastTxnId(members[0], 'OVN_Southbound')).id, 'same ids');
      expect((await lastTxnId(relay, 'OVN_Southbound')).id).not.toBe(ZERO_UUID);

      // Kill the member the relay uses (maybe the leader): the relay moves on, the monitor stays.
      const used = currentSource(relay)!;
      const victim = members.find((m) => m.remote === used)!;
      await victim.stop('SIGKILL');
      await waitFor(() => currentSource(relay) !== used && serverRow(relay, 'OVN_Southbound')?.connected === true, 'the relay on another member');
      await waitFor(async () => (await spawnSbctl(relay, '--timeout=5', 'chassis-add', 'ch2b', 'geneve', '127.0.0.4')).code === 0, 'a write after failover');
      await waitFor(async () => (await spawnSbctl(relay, 'set', 'chassis', 'ch2', 'hostname=h2')).code === 0, 'an update of ch2');
      await mon.waitMatch(/h2/);
      expect(mon.child.exitCode).toBe(null);
      // The Python IDL, ovn-controller style (condition, leader-only off), through the relay after failover.
      const py = await run('/usr/bin/python3', [PY_RELAY_IDL, relay.remote, SB_SCHEMA, 'ch3', 'h3']);
      expect(py).toMatchObject({ code: 0, stdout: '["ch3"]\nsuccess\n' });
      expect((await spawnSbctl(members.find((m) => m !== victim)!, '--bare', '--columns=hostname', 'list', 'Chassis', 'ch3')).stdout).toBe('h3\n');
      const show = await spawnSbctl(relay, 'show');
      for (const c of ['ch1', 'ch2', 'ch3', 'ch2b']) expect(show.stdout).toContain(`Chassis ${c}`);
      // Nothing but ch2 reached the conditional monitor.
      expect(mon.lines.join('\n')).not.toMatch(/ch1|ch3|ch2b/);
      await mon.stop();
    } finally {
      tmp.cleanup();
    }
  });
});

describe.each(IMPLS)('ovn-ctl start_sb_relay_ovsdb with %s ovsdb-server first in PATH', (impl) => {
  it('starts a relay of the southbound source, serves ovn-sbctl and the db: remote from the relayed copy, stops', { timeout: 120_000 }, async () => {
    const l = newLab();
    const src = await l.start('c', 'src', [l.createDb('sb.db', SB_SCHEMA)]);
    const node = new OvnNode(impl, 'relay');
    try {
      const started = await node.ovnCtl(`--db-sb-relay-remote=${src.remote}`, 'start_sb_relay_ovsdb');
      expect(started).toMatchObject({ code: 0, stdout: 'Starting ovsdb-sb-relay.\n', stderr: '' });
      const sock = node.file('run/ovnsb_relay_db.sock');
      const sbctl = (...args: string[]) => run('ovn-sbctl', ['--no-leader-only', '--timeout=20', `--db=unix:${sock}`, ...args], { env: node.env });
      await waitFor(async () => (await sbctl('chassis-add', 'ch0', 'geneve', '127.0.0.1')).code === 0, 'a write through the relay');
      expect((await sbctl('--bare', '--columns=name', 'list', 'Chassis')).stdout).toBe('ch0\n');
      // SB_Global.connections, set on the source, is followed by the relay (--remote=db:…).
      expect((await run('ovn-sbctl', [`--db=${src.remote}`, 'set-connection', 'ptcp:0:127.0.0.1'])).code).toBe(0);
      const logFile = node.file('log/ovsdb-server-sb-relay.log');
      const port = await waitFor(() => /listening on port (\d+)/.exec(exists(logFile) ? readFile(logFile) : '')?.[1], 'the relay to listen on the Connection row');
      expect((await run('ovn-sbctl', ['--no-leader-only', '--timeout=20', `--db=tcp:127.0.0.1:${port}`, '--bare', '--columns=name', 'list', 'Chassis'])).stdout).toBe('ch0\n');
      const pid = readFile(node.file('run/ovnsb_relay_db.pid')).trim();
      expect(await node.ovnCtl('stop_sb_relay_ovsdb')).toMatchObject({ code: 0, stdout: `Exiting ovnsb_relay (${pid}).\n` });
    } finally {
      await node.cleanup();
    }
  });
});

function readFile(f: string): string {
  return fs.readFileSync(f, 'utf8');
}

function spawnSbctl(p: ServerProc, ...args: string[]) {
  return run('ovn-sbctl', ['--no-leader-only', '--timeout=20', `--db=${p.remote}`, ...args]);
}

/**
 * A scripted source: just enough of a server for the relay's handshake (a standalone `Test` database in
 * _Server, an empty snapshot), recording the `transact` requests it receives and answering only on demand.
 */
class FakeSource {
  private readonly server: net.Server;
  private readonly conns = new Set<JsonRpcConnection>();
  private readonly transacts: { conn: JsonRpcConnection; id: JsonValue; params: JsonValue[] }[] = [];

  constructor(private readonly path: string) {
    this.server = net.createServer((s) => this.accept(s));
  }

  listen(): Promise<void> {
    return new Promise((r) => this.server.listen(this.path, () => r()));
  }

  private accept(socket: net.Socket): void {
    const conn = new JsonRpcConnection(socket);
    this.conns.add(conn);
    conn.on('close', () => this.conns.delete(conn));
    conn.on('message', (m: JsonRpcMessage) => {
      if (m.type !== 'request') return;
      const schemaText = schemaColumnText(parseSchema(TEST_SCHEMA as unknown as JsonValue));
      switch (m.method) {
        case 'get_schema':
          return conn.reply(m.id, SERVER_SCHEMA_JSON as unknown as JsonValue);
        case 'monitor_cond':
          return conn.reply(m.id, {
            Database: { '6a9f1b4e-0000-4000-8000-000000000001': { initial: { name: 'Test', model: 'standalone', connected: true, leader: true, schema: schemaText } } },
          });
        case 'monitor_cond_since':
          return conn.reply(m.id, [false, '6a9f1b4e-0000-4000-8000-0000000000aa', {}]);
        case 'set_db_change_aware':
          return conn.reply(m.id, {});
        case 'transact':
          this.transacts.push({ conn, id: m.id, params: m.params });
          return;
        default:
          return conn.replyError(m.id, 'unknown method');
      }
    });
  }

  nextTransact(): Promise<{ conn: JsonRpcConnection; id: JsonValue; params: JsonValue[] }> {
    return waitFor(() => this.transacts.shift(), 'a forwarded transact');
  }

  reply(t: { conn: JsonRpcConnection; id: JsonValue }, result: JsonValue): void {
    t.conn.reply(t.id, result);
  }

  dropAll(): void {
    for (const c of this.conns) c.abort('test');
  }

  close(): Promise<void> {
    this.dropAll();
    return new Promise((r) => this.server.close(() => r()));
  }
}
