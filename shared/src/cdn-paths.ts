/**
 * The CDN's layout: where the hub writes published files (object-store keys under the public cdn/ prefix) and where
 * clients read them (the same paths under the CDN base URL the hub publishes with its keys).
 *
 *   cdn/<project>/<model>/channels/<channel>.json   signed channel pointer (short max-age)
 *   cdn/<project>/<model>/v<version>/...            signed manifest and content-hashed files (immutable):
 *     manifest.<sha16>.json                           the signed manifest naming every file below
 *     <format>/model.<sha16>.json                     tfjs model.json, naming its shards relative to itself
 *     <format>/group1-shard<n>of<count>.<sha16>.bin   weight shards, n from 1
 * <sha16> is the first 16 hex digits of the file's sha256, so a file's name changes whenever its content does.
 */
import type { ModelFormat } from './model-manifest';

/** Object-store prefix that is publicly readable (the CDN origin). */
export const CDN_PREFIX = 'cdn/';

export const modelDir = (project: string, model: string) => `${CDN_PREFIX}${project}/${model}/`;
export const versionDir = (project: string, model: string, version: number) => `${modelDir(project, model)}v${version}/`;
export const channelPointerKey = (project: string, model: string, channel: string) => `${modelDir(project, model)}channels/${channel}.json`;

/** A client-facing URL of an object-store key under cdn/ (the hub's /cdn route, or the configured CDN). */
export function cdnUrl(cdnBaseUrl: string, key: string): string {
  return `${cdnBaseUrl.replace(/\/$/, '')}/${key.slice(CDN_PREFIX.length)}`;
}

const nameHash = (sha256: string) => sha256.slice(0, 16);

/** The signed manifest's file name in its version's folder; `sha256` is of the signed envelope's bytes. */
export const manifestFileName = (sha256: string) => `manifest.${nameHash(sha256)}.json`;
/** A weight shard's file name in its format's folder, as model.json names it; `n` counts from 1. */
export const shardFileName = (n: number, count: number, sha256: string) => `group1-shard${n}of${count}.${nameHash(sha256)}.bin`;
/** model.json's file name in its format's folder. */
export const modelJsonFileName = (sha256: string) => `model.${nameHash(sha256)}.json`;
/** The path, relative to the version's folder, of a file of one weight format (as the manifest names it). */
export const formatFilePath = (format: ModelFormat, fileName: string) => `${format}/${fileName}`;
