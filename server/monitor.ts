// Monitors (RFC 7047 §4.1.5–4.1.7, ovsdb-server(7) monitor_cond / monitor_cond_change / monitor_cond_since):
// the per-session Monitor and the per-database MonitorSet that fans each commit out to them.
//
// Fan-out cost is per distinct monitor *shape* (version family + tables/columns/select/conditions), not per
// monitor: for each commit the <table-updates> text is built and serialized once per shape and the same
// string is handed to every monitor of that shape; a notification is then one string concatenation.
//
// Unsent changes: a monitor holds at most one unsent update, a PendingUpdate shared by every monitor of its
// shape that took its last update at the same point. Commits until the session takes it (sessions take
// updates in output rounds, and not while their socket has a send backlog) fold into it as net row changes
// (first old, last new), so a burst of commits costs one composition per shape and reaches each monitor as
// one update, as the reference merges updates for a backlogged session.
import { isUuid, ZERO_UUID } from '../schema/atom.ts';
import { syntaxError } from '../schema/error.ts';
import { stringify, type JsonObject, type JsonValue } from '../schema/json.ts';
import type { Clause } from '../storage/condition.ts';
import type { Commit, Database } from '../storage/database.ts';
import type { CommitHistory } from './history.ts';
import {
  composeConditionChange,
  composeInitial,
  composeInitialText,
  composeUpdates,
  composeUpdatesText,
  DeltaBuffer,
  matchSignature,
  type TableDeltas,
} from './monitor-compose.ts';
import {
  makeMonitoredTable,
  makeSpec,
  parseConditionChange,
  parseMonitorRequest,
  whereKey,
  type MonitoredTable,
  type MonitorSpec,
  type MonitorVersion,
} from './monitor-spec.ts';

export { parseMonitorRequest } from './monitor-spec.ts';
export type { MonitoredColumn, MonitoredTable, MonitorSpec, MonitorVersion } from './monitor-spec.ts';
export { CommitHistory } from './history.ts';

const METHODS: Record<MonitorVersion, string> = { 1: 'update', 2: 'update2', 3: 'update3' };

/** Checks the <last-txn-id> of monitor_cond_since; returns it lowercased. */
export function parseLastTxnId(json: JsonValue): string {
  if (typeof json !== 'string') throw syntaxError('last-txn-id must be string', json);
  if (!isUuid(json)) throw syntaxError('last-txn-id must be UUID format.', json);
  return json.toLowerCase();
}

export class Monitor {
  private idJson: JsonValue;
  private idText: string;
  private specValue: MonitorSpec;
  /** The set this monitor is registered with (it regroups us when our shape changes). */
  private owner: MonitorSet | null = null;

  /** The unsent changes (shared with the monitors of this shape that took their last update with us). */
  private pending: PendingUpdate | null = null;
  private lastTxnId = ZERO_UUID;
  /** Messages built before a condition change, still to be taken, oldest first. */
  private frozen: string[] = [];

  constructor(
    readonly db: Database,
    id: JsonValue,
    spec: MonitorSpec,
  ) {
    this.idJson = id;
    this.idText = stringify(id);
    this.specValue = spec;
  }

  get id(): JsonValue {
    return this.idJson;
  }

  get version(): MonitorVersion {
    return this.specValue.version;
  }

  get spec(): MonitorSpec {
    return this.specValue;
  }

  /** monitor_cond_change may rename a monitor (the session checks the new id is free). */
  rename(id: JsonValue): void {
    this.idJson = id;
    this.idText = stringify(id);
  }

  /** The reply of `monitor` / `monitor_cond`: initial contents (v1 <table-updates>, v2 <table-updates2>). */
  initial(): JsonObject {
    return composeInitial(this.db, this.specValue);
  }

  /** initial() as JSON text (what the session sends). */
  initialText(): string {
    return composeInitialText(this.db, this.specValue);
  }

  /**
   * The reply of `monitor_cond_since`: `[true, latest, <changes after lastTxnId>]` when the history has
   * them, else `[false, latest, <initial contents>]`.
   */
  sinceResult(history: CommitHistory, lastTxnId: string): JsonValue[] {
    const changes = history.since(lastTxnId, this.specValue.tables);
    if (changes === undefined) return [false, history.latest, this.initial()];
    return [true, history.latest, composeUpdates(this.specValue, changes.tables) ?? {}];
  }

  /** sinceResult() as JSON text. */
  sinceResultText(history: CommitHistory, lastTxnId: string): string {
    const changes = history.since(lastTxnId, this.specValue.tables);
    const latest = JSON.stringify(history.latest);
    if (changes === undefined) return '[false,' + latest + ',' + this.initialText() + ']';
    return '[true,' + latest + ',' + (composeUpdatesText(this.specValue, changes.tables) ?? '{}') + ']';
  }

