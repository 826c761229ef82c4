// Property test: a client that applies the initial reply and every update (v1 new/old, v2/v3 diffs), taken
// at random moments (so backlogs merge), ends with exactly the monitored view of the database; and
// monitor_cond_since from any remembered txn id brings a remembered replica up to date.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { datumApplyDiff, datumFromJson, datumToJson, defaultDatum } from '../../schema/datum.ts';
import { isJsonObject, parseJson, type JsonObject, type JsonValue } from '../../schema/json.ts';
import { matchesAny } from '../../storage/condition.ts';
import { columnValue } from '../../storage/row.ts';
import type { Monitor } from '../../server/monitor.ts';
import { Fixture } from './monitor-util.ts';

type Replica = Map<string, JsonObject>;

const COLUMNS = ['x', 'tags', 'm', 'opt', 'name'];

function applyUpdates(f: Fixture, version: 1 | 2 | 3, replica: Replica, updates: JsonValue): void {
  const table = f.db.schema.tables.get('T')!;
  const tu = (updates as JsonObject).T;
  if (tu === undefined) return;
  for (const [uuid, ru] of Object.entries(tu as JsonObject)) {
    const r = ru as JsonObject;
    if (version === 1) {
      if ('new' in r) replica.set(uuid, { ...(r.new as JsonObject) });
      else replica.delete(uuid);
      continue;
    }
    if ('initial' in r || 'insert' in r) {
      const vals = (r.initial ?? r.insert) as JsonObject;
      const row: JsonObject = {};
      for (const name of COLUMNS) {
        const c = table.columnsByName.get(name)!;
        row[name] = vals[name] ?? datumToJson(c.type, defaultDatum(c.type));
      }
      replica.set(uuid, row);
    } else if ('delete' in r) {
      expect(replica.has(uuid)).toBe(true);
      replica.delete(uuid);
    } else {
      const row = replica.get(uuid)!;
      expect(row).toBeDefined();
      for (const [name, diffJson] of Object.entries(r.modify as JsonObject)) {
        const c = table.columnsByName.get(name)!;
        const old = datumFromJson(c.type, row[name]);
        const diff = datumFromJson(c.type, diffJson, { ignoreSize: true, checkConstraints: false });
        row[name] = datumToJson(c.type, datumApplyDiff(c.type, old, diff));
      }
    }
  }
}

function expected(f: Fixture, m: Monitor): Replica {
  const mt = m.spec.tables.get('T')!;
  const out: Replica = new Map();
  for (const row of f.db.table('T').rows.values()) {
    if (mt.where.length > 0 && !matchesAny(mt.where, row)) continue;
    const o: JsonObject = {};
    for (const name of COLUMNS) {
      const c = mt.table.columnsByName.get(name)!;
      o[name] = datumToJson(c.type, columnValue(row, c));
    }
    out.set(row.uuid, o);
  }
  return out;
}

const sorted = (r: Replica) => [...r.entries()].sort(([a], [b]) => (a < b ? -1 : 1));

const opArb = fc.oneof(
  fc.record({
    kind: fc.constant('insert' as const),
    x: fc.integer({ min: 0, max: 3 }),
    tags: fc.subarray(['a', 'b', 'c']),
    m: fc.subarray(['k1', 'k2', 'k3']),
    v: fc.integer({ min: 0, max: 2 }),
    opt: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
  }),
  fc.record({
    kind: fc.constant('update' as const),
    pick: fc.nat(),
    x: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
    tags: fc.option(fc.subarray(['a', 'b', 'c']), { nil: undefined }),
    m: fc.option(fc.subarray(['k1', 'k2', 'k3']), { nil: undefined }),
    v: fc.integer({ min: 0, max: 2 }),
    opt: fc.option(fc.option(fc.integer({ min: 0, max: 2 }), { nil: null }), { nil: undefined }),
  }),
  fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
);

const stepArb = fc.record({ ops: fc.array(opArb, { minLength: 1, maxLength: 3 }), take: fc.boolean(), remember: fc.boolean() });

function rowJson(op: { x?: number; tags?: string[]; m?: string[]; v: number; opt?: number | null }): JsonObject {
  const row: JsonObject = {};
  if (op.x !== undefined) row.x = op.x;
  if (op.tags !== undefined) row.tags = ['set', op.tags];
  if (op.m !== undefined) row.m = ['map', op.m.map((k) => [k, `v${op.v}`])];
  if (op.opt !== undefined) row.opt = op.opt === null ? ['set', []] : op.opt;
  return row;
}

const REQUESTS: [1 | 2 | 3, JsonValue][] = [
  [1, { T: { columns: COLUMNS } }],
  [2, { T: { columns: COLUMNS } }],
  [2, { T: { columns: COLUMNS, where: [['x', '==', 1], ['tags', 'includes', 'a']] } }],
  [3, { T: { columns: COLUMNS, where: [['m', 'includes', ['map', [['k1', 'v1']]]], ['opt', '>=', 1]] } }],
];

describe('replica convergence', () => {
  for (const [version, req] of REQUESTS) {
    it(`v${version} ${JSON.stringify(req)}`, () => {
      fc.assert(
        fc.property(fc.array(stepArb, { minLength: 1, maxLength: 25 }), (steps) => {
          const f = new Fixture({ maxCommits: 1000 });
          const uuids: string[] = [];
          // Some rows exist before the monitor starts.
          f.tx({ op: 'insert', table: 'T', row: { x: 1, tags: 'a' } }, { op: 'insert', table: 'T', row: { x: 2 } });
          for (const u of f.db.table('T').rows.keys()) uuids.push(u);
          const m = f.monitor('r', version, req);
          const replica: Replica = new Map();
          applyUpdates(f, version, replica, m.initial());
          const remembered: [string, Replica][] = [];
          const drain = () => {
            for (let s = m.takeUpdate(); s !== null; s = m.takeUpdate()) {
              const msg = parseJson(s) as JsonObject;
              const params = msg.params as JsonValue[];
              expect(msg.method).toBe(version === 1 ? 'update' : version === 2 ? 'update2' : 'update3');
              applyUpdates(f, version, replica, params[params.length - 1]);
            }
          };
          for (const step of steps) {
            const ops: JsonValue[] = [];
            for (const op of step.ops) {
              const live = [...f.db.table('T').rows.keys()];
              if (op.kind === 'insert') {
                ops.push({ op: 'insert', table: 'T', row: rowJson(op) });
              } else if (live.length > 0) {
                const uuid = live[op.pick % live.length];
                const where = [['_uuid', '==', ['uuid', uuid]]];
                ops.push(op.kind === 'update' ? { op: 'update', table: 'T', where, row: rowJson(op) } : { op: 'delete', table: 'T', where });
              }
            }
            if (ops.length > 0) f.tx(...ops);
            if (step.take) drain();
            if (step.take && step.remember && version !== 1) {
              remembered.push([f.history.latest, new Map([...replica].map(([k, v]) => [k, { ...v }]))]);
            }
          }
          drain();
          expect(sorted(replica)).toEqual(sorted(expected(f, m)));
          for (const [id, snap] of remembered) {
            const [found, latest, body] = m.sinceResult(f.history, id) as [boolean, string, JsonValue];
            expect(latest).toBe(f.history.latest);
            if (!found) {
              expect(id).toBe('00000000-0000-0000-0000-000000000000');
              continue;
            }
            expect(isJsonObject(body)).toBe(true);
            applyUpdates(f, version, snap, body);
            expect(sorted(snap)).toEqual(sorted(expected(f, m)));
          }
        }),
        { numRuns: 100 },
      );
    });
  }
});
