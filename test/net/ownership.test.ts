import { describe, expect, it } from 'vitest';
import {
  bridgeVerdict, isNetworkDnsmasq, nftVerdict, ownerMarker, restoreForwarding, tapVerdict,
} from '../../src/net/ownership.js';

const M = ownerMarker('n1', 'abc123');
const rec = { name: 'qkbr-n1', ifindex: 7, marker: M };

describe('ownerMarker', () => {
  it('carries the network and the token', () => {
    expect(M).toBe('qkvm:net:n1:abc123');
  });
});

describe('bridgeVerdict', () => {
  it('removes the bridge qkvm recorded, still there with its ifindex and marker', () => {
    expect(bridgeVerdict('qkbr-n1', rec, { ifindex: 7, alias: M, isBridge: true })).toEqual({ remove: true });
  });
  it('leaves a bridge it has no record of (made by the administrator)', () => {
    const v = bridgeVerdict('qkbr-n1', undefined, { ifindex: 7, alias: '', isBridge: true });
    expect(v).toEqual({ remove: false, why: 'bridge qkbr-n1 was not created by qkvm for this network: left in place' });
  });
  it('leaves a bridge recorded under another name', () => {
    expect(bridgeVerdict('qkbr-n1', { ...rec, name: 'qkbr-n2' }, { ifindex: 7, alias: M, isBridge: true }).remove).toBe(false);
  });
  it('leaves a bridge replaced under the same name (new ifindex)', () => {
    const v = bridgeVerdict('qkbr-n1', rec, { ifindex: 8, alias: M, isBridge: true });
    expect(v).toEqual({ remove: false, why: 'bridge qkbr-n1 was replaced since qkvm created it (ifindex 8, recorded 7): left in place' });
  });
  it('leaves a bridge whose marker is gone or changed', () => {
    const v = bridgeVerdict('qkbr-n1', rec, { ifindex: 7, alias: 'admin', isBridge: true });
    expect(v).toEqual({ remove: false, why: 'bridge qkbr-n1 no longer carries qkvm\'s marker (alias "admin"): left in place' });
    expect(bridgeVerdict('qkbr-n1', rec, { ifindex: 7, alias: ownerMarker('n1', 'other'), isBridge: true }).remove).toBe(false);
  });
  it('leaves a link of that name that is not a bridge', () => {
    const v = bridgeVerdict('qkbr-n1', rec, { ifindex: 7, alias: M, isBridge: false });
    expect(v).toEqual({ remove: false, why: 'qkbr-n1 is no longer a bridge: left in place' });
  });
  it('has nothing to remove when the bridge is gone', () => {
    expect(bridgeVerdict('qkbr-n1', rec, undefined)).toEqual({ remove: false, why: 'bridge qkbr-n1 is already gone' });
  });
});

describe('nftVerdict', () => {
  const nrec = { table: 'qkvm_n1', handle: 4, comment: M };
  it('removes the table qkvm recorded, same handle and comment', () => {
    expect(nftVerdict('qkvm_n1', nrec, { handle: 4, comment: M })).toEqual({ remove: true });
  });
  it('leaves a table without a record', () => {
    expect(nftVerdict('qkvm_n1', undefined, { handle: 4, comment: M })).toEqual({ remove: false, why: 'nft table ip qkvm_n1 was not created by qkvm for this network: left in place' });
    expect(nftVerdict('qkvm_n1', { ...nrec, table: 'qkvm_n2' }, { handle: 4, comment: M }).remove).toBe(false);
  });
  it('leaves a table made again under the same name', () => {
    expect(nftVerdict('qkvm_n1', nrec, { handle: 9, comment: M })).toEqual({ remove: false, why: 'nft table ip qkvm_n1 was replaced since qkvm created it (handle 9, recorded 4): left in place' });
  });
  it('leaves a table whose comment differs', () => {
    expect(nftVerdict('qkvm_n1', nrec, { handle: 4 })).toEqual({ remove: false, why: 'nft table ip qkvm_n1 no longer carries qkvm\'s comment: left in place' });
    expect(nftVerdict('qkvm_n1', nrec, { handle: 4, comment: 'admin' }).remove).toBe(false);
  });
  it('has nothing to remove when the table is gone', () => {
    expect(nftVerdict('qkvm_n1', nrec, undefined)).toEqual({ remove: false, why: 'nft table ip qkvm_n1 is already gone' });
  });
});

