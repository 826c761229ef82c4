// The clustered database file (raft.md §1): `OVSDB CLUSTER` records framed by storage/log.ts's RecordLog.
//
// - Parsing: record 0 is a member header or a joining header (§1.2), records 1..n are classified in the order
//   of §1.3; both as strict as the C reader, with its error texts.
// - Replay (pure): the records of a member's file → PersistentState, with every rule and error of §1.3.
// - Writing: the JSON text of every header and record, members in the order the C server writes them (its
//   hash order; entry data with sorted members, as C keeps it pre-serialized), so our files are byte-identical
//   to theirs for the same contents.
// - ClusterLog: a member's open file. Appends are written at once (a Ready's records in one write(2), a long
//   backlog over several event-loop turns); durability is a group fdatasync: every record appended before
//   durable() was called is on disk when its promise resolves (the integrator sends the Raft messages that
//   depend on them only then, §2.6.10). replace() swaps in a new file (snapshot/compaction/snapshot install,
//   §1.7) without blocking on the writes; records appended meanwhile are queued and written to the new file
//   after it. openAsync() reads a file over several event-loop turns.
import { performance } from 'node:perf_hooks';
import { OvsdbError } from '../schema/error.ts';
import { timeSlicer } from '../schema/json-chunked.ts';
import { quoteString, type JsonValue } from '../schema/json.ts';
import { ovsMemberOrder } from '../schema/ovs-hash-order.ts';
import { Lockfile } from '../storage/lockfile.ts';
import { MAGIC_CLUSTERED } from '../storage/log-header.ts';
import { LogError, RecordLog, type CorruptionPolicy, type LogFs, type LogRecovery } from '../storage/log.ts';
import {
  addressesFromJson,
  entryDataText,
  entryDataTextAsync,
  isZeroUuid,
  RaftParser,
  serversFromJson,
  serversText,
  shortId,
  uint64Text,
  ZERO_UUID,
  type AddressLog,
} from './parse.ts';
import {
  DEFAULT_ELECTION_TIMER,
  type ClusterHeader,
  type JoiningHeader,
  type LogEntry,
  type LogRecord,
  type MemberHeader,
  type PersistentState,
  type Servers,
  type Snapshot,
  type Uuid,
} from './types.ts';

export { MAGIC_CLUSTERED };

// ---------------------------------------------------------------------------------------------------------
// Parsing (§1.2, §1.3)

/** Record 0. Throws OvsdbError ("Parsing raft header failed: …", or a server/address error). */
export function parseHeader(json: JsonValue, log?: AddressLog): ClusterHeader {
  const p = RaftParser.of(json, 'raft header');
  const sid = p.requiredUuid('server_id');
  const name = p.requiredString('name');
  const localAddress = p.requiredString('local_address');
  const remote = p.optional('remote_addresses', 'array');
  if (remote !== undefined) {
    // Joining: the presence of remote_addresses is what marks it.
    let remoteAddresses = addressesFromJson(remote, log);
    if (remoteAddresses.includes(localAddress)) {
      remoteAddresses = remoteAddresses.filter((a) => a !== localAddress);
      if (remoteAddresses.length === 0) {
        throw p.error('at least one remote address (other than the local address) is required');
      }
    }
    const cid = p.optionalUuid('cluster_id');
    p.finish();
    const h: JoiningHeader = { kind: 'joining', sid, name, localAddress, remoteAddresses };
    return isZeroUuid(cid) ? h : { ...h, cid: cid! };
  }
  const servers = serversFromJson(p.required('prev_servers', 'object'), log);
  const index = p.optionalUint64('prev_index');
  let snapshot: Snapshot;
  if (index) {
    const data = p.required('prev_data', 'any');
    const eid = p.requiredUuid('prev_eid');
    const term = p.requiredUint64('prev_term');
    const timer = p.optionalUint64('prev_election_timer');
    snapshot = { index, term, eid, servers, electionTimer: timer || DEFAULT_ELECTION_TIMER, data };
  } else {
    snapshot = { index: 0, term: 0, eid: ZERO_UUID, servers, electionTimer: DEFAULT_ELECTION_TIMER, data: null };
  }
  const cid = p.requiredUuid('cluster_id');
  p.finish();
  return { kind: 'member', sid, cid, name, localAddress, snapshot };
}

