import fs from 'node:fs';
import type { Command } from 'commander';
import { print, withRegistry } from '../cli/run';
import { systemCaller } from '../policy/actor';
import {
  endPartner,
  listPartners,
  pastePartnerKeys,
  reactivatePartner,
  refreshPartnerKeys,
  registerPartner,
  suspendPartner,
  type Partner,
} from './service';

const caller = systemCaller('admin-cli');
const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function summary(p: Partner) {
  const { countyCode, name, status, validFrom, validTo, baseUrl, jwksUrl, inboundTypes, outboundTypes, lookupAllowed, keysLoadedAt } = p;
  return { countyCode, name, status, validFrom, validTo, baseUrl, jwksUrl, inboundTypes, outboundTypes, lookupAllowed, keysLoadedAt };
}

export function registerPartnerCommands(program: Command): void {
  const partners = program.command('partners').description('partner counties and the agreements with them');
  partners.command('list').action(async () => {
    await withRegistry(async ({ deps }) => print((await listPartners(deps, caller)).map(summary)));
  });
  partners
    .command('register')
    .description("register an agreement; keys from the partner's JWKS URL, or from a JWKS file (air-gapped)")
    .requiredOption('--county-code <code>', "the partner's 6-digit county code")
    .requiredOption('--name <name>')
    .requiredOption('--base-url <url>', 'where its /exchange/v1 endpoints live')
    .option('--jwks-url <url>', 'default <base-url>/.well-known/jwks.json')
    .option('--jwks-file <file>', 'the JWKS the partner handed over, instead of fetching it')
    .requiredOption('--valid-from <date>')
    .requiredOption('--valid-to <date>')
    .option('--inbound <types>', 'record types it may send us, comma-separated', '')
    .option('--outbound <types>', 'record types we may send it, comma-separated', '')
    .option('--lookup', 'it may look up people who consented to sharing with it')
    .option('--note <text>')
    .action(
      async (o: {
        countyCode: string;
        name: string;
        baseUrl: string;
        jwksUrl?: string;
        jwksFile?: string;
        validFrom: string;
        validTo: string;
        inbound: string;
        outbound: string;
        lookup?: boolean;
        note?: string;
      }) => {
        await withRegistry(async ({ deps }) => {
          const p = await registerPartner(deps, caller, {
            countyCode: o.countyCode,
            name: o.name,
            baseUrl: o.baseUrl,
            jwksUrl: o.jwksUrl ?? null,
            jwks: o.jwksFile ? fs.readFileSync(o.jwksFile, 'utf8') : null,
            validFrom: o.validFrom,
            validTo: o.validTo,
            inboundTypes: list(o.inbound),
            outboundTypes: list(o.outbound),
            lookupAllowed: o.lookup ?? false,
            note: o.note ?? null,
          });
          print(summary(p));
        });
      },
    );
  partners
    .command('refresh-keys <code>')
    .description("fetch the partner's JWKS now")
    .action(async (code: string) => {
      await withRegistry(async ({ deps }) => print(summary(await refreshPartnerKeys(deps, caller, code))));
    });
  partners
    .command('paste-keys <code> <file>')
    .description("replace the partner's published keys with a JWKS file it handed over")
    .action(async (code: string, file: string) => {
      await withRegistry(async ({ deps }) => print(summary(await pastePartnerKeys(deps, caller, code, fs.readFileSync(file, 'utf8')))));
    });
  for (const [name, run] of [
    ['suspend', suspendPartner],
    ['reactivate', reactivatePartner],
    ['end', endPartner],
  ] as const) {
    partners
      .command(`${name} <code>`)
      .option('--note <text>')
      .action(async (code: string, o: { note?: string }) => {
        await withRegistry(async ({ deps }) => print(summary(await run(deps, caller, code, o.note ?? null))));
      });
  }
}
