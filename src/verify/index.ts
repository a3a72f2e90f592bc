export { createVerifier } from './create-verifier';
export { needsSecret, PROVIDERS, type Provider } from './providers';
export * from './types';
