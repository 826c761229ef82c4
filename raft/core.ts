/**
 * OVSDB's Raft dialect (OVS 3.1, raft.md §2) as a pure, deterministic state machine. No sockets, timers, files,
 * clock or randomness inside: the application feeds inputs and performs the I/O the core asks for.
 *
 * ## Construction
 *   const core = new RaftCore({ state, now, random, logLevel? });
 *   - `state`: the PersistentState raft/log.ts replayed. A member file (snapshot + entries + term/vote + commit
 *     index) or a joining file (`header.kind === 'joining'`: remotes and optional cid in the header). Throws
 *     if the file says the server left, or (member file) `server does not belong to cluster` when this server
 *     is not in its own configuration. The election timer comes from the state (last committed
 *     `election_timer` entry, else the snapshot's); the configuration from the last `servers` entry.
 *   - `now`: monotonic milliseconds, any origin (0 is fine). `random`: uniform in [0, 1) (election jitter).
 *   - `logLevel`: lowest level of log line produced (default 'dbg').
 *   A one-server cluster elects itself inside the constructor (§2.6.1); the first ready() then holds its
 *   vote, leader and no-op records. Index 1 is the snapshot; the first entry is index 2.
 *
 * ## The loop (etcd-style: inputs, then drain ready())
 *   Inputs:
 *     tick(now)                     the clock moved; runs due timers. Call it when nextTimeout() is reached and
 *                                   before other inputs of a turn (the core's clock is the latest tick's `now`),
 *                                   or clock(now) before the inputs and tick(now) after them (timers last).
 *     receive(session, msg)         a decoded Raft message arrived on a session. The envelope checks of §2.2 run
 *                                   here (wrong cluster / misrouted → dropped with a log line; an unknown cid is
 *                                   learned), and the session learns its peer sid from its first message.
 *     sessionConnected(session, {outgoing, sid?})   a session (re)connected. For outgoing sessions to configured
 *                                   servers give `sid` (desiredConnections() has it); omit it for join sessions
 *                                   and incoming ones. On outgoing sessions the core answers with hello_request,
 *                                   add_server_request (joining) or remove_server_request (leaving).
 *     sessionDisconnected(session)  lost its connection; an outgoing session will reconnect (same id).
 *     sessionClosed(session)        gone for good (an incoming session's end; counts in "Disconnections").
 *     propose({data, prereq, result})   an OVSDB write (§2.6.6): data `[schema|null, txn]`, prereq =
 *                                   lastAppliedEid(), result = a fresh unique eid (the transaction id). A leader
 *                                   appends it; a follower that knows its leader forwards it; else it fails.
 *     persisted(seq)                every write with sequence number ≤ seq is durable (fsynced).
 *     writeFailed(error)            a write failed: permanent failure mode (`Status: failed`, §2.6.10).
 *   Operator commands (cluster/*; OpResult = {ok: true, reply} | {ok: false, error}, exact texts of §4.3):
 *     leave(), kick(server) (matching of §4.3, quirk R7), changeElectionTimer(ms: string | number) (atoll
 *     semantics for strings), setBacklogThreshold(nMsgs, nBytes) (stored; read with backlogThreshold()),
 *     setFailureTest(scenario) (`test engaged` / `test dismissed` / `unknown test scenario`; OVS's setting is
 *     process-wide: engage it on every core of the process),
 *     transferLeadership(reason) (leader only; reason follows "because", e.g. 'this server is shutting down'),
 *     shutdown() (exit / remove-db: transfers leadership, fails pending commands, goes inert: drain ready()
 *     one last time and send its messages before closing),
 *     storeSnapshot(data, index?) (compaction, §1.7: `data` = `[schema, txn]` of the applied state at `index`,
 *     default appliedIndex(); errors `not storing a duplicate snapshot`, `cannot store a snapshot while …`),
 *     maySnapshot() and snapshotRecommended() for the automatic path: when the app's policy says "snapshot
 *     now", call storeSnapshot() if maySnapshot(), else snapshotRecommended() (a leader of several servers
 *     then logs `Transferring leadership to write a snapshot.`, hands over and becomes follower). The manual
 *     ovsdb-server/compact calls storeSnapshot() directly, on any role.
 *
 *   Output — ready() returns everything produced since the last call (hasReady() says if there is any):
 *     writes     durable writes in order, each with a sequence number `seq`:
 *                  {kind:'record', record}            append this LogRecord to the file;
 *                  {kind:'replace', header, records}  replace the file (`.tmp` + rename, §1.7) by this member
 *                                                     header (snapshot inside) and these records.
 *                Write them in order, fsync, call persisted(last seq). That is the whole contract: a message
 *                that depends on a write (a vote, an append acknowledgement, a vote request, a snapshot reply,
 *                any message of a new term) is held inside the core until persisted() covers the write, and
 *                dropped if its term has passed by then; the leader counts its own copy of an entry only then.
 *     messages   {session, message}: send now, in order, on that session. (A message for a server goes on the
 *                first connected session whose peer is that server; a joiner's add_server_request goes on
 *                every connected session, one item each.) If the session is gone, drop the message.
 *     snapshot   non-null: load this snapshot (`data` = `[schema, txn]`) as the database, before `committed`.
 *                At start this is the file's snapshot; later, one installed from the leader. None while joining.
 *     committed  the newly committed entries in index order, {index, entry}: apply those with `data` (their
 *                `eid` is the transaction id); no-op, configuration and election-timer entries are informational.
 *                Returned entries count as applied (appliedIndex(), lastAppliedEid()).
 *     results    outcomes of propose(): {eid, status, commitIndex}. `success` carries the entry's index: reply
 *                to the client once appliedIndex() ≥ commitIndex (a follower hears from the leader before it has
 *                applied). Any other status is the internal "cluster error" of §3.3: retry the transaction.
 *     logs       {module: 'raft' | 'raft_rpc', level, text}: the lines of §4.5 with OVS's texts.
 *     left       true once: this server left the cluster (note "left" written): remove the database.
 *     crash      non-null: a crash failure test fired, e.g. "Raft test: crash before sending append_request.":
 *                write `writes` (no fsync needed) and send `messages`, then log it as fatal and exit abnormally.
 *                The core ignores every input afterwards.
 *
 * ## Queries
 *   status() — everything cluster/status shows except the session list (raft/status.ts formatClusterStatus
 *   prints the exact text); isConnected() (§3.1 `_Server.connected`; logs `raft_is_connected: true` on each
 *   false → true change and `raft_is_connected: false`, rate-limited as in OVS, at DBG); isLeader(), role(),
 *   term(), leader(), isJoining(), isLeaving(), hasLeft(), isFailed(); sid(), cid() (null while not known),
 *   name(); commitIndex(), appliedIndex(), lastAppliedEid() (prereq of the next proposal), currentEid() (last
 *   data entry in the log); logStart(), logEnd(), entryAt(i), snapshot(), configuration(), electionTimer(),
 *   logLength(), backlogThreshold(), failureTest();
 *   nextTimeout() — when to call tick() next (Infinity: never; arm one timer);
 *   desiredConnections() — outgoing sessions to maintain ({address, sid | null}: every configured server, and
 *   the remotes while joining); close other outgoing sessions unless keepAllOutgoing() (this server is not in
 *   its own configuration yet); membershipVersion() changes whenever either may have changed.
 *
 * ## Where this differs from 3.1 (all wire-compatible; raft.md §2 otherwise)
 *   - A vote_request with a stale term gets a vote_reply carrying our term and our real vote (3.1 is silent;
 *     a candidate outside the requester's configuration could then hold a higher term forever).
 *   - A joiner takes part in elections once its log's configuration includes it, and counts as joined once
 *     that configuration commits (3.1 waits for add_server_reply and never campaigns while joining; both can
 *     wedge a small cluster when that reply is lost).
 *   - A remove_server_request for the server whose removal is being committed gets "in progress" (3.1 says
 *     "already not in cluster", success: the target leaves before the new configuration commits).
 *   - Stale add_servers entries are dropped on losing leadership (after the "lost leadership" replies).
 *   - A follower within E of its leader ignores a vote_request without leadership_transfer entirely, as
 *     raft.md §2.6.2 says (3.1's code still records a vote in its own term and replies; harmless either way).
 *   - nextTimeout() is Infinity for a leaving server or one outside its configuration (3.1 spins there).
 */
import { DurabilityGate, messageTerm } from './durability.ts';
import { atoll, bestMatch, newServer, nickname, phaseText, serversOf, short, type ServerState } from './membership.ts';
import type { RaftStatus, Role, ServerStatus } from './status.ts';
import {
  DEFAULT_ELECTION_TIMER,
  MAX_ELECTION_TIMER,
  MIN_ELECTION_TIMER,
  type AddServerReply,
  type AddServerRequest,
  type AppendReply,
  type AppendRequest,
  type AppendResult,
  type BecomeLeader,
  type CommandStatus,
  type ExecuteCommandReply,
  type ExecuteCommandRequest,
  type InstallSnapshotReply,
  type InstallSnapshotRequest,
  type LogEntry,
  type LogRecord,
  type MemberHeader,
  type PersistentState,
  type RaftMessage,
  type RemoveServerReply,
  type RemoveServerRequest,
  type Servers,
  type Snapshot,
  type Uuid,
  type VoteReply,
  type VoteRequest,
} from './types.ts';
import type { JsonValue } from '../schema/json.ts';

export type SessionId = string | number;

export type LogLevel = 'err' | 'warn' | 'info' | 'dbg';

export interface LogLine {
  readonly module: 'raft' | 'raft_rpc';
  readonly level: LogLevel;
  readonly text: string;
}

export type DurableWrite =
  | { readonly kind: 'record'; readonly seq: number; readonly record: LogRecord }
  | { readonly kind: 'replace'; readonly seq: number; readonly header: MemberHeader; readonly records: readonly LogRecord[] };

export interface Outgoing {
  readonly session: SessionId;
  readonly message: RaftMessage;
}

export interface CommittedEntry {
  readonly index: number;
  readonly entry: LogEntry;
}

export type FinalStatus = Exclude<CommandStatus, 'operation still in progress'>;

export interface CommandResult {
  readonly eid: Uuid;
  readonly status: FinalStatus;
  /** The entry's index on success, else 0. */
  readonly commitIndex: number;
}

export interface Ready {
  readonly writes: readonly DurableWrite[];
  readonly messages: readonly Outgoing[];
  readonly snapshot: Snapshot | null;
  readonly committed: readonly CommittedEntry[];
  readonly results: readonly CommandResult[];
  readonly logs: readonly LogLine[];
  readonly left: boolean;
  readonly crash: string | null;
}