  /**
   * monitor_cond_change: validates <monitor-cond-update-requests> (errors as the reference), swaps the
   * conditions and returns the <table-updates2> of rows entering (insert) or leaving (delete) the monitor,
   * or null if there is nothing to send. Send it with `message(stringify(body), txnId)` (the new id is used
   * if rename() was called first) before the `{}` reply. A v1 monitor only validates and returns null.
   */
  changeConditions(requests: JsonValue): JsonObject | null {
    const changes = parseConditionChange(this.db, this.specValue, requests);
    const swaps = new Map<string, { before: MonitoredTable; after: MonitoredTable }>();
    for (const [name, { where, trueCondition }] of changes) {
      const before = this.specValue.tables.get(name)!;
      if (sameWhere(before, where) && before.trueCondition === trueCondition) continue;
      // The reference writes this update in hash order, whatever the monitor's mode.
      const after = makeMonitoredTable(before.table, before.columns, before.select, where, trueCondition, false);
      swaps.set(name, { before, after });
    }
    if (swaps.size === 0) return null;
    // An unsent update was computed under the old conditions: fix it as a message now.
    const pending = this.buildPending();
    if (pending !== null) this.frozen.push(pending);
    const tables = new Map(this.specValue.tables);
    for (const [name, { after }] of swaps) tables.set(name, after);
    const owner = this.owner;
    owner?.remove(this);
    const rank = this.specValue.tableRank;
    this.specValue = makeSpec(this.specValue.version, tables, rank);
    owner?.add(this);
    return composeConditionChange(this.db, swaps, rank);
  }

  /** A full update notification for a serialized <table-updates> body (v3 carries `txnId`). */
  message(body: string, txnId: string = this.lastTxnId): string {
    const v = this.specValue.version;
    const params = v === 3 ? `[${this.idText},"${txnId}",${body}]` : `[${this.idText},${body}]`;
    return `{"id":null,"method":"${METHODS[v]}","params":${params}}`;
  }

  /** True if takeUpdate() may return a message. */
  get hasUpdate(): boolean {
    return this.pending !== null || this.frozen.length > 0;
  }

  /**
   * The next unsent update notification (the complete JSON-RPC text), or null. Call until null when the
   * session can write: usually there is one message; after a condition change there may be two.
   */
  takeUpdate(): string | null {
    if (this.frozen.length > 0) return this.frozen.shift()!;
    return this.buildPending();
  }

  /** Drops any unsent update (the monitor is being canceled). */
  discardUpdates(): void {
    this.detach();
    this.frozen = [];
  }

  private buildPending(): string | null {
    const p = this.pending;
    if (p === null) return null;
    this.lastTxnId = p.lastTxnId;
    const body = p.body();
    this.detach();
    return body === null ? null : this.message(body, p.lastTxnId);
  }

  private detach(): void {
    const p = this.pending;
    if (p !== null && --p.holders === 0) p.release();
    this.pending = null;
  }

  /** @internal MonitorSet registers and unregisters us. */
  setOwner(owner: MonitorSet | null): void {
    this.owner = owner;
  }

  /** @internal MonitorSet: does this monitor hold unsent changes (which then receive the next commit)? */
  get busy(): boolean {
    return this.pending !== null;
  }

  /** @internal MonitorSet: the unsent changes this monitor now shares (only when not busy). */
  attach(p: PendingUpdate): void {
    this.pending = p;
    p.holders++;
  }
}

/**
 * Net row changes since one commit, shared by every unsent update that started there, whatever its shape,
 * with the bodies composed from them: specs of one family whose conditions match the same changed rows
 * (matchSignature) share one text, so monitors that differ only in conditions that select the same rows —
 * ovn-controllers through a relay — cost one composition per round, not one each.
 */
class ChangeRun {
  /** Unsent updates built on this run; at 0 the MonitorSet drops it. */
  holders = 0;
  /** Bumped by every add(): texts composed before it are stale. */
  version = 0;
  private single: TableDeltas | null;
  private buffer: DeltaBuffer | null = null;
  /** Tables some holder monitors (later commits keep only these). */
  private readonly watched = new Set<string>();
  /** Composed bodies of this version: family key → match signature → text (null: nothing to report). */
  private texts = new Map<string, Map<string, string | null>>();

  constructor(first: TableDeltas) {
    this.single = first;
  }

  watch(spec: MonitorSpec): void {
    for (const name of spec.tables.keys()) this.watched.add(name);
  }

  add(tables: TableDeltas): void {
    if (this.buffer === null) {
      this.buffer = new DeltaBuffer();
      this.buffer.add(this.single!, this.watched);
      this.single = null;
    }
    this.buffer.add(tables, this.watched);
    this.version++;
    if (this.texts.size > 0) this.texts = new Map();
  }

