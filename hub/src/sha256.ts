/** The hex sha256 of text or bytes: content addresses, request signatures, the inputs of pipeline steps. */
import crypto from 'node:crypto';

export const sha256Hex = (data: string | Uint8Array) => crypto.createHash('sha256').update(data).digest('hex');
