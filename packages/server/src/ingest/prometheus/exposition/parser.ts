/**
 * A single-pass, pull-style parser for Prometheus text format 0.0.4 and OpenMetrics 1.0.
 *
 * `next()` advances to the next entry (sample or metadata) and records only offsets into the
 * body; accessors materialise strings on demand. A scraper therefore looks a series up by its raw
 * text (`seriesKey()`) in its cache and builds `labels()` only for series it has not seen, as
 * Prometheus's scrape cache does. The parser is not reusable: create one per body.
 */
import { METRIC_NAME, type Label, type Labels } from '../../../model/labels.js';
import type { MetricType } from '../../../model/samples.js';
import type { ExpositionFormat } from './format.js';
import {
  CH_BACKSLASH,
  CH_COMMA,
  CH_EQUALS,
  CH_HASH,
  CH_LBRACE,
  CH_LF,
  CH_QUOTE,
  CH_RBRACE,
  CH_SPACE,
  describeAt,
  isBlank,
  isLabelNameChar,
  isLabelNameStart,
  isMetricNameChar,
  isMetricNameStart,
  ownString,
  parseFloatRange,
  parseIntRange,
  unescapeRange,
} from './text-scan.js';

/** A malformed exposition: the 1-based line and what is wrong there. */
export class ExpositionParseError extends Error {
  override readonly name = 'ExpositionParseError';
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

/** What `next()` found. */
export const EntryKind = { End: 0, Sample: 1, Help: 2, Type: 3, Unit: 4 } as const;
export type EntryKind = (typeof EntryKind)[keyof typeof EntryKind];

/** An exemplar attached to a sample (OpenMetrics only). */
export interface ParsedExemplar {
  readonly labels: Labels;
  readonly value: number;
  /** Milliseconds, or null when the exemplar has no timestamp. */
  readonly timestamp: number | null;
}

export interface ExpositionParserOptions {
  readonly format: ExpositionFormat;
  /**
   * Skip OpenMetrics `<family>_created` samples of counters, histograms and summaries. Off by
   * default: Prometheus 2.x (checked against 2.42) ingests them as ordinary series.
   */
  readonly dropCreatedSamples?: boolean;
}

const TEXT_TYPES: Record<string, MetricType> = {
  counter: 'counter',
  gauge: 'gauge',
  histogram: 'histogram',
  summary: 'summary',
  untyped: 'unknown',
};

const OPENMETRICS_TYPES: Record<string, MetricType> = {
  counter: 'counter',
  gauge: 'gauge',
  histogram: 'histogram',
  gaugehistogram: 'gaugehistogram',
  summary: 'summary',
  info: 'info',
  stateset: 'stateset',
  unknown: 'unknown',
};

/** Families whose `_created` sample is a creation timestamp. */
const CREATED_TYPES: ReadonlySet<MetricType> = new Set(['counter', 'histogram', 'summary']);

/** Per label: name start, name end, value start, value end, flags. */
const LABEL_FIELDS = 5;
const FLAG_NAME_ESCAPED = 1;
const FLAG_VALUE_ESCAPED = 2;

export class ExpositionParser {
  private readonly text: string;
  private readonly openMetrics: boolean;
  private readonly dropCreated: boolean;
  private pos = 0;
  private line = 0;
  private sawEof = false;

  private seriesStart = 0;
  private seriesEnd = 0;
  private nameStart = -1;
  private nameEnd = -1;
  private nameEscaped = false;
  private labelOffsets = new Int32Array(16 * LABEL_FIELDS);
  private labelCount = 0;
  private sampleValue = 0;
  private sampleTimestamp: number | null = null;
  private exemplarStart = -1;
  private exemplarLabelCount = 0;
  private exemplarValue = 0;
  private exemplarTimestamp: number | null = null;

  /** Set by scanQuoted: end of the quoted content (exclusive) and whether it has escapes. */
  private quotedEnd = 0;
  private quotedEscaped = false;
  /** Position of the next backslash at or after the last scan, or the text length when none is left. */
  private nextBackslash = -1;

