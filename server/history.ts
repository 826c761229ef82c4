// A bounded per-database commit history (txn id → changes), so that `monitor_cond_since` with a recent
// last-txn-id can answer with only the changes after it. The reference keeps history only for clustered
// and relay databases; we keep it for every database (see reference §3.14.2) unless the server runs with
// --standalone-history=off.
//
// Bounds: at most `maxCommits` commits, `maxRowChanges` row changes and `maxBytes` of superseded values in
// total (defaults 100, 10,000 and 4 MiB: enough for a client that reconnects after a short outage, small next
// to the rows it would otherwise get). Rows are shared, immutable objects: a row the database still holds
// costs the history nothing, but the old version of an updated or deleted row lives as long as its entry,
// which is what `maxBytes` bounds (one 64 MiB update would otherwise stay in memory 100 commits long).
// Clustered and relay databases also get the reference's own bound (raft.md §3.4, `boundByAtoms`): commits
// are dropped from the front while their old and new rows hold more atoms than the database, one always
// kept; a history that starts from a snapshot counts it as its first commit. The id of the last commit dropped stays findable
// (everything after it is kept), where the reference finds only the ids of the commits it keeps.
//
// A history starts (and restarts after clear()) at a fresh random id, never the all-zero one: a client that
// got it resumes with found:true, and a reference relay in front of an empty ovsdb-ts database keeps its
// history on (it turns history off for good when its source reports the all-zero id, as a reference
// standalone does) — like a clustered database, which reports its snapshot's id even when empty.
//
// A relay whose source hands out no transaction ids (a reference standalone server sends the all-zero id)
// turns its history off, as the reference relay does: `latest` is then the all-zero id and nothing is found.
import { newUuid, ZERO_UUID, type Atom } from '../schema/atom.ts';
import type { Datum } from '../schema/datum.ts';
import { rowAtoms, type Commit } from '../storage/database.ts';
import { DeltaBuffer, type TableDeltas } from './monitor-compose.ts';

export const DEFAULT_HISTORY_COMMITS = 100;
export const DEFAULT_HISTORY_ROW_CHANGES = 10_000;
export const DEFAULT_HISTORY_BYTES = 4 * 1024 * 1024;

export interface CommitHistoryOptions {
  readonly maxCommits?: number;
  readonly maxRowChanges?: number;
  /** Bound on the (estimated) size of the old row versions the kept commits hold alive. */
  readonly maxBytes?: number;
  /**
   * Keep nothing, as the reference does for standalone databases (--standalone-history=off): as after
   * setEnabled(false), every txn id is unknown and the latest is the all-zero uuid, so monitor_cond_since
   * always answers `[false, 00000000-…, <initial>]` and update3 carries the all-zero id.
   */
  readonly disabled?: boolean;
  /**
   * The reference's bound for the histories it keeps (clustered and relay databases): the kept commits'
   * old and new rows hold at most as many atoms as the database (record()'s `dbAtoms`), one always kept.
   * Standalone histories, ours alone, keep the bounds above only: a small database with large transactions
   * would otherwise keep almost nothing.
   */
  readonly boundByAtoms?: boolean;
}

interface Entry {
  readonly txnId: string;
  readonly tables: TableDeltas;
  readonly rowChanges: number;
  readonly bytes: number;
  /** Atoms of the changed rows' old and new versions (the reference's txn-history-atoms share). */
  readonly atoms: number;
}

// Estimated heap bytes of atoms and rows (V8 object header plus payload); only their sum matters.
const ATOM_BYTES = 16;
const ROW_BYTES = 64;

function atomsBytes(atoms: readonly Atom[]): number {
  let n = atoms.length * ATOM_BYTES;
  for (let i = 0; i < atoms.length; i++) {
    const a = atoms[i];
    if (typeof a === 'string') n += a.length;
  }
  return n;
}

function datumBytes(d: Datum): number {
  return d.values === undefined ? atomsBytes(d.keys) : atomsBytes(d.keys) + atomsBytes(d.values);
}

/**
 * What keeping `commit` holds alive beyond the database: the old versions of the rows it updated or deleted
 * (only their columns that changed: unchanged datums are shared with the new version). Stops counting past
 * `limit`.
 */
function supersededBytes(commit: Commit, limit: number): number {
  let n = 0;
  for (const rows of commit.tables.values()) {
    for (const change of rows.values()) {
      const old = change.old;
      if (old === null) continue;
      const next = change.new;
      n += ROW_BYTES + old.data.length * 8;
      for (let i = 0; i < old.data.length; i++) {
        const d = old.data[i]!;
        if (next === null || next.data[i] !== d) n += datumBytes(d);
      }
      if (n > limit) return n;
    }
  }
  return n;
}

export class CommitHistory {
  readonly maxCommits: number;
  readonly maxRowChanges: number;
  readonly maxBytes: number;
  /** Oldest first; entries[head] applies on top of the state named by `base`. Evicted slots (below head) are
   * cleared at once, so what they held is garbage before the array's next compaction. */
  private entries: (Entry | undefined)[] = [];
  private head = 0;
  private rowChanges = 0;
  private bytes = 0;
  private atomCount = 0;
  private readonly boundByAtoms: boolean;
  private base: string = newUuid();
  private last = this.base;
  private enabledValue = true;

