// Remotes (reference §1.2): passive listeners (punix:, ptcp:) whose accepted connections become sessions,
// and active ones (unix:, tcp:) that connect out, with backoff, and serve the peer as a client.
import fs from 'node:fs';
import net from 'node:net';
import { isTlsSocket, nodeTls, peerCommonName, TlsConfigError, type TlsSettings } from './tls.ts';
import { JsonRpcConnection, nextUnixSessionName, parseConnectionMethod, shortUnixPath } from './jsonrpc.ts';
import { Session } from './session.ts';
import type { OvsdbServer } from './server.ts';
import type { RpcLog } from './jsonrpc.ts';

export interface RemoteOptions {
  readOnly?: boolean;
  /** Inactivity probe in ms; undefined = the default for the transport. */
  probeInterval?: number;
  maxBackoff?: number;
  /** RBAC role of the sessions of this remote (OVN_Southbound). */
  role?: string;
}

export interface Remote {
  readonly target: string;
  close(): void;
  /** Listening port for ptcp (for status / tests). */
  boundPort(): number | null;
  /** Live sessions of this remote. */
  readonly sessions: Set<Session>;
}

export class RemoteError extends Error {}

/**
 * The largest JSON-RPC message a client may send, in bytes. The reference has no limit; ours defaults to
 * 256 MiB (a huge southbound transaction fits) and OVSDB_TS_MAX_MESSAGE_SIZE lowers or raises it.
 */
function maxMessageSize(): number | undefined {
  const v = Number(process.env['OVSDB_TS_MAX_MESSAGE_SIZE']);
  return Number.isInteger(v) && v > 0 ? v : undefined;
}

function attach(server: OvsdbServer, socket: net.Socket, name: string, opts: RemoteOptions, probeDefault: number, log: RpcLog, set: Set<Session>): Session {
  const conn = new JsonRpcConnection(socket, {
    name,
    log,
    probeInterval: opts.probeInterval ?? probeDefault,
    maxMessageSize: maxMessageSize(),
  });
  const peerCn = isTlsSocket(socket) ? peerCommonName(socket) : null;
  const s = new Session(server, conn, { readOnly: opts.readOnly, role: opts.role, peerId: peerCn ?? undefined });
  set.add(s);
  conn.on('close', () => set.delete(s));
  return s;
}

