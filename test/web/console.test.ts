// Issue 13 acceptance: `qkvm web` with the demo guest (TCG, one guest at a
// time, private QKVM_HOME/QKVM_RUN), driven in Debian's headless Chromium.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import WebSocket from 'ws';
import type { BrowserContext, Page } from 'playwright-core';
import { CLI, DEMO_DIR, ensureDemoGuest, IN_CI, REPO, BOOT_MS } from '../net/lab.js';
import { missing } from '../safety/world.js';
import { launch, missingChromium } from './browser.js';

const why = missing() || missingChromium() || (existsSync(path.join(REPO, 'dist/web/app.js')) ? '' : 'dist/web/app.js is missing: run `npm run build`');
if (why && !IN_CI) console.warn(`web console: skipped: ${why}`);

const ARTIFACTS = path.join(REPO, 'test-artifacts');
const G = 'webg';

/** A free VNC display number (port 5900+N on loopback), so parallel runs do not collide. */
async function freeDisplay(): Promise<number> {
  for (let n = 40 + Math.floor(Math.random() * 40); n < 99; n++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createServer().once('error', () => resolve(false)).listen(5900 + n, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return n;
  }
  throw new Error('no free VNC display in 40-98');
}

/** The upgrade's HTTP status (101 when the websocket opened). */
function wsStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => { ws.close(); resolve(101); });
    ws.on('unexpected-response', (_req, res) => { res.resume(); resolve(res.statusCode ?? 0); });
    ws.on('error', (e) => reject(e));
  });
}

