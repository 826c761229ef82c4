// --detach / --monitor with the real ovs-appctl as the client.
import fs from 'node:fs';
import { describe, it, expect, afterEach } from 'vitest';
import { Sandbox, waitFor, alive, parentPid, processComm } from '../fixtures-daemon/helpers.ts';

let sb: Sandbox;
afterEach(() => sb?.cleanup());

const VERSION = 'ovsdb-server (Open vSwitch) 3.1.0\novsdb-ts 0.1.0\n';

describe('--detach', () => {
  it('returns once the daemon listens; the daemon runs in its own session at /', async () => {
    sb = new Sandbox();
    const db = sb.createDb();
    const out = await sb.run(['--detach', '--pidfile', '--log-file', '--remote=punix:sock', db]);
    // The parent only exits after startup, and the daemon let go of our stdout/stderr pipes.
    expect(out.code).toBe(0);
    expect(fs.existsSync(sb.file('sock'))).toBe(true);
    const pid = sb.pidfilePid()!;
    expect(alive(pid)).toBe(true);
    expect(processComm(pid)).toBe('ovsdb-server');
    expect(fs.readlinkSync(`/proc/${pid}/cwd`)).toBe('/');
    expect(parentPid(pid)).not.toBe(process.pid);
    expect(sb.appctl('-t', 'ovsdb-server', 'version')).toMatchObject({ code: 0, stdout: VERSION });

    // Startup lines were on the caller's stderr; the log reads like one process wrote it.
    const log = sb.file('ovsdb-server.log');
    expect(out.stderr).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|00001\|vlog\|INFO\|opened log file /);
    const lines = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
    expect(lines.map((l) => l.replace(/^[^|]*\|/, ''))).toEqual([
      `00001|vlog|INFO|opened log file ${log}`,
      '00002|ovsdb_server|INFO|ovsdb-server (Open vSwitch) 3.1.0',
    ]);

    expect(sb.appctl('-t', 'ovsdb-server', 'exit').code).toBe(0);
    await waitFor(() => !alive(pid) && !fs.existsSync(sb.file('ovsdb-server.pid')), 'daemon exit');
    expect(fs.existsSync(sb.file('sock'))).toBe(false);
  });

  it('--no-chdir keeps the directory', async () => {
    sb = new Sandbox();
    const out = await sb.run(['--detach', '--no-chdir', '--pidfile', '--no-dbs', '-vconsole:off']);
    expect(out).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const pid = sb.pidfilePid()!;
    expect(fs.readlinkSync(`/proc/${pid}/cwd`)).toBe(sb.dir);
    expect(sb.appctl('-t', 'ovsdb-server', 'exit').code).toBe(0);
    await waitFor(() => !alive(pid), 'daemon exit');
  });

  it('passes on the exit status of a child that fails before startup', async () => {
    sb = new Sandbox();
    const out = await sb.run(['--detach', '--no-dbs', '-vconsole:off'], { DUMMY_FAIL: 'exit:3' });
    expect(out.code).toBe(3);
  });

  it('reports a child killed before startup', async () => {
    sb = new Sandbox();
    const out = await sb.run(['--detach', '--no-dbs'], { DUMMY_FAIL: 'signal:SIGKILL' });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|\d{5}\|daemon_unix\|EMER\|fork child died before signaling startup \(killed \(SIGKILL\)\)\n$/,
    );
  });

  it('a pidfile conflict in the daemon fails the parent with the message', async () => {
    sb = new Sandbox();
    const first = await sb.run(['--detach', '--pidfile', '--no-dbs', '-vconsole:off']);
    expect(first.code).toBe(0);
    const pid = sb.pidfilePid()!;
    const second = await sb.run(['--detach', '--pidfile', '--no-dbs', '--unixctl=x.ctl', '-vconsole:off']);
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(`ovsdb-server: ${sb.file('ovsdb-server.pid')}: already running as pid ${pid}, aborting\n`);
  });
});

describe('--monitor', () => {
  it('restarts a crashed daemon with its runtime state, and stops when the daemon exits otherwise', async () => {
    sb = new Sandbox();
    const out = await sb.run(['--detach', '--monitor', '--pidfile', '--no-dbs', '--remote=punix:sock', '-vconsole:off']);
    expect(out.code).toBe(0);
    const pid1 = sb.pidfilePid()!;
    const monitor = parentPid(pid1)!;
    sb.track(monitor);
    expect(processComm(pid1)).toBe('ovsdb-server');
    expect(processComm(monitor)).toBe('ovsdb-server');
    expect(monitor).not.toBe(process.pid);

    expect(sb.appctl('-t', 'ovsdb-server', 'add-thing', 'nb.db').code).toBe(0);
    process.kill(pid1, 'SIGSEGV');
    const pid2 = await waitFor(() => {
      const p = sb.pidfilePid();
      return p !== null && p !== pid1 && fs.existsSync(sb.file(`ovsdb-server.${p}.ctl`)) ? p : null;
    }, 'restarted daemon');
    expect(parentPid(pid2)).toBe(monitor);
    expect(sb.appctl('-t', 'ovsdb-server', 'version')).toMatchObject({ code: 0, stdout: VERSION });
    expect(sb.appctl('-t', 'ovsdb-server', 'list-things')).toMatchObject({ code: 0, stdout: 'nb.db\n' });

    // SIGTERM is a request to stop, not a crash: the monitor goes too.
    process.kill(pid2, 'SIGTERM');
    await waitFor(() => !alive(pid2) && !alive(monitor), 'daemon and monitor exit');
    expect(fs.existsSync(sb.file('ovsdb-server.pid'))).toBe(false);
    expect(fs.existsSync(sb.file('sock'))).toBe(false);
  });
});