/** Records 1..n, classified by the first test that matches (§1.3). Throws OvsdbError. */
export function parseRecord(json: JsonValue, log?: AddressLog): LogRecord {
  const p = RaftParser.of(json, 'raft log record');
  const comment = p.optionalString('comment');
  const c = comment === undefined ? {} : { comment };
  const note = p.optionalString('note');
  if (note !== undefined) {
    p.finish();
    return { type: 'note', note, ...c };
  }
  const commitIndex = p.optionalUint64('commit_index');
  if (commitIndex) {
    p.finish();
    return { type: 'commit_index', commitIndex, ...c };
  }
  const term = p.requiredUint64('term');
  const leader = p.optionalUuid('leader');
  if (leader !== undefined) {
    if (leader === ZERO_UUID) throw p.error('record says leader is all-zeros SID');
    p.finish();
    return { type: 'leader', term, leader, ...c };
  }
  const vote = p.optionalUuid('vote');
  if (vote !== undefined) {
    if (vote === ZERO_UUID) throw p.error('record votes for all-zeros SID');
    p.finish();
    return { type: 'vote', term, vote, ...c };
  }
  const index = p.optionalUint64('index');
  if (!index) {
    p.finish();
    return { type: 'term', term, ...c };
  }
  const serversJson = p.optional('servers', 'object');
  const servers = serversJson === undefined ? undefined : serversFromJson(serversJson, log);
  const electionTimer = p.optionalUint64('election_timer');
  const data = p.optional('data', 'any');
  if (data !== undefined && (data === null || typeof data !== 'object')) throw p.error(`Type mismatch for member 'data'.`);
  const eid = data !== undefined ? p.requiredUuid('eid') : undefined;
  p.finish();
  const entry: { term: number; data?: JsonValue; eid?: Uuid; servers?: Servers; electionTimer?: number } = { term };
  if (data !== undefined) {
    entry.data = data;
    entry.eid = eid!;
  }
  if (servers !== undefined) entry.servers = servers;
  if (electionTimer) entry.electionTimer = electionTimer;
  return { type: 'entry', term, index, entry, ...c };
}

// ---------------------------------------------------------------------------------------------------------
// Replay (§1.3)

function replayError(details: string): OvsdbError {
  return new OvsdbError('ovsdb error', details);
}

/** ovsdb_wrap_error: the same error with "<prefix>: " before its details. */
export function wrapError(e: OvsdbError, prefix: string): OvsdbError {
  const details = e.details ? `${prefix}: ${e.details}` : prefix;
  const opts: { syntax?: JsonValue; ioError?: string } = {};
  if (e.hasSyntax) opts.syntax = e.syntax ?? null;
  if (e.ioError !== undefined) opts.ioError = e.ioError;
  return new OvsdbError(e.tag, details, opts);
}

export interface ReplayOptions {
  /** Keep going after a `note: "left"` record (tools); the server refuses such a file (default). */
  allowLeft?: boolean;
  /** Called for records that truncate the log (the C server logs them at DBG). */
  onTruncate?: (recordNumber: number, from: number, to: number) => void;
}

/**
 * Replays a member's records (record numbers from 1) onto its header, as ovsdb-server does at open. Errors
 * are OvsdbErrors with the C texts, not yet wrapped (see replayLog).
 */
export class Replayer {
  term = 0;
  vote: Uuid | null = null;
  commitIndex: number;
  left = false;
  readonly logStart: number;
  readonly entries: LogEntry[] = [];

  constructor(
    readonly header: MemberHeader,
    private readonly opts: ReplayOptions = {},
  ) {
    this.logStart = header.snapshot.index + 1;
    this.commitIndex = header.snapshot.index;
  }

  get logEnd(): number {
    return this.logStart + this.entries.length;
  }

