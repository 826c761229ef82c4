// The pidfile and the DB lock file must be real POSIX record locks held by the
// server process: the real ovs-appctl, ovsdb-tool and ovsdb-server check them.
import fs from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { describe, it, expect, afterEach } from 'vitest';
import { Sandbox, waitFor, alive } from '../fixtures-daemon/helpers.ts';
import { lockHolder } from '../../cli/fcntl.ts';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

describe('pidfile, as ovs-appctl sees it', () => {
  it('ovs-appctl -t ovsdb-server finds us; a second instance is refused; exit removes the pidfile', async () => {
    sb = new Sandbox();
    const db = sb.createDb();
    const first = sb.start(['--pidfile', '--remote=punix:sock', '-vconsole:off', db]);
    const pid = first.child.pid!;
    const ctl = sb.file(`ovsdb-server.${pid}.ctl`);
    await waitFor(() => fs.existsSync(ctl), 'control socket');

    expect(fs.readFileSync(sb.file('ovsdb-server.pid'), 'utf8')).toBe(`${pid}\n`);
    expect(lockHolder(sb.file('ovsdb-server.pid'))).toBe(pid);
    expect(sb.appctl('-t', 'ovsdb-server', 'version')).toMatchObject({
      code: 0,
      stdout: 'ovsdb-server (Open vSwitch) 3.1.0\novsdb-ts 0.1.0\n',
    });

    const second = await sb.run(['--pidfile', '--unixctl=other.ctl', '--no-dbs']);
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(`ovsdb-server: ${sb.file('ovsdb-server.pid')}: already running as pid ${pid}, aborting\n`);

    expect(sb.appctl('-t', 'ovsdb-server', 'exit')).toMatchObject({ code: 0, stdout: '' });
    const out = await first.done;
    expect(out.code).toBe(0);
    expect(fs.existsSync(sb.file('ovsdb-server.pid'))).toBe(false);
    expect(fs.existsSync(ctl)).toBe(false);
    expect(fs.existsSync(sb.file('sock'))).toBe(false);
    // Like the real server, a clean exit leaves the DB lock file behind.
    expect(fs.existsSync(sb.file('.db.~lock~'))).toBe(true);
  });

  it('SIGTERM removes the pidfile, the sockets and the DB lock file', async () => {
    sb = new Sandbox();
    const db = sb.createDb();
    const s = sb.start(['--pidfile=my.pid', '--remote=punix:sock', '-vconsole:off', db]);
    const pid = s.child.pid!;
    await waitFor(() => fs.existsSync(sb.file(`ovsdb-server.${pid}.ctl`)), 'control socket');
    expect(lockHolder(sb.file('my.pid'))).toBe(pid);
    expect(sb.appctl('-t', sb.file(`ovsdb-server.${pid}.ctl`), 'version').stdout).toBe('ovsdb-server (Open vSwitch) 3.1.0\novsdb-ts 0.1.0\n');
    process.kill(pid, 'SIGTERM');
    const out = await s.done;
    expect(out.signal).toBe('SIGTERM');
    for (const f of ['my.pid', 'sock', `ovsdb-server.${pid}.ctl`, '.db.~lock~']) {
      expect(fs.existsSync(sb.file(f)), f).toBe(false);
    }
  });

  it('starts over a stale pidfile, and --overwrite-pidfile takes over a live one', async () => {
    sb = new Sandbox();
    fs.writeFileSync(sb.file('ovsdb-server.pid'), '999999\n');
    const a = sb.start(['--pidfile', '--no-dbs', '--unixctl=a.ctl', '-vconsole:off']);
    await waitFor(() => fs.existsSync(sb.file('a.ctl')), 'first control socket');
    expect(sb.pidfilePid()).toBe(a.child.pid);

    const b = sb.start(['--pidfile', '--overwrite-pidfile', '--no-dbs', '-vconsole:off']);
    const bpid = b.child.pid!;
    await waitFor(() => sb.pidfilePid() === bpid && fs.existsSync(sb.file(`ovsdb-server.${bpid}.ctl`)), 'takeover');
    expect(lockHolder(sb.file('ovsdb-server.pid'))).toBe(bpid);
    expect(sb.appctl('-t', 'ovsdb-server', 'version').code).toBe(0);
    expect(alive(a.child.pid!)).toBe(true);
  });
});

describe('DB lock file against the real tools', () => {
  it('while we hold a DB, the real ovsdb-tool transact and ovsdb-server are refused', async () => {
    sb = new Sandbox();
    const db = sb.createDb();
    const s = sb.start(['--no-chdir', '--unixctl=ctl', '-vconsole:off', db]);
    const pid = s.child.pid!;
    await waitFor(() => fs.existsSync(sb.file('ctl')), 'control socket');

    const tool = spawnSync('ovsdb-tool', ['transact', db, '["Open_vSwitch"]'], { encoding: 'utf8' });
    expect(tool.status).toBe(1);
    const lines = tool.stderr.split('\n');
    expect(lines[0]).toMatch(
      new RegExp(`\\|00001\\|lockfile\\|WARN\\|${sb.file('.db.~lock~')}: cannot lock file because it is already locked by pid ${pid}$`),
    );
    expect(lines[1]).toBe(`ovsdb-tool: I/O error: ${db}: failed to lock lockfile (Resource temporarily unavailable)`);

    const real = spawnSync('ovsdb-server', ['--unixctl=' + sb.file('real.ctl'), db], { encoding: 'utf8', timeout: 20_000 });
    expect(real.status).toBe(1);
    expect(real.stderr).toContain(`ovsdb-server: I/O error: ${db}: failed to lock lockfile (Resource temporarily unavailable)`);
  });

  it('while the real ovsdb-server holds a DB, we are refused with the same messages', async () => {
    sb = new Sandbox();
    sb.createDb();
    const real = spawn('ovsdb-server', ['--unixctl=' + sb.file('real.ctl'), '--remote=punix:' + sb.file('rs'), 'db'], {
      cwd: sb.dir,
      stdio: 'ignore',
    });
    sb.track(real.pid!);
    await waitFor(() => fs.existsSync(sb.file('real.ctl')), 'real server');

    const out = await sb.run(['--unixctl=ctl', 'db']);
    expect(out.code).toBe(1);
    const lines = out.stderr.split('\n');
    expect(lines[0]).toMatch(
      new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\|\\d{5}\\|lockfile\\|WARN\\|\\.db\\.~lock~: cannot lock file because it is already locked by pid ${real.pid}$`),
    );
    expect(lines.slice(1)).toEqual(['ovsdb-server: I/O error: db: failed to lock lockfile (Resource temporarily unavailable)', '']);
    expect(sb.appctl('-t', sb.file('real.ctl'), 'exit').code).toBe(0);
  });
});
