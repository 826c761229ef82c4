// Preloaded into ovsdb-ts by bench/memory.ts (NODE_OPTIONS=--import): on SIGUSR2 it runs a full garbage
// collection and writes process.memoryUsage() and V8's heap spaces (committed and used bytes), as JSON, to $OVSDB_TS_MEMORY_PROBE;
// with $OVSDB_TS_MEMORY_SNAPSHOTS (a directory) also a heap snapshot (read one with bench/micro/heap-top.ts).
// Plain JavaScript, so it loads the same way under the bundle and under tsx.
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';

const out = process.env.OVSDB_TS_MEMORY_PROBE;
const snapshots = process.env.OVSDB_TS_MEMORY_SNAPSHOTS;
let taken = 0;
if (out) {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  process.on('SIGUSR2', () => {
    gc();
    gc();
    const spaces = {};
    for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = { size: s.space_size, used: s.space_used_size };
    if (snapshots) v8.writeHeapSnapshot(path.join(snapshots, `ovsdb-ts-${process.pid}-${++taken}.heapsnapshot`));
    fs.writeFileSync(`${out}.tmp`, JSON.stringify({ ...process.memoryUsage(), spaces }));
    fs.renameSync(`${out}.tmp`, out);
  });
}
