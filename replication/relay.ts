// A relay database (raft.md §5): a read-only copy of a database served by another server — a standalone
// server, the active of an active/backup pair, any member of a Raft cluster, or another relay — kept by
// an ovsdb-cs-style client session, served locally to this server's clients, with writes forwarded.
//
// The upstream client behaves as the reference's ovsdb-cs with leader-only off (§3.2, §5.2): remotes
// shuffled and tried in turn; on each connection `get_schema _Server`, `monitor_cond` on _Server.Database,
// pick the row for our database (by cid when the remote list has `cid:`, else by name) and skip servers
// that cannot serve it (a cluster member still joining or disconnected from its cluster, a relay without
// its source, a stale member); the schema comes from that row; then `monitor_cond_since` with every table
// `[{}]` and the last transaction id applied here, and `set_db_change_aware`. `monitor_canceled` (a schema
// change upstream) restarts the handshake on the same connection.
//
// Contents: every upstream update is one local commit under the upstream transaction id, so this relay's
// `monitor_cond_since` history carries its source's ids and clients can move between relays and members;
// an all-zero id (a reference standalone source keeps no history) turns history off, as the reference
// relay does. A full snapshot after the first sync (found:false on resume, a new source) is applied as the
// difference with the local rows in one commit: clients never see an empty or partial copy. A new schema
// replaces the database when the monitor reply with its contents arrives (sessions are told as for a
// conversion: `database X schema changed`).
//
// Writes (the model's 'forward' writer): the session executed the transaction locally; its original params
// go to the source as a new `transact` once the session is monitoring (queued until then), and the reply
// is handed back for the client's id. The source sends the update before the reply, so the client sees
// its change here first. Transactions sent but unanswered when the connection drops are answered
// "canceled" (they may or may not have committed).
//
// `_Server` row: model relay, leader false, no cid/sid/index; connected while monitoring and for 30 s
// after (the reference's anti-flap grace), false before the first sync.
import type net from 'node:net';
import { ZERO_UUID } from '../schema/atom.ts';
import type { Datum } from '../schema/datum.ts';
import { OvsdbError } from '../schema/error.ts';
import { isJsonObject, parseJson, stringify, type JsonObject, type JsonValue } from '../schema/json.ts';
import { parseSchema, type DatabaseSchema } from '../schema/schema.ts';
import { commitIsEmpty, Database, type Commit } from '../storage/database.ts';
import type { Row } from '../storage/row.ts';
import type { JsonRpcErrorReply, JsonRpcMessage, JsonRpcReply, RpcLog } from '../server/jsonrpc.ts';
import type { OvsdbServer, ServedDatabase } from '../server/server.ts';
import type {
  DatabaseModel,
  DatabaseWriter,
  ServerRowState,
  WriteReply,
  WriteRequest,
  WriteTicket,
} from '../server/database-model.ts';
import { schemaColumnText } from '../server/server-db.ts';
import { ReplicationError, snapshotCommit, updateCommit } from './apply.ts';
import { shuffled, type RelaySpec } from './relay-spec.ts';
import { UpstreamSession } from './upstream.ts';

/** How long `_Server.connected` stays true after the source was last usable (reference: 30 s). */
export const RELAY_CONNECTED_GRACE_MS = 30_000;
/** Inactivity probe towards tcp:/ssl: sources (the reference's jsonrpc-session default; none on unix:). */
const DEFAULT_PROBE_MS = 5000;
const SERVER_COLUMNS = ['name', 'model', 'connected', 'leader', 'schema', 'cid', 'index'];

type CsState =
  | 'connecting'
  | 'server-schema-requested'
  | 'server-monitor-requested'
  | 'data-schema-requested'
  | 'data-monitor-requested'
  | 'monitoring'
  | 'retry';

interface Forward {
  readonly params: readonly JsonValue[];
  readonly done: (reply: WriteReply) => void;
  /** Upstream request id once sent. */
  sentId: number | null;
  finished: boolean;
}

