// --record / --replay (upstream "ovsdb-server record/replay"): a run recorded with real clients (ovsdb-client
// transact and monitor, a listener that cannot bind, ovs-appctl exit) is replayed from the recording alone:
// the replay exits by itself on the recorded `exit`, and leaves the same database file and the same log
// (timestamps, socket_util lines and the control socket's pid aside).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, it, expect, afterAll } from 'vitest';
import { TempDir, OUR_SERVER, LineFollower, run, waitFor } from './lib/harness.ts';

const tmp = new TempDir();
afterAll(() => tmp.cleanup());

const SCHEMA = { name: 'ordinals', tables: { ordinals: { columns: { number: { type: 'integer' }, name: { type: 'string' } }, indexes: [['number']] } }, version: '5.1.3' };

/** A port something else holds, so that our ptcp remote on it fails and retries. */
async function busyPort(): Promise<{ port: number; close: () => void }> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close() };
}

function server(args: string[]): Promise<number | null> {
  const child = spawn(OUR_SERVER, args, { cwd: tmp.dir, env: tmp.env, stdio: 'ignore' });
  tmp.track(child);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

const cleanDb = (f: string) =>
  fs
    .readFileSync(f, 'utf8')
    .replace(/(OVSDB JSON \d+).*$/gm, '$1')
    .replace(/"_date":\d+/g, '"_date":0');
const cleanLog = (f: string) =>
  fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .map((l) => l.replace(/^[0-9-]*T[0-9:.]*Z\|\d+(\|.*)$/, '$1'))
    .filter((l) => !l.includes('|socket_util|'))
    .map((l) => l.replace(/\d*\.ctl/g, '<cleared>.ctl'))
    .join('\n');

describe('record and replay', () => {
  it('the replay exits on its own and leaves the recorded database file and log', async () => {
    const schema = tmp.file('schema');
    fs.writeFileSync(schema, JSON.stringify(SCHEMA));
    const db = tmp.file('db');
    expect((await run('ovsdb-tool', ['create', db, schema])).code).toBe(0);
    const dir = tmp.file('replay_dir');
    fs.mkdirSync(dir);
    fs.copyFileSync(db, path.join(dir, 'db.copy'));
    const busy = await busyPort();
    const common = ['--pidfile', '-vfile', '-vvlog:off', '-vjsonrpc:file:dbg', '--remote=punix:db.sock', `--remote=ptcp:${busy.port}:127.0.0.1`, '-vconsole:off'];
    try {
      const recorded = server([`--record=${dir}`, ...common, '--log-file=1.log', db]);
      const sock = tmp.file('db.sock');
      await waitFor(() => fs.existsSync(sock), 'the recording server');
      const monitor = new LineFollower(tmp, 'ovsdb-client', ['--no-headings', 'monitor', `unix:${sock}`, 'ordinals', 'ordinals', 'number', 'name']);
      await waitFor(() => fs.readFileSync(tmp.file('1.log'), 'utf8').includes('method="monitor"'), 'the monitor to start');
      for (const [name, n] of [['zero', 0], ['one', 1], ['two', 2]] as const) {
        const ins = JSON.stringify(['ordinals', { op: 'insert', table: 'ordinals', row: { name, number: n } }, { op: 'comment', comment: `add ${name}` }]);
        const del = JSON.stringify(['ordinals', { op: 'delete', table: 'ordinals', where: [['number', '==', n]] }]);
        expect((await run('ovsdb-client', ['transact', `unix:${sock}`, ins], { env: tmp.env })).code).toBe(0);
        if (n === 1) expect((await run('ovsdb-client', ['transact', `unix:${sock}`, del], { env: tmp.env })).code).toBe(0);
      }
      await monitor.waitMatch(/ insert 2 two$/);
      await monitor.stop();
      expect((await run('ovsdb-client', ['dump', `unix:${sock}`, 'ordinals'], { env: tmp.env })).code).toBe(0);
      expect((await run('ovs-appctl', ['-t', 'ovsdb-server', 'exit'], { env: tmp.env })).code).toBe(0);
      expect(await recorded).toBe(0);

      // No client now: everything comes from the recording, down to the `exit`.
      expect(await server([`--replay=${dir}`, ...common, '--log-file=2.log', path.join(dir, 'db.copy')])).toBe(0);
      expect(cleanDb(path.join(dir, 'db.copy'))).toBe(cleanDb(db));
      const log1 = cleanLog(tmp.file('1.log'));
      expect(cleanLog(tmp.file('2.log'))).toBe(log1);
      expect(log1).toContain('|ovsdb_jsonrpc_server|ERR|ptcp:');
      expect(log1).toContain('|jsonrpc|DBG|unix#');
      expect(log1).toContain('send notification, method="update');
    } finally {
      busy.close();
    }
  });
});
