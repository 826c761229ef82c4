// One "OVN central node" for the operations tests: its own run/db/log/etc directories in a temp dir, and
// a PATH that selects ovsdb-ts (bin/ first) or the real /usr/sbin/ovsdb-server. Everything else (ovn-ctl,
// ovn-nbctl, ovn-appctl, ovsdb-tool, ovn-northd) is the real Debian tooling, unchanged.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { waitFor, REPO, type Impl, type Outcome } from '../lib/harness.ts';

export const OVN_CTL = '/usr/share/ovn/scripts/ovn-ctl';
export const OUR_BIN = path.join(REPO, 'bin');

/** PATH with ovsdb-ts first (ours) or without it (real: ovn-ctl then finds /usr/sbin/ovsdb-server). */
export function pathFor(impl: Impl): string {
  const base = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').filter((d) => d !== '' && path.resolve(d) !== OUR_BIN);
  return (impl === 'ours' ? [OUR_BIN, ...base] : base).join(':');
}

/**
 * Run a tool to completion with stdin closed (the shell scripts exit before reading it; a pipe there
 * would raise EPIPE). After `timeoutMs` its whole process group is killed, so a hung grandchild (an
 * ovn-appctl waiting on a silent server, say) cannot keep the pipes open; daemons have left the group.
 */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr: timedOut ? `${stderr}[killed after ${opts.timeoutMs ?? 20_000} ms]\n` : stderr });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      // A daemon that never finished starting (so never closed the stdio it inherited) keeps the pipes
      // open: do not wait for them.
      setTimeout(() => finish(child.exitCode, child.signalCode), 2000).unref();
    }, opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => finish(code, signal));
  });
}

/** `n` distinct TCP ports on 127.0.0.1 that were free a moment ago. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export function pidAlive(pid: number): boolean {
  return fs.existsSync(`/proc/${pid}`) && !/^\S+ \(.*\) Z/.test(readOr(`/proc/${pid}/stat`, ''));
}

function readOr(file: string, dflt: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return dflt;
  }
}

/** Parent pid from /proc (the --monitor process of a daemon), or null. */
export function parentOf(pid: number): number | null {
  const stat = readOr(`/proc/${pid}/stat`, '');
  const m = /\) \S+ (\d+)/.exec(stat);
  return m ? Number(m[1]) : null;
}

export function commOf(pid: number): string {
  return readOr(`/proc/${pid}/comm`, '').trim();
}

/**
 * Kill (SIGKILL) every live process whose environment mentions `dir`: whatever ovn-ctl, the agent or a
 * test started with this node's directories, however it was daemonized. The final safety net.
 */
export function sweepProcesses(dir: string): number[] {
  const killed: number[] = [];
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    const pid = Number(ent);
    if (pid === process.pid) continue;
    const env = readOr(`/proc/${pid}/environ`, '');
    if (!env.includes(dir)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // gone or not ours
    }
  }
  return killed;
}

export type DbKind = 'nb' | 'sb';

export class OvnNode {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly impl: Impl,
    readonly name: string,
    root?: string,
  ) {
    this.dir = root ? path.join(root, name) : fs.mkdtempSync(path.join(os.tmpdir(), `ovn-${name}-`));
    fs.mkdirSync(this.dir, { recursive: true });
    const d = (s: string) => path.join(this.dir, s);
    this.env = {
      ...process.env,
      PATH: pathFor(impl),
      OVN_RUNDIR: d('run'),
      OVN_DBDIR: d('db'),
      OVN_LOGDIR: d('log'),
      OVN_SYSCONFDIR: d('etc'),
      OVS_RUNDIR: d('run'),
      OVS_LOGDIR: d('log'),
      OVS_DBDIR: d('db'),
      OVS_SYSCONFDIR: d('etc'),
    };
    // The default databases of ovn-nbctl / ovn-sbctl / ovn-northd are then the unix sockets under OVN_RUNDIR.
    delete this.env.OVN_NB_DB;
    delete this.env.OVN_SB_DB;
  }

  file(rel: string): string {
    return path.join(this.dir, rel);
  }

  get runDir(): string {
    return this.file('run');
  }

  pidfile(db: DbKind): string {
    return this.file(`run/ovn${db}_db.pid`);
  }

  ctl(db: DbKind): string {
    return this.file(`run/ovn${db}_db.ctl`);
  }

  sock(db: DbKind): string {
    return this.file(`run/ovn${db}_db.sock`);
  }

  dbFile(db: DbKind): string {
    return this.file(`db/ovn${db}_db.db`);
  }

  activeConf(db: DbKind): string {
    return this.file(`etc/ovn/ovn${db}-active.conf`);
  }

  log(db: DbKind): string {
    return readOr(this.file(`log/ovsdb-server-${db}.log`), '');
  }

  /** The daemon's pid from its pidfile, or null. */
  pid(db: DbKind): number | null {
    const s = readOr(this.pidfile(db), '').trim();
    return /^\d+$/.test(s) ? Number(s) : null;
  }

  ovnCtl(...args: string[]): Promise<Outcome> {
    // In the node's own dir: ovn-ctl may write files relative to its cwd (e.g. with an empty address).
    return run(OVN_CTL, args, { env: this.env, timeoutMs: 60_000, cwd: this.dir });
  }

  nbctl(...args: string[]): Promise<Outcome> {
    return run('ovn-nbctl', ['--timeout=20', ...args], { env: this.env });
  }

  sbctl(...args: string[]): Promise<Outcome> {
    return run('ovn-sbctl', ['--timeout=20', ...args], { env: this.env });
  }

  appctl(db: DbKind, ...args: string[]): Promise<Outcome> {
    return run('ovn-appctl', ['--timeout=20', '-t', this.ctl(db), ...args], { env: this.env });
  }

  async status(db: DbKind): Promise<string> {
    return (await this.ovnCtl(`status_ovn${db}`)).stdout;
  }

  /** Wait until `ovn-ctl status_ovnXX` prints `want` (e.g. "running/active\n"). */
  async waitStatus(db: DbKind, want: string): Promise<void> {
    let last = '';
    await waitFor(async () => (last = await this.status(db)) === want, `${this.name} status_ovn${db} = ${JSON.stringify(want)} (last ${JSON.stringify(last)})`, 30_000);
  }

  /**
   * A crash: SIGKILL the daemon. Its --monitor only restarts after crash signals (SEGV, ABRT, ...), so it
   * reaps the daemon and exits; killing the monitor too would leave the daemon a zombie of a pid 1 that may
   * not reap, which ovn-ctl's /proc checks would take for a live process.
   */
  crash(db: DbKind): number | null {
    const pid = this.pid(db);
    if (pid === null || commOf(pid) !== 'ovsdb-server') return null;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
    return pid;
  }

  /** Stop what is left (ovn-ctl stop_*, then kill by pidfile and sweep), and remove the directory. */
  async cleanup(): Promise<void> {
    await this.ovnCtl('--ovn-manage-ovsdb=no', 'stop_northd').catch(() => undefined);
    await this.ovnCtl('stop_ovsdb').catch(() => undefined);
    for (const db of ['nb', 'sb'] as const) this.crash(db);
    sweepProcesses(this.dir);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
