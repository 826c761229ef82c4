// `ovsdb-ts tool` on clustered database files (raft.md §1.8–1.9), as Debian's ovsdb-tool 3.1 behaves:
// create-cluster, join-cluster, db-cid/db-sid/db-local-address/db-name, show-log, check-cluster and
// cluster-to-standalone. Errors are thrown (OvsdbError / ToolFatal) and printed by runTool as
// "ovsdb-tool: <message>", exit 1.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { OvsdbError } from '../schema/error.ts';
import { isId } from '../schema/atom.ts';
import { parseJson, stringifyHashed, stringifySorted, type JsonObject, type JsonValue } from '../schema/json.ts';
import { ovsHashOrder } from '../schema/ovs-hash-order.ts';
import { parseSchema, schemaToJson } from '../schema/schema.ts';
import { snapshotRecord } from '../storage/file.ts';
import { MAGIC_CLUSTERED, MAGIC_STANDALONE } from '../storage/log-header.ts';
import { encodeRecord, LogError, RecordLog } from '../storage/log.ts';
import { clusterSchema } from '../raft/cluster-schema.ts';
import { ClusterLog, createClusterHeader, parseHeader, parseRecord } from '../raft/log.ts';
import { shortId, validateRaftAddress, type AddressLog } from '../raft/parse.ts';
import { MAX_ELECTION_TIMER, MIN_ELECTION_TIMER, type ClusterHeader, type LogEntry, type LogRecord, type Uuid } from '../raft/types.ts';
import { readDb } from './tool-db.ts';
import { ShowLogRenderer } from './tool-show-log.ts';

/** A fatal error printed as "ovsdb-tool: <message>" (ovs_fatal without an OVSDB error). */
export class ToolFatal extends Error {}

/** Log lines on stderr as ovsdb-tool prints them: `<time>|<seq>|<module>|<LEVEL>|<message>`. */
export type ToolLog = (module: string, level: 'ERR' | 'WARN' | 'INFO', message: string) => void;

export function makeToolLog(stderr: (text: string) => void): ToolLog {
  let seq = 0;
  return (module, level, message) => {
    seq++;
    const t = new Date().toISOString().slice(0, 19) + 'Z';
    stderr(`${t}|${String(seq).padStart(5, '0')}|${module}|${level}|${message}\n`);
  };
}

export interface ClusterToolIo {
  stdout(text: string): void;
  stderr(text: string): void;
  log: ToolLog;
}

function asOvsdb(e: unknown): never {
  if (e instanceof LogError) throw new OvsdbError(e.tag, e.details, e.ioError ? { ioError: e.ioError } : {});
  throw e;
}

const BOTH_MAGICS = [MAGIC_STANDALONE, MAGIC_CLUSTERED];

/** The file's magic (JSON or CLUSTER), as ovsdb_log_open with "JSON|CLUSTER" reads it. */
export function fileMagic(path: string): string {
  try {
    const log = RecordLog.open(path, { magic: BOTH_MAGICS });
    const m = log.magic;
    log.close();
    return m;
  } catch (e) {
    return asOvsdb(e);
  }
}

/** Refusal of the standalone-only commands (db-version, compact, query, …) on a clustered file. */
export function clusteredRefusal(path: string): OvsdbError {
  return new OvsdbError('ovsdb error', `${path}: cannot apply this operation to clustered database file`);
}

/** Record 0 of a file known to be clustered. */
function readHeader(path: string, log?: AddressLog): ClusterHeader {
  let rlog: RecordLog;
  try {
    rlog = RecordLog.open(path, { magic: BOTH_MAGICS });
  } catch (e) {
    asOvsdb(e);
  }
  try {
    if (rlog.magic !== MAGIC_CLUSTERED) throw new ToolFatal(`${path}: not a clustered database`);
    for (const rec of rlog.records()) return parseHeader(rec.json, log);
    throw new OvsdbError('ovsdb error', `${path}: clustered database file has no header record`);
  } catch (e) {
    return asOvsdb(e);
  } finally {
    rlog.close();
  }
}