  body(spec: MonitorSpec): string | null {
    const tables = this.single ?? this.buffer!.tables;
    let bySig = this.texts.get(spec.familyKey);
    if (bySig === undefined) this.texts.set(spec.familyKey, (bySig = new Map()));
    const sig = matchSignature(spec, tables);
    let text = bySig.get(sig);
    if (text === undefined) {
      text = composeUpdatesText(spec, tables);
      bySig.set(sig, text);
    }
    return text;
  }

  /** Dropped by its last holder: let go of the changes and texts (they may be large). */
  release(): void {
    this.single = null;
    this.buffer = null;
    this.texts = new Map();
  }
}

/**
 * Changes not yet sent to the monitors of one shape that took their last update at the same point: a run
 * of commits from there on, of which this shape reports what its tables and conditions select.
 */
class PendingUpdate {
  /** Monitors holding this update; at 0 the MonitorSet drops it. */
  holders = 0;
  /** The last commit that touched this shape's tables. */
  lastTxnId: string;
  private text: string | null = null;
  private textVersion = -1;

  constructor(
    private readonly spec: MonitorSpec,
    private readonly run: ChangeRun,
    txnId: string,
  ) {
    run.holders++;
    run.watch(spec);
    this.lastTxnId = txnId;
  }

  /** The <table-updates> text, or null when the net change is nothing this shape reports. */
  body(): string | null {
    if (this.textVersion !== this.run.version) {
      this.text = this.run.body(this.spec);
      this.textVersion = this.run.version;
    }
    return this.text;
  }

  /** Taken by its last holder. */
  release(): void {
    this.text = null;
    if (--this.run.holders === 0) this.run.release();
  }
}

function sameWhere(mt: MonitoredTable, where: readonly Clause[]): boolean {
  return mt.where.length === where.length && whereKey(mt.where) === whereKey(where);
}

interface ShapeGroup {
  readonly spec: MonitorSpec;
  readonly monitors: Set<Monitor>;
  /** Unsent updates still held by some monitor of this group. */
  readonly pending: Set<PendingUpdate>;
}

/** All monitors of one database, grouped by shape; the server calls onCommit() after every applied commit. */
export class MonitorSet {
  private readonly groups = new Map<string, ShapeGroup>();
  /** Change runs some unsent update is built on. */
  private readonly runs = new Set<ChangeRun>();
  private count = 0;

  constructor(readonly db: Database) {}

  /** Parses a request and registers a new monitor (compute its initial() before the next commit). */
  create(id: JsonValue, version: MonitorVersion, monitorRequests: JsonValue): Monitor {
    const m = new Monitor(this.db, id, parseMonitorRequest(this.db, version, monitorRequests));
    this.add(m);
    return m;
  }

  add(m: Monitor): void {
    const key = m.spec.shapeKey;
    let g = this.groups.get(key);
    if (g === undefined) this.groups.set(key, (g = { spec: m.spec, monitors: new Set(), pending: new Set() }));
    if (!g.monitors.has(m)) {
      g.monitors.add(m);
      this.count++;
    }
    m.setOwner(this);
  }

  remove(m: Monitor): void {
    const key = m.spec.shapeKey;
    const g = this.groups.get(key);
    if (g === undefined || !g.monitors.delete(m)) return;
    this.count--;
    if (g.monitors.size === 0) this.groups.delete(key);
    m.setOwner(null);
  }

  /** Registered monitors. */
  get size(): number {
    return this.count;
  }

  /** Distinct shapes (each costs one serialization per commit). */
  get shapes(): number {
    return this.groups.size;
  }

  /** Fans a just-applied commit out to every monitor; sessions then collect with Monitor.takeUpdate(). */
  onCommit(commit: Commit, txnId: string = ZERO_UUID): void {
    const tables = commit.tables;
    // Runs still held take the commit once each, whatever the number of shapes on them.
    for (const run of this.runs) {
      if (run.holders === 0) this.runs.delete(run);
      else run.add(tables);
    }
    let fresh: ChangeRun | null = null;
    for (const g of this.groups.values()) {
      if (!touches(g.spec, tables)) continue;
      for (const p of g.pending) {
        if (p.holders === 0) g.pending.delete(p);
        else p.lastTxnId = txnId;
      }
      // Monitors with no unsent update share a new one, on a run that starts here.
      let update: PendingUpdate | null = null;
      for (const m of g.monitors) {
        if (m.busy) continue;
        if (update === null) {
          if (fresh === null) this.runs.add((fresh = new ChangeRun(tables)));
          update = new PendingUpdate(g.spec, fresh, txnId);
          g.pending.add(update);
        }
        m.attach(update);
      }
    }
  }
}

function touches(spec: MonitorSpec, tables: TableDeltas): boolean {
  if (tables.size <= spec.tables.size) {
    for (const name of tables.keys()) if (spec.tables.has(name)) return true;
  } else {
    for (const name of spec.tables.keys()) if (tables.has(name)) return true;
  }
  return false;
}
