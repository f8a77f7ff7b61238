/** Warnings and infos attached to a query result, rendered as Prometheus renders them. */
import type { PosRange } from './ast.js';
import { positionText } from './parser.js';

export class Annotations {
  readonly warnings = new Set<string>();
  readonly infos = new Set<string>();

  constructor(private readonly query: string) {}

  warn(message: string, pos: PosRange): void {
    this.warnings.add(`PromQL warning: ${message} (${positionText(this.query, pos.start)})`);
  }

  info(message: string, pos: PosRange): void {
    this.infos.add(`PromQL info: ${message} (${positionText(this.query, pos.start)})`);
  }
}
