// A simulated clustered-database file for the Raft simulator: the durable writes a core asked for, replayed with
// the reader rules of raft.md §1.3 (so a core that writes a file OVS could not read fails the simulation), and
// torn tails on a crash (the writes not yet synced survive only as an in-order prefix, possibly empty).
import type { DurableWrite } from '../../raft/core.ts';
import type { ClusterHeader, LogEntry, LogRecord, PersistentState, Snapshot, Uuid } from '../../raft/types.ts';
import type { Rng } from './rng.ts';

export class ReplayError extends Error {}

const EMPTY_SNAPSHOT: Snapshot = {
  index: 0,
  term: 0,
  eid: '00000000-0000-0000-0000-000000000000',
  servers: new Map(),
  electionTimer: 1000,
  data: null,
};

/** Incremental replay of a file: header (or a replacement), then records. */
export class Replay {
  header: ClusterHeader;
  snapshot: Snapshot;
  entries: LogEntry[] = [];
  term = 0;
  vote: Uuid | null = null;
  commitIndex = 0;
  left = false;
  private recordNo = 0;

  /** `lenient`: accept a second vote in one term (the last wins), for end-to-end-only experiments. */
  constructor(
    header: ClusterHeader,
    private readonly lenient = false,
  ) {
    this.header = header;
    this.snapshot = header.kind === 'member' ? header.snapshot : EMPTY_SNAPSHOT;
    this.commitIndex = this.snapshot.index;
  }

  get logStart(): number {
    return this.snapshot.index + 1;
  }
  get logEnd(): number {
    return this.logStart + this.entries.length;
  }

  clone(): Replay {
    const r = new Replay(this.header, this.lenient);
    r.snapshot = this.snapshot;
    r.entries = [...this.entries];
    r.term = this.term;
    r.vote = this.vote;
    r.commitIndex = this.commitIndex;
    r.left = this.left;
    r.recordNo = this.recordNo;
    return r;
  }

  apply(w: DurableWrite): void {
    if (w.kind === 'replace') {
      this.header = w.header;
      this.snapshot = w.header.snapshot;
      this.entries = [];
      this.term = 0;
      this.vote = null;
      this.commitIndex = this.snapshot.index;
      this.recordNo = 0;
      for (const r of w.records) this.record(r);
    } else {
      this.record(w.record);
    }
  }

  private fail(text: string): never {
    throw new ReplayError(`error reading record ${this.recordNo} from log: ${text}`);
  }

  private record(r: LogRecord): void {
    this.recordNo++;
    // OVS does not read the records after a joining header; we still track term and vote for the oracle.
    if ('term' in r && r.term > this.term) {
      this.term = r.term;
      this.vote = null;
    }
    switch (r.type) {
      case 'entry': {
        if (this.header.kind === 'joining') this.fail('entry record in a joining file');
        if (r.index < this.commitIndex) this.fail(`attempts to truncate log to ${r.index}, commit index is already ${this.commitIndex}`);
        // Stricter than OVS (which accepts index == commit index): a committed entry must never be rewritten.
        if (r.index <= this.commitIndex && r.index < this.logEnd) this.fail(`rewrites committed entry ${r.index}`);
        if (r.index > this.logEnd) this.fail(`with index ${r.index} skips past expected index ${this.logEnd}`);
        if (r.index < this.logEnd) this.entries.length = r.index - this.logStart;
        const prevTerm = this.entries.length ? this.entries[this.entries.length - 1]!.term : this.snapshot.term;
        if (r.term < prevTerm) this.fail(`with index ${r.index} term ${r.term} precedes previous entry's term ${prevTerm}`);
        if (r.entry.term !== r.term) this.fail('entry term differs from record term');
        this.entries.push(r.entry);
        return;
      }
      case 'vote':
        if (r.term < this.term) this.fail(`votes for term ${r.term} but current term is ${this.term}`);
        if (this.vote !== null && this.vote !== r.vote && !this.lenient) this.fail(`votes for ${r.vote} in term ${r.term} but already voted for ${this.vote}`);
        this.vote = r.vote;
        return;
      case 'commit_index':
        if (this.header.kind === 'joining') return;
        if (r.commitIndex < this.commitIndex) this.fail(`regresses commit index from ${this.commitIndex} to ${r.commitIndex}`);
        if (r.commitIndex >= this.logEnd) this.fail(`advances commit index to ${r.commitIndex} but last log index is ${this.logEnd - 1}`);
        this.commitIndex = r.commitIndex;
        return;
      case 'note':
        if (r.note === 'left') this.left = true;
        return;
      case 'leader':
      case 'term':
        return;
    }
  }

  /** What a restart would see. */
  state(): PersistentState {
    if (this.header.kind === 'joining') {
      return { header: this.header, snapshot: EMPTY_SNAPSHOT, entries: [], term: 0, vote: null, commitIndex: 0, left: false };
    }
    return {
      header: this.header,
      snapshot: this.snapshot,
      entries: [...this.entries],
      term: this.term,
      vote: this.vote,
      commitIndex: this.commitIndex,
      left: this.left,
    };
  }
}

export class SimDisk {
  /** The synced part of the file, replayed. */
  readonly durable: Replay;
  private unsynced: DurableWrite[] = [];

  constructor(header: ClusterHeader, lenient = false) {
    this.durable = new Replay(header, lenient);
  }

  write(w: DurableWrite): void {
    this.unsynced.push(w);
  }

  get pendingSeq(): number {
    return this.unsynced.length ? this.unsynced[this.unsynced.length - 1]!.seq : 0;
  }

  /** An fsync covering every write up to `seq` completed. */
  syncUpTo(seq: number): void {
    let n = 0;
    while (n < this.unsynced.length && this.unsynced[n]!.seq <= seq) this.durable.apply(this.unsynced[n++]!);
    this.unsynced.splice(0, n);
  }

  /**
   * The process died: some in-order prefix of the unsynced writes made it to the file (torn tail); 'all' (the
   * process exited by itself: the OS has every write) or 'none' (power loss right after the last fsync).
   */
  crash(how: Rng | 'all' | 'none'): void {
    const n = this.unsynced.length;
    const keep = how === 'all' ? n : how === 'none' ? 0 : how.chance(0.3) ? n : how.int(0, n);
    for (let i = 0; i < keep; i++) this.durable.apply(this.unsynced[i]!);
    this.unsynced = [];
  }
}
