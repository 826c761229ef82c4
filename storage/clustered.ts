// A clustered database member (raft.md §1–§3): the Raft core (raft/core.ts, pure) driven by its Ready loop,
// with the I/O at this edge — the clustered file (raft/log.ts, durable writes with group fsync), the Raft
// sessions (raft/transport.ts), one timer, and the OVSDB database the committed entries build.
//
// The apply pipeline is the only way the contents change (§3.3, §7.2 item 2): a client write is executed
// against the local copy by the session, its commit is turned into a file-format transaction and proposed;
// the local effect is discarded, and the change happens when the entry comes back committed, applied with
// the 3.1.0 file-transaction reader as every member applies it (§7.2 item 3). The proposer's reply waits
// until this member has applied the entry. Every applied data entry is one history transaction whose id is
// the entry's eid (§3.4); a snapshot (at open, installed from the leader, or a schema change) restarts the
// history at its eid.
//
// Durability (§2.6.10): a Ready batch's records are written, then fsynced, then reported with persisted();
// messages that depend on them are held inside the core until then, so nothing here orders sends.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { MAGIC_CLUSTERED } from './log-header.ts';
import { performance } from 'node:perf_hooks';
import { OvsdbError } from '../schema/error.ts';
import { isJsonObject, type JsonValue } from '../schema/json.ts';
import { parseSchema, schemaToJson, type DatabaseSchema } from '../schema/schema.ts';
import { RaftCore, type CommandResult, type OpResult, type Ready } from '../raft/core.ts';
import { ClusterLog } from '../raft/log.ts';
import { decode, encodeText } from '../raft/rpc.ts';
import { formatClusterStatus } from '../raft/status.ts';
import { RaftTransport, type RaftSession } from '../raft/transport.ts';
import type { CommandStatus, LogEntry, Snapshot, Uuid } from '../raft/types.ts';
import type { RpcLog } from '../server/jsonrpc.ts';
import type { TlsSettings } from '../server/tls.ts';
import { Database, type Commit } from './database.ts';
import { CompactionSchedule, recordCommit, snapshotRecord } from './file.ts';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const AUTO_CHECK_INTERVAL_MS = 5_000;

/** What the server does with what the member produces. */
export interface ClusterHost {
  /** The first contents (at open, or when a joining member installs its first snapshot). */
  attach(db: Database, txnId: Uuid): void;
  /** The contents were replaced: snapshot install, schema change (`reason` for the sessions told). */
  replace(db: Database, txnId: Uuid, reason: string): void;
  /** A committed transaction, applied. */
  commit(commit: Commit, txnId: Uuid): void;
  /**
   * Role, leader, connectivity or applied index changed (the `_Server` row), a leader appeared, or the log
   * became applied (logApplied()).
   */
  stateChanged(): void;
  /** This server left the cluster (or was kicked): the database goes away. */
  left(): void;
  /** A failure test asked for a crash: log `text` as fatal and exit abnormally. */
  crash(text: string): void;
}

/** The outcome of a proposal: success (committed and applied here), or the internal "cluster error". */
export type ProposalOutcome = { readonly ok: true } | { readonly ok: false; readonly status: CommandStatus };

export interface ClusteredOptions {
  readonly log: RpcLog;
  /** The process-wide SSL settings (read when a session or the listener needs them). */
  readonly ssl?: () => TlsSettings | undefined;
  /** Compact on the reference's schedule (default true). */
  readonly autoCompact?: boolean;
}

interface Waiter {
  readonly resolve: (o: ProposalOutcome) => void;
  /** Set on success: resolve once this index is applied here. */
  index: number;
}

const LEVEL = { err: 'ERR', warn: 'WARN', info: 'INFO', dbg: 'DBG' } as const;

function now(): number {
  return Math.floor(performance.now());
}

/** True when the file starts with a clustered record (`OVSDB CLUSTER `); false for anything else. */
export function isClusteredFile(path: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const want = `OVSDB ${MAGIC_CLUSTERED} `;
    const buf = Buffer.alloc(want.length);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return n === buf.length && buf.toString('latin1') === want;
  } finally {
    fs.closeSync(fd);
  }
}

