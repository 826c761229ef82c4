// Errors raised by the record log: OVSDB error objects (RFC 7047 §3.1 plus the OVS "io-error"
// extension), so the database layer can hand them to clients or logs unchanged.
import { OvsdbError } from '../schema/error.ts';

export type LogErrorTag = 'I/O error' | 'syntax error' | 'ovsdb error';

export class LogError extends OvsdbError {
  declare readonly tag: LogErrorTag;
  /** File offset of the record at which reading failed, when the error is about a record. */
  readonly offset: number | undefined;

  constructor(tag: LogErrorTag, details: string, opts: { ioError?: string; offset?: number } = {}) {
    super(tag, details, opts.ioError === undefined ? {} : { ioError: opts.ioError });
    this.name = 'LogError';
    this.message = renderError(tag, details, opts.ioError); // what a log line shows, strerror included
    this.offset = opts.offset;
  }
}

function renderError(tag: string, details: string, ioError: string | undefined): string {
  let s = tag;
  if (details) s += `: ${details}`;
  if (ioError !== undefined) s += ` (${ioError})`;
  return s;
}

// glibc strerror texts: OVS prints these, while Node's own messages come from libuv and differ
// ("file already exists" vs "File exists").
const STRERROR: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  EINTR: 'Interrupted system call',
  EIO: 'Input/output error',
  EBADF: 'Bad file descriptor',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  EXDEV: 'Invalid cross-device link',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EINVAL: 'Invalid argument',
  ENFILE: 'Too many open files in system',
  EMFILE: 'Too many open files',
  ETXTBSY: 'Text file busy',
  EFBIG: 'File too large',
  ENOSPC: 'No space left on device',
  ESPIPE: 'Illegal seek',
  EROFS: 'Read-only file system',
  ENAMETOOLONG: 'File name too long',
  ENOTEMPTY: 'Directory not empty',
  ELOOP: 'Too many levels of symbolic links',
  EDQUOT: 'Disk quota exceeded',
  ESTALE: 'Stale file handle',
  EOVERFLOW: 'Value too large for defined data type',
};

/** glibc's strerror text for a Node system error (or its `code`); falls back to the error message. */
export function strerror(err: unknown): string {
  const code = typeof err === 'string' ? err : (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in STRERROR) return STRERROR[code]!;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.message : String(err);
}

/** `I/O error: <file>: <what> (<strerror>)` from a failed fs call. */
export function ioError(details: string, err: unknown, offset?: number): LogError {
  return new LogError('I/O error', details, offset === undefined ? { ioError: strerror(err) } : { ioError: strerror(err), offset });
}
