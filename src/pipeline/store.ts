import type { PositionWriter } from '../store/writer.js';
import { positionRows, type PositionRow } from '../store/rows.js';
import type { PublishPipeline } from './publish.js';
import type { Pipeline, Uplink } from './types.js';

/** Where committed rows go on without ever holding up an acknowledgement (ClickHouse, the rules). */
export interface RowMirror {
  push(rows: PositionRow[]): void;
}

/**
 * The chain with the store: a location's rows are written (committed, or spooled while the
 * database is away) before the message is published and its terminal acknowledged. Messages
 * without positions go straight to publishing. Saturated while the writer holds more rows than
 * `maxPendingRows`, which makes the gateway stop reading sockets.
 */
export class StorePipeline implements Pipeline {
  private readonly listeners: (() => void)[] = [];
  private wasSaturated = false;

  constructor(
    private readonly writer: PositionWriter,
    private readonly publish: PublishPipeline,
    private readonly maxPendingRows: number,
    mirrors: readonly RowMirror[] = [],
  ) {
    if (mirrors.length > 0) {
      writer.onCommitted = (rows) => {
        for (const m of mirrors) m.push(rows as PositionRow[]);
      };
    }
  }

  get saturated(): boolean {
    const s = this.writer.pendingRows >= this.maxPendingRows;
    this.wasSaturated ||= s;
    return s;
  }

  get pending(): number {
    return this.writer.pendingRows;
  }

  onDrain(listener: () => void): void {
    this.listeners.push(listener);
  }

  async submit(up: Uplink): Promise<void> {
    const rows = positionRows(up);
    if (rows.length > 0) {
      try {
        await this.writer.write(rows);
      } finally {
        if (this.wasSaturated && this.writer.pendingRows < this.maxPendingRows / 2) {
          this.wasSaturated = false;
          for (const l of this.listeners) l();
        }
      }
    }
    await this.publish.submit(up);
  }

  async close(): Promise<void> {
    await this.writer.close();
  }
}