const addressLogOf =
  (io: ClusterToolIo): AddressLog =>
  (module, level, message) =>
    io.log(module, level, message);

// ---------------------------------------------------------------------------------------------------------
// db-* on clustered files

export function dbCid(path: string, io: ClusterToolIo): number {
  const h = readHeader(path, addressLogOf(io));
  if (h.cid === undefined) {
    io.stderr(`${path}: cluster ID not yet known\n`);
    return 2;
  }
  io.stdout(`${h.cid}\n`);
  return 0;
}

export function dbSid(path: string, io: ClusterToolIo): number {
  io.stdout(`${readHeader(path, addressLogOf(io)).sid}\n`);
  return 0;
}

export function dbLocalAddress(path: string, io: ClusterToolIo): number {
  io.stdout(`${readHeader(path, addressLogOf(io)).localAddress}\n`);
  return 0;
}

/** db-name of a clustered file: the header's name (joining files too). */
export function clusteredDbName(path: string, io: ClusterToolIo): string {
  return readHeader(path, addressLogOf(io)).name;
}

// ---------------------------------------------------------------------------------------------------------
// create-cluster, join-cluster

/** --election-timer=MS, checked when the option is parsed (atoll, then 100..600000). */
export function parseElectionTimer(arg: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?[0-9]+)/.exec(arg);
  const v = m ? Number(m[1]) : 0;
  if (!(v >= MIN_ELECTION_TIMER && v <= MAX_ELECTION_TIMER)) {
    throw new OvsdbError('ovsdb error', `election timer must be between ${MIN_ELECTION_TIMER} and ${MAX_ELECTION_TIMER}, in msec.`);
  }
  return v;
}

/** --cid=UUID: a valid, non-zero UUID. */
export function parseCid(arg: string): Uuid {
  if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(arg) || /^[0-]*$/.test(arg)) {
    throw new ToolFatal(`${arg}: not a valid UUID`);
  }
  return arg.toLowerCase();
}

function readContents(contents: string, io: ClusterToolIo, policy: 'strict' | 'reference'): { schemaJson: JsonValue; data: JsonValue; fromDb: boolean } {
  // A schema file, else a standalone database (whose error is the one reported).
  let text: string | null = null;
  try {
    text = fs.readFileSync(contents, 'utf8');
  } catch {
    text = null;
  }
  if (text !== null) {
    try {
      const json = parseJson(text, true);
      parseSchema(json);
      return { schemaJson: json, data: {}, fromDb: false };
    } catch {
      /* not a schema: try a database */
    }
  }
  if (fileMagicOrNull(contents) === MAGIC_CLUSTERED) throw clusteredRefusal(contents);
  const db = readDb(contents, policy);
  // The schema as the database file holds it (member order matters for the warning's example column).
  let schemaJson: JsonValue = schemaToJson(db.schema);
  try {
    const log = RecordLog.open(contents, { magic: MAGIC_STANDALONE });
    for (const rec of log.records()) {
      schemaJson = rec.json;
      break;
    }
    log.close();
  } catch {
    /* an LMDB environment: its normalized schema */
  }
  return { schemaJson, data: snapshotRecord(db, `created from ${contents}`, true), fromDb: true };
}

function fileMagicOrNull(path: string): string | null {
  try {
    return fileMagic(path);
  } catch {
    return null;
  }
}

