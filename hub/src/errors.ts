/**
 * A failure the caller can fix. Services throw these; the API maps `code` to a tRPC error code
 * and the CLI prints the message. Anything else is a bug and becomes INTERNAL_SERVER_ERROR.
 */
export type HubErrorCode = 'BAD_REQUEST' | 'NOT_FOUND' | 'CONFLICT' | 'FORBIDDEN' | 'UNAUTHORIZED' | 'PAYLOAD_TOO_LARGE' | 'TOO_MANY_REQUESTS';

export class HubError extends Error {
  constructor(
    readonly code: HubErrorCode,
    message: string,
    /** For TOO_MANY_REQUESTS: when a retry can succeed; sent to clients as data.retryAfterSeconds. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

export const badRequest = (message: string) => new HubError('BAD_REQUEST', message);
export const notFound = (message: string) => new HubError('NOT_FOUND', message);
export const conflict = (message: string) => new HubError('CONFLICT', message);
export const tooManyRequests = (message: string, retryAfterSeconds: number) => new HubError('TOO_MANY_REQUESTS', message, retryAfterSeconds);