export interface RelayOptions {
  readonly server: OvsdbServer;
  readonly spec: RelaySpec;
  readonly log: RpcLog;
  readonly connect?: (target: string) => Promise<net.Socket>;
  /** `-vjsonrpc:dbg` on: the upstream messages are logged as the reference logs them. */
  readonly trace?: () => boolean;
  /** Keep the remotes in the given order (tests); the reference shuffles them. */
  readonly keepOrder?: boolean;
}

export class Relay implements DatabaseModel, DatabaseWriter {
  readonly kind = 'relay' as const;
  readonly localWrites = false;
  readonly mode = 'forward' as const;
  readonly writer: DatabaseWriter = this;

  private readonly session: UpstreamSession;
  private state: CsState = 'connecting';
  private closed = false;
  private served: ServedDatabase | null = null;
  /** The source's _Server.Database rows (null before the _Server monitor reply, or without _Server). */
  private sourceServer: Database | null = null;
  /** The schema of the monitor in flight or active. */
  private monitorSchema: DatabaseSchema | null = null;
  private monitorRequests: JsonObject = {};
  private readonly dataMonitorId: JsonValue;
  private readonly dataMonitorKey: string;
  private readonly serverMonitorKey = stringify(['monid', '_Server']);
  private serverMonitored = false;
  private dataMonitored = false;
  /** The last upstream transaction id applied here: the resume point. */
  private lastId = ZERO_UUID;
  /** Highest Raft index accepted from a clustered source (stale members are skipped). */
  private minIndex = 0;
  /** Date.now() when forwarding was last possible (0: never). */
  private lastConnected = 0;
  private graceTimer: NodeJS.Timeout | null = null;
  private readonly queued: Forward[] = [];
  private readonly sent = new Map<number, Forward>();
  private settle!: () => void;
  /**
   * Resolved once the first attempt to reach a source is over: synced, or no usable source for now (a
   * failed connection, a server that cannot serve the database). The daemon waits for it (bounded) before
   * reporting startup complete, so a relay whose source is up serves data when `--detach` returns.
   */
  readonly firstAttempt = new Promise<void>((r) => (this.settle = r));

  constructor(private readonly opts: RelayOptions) {
    const name = opts.spec.name;
    this.dataMonitorId = ['monid', name];
    this.dataMonitorKey = stringify(this.dataMonitorId);
    const remotes = opts.keepOrder ? opts.spec.remotes : shuffled(opts.spec.remotes);
    this.session = new UpstreamSession({
      remotes,
      log: opts.log,
      connect: opts.connect,
      trace: opts.trace,
      probeInterval: (target) => (target.startsWith('unix:') ? 0 : DEFAULT_PROBE_MS),
      handler: {
        connected: () => this.onConnected(),
        message: (m) => this.onMessage(m),
        disconnected: () => this.onDisconnected(),
        connectFailed: () => this.settle(),
      },
    });
  }

  get name(): string {
    return this.opts.spec.name;
  }

  /** Registers the database (not available until the first sync) and starts the upstream session. */
  start(opts: { quiet?: boolean } = {}): void {
    this.opts.server.registerUnavailable(this.name, this, opts);
    this.session.start();
  }

  /** Stops the upstream session (the owner removes the database from the server). */
  close(): void {
    this.closed = true;
    this.settle();
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    this.session.close();
    this.queued.length = 0;
    this.sent.clear();
  }

  // -------------------------------------------------------------------------------------------------------
  // DatabaseModel

  serverRow(): ServerRowState {
    return { connected: this.isConnected(), leader: false, cid: null, sid: null, index: null };
  }

  private isConnected(): boolean {
    if (this.closed) return false;
    if (this.state === 'monitoring') return true;
    return this.lastConnected > 0 && Date.now() - this.lastConnected < RELAY_CONNECTED_GRACE_MS;
  }

  // -------------------------------------------------------------------------------------------------------
  // DatabaseWriter: forwarding

