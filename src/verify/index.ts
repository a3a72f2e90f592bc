export { createVerifier } from './create-verifier';
export { needsSecret, PROVIDERS, type Provider } from './provider-names';
export * from './types';
