/**
 * The Data Lake service client for a DataLakeSettings (connection string, shared key or SAS), with
 * the SDK's own retries off (the uploader retries with shared/retry.ts), and the redaction that keeps
 * every secret of those settings out of messages and logs.
 */
import {
  AnonymousCredential,
  DataLakeServiceClient,
  StorageSharedKeyCredential,
  type StoragePipelineOptions,
} from '@azure/storage-file-datalake';

import { redactUrls } from '../../shared/errors.js';
import type { DataLakeSettings } from './datalake-config.js';

/** The SDK's own retry policy: one try per request, so our backoff is the one in charge. */
const SDK_PIPELINE_OPTIONS: StoragePipelineOptions = { retryOptions: { maxTries: 1 } };

/** A client for the account the settings name; one failed SDK request fails the attempt. */
export function serviceClient(settings: DataLakeSettings): DataLakeServiceClient {
  switch (settings.kind) {
    case 'connection-string':
      return DataLakeServiceClient.fromConnectionString(settings.connectionString, { ...SDK_PIPELINE_OPTIONS });
    case 'shared-key':
      return new DataLakeServiceClient(
        settings.accountUrl,
        new StorageSharedKeyCredential(settings.accountName, settings.accountKey),
        { ...SDK_PIPELINE_OPTIONS },
      );
    case 'sas':
      return new DataLakeServiceClient(settings.sasUrl, new AnonymousCredential(), { ...SDK_PIPELINE_OPTIONS });
  }
}

/** Hides account keys, SAS signatures and SharedKey signatures in a message, then URL queries and passwords. */
export function redactSecrets(text: string, settings: DataLakeSettings): string {
  const secrets: string[] = [];
  if (settings.kind === 'shared-key') secrets.push(settings.accountKey);
  if (settings.kind === 'connection-string') {
    const key = /AccountKey=([^;]+)/.exec(settings.connectionString)?.[1];
    const sas = /SharedAccessSignature=([^;]+)/.exec(settings.connectionString)?.[1];
    if (key) secrets.push(key);
    if (sas) secrets.push(sas);
  }
  if (settings.kind === 'sas') secrets.push(new URL(settings.sasUrl).search.slice(1));
  let out = text;
  for (const secret of secrets) if (secret.length >= 8) out = out.split(secret).join('***');
  out = out
    .replace(/\b(AccountKey|SharedAccessSignature)=[^;\s]*/gi, '$1=***')
    .replace(/\bsig=[^&\s"']*/gi, 'sig=***')
    .replace(/\bSharedKey ([^:\s]+):\S+/g, 'SharedKey $1:***');
  return redactUrls(out);
}
