// ClusterLog: a member's clustered file open for appending (raft.md §1.3, §1.7, §2.6.10): replay at open, group
// fdatasync with completion promises, atomic replacement with appends queued meanwhile, failure mode on I/O
// errors, torn tails. fdatasync completions are held and released by the tests (no timing involved).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClusterLog, createClusterHeader, headerText, recordText } from '../../raft/log.ts';
import type { LogEntry, LogRecord, MemberHeader } from '../../raft/types.ts';
import { MAGIC_CLUSTERED } from '../../storage/log-header.ts';
import { encodeRecordAs, type LogFs } from '../../storage/log.ts';

const A = 'aaaaaaaa-0000-4000-8000-000000000001';
const B = 'bbbbbbbb-0000-4000-8000-000000000002';
const CID = 'cccccccc-0000-4000-8000-000000000003';
const EID = 'eeeeeeee-0000-4000-8000-000000000004';
const E2 = 'eeeeeeee-0000-4000-8000-000000000005';
const SCHEMA = { name: 'Ex', version: '1.0.0', tables: { T: { columns: { name: { type: 'string' } } } } };
const HEADER: MemberHeader = createClusterHeader({ sid: A, cid: CID, eid: EID, name: 'Ex', localAddress: 'unix:a', data: [SCHEMA, {}] });

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovsdb-ts-clusterlog-'));
  file = path.join(dir, 'db');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** An fs whose fdatasyncs wait until the test releases them; optionally failing. */
function heldFs() {
  const held: (() => void)[] = [];
  let calls = 0;
  let failNext: string | null = null;
  let onCall: (() => void) | null = null;
  const io: Partial<LogFs> = {
    fdatasync: (fd, cb) => {
      calls++;
      const fail = failNext;
      failNext = null;
      held.push(() => (fail ? cb(Object.assign(new Error(fail), { code: fail })) : fs.fdatasync(fd, cb)));
      onCall?.();
    },
  };
  const nextCall = () => new Promise<void>((r) => (onCall = r));
  return {
    io,
    get calls() {
      return calls;
    },
    get held() {
      return held.length;
    },
    failNextWith(code: string) {
      failNext = code;
    },
    /** Releases the fdatasyncs held so far and waits until `s` settles or another fdatasync is called. */
    async release(s?: Settled): Promise<void> {
      const next = nextCall();
      for (const f of held.splice(0)) f();
      if (s) await Promise.race([next, s.promise]);
      await new Promise((r) => setImmediate(r));
    },
    /** Releases fdatasyncs as they come until `s` settles. */
    async until(s: Settled): Promise<void> {
      while (!s.done) {
        const next = nextCall();
        if (held.length > 0) for (const f of held.splice(0)) f();
        else await Promise.race([next, s.promise]);
        await new Promise((r) => setImmediate(r));
      }
    },
  };
}

interface Settled {
  done: boolean;
  error: unknown;
  promise: Promise<unknown>;
}

function settled<T>(p: Promise<T>): Settled {
  const s: Settled = { done: false, error: undefined, promise: Promise.resolve() };
  s.promise = p.then(
    () => {
      s.done = true;
    },
    (e: unknown) => {
      s.done = true;
      s.error = e;
    },
  );
  return s;
}

const entry = (term: number, index: number, extra: Omit<LogEntry, 'term'> = {}): LogRecord => ({
  type: 'entry',
  term,
  index,
  entry: { ...extra, term },
});

