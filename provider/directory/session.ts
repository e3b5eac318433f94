// A library caller's handle on the directory: the connection settings given once, the calls of the
// LDAP backend on them, and close() when done. Every call shares the process's pool (pool.ts), so
// the functions of directory/backend.ts called directly reuse connections just the same; a session
// only saves passing the settings around and says when its connections may go.
import type { AccountFacts, AccountLocation, ConnectionSettings, ProvisioningParams, ProvisionResult } from '../backend';
import { ProvisioningError } from '../errors';
import { checkSettings } from './connection';
import { deleteAccount, findAccountByName, provision, provisionMany, readAccount, type BatchOutcome } from './backend';
import { closeIdle, identityKey } from './pool';

export interface DirectorySession {
  provision(params: ProvisioningParams): Promise<ProvisionResult>;
  provisionMany(list: ProvisioningParams[]): Promise<BatchOutcome[]>;
  readAccount(objectGuid: string, where?: AccountLocation): Promise<AccountFacts | null>;
  findAccountByName(samAccountName: string, domain: string): Promise<AccountFacts | null>;
  deleteAccount(objectGuid: string, where?: AccountLocation): Promise<void>;
  /** Close the idle connections this session's identity holds (lent ones close when given back). */
  close(): Promise<void>;
}

/** Open a session on these settings (checked now, like every call checks them). The settings,
 *  with their password, stay in a closure: nothing of the session prints them. */
export function openSession(connection: ConnectionSettings): DirectorySession {
  checkSettings(connection);
  const settings: ConnectionSettings = { ...connection };
  let closed = false;
  const open = async (): Promise<ConnectionSettings> => {
    if (closed) throw new ProvisioningError('ERROR_INVALID_PARAMETER', 'the directory session is closed; open another', { field: 'session' });
    return settings;
  };
  return Object.freeze({
    provision: async (params: ProvisioningParams) => provision(params, await open()),
    provisionMany: async (list: ProvisioningParams[]) => provisionMany(list, await open()),
    readAccount: async (objectGuid: string, where?: AccountLocation) => readAccount(objectGuid, await open(), where),
    findAccountByName: async (samAccountName: string, domain: string) => findAccountByName(samAccountName, await open(), domain),
    deleteAccount: async (objectGuid: string, where?: AccountLocation) => deleteAccount(objectGuid, await open(), where),
    close: async () => {
      closed = true;
      await closeIdle((key, url) => key === identityKey(settings, url));
    },
  });
}
