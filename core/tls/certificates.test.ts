import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { once } from 'node:events';
import https from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { before, describe, test } from 'node:test';
import deviceSdk from 'azure-iot-device';
import deviceMqtt from 'azure-iot-device-mqtt';
import { verifyCertificateChain } from '../auth/x509.ts';
import { createCertificateAuthority, createSelfSignedCertificate, issueCertificate, type CertificateAndKey } from './certificates.ts';

// The mqtt.js the Azure device SDK actually runs (azure-iot-mqtt-base bundles 4.3.8, iothub-wire.md header).
const require = createRequire(import.meta.url);
const mqtt = require(require.resolve('mqtt', { paths: [require.resolve('azure-iot-mqtt-base')] })) as {
  connect(url: string, opts: Record<string, unknown>): { on(e: string, f: (...a: unknown[]) => void): void; end(force?: boolean): void };
};

let ca: CertificateAndKey;
let server: CertificateAndKey;

before(async () => {
  ca = await createCertificateAuthority({ commonName: 'Tributary test CA' });
  server = await issueCertificate({ issuer: ca, commonName: 'localhost', dnsNames: ['localhost', 'hub.example.test'], ipAddresses: ['127.0.0.1'], usage: 'server' });
});

async function withTlsServer<T>(options: tls.TlsOptions, onSocket: (s: tls.TLSSocket) => void, fn: (port: number) => Promise<T>): Promise<T> {
  const srv = tls.createServer({ cert: server.certPem, key: server.keyPem, ...options }, onSocket);
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  try {
    return await fn((srv.address() as AddressInfo).port);
  } finally {
    srv.close();
  }
}

async function handshake(port: number, opts: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  const socket = tls.connect({ port, host: '127.0.0.1', ca: ca.certPem, ...opts });
  await Promise.race([once(socket, 'secureConnect'), once(socket, 'error').then(([e]) => Promise.reject(e as Error))]);
  return socket;
}