export function createCluster(
  args: readonly string[],
  opts: { electionTimer?: number; policy: 'strict' | 'reference' },
  io: ClusterToolIo,
): number {
  const [dbPath, contents, local] = args as [string, string, string];
  const src = readContents(contents, io, opts.policy);
  const cs = clusterSchema(src.schemaJson, contents, { fromDatabase: src.fromDb });
  if (cs.warning) io.log('ovsdb', 'WARN', cs.warning);
  const addrErr = validateRaftAddress(local, addressLogOf(io));
  if (addrErr) throw addrErr;
  const sid = randomUUID();
  const header = createClusterHeader({ sid, cid: randomUUID(), eid: randomUUID(), name: cs.schema.name, localAddress: local, data: [cs.json, src.data] });
  const records: LogRecord[] = [];
  if (opts.electionTimer) {
    records.push({ type: 'entry', term: 1, index: 2, entry: { term: 1, electionTimer: opts.electionTimer } });
  }
  void ClusterLog.create(dbPath, header, records, { lock: false }).close();
  return 0;
}

/**
 * The remote addresses of a joining header, in the order ovsdb-tool writes them: the arguments go into a
 * string set, which is copied (pre-sized) into the header, which lists the copy in its iteration order.
 */
export function joinRemoteOrder(argvRemotes: readonly string[]): string[] {
  const set = ovsHashOrder(argvRemotes);
  return ovsHashOrder(set, set.length);
}

export function joinCluster(args: readonly string[], opts: { cid?: Uuid }, io: ClusterToolIo): number {
  const [dbPath, name, local, ...remotes] = args as [string, string, string, ...string[]];
  if (!isId(name)) throw new ToolFatal(`${name}: not a valid schema name (use "schema-name" command to find the correct name)`);
  const log = addressLogOf(io);
  const localErr = validateRaftAddress(local, log);
  if (localErr) throw localErr;
  const set = ovsHashOrder(remotes);
  for (const r of set) {
    const err = validateRaftAddress(r, log);
    if (err) throw err;
    if (r === local) throw new OvsdbError('ovsdb error', 'remote addresses cannot be the same as the local address');
  }
  const header: ClusterHeader = {
    kind: 'joining',
    sid: randomUUID(),
    name,
    localAddress: local,
    remoteAddresses: joinRemoteOrder(remotes),
    ...(opts.cid ? { cid: opts.cid } : {}),
  };
  void ClusterLog.create(dbPath, header, [], { lock: false }).close();
  return 0;
}

// ---------------------------------------------------------------------------------------------------------
// show-log

function serversLine(label: string, servers: ReadonlyMap<Uuid, string>): string {
  const sids = [...servers.keys()].sort();
  return ` ${label}: ${sids.map((s) => `${s.slice(0, 4)}(${JSON.stringify(servers.get(s)!)})`).join(', ')}\n`;
}

type Emit = (text: string) => void;

/** print_data: the schema (if any) and the transaction of `[schema|null, txn|null]`. A bad schema is fatal. */
function dataLines(prefix: string, data: JsonValue | undefined, r: ShowLogRenderer, emit: Emit): void {
  if (data === undefined) return;
  if (!Array.isArray(data) || data.length !== 2) return emit(' ***invalid data***\n');
  if (data[0] !== null) {
    const schema = parseSchema(data[0]!);
    emit(` ${prefix}schema: "${schema.name}", version="${schema.version}", cksum="${schema.cksum}"\n`);
    r.setSchema(schema);
  }
  emit(r.change(data[1]!));
}

const ZERO = '00000000-0000-0000-0000-000000000000';

function headerLines(h: ClusterHeader, r: ShowLogRenderer, emit: Emit): void {
  emit(` name: "${h.name}'\n`); // (sic) QUIRK R1: the closing quote is a single quote
  emit(` local address: "${h.localAddress}"\n`);
  emit(` server_id: ${shortId(h.sid)}\n`);
  if (h.cid !== undefined && h.cid !== ZERO) emit(` cluster_id: ${shortId(h.cid)}\n`);
  if (h.kind === 'joining') {
    // In the order of OVS's string set built from the array.
    if (h.remoteAddresses.length > 0) emit(` remote_addresses:${ovsHashOrder(h.remoteAddresses).map((a) => ` ${a}`).join('')}\n`);
    return;
  }
  const s = h.snapshot;
  if (!s.index) return;
  emit(` prev_index: ${s.index}\n prev_term: ${s.term}\n`);
  emit(serversLine('prev_servers', s.servers));
  if (s.eid !== ZERO) emit(` prev_eid: ${shortId(s.eid)}\n`);
  dataLines('prev_', s.data, r, emit);
}

