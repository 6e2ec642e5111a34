/**
 * The CDN's layout: where the hub writes published files (object-store keys under the public cdn/ prefix) and where
 * clients read them (the same paths under the CDN base URL the hub publishes with its keys).
 *
 *   cdn/<project>/<model>/channels/<channel>.json   signed channel pointer (short max-age)
 *   cdn/<project>/<model>/v<version>/...            signed manifest and content-hashed files (immutable)
 */

/** Object-store prefix that is publicly readable (the CDN origin). */
export const CDN_PREFIX = 'cdn/';

export const modelDir = (project: string, model: string) => `${CDN_PREFIX}${project}/${model}/`;
export const versionDir = (project: string, model: string, version: number) => `${modelDir(project, model)}v${version}/`;
export const channelPointerKey = (project: string, model: string, channel: string) => `${modelDir(project, model)}channels/${channel}.json`;

/** A client-facing URL of an object-store key under cdn/ (the hub's /cdn route, or the configured CDN). */
export function cdnUrl(cdnBaseUrl: string, key: string): string {
  return `${cdnBaseUrl.replace(/\/$/, '')}/${key.slice(CDN_PREFIX.length)}`;
}