/** `[schema, txn]` → a database holding the transaction's rows (a snapshot or a converted database). */
export function databaseFromData(data: JsonValue, headerName: string, path: string): Database {
  if (!Array.isArray(data) || data.length !== 2) throw new OvsdbError('syntax error', 'Incorrect raft record array length');
  const schema = clusterSchemaOf(data[0], headerName);
  const db = new Database(schema);
  const txn = data[1];
  if (txn !== null) {
    if (!isJsonObject(txn)) throw new OvsdbError('syntax error', 'transaction is not an object');
    db.apply(recordCommit(db, txn, path, { reader31: true }));
  }
  return db;
}

function clusterSchemaOf(json: JsonValue, headerName: string): DatabaseSchema {
  const schema = parseSchema(json);
  if (schema.name !== headerName)
    throw new OvsdbError('ovsdb error', `name ${schema.name} in header does not match name ${headerName} in schema`);
  for (const t of schema.tables.values()) {
    for (const c of t.columns) {
      if (c.index >= 0 && !c.persistent)
        throw new OvsdbError(
          'ovsdb error',
          `Table ${t.name} column ${c.name} is ephemeral but clustered databases do not support ephemeral columns.`,
        );
    }
  }
  return schema;
}

/** `[schema, all rows]` of a database: a snapshot, or the data of a schema conversion entry. */
export function snapshotData(db: Database, comment: string): JsonValue {
  return [schemaToJson(db.schema), snapshotRecord(db, comment, true)];
}

export class ClusteredDatabase {
  readonly core: RaftCore;
  /** null until the first snapshot (joining). */
  db: Database | null = null;
  private host: ClusterHost | null = null;
  private readonly transport: RaftTransport;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private pumping = false;
  private pumpAgain = false;
  private membershipVersion = -1;
  private readonly waiters = new Map<Uuid, Waiter>();
  private readonly appliedWaiters: Array<{ index: number; eid: Uuid }> = [];
  private logAppliedWaiters: Array<{ index: number; resolve: () => void }> = [];
  private lastState = '';
  /**
   * The entry `db` reflects and the eid of that state (a proposal's prerequisite, §2.6.6). The core counts
   * a Ready's committed entries as applied when it hands them out; they reach `db` one by one after that,
   * and whatever runs in between (triggers retried by each commit) sees an intermediate state.
   */
  private dbIndex = 0;
  private dbEid: Uuid | null = null;
  private closed = false;
  /**
   * Contents that arrived before start() (the replay at open): the last snapshot, and the committed data
   * entries after it, applied in start() one by one so that the history is rebuilt from them (§3.4).
   */
  private pendingAttach: { db: Database; eid: Uuid } | null = null;
  private pendingEntries: Array<{ index: number; entry: LogEntry }> = [];
  private storageError: string | null = null;
  private readonly schedule = new CompactionSchedule();
  private compactTimer: NodeJS.Timeout | null = null;
  private baseSize = 0;

  private constructor(
    readonly path: string,
    private readonly file: ClusterLog,
    core: RaftCore,
    private readonly opts: ClusteredOptions,
  ) {
    this.core = core;
    this.transport = new RaftTransport({
      localAddress: this.localAddress,
      codec: {
        decode: (method, params) => {
          const r = decode(method, params);
          return r.ok ? r.message : r.error;
        },
        encode: encodeText,
      },
      log: opts.log,
      ssl: opts.ssl,
      probeIntervalMs: core.electionTimer() + 1000,
      onMessage: (s, msg) => this.input(() => this.core.receive(s.id, msg)),
      onConnected: (s) => this.input(() => this.core.sessionConnected(s.id, s.outgoing ? { outgoing: true, sid: s.peerSid ?? undefined } : { outgoing: false })),
      onDisconnected: (s) => this.input(() => this.core.sessionDisconnected(s.id)),
      onClosed: (s) => this.input(() => this.core.sessionClosed(s.id)),
    });
    this.baseSize = file.stats().size;
  }

