import { Option, type Command } from 'commander';
import { print, withRegistry } from '../cli/run';
import { countUndeliveredSignedWith } from '../exchange/outbox';
import { systemCaller } from '../policy/actor';
import { jwksDocument } from './jwks';
import { KEY_PURPOSES, type KeyPurpose } from './tables';

export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description("this county's signing keys");
  keys
    .command('list')
    .addOption(new Option('--purpose <purpose>').choices(KEY_PURPOSES).default('EXCHANGE'))
    .action(async (opts: { purpose: KeyPurpose }) => {
      await withRegistry(async ({ deps }) => {
        print((await deps.keys.all(opts.purpose)).map(({ jwk: _jwk, ...k }) => k));
      });
    });
  keys
    .command('jwks')
    .description('print the published EXCHANGE keys as a JWKS (what /.well-known/jwks.json serves), for air-gapped partners')
    .action(async () => {
      await withRegistry(async ({ deps }) => {
        print(await jwksDocument(deps.keys));
      });
    });
  keys
    .command('rotate')
    .description('publish a new key now; it starts signing after the grace period')
    .addOption(new Option('--purpose <purpose>').choices(KEY_PURPOSES).default('EXCHANGE'))
    .addOption(new Option('--alg <alg>').choices(['ES256', 'EdDSA']).default('ES256'))
    .option('--grace-hours <n>', 'hours between publishing and signing', '48')
    .action(async (opts: { purpose: KeyPurpose; alg: 'ES256' | 'EdDSA'; graceHours: string }) => {
      await withRegistry(async ({ deps }) => {
        const hours = Number(opts.graceHours);
        if (!Number.isFinite(hours) || hours < 0) throw new Error('--grace-hours must be a number >= 0');
        const key = await deps.keys.rotate(systemCaller('admin-cli'), opts.purpose, Math.round(hours * 3600), opts.alg);
        print({ kid: key.kid, alg: key.alg, signsFrom: key.signsFrom });
      });
    });
  keys
    .command('retire <kid>')
    .description('stop publishing a key that no longer signs (refused while queued exchange records carry its signature)')
    .option('--force', 'retire even though queued records signed with it will then be refused by partners')
    .action(async (kid: string, opts: { force?: boolean }) => {
      await withRegistry(async ({ deps }) => {
        const waiting = await countUndeliveredSignedWith(deps.db, kid);
        if (waiting > 0 && !opts.force) {
          throw new Error(`${waiting} queued exchange record(s) are signed with ${kid}; wait until they are delivered, or pass --force`);
        }
        await deps.keys.retire(systemCaller('admin-cli'), kid);
        print(`retired ${kid}`);
      });
    });
}
