// The `ovsdb-server` server proper (reference §1), loaded by the ovsdb-server.ts entry once the options
// ask for a server: options, daemon, databases, remotes, unixctl, --run, then serve until `exit` or a
// fatal signal.
import { spawn } from 'node:child_process';
import { OvsdbError } from '../schema/error.ts';
import { fileOpener, ServerApp } from '../server/app.ts';
import type { RpcLog } from '../server/jsonrpc.ts';
import { vlogRpcLog } from '../server/jsonrpc-vlog.ts';
import { RemoteError } from '../server/remotes.ts';
import { DbRefError } from '../server/db-remotes.ts';
import { TlsSettings } from '../server/tls.ts';
import { UnixctlServer } from '../server/unixctl.ts';
import { daemonize, notifyStartupComplete, saveRuntimeState, describeStatus } from './daemon.ts';
import { addFileToUnlink, exitCleanup, fatalCleanup, removeFileToUnlink, setSignalLogger } from './fatal-signal.ts';
import { applyLoggingOptions, parseServerArgs, resolveUnixctlPath, VERSION_OUTPUT, VERSION_TEXT, type ServerOptions } from './options.ts';
import { getLogger, vlogCommands } from './vlog.ts';
import { startMemoryRelief } from './memory-relief.ts';
import { LockfileError } from '../storage/lockfile.ts';
import { setupReplication } from '../replication/setup.ts';
import { runReplay, startRecording, startReplay } from '../server/replay.ts';
import { ovsRundir } from '../server/jsonrpc-address.ts';
import path from 'node:path';
import { startLoopWatch } from '../server/loop-watch.ts';

const PROGRAM = 'ovsdb-server';
/** At most this long, startup waits for relays' first sync (see below). */
const RELAY_STARTUP_WAIT_MS = 2000;

function fatal(msg: string): never {
  process.stderr.write(`${PROGRAM}: ${msg}\n`);
  process.exit(1);
}

const rpcLog: RpcLog = vlogRpcLog;

interface SavedConfig {
  remotes: string[];
  db_filenames: string[];
  sync_from?: string | null;
  sync_exclude?: string | null;
  is_backup?: boolean;
}

