// The backup's wire sequence against a scripted active that answers as the reference server does (its _Server
// monitor_cond_since reply carries the all-zero txn id): the requests must be exactly the reference backup's
// (§5.2), plus our _Server probe; then update handling, consistency violations and the switch to active on
// a replication error (§5.4). In-process: a ServerApp with one database file, a fake active on a unix socket.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, afterEach } from 'vitest';
import { fileOpener, ServerApp } from '../../server/app.ts';
import { JsonRpcConnection, type JsonRpcMessage, type RpcLog } from '../../server/jsonrpc.ts';
import { parseSchema, schemaToJson } from '../../schema/schema.ts';
import type { JsonValue } from '../../schema/json.ts';
import { FileStorage } from '../../storage/file.ts';
import { ReplicationManager } from '../../replication/setup.ts';
import { TEST_SCHEMA, waitFor } from './replication-harness.ts';

const ZERO = '00000000-0000-0000-0000-000000000000';
const U1 = '11111111-1111-1111-1111-111111111111';
const U2 = '22222222-2222-2222-2222-222222222222';
const ACTIVE_ID = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanup.reverse()) fn();
  cleanup = [];
});

interface Fake {
  target: string;
  requests: { method: string; params: JsonValue[] }[];
  peers: JsonRpcConnection[];
}

