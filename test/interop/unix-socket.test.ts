// Unix sockets as the reference makes them, side by side with the real server: a relative punix: name is
// in the run directory ($OVS_RUNDIR), where `ovs-vsctl --db=unix:db.sock` looks, whatever the server's
// working directory; the socket files are srwxr-x--- (0770 less the umask); SIGTERM removes them and logs
// "terminating with signal 15 (Terminated)".
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, it, expect, afterAll } from 'vitest';
import { TempDir, IMPLS, OUR_SERVER, REAL_SERVER, SCHEMA, run, waitFor, type Impl } from './lib/harness.ts';

const tmp = new TempDir();

afterAll(() => tmp.cleanup());

describe('relative unix sockets, socket mode, stop', () => {
  for (const impl of IMPLS) {
    it(`${impl}: --remote=punix:db.sock is $OVS_RUNDIR/db.sock, mode 0750, removed with a log line on SIGTERM`, async () => {
      const rundir = tmp.file(`run-${impl}`);
      const cwd = tmp.file(`cwd-${impl}`);
      fs.mkdirSync(rundir);
      fs.mkdirSync(cwd);
      const db = tmp.createDb(`${impl}-vs.db`, SCHEMA.vswitch);
      const env = { ...process.env, OVS_RUNDIR: rundir, OVS_LOGDIR: rundir, OVS_DBDIR: rundir };
      const log = path.join(rundir, 'server.log');
      const child = spawn(impl === 'ours' ? OUR_SERVER : REAL_SERVER, ['--remote=punix:db.sock', '--unixctl=ctl', `--log-file=${log}`, '-vconsole:off', db], {
        cwd,
        env,
        stdio: 'ignore',
      });
      tmp.track(child);
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      const sock = path.join(rundir, 'db.sock');
      const ctl = path.join(rundir, 'ctl');
      await waitFor(() => fs.existsSync(sock) && fs.existsSync(ctl), `${impl} sockets in the run directory`);
      expect(fs.existsSync(path.join(cwd, 'db.sock'))).toBe(false);

      const vsctl = (...args: string[]) => run('ovs-vsctl', ['--no-wait', '--timeout=20', '--db=unix:db.sock', ...args], { env, cwd: tmp.dir });
      expect((await vsctl('init')).code).toBe(0);
      expect((await vsctl('add-br', 'br0')).code).toBe(0);
      expect(await vsctl('list-br')).toMatchObject({ code: 0, stdout: 'br0\n' });
      expect(await run('ovs-appctl', ['-t', ctl, 'ovsdb-server/list-dbs'], { env })).toMatchObject({ code: 0, stdout: 'Open_vSwitch\n_Server\n' });

      const umask = process.umask();
      for (const f of [sock, ctl]) {
        const st = fs.statSync(f);
        expect(st.isSocket()).toBe(true);
        expect((st.mode & 0o777).toString(8), f).toBe((0o770 & ~umask).toString(8));
      }

      child.kill('SIGTERM');
      expect(await exited).toBe('SIGTERM');
      expect(fs.existsSync(sock)).toBe(false);
      expect(fs.existsSync(ctl)).toBe(false);
      expect(fs.readFileSync(log, 'utf8')).toMatch(/\|fatal_signal\|WARN\|terminating with signal 15 \(Terminated\)\n$/);
    });
  }
});
