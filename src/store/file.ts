import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryTerminalStore } from './memory.js';
import type { QueuedCommand, TerminalRecord, TerminalStore } from './types.js';

type TerminalOp = { op: 'put'; record: TerminalRecord } | { op: 'del'; terminal: string };
type CommandOp = { op: 'put'; command: QueuedCommand } | { op: 'take'; terminal: string };

/**
 * TerminalStore on local files (append-only JSON lines under `dir`, compacted at start-up):
 * registrations and the offline command queue survive a restart of `fleetgate serve` before the
 * database store exists. Writes are synchronous appends — registrations and commands are rare
 * next to positions, and a queued command must not be lost to a crash right after it was
 * accepted.
 */
export class FileTerminalStore implements TerminalStore {
  private readonly mem = new MemoryTerminalStore();
  private readonly terminalsFile: string;
  private readonly commandsFile: string;

  private constructor(dir: string) {
    this.terminalsFile = join(dir, 'terminals.jsonl');
    this.commandsFile = join(dir, 'commands.jsonl');
  }

  static async open(dir: string): Promise<FileTerminalStore> {
    mkdirSync(dir, { recursive: true });
    const s = new FileTerminalStore(dir);
    await s.replay();
    return s;
  }

  private async replay(): Promise<void> {
    for (const op of readLines<TerminalOp>(this.terminalsFile)) {
      if (op.op === 'put') await this.mem.saveTerminal(op.record);
      else await this.mem.deleteTerminal(op.terminal);
    }
    for (const op of readLines<CommandOp>(this.commandsFile)) {
      if (op.op === 'put') await this.mem.enqueueCommand(op.command);
      else await this.mem.takeCommands(op.terminal, new Date(0));
    }
    // Compact: rewrite each file with the live state only.
    rewrite(this.terminalsFile, this.mem.allTerminals().map((record) => ({ op: 'put', record })));
    rewrite(this.commandsFile, this.mem.allCommands().map((command) => ({ op: 'put', command })));
  }

  getTerminal(terminal: string): Promise<TerminalRecord | undefined> {
    return this.mem.getTerminal(terminal);
  }

  async saveTerminal(record: TerminalRecord): Promise<void> {
    append(this.terminalsFile, { op: 'put', record });
    await this.mem.saveTerminal(record);
  }

  async deleteTerminal(terminal: string): Promise<void> {
    append(this.terminalsFile, { op: 'del', terminal });
    await this.mem.deleteTerminal(terminal);
  }

  async enqueueCommand(cmd: QueuedCommand): Promise<void> {
    append(this.commandsFile, { op: 'put', command: cmd });
    await this.mem.enqueueCommand(cmd);
  }

  async takeCommands(terminal: string, now: Date): Promise<QueuedCommand[]> {
    const taken = await this.mem.takeCommands(terminal, now);
    append(this.commandsFile, { op: 'take', terminal });
    return taken;
  }

  listCommands(terminal: string): Promise<QueuedCommand[]> {
    return this.mem.listCommands(terminal);
  }

  async close(): Promise<void> {}
}

function readLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  const out: T[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // A line torn by a crash mid-append is the last one: skip it.
    }
  }
  return out;
}

function append(file: string, op: unknown): void {
  appendFileSync(file, JSON.stringify(op) + '\n');
}

function rewrite(file: string, ops: unknown[]): void {
  writeFileSync(file + '.tmp', ops.map((o) => JSON.stringify(o) + '\n').join(''));
  renameSync(file + '.tmp', file);
}
