// The per-database seam between the server core and where a database's contents come from (raft.md §3.1,
// §3.3, §5). Everything that differs between a standalone database, a relay and a clustered member is
// answered here, in one place, instead of `if (relay)` checks around the server:
//
//   kind          → `_Server.Database.model`
//   serverRow()   → the other model-dependent `_Server.Database` columns (connected, leader, cid, sid, index);
//                   the server re-reads it whenever the model calls `OvsdbServer.refreshServerDb()`
//   writer        → how a transaction that writes completes: absent = committed locally (standalone);
//                   'forward' = handed over verbatim before the local commit checks (relay, §5.2);
//                   'propose' = executed locally with every check, then its commit proposed and the reply
//                   held until the commit comes back applied (clustered, §3.3)
//   localWrites   → whether the server may commit its own internal writes into the database (the db:
//                   remotes' status columns; a relay's or a cluster member's copy only changes from its source)
//
// Transaction ids: a model whose contents come from elsewhere commits with the source's ids
// (`OvsdbServer.commit(served, commit, txnId)`), so `monitor_cond_since` history continues across servers;
// `CommitHistory.setEnabled(false)` turns history off where the source has none (a reference standalone).
//
// The "not available yet" state — a relay before its first monitor reply, a cluster member still joining —
// is a name registered with `OvsdbServer.registerUnavailable(name, model)`: listed by list_dbs and
// ovsdb-server/list-dbs, given a `_Server` row with an empty schema, and every request naming it answered
// with R9's `database not available` error. The model then calls `OvsdbServer.attachDatabase(name, db)`
// once it has a schema and contents (and `replaceDatabase` on a later schema change).
//
// A clustered database plugs in with kind 'clustered', a serverRow() from its Raft state (connected per
// §3.1, leader, cid, sid, applied index), a 'propose' writer, localWrites false, and the
// unavailable → attach sequence while it joins.
import type { JsonValue } from '../schema/json.ts';
import type { Commit } from '../storage/database.ts';

export type DatabaseModelKind = 'standalone' | 'clustered' | 'relay';

/** The model-dependent columns of a `_Server.Database` row; null = the empty set. */
export interface ServerRowState {
  readonly connected: boolean;
  readonly leader: boolean;
  readonly cid: string | null;
  readonly sid: string | null;
  readonly index: number | null;
}

/**
 * The reply a write finally gets: a `transact` result, or a JSON-RPC error (e.g. "canceled"); or `retry`:
 * the write did not happen and the client must not hear of it (a clustered database's internal "cluster
 * error", §3.3) — the session executes the transaction again, at once ('now') or after the database next
 * changes or the model calls OvsdbServer.retryTriggers() ('change').
 */
export type WriteReply =
  | { readonly result: JsonValue }
  | { readonly error: JsonValue }
  | { readonly retry: 'now' | 'change' };

/** A transaction with write operations that executed cleanly on the local copy. */
export interface WriteRequest {
  /** The client's `transact` params exactly as received (database name first): what a relay forwards. */
  readonly params: readonly JsonValue[];
  /** The local effect, after the commit checks ('propose' writers only; null for 'forward'). */
  readonly commit: Commit | null;
  /** The result array the local execution computed. */
  readonly result: readonly JsonValue[];
}

/** The writer's handle on a submitted write; cancel() when the client no longer wants the reply. */
export interface WriteTicket {
  cancel(): void;
}

export interface DatabaseWriter {
  readonly mode: 'forward' | 'propose';
  /** Takes a write over; `done` is called once (not after cancel()). */
  submit(request: WriteRequest, done: (reply: WriteReply) => void): WriteTicket;
  /**
   * 'propose' writers: false while a write executed now would fail its prerequisite (an entry in the log is
   * not applied yet, or a proposal of this member is in flight). The session then waits for the next change
   * before it executes a write, as the reference's trigger waits (ovsdb_txn_precheck_prereq); the writer's
   * model calls OvsdbServer.retryTriggers() when that may have changed without a commit.
   */
  precheck?(): boolean;
}

export interface DatabaseModel {
  readonly kind: DatabaseModelKind;
  serverRow(): ServerRowState;
  readonly writer?: DatabaseWriter;
  readonly localWrites: boolean;
  /**
   * False while no `transact` may run, reads included (a clustered member whose log holds data entries it
   * has not applied yet, §3.3, as the reference's prerequisite pre-check holds every transaction back); such
   * transactions wait like blocked triggers. The model calls OvsdbServer.retryTriggers() when it turns
   * true without a commit. Absent: always true.
   */
  canExecute?(): boolean;
  /**
   * Online `convert` through the model (a clustered database proposes the converted contents and resolves
   * once they are applied); absent: the server replaces the database itself.
   */
  convert?(converted: import('../storage/database.ts').Database): Promise<void>;
}

const STANDALONE_ROW: ServerRowState = { connected: true, leader: true, cid: null, sid: null, index: null };

/** A database served from local storage (a file, LMDB) or the built-in _Server. */
export const STANDALONE: DatabaseModel = {
  kind: 'standalone',
  serverRow: () => STANDALONE_ROW,
  localWrites: true,
};
