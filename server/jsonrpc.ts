// JSON-RPC 1.0 as Open vSwitch speaks it (ovs-reference §2): message model, validation, exact emission,
// and a connection over a net.Socket with echo handling, inactivity probe and backpressure.

import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { parseJson, stringify, stringifyHashed, type JsonValue } from '../schema/json.ts';
import { parseJsonChunked } from '../schema/json-chunked.ts';
import { JsonStreamSplitter, DEFAULT_MAX_MESSAGE_SIZE } from './jsonrpc-stream.ts';
import { CLOSED_CONNECTION_BYTES, LARGE_MESSAGE_CHARS, noteLargeMessage, noteTraffic } from './traffic.ts';

export { JsonStreamSplitter, JsonFramingError, DEFAULT_MAX_MESSAGE_SIZE } from './jsonrpc-stream.ts';
export type { MessageSink } from './jsonrpc-stream.ts';
export { JsonRpcClient, JsonRpcRemoteError, JsonRpcClosedError, connectSocket } from './jsonrpc-client.ts';
export type { JsonRpcClientOptions } from './jsonrpc-client.ts';
export { parseConnectionMethod, DEFAULT_OVSDB_PORT, shortUnixPath, setUnixSocketMode, ovsRundir } from './jsonrpc-address.ts';
export type { ConnectionMethod } from './jsonrpc-address.ts';

// ---------------------------------------------------------------------------------------------------------
// Message model

export type JsonRpcRequest = { type: 'request'; method: string; params: JsonValue[]; id: JsonValue };
export type JsonRpcNotification = { type: 'notification'; method: string; params: JsonValue[] };
export type JsonRpcReply = { type: 'reply'; result: JsonValue; id: JsonValue };
export type JsonRpcErrorReply = { type: 'error'; error: JsonValue; id: JsonValue };
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcReply | JsonRpcErrorReply;

const MEMBERS = ['method', 'params', 'result', 'error', 'id'] as const;
type Member = (typeof MEMBERS)[number];
// Per type: required ('R') and forbidden ('F') members, checked in MEMBERS order.
const RULES: Record<JsonRpcMessage['type'], Record<Member, 'R' | 'F' | ''>> = {
  request: { method: 'R', params: 'R', result: 'F', error: 'F', id: 'R' },
  notification: { method: 'R', params: 'R', result: 'F', error: 'F', id: 'F' },
  reply: { method: 'F', params: 'F', result: 'R', error: 'F', id: 'R' },
  error: { method: 'F', params: 'F', result: 'F', error: 'R', id: 'R' },
};

/**
 * Classify and validate a received JSON value (§2.2). Returns the message, or the error text OVS logs after
 * "received bad JSON-RPC message: ". JSON null counts as absent for params, result, error and id.
 */
