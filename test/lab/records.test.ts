import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertNotForeign, imageRecord, labNames, readRecord, removeRecords, stillOurs, writeLabYaml, writeRecord } from '../../src/lab/records.js';

let home: string;
const saved = process.env.QKVM_HOME;
beforeAll(() => { home = mkdtempSync(join(tmpdir(), 'qkvm-labrec-')); process.env.QKVM_HOME = home; });
afterAll(() => { process.env.QKVM_HOME = saved; rmSync(home, { recursive: true, force: true }); });

const thrown = (fn: () => unknown): any => { try { fn(); } catch (e) { return e; } return undefined; };

describe('lab records', () => {
  it('writes, lists, reads and removes a lab\'s records, and nothing else in its directory', () => {
    writeLabYaml('one', 'name: one\nnodes: { a: {} }\n');
    writeRecord({ lab: 'one', file: '/x/one.yaml', created: 'now', guests: ['one-a'], networks: [], images: [] });
    // Not labs: a bad name, a directory without owned.json.
    mkdirSync(join(home, 'labs', 'Bad'), { recursive: true });
    mkdirSync(join(home, 'labs', 'two'), { recursive: true });
    expect(labNames()).toEqual(['one']);
    expect(readRecord('one')?.guests).toEqual(['one-a']);
    writeFileSync(join(home, 'labs', 'one', 'mine.txt'), 'a user file');
    removeRecords('one');
    expect(readRecord('one')).toBeUndefined();
    expect(labNames()).toEqual([]);
    // The user's file (and so the directory) stays.
    expect(thrown(() => writeFileSync(join(home, 'labs', 'one', 'mine.txt'), 'still here', { flag: 'r+' }))).toBeUndefined();
  });

  it('does not read an owned.json that is a symlink', () => {
    mkdirSync(join(home, 'labs', 'sym'), { recursive: true });
    writeFileSync(join(home, 'elsewhere.json'), JSON.stringify({ lab: 'sym', guests: ['victim'], networks: [], images: [] }));
    symlinkSync(join(home, 'elsewhere.json'), join(home, 'labs', 'sym', 'owned.json'));
    expect(readRecord('sym')).toBeUndefined();
  });

  it('knows its image by device and inode: a file put in its place is not the lab\'s', () => {
    const p = join(home, 'img.qcow2');
    writeFileSync(p, 'x');
    const rec = imageRecord(p, 'one-a');
    expect(stillOurs(rec)).toBe(true);
    renameSync(p, `${p}.old`);
    writeFileSync(p, 'someone else\'s');
    expect(stillOurs(rec)).toBe(false);
    rmSync(p);
    symlinkSync(`${p}.old`, p);
    expect(stillOurs(rec)).toBe(false);
    rmSync(p);
    expect(stillOurs(rec)).toBe(false);
  });

  it('refuses a guest or network with the lab\'s name that the lab did not record', () => {
    mkdirSync(join(home, 'vms'), { recursive: true });
    writeFileSync(join(home, 'vms', 'lab-a.yaml'), 'name: lab-a\n');
    const rec = { lab: 'lab', file: '', created: '', guests: [], networks: [], images: [] };
    expect(thrown(() => assertNotForeign('lab', ['lab-a'], [], rec))?.message).toBe('guest "lab-a" exists but lab lab did not create it');
    expect(thrown(() => assertNotForeign('lab', ['lab-a'], [], { ...rec, guests: ['lab-a'] }))).toBeUndefined();
    mkdirSync(join(home, 'networks'), { recursive: true });
    writeFileSync(join(home, 'networks', 'lab-n.yaml'), 'name: lab-n\nmode: isolated\n');
    expect(thrown(() => assertNotForeign('lab', [], ['lab-n'], rec))?.message).toBe('network "lab-n" exists but lab lab did not create it');
    expect(thrown(() => assertNotForeign('lab', [], ['lab-n'], undefined))?.code).toBe('EXISTS');
  });
});