  private metaName = '';
  private metaText = '';
  private metaType: MetricType = 'unknown';
  private familyName = '';
  private familyType: MetricType | null = null;

  constructor(text: string, options: ExpositionParserOptions) {
    this.text = text;
    this.openMetrics = options.format === 'openmetrics';
    this.dropCreated = options.dropCreatedSamples ?? false;
  }

  /** Advances to the next entry. Throws ExpositionParseError on malformed input. */
  next(): EntryKind {
    const text = this.text;
    for (;;) {
      if (this.pos >= text.length) {
        if (this.openMetrics && !this.sawEof) throw new ExpositionParseError(this.line + 1, 'expected "# EOF" at the end of an OpenMetrics exposition');
        return EntryKind.End;
      }
      if (this.sawEof) throw new ExpositionParseError(this.line + 1, 'unexpected content after "# EOF"');
      this.line++;
      let start = this.pos;
      let eol = text.indexOf('\n', start);
      if (eol < 0) eol = text.length;
      this.pos = eol + 1;
      if (!this.openMetrics) while (start < eol && isBlank(text.charCodeAt(start))) start++;
      if (start === eol) {
        if (this.openMetrics) throw new ExpositionParseError(this.line, 'empty lines are not allowed in OpenMetrics');
        continue;
      }
      if (text.charCodeAt(start) === CH_HASH) {
        const kind = this.parseComment(start, eol);
        if (kind !== null) return kind;
        continue;
      }
      if (this.parseSample(start, eol)) return EntryKind.Sample;
    }
  }

  /** 1-based line of the current entry. */
  lineNumber(): number {
    return this.line;
  }

  /** The raw text of the current sample's name and labels: equal texts mean equal series. Shares the body's memory. */
  seriesKey(): string {
    return this.text.slice(this.seriesStart, this.seriesEnd);
  }

  /** The current sample's metric name. */
  metricName(): string {
    const s = this.nameEscaped ? unescapeRange(this.text, this.nameStart, this.nameEnd, true) : this.text.slice(this.nameStart, this.nameEnd);
    return ownString(s);
  }

  /** The current sample's labels including `__name__`, sorted; empty values dropped. Throws on duplicate names. */
  labels(): Labels {
    const out: Label[] = [{ name: METRIC_NAME, value: this.metricName() }];
    this.collectLabels(0, this.exemplarStart >= 0 ? this.exemplarStart : this.labelCount, out);
    return this.finishLabels(out);
  }

  value(): number {
    return this.sampleValue;
  }

  /** Milliseconds since the epoch, or null when the sample has no timestamp. */
  timestamp(): number | null {
    return this.sampleTimestamp;
  }

  hasExemplar(): boolean {
    return this.exemplarStart >= 0;
  }

  /** The current sample's exemplar, or null. */
  exemplar(): ParsedExemplar | null {
    if (this.exemplarStart < 0) return null;
    const out: Label[] = [];
    this.collectLabels(this.exemplarStart, this.exemplarStart + this.exemplarLabelCount, out);
    return { labels: this.finishLabels(out), value: this.exemplarValue, timestamp: this.exemplarTimestamp };
  }

  /** The metric family named by the current HELP, TYPE or UNIT entry. */
  metadataName(): string {
    return this.metaName;
  }

  /** HELP text (unescaped) or UNIT of the current entry. */
  metadataText(): string {
    return this.metaText;
  }

  /** The type of the current TYPE entry (`untyped` reads as `unknown`). */
  metadataType(): MetricType {
    return this.metaType;
  }

  private fail(reason: string): never {
    throw new ExpositionParseError(this.line, reason);
  }