describe('ClusterLog', () => {
  it('create, append, reopen: the state replays', async () => {
    const log = ClusterLog.create(file, HEADER, [], { lock: false });
    await log.appendDurable([{ type: 'vote', term: 1, vote: A }, { type: 'leader', term: 1, leader: A }, entry(1, 2), { type: 'commit_index', commitIndex: 2 }]);
    log.appendEntry(3, { term: 1, data: [null, { T: {} }], eid: E2 });
    await log.durable();
    expect(log.isSynced).toBe(true);
    await log.close();
    const { log: again, state } = ClusterLog.open(file, { lock: false });
    expect(state).toMatchObject({ term: 1, vote: A, commitIndex: 2, entries: [{ term: 1 }, { term: 1, eid: E2, data: [null, { T: {} }] }] });
    expect(state.header).toEqual({ ...HEADER, snapshot: { ...HEADER.snapshot, electionTimer: 1000 } }); // absent → 1000
    await again.close();
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    expect(lines[0]).toMatch(/^OVSDB CLUSTER \d+ [0-9a-f]{40}$/);
    expect(lines[1]).toBe(headerText(HEADER));
    expect(lines[3]).toBe(`{"vote":"${A}","term":1}`);
    expect(lines[11]).toBe(`{"eid":"${E2}","data":[null,{"T":{}}],"term":1,"index":3}`);
  });

  it('group fsync: one fdatasync at a time, covering everything written before it started', async () => {
    ClusterLog.create(file, HEADER, [], { lock: false }).close();
    const h = heldFs();
    const { log } = ClusterLog.open(file, { lock: false, fs: h.io });
    // Records appended in one go share the fdatasync that starts when the current job ends.
    const s1 = log.append({ type: 'term', term: 1 });
    const d1 = settled(log.durable(s1));
    const s2 = log.append({ type: 'vote', term: 1, vote: A });
    const d2 = settled(log.durable(s2));
    await Promise.resolve();
    expect(h.calls).toBe(1);
    // While it runs, more records: they wait for the next one.
    const s3 = log.append(entry(1, 2));
    const d3 = settled(log.durable(s3));
    const s4 = log.append({ type: 'commit_index', commitIndex: 2 });
    const d4 = settled(log.durable(s4));
    await Promise.resolve();
    expect(h.calls).toBe(1);
    expect(log.isSynced).toBe(false);
    await h.release(d1);
    expect([d1.done, d2.done, d3.done, d4.done]).toEqual([true, true, false, false]);
    expect(h.calls).toBe(2); // one more, for s3 and s4
    await h.release(d4);
    expect([d3.done, d4.done, d3.error, d4.error]).toEqual([true, true, undefined, undefined]);
    expect(h.calls).toBe(2);
    expect(log.isSynced).toBe(true);
    // Nothing new: resolves at once, no fdatasync.
    const d5 = settled(log.durable(s2));
    await d5.promise;
    expect(h.calls).toBe(2);
    await log.close();
  });

  it('an fdatasync error fails the log (failure mode): waiters reject, appends throw', async () => {
    ClusterLog.create(file, HEADER, [], { lock: false }).close();
    const h = heldFs();
    const { log } = ClusterLog.open(file, { lock: false, fs: h.io });
    h.failNextWith('EIO');
    const d = settled(log.durable(log.append({ type: 'term', term: 1 })));
    await h.until(d);
    expect((d.error as { render(): string }).render()).toBe(`I/O error: ${file}: fdatasync failed (Input/output error)`);
    expect(log.error?.render()).toBe(`I/O error: ${file}: fdatasync failed (Input/output error)`);
    expect(() => log.append({ type: 'term', term: 2 })).toThrow(/fdatasync failed/);
    await expect(log.durable()).rejects.toThrow(/fdatasync failed/);
    await log.close();
  });

  it('a write error fails the log and leaves no partial record', async () => {
    ClusterLog.create(file, HEADER, [], { lock: false }).close();
    const size = fs.statSync(file).size;
    let fail = false;
    const { log } = ClusterLog.open(file, {
      lock: false,
      fs: {
        writeSync: (fd, buf, off, len, pos) => {
          if (fail) {
            fs.writeSync(fd, buf, off, 5, pos);
            throw Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
          }
          return fs.writeSync(fd, buf, off, len, pos);
        },
      },
    });
    fail = true;
    expect(() => log.append({ type: 'term', term: 1 })).toThrow(`I/O error: ${file}: write failed (No space left on device)`);
    expect(log.error).not.toBeNull();
    expect(fs.statSync(file).size).toBe(size);
    await log.close();
  });

  it('replace: the new file holds the snapshot state, records appended meanwhile follow it', async () => {
    const log0 = ClusterLog.create(file, HEADER, [], { lock: false });
    await log0.close();
    const h = heldFs();
    const { log } = ClusterLog.open(file, { lock: false, fs: h.io });
    const before = log.appendAll([{ type: 'vote', term: 2, vote: A }, entry(2, 2), entry(2, 3, { data: [null, {}], eid: E2 }), { type: 'commit_index', commitIndex: 3 }]);
    const dBefore = settled(log.durable(before));
    // Snapshot at index 3 (everything applied), then a new entry while the replacement runs.
    const snapHeader: MemberHeader = { ...HEADER, snapshot: { index: 3, term: 2, eid: E2, servers: new Map([[A, 'unix:a'], [B, 'unix:b']]), electionTimer: 1000, data: [SCHEMA, { T: {} }] } };
    const r = settled(log.replace({ header: snapHeader, entries: [], term: 2, vote: A, commitIndex: 3 }));
    const queued = log.append(entry(2, 4));
    const dQueued = settled(log.durable(queued));
    await h.until(r);
    await h.until(dQueued);
    expect([r.done, r.error]).toEqual([true, undefined]);
    expect([dBefore.done, dBefore.error]).toEqual([true, undefined]);
    expect([dQueued.done, dQueued.error]).toEqual([true, undefined]);
    await log.close();
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((_, i) => i % 2 === 1);
    expect(lines).toEqual([headerText(snapHeader), `{"vote":"${A}","term":2}`, '{"term":2,"index":4}']);
    expect(fs.existsSync(`${file}.tmp`)).toBe(false);
    const { log: again, state } = ClusterLog.open(file, { lock: false, onLog: () => {} });
    expect(state).toMatchObject({ term: 2, vote: A, commitIndex: 3, entries: [{ term: 2 }], snapshot: { index: 3, term: 2, eid: E2 } });
    expect([...state.servers!.keys()]).toEqual([A, B]);
    await again.close();
  });

  it('a failed replacement keeps the old file, with the queued records appended to it', async () => {
    await ClusterLog.create(file, HEADER, [], { lock: false }).close();
    const { log } = ClusterLog.open(file, {
      lock: false,
      fs: {
        renameSync: () => {
          throw Object.assign(new Error('EXDEV'), { code: 'EXDEV' });
        },
      },
    });
    log.append(entry(1, 2));
    const p = log.replace({ header: HEADER, entries: [{ term: 1 }], term: 1, vote: null, commitIndex: 1 });
    log.append(entry(1, 3));
    await expect(p).rejects.toThrow(/rename to .* failed \(Invalid cross-device link\)/);
    expect(log.error).toBeNull();
    await log.durable();
    await log.close();
    const { log: again, state } = ClusterLog.open(file, { lock: false });
    expect(state.entries).toEqual([{ term: 1 }, { term: 1 }]);
    await again.close();
    expect(fs.existsSync(`${file}.tmp`)).toBe(false);
  });

  it('a torn tail is dropped with a WARN and cut off before the next append', async () => {
    const log = ClusterLog.create(file, HEADER, [{ type: 'term', term: 1 }, entry(1, 2)], { lock: false });
    await log.close();
    fs.truncateSync(file, fs.statSync(file).size - 5);
    const logs: string[] = [];
    const { log: l2, state } = ClusterLog.open(file, { lock: false, onLog: (lvl, m) => logs.push(`${lvl}|${m}`) });
    expect(state.entries).toEqual([]);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^WARN\|I\/O error: .* error reading 21 bytes starting at offset \d+ \(End of file\); using the data before offset \d+ \(\d+ bytes of an incomplete last record dropped\)$/);
    l2.append(entry(1, 2, { electionTimer: 2000 }));
    await l2.close();
    const { log: l3, state: s3 } = ClusterLog.open(file, { lock: false });
    expect(s3.entries).toEqual([{ term: 1, electionTimer: 2000 }]);
    await l3.close();
  });

  it('open errors: the replay error, wrapped; a server outside its configuration; mid-file corruption', () => {
    const write = (recs: string[]) => fs.writeFileSync(file, Buffer.concat([headerText(HEADER), ...recs].map((t) => encodeRecordAs(t, MAGIC_CLUSTERED))));
    write([recordText(entry(1, 3))]);
    expect(() => ClusterLog.open(file, { lock: false })).toThrow('ovsdb error: error reading record 1 from Ex log: record 1 with index 3 skips past expected index 2');
    write([recordText(entry(1, 2, { servers: new Map([[B, 'unix:b']]) }))]);
    expect(() => ClusterLog.open(file, { lock: false })).toThrow('ovsdb error: server does not belong to cluster');
    write([recordText({ type: 'term', term: 1 }), recordText({ type: 'term', term: 2 })]);
    const data = fs.readFileSync(file);
    const at = data.indexOf('{"term":1}');
    data[at + 3] ^= 1;
    fs.writeFileSync(file, data);
    expect(() => ClusterLog.open(file, { lock: false })).toThrow(/have SHA-1 hash/);
    const { state } = ClusterLog.open(file, { lock: false, policy: 'reference', onLog: () => {} });
    expect(state.term).toBe(0);
  });

  it('openAsync: the state, logs and errors open() gives, a large snapshot read over several turns', async () => {
    const rows = Object.fromEntries(Array.from({ length: 20000 }, (_, i) => [`${i.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`, { name: `r${i}` }]));
    const big: MemberHeader = { ...HEADER, snapshot: { ...HEADER.snapshot, data: [SCHEMA, { T: rows }] } };
    const write = (header: MemberHeader, recs: LogRecord[]) =>
      fs.writeFileSync(file, Buffer.concat([headerText(header), ...recs.map(recordText)].map((t) => encodeRecordAs(t, MAGIC_CLUSTERED))));
    const outcome = async (open: () => Promise<{ log: ClusterLog; state: unknown }>) => {
      try {
        const { log, state } = await open();
        await log.close();
        return JSON.stringify(state, (_k, v: unknown) => (v instanceof Map ? [...v] : v));
      } catch (e) {
        return (e as Error).message;
      }
    };
    const cases: [MemberHeader, LogRecord[]][] = [
      [big, [{ type: 'vote', term: 1, vote: A }, entry(1, 2), entry(1, 3), { type: 'commit_index', commitIndex: 2 }]],
      [big, [entry(1, 3)]],
      [HEADER, [entry(1, 2, { servers: new Map([[B, 'unix:b']]) })]],
    ];
    for (const [header, recs] of cases) {
      write(header, recs);
      const logs: string[] = [];
      const want = await outcome(() => Promise.resolve(ClusterLog.open(file, { lock: false, onLog: (l, m) => logs.push(`${l} ${m}`) })));
      const wantLogs = logs.splice(0);
      expect(await outcome(() => ClusterLog.openAsync(file, { lock: false, onLog: (l, m) => logs.push(`${l} ${m}`) }))).toBe(want);
      expect(logs).toEqual(wantLogs);
    }
    // A torn tail after the large header.
    write(big, [entry(1, 2)]);
    fs.appendFileSync(file, 'OVSDB CLUSTER 99 0123');
    const logs: string[] = [];
    const { log, state } = await ClusterLog.openAsync(file, { lock: false, onLog: (l, m) => logs.push(`${l} ${m}`) });
    expect(state.entries).toHaveLength(1);
    expect(logs[0]).toMatch(/^WARN .*bytes of an incomplete last record dropped/);
    await log.close();
  });

  it('a long run of appends is written over several turns, in order, and durable() waits for all of it', async () => {
    const log = ClusterLog.create(file, HEADER, [], { lock: false });
    const recs = Array.from({ length: 6000 }, (_, k) => entry(1, k + 2, { data: [null, { T: { [`${k.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`]: { name: `n${k}` } } }], eid: E2 }));
    const sizeBefore = fs.statSync(file).size;
    const seq = log.appendAll(recs);
    const sizeAfterCall = fs.statSync(file).size;
    log.append({ type: 'commit_index', commitIndex: 6001 });
    await log.durable(seq + 1);
    await log.close();
    expect(sizeAfterCall).toBeGreaterThan(sizeBefore); // the first part at once
    const { log: again, state } = ClusterLog.open(file, { lock: false });
    expect(state.entries).toHaveLength(6000);
    expect(state.commitIndex).toBe(6001);
    await again.close();
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((_, i) => i % 2 === 1);
    expect(lines.slice(1)).toEqual([...recs.map(recordText), recordText({ type: 'commit_index', commitIndex: 6001 })]);
  });

  it('a joining file: state from the header only; what follows is cut at the next append', async () => {
    fs.writeFileSync(
      file,
      Buffer.concat(
        [
          headerText({ kind: 'joining', sid: B, name: 'Ex', localAddress: 'unix:b', remoteAddresses: ['unix:a'] }),
          recordText({ type: 'term', term: 4 }),
        ].map((t) => encodeRecordAs(t, MAGIC_CLUSTERED)),
      ),
    );
    const { log, state } = ClusterLog.open(file, { lock: false });
    expect(state).toMatchObject({ header: { kind: 'joining', sid: B }, term: 0, entries: [] });
    log.append({ type: 'term', term: 5 });
    await log.close();
    expect(fs.readFileSync(file, 'utf8')).not.toContain('"term":4');
    expect(fs.readFileSync(file, 'utf8')).toContain('"term":5');
  });

  it('takes the lock file, as ovsdb-server does', async () => {
    await ClusterLog.create(file, HEADER, [], { lock: false }).close();
    const { log } = ClusterLog.open(file);
    expect(() => ClusterLog.open(file)).toThrow(/failed to lock lockfile/);
    await log.close();
    const { log: again } = ClusterLog.open(file);
    await again.close();
  });

  it('close waits for the fdatasync in flight; later durable() calls reject', async () => {
    await ClusterLog.create(file, HEADER, [], { lock: false }).close();
    const h = heldFs();
    const { log } = ClusterLog.open(file, { lock: false, fs: h.io });
    const d = settled(log.durable(log.append({ type: 'term', term: 1 })));
    const c = settled(log.close());
    await Promise.resolve();
    await Promise.resolve();
    expect(c.done).toBe(false);
    await h.until(c);
    expect([d.done, d.error, c.done]).toEqual([true, undefined, true]);
    expect(() => log.append({ type: 'term', term: 2 })).toThrow('log is closed');
  });

  it('random interleavings of appends, durable(), replacements and fdatasync completions keep every record', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      let x = seed * 2654435761;
      const rnd = (n: number) => {
        x = (x * 1103515245 + 12345) % 2147483648;
        return x % n;
      };
      const f = path.join(dir, `stress${seed}`);
      await ClusterLog.create(f, HEADER, [], { lock: false }).close();
      const h = heldFs();
      const { log } = ClusterLog.open(f, { lock: false, fs: h.io });
      let term = 0;
      const waits: Settled[] = [];
      for (let step = 0; step < 60; step++) {
        const op = rnd(10);
        if (op < 5) log.append({ type: 'term', term: ++term });
        else if (op < 7) waits.push(settled(log.durable()));
        else if (op < 8) waits.push(settled(log.replace({ header: HEADER, entries: [], term, vote: null, commitIndex: 1 })));
        else await h.release();
        if (rnd(3) === 0) await new Promise((r) => setImmediate(r));
      }
      const all = settled(Promise.all(waits.map((w) => w.promise)));
      await h.until(all);
      expect(waits.map((w) => w.error)).toEqual(waits.map(() => undefined));
      const last = settled(log.close());
      await h.until(last);
      const { log: again, state } = ClusterLog.open(f, { lock: false });
      expect(state.term).toBe(term);
      await again.close();
    }
  });
});
