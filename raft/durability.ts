// The durability rule of raft.md §2.6.10, as bookkeeping: every durable write gets a sequence number; the
// application reports the highest sequence number that is on disk; the gate then knows the synced term, vote
// and log end, and releases the messages it held back because they depended on a write not yet durable.
//
// What a message depends on (as in OVS): its `term` must be ≤ the synced term; an append_reply needs entries up
// to `log_end - 1` synced, a vote_request up to `last_log_index`, an install_snapshot request/reply up to
// `last_index`; a vote_reply needs the vote itself synced. Held messages go out in the order they were held,
// and are dropped if the term moved on meanwhile (the core decides that when they are released).
import type { RaftMessage, Uuid } from './types.ts';

/** What a write makes durable once synced. */
export interface WriteEffect {
  /** A Term or Vote record (or a file replacement, which ends with one): the synced term and vote become these. */
  readonly term?: number;
  readonly vote?: Uuid | null;
  /** The log on disk ends at this index once the write is synced (an Entry record, or a file replacement). */
  readonly logIndex?: number;
}

interface PendingWrite {
  readonly seq: number;
  readonly term: number | undefined;
  readonly vote: Uuid | null | undefined;
  logIndex: number | undefined;
}

interface Held<T> {
  readonly waitSeq: number;
  readonly item: T;
}

export class DurabilityGate<T> {
  private nextSeq = 1;
  private syncedSeq = 0;
  private readonly pending: PendingWrite[] = [];
  private held: Held<T>[] = [];
  syncedTerm: number;
  syncedVote: Uuid | null;
  /** Highest log index whose entry (and every one before it) is on disk as it is in memory. */
  logSynced: number;

  constructor(term: number, vote: Uuid | null, logSynced: number) {
    this.syncedTerm = term;
    this.syncedVote = vote;
    this.logSynced = logSynced;
  }

  /** Sequence number of the latest write (0 if none yet). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Registers a write; returns its sequence number. */
  write(effect: WriteEffect): number {
    const seq = this.nextSeq++;
    this.pending.push({ seq, term: effect.term, vote: effect.vote, logIndex: effect.logIndex });
    return seq;
  }

  /**
   * The in-memory log was cut back to end at `newEnd` (exclusive). Entries from `newEnd` on now differ from
   * whatever earlier writes put on disk, so neither those writes nor the synced state may vouch for them.
   */
  truncate(newEnd: number): void {
    if (this.logSynced > newEnd - 1) this.logSynced = newEnd - 1;
    for (const p of this.pending) if (p.logIndex !== undefined && p.logIndex > newEnd - 1) p.logIndex = newEnd - 1;
  }

  /** Writes up to `seq` are durable. Returns the held items whose writes are now all durable, in order. */
  persisted(seq: number): T[] {
    if (seq > this.lastSeq) throw new Error(`persisted(${seq}) beyond the last write ${this.lastSeq}`);
    if (seq <= this.syncedSeq) return [];
    this.syncedSeq = seq;
    let n = 0;
    for (const p of this.pending) {
      if (p.seq > seq) break;
      n++;
      if (p.term !== undefined) {
        this.syncedTerm = p.term;
        this.syncedVote = p.vote ?? null;
      }
      if (p.logIndex !== undefined) this.logSynced = p.logIndex;
    }
    this.pending.splice(0, n);
    let k = 0;
    while (k < this.held.length && this.held[k]!.waitSeq <= seq) k++;
    if (k === 0) return [];
    const out = this.held.slice(0, k).map((h) => h.item);
    this.held = this.held.slice(k);
    return out;
  }

  /** Whether `msg` may go out now (everything it depends on is durable). */
  isSynced(msg: RaftMessage): boolean {
    const term = messageTerm(msg);
    if (term > this.syncedTerm) return false;
    if (minSyncIndex(msg) > this.logSynced) return false;
    if (msg.type === 'vote_reply' && msg.vote !== this.syncedVote) return false;
    return true;
  }

  /** Holds `item` until every write made so far is durable. */
  hold(item: T): void {
    this.held.push({ waitSeq: this.lastSeq, item });
  }

  /** Number of writes not yet reported durable. */
  get unsynced(): number {
    return this.pending.length;
  }
}

/** The term a message carries (0 for the types without one). */
export function messageTerm(msg: RaftMessage): number {
  switch (msg.type) {
    case 'append_request':
    case 'append_reply':
    case 'vote_request':
    case 'vote_reply':
    case 'install_snapshot_request':
    case 'install_snapshot_reply':
    case 'become_leader':
      return msg.term;
    default:
      return 0;
  }
}

/** The highest log index that must be on disk before `msg` may be sent. */
function minSyncIndex(msg: RaftMessage): number {
  switch (msg.type) {
    case 'append_reply':
      return msg.logEnd - 1;
    case 'vote_request':
      return msg.lastLogIndex;
    case 'install_snapshot_request':
    case 'install_snapshot_reply':
      return msg.lastIndex;
    default:
      return 0;
  }
}