  submit(request: WriteRequest, done: (reply: WriteReply) => void): WriteTicket {
    const f: Forward = { params: request.params, done, sentId: null, finished: false };
    this.queued.push(f);
    if (this.state === 'monitoring') this.sendQueued();
    return {
      cancel: () => {
        if (f.finished) return;
        f.finished = true;
        const i = this.queued.indexOf(f);
        if (i >= 0) this.queued.splice(i, 1);
        if (f.sentId !== null) this.sent.delete(f.sentId);
      },
    };
  }

  private sendQueued(): void {
    while (this.queued.length > 0 && this.state === 'monitoring') {
      const f = this.queued.shift()!;
      if (f.finished) continue;
      const id = this.session.request('transact', f.params as JsonValue[], (msg) => this.forwardReplied(f, msg));
      if (id === null) {
        this.queued.unshift(f);
        return;
      }
      f.sentId = id;
      this.sent.set(id, f);
    }
  }

  private forwardReplied(f: Forward, msg: JsonRpcReply | JsonRpcErrorReply): void {
    if (f.sentId !== null) this.sent.delete(f.sentId);
    if (f.finished) return;
    f.finished = true;
    f.done(msg.type === 'reply' ? { result: msg.result } : { error: msg.error });
  }

  // -------------------------------------------------------------------------------------------------------
  // The upstream session

  private log(level: 'ERR' | 'WARN' | 'INFO' | 'DBG', msg: string, module = 'relay'): void {
    this.opts.log(module, level, msg);
  }

  private setState(next: CsState): void {
    const was = this.state;
    this.state = next;
    if (was === next) return;
    if (was === 'monitoring') {
      this.lastConnected = Date.now();
      this.armGrace();
    }
    if (next === 'monitoring' || next === 'retry') this.settle();
    if (next === 'monitoring') {
      this.lastConnected = Date.now();
      if (this.graceTimer) clearTimeout(this.graceTimer);
      this.graceTimer = null;
    }
    if (was === 'monitoring' || next === 'monitoring') this.refreshRow();
  }

  private armGrace(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = setTimeout(() => {
      this.graceTimer = null;
      this.refreshRow();
    }, RELAY_CONNECTED_GRACE_MS + 1);
    this.graceTimer.unref();
  }

  private refreshRow(): void {
    if (!this.closed) this.opts.server.refreshServerDb();
  }

  private onConnected(): void {
    this.restart();
  }

  /** The handshake from the top (a new connection, or a monitor canceled by the source). */
  private restart(): void {
    this.serverMonitored = false;
    this.dataMonitored = false;
    this.setState('server-schema-requested');
    this.session.request('get_schema', ['_Server'], (msg) => {
      if (this.state !== 'server-schema-requested') return;
      if (msg.type !== 'reply') return this.requestDataSchema();
      let schema: DatabaseSchema;
      try {
        schema = parseSchema(msg.result);
      } catch {
        return this.requestDataSchema();
      }
      const table = schema.tables.get('Database');
      if (table === undefined) {
        this.log('WARN', '_Server database lacks Database table (database needs upgrade?)', 'ovsdb_cs');
        return this.requestDataSchema();
      }
      const columns: string[] = [];
      for (const c of SERVER_COLUMNS) {
        if (table.columnsByName.has(c)) columns.push(c);
        else this.log('WARN', `Database table in _Server database lacks ${c} column (database needs upgrade?)`, 'ovsdb_cs');
      }
      this.sourceServer = new Database(schema);
      this.setState('server-monitor-requested');
      const requests = { Database: [{ columns }] };
      this.session.request('monitor_cond', ['_Server', ['monid', '_Server'], requests], (reply) =>
        this.onServerMonitorReply(reply),
      );
    });
  }

  private onServerMonitorReply(msg: JsonRpcReply | JsonRpcErrorReply): void {
    if (this.state !== 'server-monitor-requested') return;
    if (msg.type !== 'reply') return this.requestDataSchema();
    this.serverMonitored = true;
    if (!this.guard(() => this.applyServerUpdates(msg.result, true))) return;
    if (this.checkServerDb()) this.session.request('set_db_change_aware', [true], () => {});
  }

