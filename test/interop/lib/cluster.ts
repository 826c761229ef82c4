// Raft clusters of real processes for the interop and fault tests: members running ovsdb-ts
// (bin/ovsdb-server) or the real /usr/sbin/ovsdb-server in any mix, on clustered files made by the real
// ovsdb-tool or ours, with `unix:` Raft addresses in a temp dir (tcp: when a test asks). Everything runs in
// the foreground as a child of the test (tracked, SIGKILLed at cleanup); clients are the real tools
// (ovsdb-client, ovs-appctl, ovsdb-tool), run asynchronously so that in-process writers keep going.
//
// Checks shared by the tests: `cluster/status` parsed and compared across members (one leader, one term,
// the same servers), `_Server.Database` rows, `ovsdb-client dump` on every member, `ovsdb-tool
// check-cluster` on every file.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { JsonRpcClient } from '../../../server/jsonrpc.ts';
import type { JsonValue } from '../../../schema/json.ts';
import { REPO, run, waitFor, type Outcome } from './harness.ts';

export { waitFor } from './harness.ts';

export type Impl = 'ours' | 'c';
export const OURS_SERVER = path.join(REPO, 'bin/ovsdb-server');
export const OURS_TS = path.join(REPO, 'bin/ovsdb-ts');
export const C_SERVER = '/usr/sbin/ovsdb-server';
export const C_TOOL = '/usr/bin/ovsdb-tool';

/** A small schema: names for the writers, and the R13 column (a min-1 set, raft.md §7.2 item 3). */
export const EX_SCHEMA = {
  name: 'Ex',
  version: '1.0.0',
  tables: {
    T: {
      columns: {
        name: { type: 'string' },
        n: { type: 'integer' },
        small: { type: { key: 'integer', min: 1, max: 2 } },
      },
      isRoot: true,
    },
  },
};

const STATUS_KEYS = ['Name', 'Cluster ID', 'Server ID', 'Address', 'Status', 'Role', 'Term', 'Leader', 'Vote', 'Election timer', 'Log'] as const;

/** The lines of `cluster/status DB` the tests compare (raft.md §4.2). */
export interface ClusterStatus {
  readonly nick: string;
  readonly fields: Readonly<Record<(typeof STATUS_KEYS)[number], string>>;
  readonly role: 'leader' | 'follower' | 'candidate';
  readonly term: number;
  readonly leader: string;
  readonly status: string;
  readonly log: readonly [number, number];
  /** `nick (sid4 at addr)` of every server line, sorted (their order is hash order). */
  readonly servers: readonly string[];
  readonly raw: string;
}

export function parseClusterStatus(text: string): ClusterStatus {
  const lines = text.split('\n');
  const fields: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const m = /^([A-Za-z ]+): ?(.*)$/.exec(l);
    if (m && (STATUS_KEYS as readonly string[]).includes(m[1]!)) fields[m[1]!] = m[2]!;
  }
  for (const k of STATUS_KEYS) if (!(k in fields)) throw new Error(`cluster/status without ${k}:\n${text}`);
  const servers = lines
    .slice(lines.indexOf('Servers:') + 1)
    .filter((l) => l.startsWith('    '))
    .map((l) => /^ {4}(\S+ \(\w{4} at [^)]+\))/.exec(l)![1]!)
    .sort();
  const log = /^\[(\d+), (\d+)\]$/.exec(fields.Log!)!;
  return {
    nick: lines[0]!,
    fields: fields as ClusterStatus['fields'],
    role: fields.Role as ClusterStatus['role'],
    term: Number(fields.Term),
    leader: fields.Leader!,
    status: fields.Status!,
    log: [Number(log[1]), Number(log[2])],
    servers,
    raw: text,
  };
}

/** A `_Server.Database` row as ovsdb-client prints it (JSON of the columns the IDLs read). */
export type ServerRow = Record<string, JsonValue>;

export class Member {
  child: ChildProcess | null = null;
  private exitedP: Promise<void> = Promise.resolve();
  private stderr = '';
  /** Extra command-line options for every start. */
  args: string[] = [];

  constructor(
    readonly lab: ClusterLab,
    readonly name: string,
    public impl: Impl,
    readonly address: string,
  ) {}

