// The OVSDB error object of RFC 7047 §3.1 as ovsdb-server shapes it:
// {"error": tag, "details"?: text, "syntax"?: <offending JSON, compact with sorted keys>, "io-error"?: text}.
import { shashOrder } from './ovs-order.ts';
import { stringifySorted, type JsonObject, type JsonValue } from './json.ts';

export class OvsdbError extends Error {
  readonly tag: string;
  readonly details: string;
  /** The offending input; rendered lazily as sorted-key JSON text in `syntax`. */
  readonly syntax: JsonValue | undefined;
  readonly hasSyntax: boolean;
  readonly ioError: string | undefined;

  constructor(tag: string, details = '', options: { syntax?: JsonValue; ioError?: string } = {}) {
    super(details ? `${tag}: ${details}` : tag);
    this.tag = tag;
    this.details = details;
    this.hasSyntax = 'syntax' in options;
    this.syntax = options.syntax;
    this.ioError = options.ioError;
  }

  /** The <error> object, its members in the reference's order (its hash order of error, details, syntax, io-error). */
  toJson(): JsonObject {
    const members: [string, string][] = [['error', this.tag]];
    if (this.details) members.push(['details', this.details]);
    if (this.hasSyntax) members.push(['syntax', stringifySorted(this.syntax ?? null)]);
    if (this.ioError !== undefined) members.push(['io-error', this.ioError]);
    const o: JsonObject = {};
    for (const k of shashOrder(members.map(([name]) => name))) o[k] = members.find(([name]) => name === k)![1];
    return o;
  }

  /** The same error with `context: ` before its details, as the reference's ovsdb_wrap_error(). */
  wrap(context: string): OvsdbError {
    const details = this.details ? `${context}: ${this.details}` : context;
    const opts: { syntax?: JsonValue; ioError?: string } = {};
    if (this.hasSyntax) opts.syntax = this.syntax;
    if (this.ioError !== undefined) opts.ioError = this.ioError;
    return new OvsdbError(this.tag, details, opts);
  }

  /** Log/unixctl rendering: `[syntax "<syntax>": ]<tag>[: <details>][ (<io-error>)]`. */
  render(): string {
    let s = '';
    if (this.hasSyntax) s += `syntax "${stringifySorted(this.syntax ?? null)}": `;
    s += this.tag;
    if (this.details) s += `: ${this.details}`;
    if (this.ioError !== undefined) s += ` (${this.ioError})`;
    return s;
  }
}

export const syntaxError = (details: string, syntax?: JsonValue): OvsdbError =>
  syntax === undefined ? new OvsdbError('syntax error', details) : new OvsdbError('syntax error', details, { syntax });

export const constraintViolation = (details: string, syntax?: JsonValue): OvsdbError =>
  syntax === undefined
    ? new OvsdbError('constraint violation', details)
    : new OvsdbError('constraint violation', details, { syntax });
