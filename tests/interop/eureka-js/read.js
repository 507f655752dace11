// eureka-js-client (npm) reading the registry of a Eureka server as a Node.js service would: one
// full fetch of GET {servicePath} (filterUpInstances on, the client's default), then the
// instances of one application (getInstancesByAppId) and of one VIP address
// (getInstancesByVipAddress), printed as one JSON line and the process exits.
//
// Usage: node read.js <host> <port> <servicePath, e.g. /eureka/apps/> <APP> <vip>
'use strict';

const { Eureka } = require('eureka-js-client');

const [host, port, servicePath, app, vip] = process.argv.slice(2);
if (!vip) {
  process.stderr.write('usage: node read.js HOST PORT SERVICE_PATH APP VIP\n');
  process.exit(64);
}

const quiet = { debug() {}, info() {}, warn() {}, error(...a) { process.stderr.write(a.join(' ') + '\n'); } };
const client = new Eureka({
  logger: quiet,
  eureka: {
    host,
    port: Number(port),
    servicePath,
    registerWithEureka: false,
    fetchRegistry: true,
    maxRetries: 0,
  },
});

const view = (list) => list.map((i) => ({
  instanceId: i.instanceId,
  ipAddr: i.ipAddr,
  port: Number(i.port && i.port.$),
  status: i.status,
  gRPC_port: i.metadata ? i.metadata.gRPC_port : undefined,
})).sort((a, b) => (a.instanceId < b.instanceId ? -1 : 1));

client.start((error) => {
  if (error) {
    process.stderr.write('eureka-js-client: ' + error + '\n');
    process.exit(1);
  }
  const out = { byApp: view(client.getInstancesByAppId(app)), byVip: view(client.getInstancesByVipAddress(vip)) };
  process.stdout.write(JSON.stringify(out) + '\n');
  client.stop();
  process.exit(0);
});
