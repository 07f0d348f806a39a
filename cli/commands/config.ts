import { loadConfig } from '../../core/config/index.ts';

/** Prints the effective configuration as JSON with credentials in URLs masked; invalid settings throw ConfigInvalid. */
export function printConfig(configFile: string | undefined): void {
  const config = loadConfig({ file: configFile });
  const masked = JSON.stringify(config, (_key, value: unknown) =>
    typeof value === 'string' ? value.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@') : value, 2);
  console.log(masked);
}