export function openRemote(server: OvsdbServer, target: string, opts: RemoteOptions, log: RpcLog, ssl?: TlsSettings): Remote {
  let m;
  try {
    m = parseConnectionMethod(target);
  } catch (e) {
    throw new RemoteError((e as Error).message);
  }
  const sessions = new Set<Session>();
  const path = 'path' in m ? m.path : '';
  const port = 'port' in m ? m.port : 0;
  const host = 'host' in m ? m.host : '';
  const secure = m.type === 'pssl' || m.type === 'ssl';
  const material = () => {
    if (!ssl) throw new RemoteError(`${target}: SSL remotes need --private-key, --certificate and --ca-cert`);
    try {
      return ssl.material();
    } catch (e) {
      if (e instanceof TlsConfigError) throw new RemoteError(`${target}: ${e.message}`);
      throw e;
    }
  };
  if (m.type === 'punix' || m.type === 'ptcp' || m.type === 'pssl') {
    const onSocket = (socket: net.Socket) => {
      const kind = m.type === 'pssl' ? 'ssl' : 'tcp';
      const name = m.type === 'punix' ? nextUnixSessionName() : `${kind}:${socket.remoteAddress}:${socket.remotePort}`;
      attach(server, socket, name, opts, m.type === 'punix' ? 0 : 5000, log, sessions);
    };
    let srv: net.Server;
    if (m.type === 'pssl') {
      const mat = material();
      const tsrv = nodeTls().createServer(ssl!.serverOptions(mat), onSocket);
      tsrv.on('connection', (raw: net.Socket) => {
        // Remember the peer: after a failed handshake the socket no longer knows it.
        (raw as net.Socket & { peerName?: string }).peerName = `ssl:${raw.remoteAddress}:${raw.remotePort}`;
      });
      tsrv.on('tlsClientError', (err, socket) => {
        const peer = (socket as net.Socket & { peerName?: string }).peerName ?? 'ssl';
        log('stream_ssl', 'WARN', `${peer}: SSL handshake failed (${err.message})`);
      });
      srv = tsrv;
    } else {
      srv = net.createServer({ noDelay: true, pauseOnConnect: false }, onSocket);
    }
    let closed = false;
    let release = () => {};
    const listen = () => {
      if (closed) return;
      if (m.type === 'punix') {
        // A stale (or even live) socket file is replaced, as the reference does.
        try {
          fs.unlinkSync(path);
        } catch {
          /* absent */
        }
        const p = shortUnixPath(path);
        release = p.release;
        srv.listen(p.path);
      } else {
        srv.listen(port, host);
      }
    };
    srv.on('listening', () => {
      release();
      if (m.type === 'ptcp' || m.type === 'pssl') {
        const addr = srv.address() as net.AddressInfo;
        if (port === 0) log('socket_util', 'INFO', `0:${host}: listening on port ${addr.port}`);
      }
    });
    srv.on('error', (err: NodeJS.ErrnoException) => {
      release();
      const what = err.code === 'EADDRINUSE' ? 'Address already in use' : err.message;
      if (m.type !== 'punix') log('socket_util', 'ERR', `${port}:${host}: bind: ${what}`);
      log('ovsdb_jsonrpc_server', 'ERR', `${target}: listen failed: ${what}`);
      // Not fatal: retry, as the reference does.
      setTimeout(listen, 1000).unref();
    });
    listen();
    return {
      target,
      sessions,
      close() {
        closed = true;
        srv.close();
        for (const s of sessions) s.conn.close();
        if (m.type === 'punix') {
          try {
            fs.unlinkSync(path);
          } catch {
            /* gone */
          }
        }
      },
      boundPort() {
        const a = srv.address();
        return a && typeof a === 'object' ? a.port : null;
      },
    };
  }
  if (m.type === 'unix' || m.type === 'tcp' || m.type === 'ssl') {
    // Active remote: connect out and serve the peer; reconnect with backoff 1 s → max_backoff.
    let closed = false;
    let backoff = 1000;
    const maxBackoff = opts.maxBackoff ?? 8000;
    let timer: NodeJS.Timeout | null = null;
    let current: Session | null = null;
    const connect = () => {
      if (closed) return;
      let sock: net.Socket;
      if (m.type === 'unix') {
        const p = shortUnixPath(path);
        sock = net.connect({ path: p.path });
        p.release();
      } else if (secure) {
        let mat;
        try {
          mat = material();
        } catch (e) {
          log('stream_ssl', 'ERR', (e as Error).message);
          schedule();
          return;
        }
        sock = nodeTls().connect({ ...ssl!.clientOptions(mat), host, port });
      } else {
        sock = net.connect({ host, port });
      }
      sock.once(secure ? 'secureConnect' : 'connect', () => {
        backoff = 1000;
        current = attach(server, sock, target, opts, m.type === 'unix' ? 0 : 5000, log, sessions);
        current.conn.on('close', () => {
          current = null;
          schedule();
        });
      });
      sock.once('error', (err: NodeJS.ErrnoException) => {
        if (current) return;
        log('reconnect', 'INFO', `${target}: connection attempt failed (${err.message})`);
        sock.destroy();
        schedule();
      });
    };
    const schedule = () => {
      if (closed || timer) return;
      timer = setTimeout(() => {
        timer = null;
        connect();
      }, backoff);
      timer.unref();
      backoff = Math.min(backoff * 2, maxBackoff);
    };
    connect();
    return {
      target,
      sessions,
      close() {
        closed = true;
        if (timer) clearTimeout(timer);
        current?.conn.close();
      },
      boundPort: () => null,
    };
  }
  throw new RemoteError(`${target}: unknown connection method`);
}
