import fs from 'node:fs';
import { createRequire } from 'node:module';
import zlib from 'node:zlib';

const require = createRequire(import.meta.url);
/** UnifontEX (SIL OFL 1.1) from @fontsource/unifontex: one file covering the whole BMP, Chinese included. */
export const BUNDLED_FONT = require.resolve('@fontsource/unifontex/files/unifontex-latin-400-normal.woff');

const WOFF_SIGNATURE = 0x774f4646; // 'wOFF'

/**
 * Unpacks a WOFF 1.0 font into the plain TrueType/OpenType it wraps. The PDF library can read WOFF directly but
 * inflates tables on every glyph lookup, which makes a page of Chinese take tens of seconds; unpacked once, it is
 * milliseconds.
 */
export function sfntFromWoff(woff: Buffer): Buffer {
  const numTables = woff.readUInt16BE(12);
  let searchRange = 1;
  let entrySelector = 0;
  while (searchRange * 2 <= numTables) {
    searchRange *= 2;
    entrySelector += 1;
  }
  const header = Buffer.alloc(12 + 16 * numTables);
  header.writeUInt32BE(woff.readUInt32BE(4), 0); // flavor: the sfnt version
  header.writeUInt16BE(numTables, 4);
  header.writeUInt16BE(searchRange * 16, 6);
  header.writeUInt16BE(entrySelector, 8);
  header.writeUInt16BE((numTables - searchRange) * 16, 10);
  const parts: Buffer[] = [header];
  let offset = header.length;
  for (let i = 0; i < numTables; i++) {
    const e = 44 + i * 20;
    const [tag, from, compLength, origLength, checksum] = [0, 4, 8, 12, 16].map((d) => woff.readUInt32BE(e + d)) as [number, number, number, number, number];
    const stored = woff.subarray(from, from + compLength);
    const data = compLength < origLength ? zlib.inflateSync(stored) : stored;
    const d = 12 + i * 16;
    header.writeUInt32BE(tag, d);
    header.writeUInt32BE(checksum, d + 4);
    header.writeUInt32BE(offset, d + 8);
    header.writeUInt32BE(origLength, d + 12);
    const pad = (4 - (data.length % 4)) % 4;
    parts.push(data, Buffer.alloc(pad));
    offset += data.length + pad;
  }
  return Buffer.concat(parts);
}

const cache = new Map<string, Buffer>();

/** The font file's bytes, ready for the PDF library (WOFF unpacked), read once per process. */
export function pdfFont(file: string = BUNDLED_FONT): Buffer {
  let font = cache.get(file);
  if (!font) {
    const raw = fs.readFileSync(file);
    font = raw.readUInt32BE(0) === WOFF_SIGNATURE ? sfntFromWoff(raw) : raw;
    cache.set(file, font);
  }
  return font;
}
