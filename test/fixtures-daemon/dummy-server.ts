// A stand-in ovsdb-server that exercises the process plumbing only: options,
// logging, daemonize (--detach/--monitor/--pidfile), DB lock files, a punix
// listener and a tiny unixctl responder that the real ovs-appctl can talk to.
//
// Test hooks (environment):
//   DUMMY_FAIL=exit:N     exit with status N before signaling startup
//   DUMMY_FAIL=signal:SIG kill itself with SIG before signaling startup
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseServerArgs, applyLoggingOptions, resolveUnixctlPath, VERSION_OUTPUT, VERSION_TEXT } from '../../cli/options.ts';
import { daemonize, notifyStartupComplete, saveRuntimeState } from '../../cli/daemon.ts';
import { addFileToUnlink, unlinkFileNow } from '../../cli/fatal-signal.ts';
import { getLogger, vlogCommands } from '../../cli/vlog.ts';
import { Lockfile, LockfileError } from '../../storage/lockfile.ts';

const log = getLogger('ovsdb_server');

const parsed = parseServerArgs(process.argv.slice(2));
if (parsed.kind === 'exit') {
  process.stdout.write(parsed.stdout);
  process.stderr.write(parsed.stderr);
  process.exit(parsed.code);
}
const opts = parsed.options;
if (applyLoggingOptions(opts) !== null) process.exit(1);

const ctx = await daemonize({
  detach: opts.detach,
  monitor: opts.monitor,
  noChdir: opts.noChdir,
  pidfile: opts.pidfile,
  overwritePidfile: opts.overwritePidfile,
});

const fail = process.env['DUMMY_FAIL'];
if (fail?.startsWith('exit:')) process.exit(Number(fail.slice(5)));
if (fail?.startsWith('signal:')) process.kill(process.pid, fail.slice(7) as NodeJS.Signals);

// Runtime state that survives --monitor restarts.
let things: string[] = [];
if (ctx.savedState !== null && typeof ctx.savedState === 'object' && !Array.isArray(ctx.savedState)) {
  const t = ctx.savedState['things'];
  if (Array.isArray(t)) things = t.map(String);
}

// "Open" the databases: only the lock, which is what this fixture is about.
const locks: Lockfile[] = [];
if (!opts.noDbs) {
  for (const db of opts.databases) {
    try {
      locks.push(Lockfile.lock(db));
    } catch (e) {
      if (e instanceof LockfileError) {
        process.stderr.write(`ovsdb-server: ${e.message}\n`);
        process.exit(1);
      }
      throw e;
    }
  }
}

const servers: net.Server[] = [];
const socketFiles: string[] = [];

async function listenUnix(name: string, onConn: (s: net.Socket) => void): Promise<void> {
  const file = path.resolve(name); // still valid after the chdir('/') of --detach
  try {
    fs.unlinkSync(file);
  } catch {
    // not there
  }
  const srv = net.createServer(onConn);
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(file, () => resolve());
  });
  servers.push(srv);
  socketFiles.push(file);
  addFileToUnlink(file);
}

for (const r of opts.remotes) {
  if (r.startsWith('punix:')) await listenUnix(r.slice(6), (s) => s.destroy());
}

type Reply = { ok: boolean; text: string };
const commands: Record<string, (args: string[]) => Reply> = {
  version: () => ({ ok: true, text: VERSION_OUTPUT }),
  exit: () => {
    setImmediate(shutdown);
    return { ok: true, text: '' };
  },
  'add-thing': (args) => {
    things.push(...args);
    saveRuntimeState({ things });
    return { ok: true, text: '' };
  },
  'list-things': () => ({ ok: true, text: things.map((t) => `${t}\n`).join('') }),
};
for (const c of vlogCommands) commands[c.name] = (args) => c.run(args);

function handleUnixctl(sock: net.Socket): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    let req: { method?: unknown; params?: unknown; id?: unknown };
    try {
      req = JSON.parse(buf) as typeof req;
    } catch {
      return; // incomplete
    }
    buf = '';
    const fn = typeof req.method === 'string' ? commands[req.method] : undefined;
    const params = Array.isArray(req.params) ? req.params.map(String) : [];
    const r: Reply = fn
      ? fn(params)
      : { ok: false, text: `"${String(req.method)}" is not a valid command (use "list-commands" to see a list of valid commands)` };
    const text = r.text !== '' && !r.text.endsWith('\n') ? `${r.text}\n` : r.text;
    sock.write(JSON.stringify(r.ok ? { id: req.id, result: text, error: null } : { id: req.id, error: text }));
  });
  sock.on('error', () => {});
}

const ctl = resolveUnixctlPath(opts.unixctl);
if (ctl !== null) {
  try {
    await listenUnix(ctl, handleUnixctl);
  } catch (e) {
    process.stderr.write(`ovsdb-server: ${ctl}: could not initialize control socket (${(e as Error).message})\n`);
    process.exit(1);
  }
}

notifyStartupComplete();
log.info(VERSION_TEXT);

function shutdown(): void {
  for (const s of servers) s.close();
  for (const f of socketFiles) unlinkFileNow(f);
  for (const l of locks) l.unlock();
  process.exit(0); // the pidfile goes with the exit hook
}
