/**
 * Runs shared's buildReferenceProfile in a worker thread (seconds of simulation for thresholds), so the hub process
 * that took the job keeps answering requests. Posts back the summary and the packed arrays, or the error's message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type ProfileInput, buildReferenceProfile, packProfileArrays } from '@edgeloop/shared';
import type { BuildMessage } from './profile-build';

let message: BuildMessage;
try {
  const profile = buildReferenceProfile(workerData as ProfileInput);
  message = { summary: profile.summary, arrays: packProfileArrays(profile.arrays) };
} catch (error) {
  message = { error: error instanceof Error ? error.message : String(error) };
}
parentPort!.postMessage(message, 'arrays' in message ? [message.arrays.buffer as ArrayBuffer] : []);