export type OpResult = { readonly ok: true; readonly reply: string } | { readonly ok: false; readonly error: string };

export interface Proposal {
  readonly data: JsonValue;
  readonly prereq: Uuid;
  readonly result: Uuid;
}

export const FAILURE_TESTS = [
  'crash-before-sending-append-request',
  'crash-after-sending-append-request',
  'crash-before-sending-execute-command-reply',
  'crash-after-sending-execute-command-reply',
  'crash-before-sending-execute-command-request',
  'crash-after-sending-execute-command-request',
  'crash-after-receiving-append-request-update',
  'crash-before-sending-install-snapshot-reply',
  'delay-election',
  'dont-send-vote-request',
  'stop-raft-rpc',
  'transfer-leadership',
  'transfer-leadership-after-sending-append-request',
] as const;
export type FailureTest = (typeof FAILURE_TESTS)[number];

export interface RaftCoreOptions {
  readonly state: PersistentState;
  readonly now: number;
  /** Uniform in [0, 1). */
  readonly random: () => number;
  /** Lowest level of log line produced (default 'dbg': everything). */
  readonly logLevel?: LogLevel;
}

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

const ELECTION_RANGE_MSEC = 1000;
const JOIN_RETRY_MSEC = 1000;
const LEVEL_RANK: Record<LogLevel, number> = { err: 0, warn: 1, info: 2, dbg: 3 };

/** A command this server tracks (§2.6.6): its own proposal, or (leader) one a follower relayed. */
interface Command {
  readonly eid: Uuid;
  /** Log index, 0 while relayed to the leader and not yet answered. */
  index: number;
  /** Issue time or last "still in progress" ping, for the 2·E timeout. */
  timestamp: number;
  /** Leader: the follower that relayed it (gets execute_command_reply); null for our own proposals. */
  requester: Uuid | null;
}

interface Session {
  readonly outgoing: boolean;
  sid: Uuid | null;
  connected: boolean;
}

interface HeldMessage {
  readonly to: Uuid;
  readonly msg: RaftMessage;
}

/** Thrown inside the core when a crash failure test fires; caught at the input boundary. */
class CrashSignal {
  constructor(readonly text: string) {}
}

interface Outbox {
  writes: DurableWrite[];
  messages: Outgoing[];
  results: CommandResult[];
  logs: LogLine[];
  left: boolean;
}

function emptyOutbox(): Outbox {
  return { writes: [], messages: [], results: [], logs: [], left: false };
}

type Envelope = { cluster?: Uuid; to?: Uuid; from: Uuid; comment?: string };

export class RaftCore {
  // Identity.
  private readonly sid_: Uuid;
  private readonly name_: string;
  private readonly localAddress: string;
  private readonly localNickname: string;
  private cid_: Uuid | null;

  // Persistent state (in memory; the gate knows what of it is on disk).
  private term_: number;
  private vote: Uuid | null;
  private snap: Snapshot;
  private entries: LogEntry[];
  private logStart_: number;
  private commitIndex_: number;

  // Configuration (latest in the log) and the leader's extra tables.
  private servers = new Map<Uuid, ServerState>();
  private addServers = new Map<Uuid, ServerState>();
  private removeServer: ServerState | null = null;
  private electionTimer_: number;
  private electionTimerNew = 0;

  // Volatile state.
  private role_: Role = 'follower';
  private lastApplied: number;
  private lastAppliedEid_: Uuid | null = null;
  private leaderSid: Uuid | null = null;
  private now: number;
  private readonly random: () => number;
  private electionBase = 0;
  private electionTimeout = 0;
  /** null: never (the clock may start at 0). */
  private electionStart: number | null = null;
  private electionWon: number | null = null;
  private leadershipTransfer = false;
  private pingTimeout = 0;
  private nVotes = 0;
  private candidateRetrying = false;
  private hadLeader = false;
  private everHadLeader = false;
  private lastConnectedState = false;
  /** Token bucket of OVS's rate limit (5 a minute, bursts of 5) for `raft_is_connected: false`. */
  private connLogTokens = 5 * 60_000;
  private connLogTs: number | null = null;

  private joining: boolean;
  private remoteAddresses: string[];
  private joinTimeout = Infinity;
  private leaving = false;
  private left = false;
  private leaveTimeout = Infinity;
  private failed = false;
  private closed = false;
  private crashed: string | null = null;

  /** Bumped whenever desiredConnections()/keepAllOutgoing() may have changed. */
  private membershipVersion_ = 0;
  private commands = new Map<Uuid, Command>();
  private sessions = new Map<SessionId, Session>();
  private nDisconnections = 0;
  private backlog = { nMsgs: 500, nBytes: 4294967295 };
  private failureTest_: FailureTest | null = null;

  private readonly gate: DurabilityGate<HeldMessage>;
  private out: Outbox = emptyOutbox();
  private readonly logRank: number;

  constructor(opts: RaftCoreOptions) {
    const st = opts.state;
    const h = st.header;
    if (st.left) {
      throw new Error(
        'server has left the cluster; it cannot be added back (use "ovsdb-tool join-cluster" to add a new server)',
      );
    }
    this.logRank = LEVEL_RANK[opts.logLevel ?? 'dbg'];
    this.sid_ = h.sid;
    this.name_ = h.name;
    this.localAddress = h.localAddress;
    this.localNickname = nickname(h.localAddress, h.sid);
    this.now = opts.now;
    this.random = opts.random;
    this.term_ = st.term;
    this.vote = st.vote;
    this.snap = st.snapshot;
    if (h.kind === 'joining') {
      this.joining = true;
      this.cid_ = h.cid ?? null;
      this.remoteAddresses = [...new Set(h.remoteAddresses)].filter((a) => a !== h.localAddress);
      this.entries = [];
      this.logStart_ = 1;
      this.commitIndex_ = 0;
      this.lastApplied = 0;
      this.electionTimer_ = DEFAULT_ELECTION_TIMER;
      this.joinTimeout = this.now + JOIN_RETRY_MSEC;
    } else {
      this.joining = false;
      this.cid_ = h.cid;
      this.remoteAddresses = [];
      this.entries = [...st.entries];
      this.logStart_ = st.snapshot.index + 1;
      this.commitIndex_ = Math.max(st.commitIndex, st.snapshot.index);
      this.lastApplied = st.snapshot.index - 1;
      this.electionTimer_ = DEFAULT_ELECTION_TIMER;
      this.getServersFromLog('dbg');
      this.getElectionTimerFromLog();
      if (!this.servers.has(this.sid_)) throw new Error('server does not belong to cluster');
    }
    this.gate = new DurabilityGate(this.term_, this.vote, this.logEnd_ - 1);
    this.guard(() => {
      // A lone member bootstraps at once; electionBase is 0 here, hence the absurd "N ms timeout" (quirk R3).
      if (!this.joining && this.servers.size === 1) this.startElection(false);
    });
    this.resetPingTimer();
    this.resetElectionTimer();
    this.log('info', `local server ID is ${short(this.sid_)}`);
  }

  // ===========================================================================================================
  // Queries

  sid(): Uuid {
    return this.sid_;
  }
  cid(): Uuid | null {
    return this.cid_;
  }
  name(): string {
    return this.name_;
  }
  role(): Role {
    return this.role_;
  }
  term(): number {
    return this.term_;
  }
  /** The leader's sid, if known. */
  leader(): Uuid | null {
    return this.leaderSid;
  }
  isLeader(): boolean {
    return this.role_ === 'leader';
  }
  isJoining(): boolean {
    return this.joining;
  }
  isLeaving(): boolean {
    return this.leaving;
  }
  hasLeft(): boolean {
    return this.left;
  }
  isFailed(): boolean {
    return this.failed;
  }
  commitIndex(): number {
    return this.commitIndex_;
  }
  appliedIndex(): number {
    return this.lastApplied;
  }
  /** eid of the last applied data entry (or of the loaded snapshot): the prereq of the next proposal. */
  lastAppliedEid(): Uuid | null {
    return this.lastAppliedEid_;
  }
  /** eid of the last data-bearing entry in the log, committed or not, else the snapshot's. */
  currentEid(): Uuid {
    return this.eidAt(this.logEnd_ - 1);
  }
  logStart(): number {
    return this.logStart_;
  }
  logEnd(): number {
    return this.logEnd_;
  }
  /** The entry at `index` (logStart ≤ index < logEnd), else undefined. */
  entryAt(index: number): LogEntry | undefined {
    return index >= this.logStart_ && index < this.logEnd_ ? this.entries[index - this.logStart_] : undefined;
  }
  /** The snapshot the log starts after (index logStart - 1). */
  snapshot(): Snapshot {
    return this.snap;
  }
  electionTimer(): number {
    return this.electionTimer_;
  }
  /** The latest configuration in the log (sid → address). */
  configuration(): Servers {
    return serversOf(this.servers);
  }
  backlogThreshold(): { readonly nMsgs: number; readonly nBytes: number } {
    return { ...this.backlog };
  }
  failureTest(): FailureTest | null {
    return this.failureTest_;
  }

  /** Number of applied entries a snapshot would fold in. */
  logLength(): number {
    return this.lastApplied < this.logStart_ ? 0 : this.lastApplied - this.logStart_ + 1;
  }

  /** Whether storeSnapshot() may run now (followers, or the leader of a one-server cluster). */
  maySnapshot(): boolean {
    return (
      !this.joining &&
      !this.leaving &&
      !this.left &&
      !this.failed &&
      (this.role_ === 'follower' || this.servers.size === 1) &&
      this.lastApplied >= this.logStart_
    );
  }

  /**
   * §3.1 `_Server.connected`: joined, not leaving/left/failed, has seen a leader since start, and not a candidate
   * whose previous round already timed out. Logs `raft_is_connected: false` (rate-limited: 5 a minute, bursts
   * of 5) and `raft_is_connected: true` (on each false → true change) at DBG, as OVS does.
   */
  isConnected(): boolean {
    const ret =
      !this.candidateRetrying && !this.joining && !this.leaving && !this.left && !this.failed && this.everHadLeader;
    if (!ret) {
      if (this.connLogTs !== null) this.connLogTokens = Math.min(5 * 60_000, this.connLogTokens + (this.now - this.connLogTs) * 5);
      this.connLogTs = this.now;
      if (this.connLogTokens >= 60_000) {
        this.connLogTokens -= 60_000;
        this.log('dbg', 'raft_is_connected: false');
      }
    } else if (!this.lastConnectedState) {
      this.log('dbg', 'raft_is_connected: true');
    }
    this.lastConnectedState = ret;
    return ret;
  }