  /** Opens a clustered (or joining) file; the contents up to the stored commit index are rebuilt at once. */
  static open(path: string, opts: ClusteredOptions): ClusteredDatabase {
    const { log, state } = ClusterLog.open(path, {
      onLog: (level, msg) => opts.log('raft', level, msg),
    });
    let core: RaftCore;
    try {
      core = new RaftCore({ state, now: now(), random: Math.random });
    } catch (e) {
      void log.close();
      throw new OvsdbError('ovsdb error', (e as Error).message);
    }
    const member = new ClusteredDatabase(path, log, core, opts);
    // The snapshot and committed entries replay now, so the database is complete before anyone sees it.
    member.pump();
    return member;
  }

  get name(): string {
    return this.core.name();
  }

  get localAddress(): string {
    const s = this.core.status();
    return s.address;
  }

  /** Connects the member to the server and the network. */
  start(host: ClusterHost): void {
    this.host = host;
    if (this.pendingAttach) {
      const { db, eid } = this.pendingAttach;
      this.pendingAttach = null;
      host.attach(db, eid);
      for (const { index, entry } of this.pendingEntries.splice(0)) this.apply(index, entry);
    }
    this.transport.listen();
    if (this.opts.autoCompact ?? true) {
      this.compactTimer = setInterval(() => this.maybeCompact(), AUTO_CHECK_INTERVAL_MS);
      this.compactTimer.unref();
    }
    this.pump();
  }

  // ---------------------------------------------------------------------------------------------------------
  // What the server asks

  /**
   * Proposes `[schema|null, txn]` built from the local database state; resolves when it is committed and
   * applied here (ok), or with the Raft status that made it fail (the caller re-executes the transaction).
   */
  propose(data: JsonValue): Promise<ProposalOutcome> {
    return new Promise((resolve) => {
      const eid = randomUUID();
      this.waiters.set(eid, { resolve, index: 0 });
      this.input(() => this.core.propose({ data, prereq: this.dbEid ?? ZERO_UUID, result: eid }));
    });
  }

  /**
   * Resolves once this member has applied every data entry its log holds (§3.3: a transaction that failed
   * its prerequisite is executed again only then, so that its new prerequisite can match).
   */
  whenLogApplied(): Promise<void> {
    const target = this.lastDataIndex();
    if (this.dbIndex >= target) return Promise.resolve();
    return new Promise((resolve) => this.logAppliedWaiters.push({ index: target, resolve }));
  }

  /** Whether `db` reflects every data entry in the log (§3.3: transactions run only then). */
  logApplied(): boolean {
    return this.dbIndex >= this.lastDataIndex();
  }

  private lastDataIndex(): number {
    const applied = this.dbIndex;
    for (let i = this.core.logEnd() - 1; i > applied; i--) {
      const e = this.core.entryAt(i);
      if (e !== undefined && e.data !== undefined) return i;
    }
    return applied;
  }

  isConnected(): boolean {
    return this.core.isConnected();
  }

  isLeader(): boolean {
    return this.core.isLeader();
  }

  /** The cluster/status text. */
  statusText(): string {
    return formatClusterStatus(
      this.core.status(),
      this.transport.connectionsLine().split(' ').filter((x) => x !== ''),
    );
  }

  /** cluster/leave, cluster/kick, change-election-timer, set-backlog-threshold. */
  op(fn: (core: RaftCore) => OpResult): OpResult {
    return this.input(() => fn(this.core)) ?? { ok: false, error: 'server shutdown' };
  }

  /** `ovsdb-server/compact`: a snapshot of the applied state (an error text when refused). */
  compact(): string | null {
    const db = this.db;
    if (db === null) return 'cannot store a snapshot while joining cluster';
    const r = this.input(() => this.core.storeSnapshot(snapshotData(db, 'compacting database online')));
    if (r === undefined) return 'cannot store a snapshot following failure';
    if (r.ok) {
      this.schedule.reset();
      return null;
    }
    return r.error;
  }

  /** `ovsdb-server/get-db-storage-status`: null when healthy. */
  storageStatus(): string | null {
    return this.core.isFailed() ? (this.storageError ?? 'I/O error') : this.storageError;
  }

  memoryCounters(): [string, number][] {
    const out: [string, number][] = [];
    const conns = this.transport.connectedCount();
    if (conns > 0) out.push(['raft-connections', conns]);
    const n = this.core.logEnd() - this.core.logStart();
    if (n > 0) out.push(['raft-log', n]);
    return out;
  }

