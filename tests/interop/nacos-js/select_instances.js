// Nacos's own Node.js naming client (nacos-naming, through the `nacos` package) asks one Nacos
// server for the healthy instances of a service, as an application would:
// selectInstances(service, group, clusters = '', healthy = true, subscribe = false).
// Prints one JSON array [{ip, port, gRPC_port}] sorted by port on stdout, then exits.
// Usage: node select_instances.js HOST:PORT SERVICE [GROUP] [NAMESPACE]
'use strict';

const { NacosNamingClient } = require('nacos');

async function main() {
  const [server, service, group = 'DEFAULT_GROUP', namespace = 'public'] = process.argv.slice(2);
  if (!server || !service) {
    console.error('usage: node select_instances.js HOST:PORT SERVICE [GROUP] [NAMESPACE]');
    process.exit(64);
  }
  const quiet = { info() {}, debug() {}, warn() {}, error: console.error };
  const client = new NacosNamingClient({ logger: quiet, serverList: server, namespace });
  await client.ready();
  const hosts = await client.selectInstances(service, group, '', true, false);
  const out = hosts
    .map(h => ({ ip: h.ip, port: h.port, gRPC_port: (h.metadata || {}).gRPC_port }))
    .sort((a, b) => a.port - b.port);
  process.stdout.write(JSON.stringify(out) + '\n');
  client.close();
  process.exit(0);
}

main().catch(err => {
  console.error(String(err && err.stack || err));
  process.exit(1);
});
