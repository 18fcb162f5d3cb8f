/**
 * Azure Data Lake Storage Gen2 settings for uploading finished mosaics: the variables (declared once,
 * like MASTER_VARIABLES, so the README table can be checked) and `loadDataLakeSettings`, which turns
 * them into one validated way of authenticating plus where the files go — or `undefined` when no
 * credential variable is set (uploads off: outputs stay on the volume only). Every mistake is a
 * ConfigError naming the variables involved and how to fix them; no message ever repeats a secret.
 */
import { ConfigError } from '../../shared/errors.js';
import { intVar, optionalStringVar, stringVar, type Env } from '../../shared/config/env.js';

export const DATALAKE_VARIABLES = {
  connectionString: optionalStringVar(
    'AZURE_STORAGE_CONNECTION_STRING',
    'Azure storage connection string (account key or SAS). One of three ways to turn uploads to Azure Data Lake on; unset them all to keep outputs on the volume only.',
    'Set AZURE_STORAGE_CONNECTION_STRING to the connection string from the storage account\'s "Access keys" page, or unset it.',
  ),
  accountName: optionalStringVar(
    'AZURE_STORAGE_ACCOUNT_NAME',
    'Storage account name, used with AZURE_STORAGE_ACCOUNT_KEY (the second way to turn uploads on).',
    'Set AZURE_STORAGE_ACCOUNT_NAME to the storage account name (3-24 lowercase letters and digits), or unset it.',
  ),
  accountKey: optionalStringVar(
    'AZURE_STORAGE_ACCOUNT_KEY',
    'Storage account access key (base64), used with AZURE_STORAGE_ACCOUNT_NAME.',
    'Set AZURE_STORAGE_ACCOUNT_KEY to one of the storage account\'s access keys (base64), or unset it.',
  ),
  sasUrl: optionalStringVar(
    'AZURE_STORAGE_SAS_URL',
    'Data Lake service URL with a SAS query, e.g. https://acct.dfs.core.windows.net/?sv=…&sig=… (the third way to turn uploads on).',
    'Set AZURE_STORAGE_SAS_URL to the service URL followed by a SAS token (…?sv=…&sig=…), or unset it.',
  ),
  accountUrl: optionalStringVar(
    'AZURE_STORAGE_ACCOUNT_URL',
    'Data Lake endpoint for AZURE_STORAGE_ACCOUNT_NAME/KEY. Unset: https://<name>.dfs.core.windows.net.',
    'Set AZURE_STORAGE_ACCOUNT_URL to an http(s) URL such as https://acct.dfs.core.windows.net, or unset it.',
  ),
  fileSystem: stringVar('AZURE_DATALAKE_FILESYSTEM', 'tessera', 'Data Lake filesystem (container) that receives the mosaics; created if missing.'),
  folder: stringVar('AZURE_DATALAKE_FOLDER', 'mosaics', 'Folder inside the filesystem; a request\'s files go to <folder>/<request id>/<file name>.'),
  attempts: intVar('AZURE_UPLOAD_ATTEMPTS', 5, 1, 100, 'Tries of a request\'s upload (exponential backoff) before it is recorded as upload_error.'),
} as const;

interface DataLakeTarget {
  readonly fileSystem: string;
  /** Without leading or trailing slashes; '' means the filesystem's root. */
  readonly folder: string;
  readonly attempts: number;
}

export interface ConnectionStringAuth {
  readonly kind: 'connection-string';
  /** Secret. */
  readonly connectionString: string;
  /** For logs (may be '' for a SAS connection string without AccountName). */
  readonly accountName: string;
}

export interface SharedKeyAuth {
  readonly kind: 'shared-key';
  readonly accountName: string;
  /** Secret (base64). */
  readonly accountKey: string;
  /** Data Lake service endpoint, without query. */
  readonly accountUrl: string;
}

