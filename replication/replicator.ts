// The backup's client session towards the active (reference §5.2–5.4): connect with backoff (1 s → 8 s,
// forever), get_server_id → list_dbs → get_schema → monitor, then apply every update as one commit through
// the server's commit path, so the backup's own clients see replicated changes like local ones.
//
// Against an ovsdb-ts active (detected with a harmless `monitor_cond_since` on _Server, whose last txn id
// is never all-zero there and always is on the reference server) the monitors are `monitor_cond_since`
// with the last transaction id this backup applied: a reconnect then costs only the missed changes, and
// every commit keeps the active's transaction id, so history continues across a failover. Against the
// reference server the requests are exactly the reference backup's v1 `monitor`s.
import type net from 'node:net';
import { isUuid, newUuid, ZERO_UUID } from '../schema/atom.ts';
import { OvsdbError } from '../schema/error.ts';
import { stringify, type JsonObject, type JsonValue } from '../schema/json.ts';
import { parseSchema, type DatabaseSchema } from '../schema/schema.ts';
import { commitIsEmpty, type Commit } from '../storage/database.ts';
import type { JsonRpcConnection, JsonRpcMessage, RpcLog } from '../server/jsonrpc.ts';
import type { OvsdbServer, ServedDatabase } from '../server/server.ts';
import { ReplicationError, snapshotCommit, updateCommit, type UpdateFormat } from './apply.ts';
import type { ExcludeList } from './exclude.ts';
import { canReplicate } from './schema-compat.ts';
import { UpstreamSession } from './upstream.ts';

export type ReplicationState =
  | 'INIT'
  | 'SERVER_ID_REQUESTED'
  | 'DB_REQUESTED'
  | 'SCHEMA_REQUESTED'
  | 'MONITOR_REQUESTED'
  | 'REPLICATING'
  | 'ERR';

export { MIN_BACKOFF_MS, MAX_BACKOFF_MS } from './upstream.ts';
/** The monitor id of the _Server probe that tells an ovsdb-ts active from the reference server. */
const PROBE_MONITOR_ID = 'ovsdb-ts-replication-probe';

export interface ReplicatorOptions {
  readonly server: OvsdbServer;
  readonly target: string;
  readonly exclude: ExcludeList;
  /** Inactivity probe towards the active, ms (0 = off). */
  readonly probeInterval: number;
  readonly log: RpcLog;
  /** Replication reached ERR: the owner closes it and makes the server active (§5.4). */
  readonly onError: () => void;
  /**
   * Per database, the monitor request last fully synced with the txn ids kept from the active. Owned by the
   * caller so it outlives re-initializations; an entry allows an incremental resync of that database.
   */
  readonly resumable: Map<string, string>;
  /** Opens the connection to the active (default: unix:/tcp: only; setup passes one that adds ssl:). */
  readonly connect?: (target: string) => Promise<net.Socket>;
}

/** What `sync-status` shows beyond the reference's lines. */
export interface ReplicationStats {
  transactionsApplied: number;
  /** Date.now() of the last change received from the active, or null. */
  lastUpdateAt: number | null;
  /** The last initial sync: how, and how long it took (ms). */
  lastSync: { mode: 'full' | 'incremental'; ms: number } | null;
  /** While monitor replies are outstanding: bytes received since the requests went out. */
  snapshotBytes: number | null;
}

interface DbPlan {
  served: ServedDatabase;
  schema: DatabaseSchema;
  tables: string[];
}

export class Replicator {
  private stateValue: ReplicationState = 'INIT';
  private readonly session: UpstreamSession;
  private closed = false;
  /** Databases being replicated in this round (after the schema checks), by name. */
  private plans = new Map<string, DbPlan>();
  private probeInterval: number;
  private syncStart = 0;
  private syncIncremental = true;
  readonly stats: ReplicationStats = { transactionsApplied: 0, lastUpdateAt: null, lastSync: null, snapshotBytes: null };

  constructor(private readonly opts: ReplicatorOptions) {
    this.probeInterval = opts.probeInterval;
    this.session = new UpstreamSession({
      remotes: [opts.target],
      log: opts.log,
      probeInterval: () => this.probeInterval,
      connect: opts.connect,
      handler: {
        connected: (_target, conn) => this.connected(conn),
        message: (m) => this.onMessage(m),
        disconnected: () => {
          this.stats.snapshotBytes = null;
        },
      },
    });
  }

  get state(): ReplicationState {
    return this.stateValue;
  }

  get target(): string {
    return this.opts.target;
  }

  /** Names of the databases replicated in this round, in local order. */
  get databases(): string[] {
    return [...this.plans.keys()];
  }

  start(): void {
    this.session.start();
  }

  close(): void {
    this.closed = true;
    this.session.close();
  }

