export { ConfigSchema, type Config } from './schema.ts';
export { loadConfig, pointerToPath, type LoadConfigOptions } from './load-config.ts';
export { SETTINGS, envVarName, CONFIG_FILE_ENV, RESERVED_ENV_PREFIXES, type Setting } from './settings.ts';
