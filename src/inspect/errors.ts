/**
 * The one error every parser throws when its input is not that format at all.
 * `reason` is one line a user can read; `format` names the parser that refused.
 */
export type ParseFormat =
  | 'ipvsadm'
  | 'iptables'
  | 'ipset'
  | 'ip-addr'
  | 'kube-proxy-log'
  | 'proxy-mode'
  | 'nft'
  | 'snapshot';

export class ParseError extends Error {
  override readonly name = 'ParseError';
  readonly reason: string;
  constructor(
    readonly format: ParseFormat,
    reason: string,
  ) {
    // One line, whatever the input quoted in it held.

    const line = reason.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
    super(`not ${format} output: ${line}`);
    this.reason = line;
  }
}

export function isParseError(e: unknown): e is ParseError {
  return e instanceof ParseError;
}