  get file(): string {
    return this.lab.file(`${this.name}.db`);
  }
  get sock(): string {
    return this.lab.file(`${this.name}.sock`);
  }
  get remote(): string {
    return `unix:${this.sock}`;
  }
  get ctl(): string {
    return this.lab.file(`${this.name}.ctl`);
  }
  get logFile(): string {
    return this.lab.file(`${this.name}.log`);
  }
  /** The server's environment: the lab's, with this member's run dir. */
  get env(): NodeJS.ProcessEnv {
    return { ...this.lab.env, OVS_RUNDIR: this.lab.rundir(this.name) };
  }
  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }
  get pid(): number {
    return this.child!.pid!;
  }

  log(): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  async start(): Promise<this> {
    if (this.running) throw new Error(`${this.name} already running`);
    for (const f of [this.sock, this.ctl]) fs.rmSync(f, { force: true });
    const bin = this.impl === 'ours' ? OURS_SERVER : C_SERVER;
    const args = [`--remote=punix:${this.sock}`, `--unixctl=${this.ctl}`, `--log-file=${this.logFile}`, '-vconsole:off', '-vfile:info', ...this.args, this.file];
    const child = spawn(bin, args, { env: this.env, cwd: this.lab.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.lab.track(child);
    this.stderr = '';
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exitedP = new Promise((resolve) => child.once('exit', () => resolve()));
    await waitFor(async () => {
      if (!this.running) throw new Error(`${this.name} (${this.impl}) exited at startup: ${this.stderr}`);
      return (await canConnect(this.sock)) && (await canConnect(this.ctl));
    }, `${this.name} (${this.impl}) to listen`, 30_000);
    return this;
  }

  /** kill -9, and wait until the process is gone. */
  async kill9(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    await this.exitedP;
  }

  /** A clean stop: `ovs-appctl exit` (leadership transfer), SIGKILL if it lingers. */
  async stop(): Promise<void> {
    if (!this.running) return;
    await this.appctl('exit');
    const t = setTimeout(() => this.child?.kill('SIGKILL'), 10_000);
    await this.exitedP;
    clearTimeout(t);
  }

  appctl(...args: string[]): Promise<Outcome> {
    return run('ovs-appctl', ['--timeout=20', '-t', this.ctl, ...args], { env: this.lab.env });
  }

  async statusText(db = this.lab.dbName): Promise<string> {
    const r = await this.appctl('cluster/status', db);
    if (r.code !== 0) throw new Error(`${this.name}: cluster/status failed: ${r.stderr}`);
    return r.stdout;
  }

  async status(db = this.lab.dbName): Promise<ClusterStatus> {
    return parseClusterStatus(await this.statusText(db));
  }

  client(...args: string[]): Promise<Outcome> {
    return run('ovsdb-client', ['--timeout=30', ...args], { env: this.lab.env, timeoutMs: 40_000 });
  }

  async dump(db = this.lab.dbName): Promise<string> {
    const r = await this.client('dump', this.remote, db);
    if (r.code !== 0) throw new Error(`${this.name}: dump failed: ${r.stderr}`);
    return r.stdout;
  }

  /** The end of the member's log file and its cluster/status, for failure messages. */
  async diag(lines = 40): Promise<string> {
    const status = this.running ? await this.appctl('cluster/status', this.lab.dbName) : null;
    // Election lines left out: a member that cannot win repeats them every second.
    const log = this.log().split('\n').filter((l) => !/starting election$/.test(l)).slice(-lines).join('\n');
    let st = status === null ? '(not running)' : `${status.stdout}${status.stderr}${status.code !== 0 ? `(exit ${status.code})` : ''}`;
    if (status !== null && status.code !== 0) {
      try {
        const stat = fs.readFileSync(`/proc/${this.pid}/stat`, 'utf8').split(' ');
        st += ` state ${stat[2]} utime ${stat[13]} stime ${stat[14]}`;
        if (process.env.CLUSTER_DIAG_REPORT) process.kill(this.pid, 'SIGUSR2');
      } catch {
        /* gone */
      }
    }
    return `--- ${this.name} (${this.impl}) log:\n${log}\n--- status:\n${st}`;
  }

  /** One transaction with the real ovsdb-client; the parsed result array. */
  async transact(...ops: object[]): Promise<JsonValue[]> {
    const r = await this.client('transact', this.remote, JSON.stringify([this.lab.dbName, ...ops]));
    if (r.code !== 0) {
      const diags = await Promise.all(this.lab.members.map((m) => m.diag()));
      throw new Error(`${this.name}: transact failed: ${r.stderr}\n${diags.join('\n')}`);
    }
    return JSON.parse(r.stdout) as JsonValue[];
  }

  /** A transaction given as JSON text (for integers a JS number cannot hold); the raw stdout. */
  async transactText(json: string): Promise<string> {
    const r = await this.client('transact', this.remote, json);
    if (r.code !== 0) throw new Error(`${this.name}: transact failed: ${r.stderr}`);
    return r.stdout;
  }

  async select(table: string, columns: string[], where: JsonValue[] = []): Promise<Record<string, JsonValue>[]> {
    const [r] = (await this.transact({ op: 'select', table, where, columns })) as { rows: Record<string, JsonValue>[] }[];
    return r!.rows;
  }

  async serverRow(db = this.lab.dbName): Promise<ServerRow | null> {
    const r = await this.client(
      'transact',
      this.remote,
      JSON.stringify(['_Server', { op: 'select', table: 'Database', where: [['name', '==', db]], columns: ['name', 'model', 'connected', 'leader', 'cid', 'sid', 'index'] }]),
    );
    if (r.code !== 0) return null;
    return (JSON.parse(r.stdout) as { rows: ServerRow[] }[])[0]!.rows[0] ?? null;
  }
}

export interface LabOptions {
  schema?: object;
  /** A schema file to use instead (e.g. /usr/share/ovn/ovn-nb.ovsschema). */
  schemaFile?: string;
  /** `create-cluster --election-timer` (ms). */
  electionTimer?: number;
  /** Raft addresses: unix sockets in the lab dir (default) or tcp on 127.0.0.1 with free ports. */
  transport?: 'unix' | 'tcp';
  /**
   * Relative `unix:sN.raft` Raft addresses, resolved (as by the C server) against each member's OVS_RUNDIR:
   * one run dir for all members (`shared`, lab/run) or one each (`per-member`, lab/run-sN), so that the
   * same address names a different socket for each member. Servers run with the lab dir as their cwd.
   */
  relative?: 'shared' | 'per-member';
}

/** A cluster under test: a temp dir (also OVS_RUNDIR), its schema, its members. */
export class ClusterLab {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovsdb-cluster-'));
  readonly members: Member[] = [];
  readonly schemaFile: string;
  readonly dbName: string;
  private readonly children = new Set<ChildProcess>();

  constructor(readonly opts: LabOptions = {}) {
    if (opts.schemaFile !== undefined) {
      this.schemaFile = opts.schemaFile;
      this.dbName = (JSON.parse(fs.readFileSync(opts.schemaFile, 'utf8')) as { name: string }).name;
    } else {
      const schema = (opts.schema ?? EX_SCHEMA) as { name: string };
      this.dbName = schema.name;
      this.schemaFile = this.file('schema.ovsschema');
      fs.writeFileSync(this.schemaFile, JSON.stringify(schema));
    }
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, OVS_RUNDIR: this.dir, OVS_LOGDIR: this.dir, OVS_DBDIR: this.dir, OVS_SYSCONFDIR: this.dir };
  }

  track(child: ChildProcess): void {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
  }

  member(name: string): Member {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  get running(): Member[] {
    return this.members.filter((m) => m.running);
  }

  /** A member's OVS_RUNDIR. */
  rundir(name: string): string {
    const d = this.opts.relative === 'per-member' ? this.file(`run-${name}`) : this.opts.relative === 'shared' ? this.file('run') : this.dir;
    fs.mkdirSync(d, { recursive: true });
    return d;
  }

  private async address(name: string): Promise<string> {
    if (this.opts.relative !== undefined) return `unix:${name}.raft`;
    if (this.opts.transport === 'tcp') return `tcp:127.0.0.1:${(await freePorts(1))[0]}`;
    return `unix:${this.file(`${name}.raft`)}`;
  }

  /** ovsdb-tool (the real one for C members, ours for ours) with the lab's environment. */
  async tool(impl: Impl, ...args: string[]): Promise<Outcome> {
    const r = impl === 'c' ? await run(C_TOOL, args, { env: this.env, cwd: this.dir }) : await run(OURS_TS, ['tool', ...args], { env: this.env, cwd: this.dir });
    if (r.code !== 0) throw new Error(`${impl} ovsdb-tool ${args.join(' ')} failed: ${r.stderr}`);
    return r;
  }

  /** The first member: `create-cluster` with `impl`'s tool from the schema (or a standalone file). */
  async create(impl: Impl, name = 's1', contents = this.schemaFile): Promise<Member> {
    const m = new Member(this, name, impl, await this.address(name));
    const timer = this.opts.electionTimer ? [`--election-timer=${this.opts.electionTimer}`] : [];
    await this.tool(impl, ...timer, 'create-cluster', m.file, contents, m.address);
    this.members.push(m);
    return m;
  }

  /** A joining member: `join-cluster` with `impl`'s tool, remotes = the given members' addresses. */
  async join(impl: Impl, name: string, remotes: Member[] = this.members): Promise<Member> {
    const m = new Member(this, name, impl, await this.address(name));
    await this.tool(impl, 'join-cluster', m.file, this.dbName, m.address, ...remotes.map((r) => r.address));
    this.members.push(m);
    return m;
  }

  /**
   * A started cluster: the first impl bootstraps it, the others join it one after the other (each joins
   * through every member made before it). Waits until every member is connected.
   */
  async build(impls: Impl[]): Promise<Member[]> {
    const first = await (await this.create(impls[0]!)).start();
    await waitConnected(first);
    for (let i = 1; i < impls.length; i++) {
      const m = await (await this.join(impls[i]!, `s${i + 1}`)).start();
      await waitConnected(m);
    }
    return this.members;
  }

  /** `ovsdb-tool check-cluster` (the real one) on every member's file. */
  checkCluster(members: Member[] = this.members): Promise<Outcome> {
    return run(C_TOOL, ['check-cluster', ...members.map((m) => m.file)], { env: this.env, cwd: this.dir, timeoutMs: 60_000 });
  }

  async cleanup(): Promise<void> {
    const waits: Promise<unknown>[] = [];
    for (const c of this.children) {
      waits.push(new Promise((r) => c.once('exit', r)));
      c.kill('SIGKILL');
    }
    await Promise.all(waits);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function canConnect(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ path: p });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** `n` distinct TCP ports on 127.0.0.1 that were free a moment ago. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Until the member's `_Server` row says connected (it has joined and seen a leader). */
export async function waitConnected(m: Member, timeoutMs = 60_000): Promise<void> {
  let last: ServerRow | null = null;
  await waitFor(async () => (last = await m.serverRow())?.connected === true, `${m.name} (${m.impl}) connected (row ${JSON.stringify(last)})`, timeoutMs);
}

/**
 * Until the running members agree (raft.md §4.2): exactly one says `Role: leader`/`Leader: self`, every
 * other one is a follower naming it; one term; `Status: cluster member` everywhere; the same server lines
 * everywhere, naming `expectServers` members. Returns the leader and every member's status.
 */
export async function waitStable(
  lab: ClusterLab,
  opts: { members?: Member[]; expectServers?: number; timeoutMs?: number } = {},
): Promise<{ leader: Member; statuses: Map<Member, ClusterStatus> }> {
  let why = '';
  return waitFor(
    async () => {
      const members = opts.members ?? lab.running;
      const statuses = new Map<Member, ClusterStatus>();
      for (const m of members) statuses.set(m, await m.status());
      const leaders = [...statuses].filter(([, s]) => s.role === 'leader');
      if (leaders.length !== 1) return void (why = `${leaders.length} leaders`);
      const [leader, ls] = leaders[0]!;
      if (ls.leader !== 'self') return void (why = `leader says Leader: ${ls.leader}`);
      for (const [m, s] of statuses) {
        if (s.term !== ls.term) return void (why = `${m.name} in term ${s.term}, leader in ${ls.term}`);
        if (s.status !== 'cluster member') return void (why = `${m.name}: Status: ${s.status}`);
        if (m !== leader && (s.role !== 'follower' || s.leader !== ls.nick)) return void (why = `${m.name}: ${s.role}, Leader: ${s.leader}`);
        if (s.servers.join() !== ls.servers.join()) return void (why = `${m.name} servers ${s.servers.join()} vs ${ls.servers.join()}`);
      }
      if (opts.expectServers !== undefined && ls.servers.length !== opts.expectServers) return void (why = `${ls.servers.length} servers`);
      return { leader, statuses };
    },
    `a stable cluster (${(() => why)()})`,
    opts.timeoutMs ?? 60_000,
  ).catch((e: Error) => {
    throw new Error(`${e.message}: ${why}`);
  });
}

/**
 * Until every running member has applied the same index and holds the same contents; returns the dump.
 * (`Entries not yet applied: 0` on each, the same log end, identical `ovsdb-client dump`.)
 */
export async function waitConverged(lab: ClusterLab, members: Member[] = lab.running, timeoutMs = 60_000): Promise<string> {
  let why = '';
  return waitFor(
    async () => {
      const st = await Promise.all(members.map((m) => m.status()));
      const ends = new Set(st.map((s) => s.log[1]));
      if (ends.size !== 1) return void (why = `log ends ${st.map((s) => s.log[1]).join(',')}`);
      if (st.some((s) => s.fields['Log'] === '' || !/: 0$/.test(s.raw.split('\n').find((l) => l.startsWith('Entries not yet applied'))!)))
        return void (why = 'entries not yet applied');
      const dumps = await Promise.all(members.map((m) => m.dump()));
      if (new Set(dumps).size !== 1) return void (why = 'dumps differ');
      return dumps[0]!;
    },
    'converged members',
    timeoutMs,
  ).catch((e: Error) => {
    throw new Error(`${e.message}: ${why}`);
  });
}

/**
 * Writers of unique rows (`T.name` = w<n>) through in-process JSON-RPC clients, each bound to one member
 * at a time and moving on when its connection drops. A write is acknowledged when its transact reply is a
 * success; one that was in flight when the connection dropped is unknown (it may or may not commit).
 */
export class Writer {
  readonly acked = new Set<string>();
  readonly attempted = new Set<string>();
  /** Replies that were errors (constraint violations would show up here), by text. */
  readonly errors = new Map<string, number>();
  private next = 0;
  private stopping = false;
  private readonly clients = new Set<JsonRpcClient>();
  private workers: Promise<void>[] = [];

  constructor(
    readonly lab: ClusterLab,
    /** Which member a worker talks to next (called on every (re)connection). */
    readonly pick: (worker: number) => Member | undefined,
    readonly prefix = 'w',
  ) {}

  start(workers: number): void {
    for (let w = 0; w < workers; w++) this.workers.push(this.worker(w));
  }

  private async worker(w: number): Promise<void> {
    while (!this.stopping) {
      const m = this.pick(w);
      let c: JsonRpcClient;
      try {
        if (m === undefined || !m.running) throw new Error('no member');
        c = await JsonRpcClient.connect(m.remote);
      } catch {
        await sleep(50);
        continue;
      }
      this.clients.add(c);
      while (!this.stopping && !c.closed) {
        const name = `${this.prefix}${this.next++}`;
        this.attempted.add(name);
        try {
          const r = (await c.request('transact', [this.lab.dbName, { op: 'insert', table: 'T', row: { name } }])) as { error?: string }[];
          const err = r.find((x) => x !== null && typeof x === 'object' && 'error' in x);
          if (err) this.errors.set(JSON.stringify(err), (this.errors.get(JSON.stringify(err)) ?? 0) + 1);
          else this.acked.add(name);
        } catch {
          break; // connection gone: the write was in flight
        }
      }
      this.clients.delete(c);
      c.close();
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const c of this.clients) c.close();
    await Promise.all(this.workers);
  }
}

/**
 * What the cluster holds of the writer's rows (read on `m`): names and how often each is there. Returns the
 * acknowledged writes missing, the names present more than once (acknowledged or not), and names present
 * that were never attempted.
 */
export async function auditWrites(m: Member, w: Writer): Promise<{ rows: number; lost: string[]; duplicated: string[]; ackedDuplicated: string[]; invented: string[] }> {
  const rows = await m.select('T', ['name']);
  const counts = new Map<string, number>();
  for (const r of rows) {
    const n = r.name as string;
    if (n.startsWith(w.prefix)) counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  const duplicated = [...counts].filter(([, c]) => c > 1).map(([n]) => n);
  return {
    rows: [...counts.values()].reduce((a, b) => a + b, 0),
    lost: [...w.acked].filter((n) => !counts.has(n)),
    duplicated,
    ackedDuplicated: duplicated.filter((n) => w.acked.has(n)),
    invented: [...counts.keys()].filter((n) => !w.attempted.has(n)),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A long-running child of a lab (ovn-northd, an IDL script), its stdout split into lines. */
export class Follower {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  private partial = '';
  readonly exited: Promise<number | null>;

  constructor(lab: ClusterLab, cmd: string, args: string[], env: NodeJS.ProcessEnv = lab.env) {
    this.child = spawn(cmd, args, { env, cwd: lab.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    lab.track(this.child);
    this.child.stdout!.on('data', (d: Buffer) => {
      const parts = (this.partial + d.toString()).split('\n');
      this.partial = parts.pop()!;
      this.lines.push(...parts);
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async waitFor(pred: (lines: string[]) => boolean, what: string, timeoutMs = 60_000): Promise<void> {
    const tail = () => `${this.lines.slice(-8).join(' | ')}; stderr: ${this.stderr.slice(-2000)}`;
    await waitFor(
      () => {
        if (!this.running && !pred(this.lines)) throw new Error(`${what}: the process exited (${tail()})`);
        return pred(this.lines);
      },
      what,
      timeoutMs,
    ).catch((e: Error) => {
      throw new Error(`${e.message} (${tail()})`);
    });
  }

  async stop(): Promise<void> {
    if (this.running) this.child.kill('SIGTERM');
    await this.exited;
  }
}
