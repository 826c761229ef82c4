// Child process for the kill -9 tests: opens a database (file engine or LMDB), then commits one insert after
// another and prints "ack <n>" only after the storage write returned (what the server acknowledges).
// Every 97th commit is durable; the file engine compacts every 150 commits, so kills land in compactions too.
import { FileStorage } from '../../storage/file.ts';
import { LmdbStorage } from '../../storage/lmdb.ts';
import { execute } from '../../storage/execution.ts';
import type { Database } from '../../storage/database.ts';
import type { JsonValue } from '../../schema/json.ts';

const [engine, path, startArg] = process.argv.slice(2);
const opened = engine === 'lmdb' ? LmdbStorage.open(path) : FileStorage.open(path);
const db: Database = opened.db;
const storage = opened.storage;
let n = Number(startArg);
process.stdout.write('ready\n');

function step(): void {
  for (let k = 0; k < 20; k++) {
    const ops: JsonValue[] = [
      { op: 'insert', table: 'T', row: { n, s: `row ${n}`, tags: ['set', [`t${n % 7}`, `u${n % 5}`]] } },
      { op: 'mutate', table: 'T', where: [['n', '==', n - 1]], mutations: [['tags', 'insert', ['set', [`after${n}`]]]] },
      ...(n % 97 === 0 ? [{ op: 'commit', durable: true }] : []),
    ];
    const out = execute(db, ops);
    if (out.kind !== 'done' || out.commit === null) throw new Error(`transaction failed: ${JSON.stringify(out)}`);
    storage.write(out.commit, '');
    db.apply(out.commit);
    process.stdout.write(`ack ${n}\n`);
    n++;
    if (engine === 'file' && n % 150 === 0) storage.compact(db);
  }
  setImmediate(step);
}
step();
