// A clustered database as the server sees it (raft.md §3–§4): the 'clustered' model of database-model.ts
// around a storage/clustered.ts member, and the `cluster/*` unixctl commands.
//
// - `_Server` row: model clustered, connected per §3.1, leader, cid (all-zero while joining without one),
//   sid, the applied index (empty while 0). The member tells us when any of it changes.
// - Writes: the 'propose' writer. The session executed the transaction against the local copy with every
//   check; its commit becomes `[null, txn]` and is proposed. Success → the reply the local execution
//   computed, sent once the entry is applied here (so the client sees its update first). Any Raft failure is
//   the internal "cluster error": the transaction is executed again, never reported (§3.3) — at once, or,
//   for `not leader` and a failed prerequisite, when the database next changes or a leader appears.
// - Every transaction, reads included, waits while this member's log holds data entries it has not applied
//   (canExecute(): the reference's prerequisite pre-check), so nothing runs against contents behind the log.
// - No local writes: the server's own status columns are not written into clustered databases.
// - While joining, the name is registered but unavailable (R9's error) until the first snapshot arrives.
import { OvsdbError } from '../schema/error.ts';
import { parseJson, type JsonValue } from '../schema/json.ts';
import type { Commit } from '../storage/database.ts';
import type { Database } from '../storage/database.ts';
import { ClusteredDatabase, snapshotData, type ClusterHost } from '../storage/clustered.ts';
import { commitToRecordText } from '../storage/file.ts';
import type { Uuid } from '../raft/types.ts';
import type {
  DatabaseModel,
  DatabaseWriter,
  ServerRowState,
  WriteReply,
  WriteRequest,
  WriteTicket,
} from './database-model.ts';
import type { RpcLog } from './jsonrpc.ts';
import type { OvsdbServer, ServedDatabase } from './server.ts';
import { UnixctlError, type UnixctlServer } from './unixctl.ts';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/**
 * How long a write that failed with `not leader` waits, at most, before it is executed again when nothing
 * else wakes it (a leader appearing or a commit do): the leader may be known but momentarily unreachable.
 */
const NOT_LEADER_RETRY_MS = 500;

export interface ClusterModelOptions {
  readonly server: OvsdbServer;
  readonly log: RpcLog;
  /** The member left the cluster (or was kicked): the application forgets the database. */
  readonly onLeft: (name: string) => void;
  /** A failure test asked for a crash: die at once, as ovs_fatal does (message to stderr, exit 1). */
  readonly onCrash: (text: string) => void;
}

export class ClusterModel implements DatabaseModel {
  readonly kind = 'clustered';
  readonly localWrites = false;
  readonly writer: DatabaseWriter;
  private served: ServedDatabase | null = null;
  private logWasApplied = true;

  constructor(
    readonly member: ClusteredDatabase,
    private readonly opts: ClusterModelOptions,
  ) {
    this.writer = { mode: 'propose', submit: (req, done) => this.submit(req, done), precheck: () => member.precheck() };
  }

  get name(): string {
    return this.member.name;
  }

  /** Serves the database (or registers it as not yet available while joining) and starts the member. */
  start(opts: { quiet?: boolean } = {}): void {
    const server = this.opts.server;
    if (this.member.db === null) server.registerUnavailable(this.name, this, opts);
    const host: ClusterHost = {
      attach: (db, eid) => this.attach(db, eid, opts),
      replace: (db, eid, reason) => {
        if (this.served === null) return this.attach(db, eid, opts);
        server.replaceDatabase(this.name, db, `database ${this.name} ${reason === 'schema changed' ? 'schema changed' : 'replaced'}`, eid);
      },
      commit: (commit: Commit, eid: Uuid) => {
        if (this.served !== null) server.commit(this.served, commit, eid);
      },
      writable: () => {
        if (this.served !== null) server.retryTriggers(this.served);
      },
      stateChanged: () => {
        server.refreshServerDb();
        // A leader may have appeared: writes that waited for one go again. Or the log's last unapplied data
        // entries were dropped (truncated by a new leader): transactions held back by canExecute() go.
        const applied = this.member.logApplied();
        const opened = applied && !this.logWasApplied;
        this.logWasApplied = applied;
        if (this.served !== null && (this.member.core.leader() !== null || opened)) server.retryTriggers(this.served);
      },
      left: () => {
        this.opts.log('ovsdb_server', 'INFO', `removing database ${this.name} because storage disconnected permanently`);
        this.opts.onLeft(this.name);
      },
      crash: (text) => this.opts.onCrash(text),
    };
    this.member.start(host);
  }

  private attach(db: Database, eid: Uuid, opts: { quiet?: boolean }): void {
    const server = this.opts.server;
    this.served = server.unavailable.has(this.name)
      ? server.attachDatabase(this.name, db)
      : server.addDatabase(db, null, { quiet: opts.quiet, model: this });
    this.served.history.clear(eid, db.atoms);
  }

  /** §3.3: nothing runs against contents that lag this member's own log (the reference's pre-check). */
  canExecute(): boolean {
    return this.member.logApplied();
  }