  apply(n: number, r: LogRecord): void {
    const recTerm = r.type === 'note' || r.type === 'commit_index' ? 0 : r.term;
    if (recTerm > this.term) {
      this.term = recTerm;
      this.vote = null;
    }
    switch (r.type) {
      case 'entry': {
        const logEnd = this.logEnd;
        // An index at or before log_start - 1 cannot truncate anything that is there; C asserts, we refuse.
        if (r.index < this.commitIndex || r.index < this.logStart) {
          throw replayError(
            `record ${n} attempts to truncate log from ${logEnd} to ${r.index} entries, but commit index is already ${this.commitIndex}`,
          );
        }
        if (r.index > logEnd) throw replayError(`record ${n} with index ${r.index} skips past expected index ${logEnd}`);
        if (r.index < logEnd) {
          this.opts.onTruncate?.(n, logEnd, r.index);
          this.entries.length = r.index - this.logStart;
        }
        const last = this.entries[this.entries.length - 1];
        const prevTerm = last === undefined ? this.header.snapshot.term : last.term;
        if (r.term < prevTerm) {
          throw replayError(`record ${n} with index ${r.index} term ${r.term} precedes previous entry's term ${prevTerm}`);
        }
        this.entries.push(r.entry);
        return;
      }
      case 'vote':
        if (r.term < this.term) throw replayError(`record ${n} votes for term ${r.term} but current term is ${this.term}`);
        if (this.vote !== null && this.vote !== r.vote) {
          // (sic) The C text names the earlier vote first and the new one last.
          throw replayError(
            `record ${n} votes for ${shortId(this.vote)} in term ${r.term} but a previous record for the same term voted for ${shortId(r.vote)}`,
          );
        }
        this.vote = r.vote;
        return;
      case 'note':
        if (r.note === 'left') {
          if (!this.opts.allowLeft) {
            throw replayError(
              `record ${n} indicates server has left the cluster; it cannot be added back (use "ovsdb-tool join-cluster" to add a new server)`,
            );
          }
          this.left = true;
        }
        return;
      case 'commit_index':
        if (r.commitIndex < this.commitIndex) {
          throw replayError(`record ${n} regresses commit index from ${this.commitIndex} to ${r.commitIndex}`);
        }
        if (r.commitIndex >= this.logEnd) {
          throw replayError(`record ${n} advances commit index to ${r.commitIndex} but last log index is ${this.logEnd - 1}`);
        }
        this.commitIndex = r.commitIndex;
        return;
      case 'leader':
      case 'term':
        return;
    }
  }

  /** The state after the records applied so far. */
  state(): PersistentState {
    return {
      header: this.header,
      snapshot: this.header.snapshot,
      entries: this.entries.slice(),
      term: this.term,
      vote: this.vote,
      commitIndex: this.commitIndex,
      left: this.left,
      servers: configurationOf(this.header.snapshot, this.entries),
      electionTimer: electionTimerOf(this.header.snapshot, this.entries, this.commitIndex),
    };
  }
}

/** The configuration: servers of the last entry that has one, else the snapshot's. */
export function configurationOf(snapshot: Snapshot, entries: readonly LogEntry[]): Servers {
  for (let i = entries.length - 1; i >= 0; i--) {
    const s = entries[i]!.servers;
    if (s !== undefined) return s;
  }
  return snapshot.servers;
}

/** The election timer: that of the last committed entry with one, else the snapshot's, else 1000 ms. */
export function electionTimerOf(snapshot: Snapshot, entries: readonly LogEntry[], commitIndex: number): number {
  const start = snapshot.index + 1;
  for (let index = Math.min(commitIndex, start + entries.length - 1); index >= start; index--) {
    const t = entries[index - start]!.electionTimer;
    if (t) return t;
  }
  return snapshot.electionTimer || DEFAULT_ELECTION_TIMER;
}

/** The state of a joining file (the C server does not read past its header). */
export function joiningState(header: JoiningHeader): PersistentState {
  return {
    header,
    snapshot: { index: 0, term: 0, eid: ZERO_UUID, servers: new Map(), electionTimer: DEFAULT_ELECTION_TIMER, data: null },
    entries: [],
    term: 0,
    vote: null,
    commitIndex: 0,
    left: false,
    servers: new Map(),
    electionTimer: DEFAULT_ELECTION_TIMER,
  };
}

type ReplayLogOptions = ReplayOptions & { addressLog?: AddressLog };

/**
 * Records 1..n of a member's file (as parsed JSON) replayed onto its header: errors are wrapped as
 * `error reading record N from <name> log: …`; then the server must be in its configuration
 * (`server does not belong to cluster`).
 */
export function replayMember(header: MemberHeader, records: Iterable<JsonValue>, opts: ReplayLogOptions = {}): PersistentState {
  const replayer = new Replayer(header, opts);
  let n = 1;
  for (const json of records) {
    try {
      replayer.apply(n, parseRecord(json, opts.addressLog));
    } catch (e) {
      if (!(e instanceof OvsdbError)) throw e;
      throw wrapError(e, `error reading record ${n} from ${header.name} log`);
    }
    n++;
  }
  const state = replayer.state();
  if (!state.servers!.has(header.sid)) throw new OvsdbError('ovsdb error', 'server does not belong to cluster');
  return state;
}

