/**
 * `tributary route …`, `tributary endpoint …` and `tributary fallback …`: IoT Hub's message routing from the command
 * line, through the running hub's service API (so a change reaches running routers without a restart).
 */
import type { Command } from 'commander';
import { loadConfig } from '../../core/config/index.ts';
import { ServiceClient } from '../service-client.ts';

interface RouteJson { name: string; source: string; condition: string; endpointNames: string[]; isEnabled: boolean }
interface EndpointJson { name: string; type: string }

const client = async (opts: { config?: string }) => ServiceClient.forConfig(loadConfig({ file: opts.config }));
const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerRoutingCommands(program: Command): void {
  const route = program.command('route').description('message routes (conditions in IoT Hub routing-query syntax)');
  route
    .command('list')
    .option('-c, --config <file>', 'JSON configuration file')
    .action(async (opts: { config?: string }) => {
      const routes = await (await client(opts)).call<RouteJson[]>('GET', '/routes');
      for (const r of routes) console.log(`${r.name}\t${r.source}\t${r.isEnabled ? 'enabled' : 'disabled'}\t${r.endpointNames.join(',')}\t${r.condition}`);
      console.error(`${routes.length} routes`);
    });
  route
    .command('set <name>')
    .description('create or replace a route')
    .requiredOption('-e, --endpoint <endpoint>', 'endpoint the matching records go to (repeatable; "events" is built in)', collect)
    .option('-q, --condition <query>', 'routing query, e.g. "$body.temperature > 30"', 'true')
    .option('-s, --source <source>', 'DeviceMessages, TwinChangeEvents, DeviceLifecycleEvents or DeviceConnectionStateEvents', 'DeviceMessages')
    .option('--disabled', 'store the route disabled')
    .option('-c, --config <file>', 'JSON configuration file')
    .action(async (name: string, opts: { endpoint: string[]; condition: string; source: string; disabled?: boolean; config?: string }) => {
      const body = { source: opts.source, condition: opts.condition, endpointNames: opts.endpoint, isEnabled: !opts.disabled };
      console.log(JSON.stringify(await (await client(opts)).call('PUT', `/routes/${encodeURIComponent(name)}`, body), null, 2));
    });
  route
    .command('delete <name>')
    .option('-c, --config <file>', 'JSON configuration file')
    .action(async (name: string, opts: { config?: string }) => {
      await (await client(opts)).call('DELETE', `/routes/${encodeURIComponent(name)}`);
      console.log(`deleted route ${name}`);
    });

  const endpoint = program.command('endpoint').description('custom routing endpoints (topic iot.route.<name>)');
  endpoint
    .command('list')
    .option('-c, --config <file>', 'JSON configuration file')
    .action(async (opts: { config?: string }) => {
      for (const e of await (await client(opts)).call<EndpointJson[]>('GET', '/endpoints')) console.log(`${e.name}\t${e.type}`);
    });
  endpoint
    .command('set <name>')
    .requiredOption('-t, --type <type>', 'kafka, storage, rabbitmq, webhook or clickhouse')
    .option('-c, --config <file>', 'JSON configuration file')
    .action(async (name: string, opts: { type: string; config?: string }) => {
      console.log(JSON.stringify(await (await client(opts)).call('PUT', `/endpoints/${encodeURIComponent(name)}`, { type: opts.type }), null, 2));
    });
  endpoint
    .command('delete <name>')
    .option('-c, --config <file>', 'JSON configuration file')
    .action(async (name: string, opts: { config?: string }) => {
      await (await client(opts)).call('DELETE', `/endpoints/${encodeURIComponent(name)}`);
      console.log(`deleted endpoint ${name}`);
    });

  program
    .command('fallback')
    .description('show or change the fallback route (messages no route matched)')
    .option('--enable', 'enable it')
    .option('--disable', 'disable it')
    .option('-e, --endpoint <endpoint>', 'where it sends messages (default events)')
    .option('-c, --config <file>', 'JSON configuration file')
    .action(async (opts: { enable?: boolean; disable?: boolean; endpoint?: string; config?: string }) => {
      const api = await client(opts);
      const current = await api.call<{ condition: string; endpointNames: string[]; isEnabled: boolean }>('GET', '/fallbackRoute');
      if (!opts.enable && !opts.disable && !opts.endpoint) return console.log(JSON.stringify(current, null, 2));
      const next = { ...current, isEnabled: opts.disable ? false : opts.enable ? true : current.isEnabled, endpointNames: opts.endpoint ? [opts.endpoint] : current.endpointNames };
      console.log(JSON.stringify(await api.call('PUT', '/fallbackRoute', next), null, 2));
    });
}