  private parseComment(start: number, eol: number): EntryKind | null {
    const text = this.text;
    let p = start + 1;
    if (this.openMetrics) {
      if (p >= eol || text.charCodeAt(p) !== CH_SPACE) this.fail('expected "# HELP", "# TYPE", "# UNIT" or "# EOF"');
      p++;
    } else {
      while (p < eol && isBlank(text.charCodeAt(p))) p++;
    }
    let wordEnd = p;
    while (wordEnd < eol && !isBlank(text.charCodeAt(wordEnd))) wordEnd++;
    const word = text.slice(p, wordEnd);
    if (this.openMetrics && word === 'EOF' && wordEnd === eol) {
      this.sawEof = true;
      if (eol + 1 < text.length) throw new ExpositionParseError(this.line + 1, 'unexpected content after "# EOF"');
      this.pos = text.length;
      return EntryKind.End;
    }
    const kind = word === 'HELP' ? EntryKind.Help : word === 'TYPE' ? EntryKind.Type : word === 'UNIT' && this.openMetrics ? EntryKind.Unit : null;
    if (kind === null) {
      if (this.openMetrics) this.fail(`expected "# HELP", "# TYPE", "# UNIT" or "# EOF", got ${describeAt(text, p, eol)}`);
      return null; // A plain comment in text format.
    }
    p = wordEnd;
    if (p >= eol) this.fail(`expected a metric name after # ${word}`);
    p = this.skipSeparator(p, eol, `# ${word}`);
    p = this.scanMetadataName(p, eol, word);
    let textStart = eol;
    if (p < eol) {
      if (!isBlank(text.charCodeAt(p))) this.fail(`expected a space after the metric name in # ${word}, got ${describeAt(text, p, eol)}`);
      textStart = this.openMetrics ? p + 1 : p;
      if (!this.openMetrics) while (textStart < eol && isBlank(text.charCodeAt(textStart))) textStart++;
    }
    if (kind === EntryKind.Help) {
      this.metaText = ownString(unescapeRange(text, textStart, eol, this.openMetrics));
      return kind;
    }
    let textEnd = eol;
    while (textEnd > textStart && isBlank(text.charCodeAt(textEnd - 1))) textEnd--;
    const value = text.slice(textStart, textEnd);
    if (kind === EntryKind.Unit) {
      const name = this.metaName;
      if (value !== '' && !(name.length > value.length && name.endsWith(value) && name.charCodeAt(name.length - value.length - 1) === 95)) {
        this.fail(`unit ${JSON.stringify(value)} is not a suffix of the metric name ${JSON.stringify(name)}`);
      }
      this.metaText = ownString(value);
      return kind;
    }
    if (value === '') this.fail(`expected a metric type after the metric name in # TYPE`);
    const type = (this.openMetrics ? OPENMETRICS_TYPES : TEXT_TYPES)[value];
    if (type === undefined) {
      const allowed = Object.keys(this.openMetrics ? OPENMETRICS_TYPES : TEXT_TYPES).join(', ');
      this.fail(`unknown metric type ${JSON.stringify(value)} in # TYPE (expected one of ${allowed})`);
    }
    this.metaType = type;
    this.familyName = this.metaName;
    this.familyType = type;
    return kind;
  }

  /** Skips the blank(s) after a keyword: exactly one space in OpenMetrics, any run in text format. */
  private skipSeparator(p: number, eol: number, after: string): number {
    const text = this.text;
    if (!isBlank(text.charCodeAt(p))) this.fail(`expected a space after ${after}, got ${describeAt(text, p, eol)}`);
    if (this.openMetrics) {
      if (text.charCodeAt(p) !== CH_SPACE) this.fail(`expected a single space after ${after}, got a tab`);
      return p + 1;
    }
    while (p < eol && isBlank(text.charCodeAt(p))) p++;
    return p;
  }

  private scanMetadataName(p: number, eol: number, word: string): number {
    const text = this.text;
    const c = text.charCodeAt(p);
    if (c === CH_QUOTE) {
      const end = this.scanQuoted(p, eol);
      this.metaName = ownString(this.quotedEscaped ? unescapeRange(text, p + 1, end, true) : text.slice(p + 1, end));
      if (this.metaName === '') this.fail(`empty metric name in # ${word}`);
      return end + 1;
    }
    if (p >= eol || !isMetricNameStart(c)) this.fail(`expected a metric name after # ${word}, got ${describeAt(text, p, eol)}`);
    let q = p + 1;
    while (q < eol && isMetricNameChar(text.charCodeAt(q))) q++;
    this.metaName = ownString(text.slice(p, q));
    return q;
  }