/** Record 0 and records 1..n (as parsed JSON) → the state ovsdb-server starts from, or its error. */
export function replayLog(records: Iterable<JsonValue>, opts: ReplayLogOptions = {}): PersistentState {
  const it = records[Symbol.iterator]();
  const first = it.next();
  if (first.done) throw new OvsdbError('ovsdb error', 'clustered database file has no header record');
  const header = parseHeader(first.value, opts.addressLog);
  if (header.kind === 'joining') return joiningState(header);
  return replayMember(header, { [Symbol.iterator]: () => it }, opts);
}

// ---------------------------------------------------------------------------------------------------------
// Writing: the JSON text of records, members in the C writer's order.

type Member = readonly [name: string, text: string];

function objectText(members: readonly Member[]): string {
  const byName = new Map(members);
  const parts: string[] = [];
  for (const name of ovsMemberOrder(members.map((m) => m[0]))) parts.push(`${quoteString(name)}:${byName.get(name)!}`);
  return `{${parts.join(',')}}`;
}

const str = (s: string) => quoteString(s);

/** Record 0 as C writes it: cluster_id omitted when zero, remote_addresses when empty, prev_* when index 0. */
export function headerText(h: ClusterHeader): string {
  const m: Member[] = [['server_id', str(h.sid)]];
  if (!isZeroUuid(h.cid)) m.push(['cluster_id', str(h.cid!)]);
  m.push(['local_address', str(h.localAddress)]);
  m.push(['name', str(h.name)]);
  if (h.kind === 'joining') {
    if (h.remoteAddresses.length > 0) m.push(['remote_addresses', `[${h.remoteAddresses.map(str).join(',')}]`]);
    return objectText(m);
  }
  const s = h.snapshot;
  m.push(['prev_servers', serversText(s.servers)]);
  if (s.index) {
    m.push(['prev_index', uint64Text(s.index)]);
    m.push(['prev_term', uint64Text(s.term)]);
    m.push(['prev_data', entryDataText(s.data)]);
    m.push(['prev_eid', str(s.eid)]);
    if (s.electionTimer) m.push(['prev_election_timer', uint64Text(s.electionTimer)]);
  }
  return objectText(m);
}

/** An Entry record for `entry` at `index`. */
export function entryRecordText(index: number, entry: LogEntry, comment?: string): string {
  return recordText({ type: 'entry', term: entry.term, index, entry, ...(comment === undefined ? {} : { comment }) });
}

/** Records 1..n as C writes them (a `comment` only when non-empty). */
export function recordText(r: LogRecord): string {
  const m: Member[] = [];
  if (r.comment) m.push(['comment', str(r.comment)]);
  switch (r.type) {
    case 'entry': {
      const e = r.entry;
      m.push(['term', uint64Text(r.term)]);
      m.push(['index', uint64Text(r.index)]);
      const hasData = e.data !== undefined && e.eid !== undefined;
      if (hasData) m.push(['data', entryDataText(e.data!)]);
      if (e.servers !== undefined) m.push(['servers', serversText(e.servers)]);
      if (e.electionTimer) m.push(['election_timer', uint64Text(e.electionTimer)]);
      if (hasData && !isZeroUuid(e.eid)) m.push(['eid', str(e.eid!)]);
      break;
    }
    case 'term':
      m.push(['term', uint64Text(r.term)]);
      break;
    case 'vote':
      m.push(['term', uint64Text(r.term)]);
      m.push(['vote', str(r.vote)]);
      break;
    case 'note':
      m.push(['note', str(r.note)]);
      break;
    case 'commit_index':
      m.push(['commit_index', uint64Text(r.commitIndex)]);
      break;
    case 'leader':
      m.push(['term', uint64Text(r.term)]);
      m.push(['leader', str(r.leader)]);
      break;
  }
  return objectText(m);
}

/** A Term record, or a Vote record when there is a vote (raft_write_state). */
export function termRecordText(term: number, vote: Uuid | null): string {
  return recordText(vote === null || vote === ZERO_UUID ? { type: 'term', term } : { type: 'vote', term, vote });
}

