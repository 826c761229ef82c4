// A session's monitors: the monitor / monitor_cond / monitor_cond_since / monitor_cond_change /
// monitor_cancel methods (reference §3.14) and the delivery of their updates on this session's connection.
import { syntaxError } from '../schema/error.ts';
import { stringify, type JsonValue } from '../schema/json.ts';
import type { JsonRpcRequest } from './jsonrpc.ts';
import { parseLastTxnId, type Monitor, type MonitorVersion } from './monitor.ts';
import type { ServedDatabase } from './server.ts';
import type { Session } from './session.ts';
import { scheduleOutput, type DeferredOutput } from './output-scheduler.ts';

interface Entry {
  monitor: Monitor;
  served: ServedDatabase;
}

const VERSIONS: Record<string, MonitorVersion> = { monitor: 1, monitor_cond: 2, monitor_cond_since: 3 };

export class SessionMonitors implements DeferredOutput {
  private readonly byId = new Map<string, Entry>();
  /** Queued for the next output round. */
  private scheduled = false;

  constructor(private readonly session: Session) {}

  count(): number {
    return this.byId.size;
  }

  create(m: JsonRpcRequest): void {
    const version = VERSIONS[m.method];
    const p = m.params;
    const wantLen = version === 3 ? 4 : 3;
    // The database is looked up first, so `[]` or an unknown name gets the lookup error, as the reference does.
    const served = this.session.lookup(m);
    if (version !== 1 && p.length !== wantLen) throw syntaxError('invalid parameters', p);
    // A short v1 request reads past the params in the reference (it may even crash); when it survives it
    // reports the missing monitor-requests as null, so we do that.
    if (version === 1 && p.length < 3) throw syntaxError('monitor-requests must be object', null);
    const idKey = stringify(p[1]);
    if (this.byId.has(idKey)) throw syntaxError('duplicate monitor ID', p[1]);
    const lastTxnId = version === 3 ? parseLastTxnId(p[3]) : null;
    const monitor = served.monitors.create(p[1], version, p[2]);
    this.byId.set(idKey, { monitor, served });
    const text = lastTxnId === null ? monitor.initialText() : monitor.sinceResultText(served.history, lastTxnId);
    this.session.replyRaw(m.id, text);
  }

  change(m: JsonRpcRequest): void {
    const p = m.params;
    if (p.length !== 3) throw syntaxError('invalid parameters', p);
    const oldKey = stringify(p[0]);
    const entry = this.byId.get(oldKey);
    if (entry === undefined) throw syntaxError('unknown monitor session', p[0]);
    const newKey = stringify(p[1]);
    if (newKey !== oldKey && this.byId.has(newKey)) throw syntaxError('duplicate monitor ID', p[1]);
    const body = entry.monitor.changeConditions(p[2]);
    // Updates computed under the old conditions go out first, under the old id.
    this.flushEntry(entry);
    if (newKey !== oldKey) {
      this.byId.delete(oldKey);
      entry.monitor.rename(p[1]);
      this.byId.set(newKey, entry);
    }
    if (body !== null) this.session.send(entry.monitor.message(stringify(body), entry.served.history.latest));
    this.session.reply(m.id, {});
  }

  cancel(m: JsonRpcRequest): void {
    const p = m.params;
    if (p.length !== 1) return this.session.replyError(m.id, 'invalid parameters');
    const key = stringify(p[0]);
    const entry = this.byId.get(key);
    if (entry === undefined) return this.session.replyError(m.id, 'unknown monitor');
    this.remove(key, entry);
    this.session.reply(m.id, {});
  }

  private remove(key: string, entry: Entry): void {
    entry.monitor.discardUpdates();
    entry.served.monitors.remove(entry.monitor);
    this.byId.delete(key);
  }

  /** Queues the monitor's pending messages; false if it had none after all (nothing it reports changed). */
  private flushEntry(entry: Entry): boolean {
    const conn = this.session.conn;
    let any = false;
    for (let text = entry.monitor.takeUpdate(); text !== null; text = entry.monitor.takeUpdate()) {
      conn.queue(text);
      any = true;
    }
    return any;
  }

  /**
   * Queues every pending update; `write` = false when a message is sent right after (a reply), which then
   * carries them in the same write. Returns whether anything was queued.
   */
  flushAll(write = true): boolean {
    let any = false;
    for (const entry of this.byId.values()) if (entry.monitor.hasUpdate && this.flushEntry(entry)) any = true;
    if (write && any) this.session.conn.flush();
    return any;
  }

  /** After a commit: this session's updates leave in the next output round. */
  commitApplied(served: ServedDatabase): void {
    if (this.scheduled || this.byId.size === 0) return;
    for (const entry of this.byId.values()) {
      if (entry.served === served && entry.monitor.hasUpdate) {
        this.scheduled = true;
        scheduleOutput(this);
        return;
      }
    }
  }

  /** @internal The output round; a backlogged connection takes its (merged) updates on 'drain' instead. */
  flushDeferred(): boolean {
    this.scheduled = false;
    return !this.session.conn.hasBacklog() && this.flushAll();
  }

  /** The database is going away: db-change-aware sessions are told with `monitor_canceled`. */
  cancelForDatabase(served: ServedDatabase): void {
    for (const [key, entry] of [...this.byId]) {
      if (entry.served !== served) continue;
      this.remove(key, entry);
      this.session.send(`{"id":null,"method":"monitor_canceled","params":[${stringify(entry.monitor.id as JsonValue)}]}`);
    }
  }

  closeAll(): void {
    for (const [key, entry] of [...this.byId]) this.remove(key, entry);
  }
}