  /** Next time (core clock) at which tick() has something to do; Infinity if none. */
  nextTimeout(): number {
    if (this.left || this.failed || this.closed || this.crashed !== null) return Infinity;
    if (this.failureTest_ === 'transfer-leadership') return this.now;
    let t = this.joining ? this.joinTimeout : Infinity;
    if (this.canElect()) t = Math.min(t, this.electionTimeout);
    if (this.leaving) t = Math.min(t, this.leaveTimeout);
    if (this.role_ === 'leader' || this.commands.size > 0) t = Math.min(t, this.pingTimeout);
    return t;
  }

  /** Changes whenever desiredConnections() or keepAllOutgoing() may have changed. */
  membershipVersion(): number {
    return this.membershipVersion_;
  }

  /** Outgoing sessions the transport should maintain (§2.1): every configured server, and remotes while joining. */
  desiredConnections(): Array<{ readonly address: string; readonly sid: Uuid | null }> {
    if (this.left || this.failed || this.closed) return [];
    const out: Array<{ address: string; sid: Uuid | null }> = [];
    const seen = new Set<string>();
    for (const s of this.servers.values()) {
      if (s.address === this.localAddress || seen.has(s.address)) continue;
      seen.add(s.address);
      out.push({ address: s.address, sid: s.sid });
    }
    if (this.joining) {
      for (const a of this.remoteAddresses) {
        if (a === this.localAddress || seen.has(a)) continue;
        seen.add(a);
        out.push({ address: a, sid: null });
      }
    }
    return out;
  }

  /** While this server is not in its own configuration, keep every outgoing session (a new one is coming). */
  keepAllOutgoing(): boolean {
    return !this.servers.has(this.sid_);
  }

  status(): RaftStatus {
    const nick = (sid: Uuid | null): string => (sid === null ? 'unknown' : sid === this.sid_ ? 'self' : this.nick(sid));
    const leader = this.role_ === 'leader';
    const servers: ServerStatus[] = [];
    for (const s of this.servers.values()) {
      servers.push({
        nickname: s.nickname,
        sid: s.sid,
        address: s.address,
        self: s.sid === this.sid_,
        phase: s.phase === 'stable' ? null : phaseText(s.phase),
        votedFor: this.role_ === 'candidate' && s.vote !== null ? this.nick(s.vote) : null,
        nextIndex: leader ? s.nextIndex : null,
        matchIndex: leader ? s.matchIndex : null,
        lastMsgMsAgo: s.lastMsgTs === null ? null : this.now - s.lastMsgTs,
      });
    }
    const pending = (s: ServerState) => ({ nickname: s.nickname, sid: s.sid, address: s.address, phase: phaseText(s.phase) });
    return {
      nickname: this.localNickname,
      name: this.name_,
      cid: this.cid_,
      sid: this.sid_,
      address: this.localAddress,
      status: this.joining
        ? 'joining cluster'
        : this.leaving
          ? 'leaving cluster'
          : this.left
            ? 'left cluster'
            : this.failed
              ? 'failed'
              : this.candidateRetrying
                ? 'disconnected from the cluster (election timeout)'
                : 'cluster member',
      remotesForJoining: this.joining ? [...this.remoteAddresses] : null,
      adding: leader ? [...this.addServers.values()].map(pending) : [],
      removing: leader && this.removeServer ? pending(this.removeServer) : null,
      role: this.role_,
      term: this.term_,
      leader: nick(this.leaderSid),
      vote: nick(this.vote),
      lastElectionStartedMsAgo: this.electionStart === null ? null : this.now - this.electionStart,
      lastElectionReason: this.leadershipTransfer ? 'leadership_transfer' : 'timeout',
      lastElectionWonMsAgo: this.electionWon === null ? null : this.now - this.electionWon,
      electionTimer: this.electionTimer_,
      electionTimerChangingTo: leader && this.electionTimerNew ? this.electionTimerNew : null,
      logStart: this.logStart_,
      logEnd: this.logEnd_,
      commitIndex: this.commitIndex_,
      appliedIndex: this.lastApplied,
      disconnections: this.nDisconnections,
      servers,
    };
  }

  // ===========================================================================================================
  // Output

  /** Whether ready() would return anything. */
  hasReady(): boolean {
    const o = this.out;
    return (
      o.writes.length > 0 ||
      o.messages.length > 0 ||
      o.results.length > 0 ||
      o.logs.length > 0 ||
      o.left ||
      this.crashed !== null ||
      this.canApply()
    );
  }

  ready(): Ready {
    const o = this.out;
    this.out = emptyOutbox();
    let snapshot: Snapshot | null = null;
    const committed: CommittedEntry[] = [];
    if (this.canApply()) {
      if (this.logStart_ === this.lastApplied + 2) {
        snapshot = this.snap;
        this.lastApplied++;
        this.lastAppliedEid_ = this.snap.eid;
      }
      while (this.lastApplied < this.commitIndex_) {
        const index = ++this.lastApplied;
        const entry = this.entries[index - this.logStart_]!;
        if (entry.eid !== undefined && entry.data !== undefined) this.lastAppliedEid_ = entry.eid;
        committed.push({ index, entry });
      }
    }
    const crash = this.crashed;
    return {
      writes: o.writes,
      messages: o.messages,
      snapshot,
      committed,
      results: o.results,
      logs: o.logs,
      left: o.left,
      crash,
    };
  }

  private canApply(): boolean {
    if (this.joining || this.failed || this.crashed !== null) return false;
    return this.logStart_ === this.lastApplied + 2 || this.lastApplied < this.commitIndex_;
  }

  // ===========================================================================================================
  // Inputs

  /**
   * The clock moved, without running the timers yet: the inputs of this turn are handled first, then
   * tick(). As the reference's raft_run handles its connections before its timeouts, messages that waited
   * while the process was stalled (GC, SIGSTOP, a busy machine) reset the election timer before it is
   * found expired.
   */
  clock(now: number): void {
    this.advance(now);
  }

  tick(now: number): void {
    this.advance(now);
    if (this.inert()) return;
    this.guard(() => this.run());
  }

  receive(session: SessionId, msg: RaftMessage): void {
    if (this.inert()) return;
    if (this.failureTest_ === 'stop-raft-rpc') return;
    this.guard(() => {
      // Envelope (§2.2). The cid is learned from the first message that carries one while ours is unknown.
      if (msg.cluster !== undefined && msg.cluster !== this.cid_) {
        if (this.cid_ === null) {
          this.cid_ = msg.cluster;
          this.log('info', `learned cluster ID ${short(msg.cluster)}`, 'raft_rpc');
        } else {
          this.rpcError(session, msg, `wrong cluster ${short(msg.cluster)} (expected ${short(this.cid_)})`);
          return;
        }
      }
      if (msg.to !== undefined && msg.to !== this.sid_) {
        this.rpcError(session, msg, `misrouted message (addressed to ${short(msg.to)} but we're ${short(this.sid_)})`);
        return;
      }
      // The first message on a session tells whose session it is; later ones must agree (§2.1).
      let sess = this.sessions.get(session);
      if (!sess) {
        sess = { outgoing: false, sid: null, connected: true };
        this.sessions.set(session, sess);
      }
      if (sess.sid === null) {
        sess.sid = msg.from;
        this.log('info', `${String(session)}: learned server ID ${short(msg.from)}`);
      } else if (sess.sid !== msg.from) {
        this.log(
          'warn',
          `${String(session)}: ignoring message with unexpected server ID ${short(msg.from)} (expected ${short(sess.sid)})`,
        );
        return;
      }
      this.handleRpc(msg);
    });
  }

  sessionConnected(session: SessionId, info: { readonly outgoing: boolean; readonly sid?: Uuid }): void {
    let sess = this.sessions.get(session);
    if (!sess) {
      sess = { outgoing: info.outgoing, sid: info.sid ?? null, connected: true };
      this.sessions.set(session, sess);
    } else {
      sess.connected = true;
      if (sess.sid === null && info.sid !== undefined) sess.sid = info.sid;
    }
    if (this.inert()) return;
    this.resetSnapshotInProgress(sess.sid);
    if (this.failureTest_ === 'stop-raft-rpc' || !sess.outgoing) return;
    const sid = sess.sid;
    this.guard(() => {
      if (this.joining) {
        this.sendAddServerRequest(session);
      } else if (this.leaving) {
        if (sid === null) return;
        this.sendToSession(session, {
          type: 'remove_server_request',
          ...this.env(sid),
          serverId: this.sid_,
        });
      } else {
        this.sendToSession(session, {
          type: 'hello_request',
          ...this.env(sid),
          address: this.localAddress,
        });
      }
    });
  }

  sessionDisconnected(session: SessionId): void {
    const sess = this.sessions.get(session);
    if (!sess) return;
    sess.connected = false;
    this.resetSnapshotInProgress(sess.sid);
  }

  sessionClosed(session: SessionId): void {
    const sess = this.sessions.get(session);
    if (!sess) return;
    this.sessions.delete(session);
    this.nDisconnections++;
    if (this.inert() || sess.sid === null) return;
    const s = this.addServers.get(sess.sid);
    if (s) {
      // A joiner has one session to us; if it goes, forget the join so that its retry starts over.
      this.log('info', `cluster ${this.cidShort()}: server ${s.nickname} (${s.address}) disconnected while joining`);
      this.addServers.delete(s.sid);
    }
  }

  propose(p: Proposal): void {
    if (this.inert()) {
      this.out.results.push({ eid: p.result, status: 'server shutdown', commitIndex: 0 });
      return;
    }
    this.guard(() => {
      if (this.joining || this.leaving || this.left || this.failed) return this.completeNow(p.result, 'server shutdown');
      if (this.role_ !== 'leader') {
        // Forward to the leader, which must be known and we a plain follower (§2.6.6).
        if (this.role_ !== 'follower' || this.leaderSid === null) return this.completeNow(p.result, 'not leader');
        this.crashIf('crash-before-sending-execute-command-request', 'Raft test: crash before sending execute_command_request');
        const sent = this.send(this.leaderSid, {
          type: 'execute_command_request',
          ...this.env(this.leaderSid),
          data: p.data,
          prereq: p.prereq,
          result: p.result,
        });
        if (!sent) return this.completeNow(p.result, 'not leader');
        this.crashIf('crash-after-sending-execute-command-request', 'Raft test: crash after sending execute_command_request');
        this.commands.set(p.result, { eid: p.result, index: 0, timestamp: this.now, requester: null });
        return;
      }
      const current = this.currentEid();
      if (p.prereq !== current) {
        this.log('info', `current entry eid ${current} does not match prerequisite ${p.prereq}`);
        return this.completeNow(p.result, 'prerequisite check failed');
      }
      const index = this.initiate({ term: this.term_, data: p.data, eid: p.result });
      this.commands.set(p.result, { eid: p.result, index, timestamp: this.now, requester: null });
    });
  }