  setProbeInterval(ms: number): void {
    this.probeInterval = ms;
    this.session.setProbeInterval(ms);
  }

  private log(level: 'ERR' | 'WARN' | 'INFO' | 'DBG', msg: string, module = 'replication'): void {
    this.opts.log(module, level, msg);
  }

  private connected(conn: JsonRpcConnection): void {
    conn.socket.on('data', (chunk: Buffer) => {
      if (this.stats.snapshotBytes !== null) this.stats.snapshotBytes += chunk.length;
    });
    this.begin();
  }

  private request(method: string, params: JsonValue[], onReply: (result: JsonValue) => void): void {
    this.session.request(method, params, (msg) => {
      if (this.stateValue === 'ERR') return;
      if (msg.type === 'reply') this.guard(() => onReply(msg.result));
      else {
        // The reference ignores error replies and waits; we say so in the log, and wait too.
        this.log('WARN', `${this.opts.target}: ${method} request failed: ${stringify(msg.error)}`);
      }
    });
  }

  private onMessage(m: JsonRpcMessage): void {
    if (m.type === 'reply' || m.type === 'error') {
      this.log('WARN', `${this.opts.target}: received unexpected reply`, 'jsonrpc');
      return;
    }
    if (m.type === 'notification' && this.stateValue !== 'ERR') this.guard(() => this.onNotification(m.method, m.params));
  }