  /** Parses a sample line. Returns false when the sample is skipped (a dropped OpenMetrics `_created` sample). */
  private parseSample(start: number, eol: number): boolean {
    const text = this.text;
    this.seriesStart = start;
    this.nameStart = -1;
    this.nameEnd = -1;
    this.nameEscaped = false;
    this.labelCount = 0;
    this.exemplarStart = -1;
    this.sampleTimestamp = null;
    let p = start;
    const c = text.charCodeAt(p);
    if (isMetricNameStart(c)) {
      p++;
      while (p < eol && isMetricNameChar(text.charCodeAt(p))) p++;
      this.nameStart = start;
      this.nameEnd = p;
    } else if (c !== CH_LBRACE) {
      this.fail(`expected a metric name or "{", got ${describeAt(text, p, eol)}`);
    }
    let after = 'the metric name';
    if (!this.openMetrics && this.nameStart >= 0) {
      // Text format tolerates blanks between the name and "{".
      let q = p;
      while (q < eol && isBlank(text.charCodeAt(q))) q++;
      if (q < eol && text.charCodeAt(q) === CH_LBRACE) p = q;
    }
    if (p < eol && text.charCodeAt(p) === CH_LBRACE) {
      p = this.scanLabels(p + 1, eol, false);
      if (this.nameStart < 0) this.fail('expected a metric name before or inside "{...}"');
      after = 'the labels';
    }
    this.seriesEnd = p;
    if (p >= eol) this.fail(`expected a value after ${after}, got end of line`);
    if (!isBlank(text.charCodeAt(p))) this.fail(`expected a value after ${after}, got ${describeAt(text, p, eol)}`);
    p = this.skipSeparator(p, eol, after);
    let q = p;
    while (q < eol && !isBlank(text.charCodeAt(q))) q++;
    if (q === p) this.fail(`expected a value after ${after}, got ${describeAt(text, p, eol)}`);
    const value = parseFloatRange(text, p, q);
    if (value === undefined) this.fail(`invalid value ${describeAt(text, p, q)}: expected a number, NaN, +Inf or -Inf`);
    this.sampleValue = value;
    p = this.parseSampleTail(q, eol);
    if (p !== eol) this.fail(`unexpected ${describeAt(text, p, eol)} at the end of the sample`);
    return !this.dropCreated || !this.isCreatedSample();
  }

  /** Parses the optional timestamp and exemplar after the value; returns where parsing stopped. */
  private parseSampleTail(p: number, eol: number): number {
    const text = this.text;
    if (p >= eol) return p;
    p = this.skipSeparator(p, eol, 'the value');
    if (p >= eol) {
      if (this.openMetrics) this.fail('unexpected trailing space after the value');
      return p;
    }
    if (text.charCodeAt(p) !== CH_HASH) {
      let q = p;
      while (q < eol && !isBlank(text.charCodeAt(q))) q++;
      this.sampleTimestamp = this.parseTimestamp(p, q, 'timestamp');
      p = q;
      if (p >= eol) return p;
      p = this.skipSeparator(p, eol, 'the timestamp');
      if (p >= eol) {
        if (this.openMetrics) this.fail('unexpected trailing space after the timestamp');
        return p;
      }
    }
    if (text.charCodeAt(p) === CH_HASH) {
      if (!this.openMetrics) this.fail('exemplars ("# {...}") are only allowed in OpenMetrics');
      return this.parseExemplar(p, eol);
    }
    return p;
  }

