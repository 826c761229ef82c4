// Raft sessions on the wire (raft.md §2.1): a listener on the passive form of the member's own address, one
// outgoing, auto-reconnecting session per other configured server (and per remote while joining), and any
// number of incoming sessions, which only the other side closes. Every Raft message is a JSON-RPC 1.0
// notification; a message to server X goes out on the first connected session whose peer is X, whichever
// side opened it. This is the I/O edge of the Raft member: it knows nothing of terms or logs. The codec is
// injected so that framing stays here and message shapes stay in raft/rpc.ts.
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import type { JsonValue } from '../schema/json.ts';
import { CHUNK_TUNING } from '../schema/json-chunked.ts';
import { JsonRpcConnection, parseConnectionMethod, shortUnixPath, type RpcLog } from '../server/jsonrpc.ts';
import type { TlsSettings } from '../server/tls.ts';
import type { RaftMessage, Uuid } from './types.ts';

export interface RaftCodec {
  /** A received notification's method and params → message, or the error text logged as `<peer>: <text>`. */
  decode(method: string, params: JsonValue[]): RaftMessage | string;
  /** The whole notification text `{"id":null,"method":…,"params":[{…}]}`. */
  encode(msg: RaftMessage): string;
  /**
   * For a message whose text takes long to make: a promise that settles once encode() is quick (the work
   * done over several event-loop turns); null for the others.
   */
  prepare?(msg: RaftMessage): Promise<void> | null;
}

export interface RaftTransportOptions {
  /** This member's Raft address (`tcp:IP:PORT`, `ssl:IP:PORT`, `unix:PATH`). */
  readonly localAddress: string;
  readonly codec: RaftCodec;
  readonly log: RpcLog;
  /** The process-wide SSL settings (read when a session or the listener needs them). */
  readonly ssl?: () => TlsSettings | undefined;
  /** Inactivity probe (election timer + 1000 ms); a session silent for twice this is dropped. */
  readonly probeIntervalMs: number;
  /** A decoded message arrived on `session`. */
  onMessage(session: RaftSession, msg: RaftMessage): void;
  /** A session connected: every incoming one, and an outgoing one each time it (re)connects. */
  onConnected(session: RaftSession): void;
  /** An outgoing session lost its connection (it reconnects with backoff). */
  onDisconnected(session: RaftSession): void;
  /** A session is gone for good: an incoming one closed, or an outgoing one no longer wanted. */
  onClosed(session: RaftSession): void;
}

/** The backlog beyond which a session is dropped and re-established (cluster/set-backlog-threshold). */
export interface BacklogThreshold {
  readonly messages: number;
  readonly bytes: number;
}
export const DEFAULT_BACKLOG: BacklogThreshold = { messages: 500, bytes: 4294967295 };

/** The short name of a server in logs and cluster/status: a unix socket's base name, else 4 hex digits of its sid. */
export function nickname(sid: Uuid | null, address: string | null): string {
  if (address !== null && address.startsWith('unix:')) {
    const base = path.basename(address.slice(5));
    const dot = base.indexOf('.');
    return dot < 0 ? base : base.slice(0, dot);
  }
  return sid === null ? '0000' : sid.slice(0, 4);
}

/** `tcp:IP:PORT` → `ptcp:PORT:IP`, `ssl:` → `pssl:`, `unix:P` → `punix:P`. */
export function passiveAddress(address: string): string {
  const m = parseConnectionMethod(address);
  switch (m.type) {
    case 'unix':
      return `punix:${m.path}`;
    case 'tcp':
    case 'ssl': {
      const host = m.host.includes(':') ? `[${m.host}]` : m.host;
      return `p${m.type}:${m.port}:${host}`;
    }
    default:
      throw new Error(`${address}: not a Raft address`);
  }
}

let nextSessionId = 1;

