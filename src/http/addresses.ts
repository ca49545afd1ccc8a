import dns from 'node:dns';
import net from 'node:net';

/**
 * Addresses a server-side request to a partner must not reach unless the operator allows it
 * (EXCHANGE_ALLOW_PRIVATE_ADDRESSES): loopback, private, link-local (cloud metadata), carrier-grade NAT, multicast,
 * reserved and unspecified ranges. A partner URL naming one would let whoever registers or edits a partner probe
 * our own network.
 */
// Two lists: a BlockList matches IPv4 addresses against IPv6 rules too (as IPv4-mapped), which would make the
// IPv4-mapped rule below refuse every IPv4 address.
const NON_PUBLIC_V4 = new net.BlockList();
const NON_PUBLIC_V6 = new net.BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NON_PUBLIC_V4.addSubnet(prefix, bits, 'ipv4');
}
for (const [prefix, bits] of [
  ['::', 128],
  ['::1', 128],
  ['::ffff:0:0', 96], // IPv4-mapped: never needed for a partner, and a way round the IPv4 list
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  NON_PUBLIC_V6.addSubnet(prefix, bits, 'ipv6');
}

/** Whether an IP address (v4 or v6, as text) is a public one. Anything that is not an IP address is not. */
export function isPublicAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 4) return !NON_PUBLIC_V4.check(address, 'ipv4');
  return family === 6 && !NON_PUBLIC_V6.check(address, 'ipv6');
}

/** The code of the error a refused address gives (the request fails as unreachable, with this reason). */
export const NON_PUBLIC_ADDRESS = 'ENONPUBLICADDRESS';

function refused(host: string, address: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${host} resolves to ${address}, not a public address`), { code: NON_PUBLIC_ADDRESS });
}

/**
 * A `lookup` for node:http(s) that lets a connection go only to public addresses. It checks what the socket
 * actually connects to, so a name that resolved to a public address when a partner was registered and to a private
 * one now (DNS rebinding) is refused too. Every address of the answer must be public.
 */
export const publicOnlyLookup: net.LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, options, (err, address: string | dns.LookupAddress[], family?: number) => {
    if (err) return callback(err, address as string, family);
    const all = Array.isArray(address) ? address : [{ address, family: family ?? net.isIP(address) }];
    const bad = all.find((a) => !isPublicAddress(a.address));
    if (bad || all.length === 0) return callback(refused(hostname, bad?.address ?? 'nothing'), '', 0);
    (callback as (e: null, a: string | dns.LookupAddress[], f?: number) => void)(null, address, family);
  });
};

/** Why a URL's host is refused without any lookup, or null: an IP literal that is not a public address. */
export function literalAddressProblem(url: URL): string | null {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return net.isIP(host) && !isPublicAddress(host) ? `${host} is not a public address` : null;
}

/**
 * What registering a partner URL checks: a non-public IP literal, or a name that is loopback by definition (RFC
 * 6761 `localhost`). Other names are checked whenever they are resolved, by publicOnlyLookup.
 */
export function hostProblem(url: URL): string | null {
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return `${host} is a loopback name, not a public address`;
  return literalAddressProblem(url);
}