  private parseTimestamp(p: number, q: number, what: string): number {
    const text = this.text;
    if (this.openMetrics) {
      const seconds = parseFloatRange(text, p, q);
      if (seconds === undefined || !Number.isFinite(seconds)) this.fail(`invalid ${what} ${describeAt(text, p, q)}: expected seconds since the epoch`);
      return Math.trunc(seconds * 1000);
    }
    const ms = parseIntRange(text, p, q);
    if (ms === undefined) this.fail(`invalid ${what} ${describeAt(text, p, q)}: expected integer milliseconds since the epoch`);
    return ms;
  }

  private parseExemplar(p: number, eol: number): number {
    const text = this.text;
    if (p + 2 >= eol || text.charCodeAt(p + 1) !== CH_SPACE || text.charCodeAt(p + 2) !== CH_LBRACE) {
      this.fail(`expected an exemplar "# {labels} value" after the sample, got ${describeAt(text, p, eol)}`);
    }
    this.exemplarStart = this.labelCount;
    p = this.scanLabels(p + 3, eol, true);
    this.exemplarLabelCount = this.labelCount - this.exemplarStart;
    if (p >= eol || text.charCodeAt(p) !== CH_SPACE) this.fail(`expected a value after the exemplar labels, got ${describeAt(text, p, eol)}`);
    p++;
    let q = p;
    while (q < eol && !isBlank(text.charCodeAt(q))) q++;
    const value = parseFloatRange(text, p, q);
    if (value === undefined) this.fail(`invalid exemplar value ${describeAt(text, p, q)}`);
    this.exemplarValue = value;
    this.exemplarTimestamp = null;
    if (q >= eol) return q;
    if (text.charCodeAt(q) !== CH_SPACE || q + 1 >= eol) this.fail(`unexpected ${describeAt(text, q, eol)} after the exemplar value`);
    p = q + 1;
    q = p;
    while (q < eol && !isBlank(text.charCodeAt(q))) q++;
    this.exemplarTimestamp = this.parseTimestamp(p, q, 'exemplar timestamp');
    return q;
  }

  private isCreatedSample(): boolean {
    if (!this.openMetrics || this.familyType === null || !CREATED_TYPES.has(this.familyType)) return false;
    const family = this.familyName;
    return (
      this.nameEnd - this.nameStart === family.length + 8 &&
      !this.nameEscaped &&
      this.text.startsWith(family, this.nameStart) &&
      this.text.startsWith('_created', this.nameEnd - 8)
    );
  }

  /**
   * Scans `name="value", ...}` from just after "{" and returns the position after "}". A quoted
   * string standing alone is the metric name (UTF-8 names), allowed outside exemplars only.
   */
  private scanLabels(p: number, eol: number, exemplar: boolean): number {
    const text = this.text;
    for (;;) {
      while (p < eol && isBlank(text.charCodeAt(p))) p++;
      if (p >= eol) this.fail('expected "}" to close the label set, got end of line');
      let c = text.charCodeAt(p);
      if (c === CH_RBRACE) return p + 1;
      let nameStart: number;
      let nameEnd: number;
      let flags = 0;
      let quotedName = false;
      if (isLabelNameStart(c)) {
        nameStart = p;
        p++;
        while (p < eol && isLabelNameChar(text.charCodeAt(p))) p++;
        nameEnd = p;
      } else if (c === CH_QUOTE) {
        nameEnd = this.scanQuoted(p, eol);
        nameStart = p + 1;
        if (this.quotedEscaped) flags |= FLAG_NAME_ESCAPED;
        quotedName = true;
        p = nameEnd + 1;
      } else {
        this.fail(`expected a label name or "}", got ${describeAt(text, p, eol)}`);
      }
      while (p < eol && isBlank(text.charCodeAt(p))) p++;
      c = p < eol ? text.charCodeAt(p) : CH_LF;
      if (quotedName && (c === CH_COMMA || c === CH_RBRACE)) {
        if (exemplar) this.fail('expected a label name in the exemplar, got a quoted metric name');
        if (this.nameStart >= 0) this.fail('the metric name is given twice');
        if (nameEnd === nameStart) this.fail('empty metric name');
        this.nameStart = nameStart;
        this.nameEnd = nameEnd;
        this.nameEscaped = (flags & FLAG_NAME_ESCAPED) !== 0;
        if (c === CH_COMMA) p++;
        continue;
      }
      if (nameEnd === nameStart) this.fail('empty label name');
      if (c !== CH_EQUALS) this.fail(`expected "=" after the label name ${describeAt(text, nameStart, nameEnd)}, got ${describeAt(text, p, eol)}`);
      p++;
      while (p < eol && isBlank(text.charCodeAt(p))) p++;
      if (p >= eol || text.charCodeAt(p) !== CH_QUOTE) {
        this.fail(`expected a quoted label value after ${describeAt(text, nameStart, nameEnd)}=, got ${describeAt(text, p, eol)}`);
      }
      const valueEnd = this.scanQuoted(p, eol);
      if (this.quotedEscaped) flags |= FLAG_VALUE_ESCAPED;
      this.pushLabel(nameStart, nameEnd, p + 1, valueEnd, flags);
      p = valueEnd + 1;
      while (p < eol && isBlank(text.charCodeAt(p))) p++;
      c = p < eol ? text.charCodeAt(p) : CH_LF;
      if (c === CH_COMMA) p++;
      else if (c !== CH_RBRACE) this.fail(`expected "," or "}" after the value of label ${describeAt(text, nameStart, nameEnd)}, got ${describeAt(text, p, eol)}`);
    }
  }

