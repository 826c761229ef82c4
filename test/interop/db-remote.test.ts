// `--remote=db:DB,TABLE,COLUMN` (reference §1.2.3) as OVN uses it: the Connection rows that
// `ovn-nbctl set-connection` writes become listeners, followed live (added, re-targeted, deleted), with
// status and is_connected written back, read_only and inactivity_probe applied; and the reference's
// validation errors at startup and from add-remote. Each case runs against ovsdb-ts and the real server.
import fs from 'node:fs';
import net from 'node:net';
import { describe, it, expect, afterEach } from 'vitest';
import { IMPLS, SCHEMA, TempDir, Server, waitFor, OUR_SERVER, REAL_SERVER, type Impl } from './lib/harness.ts';
import { freePorts, run, tcpOpen } from './ops-lib/ovn-node.ts';

const DB_REMOTE = '--remote=db:OVN_Northbound,NB_Global,connections';
const READ_ONLY =
  'ovn-nbctl: transaction error: {"details":"insert operation not allowed when database server is in read only mode","error":"not allowed"}\n';

let tmp: TempDir;
afterEach(() => tmp?.cleanup());

async function startNb(impl: Impl, args: string[] = [DB_REMOTE]): Promise<Server> {
  const db = tmp.createDb('nb.db', SCHEMA.nb);
  const srv = await new Server(impl, tmp, { dbs: [db], args, name: impl }).start();
  expect((await srv.nbctl('init')).code).toBe(0);
  return srv;
}

/** A TCP client that never answers: collects what the server sends and notices when it hangs up. */
class SilentClient {
  readonly received: string[] = [];
  closed = false;
  private readonly sock: net.Socket;
  constructor(port: number) {
    this.sock = net.connect({ host: '127.0.0.1', port });
    this.sock.on('data', (d: Buffer) => this.received.push(d.toString()));
    this.sock.on('close', () => (this.closed = true));
    this.sock.on('error', () => (this.closed = true));
  }
  destroy(): void {
    this.sock.destroy();
  }
}

