// Outgoing JSON-RPC connections (replication, tests, bench, appctl): connect to an OVS connection string,
// send requests and match replies by id, dispatch notifications, answer the peer's echo probes.

import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { JsonValue } from '../schema/json.ts';
import { parseConnectionMethod, shortUnixPath, unixSocketPath, type ConnectionMethod } from './jsonrpc-address.ts';
import { JsonRpcConnection, type JsonRpcConnectionOptions, type JsonRpcMessage, type JsonRpcRequest } from './jsonrpc.ts';

/** The peer answered with an error reply; `error` is its error member. */
export class JsonRpcRemoteError extends Error {
  override name = 'JsonRpcRemoteError';
  constructor(readonly error: JsonValue) {
    super(typeof error === 'string' ? error : JSON.stringify(error));
  }
}

/** The connection closed before the reply arrived. */
export class JsonRpcClosedError extends Error {
  override name = 'JsonRpcClosedError';
}

/**
 * Open a stream socket to an active connection method ("unix:PATH", "tcp:HOST:PORT", "tcp:[::1]:PORT").
 * Rejects with the socket error (its `code` is the errno name, e.g. ENOENT, ECONNREFUSED).
 */
export function connectSocket(target: string): Promise<net.Socket> {
  let m: ConnectionMethod;
  try {
    m = parseConnectionMethod(target);
  } catch (e) {
    return Promise.reject(e as Error);
  }
  // ssl: targets go through server/tls.ts connectRemote(), which knows the TLS settings.
  if (m.type === 'ssl') return Promise.reject(new Error(`${target}: SSL connections need the TLS settings (connectRemote)`));
  if (m.type !== 'unix' && m.type !== 'tcp') {
    return Promise.reject(new Error(`${target}: not an active connection method`));
  }
  const method = m;
  return new Promise((resolve, reject) => {
    let s: net.Socket;
    if ('path' in method) {
      const p = shortUnixPath(unixSocketPath(method.path));
      s = net.connect({ path: p.path });
      p.release(); // connect(2) already ran inside net.connect
    } else {
      s = net.connect({ host: method.host, port: method.port });
    }
    const onError = (err: Error): void => reject(err);
    s.once('error', onError);
    s.once('connect', () => {
      s.off('error', onError);
      resolve(s);
    });
  });
}

export interface JsonRpcClientOptions extends JsonRpcConnectionOptions {}

export interface JsonRpcClientEvents {
  notification: [method: string, params: JsonValue[]];
  /** A request from the peer other than echo; answer it with client.connection.reply(...). */
  request: [msg: JsonRpcRequest];
  close: [reason: string];
}

export class JsonRpcClient extends EventEmitter<JsonRpcClientEvents> {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: JsonValue) => void; reject: (e: Error) => void }>();
  private closeReason: string | null = null;

  /** Connect to `target` (see connectSocket); the peer name in logs defaults to the target string. */
  static async connect(target: string, opts: JsonRpcClientOptions = {}): Promise<JsonRpcClient> {
    const socket = await connectSocket(target);
    return new JsonRpcClient(new JsonRpcConnection(socket, { name: target, ...opts }));
  }

  constructor(readonly connection: JsonRpcConnection) {
    super();
    connection.on('message', (m) => this.onMessage(m));
    connection.on('close', (reason) => {
      this.closeReason = reason;
      const err = new JsonRpcClosedError(`connection closed (${reason})`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      this.emit('close', reason);
    });
  }

  get closed(): boolean {
    return this.closeReason !== null;
  }

  /** Send a request; resolves with its result, rejects with JsonRpcRemoteError or JsonRpcClosedError. */
  request(method: string, params: JsonValue[]): Promise<JsonValue> {
    if (this.closeReason !== null) {
      return Promise.reject(new JsonRpcClosedError(`connection closed (${this.closeReason})`));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.connection.request(method, params, id);
    });
  }

  notify(method: string, params: JsonValue[]): void {
    this.connection.notify(method, params);
  }

  close(): void {
    this.connection.close();
  }

  private onMessage(m: JsonRpcMessage): void {
    switch (m.type) {
      case 'notification':
        this.emit('notification', m.method, m.params);
        return;
      case 'request':
        this.emit('request', m);
        return;
      case 'reply':
      case 'error': {
        const p = typeof m.id === 'number' ? this.pending.get(m.id) : undefined;
        if (!p) return; // not ours: ignored, as the C client does
        this.pending.delete(m.id as number);
        if (m.type === 'reply') p.resolve(m.result);
        else p.reject(new JsonRpcRemoteError(m.error));
        return;
      }
    }
  }
}
