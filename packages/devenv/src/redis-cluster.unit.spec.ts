import { describe, expect, it } from 'vitest';
import { parseClusterNodes } from './redis-cluster-support.js';

describe('parseClusterNodes', () => {
  it('reads ID, port, flags, master and slot ownership from CLUSTER NODES lines', () => {
    const text = [
      'f5b0 127.0.0.1:30003@40003 master - 0 1796174537861 3 connected 10923-16383',
      'c9a9 127.0.0.1:30005@40005,node-5 slave 9f90 0 1796174537339 1 connected',
      '9f90 127.0.0.1:30001@40001 myself,master - 0 1796174537000 1 connected 0-5460 [5461->-a71d]',
      'a71d 127.0.0.1:30002@40002 master,fail - 1796174537000 1796174537000 2 disconnected',
      'b00b 127.0.0.1:30007@40007 master - 0 0 7 connected [42-<-f5b0]',
      '',
    ].join('\n');
    expect(parseClusterNodes(text)).toEqual([
      { id: 'f5b0', port: 30003, flags: ['master'], masterId: undefined, ownsSlots: true },
      { id: 'c9a9', port: 30005, flags: ['slave'], masterId: '9f90', ownsSlots: false },
      { id: '9f90', port: 30001, flags: ['myself', 'master'], masterId: undefined, ownsSlots: true },
      { id: 'a71d', port: 30002, flags: ['master', 'fail'], masterId: undefined, ownsSlots: false },
      { id: 'b00b', port: 30007, flags: ['master'], masterId: undefined, ownsSlots: false },
    ]);
  });
});
