// Helpers for the daemon/pidfile interop tests: run the dummy server and the
// real OVS tools, poll for conditions, and kill whatever a test started.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'dummy-server.ts');
// Absolute loader URL: the fixture runs with its cwd in a temp dir, where 'tsx' would not resolve.
const NODE_ARGS = ['--import', import.meta.resolve('tsx'), FIXTURE];

export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class Sandbox {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovsdb-daemon-test-'));
  readonly env: NodeJS.ProcessEnv;
  private readonly pids = new Set<number>();

  constructor() {
    // TMPDIR too: the --monitor state file then lives (and dies) with the sandbox.
    this.env = { ...process.env, OVS_RUNDIR: this.dir, OVS_LOGDIR: this.dir, OVS_DBDIR: this.dir, TMPDIR: this.dir };
    delete this.env['OVSDB_TS_DAEMON_STAGE'];
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  /** A real OVSDB file made by the real ovsdb-tool. */
  createDb(name = 'db'): string {
    const f = this.file(name);
    const r = spawnSync('ovsdb-tool', ['create', f, '/usr/share/openvswitch/vswitch.ovsschema']);
    if (r.status !== 0) throw new Error(`ovsdb-tool create failed: ${r.stderr}`);
    return f;
  }

  /** Start the fixture in the foreground (stdio piped). */
  start(args: string[], extraEnv: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<Outcome> } {
    const child = spawn(process.execPath, [...NODE_ARGS, ...args], {
      cwd: this.dir,
      env: { ...this.env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.track(child.pid!);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<Outcome>((resolve) => {
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
    return { child, done };
  }

  /** Run the fixture to completion (for --detach: until the parent exits and stdio is released). */
  run(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Outcome> {
    return this.start(args, extraEnv).done;
  }

  /** The real ovs-appctl, with OVS_RUNDIR pointing at the sandbox. */
  appctl(...args: string[]): Outcome {
    const r = spawnSync('ovs-appctl', ['--timeout=20', ...args], { env: this.env, cwd: this.dir, encoding: 'utf8' });
    return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
  }

  track(pid: number): void {
    this.pids.add(pid);
  }

  /** Pid written in the pidfile, or null. */
  pidfilePid(name = 'ovsdb-server.pid'): number | null {
    try {
      const n = Number.parseInt(fs.readFileSync(this.file(name), 'utf8'), 10);
      if (Number.isFinite(n)) {
        this.track(n);
        return n;
      }
    } catch {
      // no pidfile
    }
    return null;
  }

  /** Kill everything this sandbox started (and their monitors), remove the directory. */
  cleanup(): void {
    const more: number[] = [];
    for (const pid of this.pids) {
      const pp = parentPid(pid);
      if (pp !== null && pp !== process.pid && processComm(pp) === 'ovsdb-server') more.push(pp);
    }
    for (const pid of [...more, ...this.pids]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie is not alive for our purposes.
  try {
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export function parentPid(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

export function processComm(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Poll `cond` until it returns a truthy value (no fixed sleeps in the tests). */
export async function waitFor<T>(cond: () => T | Promise<T>, what: string, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
