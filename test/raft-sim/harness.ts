// A hand-driven network of RaftCores for focused tests: the test decides which messages arrive, when disks
// sync and when time passes. One session per pair of servers, named after the peer; a message for server X
// goes to X. Every durable write lands on a SimDisk (so files are checked against OVS's reader rules).
import { RaftCore, type CommandResult, type CommittedEntry, type DurableWrite, type LogLine, type Outgoing } from '../../raft/core.ts';
import type { ClusterHeader, LogRecord, RaftMessage, Snapshot, Uuid } from '../../raft/types.ts';
import { SimDisk } from './disk.ts';
import { Rng } from './rng.ts';

export const CID = 'c1d00000-0000-4000-8000-000000000000';
export function sidOf(name: string): Uuid {
  const n = Number(name.replace(/\D/g, '')) || 9;
  return `${String(n).padStart(4, '0')}aaaa-0000-4000-8000-00000000000${n % 10}`;
}
export const SNAP_EID = 'e0000000-0000-4000-8000-000000000001';

export interface Sent {
  readonly from: string;
  readonly to: string;
  readonly msg: RaftMessage;
}

export class HNode {
  core!: RaftCore;
  disk: SimDisk;
  logs: LogLine[] = [];
  /** Every durable write the core asked for, in order. */
  writes: DurableWrite[] = [];
  results: CommandResult[] = [];
  applied: CommittedEntry[] = [];
  snapshots: Snapshot[] = [];
  left = false;
  crash: string | null = null;
  /** Sync every write as soon as it appears. */
  autoSync = true;
  readonly rng: Rng;

  constructor(
    readonly name: string,
    header: ClusterHeader,
    private readonly h: Harness,
    autoSync: boolean,
  ) {
    this.autoSync = autoSync;
    this.disk = new SimDisk(header);
    this.rng = new Rng(Number(name.replace(/\D/g, '')) * 7919);
    this.boot();
  }

  get sid(): Uuid {
    return sidOf(this.name);
  }

  boot(): void {
    this.core = new RaftCore({ state: this.disk.durable.state(), now: this.h.now, random: () => this.rng.next() });
  }

  /** Fsyncs whatever is written and tells the core. */
  sync(): void {
    const seq = this.disk.pendingSeq;
    if (seq === 0) return;
    this.disk.syncUpTo(seq);
    this.core.persisted(seq);
  }

  logText(): string[] {
    return this.logs.map((l) => l.text);
  }

  /** The LogRecords written (file replacements as a marker), without sequence numbers. */
  records(): Array<LogRecord | { readonly type: 'replace' }> {
    return this.writes.map((w) => (w.kind === 'record' ? w.record : { type: 'replace' as const }));
  }
}

export class Harness {
  now = 0;
  readonly nodes = new Map<string, HNode>();
  /** Messages sent and not yet delivered or dropped, in order. */
  inflight: Sent[] = [];
  /** Every message ever sent. */
  readonly sent: Sent[] = [];
  private readonly down = new Set<string>();

  /** Members s1..sN of a cluster whose snapshot (index 1, term 1) lists all of them. */
  static cluster(n: number, opts: { electionTimer?: number } = {}): Harness {
    const h = new Harness();
    const names = Array.from({ length: n }, (_, i) => `s${i + 1}`);
    const snapshot = h.snapshot(names, opts.electionTimer ?? 1000);
    for (const name of names) h.add(name, h.memberHeader(name, snapshot));
    h.connectAll();
    return h;
  }

  snapshot(names: readonly string[], electionTimer = 1000): Snapshot {
    return {
      index: 1,
      term: 1,
      eid: SNAP_EID,
      servers: new Map(names.map((n) => [sidOf(n), `unix:${n}.raft`] as const)),
      electionTimer,
      data: [{ name: 'Ex', version: '1.0.0', tables: {} }, {}],
    };
  }

  memberHeader(name: string, snapshot: Snapshot): ClusterHeader {
    return { kind: 'member', sid: sidOf(name), cid: CID, name: 'Ex', localAddress: `unix:${name}.raft`, snapshot };
  }

  joiningHeader(name: string, remotes: readonly string[]): ClusterHeader {
    return { kind: 'joining', sid: sidOf(name), name: 'Ex', localAddress: `unix:${name}.raft`, remoteAddresses: remotes.map((r) => `unix:${r}.raft`) };
  }

  add(name: string, header: ClusterHeader, opts: { autoSync?: boolean } = {}): HNode {
    const n = new HNode(name, header, this, opts.autoSync ?? true);
    this.nodes.set(name, n);
    this.flush(n);
    return n;
  }

  node(name: string): HNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** Connects the session between two nodes (each side sees an outgoing session named after the other). */
  connect(a: string, b: string): void {
    const na = this.node(a);
    const nb = this.node(b);
    na.core.sessionConnected(b, { outgoing: true, sid: nb.sid });
    nb.core.sessionConnected(a, { outgoing: true, sid: na.sid });
    this.flush(na);
    this.flush(nb);
  }

