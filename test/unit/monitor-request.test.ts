// Parsing of monitor / monitor_cond requests: every error text as the reference (OVS 3.1) answers it.
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../schema/json.ts';
import { parseMonitorRequest } from '../../server/monitor.ts';
import { createDatabase } from '../../storage/index.ts';
import { errorOf, MON_SCHEMA } from './monitor-util.ts';

const db = createDatabase(MON_SCHEMA);
const err = (version: 1 | 2 | 3, req: JsonValue) => errorOf(() => parseMonitorRequest(db, version, req));

describe('monitor request errors', () => {
  it('monitor-requests must be an object', () => {
    expect(err(1, [])).toEqual({ error: 'syntax error', details: 'monitor-requests must be object', syntax: '[]' });
  });

  it('unknown tables are found before any request is parsed', () => {
    expect(err(1, { T: { columns: ['zz'] }, Nope: {} })).toEqual({
      error: 'syntax error',
      details: 'no table named Nope',
    });
    expect(err(2, { Nope: {}, T: { columns: ['zz'] } })).toEqual({
      error: 'syntax error',
      details: 'no table named Nope',
    });
  });

  it('requests must be objects', () => {
    const expected = { error: 'syntax error', details: 'Parsing table T failed: Object expected.' };
    expect(err(1, { T: 5 })).toEqual(expected);
    expect(err(1, { T: [5] })).toEqual(expected);
    expect(err(1, { T: [{}, 'x'] })).toEqual(expected);
  });

  it('member type mismatches, in the order columns, where, select', () => {
    expect(err(1, { T: { columns: 'x' } })).toEqual({
      error: 'syntax error',
      details: "Parsing table T failed: Type mismatch for member 'columns'.",
      syntax: '{"columns":"x"}',
    });
    expect(err(2, { T: { select: 5, columns: 5 } })).toEqual({
      error: 'syntax error',
      details: "Parsing table T failed: Type mismatch for member 'columns'.",
      syntax: '{"columns":5,"select":5}',
    });
    expect(err(2, { T: { where: 5, select: 5 } })).toEqual({
      error: 'syntax error',
      details: "Parsing table T failed: Type mismatch for member 'where'.",
      syntax: '{"select":5,"where":5}',
    });
    expect(err(1, { T: { select: [] } })).toEqual({
      error: 'syntax error',
      details: "Parsing table T failed: Type mismatch for member 'select'.",
      syntax: '{"select":[]}',
    });
  });

  it('where is not allowed in v1', () => {
    expect(err(1, { T: { where: [] } })).toEqual({
      error: 'syntax error',
      details: "Parsing table T failed: Member 'where' is present but not allowed here.",
      syntax: '{"where":[]}',
    });
  });

  it('unknown members are reported before the select contents', () => {
    expect(err(1, { T: { bogus: 1, select: { initial: 1 } } })).toEqual({
      error: 'syntax error',
      details: "Parsing table T failed: Member 'bogus' is present but not allowed here.",
      syntax: '{"bogus":1,"select":{"initial":1}}',
    });
    expect(err(1, { T: { bogus: 1, columns: ['nope'] } })).toEqual({
      error: 'syntax error',
      details: "Parsing table T failed: Member 'bogus' is present but not allowed here.",
      syntax: '{"bogus":1,"columns":["nope"]}',
    });
  });

  it('select errors come before column errors, and have the select object as syntax', () => {
    expect(err(1, { T: { columns: ['nope'], select: { initial: 1 } } })).toEqual({
      error: 'syntax error',
      details: "Parsing table T select failed: Type mismatch for member 'initial'.",
      syntax: '{"initial":1}',
    });
    expect(err(1, { T: { select: { bogus: true } } })).toEqual({
      error: 'syntax error',
      details: "Parsing table T select failed: Member 'bogus' is present but not allowed here.",
      syntax: '{"bogus":true}',
    });
    expect(err(2, { T: { where: [['zz', '==', 1]], select: { initial: 1 } } })).toEqual({
      error: 'syntax error',
      details: "Parsing table T select failed: Type mismatch for member 'initial'.",
      syntax: '{"initial":1}',
    });
  });

  it('column list errors, element by element', () => {
    expect(err(1, { T: { columns: [1] } })).toEqual({
      error: 'syntax error',
      details: 'array of column names expected',
      syntax: '[1]',
    });
    expect(err(1, { T: { columns: ['zz', 1] } })).toEqual({
      error: 'syntax error',
      details: 'zz is not a valid column name',
      syntax: '["zz",1]',
    });
    expect(err(1, { T: { columns: [1, 'zz'] } })).toEqual({
      error: 'syntax error',
      details: 'array of column names expected',
      syntax: '[1,"zz"]',
    });
    expect(err(1, { T: { columns: ['zz', 'x', 'x'] } })).toEqual({
      error: 'syntax error',
      details: 'zz is not a valid column name',
      syntax: '["zz","x","x"]',
    });
    expect(err(1, { T: { columns: ['x', 'x', 'zz'] } })).toEqual({
      error: 'syntax error',
      details: 'column x mentioned more than once',
      syntax: '["x","x","zz"]',
    });
  });

  it('a column in two requests of one table', () => {
    expect(err(1, { T: [{ columns: ['x'] }, { columns: ['name', 'x'] }] })).toEqual({
      error: 'syntax error',
      details: 'column x mentioned more than once',
      syntax: '["name","x"]',
    });
    expect(err(1, { T: [{}, { columns: ['x'] }] })).toEqual({
      error: 'syntax error',
      details: 'column x mentioned more than once',
      syntax: '["x"]',
    });
    // Without a column list there is no syntax member.
    expect(err(1, { T: [{ columns: ['x'] }, {}] })).toEqual({
      error: 'syntax error',
      details: 'column x mentioned more than once',
    });
    expect(err(1, { T: [{}, {}] })).toEqual({
      error: 'syntax error',
      details: 'column _version mentioned more than once',
    });
  });

  it('where clause errors are the condition errors, after the column checks', () => {
    expect(err(2, { T: { where: [['x', '===', 1]] } })).toEqual({
      error: 'unknown function',
      details: 'No function named ===.',
    });
    expect(err(2, { T: { where: [['x', '==', 's']] } })).toEqual({
      error: 'syntax error',
      details: 'expected integer',
      syntax: '"s"',
    });
    expect(err(3, { T: { where: [['zz', '==', 1]], columns: ['nope'] } })).toEqual({
      error: 'syntax error',
      details: 'nope is not a valid column name',
      syntax: '["nope"]',
    });
    expect(err(2, { T: { columns: ['x', 'x'], where: [['zz', '==', 1]] } })).toEqual({
      error: 'syntax error',
      details: 'column x mentioned more than once',
      syntax: '["x","x"]',
    });
    // A later request's where is checked too.
    expect(err(2, { T: [{ columns: ['x'] }, { columns: ['name'], where: [['zz', '==', 1]] }] })).toEqual({
      error: 'unknown column',
      details: 'No column zz in table T.',
      syntax: '["zz","==",1]',
    });
    expect(err(2, { T: [{}, { columns: ['name'], where: [['zz', '==', 1]] }] })).toEqual({
      error: 'syntax error',
      details: 'column name mentioned more than once',
      syntax: '["name"]',
    });
  });
});