export interface SasAuth {
  readonly kind: 'sas';
  /** Secret: the service URL with its SAS query. */
  readonly sasUrl: string;
  /** The same URL without the query (safe to log). */
  readonly serviceUrl: string;
}

export type DataLakeSettings = (ConnectionStringAuth | SharedKeyAuth | SasAuth) & DataLakeTarget;

const AUTH_FIX =
  'Use exactly one way of authenticating: AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY ' +
  '(optionally AZURE_STORAGE_ACCOUNT_URL), or AZURE_STORAGE_SAS_URL; unset the others (or all of them to turn uploads off)';

/**
 * The Data Lake settings, or `undefined` when none of the credential variables is set (uploads off).
 * Throws ConfigError for partial or conflicting credentials and bad names.
 */
export function loadDataLakeSettings(env: Env): DataLakeSettings | undefined {
  const v = DATALAKE_VARIABLES;
  const connectionString = v.connectionString.read(env);
  const accountName = v.accountName.read(env);
  const accountKey = v.accountKey.read(env);
  const sasUrl = v.sasUrl.read(env);
  const accountUrl = v.accountUrl.read(env);
  if (connectionString === undefined && accountName === undefined && accountKey === undefined && sasUrl === undefined) {
    if (accountUrl !== undefined) {
      throw new ConfigError(
        v.accountUrl.name,
        'is set, but AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY are not (it only applies to them)',
        'Set AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY too, or unset AZURE_STORAGE_ACCOUNT_URL to keep uploads off.',
      );
    }
    return undefined;
  }

  const methods: string[] = [];
  if (connectionString !== undefined) methods.push(v.connectionString.name);
  if (accountName !== undefined || accountKey !== undefined) methods.push(`${v.accountName.name}/${v.accountKey.name}`);
  if (sasUrl !== undefined) methods.push(v.sasUrl.name);
  if (methods.length > 1) {
    throw new ConfigError(methods.join(', '), `${methods.length} ways of authenticating are set at once`, `${AUTH_FIX}.`);
  }
  if (accountUrl !== undefined && accountName === undefined && accountKey === undefined) {
    throw new ConfigError(
      v.accountUrl.name,
      `only applies to AZURE_STORAGE_ACCOUNT_NAME/KEY, but ${methods[0] ?? 'another method'} is used`,
      'Unset AZURE_STORAGE_ACCOUNT_URL (the endpoint comes from the connection string or SAS URL), or authenticate with AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY.',
    );
  }

  const target: DataLakeTarget = {
    fileSystem: checkFileSystem(v.fileSystem.read(env)),
    folder: checkFolder(v.folder.read(env)),
    attempts: v.attempts.read(env),
  };
  if (connectionString !== undefined) return Object.freeze({ ...checkConnectionString(connectionString), ...target });
  if (sasUrl !== undefined) return Object.freeze({ ...checkSasUrl(sasUrl), ...target });
  return Object.freeze({ ...checkSharedKey(accountName, accountKey, accountUrl), ...target });
}

/** Where uploads go and how they authenticate, without any secret (for logs). */
export function describeDataLakeTarget(settings: DataLakeSettings): string {
  const where = `filesystem "${settings.fileSystem}", folder "${settings.folder}"`;
  switch (settings.kind) {
    case 'connection-string':
      return `Azure Data Lake via connection string${settings.accountName ? ` (account ${settings.accountName})` : ''}, ${where}`;
    case 'shared-key':
      return `Azure Data Lake at ${settings.accountUrl} (account ${settings.accountName}, shared key), ${where}`;
    case 'sas':
      return `Azure Data Lake at ${settings.serviceUrl} (SAS), ${where}`;
  }
}

function checkSharedKey(name: string | undefined, key: string | undefined, url: string | undefined): SharedKeyAuth {
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

function checkSasUrl(value: string): SasAuth {
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
function checkConnectionString(value: string): ConnectionStringAuth {
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
function checkFileSystem(value: string): string {
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
function checkFolder(value: string): string {
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