function recordLines(rec: LogRecord, r: ShowLogRenderer, emit: Emit): void {
  if (rec.comment !== undefined) emit(` comment: "${rec.comment}"\n`);
  const term = rec.type === 'note' || rec.type === 'commit_index' ? 0 : rec.term;
  if (term) emit(` term: ${term}\n`);
  switch (rec.type) {
    case 'entry':
      emit(` index: ${rec.index}\n`);
      if (rec.entry.servers) emit(serversLine('servers', rec.entry.servers));
      if (rec.entry.eid !== undefined && rec.entry.eid !== ZERO) emit(` eid: ${shortId(rec.entry.eid)}\n`);
      dataLines('', rec.entry.data, r, emit);
      return;
    case 'vote':
      return emit(` vote: ${shortId(rec.vote)}\n`);
    case 'note':
      return emit(` note: "${rec.note}"\n`);
    case 'commit_index':
      return emit(` commit_index: ${rec.commitIndex}\n`);
    case 'leader':
      return emit(` leader: ${shortId(rec.leader)}\n`);
    case 'term':
      return;
  }
}

/**
 * show-log of a clustered file (§1.9): per record `record N:`, its lines, an empty line. A record that does
 * not parse is shown as its error; a torn tail or a bad schema in the data ends it with an error.
 */
