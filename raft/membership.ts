// The server table of a Raft member (raft.md §2.5, §2.6.7, §2.6.9): one row per configured server or server
// being added, with the leader's replication view of it, plus the naming rules of the human output (§4.2).
// Pure data and helpers; the state machine that drives them is raft/core.ts.
import type { Servers, Uuid } from './types.ts';

/** Catch-up phases of a server (§2.4). `stable` is not shown in cluster/status. */
export type Phase = 'stable' | 'catchup' | 'caught up' | 'committing' | 'remove';

/** The text cluster/status prints for a phase. */
export function phaseText(phase: Phase): string {
  switch (phase) {
    case 'stable':
      return 'stable';
    case 'catchup':
      return 'adding: catchup';
    case 'caught up':
      return 'adding: caught up';
    case 'committing':
      return 'adding: committing';
    case 'remove':
      return 'removing';
  }
}

/** One server as this member sees it. The leader-only members are meaningful only while leader. */
export interface ServerState {
  readonly sid: Uuid;
  readonly address: string;
  readonly nickname: string;
  /** Leader: next index to send. Not updated for the leader itself after election (quirk R4). */
  nextIndex: number;
  /** Leader: highest index known to be durable on that server. */
  matchIndex: number;
  phase: Phase;
  /** Leader: an append_reply came from it during the current election-timeout interval (lease check). */
  replied: boolean;
  /** Leader: an install_snapshot_request is outstanding (reset when a session to it (re)connects). */
  installSnapshotInProgress: boolean;
  /** Candidate: whom this server voted for in the current election round. */
  vote: Uuid | null;
  /** Last time (core clock) any message arrived from it; null if never. */
  lastMsgTs: number | null;
  /** Who asked for this server's addition or removal (a sid), or null: itself / unixctl. */
  requesterSid: Uuid | null;
}

export function newServer(sid: Uuid, address: string): ServerState {
  return {
    sid,
    address,
    nickname: nickname(address, sid),
    nextIndex: 0,
    matchIndex: 0,
    phase: 'stable',
    replied: false,
    installSnapshotInProgress: false,
    vote: null,
    lastMsgTs: null,
    requesterSid: null,
  };
}

/** First 4 hex digits: how sids and cids appear in human output. */
export function short(uuid: Uuid): string {
  return uuid.slice(0, 4);
}

/**
 * The short name of a server (§ glossary): for a `unix:` address the file name without directory and without
 * everything from the first `.`; otherwise (or if that is empty) the first 4 hex digits of the sid.
 */
export function nickname(address: string, sid: Uuid): string {
  if (address.startsWith('unix:')) {
    const path = address.slice(5);
    const base = path.slice(path.lastIndexOf('/') + 1);
    const dot = base.indexOf('.');
    const name = dot < 0 ? base : base.slice(0, dot);
    if (name) return name;
  }
  return short(sid);
}

/** A configuration as the wire and file carry it: sid → address, in table order. */
export function serversOf(table: ReadonlyMap<Uuid, ServerState>): Servers {
  const m = new Map<Uuid, string>();
  for (const s of table.values()) m.set(s.sid, s.address);
  return m;
}

/**
 * cluster/kick's server lookup (§4.3): an exact address scores highest, otherwise the length of the sid prefix
 * the argument is (0 if it is not one). The unique best wins; a tie (or nothing) is no match. Quirk R7: with a
 * single configured server, score 0 is the unique best, so any string matches it.
 */
export function bestMatch(table: ReadonlyMap<Uuid, ServerState>, id: string): ServerState | null {
  let best: ServerState | null = null;
  let bestScore = -1;
  let nBest = 0;
  for (const s of table.values()) {
    const score = id === s.address ? Number.MAX_SAFE_INTEGER : s.sid.startsWith(id) ? id.length : 0;
    if (score > bestScore) {
      best = s;
      bestScore = score;
      nBest = 1;
    } else if (score === bestScore) {
      nBest++;
    }
  }
  return nBest === 1 ? best : null;
}

/** C's atoll(): optional leading white space and sign, then decimal digits; anything else stops; no digits → 0. */
export function atoll(text: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d*)/.exec(text);
  const digits = m?.[2] ?? '';
  if (!digits) return 0;
  const v = Number(digits);
  return m?.[1] === '-' ? -v : v;
}
