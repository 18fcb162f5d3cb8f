/**
 * Azure Data Lake Storage Gen2 settings for uploading finished mosaics: the variables (declared once,
 * like MASTER_VARIABLES, so the README table can be checked) and `loadDataLakeSettings`, which turns
 * them into one validated way of authenticating plus where the files go — or `undefined` when no
 * credential variable is set (uploads off: outputs stay on the volume only). Every mistake is a
 * ConfigError naming the variables involved and how to fix them; no message ever repeats a secret.
 */
import { ConfigError } from '../../shared/errors.js';
import { intVar, optionalStringVar, stringVar, type Env } from '../../shared/config/env.js';
import { checkConnectionString, checkFileSystem, checkFolder, checkSasUrl, checkSharedKey } from './datalake-checks.js';

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
