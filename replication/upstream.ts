// A reconnecting JSON-RPC session towards an upstream server, shared by the backup's Replicator and the
// relay's client: one remote or a list tried in turn, the reconnect back-off of OVS's reconnect FSM, request
// ids matched to reply handlers per connection, and the reference's `-vjsonrpc:dbg` message trace.
//
// Back-off (as OVS's jsonrpc_session with several remotes): every remote gets one free try (no wait) after a
// failure; then 1 s, doubling to 8 s. One difference, kept from the backup: a connection that lived at
// least 1 s and as long as the current back-off reconnects at once when it drops (the reference waits 1 s).
import type net from 'node:net';
import { stringify, type JsonValue } from '../schema/json.ts';
import {
  connectSocket,
  JsonRpcConnection,
  type JsonRpcErrorReply,
  type JsonRpcMessage,
  type JsonRpcReply,
  type RpcLog,
} from '../server/jsonrpc.ts';

export const MIN_BACKOFF_MS = 1000;
export const MAX_BACKOFF_MS = 8000;

const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ENOENT: 'No such file or directory',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  EACCES: 'Permission denied',
  ECONNRESET: 'Connection reset by peer',
};

export type ReplyHandler = (msg: JsonRpcReply | JsonRpcErrorReply) => void;

export interface UpstreamHandler {
  /** A connection is up (a new one each time): start the handshake on it. */
  connected(target: string, conn: JsonRpcConnection): void;
  /** A notification, a request, or a reply no handler was registered for. */
  message(msg: JsonRpcMessage): void;
  /** The connection went away; reply handlers registered on it are dropped. */
  disconnected(target: string): void;
  /** A connection attempt failed (the session retries on its own). */
  connectFailed?(target: string): void;
}

export interface UpstreamSessionOptions {
  /** Connection methods tried in this order, round robin. */
  readonly remotes: readonly string[];
  readonly handler: UpstreamHandler;
  readonly log: RpcLog;
  /** Inactivity probe for a target, ms (0 = off). */
  readonly probeInterval: (target: string) => number;
  /** Opens a connection (default: unix:/tcp:; callers pass one that adds ssl:). */
  readonly connect?: (target: string) => Promise<net.Socket>;
  /** True when every message should be logged at jsonrpc DBG (`-vjsonrpc:dbg`). */
  readonly trace?: () => boolean;
}

type State = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closed';

export class UpstreamSession {
  private state: State = 'idle';
  private conn: JsonRpcConnection | null = null;
  private currentTarget: string | null = null;
  private nextRemote = 0;
  private backoff = 0;
  private freeTries: number;
  private connectedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private handlers = new Map<number, ReplyHandler>();

  constructor(private readonly opts: UpstreamSessionOptions) {
    this.freeTries = Math.max(1, opts.remotes.length);
  }

  /** The remote of the current (or last attempted) connection. */
  get target(): string | null {
    return this.currentTarget;
  }

  get isConnected(): boolean {
    return this.state === 'connected';
  }

  get connection(): JsonRpcConnection | null {
    return this.conn;
  }

  start(): void {
    if (this.state === 'idle') this.connectNext();
  }

  close(): void {
    this.state = 'closed';
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const c = this.conn;
    this.conn = null;
    this.handlers.clear();
    c?.close();
  }

  /** Sends a request on the current connection; returns its id, or null when not connected. */
  request(method: string, params: JsonValue[], onReply?: ReplyHandler): number | null {
    const conn = this.conn;
    if (conn === null || this.state !== 'connected') return null;
    const id = this.nextId++;
    if (onReply) this.handlers.set(id, onReply);
    this.trace(conn, 'send request', method, params, undefined, id);
    conn.request(method, params, id);
    return id;
  }

  notify(method: string, params: JsonValue[]): void {
    const conn = this.conn;
    if (conn === null || this.state !== 'connected') return;
    this.trace(conn, 'send notification', method, params);
    conn.notify(method, params);
  }

  /** Gives every remote a free (immediate) try again, as after reaching a useful state. */
  resetBackoff(): void {
    this.freeTries = this.opts.remotes.length + (this.state === 'connected' ? 1 : 0);
  }

  /** Drops the current connection and moves on to the next remote. */
  forceReconnect(resetBackoff: boolean): void {
    if (resetBackoff) this.resetBackoff();
    const c = this.conn;
    if (c === null || this.state !== 'connected') return;
    this.dropped(c, null);
    c.close();
  }

  setProbeInterval(ms: number): void {
    this.conn?.setProbeInterval(ms);
  }

  private log(level: 'ERR' | 'WARN' | 'INFO' | 'DBG', msg: string, module = 'reconnect'): void {
    this.opts.log(module, level, msg);
  }