/** What a replacement file (§1.7) is made of. Entries are those after `header.snapshot.index`. */
export interface SnapshotFile {
  readonly header: MemberHeader;
  readonly entries: readonly LogEntry[];
  readonly term: number;
  readonly vote: Uuid | null;
  readonly commitIndex: number;
}

/**
 * The records of a replacement file, as raft_write_snapshot writes them: the header with the snapshot, every
 * entry after it, the term/vote record, and a commit-index record if the commit index is beyond the snapshot.
 */
export function snapshotFileTexts(f: SnapshotFile): string[] {
  const start = f.header.snapshot.index + 1;
  const out = [headerText(f.header)];
  f.entries.forEach((e, k) => out.push(entryRecordText(start + k, e)));
  out.push(termRecordText(f.term, f.vote));
  if (f.commitIndex >= start) out.push(recordText({ type: 'commit_index', commitIndex: f.commitIndex }));
  return out;
}

/** The header `ovsdb-tool create-cluster` writes (prev_index 1, prev_term 1, no election timer). */
export function createClusterHeader(p: { sid: Uuid; cid: Uuid; eid: Uuid; name: string; localAddress: string; data: JsonValue }): MemberHeader {
  return {
    kind: 'member',
    sid: p.sid,
    cid: p.cid,
    name: p.name,
    localAddress: p.localAddress,
    snapshot: { index: 1, term: 1, eid: p.eid, servers: new Map([[p.sid, p.localAddress]]), electionTimer: 0, data: p.data },
  };
}

// ---------------------------------------------------------------------------------------------------------
// The open file

export type ClusterLogLevel = 'ERR' | 'WARN' | 'INFO' | 'DBG';

export interface ClusterLogOptions {
  /** Mid-file corruption: 'strict' (default) refuses to open; 'reference' keeps the records before it, as OVS. */
  policy?: CorruptionPolicy;
  /** Log lines (torn tail dropped, truncating records, address-check errors). */
  onLog?: (level: ClusterLogLevel, message: string) => void;
  /** Take the `.NAME.~lock~` lock (default true), as ovsdb-server does. */
  lock?: boolean;
  fs?: Partial<LogFs>;
}

interface Waiter {
  readonly seq: number;
  resolve(): void;
  reject(e: OvsdbError): void;
}

/** The error as an OvsdbError whose message is its rendering (strerror included). */
function toOvsdbError(e: unknown): OvsdbError {
  let err: OvsdbError;
  if (e instanceof LogError) err = new OvsdbError(e.tag, e.details, e.ioError ? { ioError: e.ioError } : {});
  else if (e instanceof OvsdbError) err = e;
  else err = new OvsdbError('I/O error', e instanceof Error ? e.message : String(e));
  err.message = err.render();
  return err;
}

/** Records per write(2) when a backlog is written. */
const FLUSH_BATCH = 64;

/** The clustered file as a RecordLog for a member, its recoveries logged as the reference words them. */
function openRecordLog(path: string, opts: ClusterLogOptions, onLog: NonNullable<ClusterLogOptions['onLog']>): RecordLog {
  const onRecovery = (r: LogRecovery) =>
    onLog(
      r.kind === 'torn-tail' ? 'WARN' : 'ERR',
      `${r.error.render()}; using the data before offset ${r.offset}` +
        (r.kind === 'torn-tail' ? ` (${r.discardedBytes} bytes of an incomplete last record dropped)` : ''),
    );
  return RecordLog.open(path, { writable: true, magic: MAGIC_CLUSTERED, policy: opts.policy ?? 'strict', onRecovery, ...(opts.fs ? { fs: opts.fs } : {}) });
}

/** Work per event-loop turn when a backlog is written. */
const FLUSH_SLICE_MS = 6;

export class ClusterLog {
  /** Sequence number of the last record appended (written or queued). */
  private appended = 0;
  /** Records up to this one are in the current file (in the OS). */
  private written = 0;
  /** Records up to this one are durable. */
  private synced = 0;
  private readonly waiters: Waiter[] = [];
  /** The fdatasync in flight (its handlers never reject). */
  private syncing: Promise<void> | null = null;
  /** Replacements running or waiting: appends are queued meanwhile. */
  private replacements = 0;
  private replaceChain: Promise<void> = Promise.resolve();
  /** Records appended but not yet written (a backlog, or everything while a replacement runs). */
  private pending: { seq: number; record: LogRecord }[] = [];
  private pendingHead = 0;
  private flushScheduled = false;
  private failure: OvsdbError | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private onClosed: (() => void) | null = null;
  private kickScheduled = false;
  /** The file is closed. */
  private finished = false;