  /**
   * Scans a quoted string starting at the opening quote; returns the closing quote's index.
   * Uses native indexOf for both the quote and the next backslash (cached, since most bodies
   * have few), which is several times faster than a char loop over label values.
   */
  private scanQuoted(p: number, eol: number): number {
    const text = this.text;
    let escaped = false;
    let q = p + 1;
    for (;;) {
      const quote = text.indexOf('"', q);
      if (quote < 0 || quote >= eol) return this.fail('unterminated quoted string: missing closing \'"\'');
      if (this.nextBackslash < q) {
        const found = text.indexOf('\\', q);
        this.nextBackslash = found < 0 ? text.length : found;
      }
      if (this.nextBackslash > quote) {
        this.quotedEscaped = escaped;
        return quote;
      }
      // An escape before the quote: skip the escaped character and look again.
      escaped = true;
      q = this.nextBackslash + 2;
    }
  }

  private pushLabel(nameStart: number, nameEnd: number, valueStart: number, valueEnd: number, flags: number): void {
    let offsets = this.labelOffsets;
    const base = this.labelCount * LABEL_FIELDS;
    if (base + LABEL_FIELDS > offsets.length) {
      const grown = new Int32Array(offsets.length * 2);
      grown.set(offsets);
      this.labelOffsets = offsets = grown;
    }
    offsets[base] = nameStart;
    offsets[base + 1] = nameEnd;
    offsets[base + 2] = valueStart;
    offsets[base + 3] = valueEnd;
    offsets[base + 4] = flags;
    this.labelCount++;
  }

  private collectLabels(from: number, to: number, out: Label[]): void {
    const text = this.text;
    const o = this.labelOffsets;
    for (let i = from; i < to; i++) {
      const b = i * LABEL_FIELDS;
      const flags = o[b + 4]!;
      const valueStart = o[b + 2]!;
      const valueEnd = o[b + 3]!;
      if (valueStart === valueEnd) continue; // An empty value means the label is absent.
      const name = flags & FLAG_NAME_ESCAPED ? unescapeRange(text, o[b]!, o[b + 1]!, true) : text.slice(o[b]!, o[b + 1]!);
      const value = flags & FLAG_VALUE_ESCAPED ? unescapeRange(text, valueStart, valueEnd, true) : text.slice(valueStart, valueEnd);
      out.push({ name: ownString(name), value: ownString(value) });
    }
  }

  private finishLabels(out: Label[]): Labels {
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (let i = 1; i < out.length; i++) {
      if (out[i]!.name === out[i - 1]!.name) this.fail(`duplicate label name ${JSON.stringify(out[i]!.name)}`);
    }
    return out;
  }
}