export function classifyMessage(v: JsonValue): JsonRpcMessage | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'message is not a JSON object';
  const method = v['method'];
  if (method !== undefined && typeof method !== 'string') return 'method is not a JSON string';
  for (const k in v) {
    if (k !== 'method' && k !== 'params' && k !== 'result' && k !== 'error' && k !== 'id') {
      return `message has unexpected member "${k}"`;
    }
  }
  const params = v['params'];
  const hasParams = params !== undefined && params !== null;
  if (hasParams && !Array.isArray(params)) return '"params" must be JSON array';
  const result = v['result'];
  const error = v['error'];
  const id = v['id'];
  const present: Record<Member, boolean> = {
    method: method !== undefined,
    params: hasParams,
    result: result !== undefined && result !== null,
    error: error !== undefined && error !== null,
    id: id !== undefined && id !== null,
  };
  const type: JsonRpcMessage['type'] = present.result
    ? 'reply'
    : present.error
      ? 'error'
      : present.id
        ? 'request'
        : 'notification';
  const rules = RULES[type];
  for (const m of MEMBERS) {
    if (rules[m] === 'R' && !present[m]) return `${type} must have "${m}"`;
    if (rules[m] === 'F' && present[m]) return `${type} must not have "${m}"`;
  }
  switch (type) {
    case 'request':
      return { type, method: method as string, params: params as JsonValue[], id: id as JsonValue };
    case 'notification':
      return { type, method: method as string, params: params as JsonValue[] };
    case 'reply':
      return { type, result: result as JsonValue, id: id as JsonValue };
    case 'error':
      return { type, error: error as JsonValue, id: id as JsonValue };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Emission (§2.3): exactly these members, in this order. The *Raw forms take pre-serialized JSON text so one
// serialization can be sent to many sessions.

export function encodeReplyRaw(id: JsonValue, resultText: string): string {
  return '{"id":' + stringify(id) + ',"result":' + resultText + ',"error":null}';
}
export function encodeReply(id: JsonValue, result: JsonValue): string {
  return encodeReplyRaw(id, stringify(result));
}
export function encodeErrorReply(id: JsonValue, error: JsonValue): string {
  return '{"id":' + stringify(id) + ',"error":' + stringify(error) + '}';
}
export function encodeNotificationRaw(method: string, paramsText: string): string {
  return '{"id":null,"method":' + JSON.stringify(method) + ',"params":' + paramsText + '}';
}
export function encodeNotification(method: string, params: JsonValue[]): string {
  return encodeNotificationRaw(method, stringify(params));
}
export function encodeRequest(method: string, params: JsonValue[], id: JsonValue): string {
  return '{"id":' + stringify(id) + ',"method":' + JSON.stringify(method) + ',"params":' + stringify(params) + '}';
}
export function encodeMessage(m: JsonRpcMessage): string {
  switch (m.type) {
    case 'request':
      return encodeRequest(m.method, m.params, m.id);
    case 'notification':
      return encodeNotification(m.method, m.params);
    case 'reply':
      return encodeReply(m.id, m.result);
    case 'error':
      return encodeErrorReply(m.id, m.error);
  }
}

/** The inactivity probe a session sends after P ms of silence. */
export const ECHO_PROBE_TEXT = '{"id":"echo","method":"echo","params":[]}';

// ---------------------------------------------------------------------------------------------------------
// Logging hook

export type RpcLogLevel = 'ERR' | 'WARN' | 'INFO' | 'DBG';
/**
 * Log sink: module is the OVS module name ("jsonrpc", "reconnect", "unixctl"), message includes the peer.
 * `debugOn(module)` says whether that module's DBG lines go anywhere; it is asked per message before any
 * debug line is formatted, so it must be cheap (absent: never).
 */
export type RpcLog = ((module: string, level: RpcLogLevel, message: string) => void) & {
  debugOn?: (module: string) => boolean;
};
export const noLog: RpcLog = () => {};
const never = (): boolean => false;

/**
 * A message as the reference's `-vjsonrpc:dbg` lines show it: `request, method="m", params=[…], id=1`,
 * `reply, result=…, id=1`, `notification, method="update2", params=[…]`, `error, error=…, id=1` (`reply,
 * error=…` for one we send). JSON as
 * `json` writes it (the wire text for what we send, the reference's re-serialization for what we read).
 */
export function describeMessage(m: JsonRpcMessage, json: (v: JsonValue) => string, sent = false): string {
  // The reference makes its error replies as "reply" messages that carry an error.
  let s: string = sent && m.type === 'error' ? 'reply' : m.type;
  if (m.type === 'request' || m.type === 'notification') s += `, method="${m.method}", params=${json(m.params)}`;
  if (m.type === 'reply') s += `, result=${json(m.result)}`;
  if (m.type === 'error') s += `, error=${json(m.error)}`;
  if (m.type !== 'notification') s += `, id=${json(m.id)}`;
  return s;
}

let unixSessionCounter = 0;
/** "unix#N": OVS names accepted unix-socket sessions with one process-wide counter. */
export function nextUnixSessionName(): string {
  return `unix#${unixSessionCounter++}`;
}

// ---------------------------------------------------------------------------------------------------------
// Connection

/**
 * Texts longer than this (UTF-16 units) are written a slice at a time as the socket drains: given the whole
 * string, Node would encode all of it into one buffer at once (64 MiB of update → another 64 MiB of C heap).
 */
export const WRITE_SLICE_CHARS = 1024 * 1024;

export interface JsonRpcConnectionOptions {
  /** Peer name used in log lines, e.g. "unix#3", "tcp:127.0.0.1:45678", "unix:/run/db.sock". */
  name?: string;
  log?: RpcLog;
  /** Inactivity probe interval in ms; 0 disables; nonzero values below 1000 are raised to 1000. */
  probeInterval?: number;
  maxMessageSize?: number;
  /**
   * Messages at least this long (UTF-16 units) are parsed over several event-loop turns
   * (parseJsonChunked); messages after one wait for it, so the order is kept. 0 (default): never.
   */
  chunkedParseChars?: number;
  /**
   * OVS jsonrpc-session semantics (default true): answer the peer's "echo" requests here and swallow
   * replies whose id is "echo". The unixctl server and ovs-appctl use plain jsonrpc, without them.
   */
  transportEcho?: boolean;
  /**
   * A session a passive remote accepted: its connection states are logged at DBG in module "reconnect" as
   * the reference's quiet session FSM logs them ("connected", "entering ACTIVE", "connection closed by
   * peer", "entering VOID", "entering IDLE" while a probe is out).
   */
  session?: boolean;
}

export interface JsonRpcConnectionEvents {
  /** A valid message other than the echo traffic handled here. */
  message: [msg: JsonRpcMessage];
  /** The send backlog cleared. */
  drain: [];
  /** Emitted once. reason: "EOF", "Protocol error", "closed" (by us), or a socket error text. */
  close: [reason: string];
}

export class JsonRpcConnection extends EventEmitter<JsonRpcConnectionEvents> {
  readonly name: string;
  private readonly log: RpcLog;
  private readonly splitter: JsonStreamSplitter;
  private readonly transportEcho: boolean;
  private probeInterval = 0;
  private lastActivity = Date.now();
  private probeSentAt = 0;
  private probeTimer: NodeJS.Timeout | null = null;
  private isClosed = false;
  private backlog = false;
  /**
   * Texts not yet handed to the socket, oldest first (messages, or pieces of one): they leave in one write,
   * joined, unless together they exceed WRITE_SLICE_CHARS.
   */
  private out: string[] = [];
  private outChars = 0;
  /** Inside onData: replies wait for the end of the chunk (one write for a pipelined burst). */
  private reading = false;
  /** hold() count: while > 0 nothing is written (a reply waits for other peers' updates). */
  private holds = 0;
  private readonly debugOn: (module: string) => boolean;
  private readonly session: boolean;
  private readonly chunkedParseChars: number;
  /** Received texts waiting behind one being parsed over several turns (null: none is). */
  private deferred: [text: string, careful: boolean][] | null = null;
  /** The longest large message (≥ LARGE_MESSAGE_CHARS) of the chunk being read, reported once it is handled. */
  private largeIn = 0;
  /** Long output being written in slices as the socket drains (see WRITE_SLICE_CHARS); `out` waits behind it. */
  private sliced: { readonly parts: string[]; part: number; at: number; readonly chars: number } | null = null;

  constructor(
    readonly socket: net.Socket,
    opts: JsonRpcConnectionOptions = {},
  ) {
    super();
    this.name = opts.name ?? describeSocket(socket);
    this.log = opts.log ?? noLog;
    this.debugOn = this.log.debugOn ?? never;
    this.session = opts.session ?? false;
    this.transportEcho = opts.transportEcho ?? true;
    this.splitter = new JsonStreamSplitter(opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
    this.chunkedParseChars = opts.chunkedParseChars ?? 0;
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.finish('EOF'));
    socket.on('error', (err: NodeJS.ErrnoException) => this.finish(err.code === 'EPIPE' || err.code === 'ECONNRESET' ? 'EOF' : err.message));
    socket.on('close', () => this.finish('EOF'));
    socket.on('drain', () => {
      this.backlog = false;
      this.lastActivity = Date.now(); // a drained send queue counts as activity
      if (this.isClosed) return;
      if (this.sliced !== null) {
        this.writeSlices();
        if (this.backlog) return;
      }
      if (this.deferred === null) socket.resume(); // else once the parse in progress is done
      this.emit('drain');
    });
    this.setProbeInterval(opts.probeInterval ?? 0);
    if (this.session) this.state('connecting...', 'entering CONNECTING', 'connected', 'entering ACTIVE');
  }

  /** The "reconnect" DBG lines of a session's state changes. */
  private state(...lines: string[]): void {
    if (!this.debugOn('reconnect')) return;
    for (const l of lines) this.log('reconnect', 'DBG', `${this.name}: ${l}`);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** True while written data is still queued in user space; the server then merges monitor updates. */
  hasBacklog(): boolean {
    return this.backlog;
  }

  /**
   * Send one pre-serialized message, after anything queued before it. Returns false if the socket has a
   * send backlog (reading from the peer then stops until it drains).
   */
  sendRaw(text: string): boolean {
    if (this.isClosed) return false;
    if (this.debugOn('jsonrpc')) this.logSent(text);
    this.push(text);
    if (!this.reading) this.flushOut();
    return !this.backlog;
  }

  /** Queue a message; it leaves, in order, with the next sendRaw() or flush(). */
  queue(text: string): void {
    if (this.isClosed) return;
    if (this.debugOn('jsonrpc')) this.logSent(text);
    this.push(text);
  }

  /** `NAME: send reply, result=…`: parses what we send back (only while the line is wanted). */
  private logSent(text: string): void {
    const m = classifyMessage(parseJson(text));
    if (typeof m !== 'string') this.log('jsonrpc', 'DBG', `${this.name}: send ${describeMessage(m, stringify, true)}`);
  }

  /** Write what queue() left (at the end of the chunk being read, if called while reading one). */
  flush(): void {
    if (!this.reading) this.flushOut();
  }

  /** Stop writing until release(): messages queue in order (see output-scheduler.ts). */
  hold(): void {
    this.holds++;
  }

  release(): void {
    if (this.holds > 0 && --this.holds === 0 && !this.reading) this.flushOut();
  }

  private push(text: string): void {
    this.out.push(text);
    this.outChars += text.length;
  }

  private flushOut(): void {
    const out = this.out;
    if (out.length === 0 || this.isClosed || this.sliced !== null || this.holds > 0) return;
    const chars = this.outChars;
    this.out = [];
    this.outChars = 0;
    if (this.socket.destroyed) return;
    noteTraffic(chars);
    if (chars > WRITE_SLICE_CHARS) {
      // Pieces stay separate: joining (or writing a concatenation) would copy them into one flat string first.
      this.sliced = { parts: out, part: 0, at: 0, chars };
      this.writeSlices();
      return;
    }
    if (!this.socket.write(out.length === 1 ? out[0]! : out.join(''))) this.pauseForBacklog();
  }

  /** §2.4: while output is pending, read nothing more from this peer. */
  private pauseForBacklog(): void {
    if (this.backlog) return;
    this.backlog = true;
    this.socket.pause();
  }

  /**
   * Writes the sliced output a slice at a time (short pieces batched up to a slice) until the socket pushes
   * back or all of it is written, then what queued behind it.
   */
  private writeSlices(): void {
    const s = this.sliced!;
    const { parts } = s;
    while (s.part < parts.length) {
      let piece: string;
      const text = parts[s.part]!;
      if (s.at === 0 && text.length <= WRITE_SLICE_CHARS) {
        let end = s.part + 1;
        let n = text.length;
        while (end < parts.length && n + parts[end]!.length <= WRITE_SLICE_CHARS) n += parts[end++]!.length;
        piece = end === s.part + 1 ? text : parts.slice(s.part, end).join('');
        for (; s.part < end; s.part++) parts[s.part] = ''; // written: let it go
      } else {
        let cut = Math.min(s.at + WRITE_SLICE_CHARS, text.length);
        const c = text.charCodeAt(cut - 1);
        if (cut < text.length && c >= 0xd800 && c <= 0xdbff) cut--; // never split a surrogate pair
        piece = text.slice(s.at, cut);
        s.at = cut;
        if (cut === text.length) {
          parts[s.part++] = '';
          s.at = 0;
        }
      }
      const done = s.part === parts.length;
      const chars = s.chars;
      const ok = this.socket.write(piece, done && chars >= LARGE_MESSAGE_CHARS ? () => noteLargeMessage(chars) : undefined);
      if (!ok) {
        this.pauseForBacklog();
        if (!done) return; // the next slice on 'drain'
      }
    }
    this.sliced = null;
    this.flushOut(); // what queued behind it
  }

  /** Hands everything still unsent to the socket at once (closing: there is no later drain to wait for). */
  private writeAllNow(): void {
    const s = this.sliced;
    if (s !== null) {
      this.sliced = null;
      if (!this.socket.destroyed) {
        const rest = s.parts.slice(s.part);
        if (rest.length > 0) rest[0] = rest[0]!.slice(s.at);
        for (const piece of rest) this.socket.write(piece);
      }
    }
    this.flushOut();
  }

  send(msg: JsonRpcMessage): boolean {
    return this.sendRaw(encodeMessage(msg));
  }
  reply(id: JsonValue, result: JsonValue): boolean {
    return this.replyRaw(id, stringify(result));
  }
  /** As encodeReplyRaw, but the result text stays a piece of its own (a large one is never copied to join it). */
  replyRaw(id: JsonValue, resultText: string): boolean {
    if (this.isClosed) return false;
    const head = '{"id":' + stringify(id) + ',"result":';
    if (this.debugOn('jsonrpc')) this.logSent(head + resultText + ',"error":null}');
    this.push(head);
    this.push(resultText);
    this.push(',"error":null}');
    if (!this.reading) this.flushOut();
    return !this.backlog;
  }
  replyError(id: JsonValue, error: JsonValue): boolean {
    return this.sendRaw(encodeErrorReply(id, error));
  }
  notify(method: string, params: JsonValue[]): boolean {
    return this.sendRaw(encodeNotification(method, params));
  }
  notifyRaw(method: string, paramsText: string): boolean {
    return this.sendRaw(encodeNotificationRaw(method, paramsText));
  }
  request(method: string, params: JsonValue[], id: JsonValue): boolean {
    return this.sendRaw(encodeRequest(method, params, id));
  }

  /** Change the inactivity probe interval (ms, 0 = off). */
  setProbeInterval(ms: number): void {
    this.probeInterval = ms > 0 ? Math.max(ms, 1000) : 0;
    this.probeSentAt = 0;
    this.lastActivity = Date.now();
    this.armProbe();
  }

  getProbeInterval(): number {
    return this.probeInterval;
  }

  /** Close gracefully: queued output is flushed first. */
  close(): void {
    if (this.isClosed) return;
    this.holds = 0;
    this.writeAllNow();
    this.stopReading();
    const s = this.socket;
    if (s.destroyed) {
      this.finish('closed');
      return;
    }
    s.once('finish', () => s.destroy());
    s.end();
    this.finish('closed');
  }

  /** Drop the connection at once (protocol errors): nothing more is sent. */
  abort(reason: string): void {
    if (this.isClosed) return;
    // Replies already produced for earlier messages of this chunk still go out, as the reference sends them.
    this.holds = 0;
    this.flushOut();
    this.stopReading();
    this.socket.destroy();
    this.finish(reason);
  }

  private stopReading(): void {
    this.splitter.stop();
    this.clearProbe();
  }

  private finish(reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.session && reason === 'EOF') this.state('connection closed by peer', 'entering VOID');
    else if (this.session && reason !== 'closed') this.state('entering VOID');
    this.sliced = null;
    this.out = [];
    this.outChars = 0;
    noteTraffic(CLOSED_CONNECTION_BYTES);
    this.stopReading();
    if (!this.socket.destroyed && reason !== 'closed') this.socket.destroy();
    this.emit('close', reason);
  }

  private protocolError(what: string): void {
    this.log('jsonrpc', 'WARN', `${this.name}: ${what}`);
    this.log('reconnect', 'WARN', `${this.name}: connection dropped (Protocol error)`);
    this.abort('Protocol error');
  }

  private onData(chunk: Buffer): void {
    if (this.isClosed) return;
    noteTraffic(chunk.length);
    this.lastActivity = Date.now();
    if (this.probeSentAt !== 0 && this.session) this.state('entering ACTIVE');
    this.probeSentAt = 0;
    // Replies to every request in this chunk leave in one write (pipelined clients, bursts).
    this.reading = true;
    try {
      this.splitter.push(chunk, this.onText);
    } catch (e) {
      this.protocolError(`error parsing stream: ${(e as Error).message}`); // abort() writes what is queued
    } finally {
      this.reading = false;
      this.flushOut();
    }
    if (this.largeIn > 0) {
      // Out of the splitter's and the handler's frames: the message text is unreachable now.
      const n = this.largeIn;
      this.largeIn = 0;
      noteLargeMessage(n);
    }
  }

  private readonly onText = (text: string, careful: boolean): void => {
    if (this.isClosed) return;
    if (this.deferred !== null) {
      this.deferred.push([text, careful]);
      return;
    }
    if (this.chunkedParseChars > 0 && text.length >= this.chunkedParseChars) {
      // Read nothing more meanwhile (what this chunk still holds queues behind it).
      this.deferred = [[text, careful]];
      this.socket.pause();
      void this.parseDeferred();
      return;
    }
    this.handleJson(parseJson(text, careful), text.length); // JsonParseError propagates to onData as a stream error
  };

  /** Parses and handles the queued texts in order, a large one over several turns. */
  private async parseDeferred(): Promise<void> {
    const q = this.deferred!;
    while (q.length > 0 && !this.isClosed) {
      const [text, careful] = q.shift()!;
      let json: JsonValue;
      try {
        json = text.length >= this.chunkedParseChars ? await parseJsonChunked(text, careful) : parseJson(text, careful);
      } catch (e) {
        this.deferred = null;
        this.protocolError(`error parsing stream: ${(e as Error).message}`);
        return;
      }
      if (this.isClosed) break;
      this.handleJson(json, text.length);
      if (text.length >= LARGE_MESSAGE_CHARS) noteLargeMessage(text.length);
    }
    this.deferred = null;
    if (!this.isClosed && !this.backlog) this.socket.resume();
  }

  private handleJson(json: JsonValue, chars: number): void {
    const msg = classifyMessage(json);
    if (typeof msg === 'string') {
      this.splitter.stop();
      this.protocolError(`received bad JSON-RPC message: ${msg}`);
      return;
    }
    if (this.debugOn('jsonrpc')) this.log('jsonrpc', 'DBG', `${this.name}: received ${describeMessage(msg, stringifyHashed)}`);
    if (this.transportEcho) {
      if (msg.type === 'request' && msg.method === 'echo') {
        this.reply(msg.id, msg.params);
        return;
      }
      if ((msg.type === 'reply' || msg.type === 'error') && msg.id === 'echo') return;
    }
    this.emit('message', msg);
    if (chars >= LARGE_MESSAGE_CHARS && this.deferred === null) this.largeIn = Math.max(this.largeIn, chars);
  }

  // Probe (§2.5): one timer, re-armed lazily from the last activity time instead of on every read.
  private armProbe(): void {
    this.clearProbe();
    if (this.probeInterval === 0 || this.isClosed) return;
    const base = this.probeSentAt || this.lastActivity;
    const delay = Math.max(0, base + this.probeInterval - Date.now());
    this.probeTimer = setTimeout(this.onProbeTimer, delay);
    this.probeTimer.unref();
  }

  private clearProbe(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
  }

  private readonly onProbeTimer = (): void => {
    this.probeTimer = null;
    if (this.isClosed || this.probeInterval === 0) return;
    const now = Date.now();
    if (this.probeSentAt === 0) {
      if (now - this.lastActivity < this.probeInterval) return this.armProbe();
      this.log('reconnect', 'DBG', `${this.name}: idle ${now - this.lastActivity} ms, sending inactivity probe`);
      this.sendRaw(ECHO_PROBE_TEXT);
      this.probeSentAt = now;
      if (this.session) this.state('entering IDLE');
      return this.armProbe();
    }
    if (this.lastActivity > this.probeSentAt) {
      // Activity after the probe (onData resets probeSentAt; a drain does not).
      this.probeSentAt = 0;
      return this.armProbe();
    }
    if (now - this.probeSentAt < this.probeInterval) return this.armProbe();
    // The time since the probe went out, as the reference reports it (%.3g).
    this.log('reconnect', 'ERR', `${this.name}: no response to inactivity probe after ${g3((now - this.probeSentAt) / 1000)} seconds, disconnecting`);
    this.abort('inactivity probe timeout');
  };
}

/** C's %.3g for a positive number. */
function g3(x: number): string {
  const t = x.toPrecision(3);
  const [m, e] = t.split('e');
  const mant = m.includes('.') ? m.replace(/\.?0+$/, '') : m;
  if (e === undefined) return mant;
  const n = Number(e);
  return `${mant}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
}

function describeSocket(s: net.Socket): string {
  if (s.remoteAddress) {
    const host = s.remoteAddress.includes(':') ? `[${s.remoteAddress}]` : s.remoteAddress;
    return `tcp:${host}:${s.remotePort}`;
  }
  return 'unix';
}
