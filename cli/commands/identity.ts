/**
 * `tributary connection-string`, `tributary device …` and `tributary sas`: the registry from the command line, through
 * the running hub's service API (so it works the same with PGlite, which only the hub process may open, and PostgreSQL).
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { loadConfig, type Config } from '../../core/config/index.ts';
import { certificateThumbprint, createSasToken, deviceConnectionString, deviceResourceUri, parseServiceConnectionString } from '../../core/auth/index.ts';
import { ServiceClient, readServiceConnectionString } from '../service-client.ts';

interface DeviceJson {
  deviceId: string;
  status: string;
  connectionState: string;
  authentication: { type: string; symmetricKey?: { primaryKey?: string | null }; x509Thumbprint?: { primaryThumbprint?: string | null } };
}

const load = (opts: { config?: string }): Config => loadConfig({ file: opts.config });
const print = (value: unknown) => console.log(typeof value === 'string' ? value : JSON.stringify(value, null, 2));

export function registerIdentityCommands(program: Command): void {
  program
    .command('connection-string')
    .description('print the iothubowner service connection string of this hub (for the azure-iothub SDK)')
    .option('-c, --config <file>', 'JSON configuration file')
    .action(async (opts: { config?: string }) => print(await readServiceConnectionString(load(opts))));

  const device = program.command('device').description('manage device identities through the running hub');
  device
    .command('create <deviceId>')
    .option('--x509-thumbprint <thumbprint>', 'self-signed X.509: primary thumbprint (or --x509-cert to compute it)')
    .option('--x509-cert <pemFile>', 'self-signed X.509: the device certificate; its SHA-1 thumbprint is registered')
    .option('--ca', 'X.509 signed by a verified CA (certificateAuthority)')
    .option('--edge', 'an IoT Edge device')
    .option('-c, --config <file>', 'JSON configuration file')
    .action(async (deviceId: string, opts: { x509Thumbprint?: string; x509Cert?: string; ca?: boolean; edge?: boolean; config?: string }) => {
      const client = await ServiceClient.forConfig(load(opts));
      const thumbprint = opts.x509Cert ? certificateThumbprint(await readFile(opts.x509Cert, 'utf8')) : opts.x509Thumbprint;
      const authentication = opts.ca
        ? { type: 'certificateAuthority' }
        : thumbprint
          ? { type: 'selfSigned', x509Thumbprint: { primaryThumbprint: thumbprint, secondaryThumbprint: null } }
          : { type: 'sas', symmetricKey: { primaryKey: '', secondaryKey: '' } };
      print(await client.call('PUT', `/devices/${encodeURIComponent(deviceId)}`, { deviceId, authentication, capabilities: { iotEdge: Boolean(opts.edge) } }));
    });
  device
    .command('list')
    .option('-c, --config <file>', 'JSON configuration file')
    .action(async (opts: { config?: string }) => {
      const devices = await (await ServiceClient.forConfig(load(opts))).call<DeviceJson[]>('GET', '/devices');
      for (const d of devices) console.log(`${d.deviceId}\t${d.status}\t${d.connectionState}\t${d.authentication.type}`);
      console.error(`${devices.length} devices`);
    });
  device
    .command('show <deviceId>')
    .option('-c, --config <file>', 'JSON configuration file')
    .action(async (deviceId: string, opts: { config?: string }) => print(await (await ServiceClient.forConfig(load(opts))).call('GET', `/devices/${encodeURIComponent(deviceId)}`)));
  device
    .command('delete <deviceId>')
    .option('-c, --config <file>', 'JSON configuration file')
    .action(async (deviceId: string, opts: { config?: string }) => {
      await (await ServiceClient.forConfig(load(opts))).call('DELETE', `/devices/${encodeURIComponent(deviceId)}`, undefined, { 'if-match': '*' });
      console.log(`deleted ${deviceId}`);
    });
  device
    .command('connection-string <deviceId>')
    .description('the device connection string the official device SDK takes')
    .option('-m, --module <moduleId>', 'a module of the device')
    .option('-c, --config <file>', 'JSON configuration file')
    .action(async (deviceId: string, opts: { module?: string; config?: string }) => {
      const config = load(opts);
      const identity = await (await ServiceClient.forConfig(config)).call<DeviceJson>('GET', identityPath(deviceId, opts.module));
      const hostName = parseServiceConnectionString(await readServiceConnectionString(config)).hostName;
      const key = identity.authentication.symmetricKey?.primaryKey;
      const gateway = config.ports.mqtts === 8883 || config.ports.mqtts === 0 ? undefined : `${hostName}:${config.ports.mqtts}`;
      print(deviceConnectionString({ hostName, deviceId, ...(opts.module ? { moduleId: opts.module } : {}), ...(key ? { key } : { x509: true }), ...(gateway ? { gatewayHostName: gateway } : {}) }));
    });

  program
    .command('sas')
    .description('mint a SAS token: for a device (its primary key) or for the iothubowner policy (default)')
    .option('-d, --device <deviceId>', 'device the token is for')
    .option('-m, --module <moduleId>', 'module of the device')
    .option('--ttl <seconds>', 'lifetime in seconds', '3600')
    .option('-c, --config <file>', 'JSON configuration file')
    .action(async (opts: { device?: string; module?: string; ttl: string; config?: string }) => {
      const config = load(opts);
      const cs = parseServiceConnectionString(await readServiceConnectionString(config));
      const expiresAt = Math.floor(Date.now() / 1000) + Number(opts.ttl);
      if (!opts.device) {
        print(createSasToken({ resourceUri: cs.hostName, key: cs.key, keyName: cs.keyName, expiresAt }));
        return;
      }
      const identity = await (await ServiceClient.forConfig(config)).call<DeviceJson>('GET', identityPath(opts.device, opts.module));
      const key = identity.authentication.symmetricKey?.primaryKey;
      if (!key) throw new Error(`${opts.device} does not use SAS authentication (type ${identity.authentication.type})`);
      print(createSasToken({ resourceUri: deviceResourceUri(cs.hostName, opts.device, opts.module), key, expiresAt }));
    });
}

function identityPath(deviceId: string, moduleId?: string): string {
  return `/devices/${encodeURIComponent(deviceId)}${moduleId ? `/modules/${encodeURIComponent(moduleId)}` : ''}`;
}
