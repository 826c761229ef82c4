// A small OVSDB JSON-RPC client for the load generator (RFC 7047 §4). It speaks the wire protocol itself so the
// benchmark never measures ovsdb-client. Messages on the stream are concatenated JSON texts with no delimiter,
// so a byte-level splitter finds where each top-level object ends.
import net from 'node:net';
import type { JsonValue } from '../../schema/json.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** Cuts a byte stream of concatenated JSON objects/arrays into one string per top-level value. */
export class JsonStreamSplitter {
  private parts: Buffer[] = [];
  private depth = 0;
  private inString = false;
  private escaped = false;

  /** Feeds one chunk; calls `emit` once per completed top-level value, in order. Throws on stray bytes. */
  push(chunk: Buffer, emit: (text: string) => void): void {
    let start = this.depth > 0 ? 0 : -1;
    let depth = this.depth;
    let inString = this.inString;
    let escaped = this.escaped;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      if (inString) {
        // Jump to the next quote natively, then decide from the backslashes right before it whether it ends
        // the string. Only bytes from i on count: an escape pending at i was consumed above.
        if (escaped) {
          escaped = false;
          continue;
        }
        const q = chunk.indexOf(QUOTE, i);
        const end = q === -1 ? n : q;
        let k = end - 1;
        while (k >= i && chunk[k] === BACKSLASH) k--;
        const odd = (end - 1 - k) % 2 === 1;
        if (q === -1) {
          escaped = odd;
          break;
        }
        if (!odd) inString = false;
        i = q;
        continue;
      }
      const c = chunk[i]!;
      if (c === QUOTE) {
        if (depth === 0) throw new Error('JSON-RPC stream: top-level value is not an object or array');
        inString = true;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (depth === 0) start = i;
        depth++;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) {
          const tail = chunk.subarray(start, i + 1);
          const whole = this.parts.length === 0 ? tail : Buffer.concat([...this.parts, tail]);
          this.parts = [];
          start = -1;
          emit(whole.toString('utf8'));
        } else if (depth < 0) {
          throw new Error('JSON-RPC stream: unbalanced closing bracket');
        }
      } else if (depth === 0 && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
        throw new Error(`JSON-RPC stream: unexpected byte 0x${c.toString(16)} between messages`);
      }
    }
    if (depth > 0) this.parts.push(start === 0 ? chunk : chunk.subarray(start));
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
  }

  /** Bytes held for a message that has not ended yet. */
  get pendingBytes(): number {
    let total = 0;
    for (const p of this.parts) total += p.length;
    return total;
  }
}

/** An error reply (`"error"` member not null) to one of our requests. */
export class RpcError extends Error {
  constructor(
    readonly method: string,
    readonly error: unknown,
  ) {
    super(`${method} failed: ${JSON.stringify(error)}`);
  }
}

/** Where a server listens: `unix:<path>` or `tcp:<host>:<port>` (ovsdb connection-method syntax). */
export type Endpoint = string;

interface Pending {
  method: string;
  resolve: (result: unknown) => void;
  reject: (err: Error) => void;
}

export type NotificationHandler = (method: string, params: unknown[]) => void;

interface WireMessage {
  id?: unknown;
  method?: unknown;
  params?: unknown;
  result?: unknown;
  error?: unknown;
}

export class RpcClient {
  private readonly pending = new Map<number, Pending>();
  private readonly splitter = new JsonStreamSplitter();
  private nextId = 1;
  private closedError: Error | null = null;
  private rawWaiter: { resolve: (text: string) => void; reject: (err: Error) => void } | null = null;
  /** Called for every notification (e.g. `update`, `update2`). */
  onNotification: NotificationHandler | null = null;
  /** Bytes received so far; the dump scenarios report reply sizes from this. */
  bytesIn = 0;
  readonly closed: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => {
      this.bytesIn += chunk.length;
      try {
        this.splitter.push(chunk, (text) => {
          const raw = this.rawWaiter;
          if (raw) {
            this.rawWaiter = null;
            raw.resolve(text);
          } else {
            this.dispatch(JSON.parse(text) as WireMessage);
          }
        });
      } catch (err) {
        this.fail(err instanceof Error ? err : new Error(String(err)));
        socket.destroy();
      }
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.fail(new Error('connection closed'));
        resolve();
      });
    });
    socket.on('error', (err) => this.fail(err));
  }

  static connect(endpoint: Endpoint, timeoutMs = 10_000): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      const socket = openSocket(endpoint);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect ${endpoint}: timed out`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RpcClient(socket));
      });
    });
  }

  /** Sends a request and resolves with its `result`; rejects with RpcError on an error reply. */
  request(method: string, params: JsonValue[]): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject });
      this.socket.write(JSON.stringify({ id, method, params }));
    });
  }

  /**
   * Sends a request and resolves with the undecoded text of the next message, so a huge reply can be timed
   * without the client's JSON.parse. Only for a connection with nothing else in flight and no monitors.
   */
  requestRaw(method: string, params: JsonValue[]): Promise<string> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (this.pending.size > 0 || this.rawWaiter) throw new Error('requestRaw needs an idle connection');
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.rawWaiter = { resolve, reject };
      this.socket.write(JSON.stringify({ id, method, params }));
    });
  }

  /** Runs one OVSDB transaction; rejects if any operation result carries an error. */
  async transact(db: string, ops: JsonValue[]): Promise<unknown[]> {
    const result = await this.request('transact', [db, ...ops]);
    if (!Array.isArray(result)) throw new RpcError('transact', result);
    for (const r of result) {
      if (r !== null && typeof r === 'object' && 'error' in r) throw new RpcError('transact', result);
    }
    return result;
  }

  /** Holds writes until `uncork`, so a burst of pipelined requests leaves in few segments. */
  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  get inFlight(): number {
    return this.pending.size;
  }

  close(): Promise<void> {
    this.socket.end();
    this.socket.destroy();
    return this.closed;
  }

  private dispatch(msg: WireMessage): void {
    if (msg.method !== undefined && msg.method !== null) {
      if (msg.id !== undefined && msg.id !== null) {
        // A server-originated request: only the inactivity probe exists (§2.5); answer it in kind.
        if (msg.method === 'echo') this.socket.write(JSON.stringify({ id: msg.id, result: msg.params, error: null }));
        return;
      }
      this.onNotification?.(String(msg.method), Array.isArray(msg.params) ? msg.params : []);
      return;
    }
    if (typeof msg.id !== 'number') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.error !== undefined && msg.error !== null) p.reject(new RpcError(p.method, msg.error));
    else p.resolve(msg.result);
  }

  private fail(err: Error): void {
    if (!this.closedError) this.closedError = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.rawWaiter?.reject(err);
    this.rawWaiter = null;
  }
}

function openSocket(endpoint: Endpoint): net.Socket {
  if (endpoint.startsWith('unix:')) return net.createConnection({ path: endpoint.slice(5) });
  if (endpoint.startsWith('tcp:')) {
    const rest = endpoint.slice(4);
    const colon = rest.lastIndexOf(':');
    return net.createConnection({ host: rest.slice(0, colon), port: Number(rest.slice(colon + 1)) });
  }
  throw new Error(`unsupported endpoint ${endpoint} (use unix:PATH or tcp:HOST:PORT)`);
}
