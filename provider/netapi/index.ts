// The native backend: Netapi32.dll on Windows, Samba's libnetapi elsewhere, through koffi.
export { NetapiBackend, type AccountDirectory, type NetapiAccount, type NetapiBackendOptions } from './backend';
export { loadNetapi, type NetapiOptions } from './load';
export type { NativeNetapi, NetapiSession, NativeProvisionRequest, NativeUser, NativeCredentials } from './native';
