/**
 * Coded errors of the codec and the framing layer. Every malformed input becomes one of these
 * codes: a value the caller can count and act on, never an anonymous exception.
 */
export const ErrorCode = {
  /** XOR check code does not match header+body (JT/T 808 §1). */
  CHECKSUM: 'FG_ERR_CHECKSUM',
  /** 0x7D followed by something other than 0x01/0x02. */
  ESCAPE: 'FG_ERR_ESCAPE',
  /** The frame or a field ends before the declared data. */
  TRUNCATED: 'FG_ERR_TRUNCATED',
  /** Body length in the header disagrees with the bytes present. */
  BODY_LENGTH: 'FG_ERR_BODY_LENGTH',
  /** An additional item (0x0200) or parameter declares more bytes than remain. */
  ITEM_OVERRUN: 'FG_ERR_ITEM_OVERRUN',
  /** A known item or parameter has a length other than its declared size. */
  ITEM_LENGTH: 'FG_ERR_ITEM_LENGTH',
  /** Bytes left after the last declared field of a body. */
  TRAILING_BYTES: 'FG_ERR_TRAILING_BYTES',
  /** No declaration for this message id (the frame is still returned, raw). */
  UNKNOWN_MESSAGE: 'FG_ERR_UNKNOWN_MESSAGE',
  /** Bytes outside any 0x7E…0x7E frame (before the first flag). */
  GARBAGE: 'FG_ERR_GARBAGE',
  /** A frame grew past the configured maximum before its closing flag. */
  FRAME_TOO_LONG: 'FG_ERR_FRAME_TOO_LONG',
  /** A field holds a value outside its domain (bad BCD digit, impossible date, bad enum). */
  BAD_VALUE: 'FG_ERR_BAD_VALUE',
  /** The body is encrypted (bit 10) and no key is configured. */
  ENCRYPTED: 'FG_ERR_ENCRYPTED',
  /** The header's edition bit disagrees with the frame; the other edition's header fits. */
  EDITION_MISMATCH: 'FG_ERR_EDITION_MISMATCH',
  /** Gateway: a frame other than registration/authentication before authenticating. */
  NOT_AUTHENTICATED: 'FG_ERR_NOT_AUTHENTICATED',
  /** Gateway: authentication with an unknown terminal or a wrong auth code. */
  AUTH_FAILED: 'FG_ERR_AUTH_FAILED',
  /** Gateway: registration refused by policy. */
  REGISTRATION_REFUSED: 'FG_ERR_REGISTRATION_REFUSED',
  /** Gateway: a connection sent frames faster than its limit. */
  RATE_LIMIT: 'FG_ERR_RATE_LIMIT',
  /** Gateway: an unfinished frame waited longer than the partial-frame timeout. */
  PARTIAL_FRAME_TIMEOUT: 'FG_ERR_PARTIAL_FRAME_TIMEOUT',
  /** Gateway: a sub-package set was refused (memory cap) or expired incomplete. */
  REASSEMBLY: 'FG_ERR_REASSEMBLY',
  /** Encoding: a required field is missing or has the wrong type. */
  ENCODE: 'FG_ERR_ENCODE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** A coded error. Thrown only inside the codec and caught at its boundary. */
export class CodecError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'CodecError';
  }
}

/** A non-fatal problem found while decoding: the message is still usable. */
export interface Problem {
  code: ErrorCode;
  message: string;
}

export function isCodecError(e: unknown): e is CodecError {
  return e instanceof CodecError;
}