  /** exit / remove-db: leadership goes to another member first, then everything stops. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.input(() => this.core.shutdown());
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.compactTimer) clearInterval(this.compactTimer);
    for (const w of this.waiters.values()) w.resolve({ ok: false, status: 'server shutdown' });
    this.waiters.clear();
    for (const w of this.logAppliedWaiters.splice(0)) w.resolve();
    // The become_leader message must leave before the sessions close.
    const transport = this.transport;
    const file = this.file;
    return new Promise((resolve) => {
      setImmediate(() => {
        transport.close();
        void file.close().finally(resolve);
      });
    });
  }

  // ---------------------------------------------------------------------------------------------------------
  // The loop

  /** Runs one input against the core, then drains its output. */
  private input<T>(fn: () => T): T | undefined {
    if (this.closed) return undefined;
    this.core.tick(now());
    const r = fn();
    this.pump();
    return r;
  }

  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        while (this.core.hasReady()) this.handle(this.core.ready());
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
    if (this.closed || this.host === null) return;
    this.syncTransport();
    this.armTimer();
    this.noticeState();
  }

  private handle(rd: Ready): void {
    for (const l of rd.logs) this.opts.log(l.module, LEVEL[l.level], l.text);
    if (rd.writes.length > 0) this.write(rd);
    for (const m of rd.messages) this.transport.send(m.session as number, m.message);
    if (rd.snapshot !== null) this.loadSnapshot(rd.snapshot);
    for (const c of rd.committed) this.apply(c.index, c.entry);
    for (const r of rd.results) this.result(r);
    if (rd.crash !== null) {
      this.host?.crash(rd.crash);
      return;
    }
    if (rd.left) this.host?.left();
  }

  private write(rd: Ready): void {
    let lastSeq = 0;
    const replacements: Promise<void>[] = [];
    let fileSeq = 0;
    try {
      for (const w of rd.writes) {
        lastSeq = w.seq;
        if (w.kind === 'record') fileSeq = this.file.append(w.record);
        else replacements.push(this.file.replaceRecords(w.header, w.records));
      }
    } catch (e) {
      this.failed(e);
      return;
    }
    const seq = lastSeq;
    const replaced = replacements.length > 0;
    Promise.all([...replacements, fileSeq > 0 ? this.file.durable(fileSeq) : Promise.resolve()]).then(
      () => {
        if (replaced) this.baseSize = this.file.stats().size;
        this.input(() => this.core.persisted(seq));
      },
      (e) => this.failed(e),
    );
  }

  private failed(e: unknown): void {
    const text = e instanceof OvsdbError ? e.render() : (e as Error).message;
    this.storageError = text;
    this.input(() => this.core.writeFailed(text));
  }

  private loadSnapshot(s: Snapshot): void {
    let db: Database;
    try {
      db = databaseFromData(s.data, this.name, this.path);
    } catch (e) {
      this.inconsistent(e);
      return;
    }
    this.dbIndex = s.index;
    this.dbEid = s.eid;
    this.setContents(db, s.eid, 'installed snapshot');
  }

  private setContents(db: Database, eid: Uuid, reason: string): void {
    const first = this.db === null;
    this.db = db;
    if (this.host === null) {
      this.pendingAttach = { db, eid };
      this.pendingEntries = [];
      return;
    }
    if (first) this.host.attach(db, eid);
    else this.host.replace(db, eid, reason);
  }

  private apply(index: number, entry: LogEntry): void {
    this.dbIndex = index;
    if (entry.data !== undefined && entry.eid !== undefined) {
      const data = entry.data;
      // Set before the contents change: the triggers each commit retries execute against this state.
      this.dbEid = entry.eid;
      try {
        if (!Array.isArray(data) || data.length !== 2) throw new OvsdbError('syntax error', 'Incorrect raft record array length');
        if (data[0] !== null) {
          const db = databaseFromData(data, this.name, this.path);
          this.setContents(db, entry.eid, 'schema changed');
        } else if (data[1] !== null && this.db !== null) {
          if (this.host === null) {
            this.pendingEntries.push({ index, entry });
            return;
          }
          const txn = data[1];
          if (!isJsonObject(txn)) throw new OvsdbError('syntax error', 'transaction is not an object');
          this.host.commit(recordCommit(this.db, txn, this.path, { reader31: true }), entry.eid);
        }
      } catch (e) {
        this.inconsistent(e, index);
      }
    }
    while (this.appliedWaiters.length > 0 && this.appliedWaiters[0].index <= index) {
      const w = this.appliedWaiters.shift()!;
      this.finish(w.eid, { ok: true });
    }
    if (this.logAppliedWaiters.length > 0) {
      const ready = this.logAppliedWaiters.filter((w) => w.index <= index);
      if (ready.length > 0) {
        this.logAppliedWaiters = this.logAppliedWaiters.filter((w) => w.index > index);
        for (const w of ready) w.resolve();
      }
    }
  }

  private inconsistent(e: unknown, index?: number): void {
    if (!(e instanceof OvsdbError)) throw e;
    this.storageError = 'inconsistent data';
    this.opts.log('raft', 'ERR', `${this.path}: ${index !== undefined ? `entry ${index}: ` : ''}${e.render()}`);
  }

  private result(r: CommandResult): void {
    const w = this.waiters.get(r.eid);
    if (w === undefined) return;
    if (r.status !== 'success') {
      this.finish(r.eid, { ok: false, status: r.status });
      return;
    }
    if (this.dbIndex >= r.commitIndex) {
      this.finish(r.eid, { ok: true });
      return;
    }
    w.index = r.commitIndex;
    // Indexes arrive in commit order for one member's proposals, but keep the list sorted regardless.
    let i = this.appliedWaiters.length;
    while (i > 0 && this.appliedWaiters[i - 1].index > r.commitIndex) i--;
    this.appliedWaiters.splice(i, 0, { index: r.commitIndex, eid: r.eid });
  }

  private finish(eid: Uuid, o: ProposalOutcome): void {
    const w = this.waiters.get(eid);
    if (w === undefined) return;
    this.waiters.delete(eid);
    w.resolve(o);
  }

  private syncTransport(): void {
    const t = this.core.backlogThreshold();
    this.transport.setBacklogThreshold({ messages: t.nMsgs, bytes: t.nBytes });
    const v = this.core.membershipVersion();
    if (v === this.membershipVersion) return;
    this.membershipVersion = v;
    const targets = new Map<string, Uuid | null>();
    for (const c of this.core.desiredConnections()) targets.set(c.address, c.sid);
    this.transport.setTargets(targets, this.core.keepAllOutgoing());
    this.transport.setProbeInterval(this.core.electionTimer() + 1000);
  }

  private armTimer(): void {
    const at = this.core.nextTimeout();
    if (at === this.timerAt && this.timer !== null) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = at;
    if (at === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      // Messages that arrived meanwhile first, as the reference's raft_run handles its connections before
      // its timeouts: after a stall (GC, a busy machine, SIGSTOP) the leader's queued heartbeats reset the
      // election timer instead of finding it expired. setImmediate runs after this iteration's I/O poll.
      setImmediate(() => this.input(() => {}));
    }, Math.max(0, at - now()));
  }

  /** Tells the host when anything the `_Server` row shows changed. */
  private noticeState(): void {
    if (this.host === null) return;
    const c = this.core;
    const key = `${c.isConnected()}|${c.isLeader()}|${c.appliedIndex()}|${c.cid()}|${c.leader()}|${c.electionTimer()}|${this.logApplied()}`;
    if (key === this.lastState) return;
    this.lastState = key;
    this.host.stateChanged();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Automatic compaction (§1.7): the standalone schedule; a leader of several steps aside first.

  private maybeCompact(): void {
    if (this.closed || this.db === null) return;
    const st = this.file.stats();
    const entries = this.core.logLength();
    if (!this.schedule.due(entries, st.size, this.baseSize)) return;
    if (!this.core.maySnapshot()) {
      this.input(() => this.core.snapshotRecommended());
      this.schedule.reset();
      return;
    }
    const err = this.compact();
    if (err !== null) this.opts.log('raft', 'INFO', `${this.path}: snapshot not stored: ${err}`);
  }
}
