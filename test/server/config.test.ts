import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';

describe('configuration', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 4000, countyCode: '320324', databaseUrl: undefined, isProduction: false, accessTokenTtlSeconds: 900 });
    expect(c.dataDir).toMatch(/data$/);
  });

  it('names every bad variable', () => {
    try {
      loadConfig({ PORT: 'eighty', COUNTY_CODE: '3203', DATABASE_URL: 'mysql://x', NODE_ENV: 'staging' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const msg = (e as Error).message;
      for (const name of ['PORT', 'COUNTY_CODE', 'DATABASE_URL', 'NODE_ENV']) expect(msg).toContain(name);
    }
  });

  it('has exchange settings, with plain-http partner URLs refused in production unless allowed', () => {
    expect(loadConfig({}).exchange).toMatchObject({ jwksRefreshCooldownSeconds: 300, deliveryEnabled: true, allowHttp: false, allowPrivateAddresses: false, maxBodyBytes: 8_388_608 });
    // Only an explicit setting opens plain http or private addresses, whatever NODE_ENV says.
    expect(loadConfig({ NODE_ENV: 'test' }).exchange).toMatchObject({ allowHttp: false, allowPrivateAddresses: false });
    expect(loadConfig({ NODE_ENV: 'production', EXCHANGE_ALLOW_HTTP: 'true', EXCHANGE_ALLOW_PRIVATE_ADDRESSES: 'true' }).exchange).toMatchObject({ allowHttp: true, allowPrivateAddresses: true });
    expect(loadConfig({ EXCHANGE_DELIVERY_ENABLED: 'false', EXCHANGE_RETRY_BASE_MS: '5000', EXCHANGE_RETRY_MAX_MS: '100' }).exchange).toMatchObject({
      deliveryEnabled: false,
      retryBaseMs: 5000,
      retryMaxMs: 5000,
    });
    expect(() => loadConfig({ EXCHANGE_DELIVERY_BATCH_SIZE: '501' })).toThrow(/EXCHANGE_DELIVERY_BATCH_SIZE/);
    expect(() => loadConfig({ EXCHANGE_JWKS_REFRESH_COOLDOWN_SECONDS: '0' })).toThrow(/EXCHANGE_JWKS_REFRESH_COOLDOWN_SECONDS/);
  });

  it('wants both data keys or neither, each 32 bytes', () => {
    const key = Buffer.alloc(32, 1).toString('base64');
    expect(() => loadConfig({ DATA_KEY: key })).toThrow(/together/);
    expect(() => loadConfig({ DATA_KEY: key, HMAC_KEY: Buffer.alloc(8).toString('base64') })).toThrow(/HMAC_KEY/);
    expect(loadConfig({ DATA_KEY: key, HMAC_KEY: key }).dataKey).toBe(key);
  });

  it('checks the reminder and SMS settings, and keeps the scheduler off in tests', () => {
    expect(() => loadConfig({ NOTIFIER: 'sms' })).toThrow(/SMS_GATEWAY_URL and SMS_GATEWAY_TOKEN/);
    expect(() => loadConfig({ REMINDER_DAILY_AT: '25:00' })).toThrow(/REMINDER_DAILY_AT/);
    expect(loadConfig({}).reminders.enabled).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).reminders.enabled).toBe(false);
    expect(loadConfig({ NODE_ENV: 'test', REMINDERS_ENABLED: 'true' }).reminders.enabled).toBe(true);
    expect(loadConfig({ PUBLIC_URL: 'https://registry.example.cn/' }).ratingLinkBaseUrl).toBe('https://registry.example.cn/rate');
  });

  it('stops the server at start with a clear message and exit code 78', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, PORT: 'not-a-port', DATABASE_URL: '' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(78);
    expect(r.stderr).toContain('Invalid configuration');
    expect(r.stderr).toContain('PORT');
  });
});

describe('proxies', () => {
  it('takes a hop count or proxy addresses, and refuses a blanket true', () => {
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 10.1.2.3' }).trustProxy).toEqual(['10.0.0.0/8', '10.1.2.3']);
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
  });
});
