import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { freePort, mokapiBinary, waitForPort } from './src/processes.js';
const port = await freePort();
const dir = mkdtempSync('/tmp/vb3-');
writeFileSync(`${dir}/b.yaml`, readFileSync(process.env.SPEC!, 'utf8').replace(/host:\s*"?127\.0\.0\.1:\d+"?/, `host: "127.0.0.1:${port}"`));
const child = spawn(mokapiBinary(), ['--api-port=0', '--api-dashboard=false', '--api-search-enabled=false', '--health-enabled=false', '--mcp-server-enabled=false', '--log-level=debug', `${dir}/b.yaml`], { stdio: ['ignore', 'pipe', 'pipe'] });
let out = ''; child.stdout.on('data', (b) => (out += b)); child.stderr.on('data', (b) => (out += b));
await waitForPort('127.0.0.1', port, 10000, 'mokapi', child);
const kafka = new Kafka({ clientId: 'v', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
const p = kafka.producer(); await p.connect();
const value = process.env.VALUE ?? JSON.stringify({ eventID: 'e', type: 'group.dismissed', version: 1, groupID: 'g1', occurredAt: 1, operatorUserID: 'u', data: {} });
try { await p.send({ topic: 'im.group.events', messages: [{ key: process.env.KEY === 'null' ? null : (process.env.KEY ?? 'g1'), value }] }); console.log('accepted'); } catch (e) { console.log('rejected', (e as Error).message); }
await p.disconnect(); child.kill('SIGKILL');
console.log(out.split('\n').filter((l) => l.startsWith('time=')).slice(-15).join('\n'));
