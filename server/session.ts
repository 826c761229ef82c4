// One client's JSON-RPC session with the OVSDB server: method dispatch (reference §3), pending transactions
// blocked in `wait`, monitors, locks, and the db-change-aware rules.
//
// Transactions go through the database's model (database-model.ts): a write on a relay is executed here
// first (so bad requests are answered locally) and then handed to its writer, which forwards the original
// params; a clustered writer will propose the commit. Either way the request stays pending here under the
// client's id until the writer calls back, so duplicate ids, `cancel`, a closed session and a removed
// database are handled in one place. A database that is registered but not yet available (no schema) gets
// R9's error on every request that names it.
import { isId } from '../schema/atom.ts';
import { OvsdbError, syntaxError } from '../schema/error.ts';
import { stringify, type JsonValue } from '../schema/json.ts';
import { parseSchema, schemaToJson } from '../schema/schema.ts';
import { execute } from '../storage/execution.ts';
import type { JsonRpcConnection, JsonRpcMessage, JsonRpcRequest } from './jsonrpc.ts';
import type { LockHolder } from './locks.ts';
import { SessionMonitors } from './session-monitors.ts';
import { HOLD_REPLIES, holdUntilRound, outputPending } from './output-scheduler.ts';
import type { OvsdbServer, ServedDatabase, Trigger } from './server.ts';
import { convertDatabase, convertedDatabase } from './convert.ts';
import { convertForbidden, rbacEnabled, type RbacIdentity } from '../storage/rbac.ts';
import type { WriteReply, WriteRequest, WriteTicket } from './database-model.ts';

export interface SessionOptions {
  /** A read_only remote: writes are refused even when the server is active. */
  readonly readOnly?: boolean;
  /** RBAC role from the remote's Connection row (OVN_Southbound). */
  readonly role?: string;
  /** The client's identity for RBAC: the CN of its verified certificate. */
  readonly peerId?: string;
}

/** Whether a transaction has an operation that may write (a malformed one is left to execute()). */
function mayWrite(ops: readonly JsonValue[]): boolean {
  for (const op of ops) {
    if (op === null || typeof op !== 'object' || Array.isArray(op)) continue;
    const name = op['op'];
    if (name === 'insert' || name === 'update' || name === 'mutate' || name === 'delete') return true;
  }
  return false;
}

class PendingTransact implements Trigger {
  private timer: NodeJS.Timeout | null = null;
  readonly started = Date.now();
  /** Set once the database's writer took the transaction over (forwarded or proposed). */
  ticket: WriteTicket | null = null;
  /** The operations (params after the database name). */
  readonly ops: JsonValue[];

  constructor(
    readonly session: Session,
    readonly served: ServedDatabase,
    readonly id: JsonValue,
    /** The `transact` params as received, database name first. */
    readonly params: JsonValue[],
    timeoutMs: number | null,
  ) {
    this.ops = params.slice(1);
    if (timeoutMs !== null) this.arm(timeoutMs);
  }

  arm(timeoutMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.max(0, this.started + timeoutMs - Date.now());
    this.timer = setTimeout(() => this.retry(), delay + 1);
  }

  retry(): void {
    this.session.runTransact(this);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.served.triggers.delete(this);
    this.ticket?.cancel();
    this.ticket = null;
  }
}

export class Session implements LockHolder {
  dbChangeAware = false;
  readonly monitors: SessionMonitors;
  private readonly pending = new Map<string, PendingTransact>();
  private closed = false;

  constructor(
    readonly server: OvsdbServer,
    readonly conn: JsonRpcConnection,
    readonly options: SessionOptions = {},
  ) {
    this.monitors = new SessionMonitors(this);
    server.sessions.add(this);
    conn.on('message', (m) => this.onMessage(m));
    conn.on('drain', () => this.monitors.flushAll());
    conn.on('close', () => this.onClose());
  }

  get name(): string {
    return this.conn.name;
  }