  private constructor(
    readonly path: string,
    private readonly log: RecordLog,
    private readonly lock: Lockfile | null,
  ) {}

  /**
   * Opens a clustered file for a running member: reads and replays it (§1.3) and returns the state to start
   * from. A torn tail is dropped with a WARN (and cut off before the next append). Throws OvsdbError.
   */
  static open(path: string, opts: ClusterLogOptions = {}): { log: ClusterLog; state: PersistentState } {
    const onLog = opts.onLog ?? (() => {});
    const lock = opts.lock === false ? null : Lockfile.lock(path);
    let rlog: RecordLog | null = null;
    try {
      rlog = openRecordLog(path, opts, onLog);
      const addressLog: AddressLog = (_m, level, msg) => onLog(level, msg);
      const records = rlog.records();
      const first = records.next();
      if (first.done) throw new OvsdbError('ovsdb error', `${path}: clustered database file has no header record`);
      const header = parseHeader(first.value.json, addressLog);
      let state: PersistentState;
      if (header.kind === 'joining') {
        // The C server reads a joining file no further than its header; what follows is cut at the next append.
        rlog.endReading();
        state = joiningState(header);
      } else {
        const rest = (function* () {
          for (const r of records) yield r.json as JsonValue;
        })();
        state = replayMember(header, rest, {
          addressLog,
          onTruncate: (n, from, to) => onLog('DBG', `record ${n} truncates log from ${from} to ${to} entries`),
        });
      }
      const log = new ClusterLog(path, rlog, lock);
      return { log, state };
    } catch (e) {
      rlog?.close();
      lock?.unlock();
      throw toOvsdbError(e);
    }
  }

  /**
   * open() without blocking the event loop: records are read a few per turn and a large one (a snapshot in
   * the header) is hashed, decoded and parsed over several turns. Same state, logs and errors.
   */
  static async openAsync(path: string, opts: ClusterLogOptions = {}): Promise<{ log: ClusterLog; state: PersistentState }> {
    const onLog = opts.onLog ?? (() => {});
    const lock = opts.lock === false ? null : Lockfile.lock(path);
    let rlog: RecordLog | null = null;
    try {
      rlog = openRecordLog(path, opts, onLog);
      const addressLog: AddressLog = (_m, level, msg) => onLog(level, msg);
      const slicer = timeSlicer();
      const records = rlog.recordsAsync(slicer);
      const first = await records.next();
      if (first.done) throw new OvsdbError('ovsdb error', `${path}: clustered database file has no header record`);
      const header = parseHeader(first.value.json, addressLog);
      let state: PersistentState;
      if (header.kind === 'joining') {
        await records.return(undefined);
        rlog.endReading();
        state = joiningState(header);
      } else {
        const replayer = new Replayer(header, {
          onTruncate: (n, from, to) => onLog('DBG', `record ${n} truncates log from ${from} to ${to} entries`),
        });
        let n = 1;
        for await (const r of records) {
          try {
            replayer.apply(n, parseRecord(r.json, addressLog));
          } catch (e) {
            if (!(e instanceof OvsdbError)) throw e;
            throw wrapError(e, `error reading record ${n} from ${header.name} log`);
          }
          n++;
        }
        state = replayer.state();
        if (!state.servers!.has(header.sid)) throw new OvsdbError('ovsdb error', 'server does not belong to cluster');
      }
      return { log: new ClusterLog(path, rlog, lock), state };
    } catch (e) {
      rlog?.close();
      lock?.unlock();
      throw toOvsdbError(e);
    }
  }

  /**
   * Creates a new clustered file (must not exist) holding `header` and `records`, durable on return
   * (create-cluster, join-cluster). Returns it open for appending.
   */
  static create(path: string, header: ClusterHeader, records: readonly LogRecord[] = [], opts: Pick<ClusterLogOptions, 'lock' | 'fs'> = {}): ClusterLog {
    let rlog: RecordLog;
    try {
      rlog = RecordLog.create(path, headerText(header), { magic: MAGIC_CLUSTERED, ...(opts.fs ? { fs: opts.fs } : {}) });
    } catch (e) {
      throw toOvsdbError(e);
    }
    try {
      for (const r of records) rlog.append(recordText(r));
      if (records.length > 0) rlog.sync();
    } catch (e) {
      rlog.close();
      throw toOvsdbError(e);
    }
    const lock = opts.lock ? Lockfile.lock(path) : null;
    return new ClusterLog(path, rlog, lock);
  }

