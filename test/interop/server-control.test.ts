// ovs-appctl -t <ctl> against the full ovsdb-server, ours and the real one side by side: outputs, error texts and
// exit codes of the ovsdb-server/* commands, and their effect on clients (add-db, remove-db, reconnect, exit).
import fs from 'node:fs';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { TempDir, Server, startServer, SCHEMA, IMPLS, RawClient, type Impl, type Outcome } from './lib/harness.ts';

let tmp: TempDir;
const srv = {} as Record<Impl, Server>;

beforeAll(async () => {
  tmp = new TempDir();
  await Promise.all(IMPLS.map(async (impl) => (srv[impl] = await startServer(impl, tmp, [SCHEMA.vswitch, SCHEMA.nb]))));
});

afterAll(async () => {
  await Promise.all(IMPLS.map((impl) => srv[impl]?.stop()));
  tmp?.cleanup();
});

/** File names carry the implementation's name ("ours-0.db", "real-0.db"): make them comparable. */
const norm = (impl: Impl, o: Outcome): Outcome => ({
  ...o,
  stdout: o.stdout.replaceAll(`${impl}-`, 'X-').replaceAll(srv[impl].ctl, 'CTL'),
  stderr: o.stderr.replaceAll(`${impl}-`, 'X-').replaceAll(srv[impl].ctl, 'CTL'),
});

async function appctl(...args: string[]): Promise<Outcome> {
  const [ours, real] = await Promise.all(IMPLS.map((i) => srv[i].appctl(...args)));
  expect(norm('ours', ours), args.join(' ')).toEqual(norm('real', real));
  return norm('ours', ours);
}

