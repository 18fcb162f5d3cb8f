/**
 * Checks of the individual Data Lake variables for datalake-config.ts: the shared key pair, a SAS URL,
 * a connection string, account URLs, the filesystem and folder names. Each failure is a ConfigError
 * naming the variable and the fix, without repeating a secret.
 */
import { ConfigError } from '../../shared/errors.js';
import type { ConnectionStringAuth, SasAuth, SharedKeyAuth } from './datalake-config.js';

/** AZURE_STORAGE_ACCOUNT_NAME + _KEY (+ optional account URL): both present, the key base64. */
export function checkSharedKey(name: string | undefined, key: string | undefined, url: string | undefined): SharedKeyAuth {
  if (name === undefined) {
    throw new ConfigError(
      'AZURE_STORAGE_ACCOUNT_NAME',
      'is not set, but AZURE_STORAGE_ACCOUNT_KEY is (a key needs its account name)',
      'Set AZURE_STORAGE_ACCOUNT_NAME to the storage account name, or unset AZURE_STORAGE_ACCOUNT_KEY to turn uploads off.',
    );
  }
  if (key === undefined) {
    throw new ConfigError(
      'AZURE_STORAGE_ACCOUNT_KEY',
      'is not set, but AZURE_STORAGE_ACCOUNT_NAME is (an account name needs its key)',
      'Set AZURE_STORAGE_ACCOUNT_KEY to one of the account\'s access keys (base64), or unset AZURE_STORAGE_ACCOUNT_NAME to turn uploads off.',
    );
  }
  if (!/^[a-z0-9]{3,24}$/.test(name)) {
    throw new ConfigError(
      'AZURE_STORAGE_ACCOUNT_NAME',
      `must be 3-24 lowercase letters and digits (got ${JSON.stringify(name)})`,
      'Set AZURE_STORAGE_ACCOUNT_NAME to the storage account name as shown in the Azure portal.',
    );
  }
  if (!isBase64(key)) {
    throw new ConfigError(
      'AZURE_STORAGE_ACCOUNT_KEY',
      'is not base64 (value not shown)',
      'Copy one of the storage account\'s access keys (base64, usually 88 characters ending in ==) into AZURE_STORAGE_ACCOUNT_KEY.',
    );
  }
  const accountUrl = url === undefined ? `https://${name}.dfs.core.windows.net` : checkHttpUrl('AZURE_STORAGE_ACCOUNT_URL', url, false);
  return { kind: 'shared-key', accountName: name, accountKey: key, accountUrl };
}

/** A SAS URL: http(s), an account endpoint, and a query that holds a signature (sig=). */
export function checkSasUrl(value: string): SasAuth {
  const serviceUrl = checkHttpUrl('AZURE_STORAGE_SAS_URL', value, true);
  const parsed = new URL(value);
  if (!parsed.searchParams.get('sig')) {
    throw new ConfigError(
      'AZURE_STORAGE_SAS_URL',
      `has no SAS token: the query lacks sig= (got ${serviceUrl}${parsed.search ? '?…' : ''})`,
      'Append the SAS token to the service URL: https://acct.dfs.core.windows.net/?sv=…&sig=… (generate it under "Shared access signature" in the portal).',
    );
  }
  return { kind: 'sas', sasUrl: value, serviceUrl };
}

/**
 * Parses `Key=Value;…` as the SDK does and checks it has what the SDK needs: an account-key string
 * (DefaultEndpointsProtocol, AccountName, AccountKey, and BlobEndpoint or EndpointSuffix), a SAS string
 * (BlobEndpoint, SharedAccessSignature) or UseDevelopmentStorage=true.
 */