/** A fake active answering the handshake like the reference server, with `initial` as the monitor reply. */
async function fakeActive(dir: string, initial: JsonValue, serverId = ACTIVE_ID): Promise<Fake> {
  const sock = path.join(dir, 'active.sock');
  const fake: Fake = { target: `unix:${sock}`, requests: [], peers: [] };
  const schema = schemaToJson(parseSchema(TEST_SCHEMA as unknown as JsonValue));
  const server = net.createServer((s) => {
    const conn = new JsonRpcConnection(s);
    fake.peers.push(conn);
    conn.on('message', (m: JsonRpcMessage) => {
      if (m.type !== 'request') return;
      fake.requests.push({ method: m.method, params: m.params });
      const answers: Record<string, JsonValue> = {
        get_server_id: serverId,
        list_dbs: ['Test', '_Server'],
        get_schema: schema,
        monitor_cond_since: [false, ZERO, {}],
        monitor_cancel: {},
        monitor: initial,
      };
      conn.reply(m.id, answers[m.method] ?? null);
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  cleanup.push(() => {
    for (const p of fake.peers) p.close();
    server.close();
  });
  return fake;
}

function backupApp(dir: string): { app: ServerApp; logs: string[]; log: RpcLog } {
  const logs: string[] = [];
  const log: RpcLog = (module, level, message) => logs.push(`${module}|${level}|${message}`);
  const file = path.join(dir, 'b.db');
  FileStorage.create(file, TEST_SCHEMA as unknown as JsonValue);
  const app = new ServerApp({ open: fileOpener({ disableColumnDiff: false, log }), log });
  app.addDatabaseFile(file, { quiet: true });
  cleanup.push(() => app.close());
  return { app, logs, log };
}

function rows(app: ServerApp, table: string): Record<string, JsonValue> {
  const t = app.server.databases.get('Test')!.db.table(table);
  const out: Record<string, JsonValue> = {};
  for (const [uuid, row] of t.rows) out[uuid] = row.data.map((d) => d.keys as JsonValue[]) as JsonValue;
  return out;
}

describe('backup wire sequence against a reference-like active', () => {
  it('sends the reference requests, applies updates, skips inconsistent rows, turns active on errors', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovsdb-repl-wire-'));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const fake = await fakeActive(dir, { Limited: { [U1]: { new: { _version: ['uuid', U2], x: 5 } } } });
    const { app, logs, log } = backupApp(dir);
    const mgr = new ReplicationManager(app, { syncFrom: fake.target, syncExclude: 'Test:Child', active: false, log, onConfigChange: () => {} });
    cleanup.push(() => mgr.close());
    mgr.start();
    await waitFor(() => mgr.current?.state === 'REPLICATING', 'replicating');

    expect(fake.requests).toEqual([
      { method: 'get_server_id', params: [] },
      { method: 'list_dbs', params: [] },
      // Our probe (ovsdb-ts actives answer with a real txn id; this one, like the reference, with zeros) ...
      { method: 'monitor_cond_since', params: ['_Server', 'ovsdb-ts-replication-probe', { Database: [{ columns: ['name'], where: [false] }] }, ZERO] },
      { method: 'get_schema', params: ['Test'] },
      { method: 'monitor_cancel', params: ['ovsdb-ts-replication-probe'] },
      // ... then exactly the reference backup's monitor: v1, id = db name, sorted non-excluded tables, [{}].
      { method: 'monitor', params: ['Test', 'Test', { Limited: [{}], Root: [{}] }] },
    ]);
    expect(rows(app, 'Limited')).toEqual({ [U1]: [[5]] });
    expect(logs).toContain('replication|INFO|Monitor request received. Resetting the database');
    expect(mgr.syncStatus().split('\n').slice(0, 4).join('\n')).toBe(
      `state: backup\nreplicating: ${fake.target}\ndatabase: Test\nexclude: Test:Child`,
    );

    // A v1 update: modify (full new values), insert.
    const peer = fake.peers[0];
    peer.notify('update', ['Test', { Limited: { [U1]: { old: { x: 5 }, new: { x: 6 } }, [U2]: { new: { x: 7 } } } }]);
    await waitFor(() => Object.keys(rows(app, 'Limited')).length === 2, 'update applied');
    expect(rows(app, 'Limited')).toEqual({ [U1]: [[6]], [U2]: [[7]] });

    // Deleting a missing row is a consistency violation: logged, that row skipped, the rest applied.
    const U3 = '33333333-3333-3333-3333-333333333333';
    peer.notify('update', ['Test', { Limited: { [U3]: { old: { x: 1 } }, [U2]: { old: { x: 7 } } } }]);
    await waitFor(() => Object.keys(rows(app, 'Limited')).length === 1, 'delete applied');
    expect(logs.some((l) => l.startsWith('ovsdb_error|ERR|unexpected ovsdb error: consistency violation: deleting row 33333333'))).toBe(true);
    expect(app.server.isBackup).toBe(true);

    // An update for an unknown table is a replication error: the server turns active, data kept.
    peer.notify('update', ['Test', { Nope: { [U3]: { new: { x: 1 } } } }]);
    await waitFor(() => !app.server.isBackup, 'switch to active');
    expect(logs).toContain('ovsdb_error|ERR|unexpected ovsdb error: unknown table Nope');
    expect(mgr.syncStatus()).toBe('state: active\n');
    expect(rows(app, 'Limited')).toEqual({ [U1]: [[6]] });
  });

  it('an active that answers get_server_id with a non-uuid is a replication error', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovsdb-repl-wire-'));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const fake = await fakeActive(dir, {}, 'not-a-uuid');
    const { app, logs, log } = backupApp(dir);
    const mgr = new ReplicationManager(app, { syncFrom: fake.target, syncExclude: null, active: false, log, onConfigChange: () => {} });
    cleanup.push(() => mgr.close());
    mgr.start();
    await waitFor(() => !app.server.isBackup, 'switch to active');
    expect(logs).toContain('ovsdb_error|ERR|unexpected ovsdb error: get_server_id failed: Server ID is not valid UUID');
  });

  it('a silent active is dropped by the inactivity probe and reconnected to, staying backup', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovsdb-repl-wire-'));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const sock = path.join(dir, 'silent.sock');
    let accepted = 0;
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => {
      accepted++;
      sockets.push(s);
      s.resume(); // read and never answer
    });
    await new Promise<void>((r) => silent.listen(sock, r));
    cleanup.push(() => {
      for (const s of sockets) s.destroy();
      silent.close();
    });
    const { app, logs, log } = backupApp(dir);
    const mgr = new ReplicationManager(app, { syncFrom: `unix:${sock}`, syncExclude: null, active: false, log, onConfigChange: () => {} });
    cleanup.push(() => mgr.close());
    expect(mgr.setProbeInterval('1000')).toBe('');
    mgr.start();
    await waitFor(() => accepted >= 2, 'a reconnection after the probe timeout', 20_000);
    // The time since the probe went out (%.3g): 1 s, a little more when the event loop is late.
    expect(logs.some((l) => new RegExp(`^reconnect\\|ERR\\|unix:${sock}: no response to inactivity probe after 1(\\.\\d\\d?)? seconds, disconnecting$`).test(l))).toBe(true);
    expect(app.server.isBackup).toBe(true);
    expect(mgr.syncStatus().split('\n').slice(0, 2).join('\n')).toBe(`state: backup\nconnecting: unix:${sock}`);
  });
});