describe('monitor request specs', () => {
  it('no column list: _version and the user columns, not _uuid', () => {
    const spec = parseMonitorRequest(db, 1, { T: {} });
    expect(spec.tables.get('T')!.columns.map((c) => c.column.name)).toEqual([
      '_version',
      'x',
      'name',
      'tags',
      'opt',
      'm',
      'b',
    ]);
  });

  it('empty request arrays and {} monitor nothing', () => {
    expect(parseMonitorRequest(db, 1, {}).tables.size).toBe(0);
    expect([...parseMonitorRequest(db, 1, { T: [], C: {} }).tables.keys()]).toEqual(['C']);
  });

  it('the shape key ignores column order and clause order, and v2/v3 share shapes', () => {
    const a = parseMonitorRequest(db, 2, { T: { columns: ['x', 'name'], where: [['x', '==', 1], ['x', '==', 2]] } });
    const b = parseMonitorRequest(db, 3, { T: { columns: ['name', 'x'], where: [['x', '==', 2], ['x', '==', 1], false] } });
    const c = parseMonitorRequest(db, 2, { T: { columns: ['name', 'x'], where: [['x', '==', 2]] } });
    const v1 = parseMonitorRequest(db, 1, { T: { columns: ['name', 'x'] } });
    const all = parseMonitorRequest(db, 2, { T: { columns: ['name', 'x'], where: [['x', '==', 2], true] } });
    const none = parseMonitorRequest(db, 2, { T: { columns: ['name', 'x'] } });
    expect(a.shapeKey).toBe(b.shapeKey);
    expect(a.shapeKey).not.toBe(c.shapeKey);
    expect(v1.shapeKey).not.toBe(none.shapeKey);
    expect(all.shapeKey).toBe(none.shapeKey);
  });
});