/** The lines xterm.js shows (its DOM renderer's rows). */
const serialLines = (p: Page) => p.$$eval('#serial .xterm-rows > div', (rows) => rows.map((r) => (r.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd()));

async function waitForSerialLine(p: Page, re: RegExp, timeout = BOOT_MS): Promise<void> {
  await p.waitForFunction((src) => {
    const r = new RegExp(src, 'm');
    return [...document.querySelectorAll('#serial .xterm-rows > div')].some((d) => r.test((d.textContent ?? '').replace(/\u00a0/g, ' ')));
  }, re.source, { timeout, polling: 200 });
}

describe.skipIf(why !== '' && !IN_CI)('qkvm web (issue 13)', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'qkvm-webtest-home-'));
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'qkvm-webtest-run-'));
  const env = { ...process.env, QKVM_HOME: home, QKVM_RUN: runDir };
  const qkvm = (args: string[]) => execa('node', [CLI, ...args], { env, reject: false, timeout: 120_000 });
  let web: ChildProcess | undefined;
  let url = '';
  let origin = '';
  let token = '';
  let browser: { context: BrowserContext; close: () => Promise<void> } | undefined;
  let page: Page;
  const kernel = readFileSync(path.join(DEMO_DIR, 'VERSION'), 'utf8').trim();

  const define = async (name: string, display: Record<string, unknown>, vga?: string) => {
    const spec = {
      name, memory: '160M', accel: 'tcg', kernel: path.join(DEMO_DIR, 'vmlinuz'), initrd: path.join(DEMO_DIR, 'initrd.img'),
      // tty0 first, ttyS0 last: the kernel prints on both, the demo's shell runs on the serial port.
      append: `console=tty0 console=ttyS0 qkvm.hostname=${name}`, nics: [], balloon: true, serial: true, display, ...(vga ? { vga } : {}),
    };
    const file = path.join(home, `${name}.in.yaml`);
    writeFileSync(file, JSON.stringify(spec));
    const r = await qkvm(['define', file]);
    expect(r.exitCode, r.stderr).toBe(0);
  };

  beforeAll(async () => {
    if (why) throw new Error(`CI: ${why}`);
    ensureDemoGuest();
    await define(G, { type: 'vnc', listen: '127.0.0.1', display: await freeDisplay(), password: true }, 'std');
    const st = await qkvm(['start', G]);
    expect(st.exitCode, st.stderr).toBe(0);
    web = spawn('node', [CLI, 'web', '--listen', '127.0.0.1:0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      let err = '';
      web!.stderr!.on('data', (d) => { err += d; });
      web!.stdout!.on('data', (d) => {
        out += d;
        const m = /(http:\/\/\S+\?token=\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      web!.once('exit', (code) => reject(new Error(`qkvm web exited (${code}): ${out}\n${err}`)));
    });
    const u = new URL(url);
    origin = u.origin;
    token = u.searchParams.get('token')!;
    browser = await launch();
    page = await browser.context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    if (web && web.exitCode === null) {
      const gone = new Promise((r) => web!.once('exit', r));
      web.kill('SIGTERM');
      await gone;
    }
    for (const g of [G, 'nodisp']) await qkvm(['destroy', g]);
    rmSync(home, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  });

  it('refuses a request without the token, with a wrong one, and for a foreign Host', async () => {
    expect((await fetch(`${origin}/`)).status).toBe(401);
    expect((await fetch(`${origin}/api/overview`)).status).toBe(401);
    expect((await fetch(`${origin}/api/overview?token=${token.slice(0, -1)}x`)).status).toBe(401);
    expect((await fetch(`${origin}/api/overview`, { headers: { Authorization: `token ${token}` } })).status).toBe(200);
    // DNS rebinding: the right token but a Host this console does not serve.
    const rebound = await new Promise<number>((resolve, reject) => {
      const u = new URL(origin);
      const req = http.get({ host: u.hostname, port: u.port, path: '/api/overview', headers: { Host: 'evil.example', Authorization: `token ${token}` } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', reject);
    });
    expect(rebound).toBe(403);
  });

  it('refuses a websocket from another Origin, and one without the token', async () => {
    const ws = `${origin.replace('http', 'ws')}/ws/serial/${G}`;
    expect(await wsStatus(ws, { Origin: 'http://evil.example', Authorization: `token ${token}` })).toBe(403);
    expect(await wsStatus(ws, { Origin: origin.replace('127.0.0.1', 'localhost'), Authorization: `token ${token}` })).toBe(403);
    expect(await wsStatus(ws, { Origin: origin })).toBe(401);
    expect(await wsStatus(ws, { Origin: origin, Authorization: `token ${token}` })).toBe(101);
    // A POST from another origin changes nothing.
    const r = await fetch(`${origin}/api/guests/${G}/destroy`, { method: 'POST', headers: { Origin: 'http://evil.example', Authorization: `token ${token}` } });
    expect(r.status).toBe(403);
  });

  it('the page lists the guest as running (the token traded for a cookie)', async () => {
    await page.goto(url);
    await page.waitForSelector(`tr[data-guest="${G}"][data-state="running"]`, { timeout: 30_000 });
    expect(page.url()).not.toContain(token);
  });

  it("the serial console shows the guest's ready marker, and `uname -r` the kernel version", async () => {
    await waitForSerialLine(page, /QKVM-DEMO-READY/);
    await waitForSerialLine(page, /demo#\s*$/);
    await page.click('#serial');
    await page.keyboard.type('uname -r\n');
    // A line that is the version alone: uname's output, not the marker's kernel=... nor the typed line.
    await waitForSerialLine(page, new RegExp(`^${kernel.replace(/[.]/g, '\\.')}$`), 60_000);
    const lines = await serialLines(page);
    const i = lines.findIndex((l) => l === kernel);
    expect(lines[i - 1]).toMatch(/uname -r$/);
  });

  it('two serial viewers both see output (one socket, fanned out), input from either', async () => {
    const second = await browser!.context.newPage();
    await second.goto(`${origin}/#guest=${G}`);
    await waitForSerialLine(second, /QKVM-DEMO-READY/); // its scrollback from serial.log
    await second.click('#serial');
    // The shell computes the value: the echo of the typed line never matches.
    await second.keyboard.type('echo fan-$((40+2))-out\n');
    await waitForSerialLine(second, /^fan-42-out$/, 60_000);
    await waitForSerialLine(page, /^fan-42-out$/, 60_000);
    await page.click('#serial');
    await page.keyboard.type('echo back-$((6*7))\n');
    await waitForSerialLine(second, /^back-42$/, 60_000);
    await waitForSerialLine(page, /^back-42$/, 60_000);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-console.png') });
    await second.close();
  });

  it('a guest with a VGA card (std) shows a non-blank noVNC canvas', async () => {
    await page.click('button[data-tab="screen"]');
    await page.waitForSelector('#screen[data-connected] canvas', { timeout: 30_000 });
    // Non-blank: many pixels that are not the background (text on the guest's VGA console).
    await page.waitForFunction(() => {
      const c = document.querySelector('#screen canvas') as HTMLCanvasElement | null;
      if (!c || !c.width) return false;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let lit = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 150) lit++;
      return lit > 1000;
    }, undefined, { timeout: 60_000, polling: 500 });
    const shot = path.join(ARTIFACTS, 'web-screen.png');
    await page.screenshot({ path: shot });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
  });

  it('the token is on no command line (of qkvm web, QEMU or anything else)', () => {
    const hits: string[] = [];
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try { if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(token)) hits.push(d); } catch { /* gone */ }
    }
    expect(hits).toEqual([]);
  });

  it('says plainly when a guest has no display', async () => {
    expect((await qkvm(['destroy', G])).exitCode).toBe(0);
    await define('nodisp', { type: 'none' });
    expect((await qkvm(['start', 'nodisp'])).exitCode).toBe(0);
    const r = await fetch(`${origin}/api/guests/nodisp/screen`, { method: 'POST', headers: { Origin: origin, Authorization: `token ${token}` } });
    const body = await r.json();
    expect(body.available).toBe(false);
    expect(body.reason).toMatch(/has no display: its definition says display: none/);
    await page.goto(`${origin}/#guest=nodisp`);
    await page.waitForSelector('tr[data-guest="nodisp"][data-state="running"]');
    await page.click('button[data-tab="screen"]');
    await expect.poll(() => page.textContent('#screen[data-no-display]'), { timeout: 30_000 }).toMatch(/has no display/);
  });

  it('while another client (qkvm console) holds the serial socket, the page says so, follows serial.log, and takes over when it detaches', async () => {
    // What `qkvm console nodisp` does: one client on QEMU's serial socket.
    const holder = net.connect(path.join(runDir, 'vms', 'nodisp', 'serial.sock'));
    await new Promise((r, j) => { holder.once('connect', r); holder.once('error', j); });
    holder.on('data', () => undefined);
    try {
      await page.click('button[data-tab="serial"]');
      await waitForSerialLine(page, /\[qkvm\] another client \(qkvm console\?\) holds the serial socket/, 30_000);
      // Output still arrives, from serial.log as it grows.
      await waitForSerialLine(page, /QKVM-DEMO-READY/);
    } finally {
      holder.destroy();
    }
    // QEMU now accepts the console's waiting connection: typing reaches the guest.
    await page.click('#serial');
    await page.keyboard.type('echo took-$((2+3))-over\n');
    await waitForSerialLine(page, /^took-5-over$/, 60_000);
  });

  it("shows the guest's exact command line with the --explain text", async () => {
    await page.click('button[data-tab="cmdline"]');
    await page.waitForSelector('#cmdline .opt');
    const text = await page.textContent('#cmdline');
    expect(text).toContain('-display none');
    expect(text).toMatch(/opens no window and no VNC server/);
    // The running QEMU's own argv is there too, and it holds the same -display.
    expect(await page.textContent('#cmdline details pre')).toMatch(/-display none/);
  });

  it('the buttons act on the guest: suspend, resume, balloon, destroy', async () => {
    const row = (state: string) => page.waitForSelector(`tr[data-guest="nodisp"][data-state="${state}"]`, { timeout: 60_000 });
    await page.click('button[data-action="suspend"]');
    await row('paused');
    await page.click('button[data-action="resume"]');
    await row('running');
    await page.fill('#balloon-size', '128M');
    await page.click('button[data-action="balloon"]');
    await expect.poll(() => page.textContent('tr[data-guest="nodisp"] td:nth-child(5)'), { timeout: 60_000 }).toMatch(/^128 MiB/);
    await page.click('button[data-action="destroy"]');
    await row('shut off');
  });
});