  /** Sequence number of the last record appended (to pass to durable()). */
  get lastSeq(): number {
    return this.appended;
  }

  /** Set once a write or fdatasync failed: the member must enter failure mode (§2.6.10). */
  get error(): OvsdbError | null {
    return this.failure;
  }

  /** Whether everything appended is known to be on disk. */
  get isSynced(): boolean {
    return this.synced >= this.appended;
  }

  /**
   * Appends one record: written to the OS before returning (or queued while the file is being replaced, or
   * behind a backlog still being written). Returns its sequence number for durable(). Throws OvsdbError on
   * a write error (the log is then failed).
   */
  append(record: LogRecord): number {
    return this.appendAll([record]);
  }

  /**
   * append() of several records; returns the sequence number of the last. They leave in few write(2)s; a
   * long run (a follower catching up on thousands of entries) is encoded and written over several
   * event-loop turns, the first of them before this returns. A write error in a later turn fails the log
   * (durable() rejects).
   */
  appendAll(records: readonly LogRecord[]): number {
    this.checkUsable();
    for (const record of records) this.pending.push({ seq: ++this.appended, record });
    this.flush(true);
    return this.appended;
  }

  /** Appends an Entry record for `entry` at `index`. */
  appendEntry(index: number, entry: LogEntry): number {
    return this.append({ type: 'entry', term: entry.term, index, entry });
  }

