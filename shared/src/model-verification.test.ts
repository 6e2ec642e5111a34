import nodeCrypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ChannelPointer, SignedEnvelope } from './model-manifest';
import { ModelRefused, concatShards, publishedFileProblem, readChannelPointer, readModelManifest, sha256Hex } from './model-verification';

/** A key made as the hub makes its keys: id = first 16 hex of sha256(raw public key). */
function signer() {
  const { publicKey, privateKey } = nodeCrypto.generateKeyPairSync('ed25519');
  const raw = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
  const keyId = nodeCrypto.createHash('sha256').update(raw).digest('hex').slice(0, 16);
  return {
    trusted: { keyId, publicKey: raw.toString('base64') },
    sign: (payload: string): SignedEnvelope => ({ payload, keyId, signature: nodeCrypto.sign(null, Buffer.from(payload), privateKey).toString('base64') }),
  };
}

const ref = { project: 'pets', model: 'tiny', channel: 'production' };
const pointer = (manifestSha256: string): ChannelPointer => ({
  format: 'edgeloop.channel/v1',
  ...ref,
  version: 2,
  manifestPath: '../v2/manifest.json',
  manifestSha256,
  movedAt: '2026-01-01T00:00:00.000Z',
});

describe('model verification shared by the PWA and edgeloop replay', () => {
  const key = signer();

  it('hashes with WebCrypto as sha256sum does', async () => {
    const bytes = new TextEncoder().encode('edgeloop');
    expect(await sha256Hex(bytes)).toBe(nodeCrypto.createHash('sha256').update(bytes).digest('hex'));
  });

  it('reads a signed pointer for the channel asked for, and refuses one for another channel, unsigned or signed by an unknown key', async () => {
    const text = JSON.stringify(key.sign(JSON.stringify(pointer('a'.repeat(64)))));
    expect(await readChannelPointer(text, [key.trusted], ref)).toMatchObject({ version: 2, channel: 'production' });
    await expect(readChannelPointer(text, [key.trusted], { ...ref, channel: 'staging' })).rejects.toThrow('channel pointer is for pets/tiny/production, not pets/tiny/staging');
    await expect(readChannelPointer(text, [signer().trusted], ref)).rejects.toThrow(`channel pointer production is signed by key ${key.trusted.keyId}, which the hub does not trust`);
    await expect(readChannelPointer('{"version":2}', [key.trusted], ref)).rejects.toThrow(new ModelRefused('channel pointer production is not a signed envelope'));
  });

  it('refuses a manifest whose bytes are not the ones the pointer names', async () => {
    const manifestText = JSON.stringify(key.sign('{"version":2}'));
    const named = pointer(await sha256Hex(new TextEncoder().encode(manifestText)));
    await expect(readModelManifest(`${manifestText} `, [key.trusted], named)).rejects.toThrow(/^manifest of v2: sha256 [0-9a-f]{12}… is not the one the channel pointer names$/);
  });

  it('checks each file against the manifest by size and sha256, and joins shards in order', async () => {
    const shard = new TextEncoder().encode('weights');
    const file = { path: 'uint8/group1-shard1of1.bin', sha256: await sha256Hex(shard), bytes: shard.length };
    expect(await publishedFileProblem(shard, file)).toBeNull();
    expect(await publishedFileProblem(new TextEncoder().encode('weighty'), file)).toMatch(/^uint8\/group1-shard1of1\.bin does not match the signed manifest \(sha256 [0-9a-f]{12}…, 7 bytes; expected [0-9a-f]{12}…, 7 bytes\)$/);
    expect(await publishedFileProblem(new TextEncoder().encode('weights!'), file)).toContain('8 bytes; expected');
    expect(new TextDecoder().decode(concatShards([new TextEncoder().encode('ab').buffer, new TextEncoder().encode('cd').buffer]))).toBe('abcd');
  });
});
