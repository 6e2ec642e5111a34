/**
 * A failure the caller can fix. Services throw these; the API maps `code` to a tRPC error code
 * and the CLI prints the message. Anything else is a bug and becomes INTERNAL_SERVER_ERROR.
 */
export type HubErrorCode = 'BAD_REQUEST' | 'NOT_FOUND' | 'CONFLICT' | 'FORBIDDEN' | 'UNAUTHORIZED' | 'PAYLOAD_TOO_LARGE';

export class HubError extends Error {
  constructor(
    readonly code: HubErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

export const badRequest = (message: string) => new HubError('BAD_REQUEST', message);
export const notFound = (message: string) => new HubError('NOT_FOUND', message);
export const conflict = (message: string) => new HubError('CONFLICT', message);
