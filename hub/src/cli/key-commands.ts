/**
 * `edgeloop key ...`: the model signing keys. They run where the keys directory is (HUB_DATA_DIR/keys or
 * SIGNING_KEYS_DIR), never through the API: whoever can rotate keys can read them. A running hub sharing the
 * directory picks up a change at its next signature; with the embedded database, stop the hub first.
 */
import type { Command } from 'commander';
import type { Hub } from '../hub';
import { resignChannelPointers, retireSigningKey, rotateSigningKey } from '../registry/key-rotation.service';

type WithHub = <T>(fn: (hub: Hub) => Promise<T>) => Promise<T>;

const channelName = (s: { project: string; model: string; channel: string; version: number }) => `${s.project}/${s.model} ${s.channel} (v${s.version})`;

export function addKeyCommands(program: Command, withHub: WithHub): void {
  const key = program.command('key').description('model signing keys (files in HUB_DATA_DIR/keys or SIGNING_KEYS_DIR)');
  key
    .command('list')
    .description('the signing keys: active (signs), trusted (rotated out, still verifies), retired')
    .action(() =>
      withHub(async ({ deps }) => {
        console.error(`keys directory: ${deps.keys.dir}`);
        console.table((await deps.keys.list()).map(({ id, state, createdAt, retiredAt }) => ({ id, state, createdAt, retiredAt: retiredAt ?? '' })));
      }),
    );
  key
    .command('init')
    .description('make the first signing key (the hub does at start); refused while the database has published versions, unless --new')
    .option('--new', 'the key that signed the published versions is lost: make a new one (devices refuse those versions until newer ones are promoted)')
    .action((opts: { new?: boolean }) =>
      withHub(async ({ deps }) => {
        await deps.keys.init({ newKey: opts.new === true });
        console.log((await deps.keys.active()).id);
      }),
    );
  key
    .command('rotate')
    .description('make a new active key and re-sign every channel pointer with it; older keys stay trusted')
    .action(() =>
      withHub(async ({ deps }) => {
        const { key: created, resigned } = await rotateSigningKey(deps);
        console.error(`re-signed ${resigned.length} channel pointers${resigned.length ? `: ${resigned.map(channelName).join(', ')}` : ''}`);
        console.error('manifests published before keep their signatures; retire an old key once no channel points at a version it signed');
        console.log(created.id);
      }),
    );
  key
    .command('retire <keyId>')
    .description('stop publishing a rotated-out key as trusted and delete its private key')
    .option('--force', 'retire even if channels point at versions whose manifests it signed (devices will refuse them)')
    .action((keyId: string, opts: { force?: boolean }) =>
      withHub(async ({ deps }) => {
        const { key: retired, broken, resigned } = await retireSigningKey(deps, keyId, { force: opts.force === true });
        if (resigned.length) console.error(`re-signed ${resigned.length} channel pointers with the active key: ${resigned.map(channelName).join(', ')}`);
        for (const s of broken) console.error(`warning: ${channelName(s)} points at a manifest signed with ${keyId}; devices will refuse it until a newer version is promoted`);
        console.log(`retired ${retired.id}`);
      }),
    );
  key
    .command('resign-pointers')
    .description('re-sign every channel pointer with the active key (rotate does this; run it if rotate was interrupted)')
    .action(() =>
      withHub(async ({ deps }) => {
        const resigned = await resignChannelPointers(deps, { all: true });
        console.log(`re-signed ${resigned.length} channel pointers with key ${(await deps.keys.active()).id}`);
      }),
    );
}
