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
import { readFileBytes } from './file-probe.ts';
import { MAGIC_CLUSTERED } from './log-header.ts';
import { performance } from 'node:perf_hooks';
import { OvsdbError } from '../schema/error.ts';
import { isJsonObject, type JsonValue } from '../schema/json.ts';
import { parseSchema, schemaToJson, type DatabaseSchema } from '../schema/schema.ts';
import { RaftCore, type CommandResult, type OpResult, type Ready } from '../raft/core.ts';
import { ClusterLog } from '../raft/log.ts';
import { decode, encodeText } from '../raft/rpc.ts';
import { entryDataTextAsync, hasEntryDataText } from '../raft/parse.ts';
import { formatClusterStatus } from '../raft/status.ts';
import { RaftTransport, type RaftSession } from '../raft/transport.ts';
import type { CommandStatus, LogEntry, LogRecord, Snapshot, Uuid } from '../raft/types.ts';
import type { RpcLog } from '../server/jsonrpc.ts';
import type { TlsSettings } from '../server/tls.ts';
import { Database, type Commit } from './database.ts';
import { CompactionSchedule, recordCommit, snapshotRecord } from './file.ts';
import { databaseFromRecord, snapshotRecordChunked } from './bulk-load.ts';
import { timeSlicer, type Slicer } from '../schema/json-chunked.ts';

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
  /** Writes held back by precheck() may go now (no commit came that would have retried them). */
  writable(): void;
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

type ApplyItem = { readonly kind: 'snapshot'; readonly snapshot: Snapshot } | { readonly kind: 'entry'; readonly index: number; readonly entry: LogEntry };
/** Left in the queue where an item was taken (so the queue holds no reference to applied data). */
const EMPTY_ITEM: ApplyItem = { kind: 'entry', index: 0, entry: { term: 0 } };
/** Work per event-loop turn when the apply queue is long. */
const APPLY_SLICE_MS = 8;

function isSchemaChange(entry: LogEntry): boolean {
  return entry.eid !== undefined && Array.isArray(entry.data) && entry.data.length === 2 && entry.data[0] !== null;
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
  const want = `OVSDB ${MAGIC_CLUSTERED} `;
  return readFileBytes(path, 0, want.length)?.toString('latin1') === want;
}

