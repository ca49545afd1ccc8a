import { describe, expect, it } from 'vitest';
import { Secrets } from '../../src/secrets';

describe('field encryption', () => {
  // IVs are cut from a pooled random buffer: an IV used twice under one key would break AES-GCM.
  it('gives every encryption its own IV, across refills of the pool, and reads each back', () => {
    const secrets = Secrets.generate();
    const sealed = Array.from({ length: 600 }, (_, i) => secrets.encrypt(`值 ${i}`));
    const ivs = sealed.map((s) => s.split('.')[1]);
    expect(new Set(ivs).size).toBe(sealed.length);
    expect(ivs.every((iv) => Buffer.from(iv!, 'base64url').length === 12)).toBe(true);
    expect(sealed.map((s) => secrets.decrypt(s))).toEqual(sealed.map((_, i) => `值 ${i}`));
  });
});