  /** Runs a handler; any failure is a replication error (§5.4). */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      const text = e instanceof OvsdbError ? e.render() : (e as Error).message;
      this.fail(`unexpected ovsdb error: ${text}`, 'ERR', 'ovsdb_error');
    }
  }

  private fail(message: string, level: 'ERR' | 'WARN', module = 'replication'): void {
    this.log(level, message, module);
    this.stateValue = 'ERR';
    this.stats.snapshotBytes = null;
    queueMicrotask(() => this.opts.onError());
  }

  // -------------------------------------------------------------------------------------------------------
  // The handshake

  private begin(): void {
    this.plans.clear();
    this.stateValue = 'SERVER_ID_REQUESTED';
    this.request('get_server_id', [], (id) => {
      if (typeof id !== 'string' || !isUuid(id)) {
        return this.fail('unexpected ovsdb error: get_server_id failed: Server ID is not valid UUID', 'ERR', 'ovsdb_error');
      }
      if (id.toLowerCase() === this.opts.server.serverId) {
        return this.fail('unexpected ovsdb error: Server ID check failed: Self replicating is not allowed', 'ERR', 'ovsdb_error');
      }
      this.stateValue = 'DB_REQUESTED';
      this.request('list_dbs', [], (dbs) => this.onDbList(dbs));
    });
  }

  private onDbList(dbs: JsonValue): void {
    if (!Array.isArray(dbs)) {
      return this.fail('unexpected ovsdb error: list_dbs failed: list_dbs response is not array', 'ERR', 'ovsdb_error');
    }
    const server = this.opts.server;
    const common: ServedDatabase[] = [];
    for (const served of server.databases.values()) {
      // Only databases kept here: a relay's or a cluster member's contents come from their own source.
      if (!server.isReservedDb(served.name) && served.model.kind === 'standalone' && dbs.includes(served.name)) {
        common.push(served);
      }
    }
    this.stateValue = 'SCHEMA_REQUESTED';
    // With no common database nothing is sent and the state stays here, as in the reference.
    if (common.length === 0) return;

    let waiting = common.length + 1;
    let tsActive = false;
    const candidates: DbPlan[] = [];
    const done = () => {
      if (--waiting === 0) this.onSchemas(candidates, tsActive);
    };
    const probe: JsonObject = { Database: [{ columns: ['name'], where: [false] }] };
    if (dbs.includes('_Server')) {
      this.session.request('monitor_cond_since', ['_Server', PROBE_MONITOR_ID, probe, ZERO_UUID], (msg) => {
        if (this.stateValue === 'ERR') return;
        if (msg.type === 'reply' && Array.isArray(msg.result) && typeof msg.result[1] === 'string') {
          tsActive = msg.result[1] !== ZERO_UUID;
          this.session.request('monitor_cancel', [PROBE_MONITOR_ID], () => {});
        }
        this.guard(done);
      });
    } else done();

    for (const served of common) {
      this.request('get_schema', [served.name], (json) => {
        let schema: DatabaseSchema;
        try {
          schema = parseSchema(json);
        } catch {
          return this.fail(`unexpected schema ${served.name}`, 'WARN');
        }
        if (schema.name !== served.name) return this.fail(`unexpected schema ${schema.name}`, 'WARN');
        const ok = canReplicate(served.db.schema, schema, (level, msg) => this.log(level, msg));
        if (ok) {
          const tables = [...schema.tables.keys()].filter((t) => !this.opts.exclude.has(served.name, t)).sort();
          candidates.push({ served, schema, tables });
        }
        done();
      });
    }
  }

  private onSchemas(candidates: DbPlan[], tsActive: boolean): void {
    if (this.stateValue === 'ERR') return;
    if (candidates.length === 0) return this.fail('Nothing to replicate.', 'WARN');
    // Local order, as the database list of sync-status.
    const server = this.opts.server;
    for (const served of server.databases.values()) {
      const p = candidates.find((c) => c.served === served);
      if (p) this.plans.set(served.name, p);
    }
    this.stateValue = 'MONITOR_REQUESTED';
    this.stats.snapshotBytes = 0;
    this.syncStart = Date.now();
    this.syncIncremental = true;
    let outstanding = this.plans.size;
    const finished = () => {
      if (--outstanding > 0) return;
      this.stateValue = 'REPLICATING';
      this.stats.snapshotBytes = null;
      this.stats.lastSync = { mode: this.syncIncremental ? 'incremental' : 'full', ms: Date.now() - this.syncStart };
      this.session.resetBackoff();
    };
    for (const plan of this.plans.values()) {
      const name = plan.served.name;
      const requests: JsonObject = {};
      for (const t of plan.tables) requests[t] = [{}];
      const key = stringify(requests);
      if (tsActive) {
        const resume = this.opts.resumable.get(name) === key ? plan.served.history.latest : ZERO_UUID;
        this.opts.resumable.delete(name);
        this.request('monitor_cond_since', [name, name, requests, resume], (reply) => {
          if (!Array.isArray(reply) || reply.length !== 3 || typeof reply[0] !== 'boolean' || typeof reply[1] !== 'string') {
            throw new ReplicationError('monitor_cond_since reply is not [found, last-txn-id, updates]');
          }
          const [found, latest, updates] = reply;
          if (found) {
            this.log('INFO', `${name}: resuming from transaction ${resume} (incremental resync)`);
            this.applyDelta(plan, updates, 2, latest === ZERO_UUID ? null : latest);
          }
          else this.applySnapshot(plan, updates, 2, latest === ZERO_UUID ? null : latest);
          this.opts.resumable.set(name, key);
          finished();
        });
      } else {
        this.opts.resumable.delete(name);
        this.request('monitor', [name, name, requests], (updates) => {
          this.applySnapshot(plan, updates, 1, null);
          finished();
        });
      }
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Applying

  private applySnapshot(plan: DbPlan, updates: JsonValue, format: UpdateFormat, txnId: string | null): void {
    this.log('INFO', 'Monitor request received. Resetting the database');
    this.syncIncremental = false;
    const db = plan.served.db;
    const replicated = new Set(plan.tables);
    const cleared = new Set<string>();
    for (const t of db.tables.keys()) {
      if (!replicated.has(t) && !this.opts.exclude.has(db.name, t)) cleared.add(t);
    }
    this.commit(plan, snapshotCommit(db, updates, format, replicated, cleared), txnId);
  }

  private applyDelta(plan: DbPlan, updates: JsonValue, format: UpdateFormat, txnId: string | null): void {
    const skip = (msg: string) => this.log('ERR', `unexpected ovsdb error: consistency violation: ${msg}`, 'ovsdb_error');
    this.commit(plan, updateCommit(plan.served.db, updates, format, skip), txnId);
  }

  private commit(plan: DbPlan, commit: Commit, txnId: string | null): void {
    const served = plan.served;
    this.stats.lastUpdateAt = Date.now();
    if (commitIsEmpty(commit)) {
      // Nothing to change here, but the active's id is ours from now on (a resume point for clients).
      if (txnId !== null && txnId !== served.history.latest) served.history.record(txnId, commit, served.db.atoms);
      return;
    }
    this.opts.server.commit(served, commit, txnId ?? newUuid());
    this.stats.transactionsApplied++;
  }

  private onNotification(method: string, params: JsonValue[]): void {
    if (this.stateValue !== 'REPLICATING' && this.stateValue !== 'MONITOR_REQUESTED') return;
    let format: UpdateFormat;
    let txnId: string | null = null;
    let updates: JsonValue;
    if (method === 'update' && params.length === 2) {
      format = 1;
      updates = params[1];
    } else if (method === 'update2' && params.length === 2) {
      format = 2;
      updates = params[1];
    } else if (method === 'update3' && params.length === 3 && typeof params[1] === 'string') {
      format = 2;
      txnId = params[1] === ZERO_UUID ? null : params[1];
      updates = params[2];
    } else return;
    const plan = typeof params[0] === 'string' ? this.plans.get(params[0]) : undefined;
    if (plan === undefined) return; // e.g. the _Server probe
    this.applyDelta(plan, updates, format, txnId);
  }
}
