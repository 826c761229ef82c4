// A bounded per-database commit history (txn id → changes), so that `monitor_cond_since` with a recent
// last-txn-id can answer with only the changes after it. The reference keeps history only for clustered
// and relay databases; we keep it for every database (see reference §3.14.2).
//
// Bounds: at most `maxCommits` commits and `maxRowChanges` row changes in total (defaults 100 and 10,000:
// enough for a client that reconnects after a short outage, small next to the rows it would otherwise get).
// Rows are shared, immutable objects, so an entry costs one small record per changed row.
//
// A history starts (and restarts after clear()) at a fresh random id, never the all-zero one: a client that
// got it resumes with found:true, and a reference relay in front of an empty ovsdb-ts database keeps its
// history on (it turns history off for good when its source reports the all-zero id, as a reference
// standalone does) — like a clustered database, which reports its snapshot's id even when empty.
//
// A relay whose source hands out no transaction ids (a reference standalone server sends the all-zero id)
// turns its history off, as the reference relay does: `latest` is then the all-zero id and nothing is found.
import { randomUUID } from 'node:crypto';
import { ZERO_UUID } from '../schema/atom.ts';
import type { Commit } from '../storage/database.ts';
import { DeltaBuffer, type TableDeltas } from './monitor-compose.ts';

export const DEFAULT_HISTORY_COMMITS = 100;
export const DEFAULT_HISTORY_ROW_CHANGES = 10_000;

export interface CommitHistoryOptions {
  readonly maxCommits?: number;
  readonly maxRowChanges?: number;
}

interface Entry {
  readonly txnId: string;
  readonly tables: TableDeltas;
  readonly rowChanges: number;
}

export class CommitHistory {
  readonly maxCommits: number;
  readonly maxRowChanges: number;
  /** Oldest first. entries[0] applies on top of the state named by `base`. */
  private entries: Entry[] = [];
  private head = 0;
  private rowChanges = 0;
  private base: string = randomUUID();
  private last = this.base;
  private enabledValue = true;

  constructor(opts: CommitHistoryOptions = {}) {
    this.maxCommits = Math.max(0, opts.maxCommits ?? DEFAULT_HISTORY_COMMITS);
    this.maxRowChanges = Math.max(0, opts.maxRowChanges ?? DEFAULT_HISTORY_ROW_CHANGES);
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

  /** Records a commit just applied, under its txn id. */
  record(txnId: string, commit: Commit): void {
    if (!this.enabledValue) return;
    let n = 0;
    for (const rows of commit.tables.values()) n += rows.size;
    this.last = txnId;
    if (n > this.maxRowChanges || this.maxCommits === 0) {
      // Too big to keep: only "nothing after this one" can be answered from now on.
      this.entries = [];
      this.head = 0;
      this.rowChanges = 0;
      this.base = txnId;
      return;
    }
    this.entries.push({ txnId, tables: commit.tables, rowChanges: n });
    this.rowChanges += n;
    while (this.size > this.maxCommits || this.rowChanges > this.maxRowChanges) {
      const e = this.entries[this.head++];
      this.rowChanges -= e.rowChanges;
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
   * starts at `startId` when given (a clustered database: its snapshot's eid), else at a fresh id.
   */
  clear(startId?: string): void {
    this.entries = [];
    this.head = 0;
    this.rowChanges = 0;
    this.base = this.last = this.enabledValue ? (startId ?? randomUUID()) : ZERO_UUID;
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
        if (this.entries[i].txnId === id) {
          start = i + 1;
          break;
        }
      }
      if (start < 0) return undefined;
    }
    const buf = new DeltaBuffer();
    for (let i = start; i < this.entries.length; i++) buf.add(this.entries[i].tables, only);
    return buf;
  }
}
