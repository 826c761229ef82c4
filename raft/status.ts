// cluster/status (raft.md §4.2): the structured view the core reports, and the exact text ovs-appctl prints.
// The session list ("Connections:") belongs to the transport, so the formatter takes it as an argument.
import { short } from './membership.ts';
import type { Uuid } from './types.ts';

export type Role = 'follower' | 'candidate' | 'leader';

export interface ServerStatus {
  readonly nickname: string;
  readonly sid: Uuid;
  readonly address: string;
  readonly self: boolean;
  /** Phase text (`adding: catchup`, …, `removing`), or null when stable. */
  readonly phase: string | null;
  /** Candidate only: nickname of whom that server voted for in this round, when known. */
  readonly votedFor: string | null;
  /** Leader only (the leader's own line keeps its election-time next_index, quirk R4). */
  readonly nextIndex: number | null;
  readonly matchIndex: number | null;
  /** Milliseconds since the last message from it; null if none ever came (always null for self). */
  readonly lastMsgMsAgo: number | null;
}

export interface PendingServerStatus {
  readonly nickname: string;
  readonly sid: Uuid;
  readonly address: string;
  /** Phase text. */
  readonly phase: string;
}

export interface RaftStatus {
  readonly nickname: string;
  readonly name: string;
  /** null while joining without a known cid. */
  readonly cid: Uuid | null;
  readonly sid: Uuid;
  readonly address: string;
  /** `joining cluster`, `leaving cluster`, `left cluster`, `failed`, `disconnected from the cluster (election timeout)`, `cluster member`. */
  readonly status: string;
  /** Only while joining. */
  readonly remotesForJoining: readonly string[] | null;
  /** Leader only. */
  readonly adding: readonly PendingServerStatus[];
  readonly removing: PendingServerStatus | null;
  readonly role: Role;
  readonly term: number;
  /** `self`, `unknown` or a nickname. */
  readonly leader: string;
  readonly vote: string;
  /** null if this process never started an election. */
  readonly lastElectionStartedMsAgo: number | null;
  readonly lastElectionReason: 'timeout' | 'leadership_transfer';
  /** null if this process never won one. */
  readonly lastElectionWonMsAgo: number | null;
  readonly electionTimer: number;
  /** Leader only, while a change is uncommitted. */
  readonly electionTimerChangingTo: number | null;
  readonly logStart: number;
  readonly logEnd: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /** Sessions closed since start (as reported by the transport through the core). */
  readonly disconnections: number;
  /** In configuration order. */
  readonly servers: readonly ServerStatus[];
}

/**
 * The text of `cluster/status DB`. `connections` are the session labels in session order, e.g. `->s2`, `<-s2`,
 * `(->s3)` for one not connected.
 */
export function formatClusterStatus(st: RaftStatus, connections: readonly string[]): string {
  const lines: string[] = [];
  lines.push(st.nickname);
  lines.push(`Name: ${st.name}`);
  lines.push(st.cid ? `Cluster ID: ${short(st.cid)} (${st.cid})` : 'Cluster ID: not yet known');
  lines.push(`Server ID: ${short(st.sid)} (${st.sid})`);
  lines.push(`Address: ${st.address}`);
  lines.push(`Status: ${st.status}`);
  if (st.remotesForJoining) lines.push(`Remotes for joining:${st.remotesForJoining.map((a) => ` ${a}`).join('')}`);
  for (const a of st.adding) lines.push(`Adding server ${a.nickname} (${short(a.sid)} at ${a.address}) (${a.phase})`);
  if (st.removing) {
    const r = st.removing;
    lines.push(`Removing server ${r.nickname} (${short(r.sid)} at ${r.address}) (${r.phase})`);
  }
  lines.push(`Role: ${st.role}`);
  lines.push(`Term: ${st.term}`);
  lines.push(`Leader: ${st.leader}`);
  lines.push(`Vote: ${st.vote}`);
  lines.push('');
  if (st.lastElectionStartedMsAgo !== null) {
    lines.push(`Last Election started ${st.lastElectionStartedMsAgo} ms ago, reason: ${st.lastElectionReason}`);
  }
  if (st.lastElectionWonMsAgo !== null) lines.push(`Last Election won: ${st.lastElectionWonMsAgo} ms ago`);
  lines.push(
    `Election timer: ${st.electionTimer}` +
      (st.electionTimerChangingTo !== null ? ` (changing to ${st.electionTimerChangingTo})` : ''),
  );
  lines.push(`Log: [${st.logStart}, ${st.logEnd}]`);
  lines.push(`Entries not yet committed: ${st.logEnd - st.commitIndex - 1}`);
  lines.push(`Entries not yet applied: ${st.logEnd - st.appliedIndex - 1}`);
  lines.push(`Connections:${connections.map((c) => ` ${c}`).join('')}`);
  lines.push(`Disconnections: ${st.disconnections}`);
  lines.push('Servers:');
  for (const s of st.servers) {
    let line = `    ${s.nickname} (${short(s.sid)} at ${s.address})`;
    if (s.self) line += ' (self)';
    if (s.phase !== null) line += ` (${s.phase})`;
    if (s.votedFor !== null) line += ` (voted for ${s.votedFor})`;
    if (s.nextIndex !== null && s.matchIndex !== null) line += ` next_index=${s.nextIndex} match_index=${s.matchIndex}`;
    if (s.lastMsgMsAgo !== null) line += ` last msg ${s.lastMsgMsAgo} ms ago`;
    lines.push(line);
  }
  return lines.join('\n') + '\n';
}