describe('ovs-appctl on the ovsdb-server commands', () => {
  it('list-commands and version', async () => {
    const lc = await appctl('list-commands');
    expect(lc.stdout).toMatch(/^The available commands are:\n {2}coverage\/read-counter {3}COUNTER\n/);
    expect(lc.stdout).toContain('  ovsdb-server/get-db-storage-status DB\n');
    // The reference's line, which scripts read (ovs-lib: awk 'NR==1{print $NF}'), then ours.
    const [ours, real] = await Promise.all(IMPLS.map((i) => srv[i].appctl('version')));
    expect(real).toEqual({ code: 0, signal: null, stdout: 'ovsdb-server (Open vSwitch) 3.1.0\n', stderr: '' });
    expect(ours).toEqual({ ...real, stdout: 'ovsdb-server (Open vSwitch) 3.1.0\novsdb-ts 0.1.0\n' });
  });

  it('memory/show: one line of sorted key:value pairs', async () => {
    for (const impl of IMPLS) {
      const r = await srv[impl].appctl('memory/show');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^([a-z-]+:\d+)( [a-z-]+:\d+)*\n$/);
      const keys = r.stdout.trim().split(' ').map((kv) => kv.split(':')[0]);
      expect(keys).toEqual([...keys].sort());
      expect(keys).toContain('monitors');
      expect(keys).toContain('n-weak-refs');
    }
  });

  it('argument counts and unknown commands', async () => {
    expect(await appctl('ovsdb-server/list-dbs', 'x')).toMatchObject({ code: 2 });
    expect(await appctl('ovsdb-server/add-db')).toMatchObject({ code: 2 });
    expect(await appctl('ovsdb-server/compact', 'a', 'b')).toMatchObject({ code: 2 });
    expect(await appctl('nope')).toMatchObject({ code: 2 });
  });

  it('list-dbs, get-db-storage-status', async () => {
    expect((await appctl('ovsdb-server/list-dbs')).stdout).toBe('OVN_Northbound\nOpen_vSwitch\n_Server\n');
    expect((await appctl('ovsdb-server/get-db-storage-status', 'Open_vSwitch')).stdout).toBe('status: ok\n');
    expect(await appctl('ovsdb-server/get-db-storage-status', 'Nope')).toMatchObject({ code: 2, stderr: 'Failed to find the database.\novs-appctl: CTL: server returned an error\n' });
  });

  it('list-remotes, add-remote, remove-remote', async () => {
    const sockOf = (impl: Impl) => `punix:${srv[impl].sock}`;
    for (const impl of IMPLS) expect((await srv[impl].appctl('ovsdb-server/list-remotes')).stdout).toBe(`${sockOf(impl)}\n`);
    for (const impl of IMPLS) {
      const extra = `punix:${tmp.file(`${impl}-extra.sock`)}`;
      expect(await srv[impl].appctl('ovsdb-server/add-remote', extra)).toMatchObject({ code: 0, stdout: '' });
      expect(await srv[impl].appctl('ovsdb-server/add-remote', extra)).toMatchObject({ code: 0, stdout: '' });
      expect((await srv[impl].appctl('ovsdb-server/list-remotes')).stdout).toBe([extra, sockOf(impl)].sort().join('\n') + '\n');
      // The new listener serves clients.
      const c = await RawClient.connect(tmp.file(`${impl}-extra.sock`));
      expect((await c.call('list_dbs', [])).error).toBeNull();
      c.close();
      expect(await srv[impl].appctl('ovsdb-server/remove-remote', extra)).toMatchObject({ code: 0, stdout: '' });
      expect((await srv[impl].appctl('ovsdb-server/list-remotes')).stdout).toBe(`${sockOf(impl)}\n`);
    }
    expect(await appctl('ovsdb-server/remove-remote', 'punix:/nonexistent')).toMatchObject({ code: 2, stderr: 'no such remote\novs-appctl: CTL: server returned an error\n' });
    expect(await appctl('ovsdb-server/add-remote', 'db:Open_vSwitch,Root')).toMatchObject({ code: 2 });
  });

  it('compact', async () => {
    expect(await appctl('ovsdb-server/compact')).toMatchObject({ code: 0, stdout: '' });
    expect(await appctl('ovsdb-server/compact', 'Open_vSwitch')).toMatchObject({ code: 0, stdout: '' });
    expect(await appctl('ovsdb-server/compact', '_Server')).toMatchObject({ code: 2, stderr: 'cannot compact built-in databases\novs-appctl: CTL: server returned an error\n' });
    expect(await appctl('ovsdb-server/compact', 'Nope')).toMatchObject({ code: 2, stderr: 'no database by that name\novs-appctl: CTL: server returned an error\n' });
    // The compacted file is still a valid database for the real ovsdb-tool, with the same contents.
    for (const impl of IMPLS) {
      const r = await srv[impl].client('transact', JSON.stringify(['Open_vSwitch', { op: 'insert', table: 'Open_vSwitch', row: {} }]));
      expect(r.code).toBe(0);
    }
    await appctl('ovsdb-server/compact', 'Open_vSwitch');
    const f = tmp.file('ours-0.db');
    expect(fs.readFileSync(f, 'utf8').startsWith('OVSDB JSON ')).toBe(true);
  });

  it('add-db and remove-db: errors, _Server rows, and who gets disconnected', async () => {
    for (const impl of IMPLS) {
      const s = srv[impl];
      const plain = await RawClient.connect(s.sock);
      const aware = await RawClient.connect(s.sock);
      expect((await aware.call('set_db_change_aware', [true])).error).toBeNull();
      const sb = tmp.createDb(`${impl}-sb.db`, SCHEMA.sb);
      expect(await s.appctl('ovsdb-server/add-db', sb)).toMatchObject({ code: 0, stdout: '' });
      // Only the session that did not declare itself db-change-aware is dropped.
      await plain.waitClosed();
      expect((await aware.call('list_dbs', [], 2)).error).toBeNull();
      expect(((await aware.reply(2)).result as string[]).sort()).toEqual(['OVN_Northbound', 'OVN_Southbound', 'Open_vSwitch', '_Server']);
      aware.close();
    }
    expect((await appctl('ovsdb-server/list-dbs')).stdout).toBe('OVN_Northbound\nOVN_Southbound\nOpen_vSwitch\n_Server\n');
    const dump = await Promise.all(IMPLS.map((i) => srv[i].client('dump', '_Server', 'Database', 'name', 'model', 'connected', 'leader')));
    expect(dump[0].stdout).toBe(dump[1].stdout);

    // Errors: a file already open, a missing file, a reserved or unknown name.
    for (const impl of IMPLS) {
      const r = await srv[impl].appctl('ovsdb-server/add-db', tmp.file(`${impl}-sb.db`));
      expect(norm(impl, r)).toMatchObject({ code: 2, stderr: `ovsdb error: ${tmp.file('X-sb.db')}: already open\novs-appctl: CTL: server returned an error\n` });
    }
    expect(await appctl('ovsdb-server/add-db', tmp.file('missing.db'))).toMatchObject({
      code: 2,
      stderr: `I/O error: ${tmp.file('missing.db')}: open failed (No such file or directory)\novs-appctl: CTL: server returned an error\n`,
    });
    expect(await appctl('ovsdb-server/remove-db', '_Server')).toMatchObject({ code: 2, stderr: 'Cannot remove reserved database.\novs-appctl: CTL: server returned an error\n' });
    expect(await appctl('ovsdb-server/remove-db', 'Nope')).toMatchObject({ code: 2, stderr: 'Failed to find the database.\novs-appctl: CTL: server returned an error\n' });

    expect(await appctl('ovsdb-server/remove-db', 'OVN_Southbound')).toMatchObject({ code: 0, stdout: '' });
    expect((await appctl('ovsdb-server/list-dbs')).stdout).toBe('OVN_Northbound\nOpen_vSwitch\n_Server\n');
    expect((await appctl('ovsdb-server/get-db-storage-status', 'OVN_Southbound')).code).toBe(2);
  });

  it('reconnect drops every session, db-change-aware or not', async () => {
    for (const impl of IMPLS) {
      const a = await RawClient.connect(srv[impl].sock);
      const b = await RawClient.connect(srv[impl].sock);
      expect((await b.call('set_db_change_aware', [true])).error).toBeNull();
      expect((await a.call('list_dbs', [])).error).toBeNull();
      expect(await srv[impl].appctl('ovsdb-server/reconnect')).toMatchObject({ code: 0, stdout: '' });
      await a.waitClosed();
      await b.waitClosed();
      // New sessions are served as before.
      const c = await RawClient.connect(srv[impl].sock);
      expect((await c.call('list_dbs', [])).error).toBeNull();
      c.close();
    }
  });

  it('exit: the process ends with status 0 and removes its sockets', async () => {
    for (const impl of IMPLS) {
      expect(await srv[impl].appctl('exit')).toMatchObject({ code: 0, stdout: '', stderr: '' });
      const out = await srv[impl].exited;
      expect(out.code, impl).toBe(0);
      expect(fs.existsSync(srv[impl].sock)).toBe(false);
      expect(fs.existsSync(srv[impl].ctl)).toBe(false);
    }
  });
});
