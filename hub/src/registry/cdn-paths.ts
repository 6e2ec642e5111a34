/** Where published files live under the object store's public cdn/ prefix. */
import { CDN_PREFIX } from '@edgeloop/shared';

export const modelDir = (project: string, model: string) => `${CDN_PREFIX}${project}/${model}/`;
export const versionDir = (project: string, model: string, version: number) => `${modelDir(project, model)}v${version}/`;
export const channelPointerKey = (project: string, model: string, channel: string) => `${modelDir(project, model)}channels/${channel}.json`;

/** A client-facing URL of an object-store key under cdn/ (the hub's /cdn route, or the configured CDN). */
export function cdnUrl(cdnBaseUrl: string, key: string): string {
  return `${cdnBaseUrl.replace(/\/$/, '')}/${key.slice(CDN_PREFIX.length)}`;
}
