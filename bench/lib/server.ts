// Starting and stopping the servers under test. Both get a fresh database made by `ovsdb-tool create`, a temp
// dir, and the same command line. Every child started here is tracked and killed on exit, Ctrl-C or error.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { RpcClient, type Endpoint } from './jsonrpc.ts';
import { processTree, treeAnonRssBytes, treeCpuMs, treePeakRssBytes, treeRssBytes } from './proc.ts';

export type ServerKind = 'ref' | 'ours';

export interface ServerSpec {
  kind: ServerKind;
  label: string;
  binary: string;
  /** Extra environment for the server process (e.g. NODE_OPTIONS for ours). */
  env?: NodeJS.ProcessEnv;
}

export interface ServerOptions {
  schemaPath: string;
  ovsdbTool: string;
  /** Also listen on ptcp and drive the load over TCP instead of the unix socket. */
  tcp: boolean;
  startTimeoutMs: number;
}

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let handlersInstalled = false;

/** Kills every server still running (its whole process group). Safe to call from an 'exit' handler. */
export function killAllServers(): void {
  for (const child of live) {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  live.clear();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

function installCleanup(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllServers);
}

/** For the CLI only: on Ctrl-C / SIGTERM / SIGHUP, stop every server and exit with status 130. */
export function stopServersOnSignals(): void {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      killAllServers();
      process.stderr.write(`\nbench: ${sig}, servers stopped\n`);
      process.exit(130);
    });
  }
}

/** True when the binary exists and is executable. */
export function binaryAvailable(binary: string): boolean {
  try {
    fs.accessSync(binary, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class ServerHandle {
  private child: ChildProcess | null = null;
  private exitInfo: string | null = null;
  private tcpPort = 0;
  private disposed = false;
  readonly dbFile: string;
  readonly socketPath: string;

  private constructor(
    readonly spec: ServerSpec,
    readonly dir: string,
    private readonly opts: ServerOptions,
  ) {
    this.dbFile = path.join(dir, 'ovnnb_db.db');
    this.socketPath = path.join(dir, 'db.sock');
  }

  /** Makes a temp dir with a fresh database; does not start the server. */
  static async prepare(spec: ServerSpec, opts: ServerOptions): Promise<ServerHandle> {
    installCleanup();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ovsdb-bench-${spec.kind}-`));
    tempDirs.add(dir);
    const h = new ServerHandle(spec, dir, opts);
    execFileSync(opts.ovsdbTool, ['create', h.dbFile, opts.schemaPath], { stdio: 'pipe' });
    if (opts.tcp) h.tcpPort = await freeTcpPort();
    return h;
  }

  get endpoint(): Endpoint {
    return this.opts.tcp ? `tcp:127.0.0.1:${this.tcpPort}` : `unix:${this.socketPath}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.exitInfo === null;
  }

  /** Starts the server and waits until it answers list_dbs; returns the elapsed ms (spawn → answer). */
  async start(): Promise<number> {
    if (this.running) throw new Error('server already running');
    if (this.disposed) throw new Error('server handle already disposed');
    fs.rmSync(this.socketPath, { force: true });
    const args = [
      this.dbFile,
      `--remote=punix:${this.socketPath}`,
      `--unixctl=${path.join(this.dir, 'ctl')}`,
      '--no-chdir',
      `--pidfile=${path.join(this.dir, 'pid')}`,
    ];
    if (this.opts.tcp) args.push(`--remote=ptcp:${this.tcpPort}:127.0.0.1`);
    const log = fs.openSync(path.join(this.dir, 'server.log'), 'a');
    const t0 = performance.now();
    // detached: own process group, so a wrapper script and its children die together.
    const child = spawn(this.spec.binary, args, {
      cwd: this.dir,
      stdio: ['ignore', log, log],
      detached: true,
      env: this.spec.env ? { ...process.env, ...this.spec.env } : process.env,
    });
    fs.closeSync(log);
    this.child = child;
    this.exitInfo = null;
    live.add(child);
    child.once('exit', (code, signal) => {
      this.exitInfo = signal ? `killed by ${signal}` : `exited with status ${code}`;
      live.delete(child);
    });
    child.once('error', (err) => {
      this.exitInfo = `failed to spawn: ${err.message}`;
      live.delete(child);
    });

    const deadline = t0 + this.opts.startTimeoutMs;
    while (performance.now() < deadline) {
      if (this.exitInfo !== null) throw new Error(`${this.spec.label} ${this.exitInfo}${this.logTail()}`);
      if (this.opts.tcp || fs.existsSync(this.socketPath)) {
        const elapsed = await this.tryListDbs(t0);
        if (elapsed !== null) return elapsed;
      }
      await sleep(2);
    }
    await this.stop();
    throw new Error(`${this.spec.label} did not answer list_dbs within ${this.opts.startTimeoutMs} ms${this.logTail()}`);
  }

  private async tryListDbs(t0: number): Promise<number | null> {
    let c: RpcClient | null = null;
    try {
      c = await RpcClient.connect(this.endpoint, 1000);
      const dbs = await c.request('list_dbs', []);
      const elapsed = performance.now() - t0;
      if (!Array.isArray(dbs) || !dbs.includes('OVN_Northbound')) {
        throw new Error(`${this.spec.label}: list_dbs answered ${JSON.stringify(dbs)}`);
      }
      return elapsed;
    } catch (err) {
      if (err instanceof Error && err.message.includes('list_dbs answered')) throw err;
      return null;
    } finally {
      if (c) await c.close();
    }
  }

  /** SIGTERM, then SIGKILL after 5 s; waits for the exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined || this.exitInfo !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const killed = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
    if (!killed) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    }
  }

  /** Stops the server and removes its temp dir. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
    tempDirs.delete(this.dir);
  }

  /** Server CPU (utime+stime) so far in ms, whole process tree. */
  cpuMs(): number {
    if (!this.child?.pid || !this.running) return Number.NaN;
    return treeCpuMs(processTree(this.child.pid));
  }

  rssBytes(): number {
    if (!this.child?.pid || !this.running) return Number.NaN;
    return treeRssBytes(processTree(this.child.pid));
  }

  /** Anonymous resident memory (RssAnon), whole process tree. */
  anonRssBytes(): number {
    if (!this.child?.pid || !this.running) return Number.NaN;
    return treeAnonRssBytes(processTree(this.child.pid));
  }

  /** Peak resident set (VmHWM) over the server's life so far, whole process tree. */
  peakRssBytes(): number {
    if (!this.child?.pid || !this.running) return Number.NaN;
    return treePeakRssBytes(processTree(this.child.pid));
  }

  /** Throws if the server died; scenarios call this to turn a crash into a clear error. */
  assertAlive(): void {
    if (this.exitInfo !== null) throw new Error(`${this.spec.label} ${this.exitInfo}${this.logTail()}`);
  }

  private logTail(): string {
    try {
      const text = fs.readFileSync(path.join(this.dir, 'server.log'), 'utf8').trim();
      if (!text) return '';
      return `; log tail: ${text.split('\n').slice(-5).join(' | ')}`;
    } catch {
      return '';
    }
  }
}