  /** Without a usable _Server: the database's own schema, then `monitor_cond` (no history). */
  private requestDataSchema(): void {
    this.sourceServer = null;
    this.setState('data-schema-requested');
    this.session.request('get_schema', [this.name], (msg) => {
      if (this.state !== 'data-schema-requested') return;
      if (msg.type !== 'reply') {
        this.log('WARN', `${this.session.target}: ${this.name}: get_schema failed: ${stringify(msg.error)}`);
        return this.retry();
      }
      let schema: DatabaseSchema;
      try {
        schema = parseSchema(msg.result);
      } catch (e) {
        this.log('WARN', `${this.name}: Failed to parse db schema: ${(e as Error).message}`);
        return this.retry();
      }
      this.requestData(schema, 2);
    });
  }

  /** Applies _Server monitor contents (`initial`: the reply) to our copy of the source's _Server. */
  private applyServerUpdates(updates: JsonValue, initial: boolean): void {
    const db = this.sourceServer;
    if (db === null || !isJsonObject(updates)) return;
    const commit = initial
      ? snapshotCommit(db, updates, 2, new Set(db.tables.keys()), new Set())
      : updateCommit(db, updates, 2, () => {});
    db.apply(commit);
  }

  /**
   * The source's _Server row for our database (§3.2 with leader-only off). Not usable: log why, try
   * another server. Usable while the handshake waits for it: send the data monitor.
   */
  private checkServerDb(): boolean {
    const db = this.sourceServer!;
    const target = this.session.target ?? '';
    const row = this.findServerRow(db);
    if (row === null) {
      this.log('INFO', `${target}: server does not have ${this.name} database`, 'ovsdb_cs');
      this.retry();
      return false;
    }
    const model = readString(db, row, 'model') ?? '';
    const schemaText = readString(db, row, 'schema');
    const connected = readBool(db, row, 'connected') ?? false;
    let why: string | null = null;
    if (model === 'clustered') {
      const index = readInt(db, row, 'index') ?? 0;
      if (schemaText === null) why = 'clustered database server has not yet joined cluster';
      else if (!connected) why = 'clustered database server is disconnected from cluster';
      else if (index < this.minIndex) {
        this.log('WARN', `${target}: clustered database server has stale data; trying another server`, 'ovsdb_cs');
        this.retry();
        return false;
      } else this.minIndex = index;
    } else if (model === 'relay') {
      if (schemaText === null) why = 'relay database server has not yet connected to the relay source';
      else if (!connected) why = 'relay database server is disconnected from the relay source';
    } else if (schemaText === null) {
      this.log('INFO', `${target}: missing database schema`, 'ovsdb_cs');
      this.retry();
      return false;
    }
    if (why !== null) {
      this.log('INFO', `${target}: ${why}; trying another server`, 'ovsdb_cs');
      this.retry();
      return false;
    }
    if (this.state === 'server-monitor-requested') {
      let schema: DatabaseSchema;
      try {
        schema = parseSchema(parseJson(schemaText!));
      } catch (e) {
        this.log('WARN', `${this.name}: Failed to parse db schema: ${(e as Error).message}`);
        this.retry();
        return false;
      }
      this.requestData(schema, 3);
    }
    return true;
  }

  private findServerRow(db: Database): Row | null {
    const table = db.tables.get('Database');
    if (table === undefined) return null;
    const cid = this.opts.spec.cid;
    for (const row of table.rows.values()) {
      if (cid !== null ? readUuid(db, row, 'cid') === cid : readString(db, row, 'name') === this.name) return row;
    }
    return null;
  }

  /** The data monitor: every table, all columns, no condition. */
  private requestData(schema: DatabaseSchema, version: 2 | 3): void {
    this.monitorSchema = schema;
    const requests: JsonObject = {};
    for (const t of schema.tables.keys()) requests[t] = [{}];
    this.monitorRequests = requests;
    this.setState('data-monitor-requested');
    if (version === 3) {
      // A different schema means a different database: start from nothing (the reply is then a snapshot).
      const since = this.served !== null && sameSchema(this.served.db.schema, schema) ? this.lastId : ZERO_UUID;
      this.session.request('monitor_cond_since', [this.name, this.dataMonitorId, requests, since], (msg) =>
        this.onDataMonitorReply(msg, 3),
      );
    } else {
      this.session.request('monitor_cond', [this.name, this.dataMonitorId, requests], (msg) =>
        this.onDataMonitorReply(msg, 2),
      );
    }
  }

