import { describe, expect, it } from 'vitest';
import { channelPointerKey, formatFilePath, manifestFileName, modelJsonFileName, shardFileName, versionDir } from './cdn-paths';

const hash = 'ab'.repeat(32);

describe('the CDN layout', () => {
  it('names the files of a version as the hub writes them and devices read them', () => {
    expect(channelPointerKey('pets', 'mdl', 'production')).toBe('cdn/pets/mdl/channels/production.json');
    expect(versionDir('pets', 'mdl', 3) + manifestFileName(hash)).toBe('cdn/pets/mdl/v3/manifest.abababababababab.json');
    expect(formatFilePath('uint8', modelJsonFileName(hash))).toBe('uint8/model.abababababababab.json');
    expect(formatFilePath('float16', shardFileName(2, 3, hash))).toBe('float16/group1-shard2of3.abababababababab.bin');
  });
});
