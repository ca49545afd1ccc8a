import { Option, type Command } from 'commander';
import { print, withRegistry } from '../cli/run';
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
    .command('rotate')
    .description('publish a new key now; it starts signing after the grace period')
    .addOption(new Option('--purpose <purpose>').choices(KEY_PURPOSES).default('EXCHANGE'))
    .addOption(new Option('--alg <alg>').choices(['ES256', 'EdDSA']).default('ES256'))
    .option('--grace-hours <n>', 'hours between publishing and signing', '48')
    .action(async (opts: { purpose: KeyPurpose; alg: 'ES256' | 'EdDSA'; graceHours: string }) => {
      await withRegistry(async ({ deps }) => {
        const hours = Number(opts.graceHours);
        if (!Number.isFinite(hours) || hours < 0) throw new Error('--grace-hours must be a number >= 0');
        const key = await deps.keys.rotate(opts.purpose, Math.round(hours * 3600), opts.alg);
        print({ kid: key.kid, alg: key.alg, signsFrom: key.signsFrom });
      });
    });
  keys
    .command('retire <kid>')
    .description('stop publishing a key that no longer signs')
    .action(async (kid: string) => {
      await withRegistry(async ({ deps }) => {
        await deps.keys.retire(kid);
        print(`retired ${kid}`);
      });
    });
}
