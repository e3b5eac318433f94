// The stable id of the lifecycle module (resource/lifecycle.ts): every stored state's __provider
// requires dist/provider/resource-provider.js by absolute path or by the package id
// pulumi-offline-join/dist/provider/resource-provider.js (package.json `exports`), so it stays.
export * from './resource/lifecycle';