  get readOnly(): boolean {
    return this.server.isBackup || (this.options.readOnly ?? false);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Outgoing

  send(text: string): void {
    this.conn.sendRaw(text);
  }

  reply(id: JsonValue, result: JsonValue): void {
    this.monitors.flushAll(false);
    this.conn.reply(id, result);
  }

  replyRaw(id: JsonValue, resultText: string): void {
    this.monitors.flushAll(false);
    this.conn.replyRaw(id, resultText);
  }

  replyError(id: JsonValue, error: JsonValue): void {
    this.monitors.flushAll(false);
    this.conn.replyError(id, error);
  }

  notifyLock(method: 'locked' | 'stolen', name: string): void {
    this.monitors.flushAll(false);
    this.conn.notify(method, [name]);
  }

  /** Send this session's monitor updates for a commit just applied to `served`. */
  flushMonitors(served: ServedDatabase): void {
    this.monitors.commitApplied(served);
  }

  disconnect(reason: string): void {
    this.server.events.log('ovsdb_jsonrpc_server', 'INFO', `${this.name}: disconnecting (${reason})`);
    this.conn.close();
  }

  /** A database is going away (remove-db or convert): aware sessions get notifications, others are dropped. */
  databaseRemoved(served: ServedDatabase, reason: string): void {
    if (!this.dbChangeAware) {
      this.disconnect(reason);
      return;
    }
    this.monitors.cancelForDatabase(served);
    for (const [k, p] of this.pending) {
      if (p.served !== served) continue;
      p.cancel();
      this.pending.delete(k);
      this.replyError(p.id, 'canceled');
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.cancel();
    this.pending.clear();
    this.monitors.closeAll();
    this.server.locks.releaseAll(this);
    this.server.sessions.delete(this);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Incoming

  private onMessage(m: JsonRpcMessage): void {
    if (m.type === 'request') {
      try {
        this.dispatch(m);
      } catch (e) {
        if (e instanceof OvsdbError) this.replyError(m.id, e.toJson());
        else {
          this.server.events.log('ovsdb_jsonrpc_server', 'ERR', `${this.name}: internal error: ${(e as Error).stack}`);
          this.replyError(m.id, { error: 'internal error', details: String((e as Error).message) });
        }
      }
      return;
    }
    if (m.type === 'notification') {
      if (m.method === 'cancel') this.cancel(m.params);
      return; // Every other notification is ignored, `transact` included.
    }
    // Replies other than to our echo probe (handled by the connection) are protocol errors.
    this.server.events.log('jsonrpc', 'WARN', `${this.name}: received unexpected reply message`);
    this.conn.abort('Protocol error');
  }

  private dispatch(m: JsonRpcRequest): void {
    const p = m.params;
    switch (m.method) {
      case 'list_dbs':
        return this.reply(m.id, this.server.databaseNames());
      case 'get_server_id':
        return this.reply(m.id, this.server.serverId);
      case 'echo':
        return this.reply(m.id, p);
      case 'get_schema': {
        const served = this.lookup(m);
        return this.reply(m.id, schemaToJson(served.db.schema));
      }
      case 'transact':
        return this.transact(m);
      case 'convert':
        return this.convert(m);
      case 'monitor':
      case 'monitor_cond':
      case 'monitor_cond_since': {
        if (m.method !== 'monitor' && this.server.monitorCondDisabled) return this.replyError(m.id, 'unknown method');
        return this.monitors.create(m);
      }
      case 'monitor_cond_change':
        return this.monitors.change(m);
      case 'monitor_cancel':
        return this.monitors.cancel(m);
      case 'lock':
      case 'steal':
      case 'unlock':
        return this.lockMethod(m);
      case 'set_db_change_aware': {
        if (p.length !== 1 || typeof p[0] !== 'boolean')
          throw syntaxError('set_db_change_aware: true or false parameter expected', p);
        this.dbChangeAware = p[0];
        return this.reply(m.id, {});
      }
      default:
        return this.replyError(m.id, 'unknown method');
    }
  }

  /** §3.0 database lookup on params[0]. */
  lookup(m: JsonRpcRequest): ServedDatabase {
    const name = m.params[0];
    if (typeof name !== 'string')
      throw syntaxError(`${m.method} request params must begin with <db-name>`, m.params);
    const served = this.server.databases.get(name);
    if (served !== undefined) return served;
    if (this.server.unavailable.has(name))
      throw new OvsdbError(
        'database not available',
        `${m.method} request specifies database ${name} which is not yet available because it has not completed joining its cluster`,
      );
    throw new OvsdbError('unknown database', `${m.method} request specifies unknown database ${name}`, {
      syntax: m.params,
    });
  }

  private transact(m: JsonRpcRequest): void {
    const served = this.lookup(m);
    const key = stringify(m.id);
    if (this.pending.has(key))
      throw syntaxError('transact: duplicate request ID', [served.name]);
    const pt = new PendingTransact(this, served, m.id, m.params, null);
    this.runTransact(pt);
  }

  /** Executes (or re-executes) a transaction; replies unless it is still blocked. */
  runTransact(pt: PendingTransact): void {
    const key = stringify(pt.id);
    const served = pt.served;
    if (this.server.databases.get(served.name) !== served) return;
    if (served.model.canExecute?.() === false) {
      // A retried write is pending already but no longer a trigger: it must become one again.
      this.pending.set(key, pt);
      served.triggers.add(pt);
      return;
    }
    const writer = served.model.writer;
    if (writer?.precheck !== undefined && !writer.precheck() && mayWrite(pt.ops)) {
      // Executing it now would only build a proposal bound to fail: wait for the change.
      // A retried write is pending already but no longer a trigger: it must become one again.
      this.pending.set(key, pt);
      served.triggers.add(pt);
      return;
    }
    const out = execute(served.db, pt.ops, {
      readOnly: this.readOnly,
      reserved: this.server.isReservedDb(served.name),
      ownsLock: (name) => this.server.locks.owns(this, name),
      elapsedMs: Date.now() - pt.started,
      rbac: this.rbacFor(served),
      forwardWrites: writer?.mode === 'forward',
    });
    if (out.kind === 'blocked') {
      // A retried write is pending already but no longer a trigger: it must become one again.
      this.pending.set(key, pt);
      served.triggers.add(pt);
      if (out.timeoutMs !== null) pt.arm(out.timeoutMs);
      return;
    }
    if (this.pending.get(key) === pt) {
      this.pending.delete(key);
      pt.cancel();
    }
    const result = out.result;
    if (writer !== undefined && (out.forward || (out.commit !== null && writer.mode === 'propose'))) {
      return this.submitWrite(pt, { params: pt.params, commit: out.commit, result });
    }
    if (out.commit) {
      try {
        this.server.commit(served, out.commit);
        // The reply leaves after every monitor's update of this commit (output-scheduler.ts).
        if (HOLD_REPLIES && outputPending()) holdUntilRound(this.conn);
      } catch (e) {
        if (!(e instanceof OvsdbError)) throw e;
        result.push(e.toJson());
      }
    }
    this.reply(pt.id, result);
  }

  /** Hands a write to the database's writer; the reply comes when the writer calls back. */
  private submitWrite(pt: PendingTransact, request: WriteRequest): void {
    const key = stringify(pt.id);
    this.pending.set(key, pt);
    pt.ticket = pt.served.model.writer!.submit(request, (reply: WriteReply) => {
      if (this.pending.get(key) !== pt) return;
      this.pending.delete(key);
      pt.ticket = null;
      if ('retry' in reply) {
        // Executed again later, from scratch, as a transaction blocked in `wait` is.
        this.pending.set(key, pt);
        if (reply.retry === 'now') setImmediate(() => this.pending.get(key) === pt && pt.retry());
        else pt.served.triggers.add(pt);
        return;
      }
      if ('result' in reply) this.reply(pt.id, reply.result);
      else this.replyError(pt.id, reply.error);
    });
  }

  /** RBAC applies when the schema has RBAC_Role and this session's remote gave it a role. */
  private rbacFor(served: ServedDatabase): RbacIdentity | undefined {
    const role = this.options.role;
    if (!role || !rbacEnabled(served.db)) return undefined;
    return { role, id: this.options.peerId ?? '' };
  }

  private cancel(params: JsonValue[]): void {
    if (params.length !== 1) return;
    const key = stringify(params[0]);
    const p = this.pending.get(key);
    if (p === undefined) return;
    p.cancel();
    this.pending.delete(key);
    if (this.dbChangeAware) this.replyError(p.id, 'canceled');
  }

  private convert(m: JsonRpcRequest): void {
    const served = this.lookup(m);
    if (m.params.length !== 2) throw syntaxError('array expected', m.params);
    if (this.readOnly)
      throw new OvsdbError('not allowed', `conversion is not allowed for read-only database ${served.name}`);
    if (this.options.role) throw convertForbidden({ role: this.options.role, id: this.options.peerId ?? '' }, served.name);
    const schema = parseSchema(m.params[1]);
    if (schema.name !== served.name)
      throw new OvsdbError(
        'invalid parameters',
        `new schema name (${schema.name}) does not match database name (${served.name})`,
      );
    const model = served.model;
    if (model.convert !== undefined) {
      const converted = convertedDatabase(served.db, schema);
      void model.convert(converted).then(() => this.reply(m.id, {}));
      return;
    }
    convertDatabase(this.server, served, schema);
    this.reply(m.id, {});
  }

  private lockMethod(m: JsonRpcRequest): void {
    const p = m.params;
    if (this.readOnly) return this.replyError(m.id, 'lock and unlock methods not allowed, DB server is read only.');
    if (p.length !== 1 || typeof p[0] !== 'string' || !isId(p[0]))
      throw syntaxError(`${m.method} request params must be <id>`, p);
    const name = p[0];
    const locks = this.server.locks;
    if (m.method === 'unlock') {
      if (!locks.hasRequested(this, name))
        throw syntaxError('unlock: "unlock" without "lock" or "steal"', p);
      locks.unlock(this, name);
      return this.reply(m.id, {});
    }
    if (locks.hasRequested(this, name)) throw syntaxError(`must issue "unlock" before new "${m.method}"`, p);
    if (m.method === 'lock') {
      const got = locks.lock(this, name);
      return this.reply(m.id, { locked: got });
    }
    locks.steal(this, name);
    return this.reply(m.id, { locked: true });
  }
}
