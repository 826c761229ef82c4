// The OVSDB error object of RFC 7047 §3.1 as ovsdb-server shapes it:
// {"error": tag, "details"?: text, "syntax"?: <offending JSON, compact with sorted keys>, "io-error"?: text}.
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

  toJson(): JsonObject {
    const o: JsonObject = { error: this.tag };
    if (this.details) o.details = this.details;
    if (this.hasSyntax) o.syntax = stringifySorted(this.syntax ?? null);
    if (this.ioError !== undefined) o['io-error'] = this.ioError;
    return o;
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