export class RaftSession {
  /** The core's handle on this session. */
  readonly id = nextSessionId++;
  /** Known from the configuration (outgoing to a configured server); otherwise null. */
  readonly peerSid: Uuid | null;
  /** Fixed at creation; hello_request and add_server_request (which carry an address) update it. */
  nickname: string;
  conn: JsonRpcConnection | null = null;
  /** Messages written while the socket had a backlog. */
  backlogMessages = 0;
  /** Messages waiting behind one whose text is still being made (a snapshot), for `conn`; null: none. */
  outQueue: { readonly conn: JsonRpcConnection; readonly items: (string | Promise<string>)[] } | null = null;

  constructor(
    readonly outgoing: boolean,
    /** Outgoing: the address it connects to. Incoming: null. */
    readonly address: string | null,
    peerSid: Uuid | null,
  ) {
    this.peerSid = peerSid;
    this.nickname = peerSid === null ? '0000' : nickname(peerSid, address);
  }

  get connected(): boolean {
    return this.conn !== null && !this.conn.closed;
  }

  /** `->s2`, `<-s2`, `(->s2)` when not connected. */
  describe(): string {
    const s = (this.outgoing ? '->' : '<-') + this.nickname;
    return this.connected ? s : `(${s})`;
  }
}

interface Outgoing {
  readonly session: RaftSession;
  timer: NodeJS.Timeout | null;
  backoff: number;
  closed: boolean;
}

export class RaftTransport {
  /** Creation order: a message goes out on the first connected session with the peer's sid. */
  private readonly sessions: RaftSession[] = [];
  private readonly byId = new Map<number, RaftSession>();
  /** Outgoing sessions by target address. */
  private readonly outgoing = new Map<string, Outgoing>();
  private server: net.Server | null = null;
  private listenTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private probeIntervalMs: number;
  private backlog: BacklogThreshold = DEFAULT_BACKLOG;
  /** Sessions closed since start (cluster/status `Disconnections:`). */
  disconnections = 0;
  private lastListenError = '';

  constructor(private readonly opts: RaftTransportOptions) {
    this.probeIntervalMs = opts.probeIntervalMs;
  }

  /** Starts listening on the passive form of the local address (retried every second while it fails). */
  listen(): void {
    const paddr = passiveAddress(this.opts.localAddress);
    const m = parseConnectionMethod(paddr);
    const onSocket = (socket: net.Socket) => this.accept(socket);
    let srv: net.Server;
    if (m.type === 'pssl') {
      const ssl = this.opts.ssl?.();
      if (!ssl) {
        this.opts.log('raft', 'ERR', `${paddr}: listen failed (SSL needs --private-key, --certificate and --ca-cert)`);
        return;
      }
      srv = tls.createServer(ssl.serverOptions(ssl.material()), onSocket);
    } else {
      srv = net.createServer({ noDelay: true }, onSocket);
    }
    this.server = srv;
    let release = () => {};
    const start = () => {
      this.listenTimer = null;
      if (this.closed) return;
      if (m.type === 'punix') {
        try {
          fs.unlinkSync(m.path);
        } catch {
          /* absent */
        }
        const p = shortUnixPath(m.path);
        release = p.release;
        srv.listen(p.path);
      } else if (m.type === 'ptcp' || m.type === 'pssl') {
        srv.listen(m.port, m.host);
      }
    };
    srv.on('listening', () => release());
    srv.on('error', (err: NodeJS.ErrnoException) => {
      release();
      const what = err.code === 'EADDRINUSE' ? 'Address already in use' : err.message;
      // Rate-limited as the reference: once per distinct error.
      if (what !== this.lastListenError) this.opts.log('raft', 'WARN', `${paddr}: listen failed (${what})`);
      this.lastListenError = what;
      if (!this.closed) this.listenTimer = setTimeout(start, 1000);
    });
    start();
  }

