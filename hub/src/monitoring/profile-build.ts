/** buildReferenceProfile off the event loop: one worker thread per profile, ended when it answers. */
import { Worker } from 'node:worker_threads';
import type { ProfileInput, ReferenceProfileSummary } from '@edgeloop/shared';

/** What the worker posts: the summary and packProfileArrays' bytes, or why the builder refused. */
export type BuildMessage = { summary: ReferenceProfileSummary; arrays: Uint8Array } | { error: string };

/** The profile's summary and packed arrays, computed in a worker thread (the input's arrays are copied to it). */
export async function buildProfileInWorker(input: ProfileInput): Promise<{ summary: ReferenceProfileSummary; arrays: Uint8Array }> {
  const worker = new Worker(new URL('./profile-build-entry.js', import.meta.url), { workerData: input });
  try {
    const message = await new Promise<BuildMessage>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the profile builder thread exited (code ${code}) without an answer`)));
    });
    if ('error' in message) throw new Error(message.error);
    return message;
  } finally {
    await worker.terminate();
  }
}