describe.each(IMPLS)('db: remotes with %s ovsdb-server', (impl) => {
  it('set-connection starts a listener, re-targeting moves it, del-connection stops it; status written back', async () => {
    tmp = new TempDir();
    const [p1, p2] = await freePorts(2);
    const srv = await startNb(impl);
    expect(await srv.nbctl('set-connection', `ptcp:${p1}:127.0.0.1`)).toMatchObject({ code: 0, stderr: '' });
    await waitFor(() => tcpOpen(p1), 'the listener from the Connection row', 5000);
    expect(await run('ovn-nbctl', [`--db=tcp:127.0.0.1:${p1}`, 'ls-add', 'sw0'])).toMatchObject({ code: 0, stderr: '' });
    // The status of a listener, as the reference writes it (every 2.5 s).
    const want = `{bound_port="${p1}", sec_since_connect="0", sec_since_disconnect="0"}\n`;
    await waitFor(async () => (await srv.nbctl('get', 'Connection', '.', 'status')).stdout === want, 'Connection status');
    expect((await srv.nbctl('get', 'Connection', '.', 'is_connected')).stdout).toBe('false\n');
    // Sessions on the listener: is_connected, and n_connections once there is more than one.
    const clients = [new SilentClient(p1), new SilentClient(p1)];
    try {
      const busy = `{bound_port="${p1}", n_connections="2", sec_since_connect="0", sec_since_disconnect="0"}\n`;
      await waitFor(async () => (await srv.nbctl('get', 'Connection', '.', 'status')).stdout === busy, 'status with two sessions');
      expect((await srv.nbctl('get', 'Connection', '.', 'is_connected')).stdout).toBe('true\n');
    } finally {
      for (const c of clients) c.destroy();
    }
    await waitFor(async () => (await srv.nbctl('get', 'Connection', '.', 'status')).stdout === want, 'status after the sessions left');
    expect((await srv.nbctl('get', 'Connection', '.', 'is_connected')).stdout).toBe('false\n');
    // list-remotes shows the reference itself, not what it expands to.
    expect(await srv.appctl('ovsdb-server/list-remotes')).toMatchObject({ code: 0, stdout: `db:OVN_Northbound,NB_Global,connections\npunix:${srv.sock}\n` });

    expect((await srv.nbctl('set', 'Connection', '.', `target="ptcp:${p2}:127.0.0.1"`)).code).toBe(0);
    await waitFor(async () => (await tcpOpen(p2)) && !(await tcpOpen(p1)), 'the listener to move', 5000);
    expect((await run('ovn-nbctl', [`--db=tcp:127.0.0.1:${p2}`, '--bare', '--columns=name', 'list', 'Logical_Switch'])).stdout).toBe('sw0\n');

    expect(await srv.nbctl('del-connection')).toMatchObject({ code: 0, stderr: '' });
    await waitFor(async () => !(await tcpOpen(p2)), 'the listener to close', 5000);
    await srv.stop();
  });

  it('read_only=true (OVN_Southbound Connection) refuses writes on that remote only', async () => {
    tmp = new TempDir();
    const [port] = await freePorts(1);
    const db = tmp.createDb('sb.db', SCHEMA.sb);
    const srv = await new Server(impl, tmp, { dbs: [db], args: ['--remote=db:OVN_Southbound,SB_Global,connections'], name: impl }).start();
    expect((await srv.sbctl('init')).code).toBe(0);
    // Created the way the OCF agent creates its Connection rows: one transaction.
    const create = ['--', '--id=@c', 'create', 'Connection', `target=ptcp\\:${port}\\:127.0.0.1`, 'read_only=true', '--', 'set', 'SB_Global', '.', 'connections=@c'];
    expect(await srv.sbctl(...create)).toMatchObject({ code: 0, stderr: '' });
    await waitFor(() => tcpOpen(port), 'the read-only listener', 5000);
    const tcp = (...a: string[]) => run('ovn-sbctl', ['--timeout=20', `--db=tcp:127.0.0.1:${port}`, ...a]);
    expect(await tcp('chassis-add', 'ch0', 'geneve', '127.0.0.1')).toMatchObject({ code: 1, stdout: '', stderr: READ_ONLY.replace('ovn-nbctl', 'ovn-sbctl') });
    expect((await srv.sbctl('chassis-add', 'ch1', 'geneve', '127.0.0.1')).code).toBe(0);
    expect(await tcp('--bare', '--columns=name', 'list', 'Chassis')).toMatchObject({ code: 0, stdout: 'ch1\n' });
    // (Flipping read_only on a live remote is not asserted: the reference 3.1 keeps the listener's
    // original read_only for all later sessions, ovsdb-ts applies the new value to new sessions.)
    await srv.stop();
  });

  it('inactivity_probe from the row is applied to its sessions', async () => {
    tmp = new TempDir();
    const [port] = await freePorts(1);
    const srv = await startNb(impl);
    expect((await srv.nbctl('--inactivity-probe=1000', 'set-connection', `ptcp:${port}:127.0.0.1`)).code).toBe(0);
    expect((await srv.nbctl('get', 'Connection', '.', 'inactivity_probe')).stdout).toBe('1000\n');
    await waitFor(() => tcpOpen(port), 'the listener', 5000);
    const c = new SilentClient(port);
    try {
      await waitFor(() => c.closed, 'the server to drop the silent client');
      expect(c.received.join('')).toBe('{"id":"echo","method":"echo","params":[]}');
      const log = fs.readFileSync(srv.log, 'utf8');
      // The time since the probe, %.3g: 1 s, or a little more on a busy machine (both servers).
      expect(log).toMatch(/\|reconnect\|ERR\|tcp:127\.0\.0\.1:\d+: no response to inactivity probe after 1(\.\d\d?)? seconds, disconnecting\n/);
    } finally {
      c.destroy();
    }
    await srv.stop();
  });

  it('startup: a bad db: reference is fatal, with the reference texts', async () => {
    tmp = new TempDir();
    const db = tmp.createDb('nb.db', SCHEMA.nb);
    const bin = impl === 'ours' ? OUR_SERVER : REAL_SERVER;
    const cases: [string, string][] = [
      ['--remote=db:Nope,a,b', '"db:Nope,a,b": no database named Nope'],
      ['--remote=db:OVN_Northbound,Nope,b', '"db:OVN_Northbound,Nope,b": no table named Nope'],
      ['--remote=db:OVN_Northbound,NB_Global,nope', '"db:OVN_Northbound,NB_Global,nope": table "NB_Global" has no column "nope"'],
      ['--remote=db:OVN_Northbound,NB_Global', '"db:OVN_Northbound,NB_Global": invalid syntax'],
      ['--private-key=db:OVN_Northbound,NB_Global,connections', '"db:OVN_Northbound,NB_Global,connections": table "NB_Global" column "connections" is not string or set of strings'],
      ['--ca-cert=db:OVN_Northbound,SSL,nope', '"db:OVN_Northbound,SSL,nope": table "SSL" has no column "nope"'],
    ];
    for (const [opt, msg] of cases) {
      const r = await run(bin, [opt, `--unixctl=${tmp.file('ctl')}`, '-vconsole:off', db], { env: tmp.env });
      expect({ opt, ...r }).toEqual({ opt, code: 1, signal: null, stdout: '', stderr: `ovsdb-server: ${msg}\n\n` });
    }
  });

  it('add-remote: the same checks, as unixctl errors; a good db: remote is added', async () => {
    tmp = new TempDir();
    const srv = await startNb(impl, []);
    const cases: [string, string][] = [
      ['db:Nope,a,b', '"db:Nope,a,b": no database named Nope'],
      ['db:OVN_Northbound,Nope,b', '"db:OVN_Northbound,Nope,b": no table named Nope'],
      ['db:OVN_Northbound,NB_Global,nope', '"db:OVN_Northbound,NB_Global,nope": table "NB_Global" has no column "nope"'],
      ['db:OVN_Northbound,NB_Global', '"db:OVN_Northbound,NB_Global": invalid syntax'],
    ];
    for (const [remote, msg] of cases) {
      const r = await srv.appctl('ovsdb-server/add-remote', remote);
      expect({ remote, ...r }).toEqual({ remote, code: 2, signal: null, stdout: '', stderr: `${msg}\novs-appctl: ${srv.ctl}: server returned an error\n` });
    }
    const [port] = await freePorts(1);
    expect(await srv.appctl('ovsdb-server/add-remote', 'db:OVN_Northbound,NB_Global,connections')).toMatchObject({ code: 0, stdout: '' });
    expect((await srv.nbctl('set-connection', `ptcp:${port}:127.0.0.1`)).code).toBe(0);
    await waitFor(() => tcpOpen(port), 'the listener from the added db: remote', 5000);
    expect(await srv.appctl('ovsdb-server/remove-remote', 'db:OVN_Northbound,NB_Global,connections')).toMatchObject({ code: 0, stdout: '' });
    await waitFor(async () => !(await tcpOpen(port)), 'the listener to close with its remote', 5000);
    await srv.stop();
  });

  it('status is written once at startup, before the first 2.5 s tick (upstream --remote=db: implementation)', async () => {
    tmp = new TempDir();
    const schema = tmp.file('mydb.ovsschema');
    fs.writeFileSync(
      schema,
      JSON.stringify({
        name: 'mydb',
        tables: {
          Root: { columns: { managers: { type: { key: 'string', min: 0, max: 'unlimited' } }, manager_options: { type: { key: { type: 'uuid', refTable: 'Manager' }, min: 0, max: 'unlimited' } } } },
          Manager: { columns: { target: { type: 'string' }, is_connected: { type: { key: 'boolean', min: 0, max: 1 } } } },
        },
      }),
    );
    const db = tmp.createDb('mydb.db', schema);
    const s1 = tmp.file('socket1');
    const s2 = tmp.file('socket2');
    const seed = ['mydb', { op: 'insert', table: 'Root', row: { managers: `punix:${s1}`, manager_options: ['set', [['named-uuid', 'x']]] } }, { op: 'insert', table: 'Manager', 'uuid-name': 'x', row: { target: `punix:${s2}` } }];
    expect((await run('ovsdb-tool', ['transact', db, JSON.stringify(seed)])).code).toBe(0);
    const srv = await new Server(impl, tmp, { dbs: [db], args: ['--remote=db:mydb,Root,managers', '--remote=db:mydb,Root,manager_options'], name: impl }).start();
    await waitFor(() => fs.existsSync(s1) && fs.existsSync(s2), 'both db: listeners');
    const q = ['mydb', { op: 'select', table: 'Manager', where: [], columns: ['target', 'is_connected'] }];
    const r = await run('ovsdb-client', ['transact', `unix:${s1}`, JSON.stringify(q)]);
    expect(r.stdout).toBe(`[{"rows":[{"is_connected":false,"target":"punix:${s2}"}]}]\n`);
    await srv.stop();
  });
});
