// --record[=DIR] / --replay[=DIR] (the reference's stream record/replay): a recording run writes every
// input of the server — the uuids it generates, the results of opening its listeners, the retries of a
// failed listener, each accepted connection, every chunk it reads and the end of each connection — in
// order to DIR/ovsdb-ts-replay.jsonl. A replay run serves the same databases from that file alone: no
// socket is opened, the recorded connections arrive with their recorded bytes in the recorded order (each
// once the server has finished with the previous input), and the uuids are the recorded ones, so the
// database file and the log come out as in the recording (upstream "ovsdb-server record/replay").
// Not covered: TLS listeners and outgoing connections (active remotes, --sync-from), which a replay runs
// without.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { setUuidSource } from '../schema/atom.ts';
import { outputIdle } from './output-scheduler.ts';

export const REPLAY_FILE = 'ovsdb-ts-replay.jsonl';

/** What opening a listener gave: ok (with the port bound, for ptcp:0) or the error text. */
export interface ListenResult {
  readonly ok: boolean;
  readonly port?: number;
  readonly error?: string;
}

type Event =
  | { t: 'uuid'; v: string }
  | { t: 'listen'; l: string; ok: boolean; port?: number; error?: string }
  | { t: 'retry'; l: string }
  | { t: 'accept'; l: string; c: string }
  | { t: 'data'; c: string; b: string }
  | { t: 'eof'; c: string; error?: string };

/** How a listener takes part in a replay. */
export interface ReplayListener {
  /** Opens it again (a recorded retry). */
  retry(): void;
  /** A recorded connection arrives. */
  accept(socket: net.Socket, name: string): void;
}

let mode: 'off' | 'record' | 'replay' = 'off';
let fd: number | null = null;
let events: Event[] = [];
/** Replay: the driven inputs (retry, accept, data, eof) in order, and the queues the server pulls from. */
let driven: Event[] = [];
let uuids: string[] = [];
const listenResults = new Map<string, ListenResult[]>();
const listeners = new Map<string, ReplayListener>();
const sockets = new Map<string, ReplaySocket>();

export function replayMode(): 'off' | 'record' | 'replay' {
  return mode;
}

function write(e: Event): void {
  fs.writeSync(fd!, `${JSON.stringify(e)}\n`);
}

/** --record: from now on the server's inputs are written to DIR. */
export function startRecording(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fd = fs.openSync(path.join(dir, REPLAY_FILE), 'w');
  mode = 'record';
  setUuidSource((generate) => {
    const v = generate();
    write({ t: 'uuid', v });
    return v;
  });
}

/** --replay: the recorded inputs are read from DIR; call runReplay() once the server has started. */
export function startReplay(dir: string): void {
  const text = fs.readFileSync(path.join(dir, REPLAY_FILE), 'utf8');
  events = text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Event);
  for (const e of events) {
    if (e.t === 'uuid') uuids.push(e.v);
    else if (e.t === 'listen') {
      let q = listenResults.get(e.l);
      if (q === undefined) listenResults.set(e.l, (q = []));
      q.push({ ok: e.ok, port: e.port, error: e.error });
    } else driven.push(e);
  }
  mode = 'replay';
  let next = 0;
  setUuidSource(() => {
    if (next >= uuids.length) throw new Error('replay: more uuids generated than recorded');
    return uuids[next++];
  });
}

// ---------------------------------------------------------------------------------------------------------
// Recording hooks

export function recordListen(listener: string, r: ListenResult): void {
  if (mode === 'record') write({ t: 'listen', l: listener, ok: r.ok, port: r.port, error: r.error });
}

export function recordRetry(listener: string): void {
  if (mode === 'record') write({ t: 'retry', l: listener });
}

/** An accepted connection: recorded with everything it reads (call before anything else listens on it). */
export function recordAccept(listener: string, name: string, socket: net.Socket): void {
  if (mode !== 'record') return;
  write({ t: 'accept', l: listener, c: name });
  socket.on('data', (chunk: Buffer) => write({ t: 'data', c: name, b: chunk.toString('base64') }));
  let ended = false;
  const eof = (error?: string) => {
    if (ended) return;
    ended = true;
    write(error === undefined ? { t: 'eof', c: name } : { t: 'eof', c: name, error });
  };
  socket.on('end', () => eof());
  socket.on('error', (e: NodeJS.ErrnoException) => eof(e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : e.message));
  socket.on('close', () => eof());
}

// ---------------------------------------------------------------------------------------------------------
// Replay

/** The next recorded result of opening `listener`. */
export function takeListen(listener: string): ListenResult {
  const r = listenResults.get(listener)?.shift();
  if (r === undefined) throw new Error(`replay: ${listener} opened more often than recorded`);
  return r;
}

export function registerListener(name: string, l: ReplayListener): void {
  listeners.set(name, l);
}

/** A stand-in for an accepted socket: the recorded bytes arrive through it, what is written goes nowhere. */
class ReplaySocket extends EventEmitter {
  destroyed = false;
  writableLength = 0;
  readonly remoteAddress = undefined;
  setNoDelay(): this {
    return this;
  }
  write(): boolean {
    return true;
  }
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  end(): this {
    this.emit('finish');
    return this;
  }
  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    setImmediate(() => this.emit('close'));
    return this;
  }
}

/** Resolves once the server has done everything the last input caused (updates written, replies sent). */
function settled(): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (outputIdle() ? resolve() : setImmediate(check));
    setImmediate(() => setImmediate(check));
  });
}

/** Feeds the recorded inputs, in order, each once the server has finished with the previous one. */
export async function runReplay(): Promise<void> {
  for (const e of driven) {
    await settled();
    switch (e.t) {
      case 'retry':
        listeners.get(e.l)?.retry();
        break;
      case 'accept': {
        const s = new ReplaySocket();
        sockets.set(e.c, s);
        listeners.get(e.l)?.accept(s as unknown as net.Socket, e.c);
        break;
      }
      case 'data':
        sockets.get(e.c)?.emit('data', Buffer.from(e.b, 'base64'));
        break;
      case 'eof': {
        const s = sockets.get(e.c);
        if (s === undefined || s.destroyed) break;
        if (e.error !== undefined) s.emit('error', new Error(e.error));
        else s.emit('end');
        s.destroy();
        break;
      }
      default:
        break;
    }
  }
}