  private connectNext(): void {
    if (this.state === 'closed') return;
    const remotes = this.opts.remotes;
    // The reference opens "invalid:" for an empty list: it never connects.
    if (remotes.length === 0) {
      this.state = 'backoff';
      return;
    }
    const target = remotes[this.nextRemote++ % remotes.length];
    this.currentTarget = target;
    this.state = 'connecting';
    this.log('INFO', `${target}: connecting...`);
    (this.opts.connect ?? connectSocket)(target).then(
      (socket) => this.onSocket(target, socket),
      (err: NodeJS.ErrnoException) => {
        if (this.state === 'closed') return;
        if (this.backoff < MAX_BACKOFF_MS) {
          const why = (err.code && ERRNO_TEXT[err.code]) ?? err.message;
          this.log('INFO', `${target}: connection attempt failed (${why})`);
        }
        this.opts.handler.connectFailed?.(target);
        this.retry(false);
      },
    );
  }

  private onSocket(target: string, socket: net.Socket): void {
    if (this.state === 'closed') {
      socket.destroy();
      return;
    }
    this.log('INFO', `${target}: connected`);
    const conn = new JsonRpcConnection(socket, {
      name: target,
      log: this.opts.log,
      probeInterval: this.opts.probeInterval(target),
    });
    this.conn = conn;
    this.state = 'connected';
    this.connectedAt = Date.now();
    this.handlers.clear();
    conn.on('message', (m) => {
      if (this.conn === conn) this.onMessage(conn, m);
    });
    conn.on('close', (reason) => {
      if (this.conn !== conn) return;
      this.dropped(conn, reason);
    });
    this.opts.handler.connected(target, conn);
  }

  /** The connection is gone (reason null: we dropped it on purpose). */
  private dropped(conn: JsonRpcConnection, reason: string | null): void {
    if (this.conn !== conn) return;
    this.conn = null;
    this.handlers.clear();
    const target = this.currentTarget ?? '';
    if (reason === 'EOF') this.log('INFO', `${target}: connection closed by peer`);
    else if (reason !== null && reason !== 'closed') this.log('WARN', `${target}: connection dropped (${reason})`);
    if (this.state === 'closed') return;
    this.opts.handler.disconnected(target);
    // The handler may have closed the session.
    if ((this.state as State) === 'closed') return;
    this.retry(true);
  }

  private retry(wasConnected: boolean): void {
    if (this.state === 'closed') return;
    if (this.freeTries > 1) {
      this.freeTries--;
      this.backoff = 0;
    } else if (wasConnected && Date.now() - this.connectedAt >= Math.max(this.backoff, MIN_BACKOFF_MS)) {
      this.backoff = 0;
    } else if (this.backoff < MIN_BACKOFF_MS) {
      this.backoff = MIN_BACKOFF_MS;
    } else if (this.backoff < MAX_BACKOFF_MS / 2) {
      this.backoff *= 2;
      this.log('INFO', `${this.currentTarget}: waiting ${this.backoff / 1000} seconds before reconnect`);
    } else {
      if (this.backoff < MAX_BACKOFF_MS) {
        this.log('INFO', `${this.currentTarget}: continuing to reconnect in the background but suppressing further logging`);
      }
      this.backoff = MAX_BACKOFF_MS;
    }
    this.state = 'backoff';
    if (this.backoff === 0) {
      queueMicrotask(() => {
        if (this.state === 'backoff') this.connectNext();
      });
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.state === 'backoff') this.connectNext();
    }, this.backoff);
  }

  private onMessage(conn: JsonRpcConnection, m: JsonRpcMessage): void {
    if (this.opts.trace?.()) {
      switch (m.type) {
        case 'request':
          this.trace(conn, 'received request', m.method, m.params, undefined, m.id);
          break;
        case 'notification':
          this.trace(conn, 'received notification', m.method, m.params);
          break;
        case 'reply':
          this.trace(conn, 'received reply', undefined, undefined, { result: m.result }, m.id);
          break;
        case 'error':
          this.trace(conn, 'received error', undefined, undefined, { error: m.error }, m.id);
          break;
      }
    }
    if ((m.type === 'reply' || m.type === 'error') && typeof m.id === 'number') {
      const h = this.handlers.get(m.id);
      if (h !== undefined) {
        this.handlers.delete(m.id);
        h(m);
        return;
      }
    }
    this.opts.handler.message(m);
  }

  /** The reference's jsonrpc DBG line: "NAME: send request, method="m", params=[…], id=N". */
  private trace(
    conn: JsonRpcConnection,
    title: string,
    method?: string,
    params?: JsonValue[],
    body?: { result: JsonValue } | { error: JsonValue },
    id?: JsonValue,
  ): void {
    if (!this.opts.trace?.()) return;
    let s = '';
    if (method !== undefined) s += `, method="${method}"`;
    if (params !== undefined) s += `, params=${stringify(params)}`;
    if (body !== undefined) s += 'result' in body ? `, result=${stringify(body.result)}` : `, error=${stringify(body.error)}`;
    if (id !== undefined) s += `, id=${stringify(id)}`;
    this.log('DBG', `${conn.name}: ${title}${s}`, 'jsonrpc');
  }
}
