// A strict JSON-object member parser with the reference's messages, shared by schema parsing and transaction
// operation parsing: "Parsing <what> failed: Required 'x' member is missing." and friends.
import { isId } from './atom.ts';
import { OvsdbError } from './error.ts';
import { isJsonObject, type JsonObject, type JsonValue } from './json.ts';

export type MemberKind = 'string' | 'id' | 'object' | 'array' | 'boolean' | 'integer' | 'number' | 'any';

function matches(kind: MemberKind, v: JsonValue): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'id':
      return typeof v === 'string' && isId(v);
    case 'object':
      return isJsonObject(v);
    case 'array':
      return Array.isArray(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'integer':
      return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
    case 'number':
      return typeof v === 'number' || typeof v === 'bigint';
    case 'any':
      return true;
  }
}

export class MemberParser {
  /** Members read so far, each once (a handful: an array costs less than a Set per parsed object). */
  protected readonly used: string[] = [];

  constructor(
    readonly json: JsonObject,
    private readonly what: string,
    /** What `syntax` holds on errors; the whole object unless told otherwise. */
    private readonly syntax: JsonValue = json,
  ) {}

  error(details: string): OvsdbError {
    return new OvsdbError('syntax error', `Parsing ${this.what} failed: ${details}`, { syntax: this.syntax });
  }

  optional(name: string, kind: MemberKind): JsonValue | undefined {
    if (!Object.prototype.hasOwnProperty.call(this.json, name)) return undefined;
    const v = this.json[name];
    if (!this.used.includes(name)) this.used.push(name);
    if (!matches(kind, v)) throw this.error(`Type mismatch for member '${name}'.`);
    return v;
  }

  required(name: string, kind: MemberKind): JsonValue {
    const v = this.optional(name, kind);
    if (v === undefined) throw this.error(`Required '${name}' member is missing.`);
    return v;
  }

  /** Rejects members nobody asked for. */
  finish(): void {
    const keys = Object.keys(this.json);
    // Every used member is a distinct own member, so equal counts mean nothing else is there.
    if (keys.length === this.used.length) return;
    const extra = keys.filter((k) => !this.used.includes(k));
    if (extra.length === 0) return;
    if (extra.length === 1) throw this.error(`Member '${extra[0]}' is present but not allowed here.`);
    const others = extra.length - 1;
    throw this.error(
      `Member '${extra[0]}' and ${others} other member${others > 1 ? 's' : ''} are present but not allowed here.`,
    );
  }
}
