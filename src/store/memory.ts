import type { QueuedCommand, TerminalRecord, TerminalStore } from './types.js';

/**
 * TerminalStore in memory: for tests and for `serve` until the durable store lands. Queued
 * commands live as long as the process (the durable store makes them survive restarts).
 */
export class MemoryTerminalStore implements TerminalStore {
  private readonly terminals = new Map<string, TerminalRecord>();
  private readonly queues = new Map<string, QueuedCommand[]>();

  async getTerminal(terminal: string): Promise<TerminalRecord | undefined> {
    return this.terminals.get(terminal);
  }

  async saveTerminal(record: TerminalRecord): Promise<void> {
    this.terminals.set(record.terminal, { ...record });
  }

  async deleteTerminal(terminal: string): Promise<void> {
    this.terminals.delete(terminal);
  }

  async enqueueCommand(cmd: QueuedCommand): Promise<void> {
    const q = this.queues.get(cmd.terminal) ?? [];
    q.push(cmd);
    this.queues.set(cmd.terminal, q);
  }

  async takeCommands(terminal: string, now: Date): Promise<QueuedCommand[]> {
    const q = this.queues.get(terminal) ?? [];
    this.queues.delete(terminal);
    return q.filter((c) => Date.parse(c.expiresAt) > now.getTime());
  }

  async listCommands(terminal: string): Promise<QueuedCommand[]> {
    return [...(this.queues.get(terminal) ?? [])];
  }

  /** Every record (for compaction by the file store). */
  allTerminals(): TerminalRecord[] {
    return [...this.terminals.values()];
  }

  allCommands(): QueuedCommand[] {
    return [...this.queues.values()].flat();
  }

  async close(): Promise<void> {}
}