  /** The bound TCP port (tests with port 0), or null. */
  boundPort(): number | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : null;
  }

  /**
   * The outgoing sessions wanted now: configured servers other than this one (sid known) and, while joining,
   * the remotes (sid unknown). Sessions to addresses no longer wanted are closed.
   */
  setTargets(targets: ReadonlyMap<string, Uuid | null>, keepAll = false): void {
    for (const [address, out] of this.outgoing) {
      if (targets.has(address) || keepAll) continue;
      this.closeOutgoing(out);
      this.outgoing.delete(address);
    }
    for (const [address, sid] of targets) {
      if (this.outgoing.has(address)) continue;
      const session = new RaftSession(true, address, sid);
      const out: Outgoing = { session, timer: null, backoff: 1000, closed: false };
      this.outgoing.set(address, out);
      this.add(session);
      this.connect(out);
    }
  }

  setProbeInterval(ms: number): void {
    this.probeIntervalMs = ms;
    for (const s of this.sessions) s.conn?.setProbeInterval(ms);
  }

  setBacklogThreshold(t: BacklogThreshold): void {
    this.backlog = t;
  }

  /**
   * Sends on the session with this id (the core routes by peer); false when it is not connected. A message
   * whose text takes long to make (install_snapshot_request: the snapshot serialized over several turns,
   * codec.prepare) leaves when it is ready, and the session's later messages after it.
   */
  send(id: number, msg: RaftMessage): boolean {
    const s = this.byId.get(id);
    if (s === undefined || !s.connected) return false;
    const slow = this.opts.codec.prepare?.(msg) ?? null;
    if (s.outQueue === null && slow === null) {
      this.write(s, this.opts.codec.encode(msg));
      return true;
    }
    const item = slow === null ? this.opts.codec.encode(msg) : slow.then(() => this.opts.codec.encode(msg));
    if (s.outQueue !== null) s.outQueue.items.push(item);
    else {
      s.outQueue = { conn: s.conn!, items: [item] };
      void this.drainOut(s);
    }
    return true;
  }

  private async drainOut(s: RaftSession): Promise<void> {
    const q = s.outQueue!;
    while (q.items.length > 0) {
      let text: string;
      try {
        text = await q.items.shift()!;
      } catch (e) {
        this.opts.log('raft', 'ERR', `${s.nickname}: cannot encode message (${(e as Error).message})`);
        continue;
      }
      // Meant for that connection: after a reconnect the core starts over (it resends what matters).
      if (s.conn === q.conn && s.connected) this.write(s, text);
    }
    s.outQueue = null;
  }

  /** The cluster/status `Connections:` items, in creation order. */
  connectionsLine(): string {
    return this.sessions.map((s) => ' ' + s.describe()).join('');
  }

  /** Connected sessions (memory/show `raft-connections`). */
  connectedCount(): number {
    let n = 0;
    for (const s of this.sessions) if (s.connected) n++;
    return n;
  }

  close(): void {
    this.closed = true;
    if (this.listenTimer) clearTimeout(this.listenTimer);
    this.server?.close();
    this.server = null;
    for (const out of this.outgoing.values()) this.closeOutgoing(out);
    this.outgoing.clear();
    for (const s of this.sessions) s.conn?.close();
    this.sessions.length = 0;
    this.byId.clear();
    const m = parseConnectionMethod(this.opts.localAddress);
    if (m.type === 'unix') {
      try {
        fs.unlinkSync(m.path);
      } catch {
        /* gone */
      }
    }
  }

  // -----------------------------------------------------------------------------------------------------------

  private write(s: RaftSession, text: string): void {
    const conn = s.conn!;
    if (conn.hasBacklog()) {
      s.backlogMessages++;
      const bytes = conn.socket.writableLength;
      if (s.backlogMessages > this.backlog.messages || bytes > this.backlog.bytes) {
        this.opts.log('raft', 'INFO', `${s.nickname}: backlog too large (${s.backlogMessages} messages, ${bytes} bytes), reconnecting`);
        conn.abort('backlog');
        return;
      }
    }
    conn.sendRaw(text);
  }

  private attach(s: RaftSession, socket: net.Socket, name: string): void {
    const conn = new JsonRpcConnection(socket, {
      name,
      log: this.opts.log,
      probeInterval: this.probeIntervalMs,
      maxMessageSize: Number.POSITIVE_INFINITY, // the client-message cap does not apply to Raft (snapshots)
      // A snapshot (install_snapshot_request) or a long append_request is parsed over several turns.
      chunkedParseChars: CHUNK_TUNING.minChars,
    });
    s.conn = conn;
    s.backlogMessages = 0;
    conn.on('drain', () => {
      s.backlogMessages = 0;
    });
    conn.on('message', (m) => {
      if (m.type !== 'notification') {
        this.opts.log('raft', 'INFO', `${name}: expecting notify RPC but received ${m.type === 'request' ? 'request' : 'reply'}`);
        return;
      }
      const msg = this.opts.codec.decode(m.method, m.params);
      if (typeof msg === 'string') {
        this.opts.log('raft', 'INFO', `${name}: ${msg}`);
        return;
      }
      if (msg.type === 'hello_request' || msg.type === 'add_server_request') {
        const nick = nickname(msg.from, msg.address);
        if (nick !== s.nickname && !s.outgoing) {
          this.opts.log('raft', 'INFO', `${name}: learned remote address ${msg.address}`);
          s.nickname = nick;
        }
      }
      this.opts.onMessage(s, msg);
    });
    conn.on('close', () => {
      if (s.conn === conn) s.conn = null;
      this.disconnections++;
      if (this.closed) return;
      if (!s.outgoing) {
        this.remove(s);
        this.opts.onClosed(s);
        return;
      }
      const out = s.address !== null ? this.outgoing.get(s.address) : undefined;
      if (out !== undefined && out.session === s) {
        this.opts.onDisconnected(s);
        this.scheduleReconnect(out);
      }
    });
  }

  private add(s: RaftSession): void {
    this.sessions.push(s);
    this.byId.set(s.id, s);
  }

  private remove(s: RaftSession): void {
    const i = this.sessions.indexOf(s);
    if (i >= 0) this.sessions.splice(i, 1);
    this.byId.delete(s.id);
  }

  private accept(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const s = new RaftSession(false, null, null);
    this.add(s);
    const name = socket.remoteAddress ? `tcp:${socket.remoteAddress}:${socket.remotePort}` : 'unix';
    this.attach(s, socket, name);
    this.opts.onConnected(s);
  }

  private connect(out: Outgoing): void {
    if (out.closed || this.closed) return;
    const address = out.session.address!;
    let m;
    try {
      m = parseConnectionMethod(address);
    } catch (e) {
      this.opts.log('raft', 'ERR', `${address}: ${(e as Error).message}`);
      return;
    }
    let sock: net.Socket;
    if (m.type === 'unix') {
      const p = shortUnixPath(m.path);
      sock = net.connect({ path: p.path });
      p.release();
    } else if (m.type === 'ssl') {
      const ssl = this.opts.ssl?.();
      if (!ssl) {
        this.opts.log('raft', 'ERR', `${address}: SSL needs --private-key, --certificate and --ca-cert`);
        this.scheduleReconnect(out);
        return;
      }
      sock = tls.connect({ ...ssl.clientOptions(ssl.material()), host: m.host, port: m.port });
    } else if (m.type === 'tcp') {
      sock = net.connect({ host: m.host, port: m.port });
    } else {
      return;
    }
    let attached = false;
    sock.once(m.type === 'ssl' ? 'secureConnect' : 'connect', () => {
      if (out.closed) {
        sock.destroy();
        return;
      }
      attached = true;
      out.backoff = 1000;
      this.attach(out.session, sock, address);
      this.opts.onConnected(out.session);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      if (attached) return;
      this.opts.log('reconnect', 'DBG', `${address}: connection attempt failed (${err.message})`);
      sock.destroy();
      this.scheduleReconnect(out);
    });
  }

  private scheduleReconnect(out: Outgoing): void {
    if (out.closed || this.closed || out.timer) return;
    out.timer = setTimeout(() => {
      out.timer = null;
      this.connect(out);
    }, out.backoff);
    out.backoff = Math.min(out.backoff * 2, 8000);
  }

  private closeOutgoing(out: Outgoing): void {
    out.closed = true;
    if (out.timer) clearTimeout(out.timer);
    out.timer = null;
    out.session.conn?.close();
    this.remove(out.session);
    if (!this.closed) this.opts.onClosed(out.session);
  }
}
