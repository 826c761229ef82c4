// A Raft cluster of ovsdb-server processes for the cluster benchmark (bench/cluster.ts): files made with the
// real ovsdb-tool (create-cluster, join-cluster) on unix: Raft addresses in one directory, members started,
// stopped and killed, their `_Server` rows polled. Every process started here is killed on exit.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { RpcClient } from './jsonrpc.ts';
import { NB_DB } from './ovn.ts';
import { sleep, waitFor as waitForEvery } from './wait.ts';

export const NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';

/** The server under test: its binary, a label for messages, and extra environment. */
export interface ServerBinary {
  readonly binary: string;
  readonly label: string;
  readonly env?: Record<string, string>;
}

const live = new Set<ChildProcess>();

/** Kills every member still running (its process group). Safe in an 'exit' handler. */
export function killAllMembers(): void {
  for (const c of live) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  live.clear();
}
process.on('exit', killAllMembers);

/** The longest event-loop block: by wall time, and by the main thread's CPU time (ms). */
export interface Block {
  readonly wall: number;
  readonly cpu: number;
}

export { sleep };

/** wait.ts's waitFor, polling every 10 ms. */
export function waitFor<T>(cond: () => T | Promise<T>, what: string, timeoutMs = 600_000, pollMs = 10): Promise<NonNullable<T>> {
  return waitForEvery(cond, what, timeoutMs, pollMs);
}

function tool(...args: string[]): void {
  const r = spawnSync('ovsdb-tool', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ovsdb-tool ${args.join(' ')}: ${r.stderr}`);
}

export class Member {
  child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  readonly db: string;
  readonly sock: string;
  readonly ctl: string;
  readonly log: string;
  readonly raft: string;

  constructor(
    readonly server: ServerBinary,
    readonly dir: string,
    readonly name: string,
  ) {
    this.db = path.join(dir, `${name}.db`);
    this.sock = path.join(dir, `${name}.sock`);
    this.ctl = path.join(dir, `${name}.ctl`);
    this.log = path.join(dir, `${name}.log`);
    this.raft = `unix:${path.join(dir, `${name}.raft`)}`;
  }

  get endpoint(): string {
    return `unix:${this.sock}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Spawns the server; resolves at once (see connected()). */
  start(): void {
    if (this.child) throw new Error(`${this.name} already running`);
    for (const f of [this.sock, this.ctl]) fs.rmSync(f, { force: true });
    const args = [this.db, `--remote=punix:${this.sock}`, `--unixctl=${this.ctl}`, `--log-file=${this.log}`, '-vconsole:off', '--no-chdir'];
    const env = { ...process.env, ...this.server.env };
    const child = spawn(this.server.binary, args, { cwd: this.dir, stdio: 'ignore', detached: true, env });
    this.child = child;
    live.add(child);
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        live.delete(child);
        if (this.child === child) this.child = null;
        resolve();
      }),
    );
  }

  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const c = this.child;
    if (!c) return;
    try {
      process.kill(-c.pid!, signal);
    } catch {
      /* gone */
    }
    await this.exited;
  }

  /** This member's `_Server.Database` row for OVN_Northbound, or null when it does not answer. */
  async serverRow(): Promise<{ connected: boolean; leader: boolean; index: number } | null> {
    let c: RpcClient;
    try {
      c = await RpcClient.connect(this.endpoint, 2000);
    } catch {
      return null;
    }
    try {
      const r = (await c.request('transact', [
        '_Server',
        { op: 'select', table: 'Database', where: [['name', '==', NB_DB]], columns: ['connected', 'leader', 'index'] },
      ])) as { rows?: { connected: boolean; leader: boolean; index: number | [string, unknown[]] }[] }[];
      const row = r[0]?.rows?.[0];
      if (!row) return null;
      return { connected: row.connected, leader: row.leader, index: typeof row.index === 'number' ? row.index : 0 };
    } catch {
      return null;
    } finally {
      await c.close();
    }
  }

  async waitConnected(minIndex = 0): Promise<void> {
    await waitFor(async () => {
      if (!this.running) throw new Error(`${this.name} (${this.server.label}) exited; log tail: ${this.logTail()}`);
      const r = await this.serverRow();
      return r !== null && r.connected && r.index >= minIndex;
    }, `${this.name} to be connected`, 600_000, 5);
  }

  appctl(...args: string[]): string {
    return execFileSync('ovs-appctl', ['-t', this.ctl, ...args], { encoding: 'utf8' });
  }

  /**
   * The longest event-loop block this member logged between two wall-clock times (ours only): by wall time
   * (which counts waiting for a CPU on a busy machine) and by the main thread's own CPU time.
   */
  longestBlock(fromMs: number, toMs: number): Block {
    let text: string;
    try {
      text = fs.readFileSync(this.log, 'utf8');
    } catch {
      return { wall: 0, cpu: 0 };
    }
    const b = { wall: 0, cpu: 0 };
    for (const m of text.matchAll(/^(\S+)\|\d+\|timeval\|WARN\|event loop blocked for (\d+) ms(?: \((\d+) ms on CPU\))?$/gm)) {
      const t = Date.parse(m[1]!);
      if (t < fromMs || t > toMs + 200) continue;
      b.wall = Math.max(b.wall, Number(m[2]));
      b.cpu = Math.max(b.cpu, Number(m[3] ?? m[2]));
    }
    return b;
  }

  logTail(): string {
    try {
      return fs.readFileSync(this.log, 'utf8').trim().split('\n').slice(-5).join(' | ');
    } catch {
      return '';
    }
  }
}

