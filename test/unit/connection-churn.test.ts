// Connection churn leaves nothing behind: rounds of clients that connect, monitor, queue for a lock, block in a
// `wait`, and go away (half politely after their replies, half abruptly mid-request) end with no session,
// monitor, trigger, lock, socket, timer or process listener left over from them. (Memory itself is measured by
// bench/memory.ts; here only what would hold it.)
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileOpener, ServerApp } from '../../server/app.ts';
import { noLog } from '../../server/jsonrpc.ts';
import { FileStorage } from '../../storage/file.ts';

const SCHEMA = {
  name: 'Churn',
  version: '1.0.0',
  tables: { T: { columns: { name: { type: 'string' } }, isRoot: true } },
};
const ROUNDS = 5;
const CLIENTS = 200;

let dir: string;
let app: ServerApp | null = null;
afterEach(() => {
  app?.close();
  app = null;
  fs.rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 2000) throw new Error(`still waiting for ${what}`);
    await sleep(5);
  }
}

/** Resources of the process by kind (sockets, servers, timers...), as Node lists them. */
function resources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

function processListeners(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of process.eventNames()) out[String(e)] = process.listenerCount(e);
  return out;
}

const REQUESTS =
  '{"id":1,"method":"monitor_cond","params":["Churn",null,{"T":[{"columns":["name"]}]}]}' +
  '{"id":2,"method":"lock","params":["L"]}' +
  // Blocks: the table never holds that row, and the timeout is far away.
  '{"id":3,"method":"transact","params":["Churn",{"op":"wait","timeout":600000,"table":"T","where":[],' +
  '"columns":["name"],"until":"==","rows":[{"name":"never"}]}]}';

/** One client: sends everything; a polite one closes after the monitor and lock replies, a rude one at once. */
function client(sock: string, polite: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(sock);
    let got = '';
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EAGAIN' ? resolve(client(sock, polite)) : reject(e)));
    s.on('close', () => resolve());
    s.on('connect', () => {
      s.write(REQUESTS);
      if (!polite) s.destroy();
    });
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('"id":1,') && got.includes('"id":2,')) s.end();
    });
  });
}

describe('connection churn', () => {
  it(`${ROUNDS} rounds of ${CLIENTS} clients leave no session, monitor, trigger, lock, socket or listener`, async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'churn-'));
    const dbFile = path.join(dir, 'churn.db');
    FileStorage.create(dbFile, SCHEMA);
    app = new ServerApp({ open: fileOpener({ disableColumnDiff: false, log: noLog }), log: noLog });
    app.addDatabaseFile(dbFile, { quiet: true });
    const sock = path.join(dir, 'db.sock');
    app.addRemote(`punix:${sock}`);
    await until('the socket', () => fs.existsSync(sock));
    const served = app.server.databases.get('Churn')!;
    await sleep(50);
    const baseResources = resources();
    const baseListeners = processListeners();

    for (let round = 0; round < ROUNDS; round++) {
      const all: Promise<void>[] = [];
      for (let i = 0; i < CLIENTS; i++) all.push(client(sock, i % 2 === 0));
      await Promise.all(all);
      await until('the server to see every close', () => app!.server.sessions.size === 0);
      expect(served.monitors.size).toBe(0);
      expect(served.monitors.shapes).toBe(0);
      expect(served.triggers.size).toBe(0);
    }

    // Nobody holds or waits for the lock: a newcomer gets it at once.
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect(sock, () => s.write('{"id":7,"method":"lock","params":["L"]}'));
      s.on('data', (d: Buffer) => {
        s.destroy();
        resolve(d.toString());
      });
    });
    expect(reply).toBe('{"id":7,"result":{"locked":true},"error":null}');
    await until('the last session to close', () => app!.server.sessions.size === 0);
    await sleep(50);
    // Sockets exactly as before; timers at most as many (one may have been pending when the baseline was taken).
    const { Timeout: timers = 0, ...handles } = resources();
    const { Timeout: baseTimers = 0, ...baseHandles } = baseResources;
    expect(handles).toEqual(baseHandles);
    expect(timers).toBeLessThanOrEqual(baseTimers);
    expect(processListeners()).toEqual(baseListeners);
  });
});
