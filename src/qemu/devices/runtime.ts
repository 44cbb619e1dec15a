// The options that let qkvm manage a running QEMU: the QMP socket, daemonizing
// with a pidfile and log, starting paused or waiting for a migration; and the
// user's own extra arguments.
import { invalidField, props, type Device, type Option } from './option.js';

export class Qmp implements Device {
  constructor(readonly socket: string) {}

  validate(): void {
    if (!this.socket) throw invalidField('run.qmpSocket', this.socket, 'must be a path');
  }

  toArgs(): Option[] {
    return [{
      opt: '-qmp',
      value: props([['', `unix:${this.socket}`], ['server', true], ['wait', false]]),
      explain: 'opens the QMP control socket (JSON commands: query, stop, device_add, shutdown...) as a UNIX socket that QEMU listens on without waiting for a client; qkvm talks to the guest through it',
    }];
  }
}

export interface DaemonInit {
  pidFile: string;
  qemuLog: string;
}

export class Daemon implements Device {
  constructor(readonly d: DaemonInit) {}

  validate(): void {
    if (!this.d.pidFile) throw invalidField('run.pidFile', this.d.pidFile, 'must be a path');
    if (!this.d.qemuLog) throw invalidField('run.qemuLog', this.d.qemuLog, 'must be a path');
  }

  toArgs(): Option[] {
    return [
      { opt: '-daemonize', explain: 'detaches QEMU into the background once the guest is set up, so the command returns only when start-up succeeded (or failed)' },
      { opt: '-pidfile', value: this.d.pidFile, explain: 'writes the process id of the daemonized QEMU to this file' },
      { opt: '-D', value: this.d.qemuLog, explain: 'logs to this file; a daemonized QEMU also sends its error messages there instead of to /dev/null' },
    ];
  }
}

export class RunState implements Device {
  constructor(readonly paused: boolean, readonly incoming?: string) {}

  validate(): void {
    if (this.incoming !== undefined && !/^(tcp|unix|exec|fd|rdma|defer)(:|$)/.test(this.incoming)) {
      throw invalidField('incoming', this.incoming, 'must be a migration URI such as tcp:0:4444, unix:/path or defer');
    }
  }

  toArgs(): Option[] {
    const out: Option[] = [];
    if (this.paused) out.push({ opt: '-S', explain: 'creates the guest with its CPUs stopped; it starts running on the QMP command cont (qkvm resume)' });
    if (this.incoming !== undefined) {
      out.push({
        opt: '-incoming',
        value: this.incoming,
        explain: this.incoming === 'defer'
          ? 'waits for an incoming migration whose address is given later over QMP (migrate-incoming), instead of booting'
          : `waits for the guest's state to arrive by migration at ${this.incoming}, instead of booting`,
      });
    }
    return out;
  }
}

export class Extra implements Device {
  constructor(readonly args: string[]) {}

  validate(): void {
    this.args.forEach((a, i) => {
      if (typeof a !== 'string') throw invalidField(`extraArgs[${i}]`, a, 'must be a string');
    });
  }

  /**
   * The raw arguments as written, unchanged in argv. For display, an option
   * followed by a word that is not an option is shown as one option and its value.
   */
  toArgs(): Option[] {
    const out: Option[] = [];
    const explain = 'your raw argument (extraArgs), allowed with `qkvm trust`: passed to QEMU as written, unchecked, and run as root';
    for (let i = 0; i < this.args.length; i++) {
      const a = this.args[i];
      const next = this.args[i + 1];
      if (a.startsWith('-') && next !== undefined && !next.startsWith('-')) {
        out.push({ opt: a, value: next, explain });
        i++;
      } else {
        out.push({ opt: a, explain });
      }
    }
    return out;
  }
}