  persisted(seq: number): void {
    const released = this.gate.persisted(seq);
    if (this.inert()) return;
    this.guard(() => {
      if (this.role_ === 'leader') this.updateOurMatchIndex(this.gate.logSynced);
      for (const { to, msg } of released) {
        const t = messageTerm(msg);
        if (t && t < this.term_) continue; // for an expired term
        // What it promised no longer holds (e.g. a candidate's vote_request whose log tail a leader of the
        // same term then truncated): it is obsolete, and a later message says the truth.
        if (!this.gate.isSynced(msg)) {
          this.log('dbg', `dropping deferred ${msg.type} message that no longer matches the synced log`);
          continue;
        }
        const session = this.findSession(to);
        if (session !== null) this.emit(session, msg);
      }
    });
  }

  writeFailed(error: string): void {
    if (this.inert()) return;
    this.guard(() => this.handleWriteError(error));
  }

  // Operator commands (§4.3) ----------------------------------------------------------------------------------

  leave(): OpResult {
    if (this.leaving) return { ok: false, error: 'already in progress leaving cluster' };
    if (this.joining) return { ok: false, error: "can't leave while join in progress" };
    if (this.failed) return { ok: false, error: "can't leave after failure" };
    if (!this.inert()) this.guard(() => this.startLeaving());
    return { ok: true, reply: '' };
  }

  kick(server: string): OpResult {
    const target = bestMatch(this.servers, server);
    if (!target) return { ok: false, error: 'unknown server' };
    if (target.sid === this.sid_) return this.leave();
    let result: OpResult = { ok: false, error: 'failed to send removal request' };
    if (this.inert()) return result;
    this.guard(() => {
      if (this.role_ === 'leader') {
        result = this.handleRemoveServer(target.sid, null, true) ?? { ok: true, reply: 'started removal' };
        return;
      }
      const sent =
        this.leaderSid !== null &&
        this.send(this.leaderSid, {
          type: 'remove_server_request',
          ...this.env(this.leaderSid, 'via unixctl'),
          serverId: target.sid,
        });
      result = sent ? { ok: true, reply: 'sent removal request to leader' } : { ok: false, error: 'failed to send removal request' };
    });
    return result;
  }

  changeElectionTimer(ms: string | number): OpResult {
    if (this.role_ !== 'leader') return { ok: false, error: 'election timer must be changed through leader.' };
    if (this.electionTimerNew) return { ok: false, error: 'election timer change pending.' };
    const value = typeof ms === 'number' ? Math.trunc(ms) : atoll(ms);
    if (value === this.electionTimer_) return { ok: true, reply: 'change election timer to current value.' };
    if (value < MIN_ELECTION_TIMER || value > MAX_ELECTION_TIMER) {
      return { ok: false, error: 'election timer must be between 100 and 600000, in msec.' };
    }
    if (value > this.electionTimer_ * 2) {
      return { ok: false, error: 'election timer increase should not exceed the current value x 2.' };
    }
    if (this.inert()) return { ok: false, error: 'election timer must be changed through leader.' };
    this.electionTimerNew = value;
    this.guard(() => {
      this.initiate({ term: this.term_, electionTimer: value });
    });
    return { ok: true, reply: 'change of election timer initiated.' };
  }

  setBacklogThreshold(nMsgs: string, nBytes: string): OpResult {
    const parse = (s: string): number | null => (/^\s*\+?\d+$/.test(s) ? Number(s.trim()) : null);
    const m = parse(nMsgs);
    const b = parse(nBytes);
    if (m === null || b === null) return { ok: false, error: 'invalid argument' };
    if (m < 50) return { ok: false, error: 'values out of range' };
    this.backlog = { nMsgs: m, nBytes: b };
    return { ok: true, reply: '' };
  }

  /** cluster/failure-test (process-wide in OVS; here per core: engage it on every core of the process). */
  setFailureTest(name: string): OpResult {
    if (name === 'clear') {
      this.failureTest_ = null;
      return { ok: true, reply: 'test dismissed' };
    }
    const test = FAILURE_TESTS.find((t) => t === name);
    if (test === undefined) return { ok: false, error: 'unknown test scenario' };
    this.failureTest_ = test;
    if (test === 'delay-election' && this.role_ === 'follower' && !this.inert()) this.resetElectionTimer();
    return { ok: true, reply: 'test engaged' };
  }

  /** If leader, hand leadership to the first stable connected peer (§2.6.8); `reason` follows "because". */
  transferLeadership(reason: string): void {
    if (this.inert()) return;
    this.guard(() => this.transferLeadership_(reason));
  }

  /** The database is closing (exit, remove-db): transfer leadership, fail pending commands; the core goes inert. */
  shutdown(): void {
    if (this.inert()) return;
    this.guard(() => {
      this.transferLeadership_('this server is shutting down');
      this.closeDown();
    });
    this.closed = true;
    this.membershipVersion_++;
  }

  /** The automatic snapshot policy says "now" but maySnapshot() is false: a leader steps aside first (§1.7). */
  snapshotRecommended(): void {
    if (this.inert()) return;
    this.guard(() => this.notifySnapshotRecommended());
  }

  /**
   * Compaction (§1.7): replace the log up to `index` (default: the applied index) by `data`, the `[schema, txn]`
   * of the applied state at that index.
   */
  storeSnapshot(data: JsonValue, index?: number): OpResult {
    if (this.joining) return { ok: false, error: 'cannot store a snapshot while joining cluster' };
    if (this.leaving) return { ok: false, error: 'cannot store a snapshot while leaving cluster' };
    if (this.left) return { ok: false, error: 'cannot store a snapshot after leaving cluster' };
    if (this.failed) return { ok: false, error: 'cannot store a snapshot following failure' };
    const last = index ?? this.lastApplied;
    if (last > this.lastApplied) throw new Error(`snapshot index ${last} is beyond the applied index ${this.lastApplied}`);
    const newLogStart = last + 1;
    if (newLogStart <= this.logStart_) return { ok: false, error: 'not storing a duplicate snapshot' };
    if (this.inert()) return { ok: false, error: 'cannot store a snapshot following failure' };
    const snapshot: Snapshot = {
      index: last,
      term: this.termAt(last),
      eid: this.eidAt(last),
      servers: this.serversForIndex(last),
      electionTimer: this.electionTimer_,
      data,
    };
    this.saveSnapshot(snapshot);
    this.entries = this.entries.slice(newLogStart - this.logStart_);
    this.logStart_ = newLogStart;
    this.snap = snapshot;
    return { ok: true, reply: '' };
  }

  // ===========================================================================================================
  // Internals: plumbing

  private get logEnd_(): number {
    return this.logStart_ + this.entries.length;
  }

  private inert(): boolean {
    return this.left || this.failed || this.closed || this.crashed !== null;
  }

