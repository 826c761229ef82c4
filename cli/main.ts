// `ovsdb-ts` — the project's own front end:
//   ovsdb-ts run [--data DIR] [--port PORT]   the embedded default: a fresh database under ./data, unix socket + TCP
//   ovsdb-ts server ARGS...                   exactly `ovsdb-server ARGS...`
//   ovsdb-ts appctl [-t TARGET] COMMAND...    an ovs-appctl work-alike, for machines without OVS installed
//   ovsdb-ts tool COMMAND ARGS...             ovsdb-tool work-alike commands (standard file format and LMDB)
//
// yargs parses the front end: the commands, `run` and its options, help, version and errors. The three
// pass-through commands hand the rest of the command line, unchanged, to the parser of the program they stand
// for (getopt.ts, appctl.ts, tool.ts: yargs would turn `5` into a number and drop a `--`); they are
// dispatched before yargs loads (~90 ms of CPU a script calling `ovsdb-ts appctl` need not pay).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import { OVSDB_TS_VERSION } from './version.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SERVER_BIN = path.join(ROOT, 'bin', 'ovsdb-server');
const FRONT_BIN = path.join(ROOT, 'bin', 'ovsdb-ts');
/** The Open_vSwitch schema when OVS is installed, else a small schema of our own. */
const SCHEMAS = ['/usr/share/openvswitch/vswitch.ovsschema', path.join(ROOT, 'fixtures/schemas/default.ovsschema')];
const PASS_THROUGH = ['server', 'appctl', 'tool'] as const;
type PassThrough = (typeof PASS_THROUGH)[number];

/** A refusal of `run`: printed as `ovsdb-ts run: MESSAGE`, exit status 1. */
class RunError extends Error {}

function runServer(args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(SERVER_BIN, args, { stdio: 'inherit' });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => forward(s));
    // A server stopped by a signal (Ctrl-C, kill) is reported as the shell would: 128 + signal number.
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
  });
}

async function passThrough(cmd: PassThrough, args: string[]): Promise<number> {
  switch (cmd) {
    case 'server':
      return runServer(args);
    case 'appctl': {
      const { runAppctl, APPCTL_TIMEOUT_STATUS } = await import('./appctl.ts');
      const code = await runAppctl(args);
      // ovs-appctl dies of SIGALRM when -T expires; so do we.
      if (code === APPCTL_TIMEOUT_STATUS) process.kill(process.pid, 'SIGALRM');
      return code;
    }
    case 'tool': {
      const { runTool } = await import('./tool.ts');
      return runTool(args);
    }
  }
}

/** `--port`: a TCP port number, 1 to 65535. */
export function parsePort(text: unknown): number {
  const s = String(text);
  const n = /^[0-9]+$/.test(s) ? Number(s) : Number.NaN;
  if (!(n >= 1 && n <= 65535)) throw new Error(`--port: "${s}" is not a TCP port number (1 to 65535)`);
  return n;
}

/** Resolves with null if 127.0.0.1:port can be listened on now, else with the reason. */
function portProblem(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (e: NodeJS.ErrnoException) =>
      resolve(e.code === 'EADDRINUSE' ? 'is in use' : e.code === 'EACCES' ? 'is not open to this user' : `cannot be listened on (${e.message})`),
    );
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(null)));
  });
}