  serverRow(): ServerRowState {
    const core = this.member.core;
    const applied = this.member.appliedIndex();
    return {
      connected: core.isConnected() && this.member.contentsReady(),
      leader: core.isLeader(),
      cid: core.cid() ?? ZERO_UUID,
      sid: core.sid(),
      index: applied > 0 && this.member.db !== null ? applied : null,
    };
  }

  private submit(req: WriteRequest, done: (reply: WriteReply) => void): WriteTicket {
    let cancelled = false;
    const ticket = { cancel: () => (cancelled = true) };
    const text = req.commit === null ? null : commitToRecordText(req.commit, { diff: true });
    if (text === null) {
      // Nothing that a file would record changed: the reply needs no consensus.
      queueMicrotask(() => cancelled || done({ result: [...req.result] }));
      return ticket;
    }
    this.proposeData([null, parseJson(text)], (reply) => cancelled || done(reply), [...req.result]);
    return ticket;
  }

  /** Proposes entry data; `result` is the reply on success. */
  proposeData(data: JsonValue, done: (reply: WriteReply) => void, result: JsonValue): void {
    void this.member.propose(data).then((o) => {
      if (o.ok) return done({ result });
      if (this.member.core.hasLeft() || this.member.core.isFailed()) return; // the database goes away
      if (o.status === 'not leader') {
        done({ retry: 'change' });
        this.armRetry();
        return;
      }
      // §3.3: executed again once every data entry in our log is applied, so the prerequisite can match.
      void this.member.whenLogApplied().then(() => done({ retry: 'now' }));
    });
  }

  private retryTimer: NodeJS.Timeout | null = null;

  private armRetry(): void {
    if (this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.served !== null && this.opts.server.databases.get(this.name) === this.served)
        this.opts.server.retryTriggers(this.served);
    }, NOT_LEADER_RETRY_MS);
    this.retryTimer.unref();
  }

  /**
   * Online `convert` (§3.5): the converted database is proposed as `[new schema, all rows]`; resolves when
   * it is applied here, retrying through Raft failures as a write does.
   */
  convert(converted: Database): Promise<void> {
    for (const t of converted.schema.tables.values()) {
      for (const c of t.columns) {
        // R12: the reference commits such a conversion, which then no member can apply.
        if (c.index >= 0 && !c.persistent)
          throw new OvsdbError(
            'constraint violation',
            `Table ${t.name} column ${c.name} is ephemeral but clustered databases do not support ephemeral columns.`,
          );
      }
    }
    const data = snapshotData(converted, 'converted by ovsdb-server');
    return new Promise((resolve) => {
      const attempt = (): void => {
        void this.member.propose(data).then((o) => {
          if (o.ok) return resolve();
          if (this.member.core.hasLeft() || this.member.core.isFailed()) return resolve();
          if (o.status === 'not leader') setTimeout(attempt, NOT_LEADER_RETRY_MS);
          else void this.member.whenLogApplied().then(attempt);
        });
      };
      attempt();
    });
  }
}

/** `cluster/*` (raft.md §4.1–§4.3): registered once the process opens its first clustered database. */
export function registerClusterCommands(ctl: UnixctlServer, members: () => ReadonlyMap<string, ClusterModel>): void {
  const find = (name: string): ClusterModel => {
    const m = members().get(name);
    if (m === undefined) throw new UnixctlError('unknown cluster');
    return m;
  };
  const reply = (r: { ok: true; reply: string } | { ok: false; error: string }): string => {
    if (!r.ok) throw new UnixctlError(r.error);
    return r.reply;
  };
  ctl.register('cluster/cid', 'DB', 1, 1, ([db]) => {
    const cid = find(db).member.core.cid();
    if (cid === null) throw new UnixctlError('cluster id not yet known');
    return cid;
  });
  ctl.register('cluster/sid', 'DB', 1, 1, ([db]) => find(db).member.core.sid());
  ctl.register('cluster/status', 'DB', 1, 1, ([db]) => find(db).member.statusText());
  ctl.register('cluster/leave', 'DB', 1, 1, ([db]) => reply(find(db).member.op((c) => c.leave())));
  ctl.register('cluster/kick', 'DB SERVER', 2, 2, ([db, server]) => reply(find(db).member.op((c) => c.kick(server))));
  ctl.register('cluster/change-election-timer', 'DB TIME', 2, 2, ([db, ms]) =>
    reply(find(db).member.op((c) => c.changeElectionTimer(ms))),
  );
  ctl.register('cluster/set-backlog-threshold', 'DB N_MSGS N_BYTES', 3, 3, ([db, n, bytes]) =>
    reply(find(db).member.op((c) => c.setBacklogThreshold(n, bytes))),
  );
  ctl.register('cluster/failure-test', 'FAILURE SCENARIO', 1, 1, ([name]) => {
    let out: { ok: true; reply: string } | { ok: false; error: string } = { ok: false, error: 'unknown test scenario' };
    const all = [...members().values()];
    if (all.length === 0) return name === 'clear' ? 'test dismissed' : 'test engaged';
    for (const m of all) out = m.member.op((c) => c.setFailureTest(name));
    return reply(out);
  });
}

/** `ovsdb-server/compact` on a clustered database: a snapshot, or the refusal as the reference words it. */
export async function compactCluster(m: ClusterModel): Promise<string | null> {
  const err = await m.member.compact();
  return err === null ? null : new OvsdbError('ovsdb error', err).render();
}