  private onDataMonitorReply(msg: JsonRpcReply | JsonRpcErrorReply, version: 2 | 3): void {
    if (this.state !== 'data-monitor-requested') return;
    if (msg.type !== 'reply') {
      if (version === 3) {
        // monitor_cond_since not supported: monitor_cond.
        this.session.request('monitor_cond', [this.name, this.dataMonitorId, this.monitorRequests], (m) =>
          this.onDataMonitorReply(m, 2),
        );
        return;
      }
      this.log('WARN', `${this.session.target}: ${this.name}: monitor request failed: ${stringify(msg.error)}`);
      return this.retry();
    }
    let found = false;
    let lastId = ZERO_UUID;
    let updates: JsonValue = msg.result;
    if (version === 3) {
      const r = msg.result;
      if (!Array.isArray(r) || r.length !== 3 || typeof r[0] !== 'boolean' || typeof r[1] !== 'string') {
        this.log('WARN', `${this.name}: bad monitor_cond_since reply format`, 'ovsdb_cs');
        return this.retry();
      }
      [found, lastId, updates] = r as [boolean, string, JsonValue];
      lastId = lastId.toLowerCase();
    }
    this.dataMonitored = true;
    const ok = this.guard(() => this.applyInitial(found, lastId, updates));
    if (!ok) return;
    this.setState('monitoring');
    this.session.resetBackoff();
    this.sendQueued();
  }

  /** The monitor reply: the schema (first sync or a change), then the contents. */
  private applyInitial(found: boolean, lastId: string, updates: JsonValue): void {
    const schema = this.monitorSchema!;
    const server = this.opts.server;
    if (this.served === null) {
      this.served = server.attachDatabase(this.name, new Database(schema));
      found = false;
    } else if (!sameSchema(this.served.db.schema, schema)) {
      server.replaceDatabase(this.name, new Database(schema), `database ${this.name} schema changed`);
      found = false;
    }
    if (found) return this.applyUpdate(updates, lastId);
    const served = this.served;
    const tables = new Set(served.db.tables.keys());
    const commit = snapshotCommit(served.db, updates, 2, tables, new Set());
    // A snapshot starts the history over, at the snapshot's id (off if the source has no ids).
    served.history.setEnabled(lastId !== ZERO_UUID);
    this.commitUpstream(commit, lastId);
  }

  /** One upstream change (an update notification, or a found:true monitor reply). */
  private applyUpdate(updates: JsonValue, txnId: string): void {
    const served = this.served!;
    const history = served.history;
    if (txnId === ZERO_UUID) {
      if (history.enabled) history.setEnabled(false);
    } else if (!history.enabled) history.setEnabled(true);
    let inconsistent = false;
    const commit = updateCommit(served.db, updates, 2, (m) => {
      inconsistent = true;
      this.log('WARN', `${this.name}: consistency violation: ${m}`);
    });
    this.commitUpstream(commit, txnId);
    if (inconsistent) {
      // As ovsdb-cs: forget the resume point and start over with a full snapshot.
      this.lastId = ZERO_UUID;
      this.retry();
    }
  }

  private commitUpstream(commit: Commit, txnId: string): void {
    const served = this.served!;
    this.lastId = txnId;
    if (commitIsEmpty(commit)) {
      // Nothing changes here, but the source's id is a resume point for clients from now on.
      if (txnId !== ZERO_UUID && served.history.latest !== txnId) served.history.record(txnId, commit, served.db.atoms);
      return;
    }
    this.opts.server.commit(served, commit, txnId);
  }