describe('isNetworkDnsmasq', () => {
  const pf = '/run/qkvm/net/n1/dnsmasq.pid';
  const argv = ['dnsmasq', '--conf-file=/dev/null', `--pid-file=${pf}`];
  it('is true for dnsmasq with this exact pid-file argument', () => {
    expect(isNetworkDnsmasq({ exe: '/usr/sbin/dnsmasq', argv }, pf)).toBe(true);
    expect(isNetworkDnsmasq({ exe: '/usr/sbin/dnsmasq (deleted)', argv }, pf)).toBe(true);
  });
  it('is false for another binary with the same arguments', () => {
    expect(isNetworkDnsmasq({ exe: '/usr/bin/sleep', argv }, pf)).toBe(false);
    expect(isNetworkDnsmasq({ exe: '/usr/bin/notdnsmasq', argv }, pf)).toBe(false);
    expect(isNetworkDnsmasq({ exe: '/opt/dnsmasq/bin/x', argv }, pf)).toBe(false);
  });
  it('is false when the pid file is only a substring or another network\'s', () => {
    expect(isNetworkDnsmasq({ exe: '/usr/sbin/dnsmasq', argv: ['dnsmasq', `--pid-file=${pf}.x`] }, pf)).toBe(false);
    expect(isNetworkDnsmasq({ exe: '/usr/sbin/dnsmasq', argv: ['dnsmasq', `x--pid-file=${pf}`] }, pf)).toBe(false);
    expect(isNetworkDnsmasq({ exe: '/usr/sbin/dnsmasq', argv: ['dnsmasq', '--pid-file=/run/qkvm/net/n2/dnsmasq.pid'] }, pf)).toBe(false);
    expect(isNetworkDnsmasq({ exe: '/usr/sbin/dnsmasq', argv: ['dnsmasq', pf] }, pf)).toBe(false);
  });
  it('is false when /proc told nothing', () => {
    expect(isNetworkDnsmasq(undefined, pf)).toBe(false);
    expect(isNetworkDnsmasq({ argv }, pf)).toBe(false);
    expect(isNetworkDnsmasq({ exe: '/usr/sbin/dnsmasq' }, pf)).toBe(false);
  });
});

describe('tapVerdict', () => {
  const live = { exists: true, isTuntap: true };
  it('removes a tap recorded for this guest that is still a tap', () => {
    expect(tapVerdict('qkg-0', 'g', { TAP: 'qkg-0', GUEST: 'g' }, live)).toEqual({ remove: true });
  });
  it('leaves a tap without a record', () => {
    expect(tapVerdict('qkg-0', 'g', undefined, live)).toEqual({ remove: false, why: 'tap qkg-0 has no record of qkvm\'s: left in place' });
  });
  it('leaves a tap recorded for another guest or under another name', () => {
    expect(tapVerdict('qkg-0', 'g', { TAP: 'qkg-0', GUEST: 'h' }, live)).toEqual({ remove: false, why: 'tap qkg-0 is recorded for another guest or name: left in place' });
    expect(tapVerdict('qkg-0', 'g', { TAP: 'qkg-1', GUEST: 'g' }, live).remove).toBe(false);
  });
  it('leaves an interface that is not a tun/tap device', () => {
    expect(tapVerdict('qkg-0', 'g', { TAP: 'qkg-0', GUEST: 'g' }, { exists: true, isTuntap: false })).toEqual({ remove: false, why: 'qkg-0 is not a tap device: left in place' });
  });
  it('has nothing to remove when the tap is gone', () => {
    expect(tapVerdict('qkg-0', 'g', { TAP: 'qkg-0', GUEST: 'g' }, { exists: false, isTuntap: false })).toEqual({ remove: false, why: 'tap qkg-0 is already gone' });
  });
});

describe('restoreForwarding', () => {
  it('turns forwarding back off only when qkvm turned it on, no other network forwards, and it is on', () => {
    expect(restoreForwarding('0\n', false, true)).toBe(true);
    expect(restoreForwarding(undefined, false, true)).toBe(false);
    expect(restoreForwarding('1\n', false, true)).toBe(false);
    expect(restoreForwarding('0\n', true, true)).toBe(false);
    expect(restoreForwarding('0\n', false, false)).toBe(false);
  });
});