/** Run the server with `ovsdb-server` arguments (process.argv.slice(2)). */
export async function main(argv: string[]): Promise<void> {
  // "terminating with signal 15 (Terminated)", as the reference logs a fatal signal.
  setSignalLogger((msg) => getLogger('fatal_signal').warn(msg));
  const parsed = parseServerArgs(argv);
  if (parsed.kind === 'exit') {
    process.stdout.write(parsed.stdout);
    process.stderr.write(parsed.stderr);
    process.exit(parsed.code);
  }
  const opts: ServerOptions = parsed.options;
  if (applyLoggingOptions(opts) !== null) process.exit(1);
  // --record/--replay DIR, resolved before --detach leaves the working directory.
  const replayDir = (dir: string | null) => (dir === null ? null : path.resolve(dir === '' ? ovsRundir() : dir));
  const recordDir = replayDir(opts.record);
  const replayFrom = replayDir(opts.replay);

  const ctx = await daemonize({
    detach: opts.detach,
    monitor: opts.monitor,
    noChdir: opts.noChdir,
    pidfile: opts.pidfile,
    overwritePidfile: opts.overwritePidfile,
  });
  const saved = ctx.savedState as SavedConfig | null;
  if (replayFrom !== null) {
    try {
      startReplay(replayFrom);
    } catch (e) {
      fatal(`${replayFrom}: cannot replay (${(e as Error).message})`);
    }
  } else if (recordDir !== null) startRecording(recordDir);
  startLoopWatch(rpcLog);

  let replication: ReturnType<typeof setupReplication> | null = null;
  const jsonrpcLog = getLogger('jsonrpc');
  const app: ServerApp = new ServerApp({
    // The LMDB engine (and its native module) loads only when asked for.
    open:
      opts.storage === 'lmdb'
        ? (await import('../storage/lmdb-opener.ts')).lmdbOpener({ log: rpcLog })
        : fileOpener({ disableColumnDiff: opts.disableFileColumnDiff, log: rpcLog }),
    log: rpcLog,
    columnDiffDisabled: opts.disableFileColumnDiff,
    standaloneHistory: opts.standaloneHistory,
    socketFiles: { add: addFileToUnlink, remove: removeFileToUnlink },
    onConfigChange: () => persist(),
    traceUpstream: () => jsonrpcLog.isEnabled('dbg'),
    fatal: (message) => {
      process.stderr.write(`${PROGRAM}: ${message}\n`);
      fatalCleanup();
      process.exit(1);
    },
  });
  const persist = () => {
    if (!opts.monitor) return;
    const cfg: SavedConfig = {
      remotes: [...app.remotes.keys()],
      db_filenames: [...app.files.values()],
      ...(replication?.savedState() ?? {}),
    };
    saveRuntimeState(cfg as unknown as import('../schema/json.ts').JsonValue);
  };

  const dbFiles = saved ? saved.db_filenames : opts.databases;
  for (const file of dbFiles) {
    try {
      await app.addDatabaseFile(file, { quiet: true });
    } catch (e) {
      if (e instanceof OvsdbError) fatal(e.render());
      if (e instanceof LockfileError) fatal(e.message);
      throw e;
    }
  }

  // Clustered files are replayed over several event-loop turns; serve them only once that is done.
  await app.loaded();

  app.ssl = new TlsSettings(app.server, {
    privateKey: opts.ssl.privateKey,
    certificate: opts.ssl.certificate,
    caCert: opts.ssl.caCert,
    bootstrapCaCert: opts.ssl.bootstrapCaCert,
    sslProtocols: opts.ssl.sslProtocols,
    sslCiphers: opts.ssl.sslCiphers,
  });
  try {
    app.ssl.validate();
  } catch (e) {
    if (e instanceof DbRefError) fatal(`${e.message}\n`);
    throw e;
  }

  const remotes = saved ? saved.remotes : [...new Set(opts.remotes)];
  for (const r of remotes) {
    try {
      app.addRemote(r);
    } catch (e) {
      // The reference's db: errors end in a newline, hence the empty line after them.
      if (e instanceof DbRefError) fatal(`${e.message}\n`);
      if (e instanceof RemoteError) fatal(e.message);
      throw e;
    }
  }

  const ctlPath = resolveUnixctlPath(opts.unixctl);
  const ctl = new UnixctlServer({ programName: PROGRAM, versionText: VERSION_OUTPUT, log: rpcLog });
  for (const c of vlogCommands) ctl.register(c.name, c.usage, c.minArgs, c.maxArgs, (args) => c.run(args));
  app.registerCommands(ctl);
  replication = setupReplication(app, ctl, {
    syncFrom: saved?.sync_from ?? opts.syncFrom,
    syncExclude: saved?.sync_exclude ?? opts.syncExcludeTables,
    active: saved ? !(saved.is_backup ?? false) : opts.active,
    log: rpcLog,
    onConfigChange: persist,
  });
  if (ctlPath !== null) {
    try {
      await ctl.listen(ctlPath);
      addFileToUnlink(ctlPath);
    } catch (e) {
      fatal(`${ctlPath}: could not initialize control socket (${(e as Error).message})`);
    }
  }

  let shuttingDown = false;
  const shutdown = (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    replication?.close();
    // Clustered members hand leadership on before the process goes (raft.md §2.6.8).
    void app
      .close()
      .then(() => ctl.close())
      .finally(() => {
        exitCleanup();
        process.exit(code);
      });
  };
  app.onExit(() => shutdown(0));

  if (opts.run !== null) {
    const child = spawn('/bin/sh', ['-c', opts.run], { stdio: 'inherit' });
    child.on('exit', (code, signal) => {
      if (code === 0) return shutdown(0);
      process.stderr.write(`${PROGRAM}: ${opts.run}: child ${signal ? `died, ${describeStatus(null, signal)}` : `exited, ${describeStatus(code, null)}`}\n`);
      shutdown(1);
    });
  }

  persist();
  // Relays whose source is reachable are in sync before --detach returns (the reference races here: its
  // relay may still be connecting when the parent exits). Bounded: a source that is down does not hold us.
  if (app.relays.size > 0) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...app.relays.values()].map((r) => r.firstAttempt)),
      new Promise<void>((r) => (timer = setTimeout(r, RELAY_STARTUP_WAIT_MS))),
    ]);
    clearTimeout(timer);
  }
  if (process.env['OVSDB_TS_MEMORY_RELIEF'] !== '0') startMemoryRelief();
  notifyStartupComplete();
  if (opts.run === null) getLogger('ovsdb_server').info(VERSION_TEXT);
  replication.start();
  if (replayFrom !== null) void runReplay();
}
