// Monitor passthrough: a command that names an exec: URI needs --allow-programs.
import { describe, expect, it } from 'vitest';
import { hmp, qmpPassthrough, refuseExec } from '../../src/runtime/monitor.js';

describe('refuseExec', () => {
  it('refuses exec: in any case unless allowed', () => {
    expect(() => refuseExec('monitor', 'migrate "exec:touch /tmp/x"')).toThrow(/monitor: "migrate \\"exec:touch \/tmp\/x\\"" holds an exec: URI/);
    let hint = '';
    try { refuseExec('qmp', 'EXEC:x'); } catch (e) { hint = (e as { hint: string }).hint; }
    expect(hint).toContain('--allow-programs');
    expect(() => refuseExec('monitor', 'migrate "exec:x"', true)).not.toThrow();
    expect(() => refuseExec('monitor', 'info status')).not.toThrow();
  });
  it('hmp and qmp refuse before they look for the guest', async () => {
    await expect(hmp('nosuchguest', 'migrate "exec:touch /tmp/x"')).rejects.toMatchObject({ code: 'INVALID' });
    await expect(qmpPassthrough('nosuchguest', '{"execute":"migrate","arguments":{"uri":"exec:touch /tmp/x"}}')).rejects.toMatchObject({ code: 'INVALID', message: expect.stringContaining('exec:touch /tmp/x') });
  });
});