  private advance(now: number): void {
    if (now > this.now) this.now = now;
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (e instanceof CrashSignal) {
        this.crashed = e.text;
        this.log('err', e.text);
        return;
      }
      throw e;
    }
  }

  private crashIf(test: FailureTest, text: string): void {
    if (this.failureTest_ === test) throw new CrashSignal(text);
  }

  private log(level: LogLevel, text: string, module: 'raft' | 'raft_rpc' = 'raft'): void {
    if (LEVEL_RANK[level] <= this.logRank) this.out.logs.push({ module, level, text });
  }

  /** How OVS logs a message its parser refused (minus the `syntax "<params>": ` part: the codec has the text). */
  private rpcError(session: SessionId, msg: RaftMessage, why: string): void {
    this.log('info', `${String(session)}: syntax error: Parsing raft ${msg.type} RPC failed: ${why}`);
  }

  private cidShort(): string {
    return this.cid_ ? short(this.cid_) : '0000';
  }

  /** raft_get_nickname: self, configured, being added, else the short sid. */
  private nick(sid: Uuid): string {
    if (sid === this.sid_) return this.localNickname;
    return this.servers.get(sid)?.nickname ?? this.addServers.get(sid)?.nickname ?? short(sid);
  }

  private env(to: Uuid | null, comment?: string): Envelope {
    const e: Envelope = { from: this.sid_ };
    if (this.cid_ !== null) e.cluster = this.cid_;
    if (to !== null) e.to = to;
    if (comment !== undefined) e.comment = comment;
    return e;
  }

  private writeRecord(record: LogRecord, effect: { term?: number; vote?: Uuid | null; logIndex?: number } = {}): void {
    const seq = this.gate.write(effect);
    this.out.writes.push({ kind: 'record', seq, record });
  }

  private findSession(sid: Uuid): SessionId | null {
    for (const [id, s] of this.sessions) if (s.connected && s.sid === sid) return id;
    return null;
  }

  private resetSnapshotInProgress(sid: Uuid | null): void {
    if (sid === null) return;
    const s = this.servers.get(sid);
    if (s) s.installSnapshotInProgress = false;
  }

  private emit(session: SessionId, msg: RaftMessage): void {
    if (this.failureTest_ === 'stop-raft-rpc') return;
    this.out.messages.push({ session, message: msg });
  }

  /** raft_send_to_conn: straight onto one session (no durability check; used for hello/join/leave/transfer). */
  private sendToSession(session: SessionId, msg: RaftMessage): void {
    this.emit(session, msg);
  }

  /**
   * raft_send: to the first connected session of `to`. False if there is none (the message is dropped); a
   * message that depends on a write not yet durable is held and sent by persisted().
   */
  private send(to: Uuid, msg: RaftMessage): boolean {
    if (to === this.sid_) {
      this.log('warn', 'attempted to send RPC to self');
      return false;
    }
    const session = this.findSession(to);
    if (session === null) {
      this.log('dbg', `${this.localNickname}: no connection to ${this.nick(to)}, cannot send RPC`);
      return false;
    }
    if (!this.gate.isSynced(msg)) {
      this.gate.hold({ to, msg });
      return true;
    }
    this.emit(session, msg);
    return true;
  }

  private completeNow(eid: Uuid, status: FinalStatus): void {
    this.out.results.push({ eid, status, commitIndex: 0 });
  }

  // ===========================================================================================================
  // Internals: log

  private termAt(index: number): number {
    return index === this.logStart_ - 1 ? this.snap.term : this.entries[index - this.logStart_]!.term;
  }

  private lastLogTerm(): number {
    return this.entries.length > 0 ? this.entries[this.entries.length - 1]!.term : this.snap.term;
  }

  private eidAt(index: number): Uuid {
    for (let i = index; i >= this.logStart_; i--) {
      const e = this.entries[i - this.logStart_]!;
      if (e.data !== undefined && e.eid !== undefined) return e.eid;
    }
    return this.snap.eid;
  }

  private serversForIndex(index: number): Servers {
    let servers = this.snap.servers;
    for (let i = this.logStart_; i <= index; i++) {
      const e = this.entries[i - this.logStart_]!;
      if (e.servers) servers = e.servers;
    }
    return servers;
  }

  /** Appends an entry to the log and writes its record. */
  private writeEntry(entry: LogEntry): number {
    const index = this.logEnd_;
    this.entries.push(entry);
    this.writeRecord({ type: 'entry', term: entry.term, index, entry }, { logIndex: index });
    return index;
  }

  /** Cuts the log back to end at `newEnd`. True if a configuration entry went. (Nothing is written: the next
   * Entry record, with a lower index, records the truncation.) */
  private truncate(newEnd: number): boolean {
    if (this.logEnd_ > newEnd) this.log('info', `${this.localNickname} truncating ${this.logEnd_ - newEnd} entries from end of log`);
    let serversChanged = false;
    while (this.logEnd_ > newEnd) {
      const e = this.entries.pop()!;
      if (e.servers) serversChanged = true;
    }
    this.gate.truncate(newEnd);
    return serversChanged;
  }

  private setTerm(term: number, vote: Uuid | null): void {
    this.writeRecord(vote !== null ? { type: 'vote', term, vote } : { type: 'term', term }, { term, vote });
    this.term_ = term;
    this.vote = vote;
  }

  private getServersFromLog(level: LogLevel): void {
    let servers = this.snap.servers;
    for (let i = this.logEnd_ - 1; i >= this.logStart_; i--) {
      const e = this.entries[i - this.logStart_]!;
      if (e.servers) {
        servers = e.servers;
        break;
      }
    }
    this.setServers(servers, level);
  }

  private setServers(next: Servers, level: LogLevel): void {
    for (const s of [...this.servers.values()]) {
      if (!next.has(s.sid)) {
        this.servers.delete(s.sid);
        this.membershipVersion_++;
        this.log(level, `server ${s.nickname} removed from configuration`);
      }
    }
    for (const [sid, address] of next) {
      if (!this.servers.has(sid)) {
        const s = newServer(sid, address);
        this.log(level, `server ${s.nickname} added to configuration`);
        this.initLeaderView(s);
        this.servers.set(sid, s);
        this.membershipVersion_++;
      }
    }
  }

  private getElectionTimerFromLog(): void {
    if (this.snap.electionTimer) this.electionTimer_ = this.snap.electionTimer;
    for (let i = this.commitIndex_; i >= this.logStart_; i--) {
      const t = this.entries[i - this.logStart_]!.electionTimer;
      if (t) {
        this.electionTimer_ = t;
        break;
      }
    }
  }

  /** Writes a replacement file (§1.7): header with `snapshot`, the entries after it, term/vote, commit index. */
  private saveSnapshot(snapshot: Snapshot): void {
    if (this.cid_ === null) throw new Error('saving a snapshot without a cluster ID');
    const header: MemberHeader = {
      kind: 'member',
      sid: this.sid_,
      cid: this.cid_,
      name: this.name_,
      localAddress: this.localAddress,
      snapshot,
    };
    const records: LogRecord[] = [];
    for (let i = snapshot.index + 1; i < this.logEnd_; i++) {
      const entry = this.entries[i - this.logStart_]!;
      records.push({ type: 'entry', term: entry.term, index: i, entry });
    }
    records.push(this.vote !== null ? { type: 'vote', term: this.term_, vote: this.vote } : { type: 'term', term: this.term_ });
    if (this.commitIndex_ >= snapshot.index + 1) records.push({ type: 'commit_index', commitIndex: this.commitIndex_ });
    const end = Math.max(this.logEnd_ - 1, snapshot.index);
    const seq = this.gate.write({ term: this.term_, vote: this.vote, logIndex: end });
    this.out.writes.push({ kind: 'replace', seq, header, records });
  }

  // ===========================================================================================================
  // Internals: timers and roles

  private resetElectionTimer(): void {
    let duration = this.electionTimer_ + Math.floor(this.random() * ELECTION_RANGE_MSEC);
    this.electionBase = this.now;
    if (this.failureTest_ === 'delay-election') duration += this.electionTimer_;
    this.electionTimeout = this.now + duration;
  }

  private resetPingTimer(): void {
    this.pingTimeout = this.now + Math.floor(this.electionTimer_ / 3);
  }

  /** raft_run, minus the I/O. */
  private run(): void {
    if (this.failureTest_ === 'transfer-leadership') {
      this.notifySnapshotRecommended();
      this.failureTest_ = null;
    }
    if (this.canElect() && this.now >= this.electionTimeout) {
      if (this.role_ === 'leader') {
        // Lease check (§2.6.1): step down unless ⌊n/2⌋ peers replied during this election timeout.
        let count = 0;
        for (const s of this.servers.values()) if (s.replied) count++;
        if (count >= Math.floor(this.servers.size / 2)) {
          for (const s of this.servers.values()) s.replied = false;
          this.resetElectionTimer();
        } else {
          this.becomeFollower();
          this.startElection(false);
        }
      } else {
        this.startElection(false);
      }
    }
    if (this.inert()) return;
    if (this.leaving && this.now >= this.leaveTimeout) this.sendRemoveServerRequests();
    if (this.joining && this.now >= this.joinTimeout) {
      this.joinTimeout = this.now + JOIN_RETRY_MSEC;
      for (const [id, s] of this.sessions) if (s.connected) this.sendAddServerRequest(id);
    }
    if (this.now >= this.pingTimeout) {
      if (this.role_ === 'leader') this.sendHeartbeats();
      // Commands time out after 2·E without completion or a ping, so they survive one election.
      for (const cmd of [...this.commands.values()]) {
        if (this.commands.get(cmd.eid) !== cmd) continue;
        if (this.now - cmd.timestamp > this.electionTimer_ * 2) {
          this.completeCommand(cmd, cmd.index && this.role_ !== 'leader' ? 'lost leadership' : 'timeout');
        }
      }
      this.resetPingTimer();
    }
  }

  /**
   * Whether the election timer means anything. A leaving server, or one outside its own configuration, never
   * starts an election (its expired timer would only wake the app in a loop; OVS spins there).
   * Improvement over 3.1, which never runs elections while joining: a joiner whose log's configuration
   * includes it takes part like any member. Otherwise a joiner with the longest log of a small configuration
   * (its leader lost the tail of its log on power failure) refuses its vote and never campaigns: a wedge.
   */
  private canElect(): boolean {
    return this.role_ === 'leader' || (!this.leaving && this.servers.has(this.sid_));
  }

  private setLeader(sid: Uuid): void {
    this.leaderSid = sid;
    this.everHadLeader = this.hadLeader = true;
    this.candidateRetrying = false;
  }

  private initLeaderView(s: ServerState): void {
    s.nextIndex = this.logEnd_;
    s.matchIndex = 0;
    s.phase = 'stable';
    s.replied = false;
    s.installSnapshotInProgress = false;
  }

  private startElection(leadershipTransfer: boolean): void {
    if (this.leaving) return;
    const me = this.servers.get(this.sid_);
    if (!me) return;
    this.setTerm(this.term_ + 1, this.sid_);
    this.leaderSid = null;
    this.role_ = 'candidate';
    this.candidateRetrying = !this.hadLeader;
    this.hadLeader = false;
    this.nVotes = 0;
    this.electionStart = this.now;
    this.electionWon = null;
    this.leadershipTransfer = leadershipTransfer;
    if (this.now >= this.electionTimeout) {
      this.log('info', `term ${this.term_}: ${this.now - this.electionBase} ms timeout expired, starting election`);
    } else {
      this.log('info', `term ${this.term_}: starting election`);
    }
    this.resetElectionTimer();
    const lastLogIndex = this.logEnd_ - 1;
    const lastLogTerm = this.lastLogTerm();
    for (const peer of this.servers.values()) {
      peer.vote = null;
      if (peer.sid === this.sid_) continue;
      const rq: VoteRequest = {
        type: 'vote_request',
        ...this.env(peer.sid),
        term: this.term_,
        lastLogIndex,
        lastLogTerm,
        ...(leadershipTransfer ? { leadershipTransfer: true as const } : {}),
      };
      if (this.failureTest_ !== 'dont-send-vote-request') this.send(peer.sid, rq);
    }
    this.acceptVote(me, this.sid_);
  }

  private acceptVote(s: ServerState, vote: Uuid): void {
    if (s.vote === vote) return;
    if (s.vote !== null) this.log('warn', `server ${s.nickname} changed its vote from ${this.nick(s.vote)} to ${this.nick(vote)}`);
    s.vote = vote;
    if (vote === this.sid_ && ++this.nVotes > Math.floor(this.servers.size / 2)) this.becomeLeader();
  }

  private becomeLeader(): void {
    this.log('info', `term ${this.term_}: elected leader by ${this.nVotes}+ of ${this.servers.size} servers`);
    this.role_ = 'leader';
    this.electionWon = this.now;
    this.setLeader(this.sid_);
    this.resetElectionTimer();
    this.resetPingTimer();
    for (const s of this.servers.values()) this.initLeaderView(s);
    this.addServers.clear();
    this.electionTimerNew = 0;
    this.updateOurMatchIndex(Math.min(this.logEnd_ - 1, this.gate.logSynced));
    this.writeRecord({ type: 'leader', term: this.term_, leader: this.sid_ });
    // The no-op of the new term (§2.6.2): commits everything earlier with it.
    this.initiate({ term: this.term_ });
  }

  private becomeFollower(): void {
    this.leaderSid = null;
    if (this.role_ === 'follower') return;
    this.role_ = 'follower';
    this.resetElectionTimer();
    // Configuration changes in progress fail; commands do not (their entries may still commit).
    for (const s of this.addServers.values()) this.sendAddServerReply(s.sid, s.address, false, 'lost leadership');
    this.addServers.clear();
    if (this.removeServer) {
      const rs = this.removeServer;
      this.removeServer = null;
      this.sendRemoveServerReply(rs.sid, rs.requesterSid, false, false, 'lost leadership');
    }
  }

  /** Leader: append an entry of the current term and send it to every peer that is up to date. */
  private initiate(entry: LogEntry): number {
    const index = this.writeEntry(entry);
    this.crashIf('crash-before-sending-append-request', 'Raft test: crash before sending append_request.');
    for (const s of this.servers.values()) {
      if (s.sid !== this.sid_ && s.nextIndex === index) {
        this.sendAppendRequest(s, 1, 'execute command');
        s.nextIndex++;
      }
    }
    this.crashIf('crash-after-sending-append-request', 'Raft test: crash after sending append_request.');
    if (this.failureTest_ === 'transfer-leadership-after-sending-append-request') this.failureTest_ = 'transfer-leadership';
    this.resetPingTimer();
    return index;
  }

  private sendAppendRequest(peer: ServerState, n: number, comment?: string): void {
    const prevLogIndex = peer.nextIndex - 1;
    const prevLogTerm = prevLogIndex >= this.logStart_ ? this.entries[prevLogIndex - this.logStart_]!.term : this.snap.term;
    const from = peer.nextIndex - this.logStart_;
    const rq: AppendRequest = {
      type: 'append_request',
      ...this.env(peer.sid, comment),
      term: this.term_,
      prevLogIndex,
      prevLogTerm,
      leaderCommit: this.commitIndex_,
      log: n > 0 ? this.entries.slice(from, from + n) : [],
    };
    this.send(peer.sid, rq);
  }

  private sendHeartbeats(): void {
    for (const s of this.servers.values()) if (s.sid !== this.sid_) this.sendAppendRequest(s, 0, 'heartbeat');
    // Forwarding followers would otherwise time their commands out.
    for (const cmd of this.commands.values()) {
      if (cmd.requester !== null) this.sendExecuteCommandReply(cmd.requester, cmd.eid, 'operation still in progress', 0);
    }
    this.resetPingTimer();
  }

  private updateCommitIndex(newCommit: number): boolean {
    if (newCommit <= this.commitIndex_) return false;
    while (this.commitIndex_ < newCommit) {
      const index = ++this.commitIndex_;
      const e = this.entries[index - this.logStart_]!;
      if (e.data !== undefined && e.eid !== undefined) {
        const cmd = this.commands.get(e.eid);
        if (cmd) {
          if (!cmd.index && this.role_ === 'leader') {
            this.log('info', `command completed after role change from follower to leader (eid: ${e.eid}, commit index: ${index})`);
          } else if (!cmd.index) {
            this.log('info', `command completed without reply (eid: ${e.eid}, commit index: ${index})`);
          } else if (this.role_ !== 'leader') {
            this.log('info', `command completed after role change from leader to follower (eid: ${e.eid}, commit index: ${index})`);
            cmd.requester = null;
          }
          cmd.index = index;
          this.completeCommand(cmd, 'success');
        }
      }
      if (e.electionTimer) {
        this.log('info', `Election timer changed from ${this.electionTimer_} to ${e.electionTimer}`);
        this.electionTimer_ = e.electionTimer;
        this.electionTimerNew = 0;
      }
      if (e.servers && this.role_ === 'leader') this.runReconfigure();
      // Improvement over 3.1: a configuration that includes us has committed, so the join is complete even if
      // the leader's "completed" reply was lost. (3.1 waits for a reply that, without a leader, never comes;
      // a joiner in a two-server configuration with the longer log then wedges the cluster. A restart would
      // have ended `joining` anyway: the file is a member file by now.)
      if (e.servers && this.joining && e.servers.has(this.sid_)) {
        this.log('info', `${short(this.sid_)}: joined cluster ${this.cidShort()} (configuration committed at index ${index})`);
        this.joining = false;
        this.membershipVersion_++;
      }
    }
    this.writeRecord({ type: 'commit_index', commitIndex: this.commitIndex_ });
    return true;
  }

  private considerUpdatingCommitIndex(): void {
    // The highest current-term entry on a majority commits, and everything before it (§2.6.3).
    let newCommit = this.commitIndex_;
    const n = this.servers.size;
    for (let idx = Math.max(this.commitIndex_ + 1, this.logStart_); idx < this.logEnd_; idx++) {
      if (this.entries[idx - this.logStart_]!.term !== this.term_) continue;
      let count = 0;
      for (const s of this.servers.values()) if (s.matchIndex >= idx) count++;
      if (count > Math.floor(n / 2)) newCommit = idx;
    }
    if (this.updateCommitIndex(newCommit)) this.sendHeartbeats();
  }

  private updateMatchIndex(s: ServerState, minIndex: number): void {
    if (minIndex > s.matchIndex) {
      s.matchIndex = minIndex;
      this.considerUpdatingCommitIndex();
    }
  }

  private updateOurMatchIndex(minIndex: number): void {
    const me = this.servers.get(this.sid_);
    if (me && this.role_ === 'leader') this.updateMatchIndex(me, minIndex);
  }

  private completeCommand(cmd: Command, status: FinalStatus): void {
    this.commands.delete(cmd.eid);
    if (cmd.requester !== null) {
      this.sendExecuteCommandReply(cmd.requester, cmd.eid, status, status === 'success' ? cmd.index : 0);
    } else {
      this.out.results.push({ eid: cmd.eid, status, commitIndex: status === 'success' ? cmd.index : 0 });
    }
  }

  private sendExecuteCommandReply(to: Uuid, eid: Uuid, status: CommandStatus, commitIndex: number): void {
    this.crashIf('crash-before-sending-execute-command-reply', 'Raft test: crash before sending execute_command_reply');
    const rpy: ExecuteCommandReply = {
      type: 'execute_command_reply',
      ...this.env(to),
      result: eid,
      status,
      ...(commitIndex ? { commitIndex } : {}),
    };
    this.send(to, rpy);
    this.crashIf('crash-after-sending-execute-command-reply', 'Raft test: crash after sending execute_command_reply.');
  }

  private handleWriteError(error: string): void {
    if (this.failed) return;
    this.failed = true;
    this.membershipVersion_++;
    this.log('warn', `${this.name_}: entering failure mode due to I/O error (${error})`);
    this.closeDown();
  }

  /** raft_close__: what a closing, failed or departed member owes its peers and clients. */
  private closeDown(): void {
    for (const cmd of [...this.commands.values()]) if (this.commands.get(cmd.eid) === cmd) this.completeCommand(cmd, 'server shutdown');
    if (this.removeServer) {
      const rs = this.removeServer;
      this.removeServer = null;
      this.sendRemoveServerReply(rs.sid, rs.requesterSid, false, false, 'shutdown');
    }
  }

  // ===========================================================================================================
  // Internals: membership

  private transferLeadership_(reason: string): void {
    if (this.role_ !== 'leader') return;
    for (const s of this.servers.values()) {
      if (s.sid === this.sid_ || s.phase !== 'stable') continue;
      const session = this.findSession(s.sid);
      if (session === null) continue;
      const rq: BecomeLeader = { type: 'become_leader', ...this.env(s.sid, reason), term: this.term_ };
      this.sendToSession(session, rq);
      this.writeRecord({ type: 'note', note: 'transfer leadership', comment: `transferring leadership to ${s.nickname} because ${reason}` });
      break;
    }
  }

  private notifySnapshotRecommended(): void {
    if (this.role_ === 'leader') {
      this.log('info', 'Transferring leadership to write a snapshot.');
      this.transferLeadership_('preparing to write snapshot');
      this.becomeFollower();
    }
  }

  private startLeaving(): void {
    if (this.joining || this.failed || this.leaving || this.left) return;
    this.log('info', `${short(this.sid_)}: starting to leave cluster ${this.cidShort()}`);
    this.leaving = true;
    this.transferLeadership_('this server is leaving the cluster');
    this.becomeFollower();
    this.sendRemoveServerRequests();
    this.leaveTimeout = this.now + this.electionTimer_;
  }

  private sendRemoveServerRequests(): void {
    this.log('info', `sending remove request (joining=${this.joining}, leaving=${this.leaving})`);
    for (const s of this.servers.values()) {
      if (s.sid === this.sid_) continue;
      this.send(s.sid, { type: 'remove_server_request', ...this.env(s.sid), serverId: this.sid_ });
    }
    this.leaveTimeout = this.now + this.electionTimer_;
  }

  private sendAddServerRequest(session: SessionId): void {
    const rq: AddServerRequest = { type: 'add_server_request', ...this.env(null), address: this.localAddress };
    this.sendToSession(session, rq);
  }

  private sendAddServerReply(sid: Uuid, address: string, success: boolean, comment: string): void {
    this.log(
      'info',
      `adding ${this.nick(sid)} (${short(sid)} at ${address}) to cluster ${this.cidShort()} ${success ? 'succeeded' : 'failed'} (${comment})`,
    );
    const remoteAddresses: string[] = [];
    if (!this.joining) for (const s of this.servers.values()) if (s.sid !== this.sid_) remoteAddresses.push(s.address);
    const rpy: AddServerReply = {
      type: 'add_server_reply',
      ...this.env(sid, comment),
      success,
      ...(remoteAddresses.length ? { remoteAddresses } : {}),
    };
    this.send(sid, rpy);
  }

  /**
   * raft_send_remove_server_reply__: log the outcome, tell the requester and the target; for a cluster/kick on
   * the leader (`unixctl`), the sentence is also the command's reply.
   */
  private sendRemoveServerReply(
    target: Uuid,
    requester: Uuid | null,
    unixctl: boolean,
    success: boolean,
    comment: string,
  ): OpResult {
    let text = 'request ' + (requester !== null ? `by ${this.nick(requester)}` : 'via unixctl') + ' to remove ';
    if (!unixctl && target === requester) text += 'itself';
    else text += this.nick(target) + (target === this.sid_ ? ' (ourselves)' : '');
    text += ` from cluster ${this.cidShort()} ${success ? 'succeeded' : 'failed'} (${comment})`;
    this.log('info', text);
    if (requester !== null) this.sendRemoveServerReplyRpc(requester, target, success, comment);
    if (requester !== target) this.sendRemoveServerReplyRpc(target, target, success, comment);
    return success ? { ok: true, reply: text } : { ok: false, error: text };
  }

  private sendRemoveServerReplyRpc(dst: Uuid, target: Uuid, success: boolean, comment: string): void {
    if (dst === this.sid_) {
      if (success && target === this.sid_) this.finishedLeaving();
      return;
    }
    const rpy: RemoveServerReply = {
      type: 'remove_server_reply',
      ...this.env(dst, comment),
      success,
      ...(dst === target ? {} : { targetServer: target }),
    };
    this.send(dst, rpy);
  }

  private finishedLeaving(): void {
    this.log('info', `${short(this.sid_)}: finished leaving cluster ${this.cidShort()}`);
    this.writeRecord({ type: 'note', note: 'left', comment: 'this server left the cluster' });
    this.leaving = false;
    this.left = true;
    this.membershipVersion_++;
    this.out.left = true;
    this.closeDown();
  }

  private hasUncommittedConfiguration(): boolean {
    for (let i = this.commitIndex_ + 1; i < this.logEnd_; i++) if (this.entries[i - this.logStart_]!.servers) return true;
    return false;
  }

  /** One configuration change at a time (§2.6.7, §2.6.9). */
  private runReconfigure(): void {
    if (this.hasUncommittedConfiguration()) return;
    for (const s of this.servers.values()) {
      if (s.phase === 'committing') {
        this.sendAddServerReply(s.sid, s.address, true, 'completed');
        s.phase = 'stable';
      }
    }
    if (this.removeServer) {
      const rs = this.removeServer;
      this.removeServer = null;
      this.sendRemoveServerReply(rs.sid, rs.requesterSid, false, true, 'completed');
    }
    if (this.inert()) return;
    for (const s of this.addServers.values()) {
      if (s.phase === 'caught up') {
        this.addServers.delete(s.sid);
        this.servers.set(s.sid, s);
        this.membershipVersion_++;
        s.phase = 'committing';
        this.initiate({ term: this.term_, servers: serversOf(this.servers) });
        return;
      }
    }
    for (const s of this.servers.values()) {
      if (s.phase === 'remove') {
        this.servers.delete(s.sid);
        this.membershipVersion_++;
        this.removeServer = s;
        this.initiate({ term: this.term_, servers: serversOf(this.servers) });
        return;
      }
    }
  }

  /** raft_handle_remove_server_request; `unixctl` for cluster/kick on the leader (returns its reply, or null
   * for "started removal"). */
  private handleRemoveServer(targetSid: Uuid, requester: Uuid | null, unixctl: boolean): OpResult | null {
    if (this.role_ !== 'leader') return this.sendRemoveServerReply(targetSid, requester, unixctl, false, 'not leader');
    const adding = this.addServers.get(targetSid);
    if (adding) {
      this.sendAddServerReply(adding.sid, adding.address, false, 'canceled');
      this.addServers.delete(adding.sid);
      return null;
    }
    // Improvement over 3.1: the server whose removal is being committed is no longer in the table, and 3.1
    // answers a repeated request for it (a leaving server retries every E) "already not in cluster", success:
    // the target then leaves before the configuration without it has committed, and a small cluster can be
    // left counting a member that is gone.
    if (this.removeServer && this.removeServer.sid === targetSid) {
      return this.sendRemoveServerReply(targetSid, requester, unixctl, false, 'in progress');
    }
    const target = this.servers.get(targetSid);
    if (!target) return this.sendRemoveServerReply(targetSid, requester, unixctl, true, 'already not in cluster');
    if (target.phase === 'committing') return this.sendRemoveServerReply(targetSid, requester, unixctl, false, 'committing');
    if (target.phase === 'remove') return this.sendRemoveServerReply(targetSid, requester, unixctl, false, 'in progress');
    let others = 0;
    for (const s of this.servers.values()) if (s !== target && s.phase !== 'remove') others++;
    if (!others) return this.sendRemoveServerReply(targetSid, requester, unixctl, false, 'empty');
    target.phase = 'remove';
    target.requesterSid = unixctl ? null : requester;
    this.runReconfigure();
    return null;
  }

  // ===========================================================================================================
  // Internals: RPC handlers (§2.6)

  private handleRpc(msg: RaftMessage): void {
    const s = this.servers.get(msg.from);
    if (s) s.lastMsgTs = this.now;
    const term = messageTerm(msg);
    if (term) {
      if (this.suppressDisruptive(msg)) return;
      if (!this.receiveTerm(msg, term)) {
        if (msg.type === 'append_request') this.sendAppendReply(msg, 'inconsistency', 'stale term');
        // Improvement over 3.1 (which stays silent): tell a stale candidate our term with our (true) vote, so
        // that it catches up. Otherwise a candidate outside the requester's configuration can keep a higher
        // term forever and the requester, the only one that can win, never learns it.
        else if (msg.type === 'vote_request' && this.vote !== null) {
          this.send(msg.from, { type: 'vote_reply', ...this.env(msg.from), term: this.term_, vote: this.vote });
        }
        return;
      }
    }
    switch (msg.type) {
      case 'hello_request':
        return;
      case 'append_request':
        return this.handleAppendRequest(msg);
      case 'append_reply':
        return this.handleAppendReply(msg);
      case 'vote_request':
        return this.handleVoteRequest(msg);
      case 'vote_reply':
        return this.handleVoteReply(msg);
      case 'add_server_request':
        return this.handleAddServerRequest(msg);
      case 'add_server_reply':
        return this.handleAddServerReply(msg);
      case 'remove_server_request':
        this.handleRemoveServer(msg.serverId, msg.from, false);
        return;
      case 'remove_server_reply':
        return this.handleRemoveServerReply(msg);
      case 'install_snapshot_request':
        return this.handleInstallSnapshotRequest(msg);
      case 'install_snapshot_reply':
        return this.handleInstallSnapshotReply(msg);
      case 'become_leader':
        return this.handleBecomeLeader(msg);
      case 'execute_command_request':
        return this.handleExecuteCommandRequest(msg);
      case 'execute_command_reply':
        return this.handleExecuteCommandReply(msg);
    }
  }

  /**
   * Disruption suppression (§2.6.2), before any term check: a vote_request without leadership_transfer is
   * ignored entirely by a leader and by a follower that heard from a leader less than E ms ago.
   */
  private suppressDisruptive(msg: RaftMessage): boolean {
    if (msg.type !== 'vote_request' || msg.leadershipTransfer) return false;
    if (this.role_ === 'leader') {
      this.log('warn', 'ignoring vote request received as leader');
      return true;
    }
    if (this.role_ === 'follower' && this.now < this.electionBase + this.electionTimer_) {
      this.log(
        'warn',
        `ignoring vote request received after only ${this.now - this.electionBase} ms (minimum election time is ${this.electionTimer_} ms)`,
      );
      return true;
    }
    return false;
  }

  private receiveTerm(msg: RaftMessage, term: number): boolean {
    if (term > this.term_) {
      this.setTerm(term, null);
      this.becomeFollower();
    } else if (term < this.term_) {
      this.log(
        'info',
        `rejecting term ${term} < current term ${this.term_} received in ${msg.type} message from server ${this.nick(msg.from)}`,
      );
      return false;
    }
    return true;
  }

  private sendAppendReply(rq: AppendRequest, result: AppendResult, comment: string): void {
    const n = rq.log.length;
    if (result === 'OK' && rq.leaderCommit > this.commitIndex_) {
      this.updateCommitIndex(Math.min(rq.leaderCommit, rq.prevLogIndex + n));
    }
    const rpy: AppendReply = {
      type: 'append_reply',
      ...this.env(rq.from, comment),
      term: this.term_,
      logEnd: this.logEnd_,
      prevLogIndex: rq.prevLogIndex,
      prevLogTerm: rq.prevLogTerm,
      nEntries: n,
      result,
    };
    this.send(rq.from, rpy);
  }

  private mismatch(prevLogIndex: number, prevLogTerm: number): string | null {
    if (prevLogIndex < this.logStart_ - 1) return 'mismatch before start of log';
    if (prevLogIndex === this.logStart_ - 1) return prevLogTerm !== this.snap.term ? 'prev_term mismatch' : null;
    if (prevLogIndex < this.logEnd_) {
      return this.entries[prevLogIndex - this.logStart_]!.term !== prevLogTerm ? 'term mismatch' : null;
    }
    return 'mismatch past end of log';
  }

  private updateLeader(sid: Uuid): boolean {
    if (this.role_ === 'leader') {
      this.log('err', `this server is leader but server ${this.nick(sid)} claims to be`);
      return false;
    }
    if (sid !== this.leaderSid) {
      if (this.leaderSid !== null) {
        this.log('err', `leader for term ${this.term_} changed from ${this.nick(this.leaderSid)} to ${this.nick(sid)}`);
      } else {
        this.log('info', `server ${this.nick(sid)} is leader for term ${this.term_}`);
      }
      this.setLeader(sid);
      this.writeRecord({ type: 'leader', term: this.term_, leader: sid });
    }
    if (this.role_ === 'candidate') this.role_ = 'follower';
    return true;
  }

  private handleAppendRequest(rq: AppendRequest): void {
    if (!this.updateLeader(rq.from)) return this.sendAppendReply(rq, 'inconsistency', 'usurped leadership');
    this.resetElectionTimer();
    const n = rq.log.length;
    const first = rq.prevLogIndex + 1;
    const nth = rq.prevLogIndex + n;
    if (first >= this.logStart_) return this.handleAppendEntries(rq, rq.prevLogIndex, rq.prevLogTerm, rq.log);
    // The request reaches back into what our snapshot already covers.
    if (nth < this.logStart_ - 1) return this.sendAppendReply(rq, 'OK', 'append before log start');
    if (nth === this.logStart_ - 1) {
      const same = n ? this.snap.term === rq.log[n - 1]!.term : this.snap.term === rq.prevLogTerm;
      return this.sendAppendReply(rq, same ? 'OK' : 'inconsistency', same ? 'no change' : 'term mismatch');
    }
    const ofs = this.logStart_ - first;
    this.handleAppendEntries(rq, this.logStart_ - 1, rq.log[ofs - 1]!.term, rq.log.slice(ofs));
  }

  private handleAppendEntries(rq: AppendRequest, prevLogIndex: number, prevLogTerm: number, entries: readonly LogEntry[]): void {
    const why = this.mismatch(prevLogIndex, prevLogTerm);
    if (why !== null) {
      this.log('info', `rejecting append_request because previous entry ${prevLogTerm},${prevLogIndex} not in local log (${why})`);
      return this.sendAppendReply(rq, 'inconsistency', why);
    }
    let i = 0;
    let serversChanged = false;
    for (; ; i++) {
      if (i >= entries.length) {
        return this.sendAppendReply(rq, 'OK', rq.comment === 'heartbeat' ? 'heartbeat' : 'no change');
      }
      const index = prevLogIndex + 1 + i;
      if (index >= this.logEnd_) break;
      if (this.entries[index - this.logStart_]!.term !== entries[i]!.term) {
        if (this.truncate(index)) serversChanged = true;
        break;
      }
    }
    this.crashIf('crash-after-receiving-append-request-update', 'Raft test: crash after receiving append_request with update.');
    for (; i < entries.length; i++) {
      const e = entries[i]!;
      this.writeEntry(e);
      if (e.servers) serversChanged = true;
    }
    if (serversChanged) this.getServersFromLog('info');
    this.sendAppendReply(rq, 'OK', 'log updated');
  }

  private handleAppendReply(rpy: AppendReply): void {
    if (this.role_ !== 'leader') {
      this.log('info', 'rejected append_reply (not leader)');
      return;
    }
    let s = rpy.from !== this.sid_ ? this.servers.get(rpy.from) : undefined;
    if (!s) s = this.addServers.get(rpy.from);
    if (!s) {
      this.log('info', `rejected append_reply from unknown server ${short(rpy.from)}`);
      return;
    }
    s.replied = true;
    if (rpy.result === 'OK') {
      const minIndex = rpy.prevLogIndex + rpy.nEntries + 1;
      if (s.nextIndex < minIndex) s.nextIndex = minIndex;
      this.updateMatchIndex(s, minIndex - 1);
    } else {
      s.nextIndex = s.nextIndex > 0 ? Math.min(s.nextIndex - 1, rpy.logEnd) : 0;
      if (rpy.result === 'I/O error') {
        this.log('info', `${s.nickname} reported I/O error`);
        return;
      }
    }
    if (this.role_ !== 'leader' || this.inert()) return;
    if (s.nextIndex < this.logStart_) {
      this.sendInstallSnapshotRequest(s, undefined);
    } else if (s.nextIndex < this.logEnd_) {
      this.sendAppendRequest(s, this.logEnd_ - s.nextIndex, undefined);
    } else if (s.phase === 'catchup') {
      s.phase = 'caught up';
      this.runReconfigure();
    }
  }

  private handleVoteRequest(rq: VoteRequest): void {
    if (this.vote === null) {
      // Withhold the vote (no reply at all) if our log is more up to date (§2.6.2).
      const lastTerm = this.lastLogTerm();
      if (lastTerm > rq.lastLogTerm || (lastTerm === rq.lastLogTerm && this.logEnd_ - 1 > rq.lastLogIndex)) return;
      this.setTerm(this.term_, rq.from);
      this.resetElectionTimer();
    }
    // Re-reply with our existing vote, whoever it is for.
    const rpy: VoteReply = { type: 'vote_reply', ...this.env(rq.from), term: this.term_, vote: this.vote! };
    this.send(rq.from, rpy);
  }

  private handleVoteReply(rpy: VoteReply): void {
    if (this.role_ !== 'candidate') return;
    const s = rpy.from !== this.sid_ ? this.servers.get(rpy.from) : undefined;
    if (s) this.acceptVote(s, rpy.vote);
  }

  private handleAddServerRequest(rq: AddServerRequest): void {
    if (this.role_ !== 'leader') return this.sendAddServerReply(rq.from, rq.address, false, 'not leader');
    const s = this.servers.get(rq.from);
    if (s) {
      if (s.phase === 'remove') {
        s.phase = 'stable';
        return this.sendAddServerReply(rq.from, rq.address, false, 'canceled');
      }
      // Quirk R2: a server still committing gets "in progress" and then, falling through, "already in cluster".
      if (s.phase !== 'stable') this.sendAddServerReply(rq.from, rq.address, false, 'in progress');
      return this.sendAddServerReply(rq.from, rq.address, true, 'already in cluster');
    }
    if (this.removeServer && this.removeServer.sid === rq.from) {
      return this.sendAddServerReply(rq.from, rq.address, false, 'committing');
    }
    if (this.addServers.has(rq.from)) return this.sendAddServerReply(rq.from, rq.address, false, 'in progress');
    const ns = newServer(rq.from, rq.address);
    this.initLeaderView(ns);
    ns.requesterSid = rq.from;
    ns.phase = 'catchup';
    ns.lastMsgTs = this.now;
    this.addServers.set(ns.sid, ns);
    this.log('info', `starting to add server ${ns.nickname} (${short(ns.sid)} at ${rq.address}) to cluster ${this.cidShort()}`);
    this.sendAppendRequest(ns, 0, 'initialize new server');
  }

  private handleAddServerReply(rpy: AddServerReply): void {
    if (!this.joining) {
      this.log('warn', "received add_server_reply even though we're already part of the cluster");
      return;
    }
    if (rpy.success) {
      // Not necessarily in our configuration yet: a majority without us may have committed the entry.
      this.joining = false;
      this.membershipVersion_++;
      return;
    }
    for (const a of rpy.remoteAddresses ?? []) {
      if (!this.remoteAddresses.includes(a)) {
        this.remoteAddresses.push(a);
        this.membershipVersion_++;
        this.log('info', `${a}: learned new server address for joining cluster`);
      }
    }
  }

  private handleRemoveServerReply(rpy: RemoveServerReply): void {
    if (rpy.success && (rpy.targetServer === undefined || rpy.targetServer === this.sid_)) this.finishedLeaving();
  }

  private handleInstallSnapshotRequest(rq: InstallSnapshotRequest): void {
    this.crashIf('crash-before-sending-install-snapshot-reply', 'Raft test: crash before sending install_snapshot_reply');
    this.resetElectionTimer();
    const newLogStart = rq.lastIndex + 1;
    if (newLogStart >= this.logEnd_) {
      // The snapshot reaches past our log: it replaces all of it. (A snapshot inside or before our log is
      // acknowledged and ignored.)
      const snapshot: Snapshot = {
        index: rq.lastIndex,
        term: rq.lastTerm,
        eid: rq.lastEid,
        servers: rq.lastServers,
        electionTimer: rq.electionTimer,
        data: rq.data,
      };
      this.entries = [];
      this.logStart_ = newLogStart;
      this.saveSnapshot(snapshot);
      this.commitIndex_ = rq.lastIndex;
      if (this.lastApplied < this.commitIndex_) this.lastApplied = this.logStart_ - 2;
      this.snap = snapshot;
      this.getServersFromLog('info');
      this.getElectionTimerFromLog();
    }
    const rpy: InstallSnapshotReply = {
      type: 'install_snapshot_reply',
      ...this.env(rq.from),
      term: this.term_,
      lastIndex: rq.lastIndex,
      lastTerm: rq.lastTerm,
    };
    this.send(rq.from, rpy);
  }

  private sendInstallSnapshotRequest(s: ServerState, comment: string | undefined): void {
    if (s.installSnapshotInProgress) {
      this.log('info', `not sending snapshot to server ${s.nickname}, already in progress`);
      return;
    }
    this.log('info', `sending snapshot to server ${s.nickname}, ${this.term_}:${this.logStart_ - 1}.`);
    const rq: InstallSnapshotRequest = {
      type: 'install_snapshot_request',
      ...this.env(s.sid, comment),
      term: this.term_,
      lastIndex: this.logStart_ - 1,
      lastTerm: this.snap.term,
      lastEid: this.snap.eid,
      lastServers: this.snap.servers,
      electionTimer: this.electionTimer_,
      data: this.snap.data,
    };
    s.installSnapshotInProgress = this.send(s.sid, rq);
  }

  private handleInstallSnapshotReply(rpy: InstallSnapshotReply): void {
    let s = rpy.from !== this.sid_ ? this.servers.get(rpy.from) : undefined;
    if (!s) s = this.addServers.get(rpy.from);
    if (!s) {
      this.log('info', `cluster ${this.cidShort()}: received install_snapshot_reply from unknown server ${short(rpy.from)}`);
      return;
    }
    s.installSnapshotInProgress = false;
    if (this.role_ !== 'leader') return;
    if (rpy.lastIndex !== this.logStart_ - 1 || rpy.lastTerm !== this.snap.term) {
      this.log('info', `cluster ${this.cidShort()}: server ${s.nickname} installed out-of-date snapshot, starting over`);
      return this.sendInstallSnapshotRequest(s, 'installed obsolete snapshot');
    }
    this.log('info', `cluster ${this.cidShort()}: installed snapshot on server ${s.nickname}  up to ${rpy.lastTerm}:${rpy.lastIndex}`);
    s.nextIndex = this.logStart_;
    this.sendAppendRequest(s, this.logEnd_ - s.nextIndex, 'snapshot installed');
  }

  private handleBecomeLeader(rq: BecomeLeader): void {
    if (this.role_ !== 'follower') return;
    this.log('info', `received leadership transfer from ${this.nick(rq.from)} in term ${rq.term}`);
    this.startElection(true);
  }

  private handleExecuteCommandRequest(rq: ExecuteCommandRequest): void {
    let status: FinalStatus | null = null;
    if (this.role_ !== 'leader') {
      status = 'not leader';
    } else {
      const current = this.currentEid();
      if (rq.prereq !== current) {
        this.log('info', `current entry eid ${current} does not match prerequisite ${rq.prereq} in execute_command_request`);
        status = 'prerequisite check failed';
      }
    }
    if (status !== null) return this.sendExecuteCommandReply(rq.from, rq.result, status, 0);
    const index = this.initiate({ term: this.term_, data: rq.data, eid: rq.result });
    this.commands.set(rq.result, { eid: rq.result, index, timestamp: this.now, requester: rq.from });
  }

  private handleExecuteCommandReply(rpy: ExecuteCommandReply): void {
    const cmd = this.commands.get(rpy.result);
    if (!cmd) {
      this.log('info', `${this.localNickname} received "${rpy.status}" reply from ${this.nick(rpy.from)} for unknown command`);
      return;
    }
    if (rpy.status === 'operation still in progress') {
      cmd.timestamp = this.now;
    } else {
      cmd.index = rpy.commitIndex ?? 0;
      this.completeCommand(cmd, rpy.status);
    }
  }
}
