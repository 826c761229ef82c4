// `ovsdb-ts` — the project's own front end:
//   ovsdb-ts run [--data DIR]      the embedded default: a fresh database under ./data, unix socket + TCP
//   ovsdb-ts server ARGS...        exactly `ovsdb-server ARGS...`
//   ovsdb-ts appctl -t TARGET CMD  an ovs-appctl work-alike, for machines without OVS installed
//   ovsdb-ts tool CMD ARGS...      ovsdb-tool work-alike commands (standard file format and LMDB)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileStorage } from '../storage/file.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SERVER_BIN = path.join(ROOT, 'bin', 'ovsdb-server');
/** The Open_vSwitch schema when OVS is installed, else a small schema of our own. */
const SCHEMAS = ['/usr/share/openvswitch/vswitch.ovsschema', path.join(ROOT, 'fixtures/schemas/default.ovsschema')];

function usage(): string {
  return `usage: ovsdb-ts run [--data DIR] [--port PORT]
       ovsdb-ts server [ovsdb-server options] [DATABASE...]
       ovsdb-ts appctl [-t TARGET] [-T SECS] COMMAND [ARG...]
       ovsdb-ts tool COMMAND [ARG...]
`;
}

function runServer(args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(SERVER_BIN, args, { stdio: 'inherit' });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => forward(s));
    // A server stopped by a signal (Ctrl-C, kill) is reported as the shell would: 128 + signal number.
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
  });
}

async function run(argv: string[]): Promise<number> {
  let dataDir = path.resolve('data');
  let port = 6640;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--data') dataDir = path.resolve(argv[++i]);
    else if (argv[i] === '--port') port = Number(argv[++i]);
    else {
      process.stderr.write(usage());
      return 1;
    }
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const db = path.join(dataDir, 'conf.db');
  if (!fs.existsSync(db)) {
    const schemaFile = SCHEMAS.find((f) => fs.existsSync(f))!;
    FileStorage.create(db, JSON.parse(fs.readFileSync(schemaFile, 'utf8')));
    process.stdout.write(`created ${db} from ${schemaFile}\n`);
  }
  const sock = path.join(dataDir, 'db.sock');
  const ctl = path.join(dataDir, 'ovsdb-server.ctl');
  process.stdout.write(
    `serving ${db}\n` +
      `  unix socket: unix:${sock}\n` +
      `  TCP:         tcp:127.0.0.1:${port}\n` +
      `  control:     ovs-appctl -t ${ctl} list-commands   (or: bin/ovsdb-ts appctl -t ${ctl} list-commands)\n` +
      `try: ovsdb-client dump unix:${sock}\n`,
  );
  return runServer([
    `--remote=punix:${sock}`,
    `--remote=ptcp:${port}:127.0.0.1`,
    `--unixctl=${ctl}`,
    `--pidfile=${path.join(dataDir, 'ovsdb-server.pid')}`,
    `--log-file=${path.join(dataDir, 'ovsdb-server.log')}`,
    db,
  ]);
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'run':
      return run(rest);
    case 'server':
      return runServer(rest);
    case 'appctl': {
      const { runAppctl, APPCTL_TIMEOUT_STATUS } = await import('./appctl.ts');
      const code = await runAppctl(rest);
      // ovs-appctl dies of SIGALRM when -T expires; so do we.
      if (code === APPCTL_TIMEOUT_STATUS) process.kill(process.pid, 'SIGALRM');
      return code;
    }
    case 'tool': {
      const { runTool } = await import('./tool.ts');
      return runTool(rest);
    }
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(usage());
      return 0;
    default:
      process.stderr.write(usage());
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`ovsdb-ts: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
