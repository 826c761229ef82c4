// The vocabulary of OVSDB's Raft dialect (../shared/reference/raft.md §1–§2), shared by the consensus core
// (raft/core.ts), the RPC codec (raft/rpc.ts) and the clustered log (raft/log.ts). Wire and file member names
// are snake_case; here they are camelCase, and the codec maps them one to one. Nothing in this file does I/O.
import type { JsonValue } from '../schema/json.ts';

/** A lowercase 36-character UUID string (sid, cid, eid). */
export type Uuid = string;

/** A server configuration: sid → Raft address (`tcp:IP:PORT`, `ssl:IP:PORT`, `unix:PATH`). */
export type Servers = ReadonlyMap<Uuid, string>;

/**
 * One log entry (§2.3). Index is positional (not stored in the entry). An entry carries at most one of:
 * a command (`data` + `eid`: `[schema|null, txn|null]`), a configuration (`servers`), an election timer; or
 * nothing at all (the no-op every new leader appends).
 */
export interface LogEntry {
  readonly term: number;
  /** `[schema-or-null, transaction-or-null]`; always together with `eid`. Opaque to the core. */
  readonly data?: JsonValue;
  readonly eid?: Uuid;
  readonly servers?: Servers;
  readonly electionTimer?: number;
}

/** What a snapshot replaces: everything up to and including `index` (§1.2 `prev_*`). */
export interface SnapshotMeta {
  /** Index of the last entry folded into the snapshot (log_start - 1). 0 while joining. */
  readonly index: number;
  readonly term: number;
  /** eid of the last data-bearing entry folded into it. */
  readonly eid: Uuid;
  readonly servers: Servers;
  /** Election timer in force at `index` (absent in a file → 1000). */
  readonly electionTimer: number;
}

/** A snapshot: its metadata and `[schema, txn with all rows]`. */
export interface Snapshot extends SnapshotMeta {
  readonly data: JsonValue;
}

export const DEFAULT_ELECTION_TIMER = 1000;
export const MIN_ELECTION_TIMER = 100;
export const MAX_ELECTION_TIMER = 600_000;

// -------------------------------------------------------------------------------------------------------------
// RPCs (§2.2–§2.3). Every Raft message is a JSON-RPC notification {"id":null,"method":TYPE,"params":[{…}]}.

/** Members every message may carry. `cluster` is optional only in add_server_request; `to` only there and in hello_request. */
export interface Envelope {
  readonly cluster?: Uuid;
  readonly to?: Uuid;
  readonly from: Uuid;
  readonly comment?: string;
}

export type AppendResult = 'OK' | 'inconsistency' | 'I/O error';

/** execute_command_reply `status` and the internal "cluster error" text (§2.4). */
export type CommandStatus =
  | 'operation still in progress'
  | 'success'
  | 'not leader'
  | 'prerequisite check failed'
  | 'lost leadership'
  | 'server shutdown'
  | 'I/O error'
  | 'timeout';

export interface HelloRequest extends Envelope { readonly type: 'hello_request'; readonly address: string }
export interface AppendRequest extends Envelope {
  readonly type: 'append_request';
  readonly term: number;
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly leaderCommit: number;
  readonly log: readonly LogEntry[];
}
export interface AppendReply extends Envelope {
  readonly type: 'append_reply';
  readonly term: number;
  readonly logEnd: number;
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly nEntries: number;
  readonly result: AppendResult;
}
export interface VoteRequest extends Envelope {
  readonly type: 'vote_request';
  readonly term: number;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** Written only as true; absent otherwise. */
  readonly leadershipTransfer?: true;
}
export interface VoteReply extends Envelope { readonly type: 'vote_reply'; readonly term: number; readonly vote: Uuid }
export interface AddServerRequest extends Envelope { readonly type: 'add_server_request'; readonly address: string }
export interface AddServerReply extends Envelope {
  readonly type: 'add_server_reply';
  readonly success: boolean;
  /** Omitted on the wire when empty. */
  readonly remoteAddresses?: readonly string[];
}
export interface RemoveServerRequest extends Envelope { readonly type: 'remove_server_request'; readonly serverId: Uuid }
export interface RemoveServerReply extends Envelope {
  readonly type: 'remove_server_reply';
  readonly success: boolean;
  /** Omitted when the destination is the removed server itself. */
  readonly targetServer?: Uuid;
}
export interface InstallSnapshotRequest extends Envelope {
  readonly type: 'install_snapshot_request';
  readonly term: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly lastEid: Uuid;
  readonly lastServers: Servers;
  readonly electionTimer: number;
  readonly data: JsonValue;
}
export interface InstallSnapshotReply extends Envelope {
  readonly type: 'install_snapshot_reply';
  readonly term: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
}
export interface BecomeLeader extends Envelope { readonly type: 'become_leader'; readonly term: number }
export interface ExecuteCommandRequest extends Envelope {
  readonly type: 'execute_command_request';
  readonly data: JsonValue;
  readonly prereq: Uuid;
  readonly result: Uuid;
}
export interface ExecuteCommandReply extends Envelope {
  readonly type: 'execute_command_reply';
  readonly result: Uuid;
  readonly status: CommandStatus;
  /** Only when non-zero. */
  readonly commitIndex?: number;
}