/** databaseFromData in event-loop slices (storage/bulk-load.ts), same result and errors. */
export async function databaseFromDataAsync(data: JsonValue, headerName: string, path: string, slicer: Slicer): Promise<Database> {
  if (!Array.isArray(data) || data.length !== 2) throw new OvsdbError('syntax error', 'Incorrect raft record array length');
  const schema = clusterSchemaOf(data[0], headerName);
  const txn = data[1];
  if (txn === null) return new Database(schema);
  if (!isJsonObject(txn)) throw new OvsdbError('syntax error', 'transaction is not an object');
  return databaseFromRecord(schema, txn, path, slicer);
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
  private closed = false;
  /**
   * Contents that arrived before start() (the replay at open): the last snapshot, and the committed data
   * entries after it, applied in start() one by one so that the history is rebuilt from them (§3.4).
   */
  private pendingAttach: { db: Database; eid: Uuid } | null = null;
  private pendingEntries: Array<{ index: number; entry: LogEntry }> = [];
  /**
   * Committed entries and snapshots not yet applied to `db`, in order. They are applied at once when that
   * is quick; a snapshot, a schema change or a long backlog is applied over several event-loop turns (a
   * Raft member must keep answering its peers meanwhile).
   */
  private readonly applyQueue: ApplyItem[] = [];
  private applyHead = 0;
  private applying = false;
  /** A snapshot or a converted database is being built (its item is out of the queue already). */
  private loadingContents = false;
  private wakeScheduled = false;
  /** precheck() said no since the last wake: some write waits for it to say yes. */
  private writesHeld = false;
  /** The index and eid of what `db` holds (behind the core's applied index while the queue drains). */
  private appliedIndex_ = 0;
  private appliedEid_: Uuid | null = null;
  private readonly loaded_: Promise<void>;
  private markLoaded: () => void = () => {};
  private storageError: string | null = null;
  private readonly schedule = new CompactionSchedule();
  private compactTimer: NodeJS.Timeout | null = null;
  private baseSize = 0;
  /** Settles once every write so far has been reported with persisted() (they are reported in order). */
  private persisting: Promise<void> = Promise.resolve();
  private compacting: Promise<string | null> | null = null;

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
        prepare: (msg) =>
          msg.type === 'install_snapshot_request' && !hasEntryDataText(msg.data) ? entryDataTextAsync(msg.data).then(() => {}) : null,
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
    this.loaded_ = new Promise((resolve) => (this.markLoaded = resolve));
  }

  /**
   * Opens a clustered (or joining) file, read over several event-loop turns; the contents up to the stored
   * commit index are rebuilt after that (see loaded()).
   */
  static async open(path: string, opts: ClusteredOptions): Promise<ClusteredDatabase> {
    const { log, state } = await ClusterLog.openAsync(path, {
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
    // The snapshot and committed entries replay now (see loaded()).
    member.pump();
    if (!member.applyPending() && member.pendingEntries.length === 0) member.markLoaded();
    return member;
  }

  /**
   * Settles once the contents the file held at open are rebuilt (at once for a joining file). Serve the
   * database only then: the replay of a large file takes several event-loop turns.
   */
  loaded(): Promise<void> {
    return this.loaded_;
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
    }
    // The committed entries after the snapshot, in front of whatever the core handed out since.
    const entries = this.pendingEntries.splice(0);
    if (entries.length > 0) {
      this.applyQueue.splice(this.applyHead, 0, ...entries.map(({ index, entry }): ApplyItem => ({ kind: 'entry', index, entry })));
      this.drain();
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
      // The prerequisite is what the transaction was executed against: this member's contents.
      this.input(() => this.core.propose({ data, prereq: this.appliedEid_ ?? ZERO_UUID, result: eid }));
    });
  }

  /**
   * Resolves once this member has applied every data entry its log holds (§3.3: a transaction that failed
   * its prerequisite is executed again only then, so that its new prerequisite can match).
   */
  whenLogApplied(): Promise<void> {
    const target = this.lastDataIndex();
    if (this.appliedIndex_ >= target) return Promise.resolve();
    return new Promise((resolve) => this.logAppliedWaiters.push({ index: target, resolve }));
  }

  /**
   * Whether a write executed now could pass its prerequisite check: no entry is waiting to be applied and
   * no proposal of this member is in flight (the reference's ovsdb_txn_precheck_prereq, plus the latter).
   */
  precheck(): boolean {
    const ok = this.waiters.size === 0 && this.logApplied();
    if (!ok) this.writesHeld = true;
    return ok;
  }

  /** Whether `db` reflects every data entry in the log (§3.3: transactions run only then). */
  logApplied(): boolean {
    return !this.applyPending() && this.lastDataIndex() <= this.appliedIndex_;
  }

  /**
   * Whether `db` is the contents to serve: there is one, and no snapshot is being loaded in its place (a
   * member is `connected` in `_Server` only then).
   */
  contentsReady(): boolean {
    return this.db !== null && !this.loadingContents;
  }

  /** The log index of the contents `db` holds (the `_Server.Database` index). */
  appliedIndex(): number {
    return this.appliedIndex_;
  }

  private applyPending(): boolean {
    return this.loadingContents || this.applyHead < this.applyQueue.length;
  }

  /** Tells the host, once per turn, when precheck() may have turned true without a commit. */
  private wake(): void {
    if (this.wakeScheduled || !this.writesHeld) return;
    this.wakeScheduled = true;
    // A later turn, never a microtask: the writes it retries may fail at once again (no leader), and a
    // microtask chain of retries would starve the member's I/O and timers.
    setImmediate(() => {
      this.wakeScheduled = false;
      if (this.closed || !this.precheck()) return;
      this.writesHeld = false;
      this.host?.writable();
    });
  }

  private lastDataIndex(): number {
    const applied = this.appliedIndex_;
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

  /**
   * `ovsdb-server/compact`: a snapshot of the contents as they are now (an error text when refused),
   * resolved once the new file is in place. The snapshot is built and serialized over several event-loop
   * turns (rows are immutable: the row set taken at the start is the state at this index, whatever commits
   * meanwhile), then handed to the core.
   */
  compact(auto = false): Promise<string | null> {
    this.compacting ??= this.compactNow(auto).finally(() => (this.compacting = null));
    return this.compacting;
  }

  private async compactNow(auto: boolean): Promise<string | null> {
    const db = this.db;
    if (db === null) return 'cannot store a snapshot while joining cluster';
    const index = this.appliedIndex_;
    const slicer = timeSlicer();
    const rec = await snapshotRecordChunked(db, 'compacting database online', true, slicer);
    const data: JsonValue = [schemaToJson(db.schema), rec];
    // Serialized now, in slices: the file's header and every install_snapshot_request use this text.
    await entryDataTextAsync(data, slicer);
    if (auto && !this.core.maySnapshot()) return null; // became leader meanwhile: the next check hands over
    const r = this.input(() => this.core.storeSnapshot(data, index));
    if (r === undefined) return 'cannot store a snapshot following failure';
    if (!r.ok) return r.error;
    this.schedule.reset();
    await this.persisting; // the new file is written
    return null;
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
    // Timers after the input (see RaftCore.clock): a message that waited out a stall counts first.
    const t = now();
    this.core.clock(t);
    const r = fn();
    this.core.tick(t);
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
    if (rd.snapshot !== null) this.enqueueSnapshot(rd.snapshot);
    for (const c of rd.committed) this.applyQueue.push({ kind: 'entry', index: c.index, entry: c.entry });
    if (this.applyHead < this.applyQueue.length) this.drain();
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
    // Commit-index records need no fdatasync of their own (nothing waits for them; the reference does not
    // sync them either): the next fdatasync takes them along.
    let lazy = true;
    try {
      // Runs of records go to the file together (one write(2) for a few, several turns for thousands).
      let run: LogRecord[] = [];
      for (const w of rd.writes) {
        lastSeq = w.seq;
        if (w.kind === 'record') {
          run.push(w.record);
          if (w.record.type !== 'commit_index') lazy = false;
        } else {
          if (run.length > 0) fileSeq = this.file.appendAll(run);
          run = [];
          replacements.push(this.file.replaceRecords(w.header, w.records));
          lazy = false;
        }
      }
      if (run.length > 0) fileSeq = this.file.appendAll(run);
    } catch (e) {
      this.failed(e);
      return;
    }
    const seq = lastSeq;
    const replaced = replacements.length > 0;
    const done = lazy
      ? Promise.resolve()
      : Promise.all([...replacements, fileSeq > 0 ? this.file.durable(fileSeq) : Promise.resolve()]);
    // persisted() is reported in write order. For a lazy batch that is once the writes before it are durable:
    // the core holds messages back until every earlier write is durable, and a commit index is none of
    // their dependencies (raft/durability.ts: it changes neither term, vote nor log).
    this.persisting = Promise.all([this.persisting, done]).then(
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

  /** A snapshot supersedes the entries before it that are still queued. */
  private enqueueSnapshot(snapshot: Snapshot): void {
    let k = this.applyQueue.length;
    while (k > this.applyHead) {
      const item = this.applyQueue[k - 1]!;
      if (item.kind === 'entry' && item.index <= snapshot.index) break;
      k--;
    }
    if (k > this.applyHead) this.applyQueue.splice(this.applyHead, k - this.applyHead);
    this.applyQueue.push({ kind: 'snapshot', snapshot });
  }

  /**
   * Applies the queue in order. Runs synchronously as long as only small entries come and the turn's budget
   * lasts (a client's reply then leaves in the same turn as its commit); otherwise continues in later turns.
   */
  private drain(): void {
    if (this.applying || this.closed) return;
    this.applying = true;
    this.drainLoop().then(
      () => {
        this.applying = false;
        if (this.applyHead < this.applyQueue.length) return this.drain();
        if (this.pendingEntries.length === 0) this.markLoaded();
        this.noticeState();
        this.wake();
      },
      (e: unknown) => {
        this.applying = false;
        throw e;
      },
    );
  }

  private async drainLoop(): Promise<void> {
    const slicer = timeSlicer(APPLY_SLICE_MS);
    const q = this.applyQueue;
    while (this.applyHead < q.length && !this.closed) {
      const item = q[this.applyHead]!;
      q[this.applyHead++] = EMPTY_ITEM;
      if (item.kind === 'snapshot' || isSchemaChange(item.entry)) {
        this.loadingContents = true;
        this.noticeState();
        try {
          if (item.kind === 'snapshot') await this.loadSnapshot(item.snapshot, slicer);
          else await this.applySchemaChange(item.index, item.entry, slicer);
        } finally {
          this.loadingContents = false;
        }
        this.noticeState();
      } else this.applyEntry(item.index, item.entry);
      if (this.applyHead === q.length) break;
      if (slicer.due()) {
        this.noticeState(); // the `_Server` index moves on as the backlog is applied
        await slicer.yield();
      }
    }
    // Nothing more queued: reuse the array from its start.
    if (this.applyHead === q.length) {
      q.length = 0;
      this.applyHead = 0;
    }
  }

  private async loadSnapshot(s: Snapshot, slicer: Slicer): Promise<void> {
    let db: Database;
    try {
      db = await databaseFromDataAsync(s.data, this.name, this.path, slicer);
    } catch (e) {
      this.inconsistent(e);
      return;
    }
    this.appliedIndex_ = s.index;
    this.appliedEid_ = s.eid;
    this.setContents(db, s.eid, 'installed snapshot');
    this.applied(s.index);
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

  private async applySchemaChange(index: number, entry: LogEntry, slicer: Slicer): Promise<void> {
    try {
      const db = await databaseFromDataAsync(entry.data!, this.name, this.path, slicer);
      this.appliedIndex_ = index;
      this.appliedEid_ = entry.eid!;
      this.setContents(db, entry.eid!, 'schema changed');
    } catch (e) {
      this.appliedIndex_ = index;
      this.inconsistent(e, index);
    }
    this.applied(index);
  }

  private applyEntry(index: number, entry: LogEntry): void {
    if (this.host === null && this.db !== null && entry.data !== undefined) {
      // Replayed at open before the server attached: applied in start(), through the host (history).
      this.pendingEntries.push({ index, entry });
      return;
    }
    this.appliedIndex_ = index;
    // Proposals this entry completes leave the in-flight set first, so that writes retried by the commit
    // below see that nothing is in flight any more (precheck()); they are told after it.
    const done = this.takeAppliedWaiters(index);
    if (entry.data !== undefined && entry.eid !== undefined) {
      this.appliedEid_ = entry.eid;
      const data = entry.data;
      try {
        if (!Array.isArray(data) || data.length !== 2) throw new OvsdbError('syntax error', 'Incorrect raft record array length');
        if (data[1] !== null && this.db !== null) {
          const txn = data[1];
          if (!isJsonObject(txn)) throw new OvsdbError('syntax error', 'transaction is not an object');
          this.host!.commit(recordCommit(this.db, txn, this.path, { reader31: true }), entry.eid);
        }
      } catch (e) {
        this.inconsistent(e, index);
      }
    }
    for (const w of done) w.resolve({ ok: true });
    this.applied(index, false);
  }

  /** Removes from the in-flight set the proposals an apply up to `index` completes; returns them. */
  private takeAppliedWaiters(index: number): Waiter[] {
    const out: Waiter[] = [];
    while (this.appliedWaiters.length > 0 && this.appliedWaiters[0]!.index <= index) {
      const eid = this.appliedWaiters.shift()!.eid;
      const w = this.waiters.get(eid);
      if (w === undefined) continue;
      this.waiters.delete(eid);
      out.push(w);
    }
    return out;
  }

  /** Contents are at `index` now: complete what waited for that. */
  private applied(index: number, proposals = true): void {
    if (proposals) for (const w of this.takeAppliedWaiters(index)) w.resolve({ ok: true });
    this.settleLogApplied(index);
  }

  /**
   * whenLogApplied() waiters: those whose target index is applied, and all of them once the log holds no
   * unapplied data entry (the entries they waited for may have been truncated by a new leader instead).
   */
  private settleLogApplied(index: number): void {
    if (this.logAppliedWaiters.length > 0 && this.logApplied()) {
      for (const w of this.logAppliedWaiters.splice(0)) w.resolve();
      return;
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
    if (this.appliedIndex_ >= r.commitIndex) {
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
    // Without a leader the failed write waits for one (server/cluster.ts retries it); so do held writes.
    if (o.ok || o.status !== 'not leader') this.wake();
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
    // A deadline that moved later (a follower's election timer, reset by every append_request) keeps the
    // armed timer: it fires early, finds nothing due and arms the new deadline. Re-arming on every message
    // cost more than the message.
    if (this.timer !== null && this.timerAt <= at) return;
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
    this.settleLogApplied(this.appliedIndex_);
    const c = this.core;
    const key = `${c.isConnected()}|${this.contentsReady()}|${c.isLeader()}|${this.appliedIndex_}|${c.cid()}|${c.leader()}|${c.electionTimer()}|${this.logApplied()}`;
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
    void this.compact(true).then((err) => {
      if (err !== null) this.opts.log('raft', 'INFO', `${this.path}: snapshot not stored: ${err}`);
    });
  }
}
