/** flowhook as a library: build the app yourself, or start the whole server. */
export { loadConfig, ConfigError, type Config } from './config';
export { ERROR_STATUS, FlowhookError, type ErrorCode } from './errors';
export { createFlowClient, type FlowClient } from './flows/create-flow-client';
export { createApp, type AppDeps } from './http/create-app';
export { createLogger } from './logger';
export { loadMappings, MappingsDirError } from './mappings/load-mappings';
export type { MappingSet, CompiledSource } from './mappings/types';
export { startServer, type RunningServer } from './server';
export { createVerifier } from './verify/create-verifier';
