// Shared helpers for the interop tests: start our ovsdb-server or the real one on a temp dir,
// create databases with the real ovsdb-tool, run the real tools with a timeout, follow a long-running
// tool's output line by line, and talk raw JSON-RPC over a unix socket.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const OUR_SERVER = path.join(REPO, 'bin/ovsdb-server');
export const REAL_SERVER = '/usr/sbin/ovsdb-server';

export const SCHEMA = {
  vswitch: '/usr/share/openvswitch/vswitch.ovsschema',
  nb: '/usr/share/ovn/ovn-nb.ovsschema',
  sb: '/usr/share/ovn/ovn-sb.ovsschema',
} as const;

export type Impl = 'ours' | 'real';
export const IMPLS: readonly Impl[] = ['ours', 'real'];

export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Poll `cond` until it returns a truthy value; bounded, so a hang becomes a clear failure. */
export async function waitFor<T>(cond: () => T | Promise<T>, what: string, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A temp directory that also collects the pids of everything started in it. */
export class TempDir {
  readonly dir: string;
  private readonly children = new Set<ChildProcess>();
  private readonly pids = new Set<number>();

  constructor(prefix = 'ovsdb-interop-') {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  /** Environment for tools: their default run/log/db dirs are this directory. */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, OVS_RUNDIR: this.dir, OVS_LOGDIR: this.dir, OVS_DBDIR: this.dir };
  }

  /** A fresh standalone database made by the real ovsdb-tool. */
  createDb(name: string, schema: string): string {
    const f = this.file(name);
    const r = spawnSync('ovsdb-tool', ['create', f, schema], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ovsdb-tool create ${f} failed: ${r.stderr}`);
    return f;
  }

  track(child: ChildProcess): void {
    this.children.add(child);
    if (child.pid !== undefined) this.pids.add(child.pid);
    child.on('exit', () => this.children.delete(child));
  }

  trackPid(pid: number): void {
    this.pids.add(pid);
  }

  /** Kill (by pid) whatever is still running, then remove the directory. */
  cleanup(): void {
    for (const pid of this.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Run a tool to completion, killing it after `timeoutMs`. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; stdinFile?: string; timeoutMs?: number; cwd?: string } = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    // Some tools seek on stdin (ovsdb-client restore), so it can be a real file.
    const stdin = opts.stdinFile !== undefined ? fs.openSync(opts.stdinFile, 'r') : opts.input !== undefined ? 'pipe' : 'ignore';
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: [stdin, 'pipe', 'pipe'] });
    if (typeof stdin === 'number') fs.closeSync(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (child.stdin) {
      child.stdin.on('error', () => {}); // the tool may exit before reading it all
      child.stdin.end(opts.input);
    }
  });
}

/** A long-running child whose stdout is read line by line (ovsdb-client monitor, lock, ...). */
export class LineFollower {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  private partial = '';
  readonly exited: Promise<Outcome>;

  constructor(tmp: TempDir, cmd: string, args: string[]) {
    // stdbuf: the C tools' stdout is block-buffered into a pipe, and we need each line as it is printed.
    this.child = spawn('stdbuf', ['-oL', cmd, ...args], { env: tmp.env, cwd: tmp.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    tmp.track(this.child);
    this.child.stdout!.on('data', (d: Buffer) => {
      const parts = (this.partial + d.toString()).split('\n');
      this.partial = parts.pop()!;
      this.lines.push(...parts);
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => resolve({ code, signal, stdout: this.lines.join('\n'), stderr: this.stderr }));
    });
  }

  /** Wait until at least `n` lines have arrived; returns them all. */
  async waitLines(n: number, what = `${n} lines`): Promise<string[]> {
    await waitFor(() => this.lines.length >= n, `${what} (have ${JSON.stringify(this.lines)}; stderr ${this.stderr})`);
    return [...this.lines];
  }

  /** Wait until some line matches. */
  async waitMatch(re: RegExp): Promise<string> {
    return waitFor(() => this.lines.find((l) => re.test(l)), `a line matching ${re} (have ${JSON.stringify(this.lines)}; stderr ${this.stderr})`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}

export interface ServerOptions {
  /** Database files to serve. */
  dbs: string[];
  /** Extra command-line options. */
  args?: string[];
  /** Socket/ctl/log names are prefixed with this (so both servers can share one TempDir). */
  name?: string;
}

/** One running ovsdb-server (ours or the real one), serving punix:<dir>/<name>.sock. */
export class Server {
  readonly sock: string;
  readonly ctl: string;
  readonly log: string;
  readonly remote: string;
  private exitedP: Promise<Outcome> | null = null;
  child: ChildProcess | null = null;

  constructor(
    readonly impl: Impl,
    readonly tmp: TempDir,
    readonly opts: ServerOptions,
  ) {
    const name = opts.name ?? impl;
    this.sock = tmp.file(`${name}.sock`);
    this.ctl = tmp.file(`${name}.ctl`);
    this.log = tmp.file(`${name}.log`);
    this.remote = `unix:${this.sock}`;
  }

  get pid(): number {
    return this.child!.pid!;
  }

  get exited(): Promise<Outcome> {
    return this.exitedP!;
  }

  async start(): Promise<this> {
    const bin = this.impl === 'ours' ? OUR_SERVER : REAL_SERVER;
    const args = [`--remote=punix:${this.sock}`, `--unixctl=${this.ctl}`, `--log-file=${this.log}`, '-vconsole:off', ...(this.opts.args ?? []), ...this.opts.dbs];
    const child = spawn(bin, args, { env: this.tmp.env, cwd: this.tmp.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.tmp.track(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    this.exitedP = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
    let dead = false;
    void this.exitedP.then(() => (dead = true));
    await waitFor(() => dead || (fs.existsSync(this.sock) && fs.existsSync(this.ctl)), `${this.impl} server sockets`);
    if (dead) throw new Error(`${this.impl} ovsdb-server exited at startup: ${stderr}`);
    return this;
  }

  /** Run ovsdb-client against this server: `client('list-dbs')` → ovsdb-client list-dbs unix:SOCK. */
  client(cmd: string, ...rest: string[]): Promise<Outcome> {
    return run('ovsdb-client', [cmd, this.remote, ...rest], { env: this.tmp.env });
  }

  /** ovs-appctl -t CTL ... */
  appctl(...args: string[]): Promise<Outcome> {
    return run('ovs-appctl', ['--timeout=20', '-t', this.ctl, ...args], { env: this.tmp.env });
  }

  vsctl(...args: string[]): Promise<Outcome> {
    return run('ovs-vsctl', ['--no-wait', '--timeout=20', `--db=${this.remote}`, ...args], { env: this.tmp.env });
  }

  nbctl(...args: string[]): Promise<Outcome> {
    return run('ovn-nbctl', ['--timeout=20', `--db=${this.remote}`, ...args], { env: this.tmp.env });
  }

  sbctl(...args: string[]): Promise<Outcome> {
    return run('ovn-sbctl', ['--timeout=20', `--db=${this.remote}`, ...args], { env: this.tmp.env });
  }

  /** SIGTERM, wait for exit (SIGKILL if it lingers). */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 5000);
    await this.exitedP;
    clearTimeout(t);
  }
}

/** Start a server on fresh databases made from `schemas` (files named <name>-<n>.db). */
export async function startServer(impl: Impl, tmp: TempDir, schemas: string[], opts: Omit<ServerOptions, 'dbs'> = {}): Promise<Server> {
  const name = opts.name ?? impl;
  const dbs = schemas.map((s, i) => tmp.createDb(`${name}-${i}.db`, s));
  return new Server(impl, tmp, { ...opts, dbs }).start();
}

const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Replace every UUID by <0>, <1>, ... in order of first appearance (so equal UUIDs stay equal). */
export function maskUuids(s: string): string {
  const seen = new Map<string, number>();
  return s.replace(UUID_RE, (u) => {
    let n = seen.get(u);
    if (n === undefined) seen.set(u, (n = seen.size));
    return `<${n}>`;
  });
}

/** Lines sorted: for outputs whose order is the C client's hash order (list-tables, list-columns). */
export function sortedLines(s: string): string[] {
  return s.split('\n').filter((l) => l !== '').sort();
}

/** JSON re-serialized with sorted keys (member order on the wire is hash order in the reference). */
export function sortedJson(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) o[k] = sortKeys((v as Record<string, unknown>)[k]);
    return o;
  }
  return v;
}

/**
 * A raw JSON-RPC connection over a unix socket: send arbitrary bytes, collect the JSON values the server
 * sends back (split by a small depth/string scanner), and notice when the server closes.
 */
export class RawClient {
  readonly messages: unknown[] = [];
  closed = false;
  private buf = '';
  private readonly sock: net.Socket;
  private readonly ready: Promise<void>;

  constructor(sockPath: string) {
    this.sock = net.createConnection(sockPath);
    this.ready = new Promise((resolve, reject) => {
      this.sock.once('connect', () => resolve());
      this.sock.once('error', reject);
    });
    this.sock.setEncoding('utf8');
    this.sock.on('data', (d: string) => {
      this.buf += d;
      this.split();
    });
    this.sock.on('close', () => (this.closed = true));
    this.sock.on('error', () => (this.closed = true));
  }

  static async connect(sockPath: string): Promise<RawClient> {
    const c = new RawClient(sockPath);
    await c.ready;
    return c;
  }

  // Scanner state survives between reads, so a big message is scanned once, not once per chunk.
  private scanPos = 0;
  private depth = 0;
  private inStr = false;
  private esc = false;

  private split(): void {
    const buf = this.buf;
    let consumed = 0;
    for (let i = this.scanPos; i < buf.length; i++) {
      const ch = buf.charCodeAt(i);
      if (this.inStr) {
        if (this.esc) this.esc = false;
        else if (ch === 0x5c) this.esc = true;
        else if (ch === 0x22) this.inStr = false;
        continue;
      }
      if (ch === 0x22) this.inStr = true;
      else if (ch === 0x7b || ch === 0x5b) this.depth++;
      else if (ch === 0x7d || ch === 0x5d) {
        if (--this.depth === 0) {
          this.messages.push(JSON.parse(buf.slice(consumed, i + 1)));
          consumed = i + 1;
        }
      }
    }
    this.buf = buf.slice(consumed);
    this.scanPos = this.buf.length;
  }

  send(data: string | Buffer): void {
    this.sock.write(data);
  }

  request(method: string, params: unknown, id: unknown): void {
    this.send(JSON.stringify({ method, params, id }));
  }

  /** The reply with this id (waits for it). */
  async reply(id: unknown): Promise<Record<string, unknown>> {
    const key = JSON.stringify(id);
    return waitFor(
      () => this.messages.find((m) => m !== null && typeof m === 'object' && JSON.stringify((m as Record<string, unknown>).id) === key && !('method' in (m as object))) as Record<string, unknown> | undefined,
      `reply ${key} (closed=${this.closed}, have ${JSON.stringify(this.messages)})`,
    );
  }

  async call(method: string, params: unknown, id: unknown = 1): Promise<Record<string, unknown>> {
    this.request(method, params, id);
    return this.reply(id);
  }

  async waitClosed(): Promise<void> {
    await waitFor(() => this.closed, 'the server to close the connection');
  }

  close(): void {
    this.sock.destroy();
  }
}