/** Waits until every path exists (the server listens) or the server exits; true in the first case. */
async function listening(paths: string[], exited: Promise<unknown>): Promise<boolean> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    if (paths.every((p) => fs.existsSync(p))) return true;
    if (gone) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function run(opts: { data: string; port: number }): Promise<number> {
  const dataDir = path.resolve(opts.data);
  const db = path.join(dataDir, 'conf.db');
  const sock = path.join(dataDir, 'db.sock');
  const ctl = path.join(dataDir, 'ovsdb-server.ctl');
  const pidfile = path.join(dataDir, 'ovsdb-server.pid');
  // Refuse before announcing anything: another server on this directory, or the TCP port taken.
  if (fs.existsSync(pidfile)) {
    const { readPidfile } = await import('./pidfile.ts');
    const pid = readPidfile(pidfile);
    if (pid !== null) throw new RunError(`${dataDir}: already served by ovsdb-server pid ${pid} (stop it with: ovs-appctl -t ${ctl} exit)`);
  }
  const problem = await portProblem(opts.port);
  if (problem !== null) throw new RunError(`127.0.0.1:${opts.port} ${problem} (choose another port with --port)`);

  fs.mkdirSync(dataDir, { recursive: true });
  if (!fs.existsSync(db)) {
    const schemaFile = SCHEMAS.find((f) => fs.existsSync(f))!;
    const { FileStorage } = await import('../storage/file.ts');
    FileStorage.create(db, JSON.parse(fs.readFileSync(schemaFile, 'utf8')));
    process.stdout.write(`created ${db} from ${schemaFile}\n`);
  }
  const code = runServer([
    `--remote=punix:${sock}`,
    `--remote=ptcp:${opts.port}:127.0.0.1`,
    `--unixctl=${ctl}`,
    `--pidfile=${pidfile}`,
    `--log-file=${path.join(dataDir, 'ovsdb-server.log')}`,
    db,
  ]);
  if (await listening([sock, ctl], code)) {
    process.stdout.write(
      `serving ${db}\n` +
        `  unix socket: unix:${sock}\n` +
        `  TCP:         tcp:127.0.0.1:${opts.port}\n` +
        `  control:     ovs-appctl -t ${ctl} list-commands   (or: ${FRONT_BIN} appctl -t ${ctl} list-commands)\n` +
        `try: ovsdb-client dump unix:${sock}\n`,
    );
  }
  return code;
}

function frontEnd(yargs: Argv, argv: string[], done: (code: Promise<number>) => void): Argv {
  return yargs
    .scriptName('ovsdb-ts')
    .usage('ovsdb-ts COMMAND ...\n\nA TypeScript OVSDB server: a drop-in for Open vSwitch 3.1 ovsdb-server.')
    .command(
      'run',
      'serve a database under DIR (created on first use): unix:DIR/db.sock, tcp:127.0.0.1:PORT, DIR/ovsdb-server.ctl',
      (y) =>
        y
          .option('data', { type: 'string', default: 'data', describe: 'the directory for the database, sockets, pidfile and log', requiresArg: true })
          .option('port', { type: 'string', default: '6640', describe: 'the TCP port (on 127.0.0.1)', requiresArg: true, coerce: parsePort })
          .strict(),
      (a) => done(run({ data: a.data, port: a.port as unknown as number })),
    )
    .command('server [ARGS..]', 'run ovsdb-server with exactly these arguments (see ovsdb-ts server --help)', {}, () =>
      done(passThrough('server', argv.slice(argv.indexOf('server') + 1))),
    )
    .command('appctl [ARGS..]', 'an ovs-appctl work-alike: [-t TARGET] [-T SECS] COMMAND [ARG...]', {}, () =>
      done(passThrough('appctl', argv.slice(argv.indexOf('appctl') + 1))),
    )
    .command('tool [ARGS..]', 'ovsdb-tool work-alike commands (see ovsdb-ts tool --help)', {}, () =>
      done(passThrough('tool', argv.slice(argv.indexOf('tool') + 1))),
    )
    .command('help', false, {}, () => {
      yargs.showHelp('log');
      done(Promise.resolve(0));
    })
    .demandCommand(1, 'no command given')
    .recommendCommands()
    .strictCommands()
    .strict()
    .help()
    .alias('h', 'help')
    .version(`ovsdb-ts ${OVSDB_TS_VERSION}`)
    .alias('V', 'version')
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((msg, err) => {
      // yargs's own validation errors (YError: coerce, requiresArg, strict) are usage errors; others are bugs.
      if (err && err.name !== 'YError') throw err;
      process.stderr.write(`ovsdb-ts: ${msg ?? err.message}\nTry 'ovsdb-ts --help' (or 'ovsdb-ts COMMAND --help').\n`);
      process.exit(1);
    });
}

async function main(argv: string[]): Promise<number> {
  const first = argv[0] as PassThrough;
  if (PASS_THROUGH.includes(first)) return passThrough(first, argv.slice(1));
  const { default: yargs } = await import('yargs');
  let result: Promise<number> = Promise.resolve(0);
  await frontEnd(yargs(argv), argv, (code) => (result = code)).parseAsync();
  return result;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof RunError) process.stderr.write(`ovsdb-ts run: ${e.message}\n`);
    else process.stderr.write(`ovsdb-ts: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
