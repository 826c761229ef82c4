// The unixctl management server (ovs-reference §6.1, §6.3): JSON-RPC over a unix socket, one command
// request at a time per connection, replies are plain text. ovs-appctl is its client.

import fs from 'node:fs';
import net from 'node:net';
import type { JsonValue } from '../schema/json.ts';
import { shortUnixPath } from './jsonrpc-address.ts';
import { JsonRpcConnection, nextUnixSessionName, noLog, type JsonRpcMessage, type RpcLog } from './jsonrpc.ts';

/** Thrown (or rejected) by a handler to send an error reply with this text. */
export class UnixctlError extends Error {
  override name = 'UnixctlError';
}

/**
 * What a handler returns: success text, or { ok, text } (the shape vlog commands use). Throwing UnixctlError
 * (or any Error) sends an error reply with its message. A Promise defers the reply.
 */
export type UnixctlResult = string | { ok: boolean; text: string };
export type UnixctlHandler = (args: string[]) => UnixctlResult | Promise<UnixctlResult>;

export interface UnixctlCommand {
  name: string;
  /** null hides the command from list-commands. */
  usage: string | null;
  minArgs: number;
  maxArgs: number;
  handler: UnixctlHandler;
}

export interface UnixctlServerOptions {
  /** For the built-in `version` command: "<programName> (Open vSwitch) <version>". */
  programName?: string;
  version?: string;
  /** The whole `version` reply instead (e.g. with a second line naming ovsdb-ts). */
  versionText?: string;
  log?: RpcLog;
}

/** The text of `list-commands` for a set of commands (§6.3). */
export function formatCommandList(commands: Iterable<UnixctlCommand>): string {
  const visible = [...commands].filter((c) => c.usage !== null);
  visible.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let out = 'The available commands are:\n';
  for (const c of visible) out += `  ${c.name.padEnd(23, ' ')} ${c.usage}\n`;
  return out;
}

/** Reply texts end with a newline when non-empty (§6.1). */
function withNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : text + '\n';
}

export class UnixctlServer {
  private readonly commands = new Map<string, UnixctlCommand>();
  private readonly connections = new Set<JsonRpcConnection>();
  private server: net.Server | null = null;
  private socketPath: string | null = null;
  private readonly log: RpcLog;

  constructor(opts: UnixctlServerOptions = {}) {
    this.log = opts.log ?? noLog;
    const versionText = opts.versionText ?? `${opts.programName ?? 'ovsdb-server'} (Open vSwitch) ${opts.version ?? '3.1.0'}`;
    this.register('list-commands', '', 0, 0, () => formatCommandList(this.commands.values()));
    this.register('version', '', 0, 0, () => versionText);
  }

  /** Add (or replace) a command. maxArgs may be Infinity / Number.MAX_SAFE_INTEGER for "any number". */
  register(name: string, usage: string | null, minArgs: number, maxArgs: number, handler: UnixctlHandler): void {
    this.commands.set(name, { name, usage, minArgs, maxArgs, handler });
  }

  unregister(name: string): void {
    this.commands.delete(name);
  }

  has(name: string): boolean {
    return this.commands.has(name);
  }

  /** Path the server listens on, or null. */
  get path(): string | null {
    return this.socketPath;
  }

  /**
   * Listen on `path`. A stale (or even live) socket file there is unlinked first, as OVS does. Rejects with
   * the socket error (its message is the strerror-like text).
   */
  listen(path: string): Promise<void> {
    try {
      fs.unlinkSync(path);
    } catch {
      // absent is fine
    }
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      const short = shortUnixPath(path);
      server.once('error', (err) => {
        short.release();
        this.server = null;
        reject(err);
      });
      server.listen(short.path, () => {
        short.release();
        this.socketPath = path;
        resolve();
      });
    });
  }

  /** Stop listening, close every connection (flushing replies already sent), remove the socket file. */
  close(): Promise<void> {
    for (const c of this.connections) c.close();
    this.connections.clear();
    const server = this.server;
    const path = this.socketPath;
    this.server = null;
    this.socketPath = null;
    if (path !== null) {
      try {
        fs.unlinkSync(path);
      } catch {
        // already gone
      }
    }
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    const conn = new JsonRpcConnection(socket, { name: nextUnixSessionName(), log: this.log, transportEcho: false });
    this.connections.add(conn);
    // One request at a time: later ones wait until the current reply is sent.
    const queue: JsonRpcMessage[] = [];
    let busy = false;
    const pump = (): void => {
      while (!busy && queue.length > 0 && !conn.closed) {
        const m = queue.shift()!;
        if (m.type !== 'request') {
          this.log('unixctl', 'WARN', `${conn.name}: received unexpected ${m.type === 'notification' ? 'notification' : 'reply'} message`);
          conn.abort('Protocol error');
          return;
        }
        busy = true;
        void this.execute(m.method, m.params).then((r) => {
          busy = false;
          if (conn.closed) return;
          if (r.ok) conn.reply(m.id, r.text);
          else conn.replyError(m.id, r.text);
          pump();
        });
      }
    };
    conn.on('message', (m) => {
      queue.push(m);
      pump();
    });
    conn.on('close', () => this.connections.delete(conn));
  }

  /** Validate and run one command; never rejects. */
  async execute(method: string, params: JsonValue[]): Promise<{ ok: boolean; text: string }> {
    const cmd = this.commands.get(method);
    if (!cmd) {
      return {
        ok: false,
        text: `"${method}" is not a valid command (use "list-commands" to see a list of valid commands)\n`,
      };
    }
    if (params.length < cmd.minArgs) {
      return { ok: false, text: `"${method}" command requires at least ${cmd.minArgs} arguments\n` };
    }
    if (params.length > cmd.maxArgs) {
      return { ok: false, text: `"${method}" command takes at most ${cmd.maxArgs} arguments\n` };
    }
    if (!params.every((p) => typeof p === 'string')) {
      return { ok: false, text: `"${method}" command has non-string argument\n` };
    }
    try {
      const r = await cmd.handler(params as string[]);
      if (typeof r === 'string') return { ok: true, text: withNewline(r) };
      return { ok: r.ok, text: withNewline(r.text) };
    } catch (e) {
      if (!(e instanceof UnixctlError)) this.log('unixctl', 'ERR', `${method}: ${String(e instanceof Error ? e.stack : e)}`);
      return { ok: false, text: withNewline(e instanceof Error ? e.message : String(e)) };
    }
  }
}
