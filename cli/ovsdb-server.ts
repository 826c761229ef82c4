// `ovsdb-server` — the drop-in command line (reference §1).  The entry scans the options first: --help,
// --version and option errors are answered before the server's modules (koffi, the engine) load, as fast
// as the C server answers them; any other command line continues in server-main.ts.
import { PROGRAM, scanServerArgs } from './getopt.ts';

function crash(e: unknown): never {
  process.stderr.write(`${PROGRAM}: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
}

process.title = PROGRAM;
const argv = process.argv.slice(2);
const scanned = scanServerArgs(argv);
if (scanned.kind === 'exit') {
  process.stdout.write(scanned.stdout);
  process.stderr.write(scanned.stderr);
  process.exit(scanned.code);
}
import('./server-main.ts').then((m) => m.main(argv)).catch(crash);
