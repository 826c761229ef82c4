// In-process request path without sockets: a Session on a fake socket, fed JSON-RPC text chunks, replies
// collected. Measures process CPU per 1000 requests for the server-side code only (the real socket costs
// about 40 µs per request-reply on this machine, see server-cpu.ts), so profiles are clean:
//
//   npx tsx bench/micro/profile-txn.ts [--case seq1|pipe64|bigtxn|load|fanout|dump-monitor|dump-monitor_cond|dump-select|replay]
//        [--n 20000] [--reps 3] [--monitors 0]
//   node --cpu-prof --import tsx bench/micro/profile-txn.ts ...   (then profile-summary.ts)
import { EventEmitter } from 'node:events';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileStorage } from '../../storage/file.ts';
import { OvsdbServer } from '../../server/server.ts';
import { JsonRpcConnection } from '../../server/jsonrpc.ts';
import { Session } from '../../server/session.ts';
import { NB_DB, insertSwitch, switchWithPorts } from '../lib/ovn.ts';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}
const which = arg('--case', 'seq1');
const N = Number(arg('--n', '20000'));
const reps = Number(arg('--reps', '3'));
const nMonitors = Number(arg('--monitors', '0'));

/** Just enough of net.Socket for JsonRpcConnection. */
class FakeSocket extends EventEmitter {
  destroyed = false;
  writableCorked = 0;
  out: string[] = [];
  bytes = 0;
  keep = false;
  setNoDelay(): void {}
  cork(): void {
    this.writableCorked++;
  }
  uncork(): void {
    if (this.writableCorked > 0) this.writableCorked--;
  }
  write(text: string): boolean {
    this.bytes += text.length;
    if (this.keep) this.out.push(text);
    return true;
  }
  pause(): void {}
  resume(): void {}
  end(): void {}
  destroy(): void {
    this.destroyed = true;
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'profile-txn-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

function freshServer(): { server: OvsdbServer; storage: FileStorage; file: string } {
  const file = path.join(dir, `db${fileNo++}.db`);
  execFileSync('ovsdb-tool', ['create', file, '/usr/share/ovn/ovn-nb.ovsschema']);
  const { db, storage } = FileStorage.open(file, { lock: false });
  const server = new OvsdbServer();
  server.addDatabase(db, { write: (c) => storage.write(c), close: () => storage.close() }, { quiet: true });
  return { server, storage, file };
}

function connect(server: OvsdbServer): FakeSocket {
  const sock = new FakeSocket();
  new Session(server, new JsonRpcConnection(sock as never, { name: 'fake' }));
  return sock;
}

let nextId = 1;
function feed(sock: FakeSocket, texts: string[]): void {
  sock.emit('data', Buffer.from(texts.join('')));
}
const req = (method: string, params: unknown[]): string => JSON.stringify({ id: nextId++, method, params });

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function timed(label: string, per: number, fn: () => void): number {
  const c0 = cpuMs();
  fn();
  const ms = cpuMs() - c0;
  return (ms * 1000) / per;
}

function run(): number {
  const { server, storage, file } = freshServer();
  const c = connect(server);
  for (let m = 0; m < nMonitors; m++) {
    const s = connect(server);
    feed(s, [req('monitor_cond', [NB_DB, `m${m}`, { Logical_Switch: [{ columns: ['name', 'external_ids'] }] }])]);
  }
  let result: number;
  switch (which) {
    case 'seq1': {
      for (let i = 0; i < 500; i++) feed(c, [req('transact', [NB_DB, insertSwitch(`w-${i}`)])]);
      result = timed(which, N, () => {
        for (let i = 0; i < N; i++) feed(c, [req('transact', [NB_DB, insertSwitch(`s-${i}`, nMonitors ? 1 : undefined)])]);
      });
      break;
    }
    case 'pipe64': {
      result = timed(which, N, () => {
        for (let i = 0; i < N; i += 64) {
          const batch: string[] = [];
          for (let k = i; k < Math.min(N, i + 64); k++) batch.push(req('transact', [NB_DB, insertSwitch(`s-${k}`)]));
          feed(c, batch);
        }
      });
      break;
    }
    case 'bigtxn': {
      const text = req('transact', [NB_DB, ...switchWithPorts('big', 0, N)]);
      result = timed(which, N, () => feed(c, [text]));
      break;
    }
    case 'load':
    case 'replay':
    case 'dump-monitor':
    case 'dump-monitor_cond':
    case 'dump-select': {
      const texts: string[] = [];
      for (let first = 0, sw = 0; first < N; first += 1000, sw++) {
        texts.push(req('transact', [NB_DB, ...switchWithPorts(`bulk-${sw}`, first, Math.min(1000, N - first))]));
      }
      result = timed(which, N, () => {
        for (const t of texts) feed(c, [t]);
      });
      const lsp = 'Logical_Switch_Port';
      if (which === 'dump-monitor') result = timed(which, N, () => feed(c, [req('monitor', [NB_DB, 'd', { [lsp]: {} }])]));
      if (which === 'dump-monitor_cond') result = timed(which, N, () => feed(c, [req('monitor_cond', [NB_DB, 'd', { [lsp]: [{}] }])]));
      if (which === 'dump-select') result = timed(which, N, () => feed(c, [req('transact', [NB_DB, { op: 'select', table: lsp, where: [] }])]));
      if (which === 'replay') {
        storage.close();
        result = timed(which, N, () => FileStorage.read(file));
      }
      break;
    }
    default:
      throw new Error(`unknown case ${which}`);
  }
  storage.close();
  return result;
}

const all: number[] = [];
for (let r = 0; r < reps; r++) all.push(run());
console.log(`${which}: CPU ms per 1000 (${N} per rep, ${nMonitors} monitors): min ${Math.min(...all).toFixed(1)}  all ${all.map((x) => x.toFixed(1)).join(' ')}`);
