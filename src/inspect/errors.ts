/**
 * The one error every parser throws when its input is not that format at all.
 * `reason` is one line a user can read; `format` names the parser that refused.
 */
export type ParseFormat = 'ipvsadm' | 'iptables' | 'ipset' | 'ip-addr' | 'kube-proxy-log' | 'proxy-mode' | 'snapshot';

export class ParseError extends Error {
  override readonly name = 'ParseError';
  constructor(
    readonly format: ParseFormat,
    readonly reason: string,
  ) {
    super(`not ${format} output: ${reason}`);
  }
}

export function isParseError(e: unknown): e is ParseError {
  return e instanceof ParseError;
}