  /** Connects a joiner's session to `b` (the joiner does not know b's sid; b does not know the joiner's). */
  connectJoin(joiner: string, b: string): void {
    const nj = this.node(joiner);
    const nb = this.node(b);
    nb.core.sessionConnected(joiner, { outgoing: false });
    nj.core.sessionConnected(b, { outgoing: true });
    this.flush(nb);
    this.flush(nj);
  }

  connectAll(): void {
    const names = [...this.nodes.keys()];
    for (let i = 0; i < names.length; i++) for (let j = i + 1; j < names.length; j++) this.connect(names[i]!, names[j]!);
  }

  disconnect(a: string, b: string): void {
    this.node(a).core.sessionDisconnected(b);
    this.node(b).core.sessionDisconnected(a);
    this.inflight = this.inflight.filter((m) => !((m.from === a && m.to === b) || (m.from === b && m.to === a)));
  }

  /** Drains a node's output: writes go to its disk (synced if autoSync), messages into flight. */
  flush(n: HNode): void {
    for (let guard = 0; n.core.hasReady() && guard < 100; guard++) {
      const r = n.core.ready();
      for (const w of r.writes) n.disk.write(w);
      n.writes.push(...r.writes);
      n.logs.push(...r.logs);
      n.results.push(...r.results);
      if (r.snapshot) n.snapshots.push(r.snapshot);
      n.applied.push(...r.committed);
      if (r.left) n.left = true;
      if (r.crash) n.crash = r.crash;
      for (const m of r.messages) this.route(n, m);
      if (n.autoSync && n.disk.pendingSeq > 0) {
        const seq = n.disk.pendingSeq;
        n.disk.syncUpTo(seq);
        n.core.persisted(seq);
      }
    }
  }

  private route(n: HNode, m: Outgoing): void {
    const to = String(m.session);
    const s = { from: n.name, to, msg: m.message };
    this.sent.push(s);
    if (this.down.has(n.name) || this.down.has(to)) return;
    this.inflight.push(s);
  }

  /** Delivers in-flight messages matching `filter` (default: all), in order, repeatedly until none match. */
  deliver(filter: (m: Sent) => boolean = () => true, max = 10_000): Sent[] {
    const done: Sent[] = [];
    for (let k = 0; k < max; k++) {
      const i = this.inflight.findIndex((m) => filter(m) && !this.down.has(m.to));
      if (i < 0) break;
      const [m] = this.inflight.splice(i, 1);
      done.push(m!);
      const to = this.node(m!.to);
      to.core.tick(this.now);
      to.core.receive(m!.from, m!.msg);
      this.flush(to);
    }
    return done;
  }

  /** Drops in-flight messages matching `filter`. */
  drop(filter: (m: Sent) => boolean): Sent[] {
    const dropped = this.inflight.filter(filter);
    this.inflight = this.inflight.filter((m) => !filter(m));
    return dropped;
  }

  /** Advances the clock by `ms` and ticks every live node (or only `only`). */
  advance(ms: number, only?: readonly string[]): void {
    this.now += ms;
    for (const n of this.nodes.values()) {
      if (this.down.has(n.name) || (only && !only.includes(n.name))) continue;
      n.core.tick(this.now);
      this.flush(n);
    }
  }

  /** Advances in small steps until `cond` holds (or fails after `limit` ms), delivering everything. */
  runUntil(cond: () => boolean, limit = 30_000, step = 10): void {
    for (let t = 0; t <= limit; t += step) {
      this.deliver();
      if (cond()) return;
      this.advance(step);
    }
    throw new Error('runUntil: condition not reached');
  }

  /** Power loss: unsynced writes are lost, in-flight messages to and from it vanish. */
  crash(name: string): void {
    const n = this.node(name);
    n.disk.crash('none');
    this.down.add(name);
    this.inflight = this.inflight.filter((m) => m.from !== name && m.to !== name);
  }

  restart(name: string): void {
    const n = this.node(name);
    this.down.delete(name);
    n.boot();
    this.flush(n);
    for (const other of this.nodes.keys()) if (other !== name && !this.down.has(other)) this.connect(name, other);
  }

  isDown(name: string): boolean {
    return this.down.has(name);
  }

  leader(): HNode | undefined {
    return [...this.nodes.values()].find((n) => !this.down.has(n.name) && n.core.isLeader());
  }

  /** Messages of `type` from `from` (or anyone) ever sent. */
  sentOf<T extends RaftMessage['type']>(type: T, from?: string): Array<Extract<RaftMessage, { type: T }>> {
    return this.sent
      .filter((s) => s.msg.type === type && (from === undefined || s.from === from))
      .map((s) => s.msg as Extract<RaftMessage, { type: T }>);
  }
}