  /** Runs an apply step; a malformed or inconsistent update drops the connection (a fresh sync follows). */
  private guard(fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (e) {
      if (!(e instanceof ReplicationError) && !(e instanceof OvsdbError)) throw e;
      const text = e instanceof OvsdbError ? e.render() : e.message;
      this.log('WARN', `${this.name}: ${text}`);
      this.lastId = ZERO_UUID;
      this.retry();
      return false;
    }
  }

  /** "Trying another server": drop this connection (without back-off if we were monitoring). */
  private retry(): void {
    const wasMonitoring = this.state === 'monitoring';
    this.setState('retry');
    this.session.forceReconnect(wasMonitoring);
  }

  private onDisconnected(): void {
    this.serverMonitored = false;
    this.dataMonitored = false;
    this.setState('connecting');
    // Sent but unanswered: they may or may not have committed; the client decides (reference: "canceled").
    for (const f of [...this.sent.values()]) {
      this.sent.delete(f.sentId!);
      if (f.finished) continue;
      f.finished = true;
      f.done({ error: 'canceled' });
    }
  }

  private onMessage(m: JsonRpcMessage): void {
    if (m.type !== 'notification') return; // unexpected replies: the reference logs them at DBG only
    const p = m.params;
    if (m.method === 'update' || m.method === 'update2' || m.method === 'update3') {
      const n = m.method === 'update3' ? 3 : 2;
      if (p.length !== n) {
        this.log('WARN', `${m.method} must be an array with ${n} elements.`, 'ovsdb_cs');
        return;
      }
      const key = stringify(p[0]);
      if (key === this.dataMonitorKey && this.dataMonitored) {
        if (m.method === 'update') return; // we never ask for v1
        let txnId = ZERO_UUID;
        if (n === 3) {
          if (typeof p[1] !== 'string') return;
          txnId = p[1].toLowerCase();
        }
        const updates = p[n - 1];
        if (this.state === 'monitoring') this.guard(() => this.applyUpdate(updates, txnId));
        return;
      }
      if (key === this.serverMonitorKey && this.serverMonitored && m.method === 'update2') {
        if (this.guard(() => this.applyServerUpdates(p[1], false))) this.checkServerDb();
      }
      return;
    }
    if (m.method === 'monitor_canceled' && p.length === 1) {
      const key = stringify(p[0]);
      const data = key === this.dataMonitorKey && this.dataMonitored;
      const server = key === this.serverMonitorKey && this.serverMonitored;
      if (!data && !server) return;
      // Cancel the other monitor and start over on this connection (a schema change upstream).
      if (data && this.serverMonitored) this.session.request('monitor_cancel', [['monid', '_Server']], () => {});
      if (server && this.dataMonitored) this.session.request('monitor_cancel', [this.dataMonitorId], () => {});
      this.restart();
    }
  }
}

function sameSchema(a: DatabaseSchema, b: DatabaseSchema): boolean {
  return a === b || schemaColumnText(a) === schemaColumnText(b);
}

function datumOf(db: Database, row: Row, column: string): Datum | undefined {
  const col = db.tables.get('Database')!.schema.columnsByName.get(column);
  return col === undefined || col.index < 0 ? undefined : row.data[col.index];
}
function readString(db: Database, row: Row, column: string): string | null {
  const d = datumOf(db, row, column);
  return d !== undefined && d.keys.length === 1 && typeof d.keys[0] === 'string' ? d.keys[0] : null;
}
function readUuid(db: Database, row: Row, column: string): string | null {
  return readString(db, row, column);
}
function readBool(db: Database, row: Row, column: string): boolean | null {
  const d = datumOf(db, row, column);
  return d !== undefined && d.keys.length === 1 && typeof d.keys[0] === 'boolean' ? d.keys[0] : null;
}
function readInt(db: Database, row: Row, column: string): number | null {
  const d = datumOf(db, row, column);
  return d !== undefined && d.keys.length === 1 && typeof d.keys[0] !== 'boolean' && typeof d.keys[0] !== 'string'
    ? Number(d.keys[0])
    : null;
}
