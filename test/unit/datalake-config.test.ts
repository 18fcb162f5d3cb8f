/**
 * loadDataLakeSettings: uploads are off unless a credential variable is set; each of the three ways of
 * authenticating is parsed; partial or conflicting credentials and bad names are ConfigErrors naming
 * the variables and the fix — and never repeating a secret.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../shared/errors.js';
import type { Env } from '../../shared/config/env.js';
import { DATALAKE_VARIABLES, describeDataLakeTarget, loadDataLakeSettings } from '../../master/output/datalake-config.js';

const KEY = Buffer.alloc(64, 7).toString('base64');
const SIG = 'c2VjcmV0LXNpZ25hdHVyZQ%3D%3D';
const SAS_URL = `https://acct.dfs.core.windows.net/?sv=2025-11-05&ss=b&srt=sco&sp=rwac&se=2030-01-01T00%3A00%3A00Z&sig=${SIG}`;
const CONNECTION_STRING = `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${KEY};EndpointSuffix=core.windows.net`;

/** Asserts `load` throws a ConfigError whose variable and message match; returns the message. */
function configError(env: Env, variable: string | RegExp, ...patterns: RegExp[]): string {
  let caught: unknown;
  try {
    loadDataLakeSettings(env);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  if (typeof variable === 'string') assert.equal(caught.variable, variable);
  else assert.match(caught.variable, variable);
  assert.ok(caught.message.startsWith(`${caught.variable}: `), caught.message);
  for (const pattern of patterns) assert.match(caught.message, pattern);
  assert.ok(!caught.message.includes(KEY), 'the account key is not repeated');
  assert.ok(!caught.message.includes(SIG), 'the SAS signature is not repeated');
  return caught.message;
}

describe('loadDataLakeSettings', () => {
  it('is off (undefined) when no credential variable is set, whatever the other variables say', () => {
    assert.equal(loadDataLakeSettings({}), undefined);
    assert.equal(loadDataLakeSettings({ AZURE_DATALAKE_FILESYSTEM: 'Bad_Name', AZURE_UPLOAD_ATTEMPTS: 'x' }), undefined);
    assert.equal(loadDataLakeSettings({ AZURE_STORAGE_CONNECTION_STRING: '  ', AZURE_STORAGE_ACCOUNT_NAME: '' }), undefined, 'blank = unset');
  });

  it('parses a connection string, with the defaults for filesystem, folder and attempts', () => {
    const settings = loadDataLakeSettings({ AZURE_STORAGE_CONNECTION_STRING: CONNECTION_STRING });
    assert.deepEqual(settings, {
      kind: 'connection-string',
      connectionString: CONNECTION_STRING,
      accountName: 'acct',
      fileSystem: 'tessera',
      folder: 'mosaics',
      attempts: 5,
    });
    assert.ok(Object.isFrozen(settings));
    const sasConnection = `BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=2025-11-05&sig=${SIG}`;
    assert.equal(loadDataLakeSettings({ AZURE_STORAGE_CONNECTION_STRING: sasConnection })?.kind, 'connection-string');
  });

  it('parses account name + key, with the default endpoint or AZURE_STORAGE_ACCOUNT_URL', () => {
    assert.deepEqual(loadDataLakeSettings({ AZURE_STORAGE_ACCOUNT_NAME: 'acct', AZURE_STORAGE_ACCOUNT_KEY: KEY }), {
      kind: 'shared-key',
      accountName: 'acct',
      accountKey: KEY,
      accountUrl: 'https://acct.dfs.core.windows.net',
      fileSystem: 'tessera',
      folder: 'mosaics',
      attempts: 5,
    });
    const settings = loadDataLakeSettings({
      AZURE_STORAGE_ACCOUNT_NAME: 'devstoreaccount1',
      AZURE_STORAGE_ACCOUNT_KEY: KEY,
      AZURE_STORAGE_ACCOUNT_URL: 'http://127.0.0.1:10004/devstoreaccount1/',
      AZURE_DATALAKE_FILESYSTEM: 'alps-2024',
      AZURE_DATALAKE_FOLDER: '/projects/snow/',
      AZURE_UPLOAD_ATTEMPTS: '2',
    });
    assert.deepEqual(settings, {
      kind: 'shared-key',
      accountName: 'devstoreaccount1',
      accountKey: KEY,
      accountUrl: 'http://127.0.0.1:10004/devstoreaccount1',
      fileSystem: 'alps-2024',
      folder: 'projects/snow',
      attempts: 2,
    });
  });

  it('parses a SAS URL and keeps a secret-free copy for logs', () => {
    const settings = loadDataLakeSettings({ AZURE_STORAGE_SAS_URL: SAS_URL, AZURE_DATALAKE_FOLDER: '/' });
    assert.deepEqual(settings, {
      kind: 'sas',
      sasUrl: SAS_URL,
      serviceUrl: 'https://acct.dfs.core.windows.net',
      fileSystem: 'tessera',
      folder: '',
      attempts: 5,
    });
    assert.ok(settings);
    const described = describeDataLakeTarget(settings);
    assert.match(described, /https:\/\/acct\.dfs\.core\.windows\.net \(SAS\), filesystem "tessera"/);
    assert.ok(!described.includes(SIG));
  });

  it('describes every kind without secrets', () => {
    for (const env of [
      { AZURE_STORAGE_CONNECTION_STRING: CONNECTION_STRING },
      { AZURE_STORAGE_ACCOUNT_NAME: 'acct', AZURE_STORAGE_ACCOUNT_KEY: KEY },
      { AZURE_STORAGE_SAS_URL: SAS_URL },
    ]) {
      const settings = loadDataLakeSettings(env);
      assert.ok(settings);
      const text = describeDataLakeTarget(settings);
      assert.ok(!text.includes(KEY) && !text.includes(SIG) && !text.includes('sig='), text);
    }
  });

  it('refuses two ways of authenticating at once, naming both', () => {
    configError(
      { AZURE_STORAGE_CONNECTION_STRING: CONNECTION_STRING, AZURE_STORAGE_SAS_URL: SAS_URL },
      'AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_SAS_URL',
      /2 ways of authenticating/,
      /Use exactly one way/,
    );
    configError(
      { AZURE_STORAGE_ACCOUNT_NAME: 'acct', AZURE_STORAGE_ACCOUNT_KEY: KEY, AZURE_STORAGE_SAS_URL: SAS_URL, AZURE_STORAGE_CONNECTION_STRING: CONNECTION_STRING },
      'AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_ACCOUNT_NAME/AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_SAS_URL',
      /3 ways/,
    );
    configError({ AZURE_STORAGE_ACCOUNT_NAME: 'acct', AZURE_STORAGE_SAS_URL: SAS_URL }, /AZURE_STORAGE_ACCOUNT_NAME.*AZURE_STORAGE_SAS_URL/);
  });

  it('refuses an account name without its key and a key without its name', () => {
    configError({ AZURE_STORAGE_ACCOUNT_NAME: 'acct' }, 'AZURE_STORAGE_ACCOUNT_KEY', /is not set, but AZURE_STORAGE_ACCOUNT_NAME is/, /unset AZURE_STORAGE_ACCOUNT_NAME/);
    configError({ AZURE_STORAGE_ACCOUNT_KEY: KEY }, 'AZURE_STORAGE_ACCOUNT_NAME', /is not set, but AZURE_STORAGE_ACCOUNT_KEY is/);
    configError(
      { AZURE_STORAGE_ACCOUNT_URL: 'https://acct.dfs.core.windows.net' },
      'AZURE_STORAGE_ACCOUNT_URL',
      /AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY are not/,
    );
    configError(
      { AZURE_STORAGE_SAS_URL: SAS_URL, AZURE_STORAGE_ACCOUNT_URL: 'https://acct.dfs.core.windows.net' },
      'AZURE_STORAGE_ACCOUNT_URL',
      /only applies to AZURE_STORAGE_ACCOUNT_NAME\/KEY, but AZURE_STORAGE_SAS_URL is used/,
    );
  });

  it('refuses malformed credentials without repeating them', () => {
    configError({ AZURE_STORAGE_ACCOUNT_NAME: 'My_Account', AZURE_STORAGE_ACCOUNT_KEY: KEY }, 'AZURE_STORAGE_ACCOUNT_NAME', /3-24 lowercase letters and digits/);
    configError({ AZURE_STORAGE_ACCOUNT_NAME: 'acct', AZURE_STORAGE_ACCOUNT_KEY: 'not base64!' }, 'AZURE_STORAGE_ACCOUNT_KEY', /not base64 \(value not shown\)/);
    configError(
      { AZURE_STORAGE_ACCOUNT_NAME: 'acct', AZURE_STORAGE_ACCOUNT_KEY: KEY, AZURE_STORAGE_ACCOUNT_URL: 'ftp://acct' },
      'AZURE_STORAGE_ACCOUNT_URL',
      /must be an http\(s\) URL/,
    );
    configError(
      { AZURE_STORAGE_ACCOUNT_NAME: 'acct', AZURE_STORAGE_ACCOUNT_KEY: KEY, AZURE_STORAGE_ACCOUNT_URL: `https://acct.dfs.core.windows.net/?sig=${SIG}` },
      'AZURE_STORAGE_ACCOUNT_URL',
      /must not have a query/,
      /AZURE_STORAGE_SAS_URL/,
    );
    configError({ AZURE_STORAGE_SAS_URL: 'https://acct.dfs.core.windows.net/?sv=2025-11-05' }, 'AZURE_STORAGE_SAS_URL', /lacks sig=/);
    configError({ AZURE_STORAGE_SAS_URL: `acct.dfs.core.windows.net/?sig=${SIG}` }, 'AZURE_STORAGE_SAS_URL', /is not a URL \(value not shown\)/);
    configError(
      { AZURE_STORAGE_CONNECTION_STRING: `AccountName=acct;AccountKey=${KEY}` },
      'AZURE_STORAGE_CONNECTION_STRING',
      /lacks DefaultEndpointsProtocol, BlobEndpoint or EndpointSuffix/,
      /Access keys/,
    );
    configError(
      { AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${KEY}!;EndpointSuffix=core.windows.net` },
      'AZURE_STORAGE_CONNECTION_STRING',
      /AccountKey is not base64/,
    );
    configError({ AZURE_STORAGE_CONNECTION_STRING: 'hello' }, 'AZURE_STORAGE_CONNECTION_STRING', /neither AccountKey nor SharedAccessSignature/);
  });

  it('validates the filesystem name by Azure\'s rules', () => {
    const env = (name: string): Env => ({ AZURE_STORAGE_CONNECTION_STRING: CONNECTION_STRING, AZURE_DATALAKE_FILESYSTEM: name });
    for (const good of ['abc', 'tessera', 'alps-2024', '0-a', 'a'.repeat(63)]) assert.equal(loadDataLakeSettings(env(good))?.fileSystem, good);
    configError(env('ab'), 'AZURE_DATALAKE_FILESYSTEM', /3-63 characters long \(got 2\)/, /lowercase letters, digits and single hyphens/, /default "tessera"/);
    configError(env('a'.repeat(64)), 'AZURE_DATALAKE_FILESYSTEM', /3-63 characters long \(got 64\)/);
    configError(env('Mosaics'), 'AZURE_DATALAKE_FILESYSTEM', /only lowercase letters, digits and hyphens \(got "Mosaics"\)/);
    configError(env('my_mosaics'), 'AZURE_DATALAKE_FILESYSTEM', /only lowercase letters, digits and hyphens/);
    configError(env('-abc'), 'AZURE_DATALAKE_FILESYSTEM', /start and end with a letter or digit/);
    configError(env('abc-'), 'AZURE_DATALAKE_FILESYSTEM', /start and end with a letter or digit/);
    configError(env('a--b'), 'AZURE_DATALAKE_FILESYSTEM', /two hyphens in a row/);
  });

  it('validates the folder and the attempts', () => {
    const env = (extra: Env): Env => ({ AZURE_STORAGE_CONNECTION_STRING: CONNECTION_STRING, ...extra });
    configError(env({ AZURE_DATALAKE_FOLDER: 'a/../b' }), 'AZURE_DATALAKE_FOLDER', /without empty, "\." or "\.\." parts/);
    configError(env({ AZURE_DATALAKE_FOLDER: 'a//b' }), 'AZURE_DATALAKE_FOLDER');
    configError(env({ AZURE_DATALAKE_FOLDER: 'a\\b' }), 'AZURE_DATALAKE_FOLDER');
    configError(env({ AZURE_UPLOAD_ATTEMPTS: '0' }), 'AZURE_UPLOAD_ATTEMPTS', /at least 1/);
    configError(env({ AZURE_UPLOAD_ATTEMPTS: 'many' }), 'AZURE_UPLOAD_ATTEMPTS', /whole number/);
  });

  it('declares every variable it reads, with defaults for the README table', () => {
    const declared = Object.fromEntries(Object.values(DATALAKE_VARIABLES).map((v) => [v.name, v.defaultText]));
    assert.deepEqual(declared, {
      AZURE_STORAGE_CONNECTION_STRING: undefined,
      AZURE_STORAGE_ACCOUNT_NAME: undefined,
      AZURE_STORAGE_ACCOUNT_KEY: undefined,
      AZURE_STORAGE_SAS_URL: undefined,
      AZURE_STORAGE_ACCOUNT_URL: undefined,
      AZURE_DATALAKE_FILESYSTEM: 'tessera',
      AZURE_DATALAKE_FOLDER: 'mosaics',
      AZURE_UPLOAD_ATTEMPTS: '5',
    });
    for (const v of Object.values(DATALAKE_VARIABLES)) assert.ok(v.description.length > 10 && v.fix.includes(v.name), v.name);
  });
});