export async function rowCount(m: Member, table: string): Promise<number> {
  const c = await RpcClient.connect(m.endpoint);
  try {
    const r = (await c.transact(NB_DB, [{ op: 'select', table, where: [], columns: ['_uuid'] }])) as { rows: unknown[] }[];
    return r[0]!.rows.length;
  } finally {
    await c.close();
  }
}

export class Cluster {
  readonly members: Member[] = [];
  private next = 1;

  constructor(
    readonly server: ServerBinary,
    readonly dir: string,
  ) {}

  static async create(server: ServerBinary, dir: string, n: number): Promise<Cluster> {
    fs.mkdirSync(dir, { recursive: true });
    const cl = new Cluster(server, dir);
    const first = cl.add();
    tool('create-cluster', first.db, NB_SCHEMA, first.raft);
    first.start();
    await first.waitConnected();
    for (let i = 1; i < n; i++) {
      const m = cl.join();
      m.start();
    }
    for (const m of cl.members) await m.waitConnected();
    return cl;
  }

  private add(): Member {
    const m = new Member(this.server, this.dir, `s${this.next++}`);
    this.members.push(m);
    return m;
  }

  /** A new member's file (join-cluster with every current member as remote); not started. */
  join(): Member {
    const remotes = this.members.map((m) => m.raft);
    const m = this.add();
    tool('join-cluster', m.db, NB_DB, m.raft, ...remotes);
    return m;
  }

  async leader(): Promise<Member> {
    return waitFor(async () => {
      for (const m of this.members) {
        if (!m.running) continue;
        const r = await m.serverRow();
        if (r?.leader) return m;
      }
      return null;
    }, 'a leader');
  }

  async follower(): Promise<Member> {
    const l = await this.leader();
    return this.members.find((m) => m !== l && m.running)!;
  }

  async stop(): Promise<void> {
    for (const m of this.members) await m.stop();
  }

  longestBlock(fromMs: number, toMs: number): Block {
    const bs = this.members.map((m) => m.longestBlock(fromMs, toMs));
    return { wall: Math.max(0, ...bs.map((b) => b.wall)), cpu: Math.max(0, ...bs.map((b) => b.cpu)) };
  }
}