export type RaftMessage =
  | HelloRequest
  | AppendRequest
  | AppendReply
  | VoteRequest
  | VoteReply
  | AddServerRequest
  | AddServerReply
  | RemoveServerRequest
  | RemoveServerReply
  | InstallSnapshotRequest
  | InstallSnapshotReply
  | BecomeLeader
  | ExecuteCommandRequest
  | ExecuteCommandReply;

export type RaftMessageType = RaftMessage['type'];

// -------------------------------------------------------------------------------------------------------------
// Records of a clustered file (§1.2–§1.3): `OVSDB CLUSTER <len> <sha1>\n<json>\n`.

/** Record 0 of a member's file (create-cluster, and every snapshot written since). */
export interface MemberHeader {
  readonly kind: 'member';
  readonly sid: Uuid;
  readonly cid: Uuid;
  readonly name: string;
  readonly localAddress: string;
  /** The snapshot (index 0 never occurs in a member header written by OVS; create-cluster writes index 1). */
  readonly snapshot: Snapshot;
}

/** Record 0 of a joining server's file (join-cluster); the file holds only this until the join succeeds. */
export interface JoiningHeader {
  readonly kind: 'joining';
  readonly sid: Uuid;
  /** Only when `--cid` was given. */
  readonly cid?: Uuid;
  readonly name: string;
  readonly localAddress: string;
  readonly remoteAddresses: readonly string[];
}

export type ClusterHeader = MemberHeader | JoiningHeader;

/** Records 1..n, classified in the order of §1.3. Any of them may carry `comment`. */
export type LogRecord =
  | { readonly type: 'note'; readonly note: 'left' | 'transfer leadership' | string; readonly comment?: string }
  | { readonly type: 'commit_index'; readonly commitIndex: number; readonly comment?: string }
  | { readonly type: 'leader'; readonly term: number; readonly leader: Uuid; readonly comment?: string }
  | { readonly type: 'vote'; readonly term: number; readonly vote: Uuid; readonly comment?: string }
  | { readonly type: 'entry'; readonly term: number; readonly index: number; readonly entry: LogEntry; readonly comment?: string }
  | { readonly type: 'term'; readonly term: number; readonly comment?: string };

/**
 * The state a clustered file replays to (§1.3), which a member starts from. For a joining file: snapshot index
 * 0, no entries, term 0.
 */
export interface PersistentState {
  readonly header: ClusterHeader;
  /** Member files: the header's snapshot; joining files: an empty one (index 0, term 0). */
  readonly snapshot: Snapshot;
  /** Entries snapshot.index+1 … snapshot.index+entries.length (after truncations were replayed). */
  readonly entries: readonly LogEntry[];
  readonly term: number;
  /** Vote of `term`, if any. */
  readonly vote: Uuid | null;
  readonly commitIndex: number;
  /** A `note: "left"` record was found (the open must fail). */
  readonly left: boolean;
  /**
   * The configuration after the replay: `servers` of the last entry that has one, else the snapshot's
   * (raft/log.ts fills it in; joining files: empty).
   */
  readonly servers?: Servers;
  /**
   * The election timer in force: that of the last committed entry that has one, else the snapshot's, else
   * DEFAULT_ELECTION_TIMER (raft/log.ts fills it in).
   */
  readonly electionTimer?: number;
}