export function showLogCluster(path: string, more: number, io: ClusterToolIo & { program: string }): number {
  let log: RecordLog;
  try {
    log = RecordLog.open(path, { magic: BOTH_MAGICS, policy: 'reference' });
  } catch (e) {
    asOvsdb(e);
  }
  const r = new ShowLogRenderer(null, more);
  const alog = addressLogOf(io);
  const emit: Emit = (t) => io.stdout(t);
  let n = 0;
  try {
    for (const rec of log.records()) {
      emit(`record ${n}:\n`);
      let parsed: ClusterHeader | LogRecord | OvsdbError;
      try {
        parsed = n === 0 ? parseHeader(rec.json, alog) : parseRecord(rec.json, alog);
      } catch (e) {
        if (!(e instanceof OvsdbError)) throw e;
        parsed = e;
      }
      if (parsed instanceof OvsdbError) emit(`${parsed.render()}\n`);
      else if (n === 0) headerLines(parsed as ClusterHeader, r, emit);
      else recordLines(parsed as LogRecord, r, emit);
      emit('\n');
      n++;
    }
  } finally {
    log.close();
  }
  if (log.recovery) {
    io.stderr(`${io.program}: ${log.recovery.error.render()}\n`);
    return 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------------------
// check-cluster

interface CheckedServer {
  readonly filename: string;
  readonly header: ClusterHeader & { kind: 'member' };
  readonly records: JsonValue[];
  /** What stopped reading the file early (fatal once the replay gets there). */
  readonly readError: OvsdbError | null;
  logStart: number;
  logEnd: number;
  entries: LogEntry[];
}

function entriesEqual(a: LogEntry, b: LogEntry): boolean {
  const servers = (e: LogEntry) => (e.servers === undefined ? null : stringifySorted(Object.fromEntries(e.servers)));
  return (
    a.term === b.term &&
    (a.eid ?? '') === (b.eid ?? '') &&
    servers(a) === servers(b) &&
    stringifySorted(a.data === undefined ? null : a.data) === stringifySorted(b.data === undefined ? null : b.data)
  );
}

function entryJsonSorted(e: LogEntry): string {
  const o: JsonObject = { term: e.term };
  if (e.data !== undefined && e.eid !== undefined) {
    o.data = e.data;
    o.eid = e.eid;
  }
  if (e.servers !== undefined) o.servers = Object.fromEntries(e.servers);
  return stringifySorted(o);
}

/**
 * Reads the records of a clustered file for check-cluster: those before any damage, and the read error that
 * ends them (fatal when the replay reaches it, as ovsdb-tool reads records as it replays them).
 */
function readAllClustered(path: string): { records: JsonValue[]; error: OvsdbError | null } {
  let log: RecordLog;
  try {
    log = RecordLog.open(path, { magic: MAGIC_CLUSTERED, policy: 'reference' });
  } catch (e) {
    asOvsdb(e);
  }
  try {
    const records = log.readAll().map((r) => r.json as JsonValue);
    const e = log.recovery?.error;
    return { records, error: e ? new OvsdbError(e.tag, e.details, e.ioError ? { ioError: e.ioError } : {}) : null };
  } catch (e) {
    return asOvsdb(e);
  } finally {
    log.close();
  }
}

/** check-cluster DB...: replays every file and checks the Raft invariants; silent and 0 when fine. */
export function checkCluster(files: readonly string[], io: ClusterToolIo): number {
  const servers: CheckedServer[] = [];
  const alog = addressLogOf(io);
  for (const filename of files) {
    const { records, error } = readAllClustered(filename);
    if (records.length === 0) throw error ?? new OvsdbError('ovsdb error', `${filename}: clustered database file has no header record`);
    const header = parseHeader(records[0]!, alog);
    if (header.kind === 'joining') {
      io.stdout(`${filename} has not joined the cluster, omitting\n`);
      continue;
    }
    for (const other of servers) {
      if (other.header.sid === header.sid) throw new ToolFatal(`Duplicate server ID ${shortId(header.sid)} in ${filename} and ${other.filename}.`);
    }
    const s0 = servers[0];
    if (s0 !== undefined) {
      if (s0.header.cid !== header.cid) {
        throw new ToolFatal(`${s0.filename} has cluster ID ${shortId(s0.header.cid)} but ${filename} has cluster ID ${shortId(header.cid)}`);
      }
      if (s0.header.name !== header.name) throw new ToolFatal(`${s0.filename} is named "${s0.header.name}" but ${filename} is named "${header.name}"`);
    }
    servers.push({ filename, header, records, readError: error, logStart: 0, logEnd: 0, entries: [] });
  }

  const nameOf = (sid: Uuid) => servers.find((s) => s.header.sid === sid)?.filename ?? shortId(sid);
  const leaders = new Map<number, { server: CheckedServer; leader: Uuid; logEnd: number }>();
  const commits = new Map<number, { server: CheckedServer; index: number }>();
  let minTerm = Number.POSITIVE_INFINITY;
  let maxTerm = 0;

  for (const s of servers) {
    const snap = s.header.snapshot;
    s.logStart = s.logEnd = snap.index + 1;
    let term = 0;
    let vote: Uuid | null = null;
    let leader: Uuid | null = null;
    let leaderRec = 0;
    let commitIndex = snap.index;
    for (let n = 1; n < s.records.length; n++) {
      const r = parseRecord(s.records[n]!, alog);
      const rt = r.type === 'note' || r.type === 'commit_index' ? 0 : r.term;
      if (rt > term) {
        term = rt;
        vote = null;
        leader = null;
        leaderRec = 0;
      }
      if (term < minTerm) minTerm = term;
      if (term > maxTerm) maxTerm = term;
      const f = s.filename;
      switch (r.type) {
        case 'entry': {
          if (r.index < commitIndex) {
            throw new ToolFatal(`${f}: record ${n} attempts to truncate log from ${s.logEnd} to ${r.index} entries, but commit index is already ${commitIndex}`);
          }
          if (r.index > s.logEnd) throw new ToolFatal(`${f}: record ${n} with index ${r.index} skips past expected index ${s.logEnd}`);
          if (r.index < s.logEnd) {
            if (leader === s.header.sid) {
              throw new ToolFatal(`${f}: record ${n} truncates log from ${s.logEnd} to ${r.index} entries while server is leader`);
            }
            io.stdout(`${f}: record ${n} truncates log from ${s.logEnd} to ${r.index} entries\n`);
            s.logEnd = Math.max(r.index, s.logStart);
            s.entries.length = s.logEnd - s.logStart;
          }
          const last = s.entries[s.entries.length - 1];
          const prevTerm = last === undefined ? snap.term : last.term;
          if (r.term < prevTerm) {
            throw new ToolFatal(`${f}: record ${n} with index ${r.index} term ${r.term} precedes previous entry's term ${prevTerm}`);
          }
          s.entries.push(r.entry);
          s.logEnd++;
          break;
        }
        case 'vote':
          if (r.term < term) throw new ToolFatal(`${f}: record ${n} votes for term ${r.term} but current term is ${term}`);
          if (vote !== null && vote !== r.vote) {
            throw new ToolFatal(
              `${f}: record ${n} votes for ${nameOf(vote)} in term ${r.term} but a previous record for the same term voted for ${nameOf(r.vote)}`,
            );
          }
          vote = r.vote;
          break;
        case 'note':
          if (r.note === 'left') io.stdout(`${f}: record ${n} shows that the server left the cluster\n`);
          break;
        case 'commit_index':
          if (r.commitIndex < commitIndex) throw new ToolFatal(`${f}: record ${n} regresses commit index from ${commitIndex} to ${r.commitIndex}`);
          if (r.commitIndex >= s.logEnd) {
            throw new ToolFatal(`${f}: record ${n} advances commit index to ${r.commitIndex} but last log index is ${s.logEnd - 1}`);
          }
          commitIndex = r.commitIndex;
          {
            const c = commits.get(term);
            if (c === undefined) commits.set(term, { server: s, index: r.commitIndex });
            else if (r.commitIndex > c.index) commits.set(term, { server: s, index: r.commitIndex });
          }
          break;
        case 'leader': {
          if (r.leader !== leader) {
            if (leader === null) {
              leader = r.leader;
              leaderRec = n;
            } else {
              throw new ToolFatal(
                `${f}: record ${n} reports leader ${nameOf(r.leader)} for term ${term} but record ${leaderRec} previously reported the leader as ${nameOf(leader)} in that term`,
              );
            }
          }
          const isLeader = s.header.sid === r.leader;
          const p = leaders.get(term);
          if (p !== undefined) {
            if (p.leader !== r.leader) {
              throw new ToolFatal(
                `term ${term} has two different leaders: ${p.server.filename} says that the leader is ${nameOf(p.leader)} and ${f} says that the leader is ${nameOf(r.leader)}`,
              );
            }
            if (isLeader && s.logEnd > p.logEnd) p.logEnd = s.logEnd;
          } else {
            leaders.set(term, { server: s, leader: r.leader, logEnd: isLeader ? s.logEnd : 0 });
          }
          break;
        }
        case 'term':
          break;
      }
    }
    if (s.readError) throw s.readError;
  }

  // Leader Completeness: an entry committed in a term is in the logs of the leaders of later terms.
  if (minTerm === Number.POSITIVE_INFINITY || maxTerm === 0) throw new ToolFatal('all logs are empty');
  let commit: { server: CheckedServer; index: number } | undefined;
  for (let term = minTerm; term <= maxTerm; term++) {
    const leader = leaders.get(term);
    if (leader && leader.logEnd && commit && commit.index >= leader.logEnd) {
      throw new ToolFatal(
        `leader ${leader.server.filename} for term ${term} has log entries only up to index ${leader.logEnd - 1}, but index ${commit.index} was committed in a previous term (e.g. by ${commit.server.filename})`,
      );
    }
    const next = commits.get(term);
    if (next && (!commit || next.index > commit.index)) commit = next;
  }

  // Log Matching: entries with the same index and term are equal, and so are all entries before them.
  for (const a of servers) {
    for (const b of servers) {
      if (a === b) continue;
      let mustEqual = false;
      for (let idx = Math.min(a.logEnd, b.logEnd) - 1; idx >= Math.max(a.logStart, b.logStart); idx--) {
        const ae = a.entries[idx - a.logStart]!;
        const be = b.entries[idx - b.logStart]!;
        if (ae.term === be.term) mustEqual = true;
        if (!mustEqual || entriesEqual(ae, be)) continue;
        throw new ToolFatal(`log entries with index ${idx} differ:\n${a.filename} has ${entryJsonSorted(ae)}\n${b.filename} has ${entryJsonSorted(be)}`);
      }
    }
  }

  // Every server appears in its own configuration (snapshot or some entry), compared by 4-digit prefix.
  for (const s of servers) {
    const id = shortId(s.header.sid);
    const has = (m: ReadonlyMap<Uuid, string>) => [...m.keys()].some((k) => k.startsWith(id));
    const found = has(s.header.snapshot.servers) || s.entries.some((e) => e.servers !== undefined && has(e.servers));
    if (!found) throw new ToolFatal(`${s.filename}: server ${id} not found in server list`);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------------------
// cluster-to-standalone

/**
 * cluster-to-standalone STANDALONE CLUSTERED, as ovsdb-tool 3.1 does it (QUIRK R5, copied): the snapshot's
 * schema and transaction, then the transaction of every entry with data in file order, committed or not,
 * truncated or not, later schemas ignored. The output file is created before the source is checked, so a
 * refused source leaves it empty; a joining source gives an empty file.
 */
export function clusterToStandalone(args: readonly string[], io: ClusterToolIo): number {
  const [standalone, clustered] = args as [string, string];
  let src: RecordLog;
  try {
    src = RecordLog.open(clustered, { magic: BOTH_MAGICS, policy: 'reference' });
  } catch (e) {
    asOvsdb(e);
  }
  let fd: number;
  try {
    fd = fs.openSync(standalone, 'wx', 0o660);
  } catch (e) {
    src.close();
    const code = (e as NodeJS.ErrnoException).code;
    throw new OvsdbError('I/O error', `${standalone}: create failed`, { ioError: code === 'EEXIST' ? 'File exists' : code === 'ENOENT' ? 'No such file or directory' : String(code) });
  }
  let pos = 0;
  const write = (json: JsonValue) => {
    const rec = encodeRecord(stringifyHashed(json));
    fs.writeSync(fd, rec, 0, rec.length, pos);
    pos += rec.length;
  };
  const alog = addressLogOf(io);
  try {
    if (src.magic !== MAGIC_CLUSTERED) throw new ToolFatal('Database is not clustered db.\n');
    let n = 0;
    for (const rec of src.records()) {
      if (n++ === 0) {
        const h = parseHeader(rec.json, alog);
        if (h.kind === 'member' && h.snapshot.index) {
          const data = h.snapshot.data;
          if (!Array.isArray(data) || data.length !== 2) throw new ToolFatal('Incorrect raft header data array length');
          if (data[0] !== null) {
            parseSchema(data[0]!);
            write(data[0]!);
          }
          const txn = data[1]!;
          if (txn === null || typeof txn !== 'object' || Array.isArray(txn)) throw new ToolFatal('Invalid raft header data');
          write(txn);
        }
        continue;
      }
      const r = parseRecord(rec.json, alog);
      if (r.type !== 'entry' || r.entry.data === undefined) continue;
      const data = r.entry.data;
      if (!Array.isArray(data) || data.length !== 2) throw new ToolFatal('Incorrect raft record array length');
      if (data[1] !== null) write(data[1]!);
    }
    if (src.recovery) throw src.recovery.error;
    fs.fsyncSync(fd);
  } catch (e) {
    return asOvsdb(e);
  } finally {
    fs.closeSync(fd);
    src.close();
  }
  return 0;
}