describe('generated certificates', () => {
  test('shape: CA has cA + keyCertSign, server has SANs, client and self-signed certificates are end entities', async () => {
    const caCert = new X509Certificate(ca.certPem);
    const srv = new X509Certificate(server.certPem);
    assert.equal(caCert.ca, true);
    assert.equal(srv.ca, false);
    assert.equal(srv.subjectAltName, 'DNS:localhost, DNS:hub.example.test, IP Address:127.0.0.1');
    assert.deepEqual(srv.keyUsage, ['1.3.6.1.5.5.7.3.1']); // node names the extended key usage keyUsage
    assert.ok(srv.checkIssued(caCert) && srv.verify(caCert.publicKey));
    const self = new X509Certificate((await createSelfSignedCertificate({ commonName: 'dev' })).certPem);
    assert.ok(self.verify(self.publicKey));
    assert.equal(self.ca, false);
    await assert.rejects(issueCertificate({ issuer: ca, commonName: 'x', usage: 'server' }), /at least one DNS name/);
  });

  test('node TLS accepts the server certificate with the CA as the only trust anchor: SNI localhost and IP 127.0.0.1', async () => {
    // Recorded during the handshake: with TLS 1.3 the client may finish (and hang up) before the server's secureConnection.
    const sniSeen: string[] = [];
    const SNICallback = (name: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => { sniSeen.push(name); cb(null); };
    await withTlsServer({ SNICallback }, (s) => s.end(), async (port) => {
      const byName = await handshake(port, { servername: 'localhost' });
      assert.equal(byName.authorized, true, `localhost: ${byName.authorizationError}`);
      byName.destroy();
      const byOtherName = await handshake(port, { servername: 'hub.example.test' });
      assert.equal(byOtherName.authorized, true, `other: ${byOtherName.authorizationError}`);
      byOtherName.destroy();
      const byIp = await handshake(port, {}); // no SNI for IP literals; checked against the IP SAN
      assert.equal(byIp.authorized, true, `ip: ${byIp.authorizationError}`);
      byIp.destroy();
      await assert.rejects(handshake(port, { servername: 'not-in-the-cert.test' }), /does not match certificate's altnames|Hostname\/IP does not match/);
      await assert.rejects(handshake(port, { servername: 'localhost', ca: (await createCertificateAuthority({ commonName: 'other' })).certPem }),
        /unable to verify|self-signed|certificate/i);
    });
    // No SNI for the IP literal connection (RFC 6066 §3 forbids IP addresses in SNI).
    assert.deepEqual(sniSeen.slice(0, 3), ['localhost', 'hub.example.test', 'not-in-the-cert.test']);
  });

  test('an https server with the certificate is reachable by name with only the CA trusted', async () => {
    const srv = https.createServer({ cert: server.certPem, key: server.keyPem }, (_req, res) => res.end('hello'));
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    try {
      const port = (srv.address() as AddressInfo).port;
      const body = await new Promise<string>((resolve, reject) => {
        https.get({ host: 'localhost', port, ca: ca.certPem, lookup: (_h, o, cb) => (o as { all?: boolean }).all
          ? (cb as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: '127.0.0.1', family: 4 }])
          : (cb as (e: null, a: string, f: number) => void)(null, '127.0.0.1', 4) }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => { text += c.toString(); });
          res.on('end', () => resolve(text));
        }).on('error', reject);
      });
      assert.equal(body, 'hello');
    } finally {
      srv.close();
    }
  });

  test('mqtt.js 4.3.8 (the Azure SDK\'s) completes a TLS MQTT connect against the certificate', async () => {
    await withTlsServer({}, (s) => {
      s.once('data', () => s.write(Buffer.from([0x20, 0x02, 0x00, 0x00]))); // CONNACK, accepted
    }, async (port) => {
      const client = mqtt.connect(`mqtts://localhost:${port}`, { ca: ca.certPem, rejectUnauthorized: true, reconnectPeriod: 0, clientId: 'dev1' });
      try {
        await new Promise<void>((resolve, reject) => {
          client.on('connect', () => resolve());
          client.on('error', (e) => reject(e as Error));
        });
      } finally {
        client.end(true);
      }
    });
  });

  test('the Azure device SDK (MQTT transport) opens a connection to a hub serving the certificate, trusting only the CA', async () => {
    let connect: Buffer | undefined;
    await withTlsServer({}, (s) => {
      s.once('data', (d: Buffer) => { connect = d; s.write(Buffer.from([0x20, 0x02, 0x00, 0x00])); }); // CONNACK, accepted
    }, async (port) => {
      const key = Buffer.alloc(32, 7).toString('base64');
      // GatewayHostName carries the port (iothub-wire.md §0.1); the hub name stays plain for the token and the SNI.
      const client = deviceSdk.Client.fromConnectionString(`HostName=localhost;DeviceId=dev1;SharedAccessKey=${key};GatewayHostName=localhost:${port}`, deviceMqtt.Mqtt);
      await client.setOptions({ ca: ca.certPem });
      try {
        await client.open();
      } finally {
        await client.close();
      }
    });
    assert.ok(connect);
    assert.ok(connect.includes(Buffer.from('localhost/dev1/?api-version=')), 'CONNECT username names the hub and device');
  });

  test('a device client certificate issued by a CA is presented over TLS and its chain validates', async () => {
    const device = await issueCertificate({ issuer: ca, commonName: 'dev-x509', usage: 'client' });
    let peerPem: string | undefined;
    await withTlsServer({ requestCert: true, rejectUnauthorized: false }, (s) => {
      const raw = s.getPeerCertificate().raw;
      peerPem = new X509Certificate(raw).toString();
      s.end();
    }, async (port) => {
      const socket = await handshake(port, { servername: 'localhost', cert: device.certPem, key: device.keyPem });
      await once(socket, 'end');
      socket.destroy();
    });
    assert.ok(peerPem);
    const result = await verifyCertificateChain({ leafPem: peerPem, trustedCaPems: [ca.certPem] });
    assert.equal(result.ok, true);
  });

  test('issuing from an RSA CA made by someone else (openssl-style PKCS#1 key) works', async () => {
    const { X509CertificateGenerator, Name, BasicConstraintsExtension, KeyUsagesExtension, KeyUsageFlags } = await import('./x509-lib.ts');
    const keys = await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']);
    const rsaCa = await X509CertificateGenerator.createSelfSigned({ name: new Name('CN=RSA CA'), keys, signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5' },
      extensions: [new BasicConstraintsExtension(true, undefined, true), new KeyUsagesExtension(KeyUsageFlags.keyCertSign, true)] });
    const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
    const pkcs1Pem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs1', format: 'pem' }).toString();
    const issued = await issueCertificate({ issuer: { certPem: rsaCa.toString('pem'), keyPem: pkcs1Pem }, commonName: 'dev-rsa', usage: 'client' });
    const result = await verifyCertificateChain({ leafPem: issued.certPem, trustedCaPems: [rsaCa.toString('pem')] });
    assert.equal(result.ok, true);
  });
});