  constructor(opts: CommitHistoryOptions = {}) {
    this.maxCommits = Math.max(0, opts.maxCommits ?? DEFAULT_HISTORY_COMMITS);
    this.maxRowChanges = Math.max(0, opts.maxRowChanges ?? DEFAULT_HISTORY_ROW_CHANGES);
    this.maxBytes = Math.max(0, opts.maxBytes ?? DEFAULT_HISTORY_BYTES);
    this.boundByAtoms = opts.boundByAtoms ?? false;
    if (opts.disabled) this.setEnabled(false);
  }

  /** The id of the newest commit, or of the (empty) starting point; the all-zero uuid when disabled. */
  get latest(): string {
    return this.last;
  }

  /** Commits currently kept. */
  get size(): number {
    return this.entries.length - this.head;
  }

  get enabled(): boolean {
    return this.enabledValue;
  }

  /** Turns recording on or off; either way the history starts over empty. */
  setEnabled(enabled: boolean): void {
    this.clear();
    this.enabledValue = enabled;
    if (!enabled) this.base = this.last = ZERO_UUID;
  }

  /** Estimated bytes of old row versions the kept commits hold alive. */
  get retainedBytes(): number {
    return this.bytes;
  }

  /** Atoms of the kept commits' old and new rows (memory/show's txn-history-atoms). */
  atoms(): number {
    return this.atomCount;
  }

  /**
   * Records a commit just applied, under its txn id. With `dbAtoms` (the database's atoms after it), the
   * kept commits' atoms stay at most that, oldest evicted first (at least one kept), as the reference bounds
   * its history.
   */
  record(txnId: string, commit: Commit, dbAtoms?: number): void {
    if (!this.enabledValue) return;
    let n = 0;
    for (const rows of commit.tables.values()) n += rows.size;
    this.last = txnId;
    const bytes = n > this.maxRowChanges || this.maxCommits === 0 ? 0 : supersededBytes(commit, this.maxBytes);
    if (n > this.maxRowChanges || this.maxCommits === 0 || bytes > this.maxBytes) {
      // Too big to keep: only "nothing after this one" can be answered from now on.
      this.entries = [];
      this.head = 0;
      this.rowChanges = 0;
      this.bytes = 0;
      this.atomCount = 0;
      this.base = txnId;
      return;
    }
    let atoms = 0;
    for (const rows of commit.tables.values()) {
      for (const ch of rows.values()) {
        if (ch.old !== null) atoms += rowAtoms(ch.old);
        if (ch.new !== null) atoms += rowAtoms(ch.new);
      }
    }
    this.entries.push({ txnId, tables: commit.tables, rowChanges: n, bytes, atoms });
    this.rowChanges += n;
    this.bytes += bytes;
    this.atomCount += atoms;
    const maxAtoms = this.boundByAtoms ? (dbAtoms ?? Infinity) : Infinity;
    while (
      this.size > this.maxCommits ||
      this.rowChanges > this.maxRowChanges ||
      this.bytes > this.maxBytes ||
      (this.size > 1 && this.atomCount > maxAtoms)
    ) {
      const e = this.entries[this.head]!;
      this.entries[this.head++] = undefined;
      this.rowChanges -= e.rowChanges;
      this.bytes -= e.bytes;
      this.atomCount -= e.atoms;
      this.base = e.txnId;
    }
    // Drop the consumed prefix now and then (amortized O(1) eviction).
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Forgets everything (the database was replaced): no old txn id will be found again. The new history
   * starts at `startId` when given (a clustered database: its snapshot's eid), else at a fresh id. Bound by
   * atoms, with `snapshotAtoms` (the atoms of the contents the history starts from), the starting point is
   * the history's first commit, as the reference counts a snapshot (txn-history 1 and txn-history-atoms the
   * database's after a restart; the first commits after it evict it).
   */
  clear(startId?: string, snapshotAtoms?: number): void {
    this.entries = [];
    this.head = 0;
    this.rowChanges = 0;
    this.bytes = 0;
    this.atomCount = 0;
    this.base = this.last = this.enabledValue ? (startId ?? newUuid()) : ZERO_UUID;
    if (this.boundByAtoms && snapshotAtoms !== undefined && this.enabledValue) {
      this.entries.push({ txnId: this.base, tables: new Map(), rowChanges: 0, bytes: 0, atoms: snapshotAtoms });
      this.atomCount = snapshotAtoms;
    }
  }

  /**
   * The net changes after `txnId` (exclusive) up to the latest commit, limited to the tables in `only` when
   * given; undefined when `txnId` is unknown. The all-zero uuid is never found: a client sends it when it
   * has nothing.
   */
  since(txnId: string, only?: ReadonlyMap<string, unknown>): DeltaBuffer | undefined {
    const id = txnId.toLowerCase();
    if (id === ZERO_UUID) return undefined;
    let start: number;
    if (id === this.last) start = this.entries.length;
    else if (id === this.base) start = this.head;
    else {
      start = -1;
      for (let i = this.entries.length - 1; i >= this.head; i--) {
        if (this.entries[i]!.txnId === id) {
          start = i + 1;
          break;
        }
      }
      if (start < 0) return undefined;
    }
    const buf = new DeltaBuffer();
    for (let i = start; i < this.entries.length; i++) buf.add(this.entries[i]!.tables, only);
    return buf;
  }
}