  /** appendAll() then durable() of the last one. */
  appendDurable(records: readonly LogRecord[]): Promise<void> {
    try {
      return this.durable(this.appendAll(records));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Writes queued records the file does not hold yet, FLUSH_BATCH per write(2), until the turn's budget is
   * spent (then again in the next turn). Nothing is written while a replacement runs. `sync`: called from
   * an append, whose caller gets a write error thrown.
   */
  private flush(sync: boolean, budgetMs = FLUSH_SLICE_MS): void {
    if (this.replacements > 0 || this.failure !== null || this.finished) return;
    const q = this.pending;
    const start = performance.now();
    const written0 = this.written;
    while (this.pendingHead < q.length) {
      const texts: string[] = [];
      let last = 0;
      while (this.pendingHead < q.length && texts.length < FLUSH_BATCH) {
        const p = q[this.pendingHead++]!;
        if (p.seq <= this.written) continue; // superseded by a replacement
        texts.push(recordText(p.record));
        last = p.seq;
      }
      if (texts.length > 0) {
        try {
          this.log.appendMany(texts);
        } catch (e) {
          const err = this.fail(toOvsdbError(e));
          if (sync) throw err;
          return;
        }
        this.written = last;
      }
      if (this.pendingHead < q.length && performance.now() - start >= budgetMs) {
        if (!this.flushScheduled) {
          this.flushScheduled = true;
          setImmediate(() => {
            this.flushScheduled = false;
            this.flush(false);
          });
        }
        break;
      }
    }
    if (this.pendingHead === q.length) {
      q.length = 0;
      this.pendingHead = 0;
    }
    if (this.written > written0) this.kick();
  }

  /**
   * Resolves when every record up to `seq` (default: all appended so far) is on disk. Callers share
   * fdatasyncs: one runs at a time and covers everything written before it started, so a burst of appends
   * costs one or two. Rejects with the I/O error if a write or fdatasync failed (the log is then failed).
   */
  durable(seq: number = this.appended): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (seq > this.appended) seq = this.appended;
    if (seq <= this.synced) return Promise.resolve();
    if (this.closed) return Promise.reject(closedError(this.path));
    return new Promise((resolve, reject) => {
      this.waiters.push({ seq, resolve, reject });
      this.kick();
    });
  }

  /**
   * Replaces the file with one made of `file` (snapshot, compaction, snapshot install: §1.7) via "<file>.tmp"
   * and a rename, without blocking the event loop on the writes. Records appended before the call are
   * superseded (the caller's state includes them) and are durable once it resolves; records appended while
   * it runs are queued and written to the new file after it. Replacements run one after another. On failure
   * the old file stays in use (queued records go there) and the promise rejects; the log is not failed.
   */
  replace(file: SnapshotFile): Promise<void> {
    return this.replaceTexts(() => Promise.resolve(snapshotFileTexts(file)));
  }

  /**
   * replace() from a header and the records that follow it (entries, term/vote, commit index) as given. The
   * texts are made in event-loop slices (the snapshot's data is serialized once, entryDataTextAsync).
   */
  replaceRecords(header: MemberHeader, records: readonly LogRecord[]): Promise<void> {
    return this.replaceTexts(async () => {
      const slicer = timeSlicer();
      if (header.snapshot.index) await entryDataTextAsync(header.snapshot.data, slicer);
      const texts = [headerText(header)];
      for (const r of records) {
        texts.push(recordText(r));
        if (slicer.due()) await slicer.yield();
      }
      return texts;
    });
  }

  private replaceTexts(make: () => Promise<readonly string[]>): Promise<void> {
    try {
      this.checkUsable();
    } catch (e) {
      return Promise.reject(e);
    }
    const covered = this.appended;
    this.replacements++;
    const run = async (): Promise<void> => {
      const texts = await make();
      // An fdatasync on the old descriptor must finish before the replacement closes it.
      while (this.syncing) await this.syncing;
      this.checkUsable();
      try {
        await this.log.replaceWithAsync(texts);
      } catch (e) {
        throw toOvsdbError(e);
      }
      if (covered > this.written) this.written = covered;
      if (covered > this.synced) this.synced = covered;
    };
    const p = this.replaceChain.then(run);
    this.replaceChain = p.catch(() => {});
    return p.finally(() => {
      this.replacements--;
      // The records queued meanwhile that the new file does not hold.
      if (this.replacements === 0) this.flush(false);
      this.release();
      this.kick();
    });
  }

  /** Starts an fdatasync for the waiters, at the end of the current job (so records appended with it join). */
  private kick(): void {
    if (this.kickScheduled) return;
    this.kickScheduled = true;
    queueMicrotask(() => {
      this.kickScheduled = false;
      this.startSync();
    });
  }

  private startSync(): void {
    if (this.finished || this.syncing !== null || this.replacements > 0 || this.failure !== null) return;
    if (!this.waiters.some((w) => w.seq > this.synced) || this.written <= this.synced) return;
    const target = this.written;
    this.syncing = this.log.syncAsync().then(
      () => {
        this.syncing = null;
        if (target > this.synced) this.synced = target;
        this.release();
        this.kick();
      },
      (e: unknown) => {
        this.syncing = null;
        this.fail(toOvsdbError(e));
        this.release();
      },
    );
  }

  private release(): void {
    for (let i = 0; i < this.waiters.length; ) {
      const w = this.waiters[i]!;
      if (w.seq <= this.synced) {
        this.waiters.splice(i, 1);
        w.resolve();
      } else i++;
    }
    if (this.closed && this.syncing === null && this.replacements === 0) this.finishClose();
  }

  private fail(e: OvsdbError): OvsdbError {
    if (this.failure === null) this.failure = e;
    for (const w of this.waiters.splice(0)) w.reject(this.failure);
    return this.failure;
  }

  private checkUsable(): void {
    if (this.closed) throw closedError(this.path);
    if (this.failure) throw this.failure;
  }

  /**
   * Closes the file once the fdatasync and replacements in flight have finished, after a last fdatasync for
   * records someone is waiting for (their promises resolve; appends after close() throw). Releases the lock.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.closing = new Promise((resolve) => {
      this.onClosed = resolve;
    });
    // Every record appended reaches the file; those someone waits for get their fdatasync before it closes.
    this.flush(false, Infinity);
    this.startSync();
    if (this.syncing === null && this.replacements === 0) this.finishClose();
    return this.closing;
  }

  private finishClose(): void {
    const done = this.onClosed;
    if (done === null) return;
    this.flush(false, Infinity); // a backlog queued behind a replacement that just ended
    this.onClosed = null;
    this.finished = true;
    const err = this.failure ?? closedError(this.path);
    for (const w of this.waiters.splice(0)) w.reject(err);
    this.log.close();
    this.lock?.unlock();
    done();
  }

  stats() {
    return this.log.stats();
  }
}

function closedError(path: string): OvsdbError {
  return new OvsdbError('I/O error', `${path}: log is closed`);
}