export function checkConnectionString(value: string): ConnectionStringAuth {
  const name = 'AZURE_STORAGE_CONNECTION_STRING';
  const parts = new Map<string, string>();
  for (const part of value.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) parts.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const fix =
    'Copy the whole connection string from the storage account\'s "Access keys" page ' +
    '(DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…;EndpointSuffix=core.windows.net), or a SAS connection string (BlobEndpoint=…;SharedAccessSignature=…).';
  if (value.startsWith('UseDevelopmentStorage=true')) return { kind: 'connection-string', connectionString: value, accountName: 'devstoreaccount1' };
  if (parts.has('AccountKey')) {
    const missing = ['DefaultEndpointsProtocol', 'AccountName', 'AccountKey'].filter((key) => !parts.get(key));
    if (!parts.get('BlobEndpoint') && !parts.get('EndpointSuffix')) missing.push('BlobEndpoint or EndpointSuffix');
    if (missing.length > 0) throw new ConfigError(name, `lacks ${missing.join(', ')} (value not shown)`, fix);
    const protocol = (parts.get('DefaultEndpointsProtocol') ?? '').toLowerCase();
    if (protocol !== 'https' && protocol !== 'http') throw new ConfigError(name, 'DefaultEndpointsProtocol must be https or http', fix);
    if (!isBase64(parts.get('AccountKey') ?? '')) throw new ConfigError(name, 'AccountKey is not base64 (value not shown)', fix);
    return { kind: 'connection-string', connectionString: value, accountName: parts.get('AccountName') ?? '' };
  }
  if (parts.has('SharedAccessSignature')) {
    const missing = ['BlobEndpoint', 'SharedAccessSignature'].filter((key) => !parts.get(key));
    if (missing.length > 0) throw new ConfigError(name, `lacks ${missing.join(', ')} (value not shown)`, fix);
    return { kind: 'connection-string', connectionString: value, accountName: parts.get('AccountName') ?? '' };
  }
  throw new ConfigError(name, 'has neither AccountKey nor SharedAccessSignature (value not shown)', fix);
}

/** An http(s) URL without credentials; returns it without query, fragment or trailing slash. */
function checkHttpUrl(name: string, value: string, queryAllowed: boolean): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, 'is not a URL (value not shown)', `Set ${name} to an http(s) URL such as https://acct.dfs.core.windows.net.`);
  }
  const shown = `${parsed.protocol}//${parsed.host}${parsed.pathname}`.replace(/\/+$/, '');
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new ConfigError(name, `must be an http(s) URL (got ${shown})`, `Set ${name} to an http(s) URL such as https://acct.dfs.core.windows.net.`);
  }
  if (!queryAllowed && parsed.search !== '') {
    throw new ConfigError(name, `must not have a query (got ${shown}?…)`, `Remove the query from ${name}; a SAS URL belongs in AZURE_STORAGE_SAS_URL.`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new ConfigError(name, `must not contain user:password (got ${shown})`, `Remove the user and password from ${name}.`);
  }
  return shown;
}

/**
 * Azure container naming rules: 3-63 characters; lowercase letters, digits and hyphens; starts and
 * ends with a letter or digit; no two hyphens in a row.
 */
export function checkFileSystem(value: string): string {
  const problem =
    value.length < 3 || value.length > 63
      ? `must be 3-63 characters long (got ${value.length})`
      : !/^[a-z0-9-]+$/.test(value)
        ? 'may contain only lowercase letters, digits and hyphens'
        : !/^[a-z0-9]/.test(value) || !/[a-z0-9]$/.test(value)
          ? 'must start and end with a letter or digit'
          : value.includes('--')
            ? 'must not contain two hyphens in a row'
            : undefined;
  if (problem === undefined) return value;
  throw new ConfigError(
    'AZURE_DATALAKE_FILESYSTEM',
    `${problem} (got ${JSON.stringify(value)})`,
    'Set AZURE_DATALAKE_FILESYSTEM to 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit (e.g. tessera), or unset it for the default "tessera".',
  );
}

/** A relative folder path: slashes at either end are dropped; no empty, `.` or `..` segments, no backslash. */
export function checkFolder(value: string): string {
  const folder = value.replace(/^\/+|\/+$/g, '');
  const segments = folder === '' ? [] : folder.split('/');
  if (value.includes('\\') || segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new ConfigError(
      'AZURE_DATALAKE_FOLDER',
      `must be a folder path like mosaics or projects/alps, without empty, "." or ".." parts or backslashes (got ${JSON.stringify(value)})`,
      'Set AZURE_DATALAKE_FOLDER to a relative folder path such as mosaics, or "/" for the filesystem root, or unset it for the default "mosaics".',
    );
  }
  return folder;
}

function isBase64(value: string): boolean {
  return value.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(value);
}
